"""The SPEC §2 aggregates per level and period, and the call-size-adjusted port hours.

SPEC §4: "port hours per call, waiting time, berth productivity, dwell, truck turnaround, release
time, inspection rate, throughput — aggregates of §2 (mean, median, p90, count)", and
"call-size-adjusted port hours — calls grouped into bands by call size (≤250, 251-500, 501-1,000,
1,001-1,500, 1,501-2,000, 2,001-2,500, 2,501-3,000, 3,001-4,000, 4,001-6,000, >6,000 moves); per
band, the port's mean port hours minus the mean of all ports in that band; weighted by the port's
calls in each band; negative is faster than the network".

The inputs are the entity KPI values of the batch reference (``hub.domain.kpis.reference.all_kpis``)
and the rules are §2's: a value counts when it has a value, an anchor and no flag (open and
``NEGATIVE_INTERVAL`` values stay out); it falls in the period of its anchor.

**Choice:** a country, mechanism or the region is aggregated over *all its ports' entity values
together*, as if it were one big port (a country's mean port hours is the mean over its calls,
not the mean of its ports' means), so a busy port weighs by its traffic, and the count is the
number of entities behind (calls, visits, declarations, moves).

- the means, medians and p90s use PostgreSQL's ``percentile_cont`` (as ``kpi_windows`` does);
- ``physical_inspection_rate_pct`` = the mean of ``physical_inspection_flag`` * 100 (declarations
  with a RED channel ÷ declarations with any channel * 100); its median and p90 are None
  (percentiles of 0/1 flags say nothing);
- ``throughput_teu`` and ``throughput_t`` are sums: ``value`` is the total of the moves, ``count``
  the moves, median and p90 None;
- arrival predictability: ``eta_error_h``, ``eta_abs_error_h`` and their 24 h and 72 h
  counterparts are the means (with median and p90) of the calls' KPIs of the same names (the
  ``abs`` ones: the mean absolute error); ``eta_within_1h_pct`` = calls whose
  ``eta_abs_error_h`` is at most :data:`ETA_ON_TIME_H` ÷ calls with one * 100 (median and p90
  None, as a rate).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from hub.domain.indicators.model import (
    INDICATOR_UNITS,
    Indicator,
    IndicatorName,
    Level,
    Network,
    Period,
    detail_json,
    period_start,
)
from hub.domain.kpis.model import KpiName, KpiValue
from hub.domain.kpis.windows import percentile_cont

__all__ = [
    "AGGREGATED_KPIS",
    "CALL_SIZE_BANDS",
    "ETA_ON_TIME_H",
    "CallHours",
    "Stats",
    "aggregatable",
    "call_hours",
    "call_size_adjusted_port_hours",
    "call_size_band",
    "describe",
    "kpi_aggregates",
]

AGGREGATED_KPIS: Final[Mapping[str, IndicatorName]] = {
    KpiName.PORT_HOURS_H: IndicatorName.PORT_HOURS_H,
    KpiName.WAITING_TIME_H: IndicatorName.WAITING_TIME_H,
    KpiName.BERTH_PRODUCTIVITY_MOVES_PER_H: IndicatorName.BERTH_PRODUCTIVITY_MOVES_PER_H,
    KpiName.DWELL_DAYS: IndicatorName.DWELL_DAYS,
    KpiName.TRUCK_TURNAROUND_MIN: IndicatorName.TRUCK_TURNAROUND_MIN,
    KpiName.RELEASE_TIME_H: IndicatorName.RELEASE_TIME_H,
    KpiName.PHYSICAL_INSPECTION_FLAG: IndicatorName.PHYSICAL_INSPECTION_RATE_PCT,
    KpiName.THROUGHPUT_TEU: IndicatorName.THROUGHPUT_TEU,
    KpiName.THROUGHPUT_T: IndicatorName.THROUGHPUT_T,
    KpiName.ETA_ERROR_H: IndicatorName.ETA_ERROR_H,
    KpiName.ETA_ABS_ERROR_H: IndicatorName.ETA_ABS_ERROR_H,
    KpiName.ETA_ERROR_24H_H: IndicatorName.ETA_ERROR_24H_H,
    KpiName.ETA_ABS_ERROR_24H_H: IndicatorName.ETA_ABS_ERROR_24H_H,
    KpiName.ETA_ERROR_72H_H: IndicatorName.ETA_ERROR_72H_H,
    KpiName.ETA_ABS_ERROR_72H_H: IndicatorName.ETA_ABS_ERROR_72H_H,
}
"""The KPI each §4 aggregate is made of, by KPI name."""

ETA_ON_TIME_H: Final = 1.0
"""The largest absolute ETA error (hours) of a call counted in ``eta_within_1h_pct``."""

_SHARES: Final[Mapping[str, tuple[IndicatorName, float]]] = {
    KpiName.ETA_ABS_ERROR_H: (IndicatorName.ETA_WITHIN_1H_PCT, ETA_ON_TIME_H),
}
"""Rates of the values at most a bound: (indicator, bound) by KPI name."""

_SUMS: Final = frozenset({IndicatorName.THROUGHPUT_TEU, IndicatorName.THROUGHPUT_T})
_RATES: Final = frozenset(
    {IndicatorName.PHYSICAL_INSPECTION_RATE_PCT, IndicatorName.ETA_WITHIN_1H_PCT}
)

CALL_SIZE_BANDS: Final[tuple[tuple[float, str], ...]] = (
    (250, "<=250"),
    (500, "251-500"),
    (1_000, "501-1000"),
    (1_500, "1001-1500"),
    (2_000, "1501-2000"),
    (2_500, "2001-2500"),
    (3_000, "2501-3000"),
    (4_000, "3001-4000"),
    (6_000, "4001-6000"),
    (math.inf, ">6000"),
)
"""SPEC §4's call-size bands: (largest call size in the band, label), in order."""


