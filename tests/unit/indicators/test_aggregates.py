"""The §2 aggregates per level and period, and the call-size-adjusted port hours (SPEC §4)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from hub.domain.indicators.aggregates import (
    call_size_adjusted_port_hours,
    call_size_band,
    kpi_aggregates,
)
from hub.domain.indicators.model import Network, PortInfo, period_start
from hub.domain.kpis.model import KpiName
from tests.unit.indicators.builders import MECHANISMS, NETWORK, T0, call_kpis, kpi, one, pick


def test_an_aggregate_is_the_mean_median_and_p90_of_the_values_left_after_flags() -> None:
    values = [
        *(kpi(KpiName.WAITING_TIME_H, v) for v in (1.0, 2.0, 3.0, 10.0)),
        kpi(KpiName.WAITING_TIME_H, -5.0, flag="NEGATIVE_INTERVAL"),  # kept, not aggregated
        kpi(KpiName.WAITING_TIME_H, None, None, flag="OPEN"),  # right-censored
    ]
    row = one(kpi_aggregates(values, NETWORK, "day"), "waiting_time_h", "port", "PECLL")
    # mean (1 + 2 + 3 + 10) / 4 = 4; median 2.5; p90 at position 0.9 * 3 = 2.7: 3 + 0.7 * 7
    assert (row.count, row.value, row.median) == (4, 4.0, 2.5)
    assert row.p90 == pytest.approx(7.9)
    assert row.unit == "h" and row.period == "day"
    assert row.period_start == datetime(2026, 3, 10, tzinfo=UTC)


def test_every_level_aggregates_all_its_ports_values_together() -> None:
    values = [
        kpi(KpiName.DWELL_DAYS, 2.0, port="PECLL"),
        kpi(KpiName.DWELL_DAYS, 4.0, port="PECLL"),
        kpi(KpiName.DWELL_DAYS, 9.0, port="PEPAI"),
        kpi(KpiName.DWELL_DAYS, 1.0, port="CLVAP"),
    ]
    rows = kpi_aggregates(values, NETWORK, "month")
    assert one(rows, "dwell_days", "port", "PECLL").value == 3.0
    assert one(rows, "dwell_days", "country", "PE").value == 5.0  # (2 + 4 + 9) / 3, not (3 + 9) / 2
    assert one(rows, "dwell_days", "mechanism", "PA").count == 4  # PE and CL
    assert one(rows, "dwell_days", "mechanism", "CAN").count == 3  # PE only
    region = one(rows, "dwell_days", "region", "LAC")
    assert (region.count, region.value, region.median) == (4, 4.0, 3.0)
    assert not pick(rows, "dwell_days", "mechanism", "MERCOSUR")


def test_a_port_in_colombia_counts_in_pa_can_and_lac() -> None:
    rows = kpi_aggregates([kpi(KpiName.WAITING_TIME_H, 6.0, port="COCTG")], NETWORK, "day")
    assert sorted((r.level, r.entity) for r in rows) == [
        ("country", "CO"),
        ("mechanism", "CAN"),
        ("mechanism", "PA"),
        ("port", "COCTG"),
        ("region", "LAC"),
    ]
    assert all(r.count == 1 and r.value == 6.0 for r in rows)


def test_a_port_not_in_the_hub_counts_nowhere() -> None:
    assert kpi_aggregates([kpi(KpiName.WAITING_TIME_H, 6.0, port="ARBUE")], NETWORK, "day") == []


def test_throughput_is_a_sum_and_the_inspection_rate_a_percentage() -> None:
    values = [
        kpi(KpiName.THROUGHPUT_TEU, 2.0),
        kpi(KpiName.THROUGHPUT_TEU, 1.0),
        kpi(KpiName.THROUGHPUT_T, 12.5),
        kpi(KpiName.PHYSICAL_INSPECTION_FLAG, 1.0, entity="d1"),
        kpi(KpiName.PHYSICAL_INSPECTION_FLAG, 0.0, entity="d2"),
        kpi(KpiName.PHYSICAL_INSPECTION_FLAG, 0.0, entity="d3"),
        kpi(KpiName.PHYSICAL_INSPECTION_FLAG, 0.0, entity="d4"),
        kpi(KpiName.PHYSICAL_INSPECTION_FLAG, None, None, entity="d5", flag="OPEN"),
    ]
    rows = kpi_aggregates(values, NETWORK, "day")
    teu = one(rows, "throughput_teu", "port", "PECLL")
    assert (teu.value, teu.count, teu.median, teu.p90, teu.unit) == (3.0, 2, None, None, "TEU")
    assert one(rows, "throughput_t", "port", "PECLL").value == 12.5
    rate = one(rows, "physical_inspection_rate_pct", "port", "PECLL")
    assert (rate.value, rate.count, rate.unit) == (25.0, 4, "%")


def test_other_kpis_are_not_aggregated() -> None:
    values = [kpi(KpiName.CRANE_INTENSITY_CRANES, 2.0), kpi(KpiName.CALL_SIZE_MOVES, 300.0)]
    assert kpi_aggregates(values, NETWORK, "day") == []


@pytest.mark.parametrize(
    ("moment", "day", "month"),
    [
        (datetime(2026, 3, 31, 23, 59, 59, 999000, tzinfo=UTC), "2026-03-31", "2026-03-01"),
        (datetime(2026, 4, 1, 0, 0, tzinfo=UTC), "2026-04-01", "2026-04-01"),
        # 20:00 in Lima is 01:00 UTC the next day: periods are UTC.
        (
            datetime(2026, 3, 31, 20, 0, tzinfo=timezone(timedelta(hours=-5))),
            "2026-04-01",
            "2026-04-01",
        ),
        (datetime(2028, 2, 29, 12, 0, tzinfo=UTC), "2028-02-29", "2028-02-01"),
    ],
)
def test_periods_are_utc_days_and_calendar_months(moment: datetime, day: str, month: str) -> None:
    assert period_start(moment, "day") == datetime.fromisoformat(day).replace(tzinfo=UTC)
    assert period_start(moment, "month") == datetime.fromisoformat(month).replace(tzinfo=UTC)
    assert period_start(moment, "day").tzinfo is UTC


def test_values_fall_in_the_period_of_their_anchor() -> None:
    last = datetime(2026, 3, 31, 23, 30, tzinfo=UTC)
    values = [
        kpi(KpiName.WAITING_TIME_H, 1.0, last),
        kpi(KpiName.WAITING_TIME_H, 3.0, last + timedelta(hours=1)),
    ]
    monthly = pick(kpi_aggregates(values, NETWORK, "month"), "waiting_time_h", "port", "PECLL")
    assert [
        (r.period_start.month, r.value) for r in sorted(monthly, key=lambda r: r.period_start)
    ] == [(3, 1.0), (4, 3.0)]
    daily = pick(kpi_aggregates(values, NETWORK, "day"), "waiting_time_h", "port", "PECLL")
    assert len(daily) == 2


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        period_start(datetime(2026, 3, 1), "day")
    with pytest.raises(ValueError, match="period"):
        period_start(T0, "week")  # type: ignore[arg-type]  # on purpose: not a Period


@pytest.mark.parametrize(
    ("moves", "band"),
    [
        (0, 0),
        (250, 0),
        (251, 1),
        (500, 1),
        (501, 2),
        (1000, 2),
        (1001, 3),
        (4000, 7),
        (4001, 8),
        (6000, 8),
        (6001, 9),
        (20000, 9),
    ],
)
def test_call_size_bands_are_specs(moves: float, band: int) -> None:
    assert call_size_band(moves) == band


# Two ports in two countries, two bands, in one month:
#   PECLL: <=250: 10 h, 14 h (mean 12)    501-1000: 30 h (mean 30)
#   CLVAP: <=250:  8 h       (mean 8)     501-1000: 20 h, 24 h (mean 22)
# Network means: <=250: (10 + 14 + 8) / 3 = 32/3; 501-1000: (30 + 20 + 24) / 3 = 74/3.
# PECLL: (2 * (12 - 32/3) + 1 * (30 - 74/3)) / 3 = (8/3 + 16/3) / 3 = +8/3 h (slower)
# CLVAP: (1 * (8 - 32/3) + 2 * (22 - 74/3)) / 3 = (-8/3 - 16/3) / 3 = -8/3 h (faster)
# Per-call deviations of PECLL: -2/3, 10/3, 16/3 → median 10/3; of CLVAP -8/3, -14/3, -2/3.
CALLS = [
    *call_kpis("PECLL", "A1", 10.0, 100.0),
    *call_kpis("PECLL", "A2", 14.0, 250.0),
    *call_kpis("PECLL", "A3", 30.0, 800.0),
    *call_kpis("CLVAP", "B1", 8.0, 200.0),
    *call_kpis("CLVAP", "B2", 20.0, 501.0),
    *call_kpis("CLVAP", "B3", 24.0, 1000.0),
]


def test_call_size_adjusted_port_hours_equal_the_hand_computation() -> None:
    rows = call_size_adjusted_port_hours(CALLS, NETWORK, "month")
    callao = one(rows, "call_size_adjusted_port_hours_h", "port", "PECLL")
    valparaiso = one(rows, "call_size_adjusted_port_hours_h", "port", "CLVAP")
    assert callao.value == pytest.approx(8 / 3, rel=1e-12)
    assert valparaiso.value == pytest.approx(-8 / 3, rel=1e-12)
    assert callao.median == pytest.approx(10 / 3, rel=1e-12)
    assert valparaiso.median == pytest.approx(-8 / 3, rel=1e-12)
    assert callao.count == valparaiso.count == 3
    assert one(rows, "call_size_adjusted_port_hours_h", "country", "PE").value == pytest.approx(
        8 / 3
    )
    assert one(rows, "call_size_adjusted_port_hours_h", "region", "LAC").value == pytest.approx(
        0.0, abs=1e-12
    )
    assert json.loads(callao.detail or "") == {
        "bands": [
            {
                "band": "<=250",
                "calls": 2,
                "mean_h": 12.0,
                "network_calls": 3,
                "network_mean_h": pytest.approx(32 / 3),
            },
            {
                "band": "501-1000",
                "calls": 1,
                "mean_h": 30.0,
                "network_calls": 3,
                "network_mean_h": pytest.approx(74 / 3),
            },
        ]
    }


def test_the_network_of_the_adjustment_is_every_hub_port_of_the_same_period() -> None:
    later = [*call_kpis("CLVAP", "B9", 500.0, 100.0, T0 + timedelta(days=40))]  # April
    other = [*call_kpis("ARBUE", "X1", 500.0, 100.0)]  # not a hub port here
    rows = call_size_adjusted_port_hours([*CALLS, *later, *other], NETWORK, "month")
    march = [r for r in rows if r.period_start.month == 3]
    assert one(march, "call_size_adjusted_port_hours_h", "port", "PECLL").value == pytest.approx(
        8 / 3
    )


def test_only_calls_with_both_port_hours_and_call_size_count() -> None:
    values = [
        *call_kpis("PECLL", "A1", 10.0, 100.0),
        kpi(KpiName.PORT_HOURS_H, 99.0, entity="PECLL/no-size"),
        kpi(KpiName.CALL_SIZE_MOVES, 300.0, entity="PECLL/no-hours"),
        kpi(KpiName.PORT_HOURS_H, -3.0, entity="PECLL/neg", flag="NEGATIVE_INTERVAL"),
        kpi(KpiName.CALL_SIZE_MOVES, 300.0, entity="PECLL/neg"),
    ]
    rows = call_size_adjusted_port_hours(values, NETWORK, "day")
    row = one(rows, "call_size_adjusted_port_hours_h", "port", "PECLL")
    assert (row.count, row.value) == (1, 0.0)


def test_a_call_with_two_port_hours_is_refused() -> None:
    values = [*call_kpis("PECLL", "A1", 10.0, 100.0), *call_kpis("PECLL", "A1", 11.0, 100.0)]
    with pytest.raises(ValueError, match="two"):
        call_size_adjusted_port_hours(values, NETWORK, "day")


def test_a_mechanism_without_a_hub_port_produces_nothing() -> None:
    network = Network([PortInfo("PECLL", "PE")], MECHANISMS)
    assert sorted(network.mechanisms) == ["CAN", "PA"]
    rows = kpi_aggregates([kpi(KpiName.WAITING_TIME_H, 1.0)], network, "day")
    assert {r.entity for r in rows if r.level == "mechanism"} == {"CAN", "PA"}
