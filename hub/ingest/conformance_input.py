"""Reading a publisher's sample feed for the conformance check (``hub conformance``,
``POST /v1/conformance``): JSON lines, Avro object container files and EDIFACT interchanges.

Nothing is published. What cannot be read becomes a :class:`~hub.domain.conformance.Problem` of
the report (``UNREADABLE``, ``MALFORMED_INTERCHANGE``, ``UNMAPPABLE_MESSAGE``), never an
exception, so that one bad line does not hide the rest of the feed.

Formats (the first bytes decide, unless the caller names one):

- **JSON lines** (UTF-8): one event a line, either ``{"domain": "vessel", "event": {...}}`` (what
  ``hub generate --file`` writes) or a bare event object whose domain is given
  (``default_domain``) or inferred from its ``event_type`` (``vessel.timestamp``,
  ``cargo.move``, ``customs.status``, ``certificate.submission``). A file holding one JSON
  object or array over several lines (a pretty-printed sample) is read as that event or list;
- **Avro**: an object container file (magic ``Obj\\x01``) written with one of the hub's schemas
  (``schemas/avro/<domain>.avsc``, e.g. by ``fastavro.writer``); the writer schema's name
  (``VesselEvent``, ``CargoEvent``, ``CustomsEvent``, ``CertificateSubmission``) gives the domain.
  A publisher produces one by writing the records it would send to Kafka into a file instead;
- **EDIFACT**: one interchange (``UNA``/``UNB`` first), mapped by the hub's own EDIFACT profile
  (``connectors.edifact``) exactly as ``hub edifact`` and ``POST /v1/edifact`` map it; its
  events are published "now" (``published_at`` = the check's time), as the hub would stamp them.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any, Final, Literal

import fastavro

from connectors.edifact import format_problem, read_interchange
from hub.domain.conformance import CheckCode, FeedRecord, Problem
from hub.ingest.edifact import decode_interchange
from schemas.avro_schemas import DOMAINS, event_type_of, parsed_schema
from schemas.rejections import printable
from schemas.routing import domain_of

__all__ = ["FORMATS", "Format", "detect_format", "read_feed"]

Format = Literal["jsonl", "avro", "edifact"]
FORMATS: Final[tuple[Format, ...]] = ("jsonl", "avro", "edifact")

_DOMAIN_OF_TYPE: Final = {event_type_of(domain): domain for domain in DOMAINS}
_AVRO_MAGIC: Final = b"Obj\x01"
# Deeper JSON than any event needs (goods lines are 3 levels) is refused before it is parsed:
# Python's parser recurses, and a line of 100,000 brackets would exhaust the stack.
MAX_JSON_DEPTH: Final = 32


def _schema_name(domain: str) -> str:
    name = parsed_schema(domain)["name"]
    return str(name).rsplit(".", 1)[-1]


_DOMAIN_OF_SCHEMA: Final = {_schema_name(domain): domain for domain in DOMAINS}


def detect_format(data: bytes) -> Format:
    """The format of ``data`` by its first bytes: Avro's magic, EDIFACT's UNA/UNB, else JSON."""
    if data.startswith(_AVRO_MAGIC):
        return "avro"
    head = data[:16].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head[:3] in (b"UNA", b"UNB"):
        return "edifact"
    return "jsonl"


def read_feed(
    name: str,
    data: bytes,
    now: datetime,
    *,
    format: Format | None = None,
    default_domain: str | None = None,
) -> Iterator[FeedRecord | Problem]:
    """The records of one feed file ``name`` (its bytes ``data``), and a problem for each part
    that cannot be read. ``now``: the ``published_at`` of EDIFACT events."""
    chosen = format or detect_format(data)
    if chosen == "avro":
        yield from _avro(name, data)
    elif chosen == "edifact":
        yield from _edifact(name, data, now)
    else:
        yield from _json_lines(name, data, default_domain)


def _unreadable(where: str, detail: str) -> Problem:
    return Problem(CheckCode.UNREADABLE, where, None, printable(detail)[:500])


# --- JSON ---------------------------------------------------------------------------------


def _json_lines(
    name: str, data: bytes, default_domain: str | None
) -> Iterator[FeedRecord | Problem]:
    lines = data.split(b"\n")
    values: list[tuple[str, Any]] = []
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        value = _json(raw)
        if isinstance(value, _Bad) and not values and len(lines) > 1:
            # Not JSON lines from the first line on: perhaps one pretty-printed document.
            document = _json(data)
            if not isinstance(document, _Bad):
                yield from _document(name, document, default_domain)
                return
        values.append((f"{name}:{number}", value))
    for where, value in values:
        yield _record(where, value, default_domain)


def _document(
    name: str, document: Any, default_domain: str | None
) -> Iterator[FeedRecord | Problem]:
    if isinstance(document, list):
        for index, item in enumerate(document, start=1):
            yield _record(f"{name}:item {index}", item, default_domain)
    else:
        yield _record(f"{name}:1", document, default_domain)


class _Bad:
    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason


def _json(raw: bytes) -> Any:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        return _Bad(f"not UTF-8 text: {error.reason} at byte {error.start}")
    if text.count("[") + text.count("{") > MAX_JSON_DEPTH and _depth(text) > MAX_JSON_DEPTH:
        return _Bad(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as error:
        return _Bad(f"not JSON: {error}")


def _depth(text: str) -> int:
    """How deep ``text``'s brackets nest (brackets inside strings count too: an upper bound)."""
    depth = deepest = 0
    for char in text:
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def _record(where: str, value: Any, default_domain: str | None) -> FeedRecord | Problem:
    if isinstance(value, _Bad):
        return _unreadable(where, value.reason)
    if not isinstance(value, dict):
        return _unreadable(where, f"an event is a JSON object, not {type(value).__name__}")
    if set(value) == {"domain", "event"}:
        domain, event = value["domain"], value["event"]
        if not isinstance(event, dict):
            return _unreadable(where, "the event of a domain line is a JSON object")
        return FeedRecord(where, domain if isinstance(domain, str) else None, event)
    event_type = value.get("event_type")
    domain = _DOMAIN_OF_TYPE.get(event_type) if isinstance(event_type, str) else None
    return FeedRecord(where, domain or default_domain, value)