def call_size_band(moves: float) -> int:
    """The index in :data:`CALL_SIZE_BANDS` of a call of ``moves`` moves (0: ≤250, 9: >6,000)."""
    return next(i for i, (upper, _) in enumerate(CALL_SIZE_BANDS) if moves <= upper)


@dataclass(frozen=True, slots=True)
class Stats:
    """Count, mean, median and p90 of some values (median and p90: ``percentile_cont``)."""

    count: int
    mean: float
    median: float
    p90: float


def describe(values: Iterable[float]) -> Stats:
    """:class:`Stats` of ``values`` (at least one); the sum is ``math.fsum``'s, so the result
    does not depend on the order of the values.

    Raises:
        ValueError: no values.
    """
    ordered = sorted(values)
    if not ordered:
        raise ValueError("no values to describe")
    return Stats(
        count=len(ordered),
        mean=math.fsum(ordered) / len(ordered),
        median=percentile_cont(ordered, 0.5),
        p90=percentile_cont(ordered, 0.9),
    )


def aggregatable(value: KpiValue) -> bool:
    """SPEC §2: the value enters aggregates (it has a value and an anchor, and no flag)."""
    return value.value is not None and value.anchor_time is not None and value.flag is None


def kpi_aggregates(kpis: Iterable[KpiValue], network: Network, period: Period) -> list[Indicator]:
    """The §2 aggregates of every port, country, mechanism and the region, per period.

    A value counts at its port and at every entity of :meth:`Network.of_port` (none for a port
    not in the hub); an entity has an indicator in a period only when a value of it falls
    there. Unsorted.
    """
    groups: dict[tuple[Level, str, datetime, IndicatorName], list[float]] = {}
    for kpi in kpis:
        name = AGGREGATED_KPIS.get(kpi.kpi)
        share = _SHARES.get(kpi.kpi)
        if (name is None and share is None) or not aggregatable(kpi):
            continue
        assert kpi.value is not None and kpi.anchor_time is not None  # aggregatable
        start = period_start(kpi.anchor_time, period)
        made: list[tuple[IndicatorName, float]] = []
        if name is not None:
            made.append((name, kpi.value * 100.0 if name in _RATES else kpi.value))
        if share is not None:
            made.append((share[0], 100.0 if kpi.value <= share[1] else 0.0))
        for level, entity in network.of_port(kpi.port):
            for indicator, value in made:
                groups.setdefault((level, entity, start, indicator), []).append(value)
    rows = []
    for (level, entity, start, name), values in groups.items():
        unit = INDICATOR_UNITS[name].value
        if name in _SUMS or name in _RATES:
            total = math.fsum(values)
            rows.append(
                Indicator(
                    level=level,
                    entity=entity,
                    period=period,
                    period_start=start,
                    indicator=name.value,
                    unit=unit,
                    count=len(values),
                    value=total if name in _SUMS else total / len(values),
                )
            )
            continue
        stats = describe(values)
        rows.append(
            Indicator(
                level=level,
                entity=entity,
                period=period,
                period_start=start,
                indicator=name.value,
                unit=unit,
                count=stats.count,
                value=stats.mean,
                median=stats.median,
                p90=stats.p90,
            )
        )
    return rows


