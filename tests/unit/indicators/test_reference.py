"""all_indicators: one sorted list of every indicator, from real KPI values too."""

from __future__ import annotations

import json

import pytest

from hub.domain.indicators.model import Indicator
from hub.domain.indicators.reference import all_indicators
from hub.domain.kpis.reference import all_kpis
from schemas.models import Facility, Move, Operation
from tests.unit.indicators.builders import (
    MECHANISMS,
    PORTS,
    call,
    call_kpis,
    certificate,
    flow,
    one,
)
from tests.unit.kpis import builders as events


def _everything() -> list[Indicator]:
    return all_indicators(
        call_kpis("PECLL", "A1", 20.0, 300.0),
        [flow("PE", "CL", 100), flow("PE", "CN", 300)],
        [call("A1", service="AC1", teu=9000)],
        [certificate("X", "VALID", verdict_after_h=3)],
        PORTS,
        MECHANISMS,
        "month",
    )


def test_rows_are_sorted_and_carry_a_count() -> None:
    rows = _everything()
    assert rows == sorted(rows, key=lambda r: (r.level, r.entity, r.period_start, r.indicator))
    assert {r.level for r in rows} == {"port", "country", "mechanism", "region"}
    assert all(isinstance(r.count, int) and r.period == "month" for r in rows)
    names = {r.indicator for r in rows}
    for expected in ("port_hours_h", "call_size_adjusted_port_hours_h", "port_performance_score",
                     "intra_regional_share_value_pct", "trade_introversion_teu_index",
                     "vessel_calls_per_week", "certificates_valid_pct"):  # fmt: skip
        assert expected in names


def test_as_json() -> None:
    row = one(_everything(), "trade_introversion_value_index", "country", "PE")
    data = row.as_json()
    assert data["period_start"] == "2026-03-01T00:00:00+00:00"
    assert set(data) == {"level", "entity", "period", "period_start", "indicator", "unit",
                         "count", "value", "median", "p90", "detail"}  # fmt: skip
    assert json.loads(json.dumps(data)) == data
    assert isinstance(json.loads(str(data["detail"])), dict)


def test_a_bad_period_is_refused() -> None:
    with pytest.raises(ValueError, match="period"):
        all_indicators([], [], [], [], PORTS, MECHANISMS, "week")  # type: ignore[arg-type]  # on purpose: not a Period


def test_it_reads_what_the_kpi_reference_computes() -> None:
    """A whole call through ``all_kpis``: arrival, berth, 3 moves, departure 10 h later."""
    kpis = all_kpis(
        [
            events.vessel(Operation.ARRI, Facility.PORT, 0),
            events.vessel(Operation.ARRI, Facility.BRTH, 2, berth="B1"),
            *(
                events.cargo(Move.DISC, 3 + i / 10, box=box)
                for i, box in enumerate((events.BOX, events.BOX2, events.BOX3))
            ),
            events.vessel(Operation.DEPA, Facility.BRTH, 10, berth="B1"),
        ]
    )
    rows = all_indicators(kpis, [], [], [], PORTS, MECHANISMS, "day")
    assert one(rows, "port_hours_h", "port", "PECLL").value == pytest.approx(10.0)
    assert one(rows, "waiting_time_h", "country", "PE").value == pytest.approx(2.0)
    assert one(rows, "throughput_teu", "region", "LAC").count == 3
    adjusted = one(rows, "call_size_adjusted_port_hours_h", "port", "PECLL")
    assert (adjusted.value, adjusted.count) == (0.0, 1)
    assert one(rows, "port_performance_score", "port", "PECLL").value is not None
    assert one(rows, "port_hours_h", "port", "PECLL").period_start == events.T0  # 2 March, 00:00
