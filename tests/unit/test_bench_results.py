"""The benchmark's derived figures: the rate over the first and the last tenth of the events
taken in, and the replay time of a year of the region."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bench.throughput import region_year_replay_hours, span_rate, tenth_bounds

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_a_slowdown_shows_in_the_last_tenth() -> None:
    # 1,000 events: the first 500 taken in at 100/s, the rest at 50/s.
    moments = [
        T0 + timedelta(seconds=i / 100 if i < 500 else 5 + (i - 500) / 50) for i in range(1000)
    ]
    first, tenth_end, last_start, last = tenth_bounds(len(moments))

    assert span_rate(100, moments[first], moments[tenth_end]) == 100
    assert span_rate(100, moments[last_start], moments[last]) == 50


def test_a_tenth_is_bounded_by_the_rows_around_it() -> None:
    assert tenth_bounds(1000) == (0, 100, 899, 999)
    assert tenth_bounds(1005) == (0, 100, 904, 1004)
    with pytest.raises(ValueError):
        tenth_bounds(9)


def test_no_time_passed_no_rate() -> None:
    assert span_rate(100, T0, T0) is None


def test_a_region_year_at_the_measured_rate() -> None:
    # 250 M events at 1,189/s: the ≥ 58 h the issue measured.
    assert region_year_replay_hours(1189) == pytest.approx(58.4)
    assert region_year_replay_hours(250_000_000 / 3600) == 1.0
