"""Emissions per port, country, mechanism and region: totals over the calls, and the avoidable
share."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from hub.domain.indicators.emissions import emission_indicators
from hub.domain.indicators.reference import all_indicators
from hub.domain.kpis.model import KpiName, KpiValue
from tests.unit.indicators.builders import MECHANISMS, NETWORK, PORTS, T0, at, kpi, one, pick


def call(
    port: str,
    name: str,
    anchorage: float,
    berth: float,
    avoidable: float,
    *,
    assumed: bool = False,
    anchor: datetime = T0,
) -> list[KpiValue]:
    """The emission KPIs of one departed call (tonnes)."""
    entity = f"{port}/{name}"
    return [
        kpi(KpiName.CO2_ANCHORAGE_T, anchorage, anchor, port=port, entity=entity),
        kpi(KpiName.CO2_BERTH_T, berth, anchor, port=port, entity=entity),
        kpi(KpiName.CO2_T, anchorage + berth, anchor, port=port, entity=entity),
        kpi(KpiName.CO2_AVOIDABLE_T, avoidable, anchor, port=port, entity=entity),
        kpi(KpiName.SOX_T, (anchorage + berth) / 300, anchor, port=port, entity=entity),
        kpi(KpiName.CO2_SIZE_ASSUMED_FLAG, float(assumed), anchor, port=port, entity=entity),
    ]


def test_the_value_is_the_total_over_the_calls_with_median_and_p90_per_call() -> None:
    values = [
        *call("PECLL", "C1", 10.0, 20.0, 6.0),
        *call("PECLL", "C2", 0.0, 30.0, 0.0, assumed=True),
        *call("PECLL", "C3", 5.0, 55.0, 3.0),
    ]
    rows = emission_indicators(values, NETWORK, "month")
    co2 = one(rows, "co2_t", "port", "PECLL")
    # co2_t per call: 30, 30, 60 → total 120; median 30; p90 at 0.9 * 2 = 1.8: 30 + 0.8 * 30 = 54
    assert (co2.count, co2.value, co2.median) == (3, 120.0, 30.0)
    assert co2.p90 == pytest.approx(54.0)
    assert co2.unit == "t" and co2.period_start == datetime(2026, 3, 1, tzinfo=UTC)
    assert json.loads(co2.detail or "{}") == {"calls_size_assumed": 1}
    assert one(rows, "co2_anchorage_t", "port", "PECLL").value == 15.0
    assert one(rows, "co2_berth_t", "port", "PECLL").value == 105.0
    assert one(rows, "co2_avoidable_t", "port", "PECLL").value == 9.0
    assert one(rows, "sox_t", "port", "PECLL").value == pytest.approx(0.4)  # 120 / 300
    share = one(rows, "co2_avoidable_pct", "port", "PECLL")
    # 9 of 120 t: 7.5 %
    assert (share.count, share.unit) == (3, "%") and share.value == pytest.approx(7.5)
    assert share.median is None and share.p90 is None
    assert json.loads(share.detail or "{}") == {
        "calls_size_assumed": 1,
        "co2_avoidable_t": 9.0,
        "co2_t": 120.0,
    }


def test_every_level_adds_up_its_ports_calls() -> None:
    values = [
        *call("PECLL", "C1", 10.0, 20.0, 6.0),
        *call("PEPAI", "C1", 0.0, 10.0, 0.0),
        *call("COCTG", "C9", 4.0, 6.0, 2.0),
    ]
    rows = emission_indicators(values, NETWORK, "day")
    assert one(rows, "co2_t", "country", "PE").value == 40.0
    assert one(rows, "co2_t", "mechanism", "CAN").value == 50.0  # PE and CO
    region = one(rows, "co2_t", "region", "LAC")
    assert (region.count, region.value) == (3, 50.0)
    assert one(rows, "co2_avoidable_pct", "region", "LAC").value == pytest.approx(16.0)  # 8 / 50
    assert not pick(rows, "co2_t", "mechanism", "MERCOSUR")


def test_open_flagged_and_foreign_values_count_nowhere() -> None:
    values = [
        *call("PECLL", "C1", 10.0, 20.0, 6.0),
        kpi(KpiName.CO2_T, None, None, entity="PECLL/C2", flag="OPEN"),
        kpi(KpiName.CO2_T, -3.0, entity="PECLL/C3", flag="NEGATIVE_INTERVAL"),
        kpi(KpiName.CO2_AVOIDABLE_T, 1.0, entity="PECLL/C3"),  # no co2_t: not in the share
        *call("USLAX", "C1", 1.0, 1.0, 1.0),  # not a hub port
    ]
    rows = emission_indicators(values, NETWORK, "month")
    assert one(rows, "co2_t", "port", "PECLL").count == 1
    assert one(rows, "co2_avoidable_t", "port", "PECLL").value == 7.0
    share = one(rows, "co2_avoidable_pct", "port", "PECLL")
    assert share.count == 1 and share.value == pytest.approx(20.0)  # 6 of 30
    assert not [row for row in rows if row.entity == "USLAX"]


def test_calls_fall_in_the_period_of_their_anchor() -> None:
    values = [
        *call("PECLL", "C1", 1.0, 2.0, 0.0),
        *call("PECLL", "C2", 1.0, 5.0, 0.0, anchor=at(24)),
    ]
    rows = pick(emission_indicators(values, NETWORK, "day"), "co2_t", "port", "PECLL")
    assert sorted((r.period_start.day, r.value) for r in rows) == [(10, 3.0), (11, 6.0)]


def test_no_co2_makes_the_share_undefined_with_a_reason() -> None:
    rows = emission_indicators(call("PECLL", "C1", 0.0, 0.0, 0.0), NETWORK, "month")
    share = one(rows, "co2_avoidable_pct", "port", "PECLL")
    assert share.value is None and "reason" in json.loads(share.detail or "{}")


def test_all_indicators_gives_them_as_totals_not_means() -> None:
    values = [*call("PECLL", "C1", 10.0, 20.0, 6.0), *call("PECLL", "C2", 0.0, 30.0, 0.0)]
    rows = all_indicators(values, [], [], [], PORTS, MECHANISMS, "month")
    assert one(rows, "co2_t", "port", "PECLL").value == 60.0
    assert one(rows, "co2_avoidable_pct", "region", "LAC").value == pytest.approx(10.0)
    assert not pick(rows, "co2_size_assumed_flag", "port", "PECLL")


def test_a_call_counted_twice_is_refused() -> None:
    values = [*call("PECLL", "C1", 1.0, 2.0, 0.0), *call("PECLL", "C1", 1.0, 2.0, 0.0)]
    with pytest.raises(ValueError, match="two co2_anchorage_t values"):
        emission_indicators(values, NETWORK, "month")
