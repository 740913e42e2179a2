"""Window aggregates, with PostgreSQL's percentile_cont (SPEC §2: count, mean, median, p90)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from hub.domain.kpis.model import KpiValue
from hub.domain.kpis.reference import all_kpis
from hub.domain.kpis.windows import (
    berth_occupancy,
    percentile_cont,
    window_aggregates,
    window_start,
)
from schemas.models import Facility, Operation
from tests.unit.kpis.builders import PORT, T0, vessel

HOUR = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)


def _value(
    value: float | None,
    anchor: datetime | None = HOUR,
    *,
    kpi: str = "waiting_time_h",
    port: str = "PECLL",
    flag: str | None = None,
) -> KpiValue:
    return KpiValue("port_call", f"{port}/{value}", port, kpi, value, "h", anchor, flag)


@pytest.mark.parametrize(
    ("values", "fraction", "expected"),
    [
        (list(range(1, 11)), 0.5, 5.5),
        (list(range(1, 11)), 0.9, 9.1),  # position 8.1: 9 + 0.1 * (10 - 9)
        ([7.0], 0.5, 7.0),
        ([7.0], 0.9, 7.0),
        ([1.0, 3.0], 0.5, 2.0),
        ([1.0, 3.0], 0.9, 2.8),
        ([2.0, 4.0, 10.0], 0.9, 8.8),  # position 1.8: 4 + 0.8 * 6
        ([2.0, 4.0, 10.0], 0.0, 2.0),
        ([2.0, 4.0, 10.0], 1.0, 10.0),
    ],
)
def test_percentile_cont_interpolates_like_postgresql(
    values: list[float], fraction: float, expected: float
) -> None:
    assert percentile_cont(values, fraction) == pytest.approx(expected, rel=1e-12)


def test_percentile_cont_refuses_no_values_and_bad_fractions() -> None:
    with pytest.raises(ValueError):
        percentile_cont([], 0.5)
    with pytest.raises(ValueError):
        percentile_cont([1.0], 1.5)


def test_a_window_of_1_to_10() -> None:
    values = [
        _value(float(v), HOUR + timedelta(minutes=5 * v)) for v in (3, 10, 1, 7, 2, 9, 5, 4, 8, 6)
    ]
    [window] = window_aggregates(values, "hour")

    assert (window.port, window.granularity, window.window_start) == ("PECLL", "hour", HOUR)
    assert (window.kpi, window.unit) == ("waiting_time_h", "h")
    assert window.count == 10
    assert window.total == 55.0
    assert window.mean == 5.5
    assert window.median == 5.5
    assert window.p90 == pytest.approx(9.1)
    assert window.open_count == 0


def test_flagged_open_and_unanchored_values_stay_out() -> None:
    values = [
        _value(1.0),
        _value(3.0),
        _value(-50.0, flag="NEGATIVE_INTERVAL"),
        _value(None, None, flag="OPEN"),
        _value(2.0, None),
        _value(-2.0, kpi="port_hours_h", flag="NEGATIVE_INTERVAL"),  # its only value: no window
    ]
    [window] = window_aggregates(values, "day")

    assert (window.kpi, window.count, window.mean, window.median) == ("waiting_time_h", 2, 2.0, 2.0)


def test_windows_by_port_hour_day_and_kpi() -> None:
    values = [
        _value(1.0, HOUR),
        _value(2.0, HOUR + timedelta(minutes=59, seconds=59, milliseconds=999)),
        _value(4.0, HOUR + timedelta(hours=1)),  # the next hour, the same day
        _value(8.0, HOUR, port="BRSSZ"),
        _value(16.0, HOUR, kpi="port_hours_h"),
    ]
    hourly = {(w.port, w.window_start, w.kpi): w.total for w in window_aggregates(values, "hour")}
    daily = {(w.port, w.window_start, w.kpi): w.total for w in window_aggregates(values, "day")}
    day = HOUR.replace(hour=0)

    assert hourly == {
        ("BRSSZ", HOUR, "waiting_time_h"): 8.0,
        ("PECLL", HOUR, "port_hours_h"): 16.0,
        ("PECLL", HOUR, "waiting_time_h"): 3.0,
        ("PECLL", HOUR + timedelta(hours=1), "waiting_time_h"): 4.0,
    }
    assert daily == {
        ("BRSSZ", day, "waiting_time_h"): 8.0,
        ("PECLL", day, "port_hours_h"): 16.0,
        ("PECLL", day, "waiting_time_h"): 7.0,
    }
    assert list(hourly) == sorted(hourly)  # sorted by (port, window_start, kpi)


def test_windows_are_utc_aligned() -> None:
    lima = timezone(timedelta(hours=-5))
    late_evening = datetime(2026, 3, 2, 21, 30, tzinfo=lima)  # 02:30 UTC on 3 March

    assert window_start(late_evening, "day") == datetime(2026, 3, 3, tzinfo=UTC)
    assert window_start(late_evening, "hour") == datetime(2026, 3, 3, 2, tzinfo=UTC)
    assert window_start(late_evening, "day").tzinfo is UTC


def test_berth_occupancy_divides_berth_hours_by_berths_and_window_hours() -> None:
    # Two calls at a port of 2 berths: CALL-1 at berth 00:00-02:00, CALL-2 01:30-03:00.
    events = [
        vessel(Operation.ARRI, Facility.BRTH, 0.0, call="CALL-1", berth="B1"),
        vessel(Operation.DEPA, Facility.BRTH, 2.0, call="CALL-1", berth="B1"),
        vessel(Operation.ARRI, Facility.BRTH, 1.5, call="CALL-2", berth="B2"),
        vessel(Operation.DEPA, Facility.BRTH, 3.0, call="CALL-2", berth="B2"),
    ]
    values = all_kpis(events)
    hourly = berth_occupancy(window_aggregates(values, "hour"), {PORT: 2})
    daily = berth_occupancy(window_aggregates(values, "day"), {PORT: 2})

    assert {(w.kpi, w.unit) for w in hourly + daily} == {("berth_occupancy_pct", "%")}
    assert {w.window_start.hour: w.total for w in hourly} == {0: 50.0, 1: 75.0, 2: 50.0}
    assert {w.window_start.hour: w.count for w in hourly} == {0: 1, 1: 2, 2: 1}
    [day] = daily
    assert day.window_start == T0
    assert day.total == pytest.approx((2.0 + 1.5) / (2 * 24) * 100, rel=1e-12)
    assert day.mean == day.median == day.p90 == day.total
    # A port whose berth count is not configured has no occupancy.
    assert berth_occupancy(window_aggregates(values, "hour"), {PORT: None}) == []
    assert berth_occupancy(window_aggregates(values, "hour"), {}) == []
