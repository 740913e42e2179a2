"""Intake checks of raw ingest records: the pure part, without faust."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from pydantic import ValidationError

from schemas.events import VesselEvent
from schemas.rejections import RejectReason


@dataclass(frozen=True, slots=True)
class Rejected:
    reason: RejectReason
    detail: str


def check_vessel_record(raw: bytes | None, known_ports: Collection[str]) -> VesselEvent | Rejected:
    """Decode and validate one record of ``ingest.vessel``.

    Returns the event, or why it is refused; never raises on bad input.
    """
    if raw is None:
        return Rejected(RejectReason.UNDECODABLE, "empty record (no value)")
    try:
        event = VesselEvent.model_validate_json(raw)
    except ValidationError as error:
        first = error.errors()[0]
        location = ".".join(str(part) for part in first["loc"]) or "record"
        if first["type"] == "json_invalid":
            return Rejected(RejectReason.UNDECODABLE, f"not JSON: {first['msg']}")
        if first["type"] == "value_error" and "check digit" in first["msg"]:
            return Rejected(RejectReason.INVALID_IDENTIFIER, f"{location}: {first['msg']}")
        return Rejected(RejectReason.SCHEMA_INVALID, f"{location}: {first['msg']}")
    if event.port not in known_ports:
        return Rejected(RejectReason.UNKNOWN_PORT, f"port {event.port} is not a reference port")
    return event
