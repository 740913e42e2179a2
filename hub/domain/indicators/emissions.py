"""Emissions at anchorage and at berth per port, country, mechanism and region, per period.

The per-call values are the KPIs of :mod:`hub.domain.kpis.emissions` (the IMO Fourth GHG Study
2020's activity-based method: auxiliary engine and boiler power by size bin, times the hours at
anchorage and at berth, times the specific fuel consumption and the emission factors). Here they
are added up:

- ``co2_anchorage_t``, ``co2_berth_t``, ``co2_t``, ``co2_avoidable_t``, ``sox_t``: ``value`` is
  the **total** over the calls of the entity whose value falls in the period (by its anchor, the
  call's departure from its last berth), ``median`` and ``p90`` are per call
  (``percentile_cont``), ``count`` the calls. Unlike the other §2 aggregates the headline is a
  sum, like throughput: emissions add up, and the Network follows the total;
- ``co2_avoidable_pct`` = Σ ``co2_avoidable_t`` ÷ Σ ``co2_t`` * 100 over the calls that have
  both values: the share of the port-stay CO2 that waiting at anchorage beyond the allowance
  caused; ``count`` the calls; None (with a reason) when their CO2 is 0.

Every row's ``detail`` says how many of those calls had no declared ``teu_capacity`` (their
size bin estimated from the length or assumed: ``calls_size_assumed``), from the calls'
``co2_size_assumed_flag``. As for the other aggregates, a country, mechanism or the region adds
up all its ports' calls; values open or flagged (``NEGATIVE_INTERVAL``) count nowhere.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Final

from hub.domain.indicators.aggregates import aggregatable
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

__all__ = ["EMISSION_TOTALS", "emission_indicators"]

EMISSION_TOTALS: Final[Mapping[str, IndicatorName]] = {
    KpiName.CO2_ANCHORAGE_T: IndicatorName.CO2_ANCHORAGE_T,
    KpiName.CO2_BERTH_T: IndicatorName.CO2_BERTH_T,
    KpiName.CO2_T: IndicatorName.CO2_T,
    KpiName.CO2_AVOIDABLE_T: IndicatorName.CO2_AVOIDABLE_T,
    KpiName.SOX_T: IndicatorName.SOX_T,
}
"""The per-call KPI each total is made of, by KPI name."""

_Key = tuple[Level, str, datetime, IndicatorName]


def emission_indicators(
    kpis: Iterable[KpiValue], network: Network, period: Period
) -> list[Indicator]:
    """The emission totals and ``co2_avoidable_pct`` of every entity with calls in a period
    (see the module docstring). Unsorted."""
    calls: dict[_Key, dict[str, float]] = {}
    assumed: set[str] = set()
    for kpi in kpis:
        if kpi.kpi == KpiName.CO2_SIZE_ASSUMED_FLAG:
            if aggregatable(kpi) and kpi.value:
                assumed.add(kpi.entity_id)
            continue
        name = EMISSION_TOTALS.get(kpi.kpi)
        if name is None or not aggregatable(kpi):
            continue
        assert kpi.value is not None and kpi.anchor_time is not None  # aggregatable
        start = period_start(kpi.anchor_time, period)
        for level, entity in network.of_port(kpi.port):
            group = calls.setdefault((level, entity, start, name), {})
            if kpi.entity_id in group:
                raise ValueError(f"two {kpi.kpi} values for the call {kpi.entity_id}")
            group[kpi.entity_id] = kpi.value
    rows = [_total(key, values, assumed, period) for key, values in calls.items()]
    for (level, entity, start, name), co2 in calls.items():
        if name is IndicatorName.CO2_T:
            avoidable = calls.get((level, entity, start, IndicatorName.CO2_AVOIDABLE_T), {})
            if share := _avoidable_share(level, entity, start, co2, avoidable, assumed, period):
                rows.append(share)
    return rows


def _total(key: _Key, values: dict[str, float], assumed: set[str], period: Period) -> Indicator:
    level, entity, start, name = key
    ordered = sorted(values.values())
    return Indicator(
        level=level,
        entity=entity,
        period=period,
        period_start=start,
        indicator=name.value,
        unit=INDICATOR_UNITS[name].value,
        count=len(ordered),
        value=math.fsum(ordered),
        median=percentile_cont(ordered, 0.5),
        p90=percentile_cont(ordered, 0.9),
        detail=detail_json({"calls_size_assumed": len(values.keys() & assumed)}),
    )


def _avoidable_share(
    level: Level,
    entity: str,
    start: datetime,
    co2: dict[str, float],
    avoidable: dict[str, float],
    assumed: set[str],
    period: Period,
) -> Indicator | None:
    both = co2.keys() & avoidable.keys()
    if not both:
        return None
    total = math.fsum(co2[call] for call in both)
    avoided = math.fsum(avoidable[call] for call in both)
    detail: dict[str, object] = {
        "calls_size_assumed": len(both & assumed),
        "co2_t": total,
        "co2_avoidable_t": avoided,
    }
    if total <= 0:
        detail["reason"] = "no CO2 at anchorage or berth in the period's calls"
    name = IndicatorName.CO2_AVOIDABLE_PCT
    return Indicator(
        level=level,
        entity=entity,
        period=period,
        period_start=start,
        indicator=name.value,
        unit=INDICATOR_UNITS[name].value,
        count=len(both),
        value=avoided / total * 100.0 if total > 0 else None,
        detail=detail_json(detail),
    )
