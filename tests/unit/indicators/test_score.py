"""The port performance score: hand example, goalposts, and stability under adding a port."""

from __future__ import annotations

import json

import pytest

from hub.domain.indicators.reference import all_indicators
from hub.domain.indicators.score import (
    PORT_HOURS_GOALPOSTS,
    PORT_HOURS_WEIGHT,
    SCORE_INPUTS,
    goalpost_score,
    port_score,
    score_indicators,
)
from hub.domain.kpis.model import KpiName, KpiValue
from tests.unit.indicators.builders import MECHANISMS, NETWORK, PORTS, call_kpis, kpi, one, pick


def test_the_weights_sum_to_one_and_the_port_hours_goalposts_follow_their_formula() -> None:
    assert PORT_HOURS_WEIGHT + sum(spec.weight for spec in SCORE_INPUTS) == pytest.approx(1.0)
    # best = 4 h + m / 100 moves/h, worst = 48 h + m / 25 moves/h, m the band's representative size
    sizes = [125, 375, 750, 1250, 1750, 2250, 2750, 3500, 5000, 7000]
    assert tuple((4 + m / 100, 48 + m / 25) for m in sizes) == PORT_HOURS_GOALPOSTS


@pytest.mark.parametrize(
    ("value", "best", "worst", "expected"),
    [
        (12.0, 0.0, 24.0, 50.0),
        (30.0, 0.0, 24.0, 0.0),
        (-1.0, 0.0, 24.0, 100.0),
        (55.0, 100.0, 10.0, 50.0),
        (120.0, 100.0, 10.0, 100.0),
    ],
)
def test_goalposts_scale_linearly_and_clip(
    value: float, best: float, worst: float, expected: float
) -> None:
    assert goalpost_score(value, best, worst) == pytest.approx(expected)


def test_the_hand_example() -> None:
    # waiting 0 h → 100 (weight 0.15); berth productivity 10 moves/h → 0 (0.20);
    # one call of 750 moves (band 501-1000: best 11.5 h, worst 78 h) in 44.75 h:
    #   (78 - 44.75) / (78 - 11.5) * 100 = 50 (0.30).
    # Inputs carry 0.65 of the weight: (0.15 * 100 + 0.20 * 0 + 0.30 * 50) / 0.65 = 30 / 0.65.
    values = [
        kpi(KpiName.WAITING_TIME_H, 0.0),
        kpi(KpiName.BERTH_PRODUCTIVITY_MOVES_PER_H, 10.0),
        *call_kpis("PECLL", "A1", 44.75, 750.0),
    ]
    result = port_score(values)
    assert result.score == pytest.approx(30 / 0.65, rel=1e-12)
    assert result.weight == pytest.approx(0.65)
    assert result.inputs["port_hours"]["subscore"] == pytest.approx(50.0)
    row = one(score_indicators(values, NETWORK, "month"), "port_performance_score", "port", "PECLL")
    assert row.value == pytest.approx(30 / 0.65)
    assert (row.count, row.unit) == (1, "score")
    assert set(json.loads(row.detail or "")["inputs"]) == {
        "waiting_time",
        "berth_productivity",
        "port_hours",
    }


def test_too_few_inputs_is_none_with_the_reason() -> None:
    values = [kpi(KpiName.DWELL_DAYS, 3.0), kpi(KpiName.TRUCK_TURNAROUND_MIN, 40.0)]  # 0.20
    rows = score_indicators(values, NETWORK, "month")
    row = one(rows, "port_performance_score", "port", "PECLL")
    assert (row.value, row.count) == (None, 0)
    assert "under 0.5" in json.loads(row.detail or "")["reason"]
    country = one(rows, "port_performance_score", "country", "PE")
    assert (country.value, country.count) == (None, 0)


def test_flagged_and_open_values_are_not_scored() -> None:
    values = [
        kpi(KpiName.WAITING_TIME_H, 12.0),
        kpi(KpiName.WAITING_TIME_H, -30.0, flag="NEGATIVE_INTERVAL"),
        kpi(KpiName.RELEASE_TIME_H, None, None, flag="OPEN"),
        kpi(KpiName.BERTH_PRODUCTIVITY_MOVES_PER_H, 55.0),
        *call_kpis("PECLL", "A1", 44.75, 750.0),
    ]
    assert port_score(values).score == pytest.approx(50.0)


def _port_values(port: str, waiting: float, productivity: float, hours: float) -> list[KpiValue]:
    return [
        kpi(KpiName.WAITING_TIME_H, waiting, port=port),
        kpi(KpiName.BERTH_PRODUCTIVITY_MOVES_PER_H, productivity, port=port),
        kpi(KpiName.DWELL_DAYS, 5.0, port=port),
        *call_kpis(port, f"{port}-1", hours, 900.0),
    ]


def test_adding_a_port_does_not_change_the_other_ports_scores() -> None:
    """SPEC: "stable under adding a port". Ports are scored against fixed goalposts, not
    against each other, so a newcomer — however good or bad — moves no other port's score
    (whereas the network-relative call-size-adjusted port hours do move)."""
    before = [*_port_values("PECLL", 10.0, 40.0, 30.0), *_port_values("CLVAP", 4.0, 70.0, 20.0)]
    after = [*before, *_port_values("COCTG", 0.0, 150.0, 5.0)]
    without = [p for p in PORTS if p.unlocode != "COCTG"]
    rows_before = all_indicators(before, [], [], [], without, MECHANISMS, "month")
    rows_after = all_indicators(after, [], [], [], PORTS, MECHANISMS, "month")
    for port in ("PECLL", "CLVAP"):
        score_before = one(rows_before, "port_performance_score", "port", port)
        score_after = one(rows_after, "port_performance_score", "port", port)
        assert score_before == score_after
    # The countries without a new port keep their score too.
    for country in ("PE", "CL"):
        assert one(rows_before, "port_performance_score", "country", country) == one(
            rows_after, "port_performance_score", "country", country
        )
    # PA gains a port, so its mean moves; the newcomer itself is scored.
    assert one(rows_after, "port_performance_score", "mechanism", "PA").count == 3
    # Everything at its best but a 5-day dwell (sub-score 75, weight 0.10 of 0.75).
    newcomer = one(rows_after, "port_performance_score", "port", "COCTG").value
    assert newcomer == pytest.approx((0.65 * 100 + 0.10 * 75) / 0.75)
    # The contrast: the network-relative adjustment does move.
    adjusted_before = one(rows_before, "call_size_adjusted_port_hours_h", "port", "PECLL").value
    adjusted_after = one(rows_after, "call_size_adjusted_port_hours_h", "port", "PECLL").value
    assert adjusted_before != adjusted_after


def test_a_level_score_is_the_mean_of_its_ports_scores() -> None:
    values = [*_port_values("PECLL", 10.0, 40.0, 30.0), *_port_values("PEPAI", 4.0, 70.0, 20.0)]
    rows = score_indicators(values, NETWORK, "month")
    ports = [one(rows, "port_performance_score", "port", p).value for p in ("PECLL", "PEPAI")]
    assert all(score is not None for score in ports)
    country = one(rows, "port_performance_score", "country", "PE")
    assert country.value == pytest.approx(sum(s for s in ports if s is not None) / 2)
    assert country.count == 2
    assert pick(rows, "port_performance_score", "mechanism", "MERCOSUR") == []
