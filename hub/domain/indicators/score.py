"""The port performance score: a composite of the §2 aggregates, 0 (worst) to 100 (best).

SPEC §4: "port performance score — documented composite of the above (method, weights and
direction of each input written next to the code); stable under adding a port".

**Method (goalposts, as the UN's Human Development Index).** Each input is turned into a
sub-score between two *fixed* goalposts: ``best`` scores 100, ``worst`` scores 0, linear in
between and clipped outside, so the sub-score is 100 * (worst - x) ÷ (worst - best) for either
direction. The score is the weighted mean of the sub-scores of the inputs the port has in the
period, the weights renormalised over those inputs; when they carry less than
:data:`MIN_WEIGHT` of the weight, the score is None (``detail`` says which inputs were there).

======================  ====================================  ======  ========  =======  ======
input                   KPI (mean of the port's values in     better  best      worst    weight
                        the period)
======================  ====================================  ======  ========  =======  ======
``port_hours``          ``port_hours_h``, each call against   lower   by band   by band  0.30
                        its call-size band (table below)
``waiting_time``        ``waiting_time_h``                    lower   0 h       24 h     0.15
``berth_productivity``  ``berth_productivity_moves_per_h``    higher  100 mv/h  10 mv/h  0.20
``dwell``               ``dwell_days``                        lower   2 days    14 days  0.10
``truck_turnaround``    ``truck_turnaround_min``              lower   30 min    180 min  0.10
``release_time``        ``release_time_h``                    lower   0 h       168 h    0.15
======================  ====================================  ======  ========  =======  ======

Why these weights: the ship's time in port (port hours, and the waiting and the berth
productivity it is made of) is what the CPPI ranks ports by and what a carrier pays for, so it
carries 0.65; the cargo's time on land (dwell, trucks at the gate, customs release) is what the
port community's shippers pay for, 0.35, customs release the largest part of it as the step the
Network's single windows aim at. Goalposts: ``best`` is what leading ports reach, ``worst``
where a further loss no longer changes the picture.

Port hours are adjusted for call size with fixed goalposts per SPEC band: a call of the band's
representative size m moves would take ``best`` = 4 h (pilotage, mooring, formalities) plus m
moves at 100 moves/h, and ``worst`` = 48 h plus m moves at 25 moves/h. The input's sub-score is
the mean of the calls' sub-scores:

============  =======  ========  =========
band (moves)  m        best (h)  worst (h)
============  =======  ========  =========
<=250         125      5.25      53
251-500       375      7.75      63
501-1000      750      11.5      78
1001-1500     1,250    16.5      98
1501-2000     1,750    21.5      118
2001-2500     2,250    26.5      138
2501-3000     2,750    31.5      158
3001-4000     3,500    39        188
4001-6000     5,000    54        248
>6000         7,000    74        328
============  =======  ========  =========

**Stable under adding a port.** A port's score is a function of its own KPI values in the period
and of the constants of this module: no rank among ports, no z-score, no network mean. So adding,
removing or changing another port never changes it, and a March score means the same in
December. This is why the score does not use ``call_size_adjusted_port_hours_h``, whose network
mean per band moves when a port joins, and adjusts for call size with fixed band goalposts
instead.

**Choice: the higher levels.** The score of a country, a mechanism or the region is the
unweighted mean of its ports' scores (median and p90 of them too, ``count`` the ports scored):
each port community is one member of the Network, and a traffic weighting would let the largest
port stand for its country. It changes only when one of its own ports joins or changes. At the
port level ``count`` is 1 (0 when the score is None), and ``detail`` gives each input's value,
sub-score, weight and count.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from hub.domain.indicators.aggregates import aggregatable, call_hours, call_size_band, describe
from hub.domain.indicators.model import (
    INDICATOR_UNITS,
    EntityRef,
    Indicator,
    IndicatorName,
    Network,
    Period,
    detail_json,
    period_start,
)
from hub.domain.kpis.model import KpiName, KpiValue

__all__ = [
    "MIN_WEIGHT",
    "PORT_HOURS_GOALPOSTS",
    "PORT_HOURS_WEIGHT",
    "SCORE_INPUTS",
    "PortScore",
    "ScoreInput",
    "goalpost_score",
    "port_score",
    "score_indicators",
]


def goalpost_score(value: float, best: float, worst: float) -> float:
    """100 at ``best``, 0 at ``worst``, linear between, clipped to [0, 100] (either direction:
    ``best`` below ``worst`` when lower is better)."""
    return min(100.0, max(0.0, 100.0 * (worst - value) / (worst - best)))


@dataclass(frozen=True, slots=True)
class ScoreInput:
    """One input of the score scored on the mean of one KPI's values (see the table above)."""

    name: str
    kpi: KpiName
    weight: float
    best: float
    worst: float


SCORE_INPUTS: Final[tuple[ScoreInput, ...]] = (
    ScoreInput("waiting_time", KpiName.WAITING_TIME_H, 0.15, best=0.0, worst=24.0),
    ScoreInput(
        "berth_productivity", KpiName.BERTH_PRODUCTIVITY_MOVES_PER_H, 0.20, best=100.0, worst=10.0
    ),
    ScoreInput("dwell", KpiName.DWELL_DAYS, 0.10, best=2.0, worst=14.0),
    ScoreInput("truck_turnaround", KpiName.TRUCK_TURNAROUND_MIN, 0.10, best=30.0, worst=180.0),
    ScoreInput("release_time", KpiName.RELEASE_TIME_H, 0.15, best=0.0, worst=168.0),
)
"""The inputs scored on a mean, with their weights and goalposts."""

