"""The digital certificate's effect on release time: the two groups over the matched agreements,
and the impact, by hand."""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta

import pytest

from hub.domain.indicators.certificate_effect import (
    MIN_GROUP_DECLARATIONS,
    certificate_effect_indicators,
)
from hub.domain.indicators.model import DeclarationInfo, Indicator, Period
from hub.domain.indicators.reference import all_indicators
from hub.domain.kpis.model import KpiName, KpiValue
from tests.unit.indicators.builders import (
    MECHANISMS,
    NETWORK,
    PORTS,
    T0,
    certificate,
    kpi,
    one,
    pick,
)

WITH = "release_time_with_valid_certificate_h"
WITHOUT = "release_time_without_certificate_h"
IMPACT = "digital_certificate_impact_pct"


def released(
    port: str,
    declaration: str,
    hours: float | None,
    *,
    agreement: str | None,
    certificate_id: str | None = None,
    when: datetime = T0,
    flag: str | None = None,
) -> tuple[KpiValue, DeclarationInfo]:
    """A declaration's ``release_time_h`` (anchored at ``when``, its release) and its info."""
    entity = f"{port}/{declaration}"
    value = kpi(KpiName.RELEASE_TIME_H, hours, when, port=port, entity=entity, flag=flag)
    info = DeclarationInfo(port, declaration, when - timedelta(days=1), agreement, certificate_id)
    return value, info


# Callao (PE), one day:
#   A58 with a VALID certificate: 2, 4, 6, 8, 10 h       -> median 6, p90 at 0.9*4 = 3.6: 8 + 0.6*2 = 9.2
#   A58 without a certificate: 10, 12, 14, 16, 18, 20 h  -> median (14+16)/2 = 15,
#                                                           p90 at 0.9*5 = 4.5: 18 + 0.5*2 = 19
#   impact = (15 - 6) / 15 * 100 = 60 %, 9 h saved, count 5 + 6 = 11
#   A38 without a certificate only: 100 h                -> agreement not matched (left out)
#   A58 naming an INVALID certificate (1 h), one with no verdict (1 h) -> certificate not valid
#   no agreement (50 h), a flagged release, an open release -> not counted at all
# Cartagena (CO): A24 with VALID 3 h, without 5 h        -> groups of 1: no impact
# Region (and PA, CAN: Peru and Colombia are in both), matched A24 and A58:
#   with 2, 3, 4, 6, 8, 10        -> median (4+6)/2 = 5, p90 at 0.9*5 = 4.5: 8 + 0.5*2 = 9
#   without 5, 10, 12, 14, 16, 18, 20 -> median 14, p90 at 0.9*6 = 5.4: 18 + 0.4*2 = 18.8
#   impact = (14 - 5) / 14 * 100 = 64.2857… %, count 13
CASES = [
    *(released("PECLL", f"W{h}", h, agreement="A58", certificate_id=f"C{h}")
      for h in (2, 4, 6, 8, 10)),
    *(released("PECLL", f"N{h}", h, agreement="A58") for h in (10, 12, 14, 16, 18, 20)),
    released("PECLL", "N100", 100, agreement="A38"),
    released("PECLL", "BAD", 1, agreement="A58", certificate_id="INVALID-1"),
    released("PECLL", "WAIT", 1, agreement="A58", certificate_id="NO-VERDICT"),
    released("PECLL", "FREE", 50, agreement=None),
    released("PECLL", "FLAG", 1, agreement="A58", certificate_id="C2", flag="NEGATIVE_INTERVAL"),
    released("PECLL", "OPEN", None, agreement="A58"),
    released("COCTG", "W3", 3, agreement="A24", certificate_id="CO-3"),
    released("COCTG", "N5", 5, agreement="A24"),
]  # fmt: skip
KPIS = [value for value, _ in CASES]
DECLARATIONS = [info for _, info in CASES]
CERTIFICATES = [
    *(certificate(f"C{h}", "VALID") for h in (2, 4, 6, 8, 10)),
    certificate("CO-3", "VALID", country="CO"),
    certificate("INVALID-1", "INVALID", failed=("EXPIRED",)),
]


def rows(period: Period = "day") -> list[Indicator]:
    return certificate_effect_indicators(KPIS, DECLARATIONS, CERTIFICATES, NETWORK, period)


def test_the_hand_example_at_a_port() -> None:
    computed = rows()
    with_ = one(computed, WITH, "port", "PECLL")
    assert (with_.value, with_.median, with_.count, with_.unit) == (6.0, 6.0, 5, "h")
    assert with_.p90 == pytest.approx(9.2)
    assert json.loads(with_.detail or "") == {"agreements": ["A58"]}
    without = one(computed, WITHOUT, "port", "PECLL")
    assert (without.value, without.median, without.count) == (15.0, 15.0, 6)
    assert without.p90 == pytest.approx(19.0)
    impact = one(computed, IMPACT, "port", "PECLL")
    assert (impact.value, impact.count, impact.unit) == (60.0, 11, "%")
    assert json.loads(impact.detail or "") == {
        "agreements": {"A58": {"with": 5, "without": 6}},
        "hours_saved": 9.0,
        "left_out": {"agreement_not_matched": 1, "certificate_not_valid": 2},
        "median_with_h": 6.0,
        "median_without_h": 15.0,
    }
    assert one(computed, IMPACT, "country", "PE").value == 60.0