@dataclass(frozen=True, slots=True)
class CallHours:
    """A departed call's port hours with its call size (the same ``port_call`` entity)."""

    port: str
    call: str
    """The port call's ``entity_id``, ``"{port}/{port_call_id}"``."""
    anchor_time: datetime
    """The port hours' anchor (T_dep): what places the call in a period."""
    port_hours: float
    moves: float


def call_hours(kpis: Iterable[KpiValue]) -> list[CallHours]:
    """Every call with both an aggregatable ``port_hours_h`` and a ``call_size_moves`` value,
    paired by ``entity_id``, sorted by entity.

    Raises:
        ValueError: a call has two values of the same KPI (the input is not one value per
            entity and KPI, as ``all_kpis`` gives it).
    """
    hours: dict[str, KpiValue] = {}
    sizes: dict[str, float] = {}
    for kpi in kpis:
        if kpi.kpi == KpiName.PORT_HOURS_H and aggregatable(kpi):
            if kpi.entity_id in hours:
                raise ValueError(f"two port_hours_h values for the call {kpi.entity_id}")
            hours[kpi.entity_id] = kpi
        elif kpi.kpi == KpiName.CALL_SIZE_MOVES and aggregatable(kpi):
            assert kpi.value is not None  # aggregatable
            if kpi.entity_id in sizes:
                raise ValueError(f"two call_size_moves values for the call {kpi.entity_id}")
            sizes[kpi.entity_id] = kpi.value
    calls = []
    for call in sorted(hours.keys() & sizes.keys()):
        value = hours[call]
        assert value.value is not None and value.anchor_time is not None  # aggregatable
        calls.append(CallHours(value.port, call, value.anchor_time, value.value, sizes[call]))
    return calls


def call_size_adjusted_port_hours(
    kpis: Iterable[KpiValue], network: Network, period: Period
) -> list[Indicator]:
    """``call_size_adjusted_port_hours_h`` of every entity with departed calls, per period.

    For each call c of the entity in the period (by its port hours' anchor), in band b(c):
    d(c) = port hours of c - mean port hours of all hub ports' calls in b(c) in the period. The
    value is the mean of d over the entity's calls — the same as SPEC's Σ_b n_b (entity mean_b -
    network mean_b) ÷ Σ_b n_b — median and p90 are those of d, ``count`` is the entity's calls,
    and ``detail`` lists per band the entity's calls and mean and the network's. Negative:
    faster than the network for calls of the same size. The region's value is 0 by
    construction (up to rounding). Only the calls that have both KPIs count, in the entity and
    in the network alike. Unsorted.
    """
    by_period: dict[datetime, list[CallHours]] = {}
    for call in call_hours(kpis):
        if call.port in network.ports:
            by_period.setdefault(period_start(call.anchor_time, period), []).append(call)
    rows = []
    for start, calls in by_period.items():
        network_hours: dict[int, list[float]] = {}
        for call in calls:
            network_hours.setdefault(call_size_band(call.moves), []).append(call.port_hours)
        network_mean = {band: math.fsum(h) / len(h) for band, h in network_hours.items()}
        entities: dict[tuple[Level, str], list[CallHours]] = {}
        for call in calls:
            for ref in network.of_port(call.port):
                entities.setdefault(ref, []).append(call)
        for (level, entity), members in entities.items():
            bands: dict[int, list[float]] = {}
            for call in members:
                bands.setdefault(call_size_band(call.moves), []).append(call.port_hours)
            deviations = [
                call.port_hours - network_mean[call_size_band(call.moves)] for call in members
            ]
            stats = describe(deviations)
            detail = [
                {
                    "band": CALL_SIZE_BANDS[band][1],
                    "calls": len(hours),
                    "mean_h": math.fsum(hours) / len(hours),
                    "network_calls": len(network_hours[band]),
                    "network_mean_h": network_mean[band],
                }
                for band, hours in sorted(bands.items())
            ]
            name = IndicatorName.CALL_SIZE_ADJUSTED_PORT_HOURS_H
            rows.append(
                Indicator(
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
                    detail=detail_json({"bands": detail}),
                )
            )
    return rows