# --- Avro ---------------------------------------------------------------------------------


def _avro(name: str, data: bytes) -> Iterator[FeedRecord | Problem]:
    try:
        reader = fastavro.reader(io.BytesIO(data))
        schema = reader.writer_schema
    except Exception as error:  # fastavro raises many kinds on a bad header
        yield _unreadable(name, f"not an Avro object container file: {error}")
        return
    schema_name = str(schema.get("name", "") if isinstance(schema, dict) else "").rsplit(".", 1)[-1]
    domain = _DOMAIN_OF_SCHEMA.get(schema_name)
    if domain is None:
        known = ", ".join(sorted(_DOMAIN_OF_SCHEMA))
        yield _unreadable(
            name, f"the file's schema {schema_name or '?'} is none of the hub's ({known})"
        )
        return
    index = 0
    try:
        for index, datum in enumerate(reader, start=1):
            if not isinstance(datum, dict):
                yield _unreadable(f"{name}:record {index}", "an event is an Avro record")
                continue
            yield FeedRecord(f"{name}:record {index}", domain, datum)
    except Exception as error:  # a truncated or corrupt block
        yield _unreadable(f"{name}:record {index + 1}", f"cannot read the Avro block: {error}")


# --- EDIFACT ------------------------------------------------------------------------------


def _edifact(name: str, data: bytes, now: datetime) -> Iterator[FeedRecord | Problem]:
    if b"\x00" in data:
        yield _unreadable(name, "an EDIFACT interchange holds no NUL bytes")
        return
    result = read_interchange(decode_interchange(data), published_at=now)
    for problem in result.problems:
        yield Problem(
            CheckCode.MALFORMED_INTERCHANGE,
            f"{name}:line {problem.line}",
            None,
            format_problem(problem, result.reference),
        )
    for message in result.messages:
        where = f"{name}:message {message.message_ref} (line {message.line})"
        for problem in message.problems:
            yield Problem(
                CheckCode.UNMAPPABLE_MESSAGE,
                f"{name}:line {problem.line}",
                None,
                format_problem(problem, result.reference, message.message_ref),
            )
        if not message.problems and not message.events:
            yield Problem(CheckCode.UNMAPPABLE_MESSAGE, where, None, "the message carries no event")
        for event in message.events:
            yield FeedRecord(where, domain_of(event), event.model_dump(mode="json"))
