"""Why the hub refuses an event. Every refused event goes to the dead-letter topic with one."""

from __future__ import annotations

from enum import StrEnum


class RejectReason(StrEnum):
    """Reason codes carried by dead-lettered events (header ``hub-reason``)."""

    UNDECODABLE = "UNDECODABLE"
    """The bytes are not a JSON document in UTF-8."""
    SCHEMA_INVALID = "SCHEMA_INVALID"
    """A required field is missing or a field has the wrong type or form."""
    UNKNOWN_PORT = "UNKNOWN_PORT"
    """``port`` is not one of the hub's reference ports."""
    INVALID_IDENTIFIER = "INVALID_IDENTIFIER"
    """An identifier fails its check digit (IMO number, ISO 6346 container number)."""
