"""The windows a worker keeps in memory (``hub.domain.kpis.window_state``), in the store.

:func:`window_members` reads the members of the windows a worker takes into memory, from
``entity_kpis``; :func:`write_windows` writes the windows that changed to ``kpi_windows``. Each
is one statement per call, whatever the number of windows: no ``percentile_cont`` over stored
rows, the aggregates come computed.

Reading members costs a heap fetch per member (394 windows, 33,705 members out of 400k rows:
230 ms on the 2-core machine); it is paid when a window is first touched after a start or a
rebalance, not per event.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import timedelta

import asyncpg

from hub.domain.kpis.model import WindowAggregate
from hub.domain.kpis.window_state import WindowKey, WindowMember

__all__ = ["window_members", "write_windows"]

# The aggregated values (a value, no flag) anchored in each window [start, end). LATERAL with
# OFFSET 0 (which keeps the planner from flattening it into a join), so that each window is an
# index range scan of entity_kpis (port, kpi, anchor_time): as a join on the range, PostgreSQL
# hash-joined a scan of the whole table (400k rows: 660 ms for 394 windows).
_MEMBERS = """
SELECT w.i, k.entity_kind, k.entity_id, k.value, k.unit
FROM unnest($1::bpchar[], $2::text[], $3::timestamptz[], $4::timestamptz[])
     WITH ORDINALITY AS w (port, kpi, window_start, window_end, i)
CROSS JOIN LATERAL (
    SELECT entity_kind, entity_id, value, unit FROM entity_kpis
    WHERE port = w.port AND kpi = w.kpi
      AND anchor_time >= w.window_start AND anchor_time < w.window_end
      AND value IS NOT NULL AND flag IS NULL
    OFFSET 0
) AS k
"""
_LENGTH = {"hour": timedelta(hours=1), "day": timedelta(days=1)}


async def window_members(
    connection: asyncpg.Connection | asyncpg.Pool, windows: Collection[WindowKey]
) -> dict[WindowKey, list[WindowMember]]:
    """The members of each of ``windows`` in ``entity_kpis``: every value anchored in it that
    is not open and not flagged. Every window is in the result, an empty one with ``[]``."""
    keys = list(dict.fromkeys(windows))
    members: dict[WindowKey, list[WindowMember]] = {key: [] for key in keys}
    if not keys:
        return members
    rows = await connection.fetch(
        _MEMBERS,
        [key.port for key in keys],
        [key.kpi for key in keys],
        [key.window_start for key in keys],
        [key.window_start + _LENGTH[key.granularity] for key in keys],
    )
    for row in rows:
        members[keys[row["i"] - 1]].append(
            WindowMember(row["entity_kind"], row["entity_id"], row["value"], row["unit"])
        )
    return members


_UPSERT = """
INSERT INTO kpi_windows
    (port, granularity, window_start, kpi, unit, count, total, mean, median, p90)
SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::text[], $5::text[],
                     $6::bigint[], $7::float8[], $8::float8[], $9::float8[], $10::float8[])
ON CONFLICT (port, granularity, window_start, kpi) DO UPDATE SET
    unit = EXCLUDED.unit, count = EXCLUDED.count, total = EXCLUDED.total,
    mean = EXCLUDED.mean, median = EXCLUDED.median, p90 = EXCLUDED.p90, computed_at = now()
"""

_DELETE = """
DELETE FROM kpi_windows w
USING unnest($1::bpchar[], $2::text[], $3::timestamptz[], $4::text[])
      AS e (port, granularity, window_start, kpi)
WHERE w.port = e.port AND w.granularity = e.granularity
  AND w.window_start = e.window_start AND w.kpi = e.kpi
"""


async def write_windows(
    connection: asyncpg.Connection,
    written: Sequence[WindowAggregate],
    emptied: Collection[WindowKey],
) -> None:
    """Upsert the ``written`` windows and delete the ``emptied`` ones, one statement each
    (inside the caller's transaction, when it has one).

    Rows are written in key order, so that two writers whose windows overlap (there should be
    none: a port has one owner) never wait on each other in a cycle.
    """
    if written:
        rows = sorted(written, key=lambda w: (w.port, w.granularity, w.window_start, w.kpi))
        await connection.execute(
            _UPSERT,
            [w.port for w in rows],
            [w.granularity for w in rows],
            [w.window_start for w in rows],
            [w.kpi for w in rows],
            [w.unit for w in rows],
            [w.count for w in rows],
            [w.total for w in rows],
            [w.mean for w in rows],
            [w.median for w in rows],
            [w.p90 for w in rows],
        )
    if emptied:
        keys = sorted(set(emptied))
        await connection.execute(
            _DELETE,
            [key.port for key in keys],
            [key.granularity for key in keys],
            [key.window_start for key in keys],
            [key.kpi for key in keys],
        )
