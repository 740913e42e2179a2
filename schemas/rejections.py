"""Why the hub refuses an event. Every refused event goes to the dead-letter topic with one."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class RejectReason(StrEnum):
    """Reason codes carried by dead-lettered events (header ``hub-reason``) and HTTP answers."""

    UNDECODABLE = "UNDECODABLE"
    """The bytes are neither Confluent-framed Avro of a known schema nor JSON."""
    UNKNOWN_SCHEMA = "UNKNOWN_SCHEMA"
    """The record names a schema id the registry does not know."""
    SCHEMA_MISMATCH = "SCHEMA_MISMATCH"
    """The record's schema is not one of this topic's (e.g. a cargo event on ingest.vessel)."""
    SCHEMA_INVALID = "SCHEMA_INVALID"
    """A required field is missing or a field has the wrong type or form."""
    UNKNOWN_PORT = "UNKNOWN_PORT"
    """``port`` is not one of the hub's reference ports."""
    UNKNOWN_COUNTRY = "UNKNOWN_COUNTRY"
    """A certificate's ``importing_country`` has no port in the hub, so no customs authority
    to send its verdict to."""
    INVALID_IDENTIFIER = "INVALID_IDENTIFIER"
    """An identifier fails its check digit (IMO number, ISO 6346 container number)."""
    TOO_LATE = "TOO_LATE"
    """The event happened longer ago than the grace period (HUB_LATE_GRACE_HOURS): its KPI
    windows are closed."""
    IMPLAUSIBLE_TIME = "IMPLAUSIBLE_TIME"
    """A time before 2000, published in the future, or an actual event after its publication."""
    MISSING_FIELD = "MISSING_FIELD"
    """A field this kind of event must carry is absent (e.g. ``crane_id`` of a discharge)."""
    TOO_LARGE = "TOO_LARGE"
    """The event is over the hub's size limit for one event (Kafka's record limit), e.g. a
    certificate document over 512 KiB."""
    UNSTORABLE = "UNSTORABLE"
    """PostgreSQL refused to store an event that passed every check (a defect of the hub's
    checks, logged; the event is kept here instead of stopping the worker)."""
    PORT_NOT_OWNED = "PORT_NOT_OWNED"
    """The publisher is not authorised for the event's ``port``."""
    DOMAIN_NOT_ALLOWED = "DOMAIN_NOT_ALLOWED"
    """The publisher may not publish events of this domain: a country's single window publishes
    customs events and certificate submissions only (``hub.domain.publishers``)."""
    CERTIFICATE_ID_TAKEN = "CERTIFICATE_ID_TAKEN"
    """The ``certificate_id`` is already held by another port (its first submitter)."""
    MALFORMED_INTERCHANGE = "MALFORMED_INTERCHANGE"
    """An EDIFACT interchange whose envelope cannot be trusted (truncated, UNZ count or
    reference wrong, not EDIFACT): none of its messages is taken."""
    UNMAPPABLE_MESSAGE = "UNMAPPABLE_MESSAGE"
    """An EDIFACT message with a segment the hub cannot map (unknown qualifier or segment, UNT
    count wrong, a value the hub refuses): the whole message is refused, none of its events."""


@dataclass(frozen=True, slots=True)
class Rejected:
    """An event refused, with the reason code and a message a publisher can act on."""

    reason: RejectReason
    detail: str

    def __post_init__(self) -> None:
        # A detail may quote what was sent; it goes into JSON answers and Kafka headers, so it
        # must be valid UTF-8 text of a sane length, whatever the input held.
        detail = self.detail
        if not detail.isascii() or "\x00" in detail or len(detail) > MAX_DETAIL_CHARS:
            detail = printable(detail)[:MAX_DETAIL_CHARS]
            object.__setattr__(self, "detail", detail)


MAX_DETAIL_CHARS = 1000


def printable(text: str) -> str:
    """``text`` with NUL and lone surrogates spelled as escapes: safe in UTF-8 and PostgreSQL."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")
