"""Certificates of origin per importing country: seen, share VALID, rejections, time to verdict."""

from __future__ import annotations

import json

import pytest

from hub.domain.indicators.certificates import certificate_indicators
from hub.domain.indicators.model import rejection_indicator
from tests.unit.indicators.builders import NETWORK, certificate, one

# Five certificates for Peru in March, one for a country without a hub port:
#   VALID (verdict after 2 h), VALID (4 h), INVALID EXPIRED + SIGNER_REVOKED (1 h),
#   INVALID EXPIRED (10 h), PENDING (no final verdict).
#   seen 5 · share VALID = 2 / (2 + 2) = 50 % · rejections 2: EXPIRED 2, SIGNER_REVOKED 1
#   hours to the final verdict 1, 2, 4, 10: median 3, p90 at 0.9 * 3 = 2.7: 4 + 0.7 * 6 = 8.2
CERTIFICATES = [
    certificate("A", "VALID", verdict_after_h=2),
    certificate("B", "VALID", verdict_after_h=4),
    certificate("C", "INVALID", failed=("EXPIRED", "SIGNER_REVOKED"), verdict_after_h=1),
    certificate("D", "INVALID", failed=("EXPIRED",), verdict_after_h=10),
    certificate("E", "PENDING"),
    certificate("F", "VALID", country="US", verdict_after_h=1),
]


def test_the_hand_example() -> None:
    rows = certificate_indicators(CERTIFICATES, NETWORK, "month")
    seen = one(rows, "certificates_count", "country", "PE")
    assert (seen.value, seen.count) == (5.0, 5)
    assert json.loads(seen.detail or "") == {"INVALID": 2, "PENDING": 1, "VALID": 2}
    valid = one(rows, "certificates_valid_pct", "country", "PE")
    assert (valid.value, valid.count, valid.unit) == (50.0, 4, "%")
    rejected = one(rows, "certificate_rejections_count", "country", "PE")
    assert (rejected.value, rejected.count) == (2.0, 2)
    assert json.loads(rejected.detail or "") == {"EXPIRED": 2, "SIGNER_REVOKED": 1}
    assert one(rows, rejection_indicator("EXPIRED"), "country", "PE").value == 2.0
    assert one(rows, "certificate_rejections_signer_revoked_count", "country", "PE").count == 1
    time = one(rows, "certificate_verdict_time_h", "country", "PE")
    assert (time.value, time.median, time.count) == (3.0, 3.0, 4)
    assert time.p90 == pytest.approx(8.2)


def test_a_country_counts_in_its_mechanisms_and_the_region_only() -> None:
    rows = certificate_indicators(CERTIFICATES, NETWORK, "month")
    entities = {(r.level, r.entity) for r in rows}
    assert entities == {
        ("country", "PE"),
        ("mechanism", "CAN"),
        ("mechanism", "PA"),
        ("region", "LAC"),
    }
    assert one(rows, "certificates_count", "region", "LAC").value == 5.0  # not the US one


def test_nothing_decided_yet_is_none_with_the_reason() -> None:
    rows = certificate_indicators([certificate("E", "PENDING")], NETWORK, "day")
    for name in ("certificates_valid_pct", "certificate_verdict_time_h"):
        row = one(rows, name, "country", "PE")
        assert (row.value, row.count) == (None, 0)
        assert json.loads(row.detail or "")["reason"] == "no certificate has a final verdict yet"
    assert one(rows, "certificate_rejections_count", "country", "PE").value == 0.0


def test_a_verdict_before_its_submission_is_left_out_of_the_time() -> None:
    rows = certificate_indicators(
        [
            certificate("A", "VALID", verdict_after_h=-1),
            certificate("B", "VALID", verdict_after_h=5),
        ],
        NETWORK,
        "day",
    )
    time = one(rows, "certificate_verdict_time_h", "country", "PE")
    assert (time.value, time.count) == (5.0, 1)


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="twice"):
        certificate_indicators(
            [certificate("A", "VALID"), certificate("A", "VALID")], NETWORK, "day"
        )
    with pytest.raises(ValueError, match="outcome"):
        certificate_indicators([certificate("A", "MAYBE")], NETWORK, "day")