PORT_HOURS_WEIGHT: Final = 0.30
"""Weight of the call-size-adjusted port hours; with :data:`SCORE_INPUTS` the weights sum to 1."""

PORT_HOURS_GOALPOSTS: Final[tuple[tuple[float, float], ...]] = (
    (5.25, 53.0),
    (7.75, 63.0),
    (11.5, 78.0),
    (16.5, 98.0),
    (21.5, 118.0),
    (26.5, 138.0),
    (31.5, 158.0),
    (39.0, 188.0),
    (54.0, 248.0),
    (74.0, 328.0),
)
"""(best, worst) port hours of each band of ``aggregates.CALL_SIZE_BANDS``, in order."""

MIN_WEIGHT: Final = 0.5
"""The least share of the weight a port's inputs must carry for it to have a score: a port that
reports only its gate would otherwise be scored on its trucks alone."""


@dataclass(frozen=True, slots=True)
class PortScore:
    """The score of one port in one period."""

    score: float | None
    """0-100, or None when the inputs carry less than :data:`MIN_WEIGHT`."""
    weight: float
    """The share of the weight its inputs carried."""
    inputs: Mapping[str, Mapping[str, float]]
    """Per input present: ``value`` (the mean), ``subscore``, ``weight``, ``count``."""


def port_score(values: Iterable[KpiValue]) -> PortScore:
    """The score of the KPI values of one port in one period (open and flagged values are left
    out; only the inputs' KPIs are read). Depends on nothing else: see the module docstring."""
    counted = [value for value in values if aggregatable(value)]
    inputs: dict[str, dict[str, float]] = {}
    calls = call_hours(counted)
    if calls:
        subscores = [
            goalpost_score(call.port_hours, *PORT_HOURS_GOALPOSTS[call_size_band(call.moves)])
            for call in calls
        ]
        inputs["port_hours"] = {
            "value": math.fsum(call.port_hours for call in calls) / len(calls),
            "subscore": math.fsum(subscores) / len(subscores),
            "weight": PORT_HOURS_WEIGHT,
            "count": len(calls),
        }
    for spec in SCORE_INPUTS:
        xs = [v.value for v in counted if v.kpi == spec.kpi and v.value is not None]
        if xs:
            mean = math.fsum(xs) / len(xs)
            inputs[spec.name] = {
                "value": mean,
                "subscore": goalpost_score(mean, spec.best, spec.worst),
                "weight": spec.weight,
                "count": len(xs),
            }
    weight = math.fsum(i["weight"] for i in inputs.values())
    if weight < MIN_WEIGHT - 1e-9:
        return PortScore(None, weight, inputs)
    score = math.fsum(i["weight"] * i["subscore"] for i in inputs.values()) / weight
    return PortScore(score, weight, inputs)


def score_indicators(kpis: Iterable[KpiValue], network: Network, period: Period) -> list[Indicator]:
    """``port_performance_score`` of every hub port with an input in the period, and of its
    country, mechanisms and the region (the mean of their ports' scores). Unsorted."""
    by_port: dict[tuple[str, datetime], list[KpiValue]] = {}
    read = {spec.kpi.value for spec in SCORE_INPUTS} | {
        KpiName.PORT_HOURS_H.value,
        KpiName.CALL_SIZE_MOVES.value,
    }
    for value in kpis:
        if value.kpi in read and aggregatable(value) and value.port in network.ports:
            assert value.anchor_time is not None  # aggregatable
            key = (value.port, period_start(value.anchor_time, period))
            by_port.setdefault(key, []).append(value)
    name = IndicatorName.PORT_PERFORMANCE_SCORE
    unit = INDICATOR_UNITS[name].value
    rows: list[Indicator] = []
    above: dict[tuple[EntityRef, datetime], list[float]] = {}
    for (port, start), values in by_port.items():
        result = port_score(values)
        if not result.inputs:  # only a call size without port hours: nothing scored
            continue
        detail: dict[str, object] = {"inputs": result.inputs, "weight": result.weight}
        if result.score is None:
            detail["reason"] = (
                f"the inputs carry {result.weight:.2f} of the weight, under {MIN_WEIGHT}"
            )
        rows.append(
            Indicator(
                level="port",
                entity=port,
                period=period,
                period_start=start,
                indicator=name.value,
                unit=unit,
                count=0 if result.score is None else 1,
                value=result.score,
                detail=detail_json(detail),
            )
        )
        for ref in network.of_port(port)[1:]:
            scores = above.setdefault((ref, start), [])
            if result.score is not None:
                scores.append(result.score)
    rows += [_level_row(ref, start, scores, period) for (ref, start), scores in above.items()]
    return rows


def _level_row(
    ref: EntityRef, start: datetime, scores: Sequence[float], period: Period
) -> Indicator:
    level, entity = ref
    name = IndicatorName.PORT_PERFORMANCE_SCORE
    if not scores:
        return Indicator(
            level=level,
            entity=entity,
            period=period,
            period_start=start,
            indicator=name.value,
            unit=INDICATOR_UNITS[name].value,
            count=0,
            value=None,
            detail=detail_json({"reason": "no port of it has a score"}),
        )
    stats = describe(scores)
    return Indicator(
        level=level,
        entity=entity,
        period=period,
        period_start=start,
        indicator=name.value,
        unit=INDICATOR_UNITS[name].value,
        count=stats.count,
        value=stats.mean,
        median=stats.median,
        p90=stats.p90,
    )