def test_the_region_pools_the_matched_agreements_of_its_ports() -> None:
    computed = rows()
    for level, entity in (("region", "LAC"), ("mechanism", "PA"), ("mechanism", "CAN")):
        with_ = one(computed, WITH, level, entity)
        assert (with_.median, with_.count) == (5.0, 6)
        assert with_.p90 == pytest.approx(9.0)
        without = one(computed, WITHOUT, level, entity)
        assert (without.median, without.count) == (14.0, 7)
        assert without.p90 == pytest.approx(18.8)
        impact = one(computed, IMPACT, level, entity)
        assert impact.value == pytest.approx(900 / 14) and impact.count == 13
        detail = json.loads(impact.detail or "")
        assert detail["agreements"] == {
            "A24": {"with": 1, "without": 1},
            "A58": {"with": 5, "without": 6},
        }


def test_too_small_a_group_gives_the_medians_but_no_impact() -> None:
    computed = rows()
    assert MIN_GROUP_DECLARATIONS == 5
    with_ = one(computed, WITH, "port", "COCTG")
    assert (with_.median, with_.count) == (3.0, 1)
    assert one(computed, WITHOUT, "port", "COCTG").median == 5.0
    impact = one(computed, IMPACT, "port", "COCTG")
    assert impact.value is None and impact.count == 2
    detail = json.loads(impact.detail or "")
    assert "fewer than 5 declarations in a group" in detail["reason"]
    assert (detail["median_with_h"], detail["median_without_h"]) == (3.0, 5.0)


def test_no_matched_agreement_gives_empty_groups_with_a_reason() -> None:
    # Valparaíso: A35 only without a certificate, A24 only with one (a VALID certificate).
    only = [
        released("CLVAP", "N1", 7, agreement="A35"),
        released("CLVAP", "W1", 3, agreement="A24", certificate_id="CL-1"),
    ]
    computed = certificate_effect_indicators(
        [v for v, _ in only], [d for _, d in only], [certificate("CL-1", "VALID")], NETWORK, "day"
    )
    for name in (WITH, WITHOUT, IMPACT):
        row = one(computed, name, "port", "CLVAP")
        assert (row.value, row.median, row.p90, row.count) == (None, None, None, 0)
        detail = json.loads(row.detail or "")
        assert detail["reason"].startswith("no agreement is claimed both")
        assert detail["left_out"] == {"agreement_not_matched": 2, "certificate_not_valid": 0}


def test_nothing_claiming_an_agreement_gives_no_row() -> None:
    value, info = released("PECLL", "FREE", 50, agreement=None)
    assert certificate_effect_indicators([value], [info], [], NETWORK, "day") == []
    # A release whose declaration is unknown (its lodgement not among the inputs) counts nowhere.
    assert certificate_effect_indicators([value], [], [], NETWORK, "day") == []


def test_a_non_positive_median_without_gives_no_ratio() -> None:
    cases = [
        *(released("PECLL", f"W{i}", 0.0, agreement="A58", certificate_id=f"C{i}")
          for i in range(5)),
        *(released("PECLL", f"N{i}", 0.0, agreement="A58") for i in range(5)),
    ]  # fmt: skip
    computed = certificate_effect_indicators(
        [v for v, _ in cases],
        [d for _, d in cases],
        [certificate(f"C{i}", "VALID") for i in range(5)],
        NETWORK,
        "day",
    )
    impact = one(computed, IMPACT, "port", "PECLL")
    assert impact.value is None and impact.count == 10
    assert "not positive" in json.loads(impact.detail or "")["reason"]


def test_releases_fall_in_the_period_of_the_release_and_the_latest_certificate_counts() -> None:
    tomorrow = T0 + timedelta(days=1)
    cases = [
        *(released("PECLL", f"W{h}", h, agreement="A58", certificate_id=f"C{h}")
          for h in (2, 4, 6, 8, 10)),
        *(released("PECLL", f"N{h}", h, agreement="A58", when=tomorrow)
          for h in (10, 12, 14, 16, 18)),
    ]  # fmt: skip
    # An amended lodgement naming a certificate: the later entry of the declaration counts.
    amended = DeclarationInfo("PECLL", "N18", T0, "A58", "C2")
    kpis, declarations = [v for v, _ in cases], [*(d for _, d in cases), amended]
    verdicts = [certificate(f"C{h}", "VALID") for h in (2, 4, 6, 8, 10)]
    by_day = certificate_effect_indicators(kpis, declarations, verdicts, NETWORK, "day")
    impacts = pick(by_day, IMPACT, "port", "PECLL")
    assert [r.value for r in impacts] == [None, None]  # each day has one group only
    by_month = certificate_effect_indicators(kpis, declarations, verdicts, NETWORK, "month")
    with_ = one(by_month, WITH, "port", "PECLL")
    assert (with_.median, with_.count) == (7.0, 6)  # 2, 4, 6, 8, 10, 18: (6 + 8) / 2
    without = one(by_month, WITHOUT, "port", "PECLL")
    assert (without.median, without.count) == (13.0, 4)  # 10, 12, 14, 16
    impact = one(by_month, IMPACT, "port", "PECLL")
    assert impact.value is None  # 4 without: fewer than 5
    assert with_.period_start == T0.replace(day=1, hour=0)


def test_a_release_time_repeated_for_one_declaration_is_refused() -> None:
    value, info = CASES[0]
    with pytest.raises(ValueError, match="two release times"):
        certificate_effect_indicators([value, value], [info], [], NETWORK, "day")


def test_all_indicators_includes_them_with_generators_as_inputs() -> None:
    computed = all_indicators(
        iter(KPIS), [], [], iter(CERTIFICATES), PORTS, MECHANISMS, "day", iter(DECLARATIONS)
    )
    assert one(computed, IMPACT, "port", "PECLL").value == 60.0
    assert one(computed, "certificate_adoption_pct", "port", "PECLL").count > 0
    assert one(computed, "certificates_count", "country", "PE").count == 6
    impact = one(computed, IMPACT, "region", "LAC").value
    assert impact is not None and math.isclose(impact, 900 / 14)
