"""Semantic checks: every reason code for the fault it names, and valid samples pass."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from schemas.avro_schemas import DOMAINS
from schemas.models import Envelope, to_avro_datum
from schemas.rejections import Rejected, RejectReason
from schemas.validation import validate
from tests.samples import samples

NOW = datetime(2026, 3, 2, tzinfo=UTC)
PORTS = frozenset({"PECLL", "BRSSZ", "ECGYE"})


def as_json(event: Envelope, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(event.model_dump_json())
    return data | changes


def refusal(domain: str, data: dict[str, Any]) -> Rejected:
    outcome = validate(domain, data, PORTS, NOW)
    assert isinstance(outcome, Rejected), f"accepted: {outcome!r}"
    return outcome


@pytest.mark.parametrize("domain", DOMAINS)
def test_valid_samples_pass_as_json_and_as_avro_data(domain: str) -> None:
    for event in samples(domain):
        assert validate(domain, as_json(event), PORTS, NOW) == event
        assert validate(domain, to_avro_datum(event), PORTS, NOW) == event


@pytest.mark.parametrize(
    ("domain", "which", "changes", "reason", "detail"),
    [
        ("vessel", 0, {"port": "CLVAP"}, RejectReason.UNKNOWN_PORT, "CLVAP"),
        ("vessel", 0, {"imo": "9074728"}, RejectReason.INVALID_IDENTIFIER, "IMO number 9074728"),
        ("cargo", 1, {"container": "MSCU1234560"}, RejectReason.INVALID_IDENTIFIER, "MSCU1234560"),
        ("customs", 1, {"containers": ["MSCU1234560"]}, RejectReason.INVALID_IDENTIFIER, "MSCU"),
        ("vessel", 1, {"berth_id": None}, RejectReason.MISSING_FIELD, "berth_id"),
        ("cargo", 1, {"crane_id": None}, RejectReason.MISSING_FIELD, "crane_id is required for a DISC"),
        ("cargo", 1, {"port_call_id": None}, RejectReason.MISSING_FIELD, "port_call_id"),
        ("cargo", 1, {"move": "GTOT", "truck_visit_id": None}, RejectReason.MISSING_FIELD, "truck_visit_id"),
        ("customs", 1, {"channel": None}, RejectReason.MISSING_FIELD, "channel"),
        ("customs", 1, {"kind": "LODGED", "regime": None}, RejectReason.MISSING_FIELD, "regime"),
        ("customs", 1, {"kind": "LODGED", "goods": []}, RejectReason.MISSING_FIELD, "goods"),
        ("customs", 1, {"agreement": None}, RejectReason.MISSING_FIELD, "agreement"),
        ("certificate", 0, {"document": ""}, RejectReason.MISSING_FIELD, "document"),
        ("certificate", 0, {"importing_country": "US"}, RejectReason.UNKNOWN_COUNTRY, "US has no port"),
        ("cargo", 0, {"occurred_at": "1999-12-31T23:00:00Z"}, RejectReason.IMPLAUSIBLE_TIME, "before 2000"),
        ("cargo", 0, {"published_at": "2026-03-03T00:00:00Z"}, RejectReason.IMPLAUSIBLE_TIME, "published_at"),
        ("vessel", 1, {"occurred_at": "2026-03-01T13:00:00Z"}, RejectReason.IMPLAUSIBLE_TIME, "after it was published"),
        ("vessel", 0, {"occurred_at": "2027-06-01T00:00:00Z"}, RejectReason.IMPLAUSIBLE_TIME, "a year ahead"),
        ("cargo", 0, {"occurred_at": "2026-02-20T00:00:00Z"}, RejectReason.TOO_LATE, "older than the grace period of 168 h"),
        ("vessel", 0, {"imo": None}, RejectReason.SCHEMA_INVALID, "imo"),
        ("cargo", 0, {"move": "LAND"}, RejectReason.SCHEMA_INVALID, "move"),
        ("customs", 0, {"surprise": 1}, RejectReason.SCHEMA_INVALID, "surprise"),
    ],
)  # fmt: skip
def test_each_fault_gets_its_reason(
    domain: str, which: int, changes: dict[str, Any], reason: RejectReason, detail: str
) -> None:
    refused = refusal(domain, as_json(samples(domain)[which], **changes))
    assert refused.reason is reason
    assert detail in refused.detail


def test_an_estimated_arrival_may_lie_ahead_but_an_actual_one_may_not() -> None:
    estimate = samples("vessel")[0]  # EST ARRI
    ahead = (NOW + timedelta(days=30)).isoformat()
    assert isinstance(
        validate("vessel", as_json(estimate, occurred_at=ahead), PORTS, NOW), Envelope
    )
    actual = as_json(estimate, occurred_at=ahead, classifier="ACT")
    assert refusal("vessel", actual).reason is RejectReason.IMPLAUSIBLE_TIME


def test_a_clock_a_few_minutes_fast_is_tolerated() -> None:
    event = samples("cargo")[0]
    fast = NOW + timedelta(minutes=5)
    data = as_json(event, occurred_at=fast.isoformat(), published_at=fast.isoformat())
    assert isinstance(validate("cargo", data, PORTS, NOW), Envelope)
