"""Intake checks: every refused record gets the reason that names what is wrong with it."""

from __future__ import annotations

import json
import uuid

import pytest

from schemas.events import VesselEvent
from schemas.rejections import RejectReason
from streams.intake import Rejected, check_vessel_record

PORTS = frozenset({"PECLL", "BRSSZ"})


def valid_record(**changes: object) -> dict[str, object]:
    record: dict[str, object] = {
        "event_id": str(uuid.uuid4()),
        "event_type": "vessel",
        "occurred_at": "2026-03-01T12:00:00Z",
        "published_at": "2026-03-01T12:00:05Z",
        "port": "PECLL",
        "port_call_id": "PECLL-0001",
        "imo": "9074729",  # a real IMO number: check digit 9
        "classifier": "ACT",
        "operation": "ARRI",
        "facility": "BRTH",
        "berth_id": "B2",
    }
    record.update(changes)
    return record


def check(record: dict[str, object] | bytes | None) -> VesselEvent | Rejected:
    raw = record if record is None or isinstance(record, bytes) else json.dumps(record).encode()
    return check_vessel_record(raw, PORTS)


def test_a_valid_record_is_accepted() -> None:
    outcome = check(valid_record())
    assert isinstance(outcome, VesselEvent)
    assert outcome.port == "PECLL"
    assert outcome.imo == "9074729"
    assert outcome.occurred_at.utcoffset() is not None


@pytest.mark.parametrize(
    ("record", "reason", "detail"),
    [
        (None, RejectReason.UNDECODABLE, "empty record"),
        (b"\xff\xfe", RejectReason.UNDECODABLE, "not JSON"),
        (b"[1, 2", RejectReason.UNDECODABLE, "not JSON"),
        (valid_record(imo=None), RejectReason.SCHEMA_INVALID, "imo"),
        (valid_record(operation="LAND"), RejectReason.SCHEMA_INVALID, "operation"),
        (valid_record(occurred_at="2026-03-01T12:00"), RejectReason.SCHEMA_INVALID, "occurred_at"),
        (valid_record(port="pecll"), RejectReason.SCHEMA_INVALID, "port"),
        (valid_record(surprise=1), RejectReason.SCHEMA_INVALID, "surprise"),
        (valid_record(imo="9074728"), RejectReason.INVALID_IDENTIFIER, "check digit"),
        (valid_record(port="CLVAP"), RejectReason.UNKNOWN_PORT, "CLVAP"),
    ],
)  # fmt: skip
def test_a_bad_record_is_refused_with_its_reason(
    record: dict[str, object] | bytes | None, reason: RejectReason, detail: str
) -> None:
    outcome = check(record)
    assert isinstance(outcome, Rejected)
    assert outcome.reason is reason
    assert detail in outcome.detail
