"""The open data's rules: which cells are suppressed and what is left of them, what of ``detail``
is published, and the SDMX-CSV forms (time periods, units, statuses), on hand-computed cases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from hub.domain.indicators.open_data import (
    DATAFLOW,
    SDMX_COLUMNS,
    OpenIndicator,
    csv_record,
    is_suppressed,
    open_indicator,
    public_detail,
    sdmx_record,
    sdmx_time_period,
    sdmx_unit,
)

OCT_8 = datetime(2026, 10, 8, tzinfo=UTC)


@pytest.mark.parametrize(
    ("period", "start", "expected"),
    [
        ("day", OCT_8, "2026-10-08"),
        ("day", datetime(2026, 1, 1, tzinfo=UTC), "2026-01-01"),
        ("month", datetime(2026, 10, 1, tzinfo=UTC), "2026-10"),
        ("month", datetime(2026, 2, 1, tzinfo=UTC), "2026-02"),
        ("quarter", datetime(2026, 1, 1, tzinfo=UTC), "2026-Q1"),
        ("quarter", datetime(2026, 4, 1, tzinfo=UTC), "2026-Q2"),
        ("quarter", datetime(2026, 7, 1, tzinfo=UTC), "2026-Q3"),
        ("quarter", datetime(2026, 10, 1, tzinfo=UTC), "2026-Q4"),
        ("half-year", datetime(2026, 1, 1, tzinfo=UTC), "2026-S1"),
        ("half-year", datetime(2026, 7, 1, tzinfo=UTC), "2026-S2"),
        ("year", datetime(2026, 1, 1, tzinfo=UTC), "2026"),
        # The start is read in UTC: 19:00 on 30 September at UTC-5 is 1 October 00:00 UTC.
        ("day", datetime(2026, 9, 30, 19, tzinfo=timezone(timedelta(hours=-5))), "2026-10-01"),
        ("quarter", datetime(2026, 9, 30, 19, tzinfo=timezone(timedelta(hours=-5))), "2026-Q4"),
        ("year", datetime(999, 1, 1, tzinfo=UTC), "0999"),
    ],
)
def test_sdmx_time_periods(period: str, start: datetime, expected: str) -> None:
    assert sdmx_time_period(period, start) == expected


def test_a_naive_start_or_an_unknown_period_has_no_time_period() -> None:
    with pytest.raises(ValueError, match="naive"):
        sdmx_time_period("day", datetime(2026, 10, 8))
    with pytest.raises(ValueError, match="'week'"):
        sdmx_time_period("week", OCT_8)


@pytest.mark.parametrize(
    ("count", "min_count", "suppressed"),
    [(0, 5, True), (1, 5, True), (4, 5, True), (5, 5, False), (6, 5, False), (0, 1, True),
     (1, 1, False), (99, 100, True), (100, 100, False)],
)  # fmt: skip
def test_a_cell_below_the_minimum_count_is_suppressed(
    count: int, min_count: int, suppressed: bool
) -> None:
    assert is_suppressed(count, min_count) is suppressed


def test_a_minimum_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="min_count must be >= 1"):
        is_suppressed(3, 0)


def stored(count: int, **changes: object) -> OpenIndicator:
    """A stored row of port hours at Callao (mean 12.5 h of ``count`` calls), as published."""
    fields: dict[str, object] = {
        "level": "port", "entity": "PECLL", "period": "day", "period_start": OCT_8,
        "indicator": "port_hours_h", "unit": "h", "count": count, "value": 12.5,
        "median": 11.0, "p90": 20.25, "detail": '{"bands":[{"band":"S","calls":1}]}',
        "computed_at": OCT_8 + timedelta(days=1), "min_count": 5,
    }  # fmt: skip
    return open_indicator(**(fields | changes))  # type: ignore[arg-type]


def test_a_suppressed_cell_keeps_its_key_and_loses_its_figures_and_count() -> None:
    row = stored(4)
    assert row.suppressed
    assert (row.count, row.value, row.median, row.p90, row.detail) == (None,) * 5
    assert (row.level, row.entity, row.indicator, row.unit) == (
        "port",
        "PECLL",
        "port_hours_h",
        "h",
    )
    assert row.as_json()["time_period"] == "2026-10-08"
    assert row.as_json()["suppressed"] is True


def test_a_cell_at_the_minimum_is_published_without_its_breakdown() -> None:
    row = stored(5)
    assert not row.suppressed
    assert (row.count, row.value, row.median, row.p90) == (5, 12.5, 11.0, 20.25)
    # The bands are parts of the cell with fewer calls than its count: not published.
    assert row.detail is None
    reason = '{"T_i":0.0,"reason":"T_i is 0: no trade of the group seen"}'
    undefined = stored(7, value=None, detail=reason)
    assert undefined.detail == {"reason": "T_i is 0: no trade of the group seen"}
    assert undefined.value is None and not undefined.suppressed


@pytest.mark.parametrize(
    ("detail", "published"),
    [(None, None), ('{"reason":"no port of it has a score"}', {"reason": "no port of it has a score"}),
     ('{"VALID":3,"INVALID":1}', None), ('{"reason":7}', None), ("[1,2]", None), ("not json", None),
     ('"reason"', None)],
)  # fmt: skip
def test_only_a_textual_reason_of_detail_is_published(
    detail: str | None, published: dict[str, object] | None
) -> None:
    assert public_detail(detail) == published


def test_nan_and_infinite_figures_are_published_as_undefined() -> None:
    row = stored(9, value=float("nan"), median=float("inf"))
    assert row.value is None and row.median is None and row.p90 == 20.25


def test_sdmx_records_of_a_published_an_undefined_and_a_suppressed_cell() -> None:
    assert len(SDMX_COLUMNS) == 11
    share = stored(40, indicator="intra_regional_share_value_pct", unit="%", value=31.25,
                   period="month", period_start=datetime(2026, 10, 1, tzinfo=UTC),
                   level="mechanism", entity="PA")  # fmt: skip
    assert sdmx_record(share) == (
        DATAFLOW, "M", "MECHANISM", "PA", "INTRA_REGIONAL_SHARE_VALUE_PCT", "2026-10", "31.25",
        "PC", "A", "F", "40",
    )  # fmt: skip
    undefined = stored(6, value=None)
    assert sdmx_record(undefined)[6:] == ("", "H", "M", "F", "6")
    assert sdmx_record(stored(2)) == (
        DATAFLOW, "D", "PORT", "PECLL", "PORT_HOURS_H", "2026-10-08", "", "H", "Q", "C", "",
    )  # fmt: skip
    assert DATAFLOW == "PORTHUB:REGIONAL_INDICATORS(1.0)"


@pytest.mark.parametrize(
    ("unit", "code"),
    [("%", "PC"), ("h", "H"), ("min", "MIN"), ("days", "DAYS"), ("moves/h", "MOVES_PER_H"),
     ("TEU", "TEU"), ("t", "T"), ("index", "INDEX"), ("score", "SCORE"),
     ("calls/week", "CALLS_PER_WEEK"), ("count", "NUM"), ("t CO2/call", "T_CO2_CALL")],
)  # fmt: skip
def test_units_as_sdmx_codes(unit: str, code: str) -> None:
    assert sdmx_unit(unit) == code


def test_the_csv_record_spells_every_figure_so_that_it_reads_back() -> None:
    row = stored(5, value=0.1 + 0.2)
    record = csv_record(row)
    assert float(record[8]) == 0.1 + 0.2
    assert record[:8] == ("port", "PECLL", "day", "2026-10-08T00:00:00+00:00", "2026-10-08",
                          "port_hours_h", "h", "5")  # fmt: skip
    assert record[11:13] == ("", "false")
    assert csv_record(stored(1))[7:13] == ("", "", "", "", "", "true")
