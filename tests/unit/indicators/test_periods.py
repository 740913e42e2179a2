"""Periods: where a day, month, quarter, half-year and year start and end (UTC, event time)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from hub.domain.indicators.connectivity import connectivity_indicators
from hub.domain.indicators.model import PERIODS, Period, days_in, period_end, period_start
from hub.domain.indicators.reference import all_indicators
from tests.unit.indicators.builders import NETWORK, call, one


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0,
    microsecond: int = 0,
) -> datetime:  # fmt: skip
    return datetime(year, month, day, hour, minute, second, microsecond, tzinfo=UTC)


LAST_MOMENT_OF_2026 = utc(2026, 12, 31, 23, 59, 59, 999_999)
STARTS = [
    # moment, period, its start
    (utc(2026, 3, 31, 23, 59, 59), "day", utc(2026, 3, 31)),
    (utc(2026, 3, 31, 23, 59, 59), "month", utc(2026, 3, 1)),
    (utc(2026, 3, 31, 23, 59, 59), "quarter", utc(2026, 1, 1)),
    (utc(2026, 4, 1), "quarter", utc(2026, 4, 1)),
    (utc(2026, 6, 30, 12), "quarter", utc(2026, 4, 1)),
    (utc(2026, 8, 15), "quarter", utc(2026, 7, 1)),
    (utc(2026, 11, 2), "quarter", utc(2026, 10, 1)),
    (utc(2026, 6, 30, 23, 59, 59), "half-year", utc(2026, 1, 1)),
    (utc(2026, 7, 1), "half-year", utc(2026, 7, 1)),
    (LAST_MOMENT_OF_2026, "half-year", utc(2026, 7, 1)),
    (LAST_MOMENT_OF_2026, "quarter", utc(2026, 10, 1)),
    (LAST_MOMENT_OF_2026, "year", utc(2026, 1, 1)),
    (utc(2027, 1, 1), "year", utc(2027, 1, 1)),
    (utc(2027, 1, 1), "half-year", utc(2027, 1, 1)),
    # 31 December 22:00 at UTC-5 is 1 January 03:00 UTC: the next year, quarter and half-year.
    (datetime(2026, 12, 31, 22, tzinfo=timezone(timedelta(hours=-5))), "year", utc(2027, 1, 1)),
    (datetime(2026, 12, 31, 22, tzinfo=timezone(timedelta(hours=-5))), "quarter",
     utc(2027, 1, 1)),
]  # fmt: skip


@pytest.mark.parametrize(("moment", "period", "start"), STARTS)
def test_a_moment_falls_in_the_period_starting_at(
    moment: datetime, period: Period, start: datetime
) -> None:
    assert period_start(moment, period) == start
    assert period_start(start, period) == start
    assert start <= moment < period_end(start, period)


ENDS = [
    # start, period, the next period's start, days
    (utc(2026, 12, 31), "day", utc(2027, 1, 1), 1),
    (utc(2026, 12, 1), "month", utc(2027, 1, 1), 31),
    (utc(2024, 2, 1), "month", utc(2024, 3, 1), 29),
    (utc(2026, 1, 1), "quarter", utc(2026, 4, 1), 90),
    (utc(2024, 1, 1), "quarter", utc(2024, 4, 1), 91),
    (utc(2026, 4, 1), "quarter", utc(2026, 7, 1), 91),
    (utc(2026, 7, 1), "quarter", utc(2026, 10, 1), 92),
    (utc(2026, 10, 1), "quarter", utc(2027, 1, 1), 92),
    (utc(2026, 1, 1), "half-year", utc(2026, 7, 1), 181),
    (utc(2024, 1, 1), "half-year", utc(2024, 7, 1), 182),
    (utc(2026, 7, 1), "half-year", utc(2027, 1, 1), 184),
    (utc(2026, 1, 1), "year", utc(2027, 1, 1), 365),
    (utc(2024, 1, 1), "year", utc(2025, 1, 1), 366),
]


@pytest.mark.parametrize(("start", "period", "end", "days"), ENDS)
def test_a_period_ends_where_the_next_starts(
    start: datetime, period: Period, end: datetime, days: int
) -> None:
    assert period_end(start, period) == end
    assert days_in(start, period) == days


def test_the_periods_shortest_first() -> None:
    assert PERIODS == ("day", "month", "quarter", "half-year", "year")


@pytest.mark.parametrize("period", ["week", "halfyear", "Year", ""])
def test_an_unknown_period_is_refused(period: str) -> None:
    with pytest.raises(ValueError, match="period must be one of"):
        period_start(utc(2026, 1, 1), period)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="period must be one of"):
        period_end(utc(2026, 1, 1), period)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="period must be one of"):
        all_indicators([], [], [], [], [], {}, period)  # type: ignore[arg-type]


def test_calls_per_week_of_a_quarter_and_a_year_divide_by_their_weeks() -> None:
    # 13 calls at PECLL in Q1 2026 (90 days = 90/7 weeks): 13 * 7/90 calls a week; over the
    # year (365 days) the same calls are 13 * 7/365.
    calls = [call(f"C{i}", when=utc(2026, 1 + i % 3, 1 + i)) for i in range(13)]
    quarter = connectivity_indicators(calls, NETWORK, "quarter")
    year = connectivity_indicators(calls, NETWORK, "year")
    half = connectivity_indicators(calls, NETWORK, "half-year")
    assert one(quarter, "vessel_calls_per_week", "port", "PECLL").value == pytest.approx(
        13 * 7 / 90
    )
    assert one(half, "vessel_calls_per_week", "port", "PECLL").value == pytest.approx(13 * 7 / 181)
    assert one(year, "vessel_calls_per_week", "port", "PECLL").value == pytest.approx(13 * 7 / 365)
    assert one(year, "vessel_calls_per_week", "port", "PECLL").count == 13
