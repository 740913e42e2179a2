"""The dead-letter copy of a refused record: its bytes, why, and where from — always sendable.

Every way in (HTTP, EDIFACT, the tenant gateway, the worker's intake) refuses with this one
builder, so a dead letter looks the same whichever way the record came. A refused record may be
as large as the broker takes, or larger (an HTTP body of 5 MiB); its copy plus the hub's headers
must still fit under the producers' 1 MiB request limit, or the refusal itself would fail and
stall the way in that tried to send it. So a copy over :data:`MAX_VALUE_BYTES` keeps its first
:data:`KEPT_BYTES` bytes and carries the original's size and SHA-256 instead of being lost.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from hub.kafka_topics import (
    DEADLETTER_DETAIL_HEADER,
    DEADLETTER_DOMAIN_HEADER,
    DEADLETTER_REASON_HEADER,
    DEADLETTER_SOURCE_HEADER,
    ORIGIN_HEADER,
    PUBLISHER_HEADER,
)
from schemas.rejections import Rejected

# aiokafka's and faust's producers refuse a request over 1 MiB (max_request_size); the broker's
# default max.message.bytes is about the same. Below it with room for headers and framing.
MAX_VALUE_BYTES = 900 * 1024
KEPT_BYTES = 64 * 1024
# A publisher's own headers ride along, unless they alone would crowd out the record.
MAX_ORIGINAL_HEADER_BYTES = 32 * 1024
MAX_KEY_BYTES = 1024
MAX_DETAIL_BYTES = 1000

TRUNCATED_HEADER = "hub-truncated"
ORIGINAL_SIZE_HEADER = "hub-original-size"
ORIGINAL_SHA256_HEADER = "hub-original-sha256"
HEADERS_DROPPED_HEADER = "hub-headers-dropped"

Headers = list[tuple[str, bytes]]


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """One record ready for the dead-letter topic."""

    key: bytes | None
    value: bytes
    headers: Headers


def dead_letter(
    value: bytes | None,
    rejected: Rejected,
    source: str,
    *,
    key: bytes | None = None,
    original_headers: Iterable[tuple[str, bytes]] | None = None,
    publisher: str = "",
    domain: str = "",
    origin: str | None = None,
) -> DeadLetter:
    """The dead-letter record of ``value`` refused for ``rejected``, read from ``source``.

    ``publisher``: who sent it (``hub-publisher``, :attr:`hub.domain.publishers.Publisher.code`;
    '' unknown); ``domain``: what it was refused as (``hub-domain``); ``origin``: the record it
    was first published as, ``topic/partition/offset`` (``hub-origin``), when it came over Kafka.
    """
    raw = value or b""
    headers: Headers = []
    kept = [
        (name, data or b"") for name, data in original_headers or () if not name.startswith("hub-")
    ]
    if sum(len(name) + len(data) for name, data in kept) <= MAX_ORIGINAL_HEADER_BYTES:
        headers += kept
    else:
        headers.append((HEADERS_DROPPED_HEADER, str(len(kept)).encode()))
    headers += [
        (DEADLETTER_REASON_HEADER, rejected.reason.value.encode()),
        (DEADLETTER_DETAIL_HEADER, _utf8(rejected.detail)[:MAX_DETAIL_BYTES]),
        (DEADLETTER_SOURCE_HEADER, _utf8(source)[:MAX_DETAIL_BYTES]),
        (PUBLISHER_HEADER, _utf8(publisher)[:MAX_KEY_BYTES]),
        (DEADLETTER_DOMAIN_HEADER, _utf8(domain)[:MAX_KEY_BYTES]),
    ]
    if origin is not None:
        headers.append((ORIGIN_HEADER, _utf8(origin)[:MAX_DETAIL_BYTES]))
    if len(raw) > MAX_VALUE_BYTES:
        headers += [
            (TRUNCATED_HEADER, b"true"),
            (ORIGINAL_SIZE_HEADER, str(len(raw)).encode()),
            (ORIGINAL_SHA256_HEADER, hashlib.sha256(raw).hexdigest().encode()),
        ]
        raw = raw[:KEPT_BYTES]
    if key is not None and len(key) > MAX_KEY_BYTES:
        key = key[:MAX_KEY_BYTES]
    return DeadLetter(key, raw, headers)


def header(headers: Sequence[tuple[str, bytes]] | None, name: str) -> bytes | None:
    """The value of the header ``name`` of a dead letter, or None."""
    return next((value for key, value in headers or () if key == name), None)


def _utf8(text: str) -> bytes:
    # A detail may quote what the publisher sent: lone surrogates cannot be UTF-8.
    return text.encode("utf-8", "backslashreplace")
