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
    PORT_NOT_OWNED = "PORT_NOT_OWNED"
    """The publisher is not authorised for the event's ``port``."""
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
