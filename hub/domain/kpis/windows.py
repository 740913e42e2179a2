"""Window aggregates of entity KPI values: per port, UTC hour or day of the anchor, and KPI.

SPEC §2: "KPIs (per entity, then windows per port by event time)"; "Aggregates publish count,
mean, median and p90"; flagged values ("exclude it from aggregates") and open ones ("reported as
open …, not averaged in") stay out.

This is the definition: the streaming stage keeps the same windows in memory from the values
that change (:mod:`hub.domain.kpis.window_state`, property-tested equal to it). A window exists
only when it has at least one aggregated value; its total is the correctly rounded sum
(``math.fsum``), and :func:`percentile_cont` is PostgreSQL's, so that SQL over the stored entity
values gives the same medians and p90s.

Berth occupancy is the one window KPI that is not an aggregate of entity values: SPEC §2 "Σ hours
berths were occupied ÷ (number of berths * hours in window) * 100; berths per port configurable".
:func:`berth_occupancy` derives it from the ``berth_hours_h`` window and the port's berth count
when it is read, so that a changed berth count applies to every window at once.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Final

from hub.domain.kpis.model import UNITS, Granularity, KpiName, KpiValue, WindowAggregate

__all__ = ["HOURS_IN", "berth_occupancy", "percentile_cont", "window_aggregates", "window_start"]

HOURS_IN: Final[Mapping[str, int]] = {"hour": 1, "day": 24}
"""Hours in a window of each granularity (UTC has no daylight saving)."""


def percentile_cont(ordered: Sequence[float], fraction: float) -> float:
    """PostgreSQL's ``percentile_cont(fraction) WITHIN GROUP (ORDER BY value)``.

    With n values sorted ascending and position = fraction * (n - 1): the value at
    ``floor(position)`` plus (position - floor) * (next value - that value); exactly the value
    when the position is whole. Values 1..10: median 5.5, p90 9.1.

    Args:
        ordered: the values, sorted ascending, at least one.
        fraction: between 0 and 1.

    Raises:
        ValueError: no values, or ``fraction`` outside [0, 1].
    """
    if not ordered:
        raise ValueError("percentile of no values")
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"percentile fraction {fraction} is not between 0 and 1")
    position = fraction * (len(ordered) - 1)
    first, second = math.floor(position), math.ceil(position)
    low = ordered[first]
    if first == second:
        return low
    # The same operations, in the same order, as PostgreSQL's float8 lerp.
    return low + (ordered[second] - low) * (position - first)


def window_start(anchor: datetime, granularity: Granularity) -> datetime:
    """The UTC start of the hour or day ``anchor`` falls in (``date_trunc`` in UTC)."""
    utc = anchor.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return utc.replace(hour=0) if granularity == "day" else utc


def window_aggregates(
    values: Iterable[KpiValue], granularity: Granularity
) -> list[WindowAggregate]:
    """The windows of ``values``, sorted by (port, window_start, kpi).

    Grouped by (port, window of ``anchor_time``, kpi); values without an anchor, without a
    value or with a flag are left out, and a window with nothing left does not exist. Open
    values are not attributed to windows (they have no anchor), so ``open_count`` is 0.
    """
    groups: dict[tuple[str, datetime, str], list[KpiValue]] = {}
    for value in values:
        if value.anchor_time is None or value.value is None or value.flag is not None:
            continue
        key = (value.port, window_start(value.anchor_time, granularity), value.kpi)
        groups.setdefault(key, []).append(value)
    windows = []
    for (port, start, kpi), members in sorted(groups.items(), key=lambda item: item[0]):
        ordered = sorted(v.value for v in members if v.value is not None)
        total = math.fsum(ordered)
        windows.append(
            WindowAggregate(
                port=port,
                granularity=granularity,
                window_start=start,
                kpi=kpi,
                unit=max(v.unit for v in members),  # one unit per KPI; max() as the SQL does
                count=len(ordered),
                total=total,
                mean=total / len(ordered),
                median=percentile_cont(ordered, 0.5),
                p90=percentile_cont(ordered, 0.9),
            )
        )
    return windows


def berth_occupancy(
    windows: Iterable[WindowAggregate], berths: Mapping[str, int | None]
) -> list[WindowAggregate]:
    """The ``berth_occupancy_pct`` window of every ``berth_hours_h`` window in ``windows``.

    Occupancy = the window's total berth hours ÷ (the port's berths * hours in the window) *
    100 (SPEC §2). ``count`` is the berth-hours window's (call-hours that had a vessel at a
    berth); ``total``, ``mean``, ``median`` and ``p90`` are all the occupancy. A port without a
    berth count in ``berths`` has no occupancy. The value is not capped: above 100 means more
    vessels were at a berth than the port has berths, i.e. the configured count is too low.
    """
    occupancy = []
    for window in windows:
        port_berths = berths.get(window.port)
        if window.kpi != KpiName.BERTH_HOURS_H or not port_berths:
            continue
        percent = window.total / (port_berths * HOURS_IN[window.granularity]) * 100.0
        occupancy.append(
            WindowAggregate(
                port=window.port,
                granularity=window.granularity,
                window_start=window.window_start,
                kpi=KpiName.BERTH_OCCUPANCY_PCT.value,
                unit=UNITS[KpiName.BERTH_OCCUPANCY_PCT].value,
                count=window.count,
                total=percent,
                mean=percent,
                median=percent,
                p90=percent,
            )
        )
    return occupancy
