"""Window aggregates of entity KPI values: per port, UTC hour or day of the anchor, and KPI.

SPEC §2: "KPIs (per entity, then windows per port by event time)"; "Aggregates publish count,
mean, median and p90"; flagged values ("exclude it from aggregates") and open ones ("reported as
open …, not averaged in") stay out.

The streaming stage computes the same windows in PostgreSQL (``hub/db/kpi_store.py``) with
``count``, ``sum``, ``avg`` and ``percentile_cont(0.5 | 0.9) WITHIN GROUP (ORDER BY value)``;
this module is that definition in Python and must stay equal to it: a window exists only when
it has at least one aggregated value, and :func:`percentile_cont` is PostgreSQL's.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from streams.kpis.model import Granularity, KpiValue, WindowAggregate

__all__ = ["percentile_cont", "window_aggregates", "window_start"]


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
