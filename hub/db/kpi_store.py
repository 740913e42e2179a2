"""Queries of the KPI stage: events by entity, entity KPIs, and per-port windows.

Windows are aggregated by PostgreSQL itself (``percentile_cont``), from the entity KPIs of the
windows a batch touched; ``hub.domain.kpis.windows`` is the same definition in Python, and the tests
hold the two equal.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import asyncpg

from hub.db.event_keys import KEY_COLUMNS, hits, keys_of_row, wanted
from hub.domain.keys import DEPENDENTS_PREFIX, KeyKind
from hub.domain.kpis.model import KpiValue, WindowAggregate

GRANULARITIES = ("hour", "day")


@dataclass(frozen=True, slots=True)
class EntityGroup:
    """A set of entity KPI rows replaced together: one entity, or all visits of a container."""

    kind: str
    group_id: str


async def events_of(
    connection: asyncpg.Connection | asyncpg.Pool, keys: Collection[str]
) -> list[tuple[str, str]]:
    """(domain, payload JSON) of every stored event concerning any of ``keys``."""
    lookup = wanted(keys)
    if not lookup:
        return []
    rows = await connection.fetch(
        f"""
        WITH {hits(lookup)}, events AS (SELECT DISTINCT event_id, occurred_at FROM hits)
        SELECT e.domain, e.payload FROM events
        JOIN ingested_events e USING (event_id, occurred_at)
        WHERE e.payload IS NOT NULL
        """,
        *lookup.arguments,
    )
    return [(row["domain"], row["payload"]) for row in rows]


async def keys_referring_to(
    connection: asyncpg.Connection | asyncpg.Pool, references: Collection[str], kind: KeyKind
) -> set[str]:
    """Entity keys of ``kind`` on events that carry any of the ``references`` keys."""
    lookup = wanted(references)
    if not lookup:
        return set()
    rows = await connection.fetch(
        f"""
        WITH {hits(lookup)}, events AS (SELECT DISTINCT event_id, occurred_at FROM hits)
        SELECT e.event_id, e.port, {", ".join(f"e.{column}" for column in KEY_COLUMNS)},
               (SELECT array_agg(o.key) FROM event_other_keys o
                WHERE o.event_id = e.event_id AND o.occurred_at = e.occurred_at) AS others
        FROM events JOIN ingested_events e USING (event_id, occurred_at)
        """,
        *lookup.arguments,
    )
    found: set[str] = set()
    for row in rows:
        columns = [row[column] for column in KEY_COLUMNS]
        found.update(keys_of_row(row["event_id"], row["port"], columns))
        found.update(row["others"] or ())
    return {key for key in found if key.startswith(kind.prefix)}


@dataclass(frozen=True, slots=True)
class Replaced:
    touched: set[tuple[str, str, datetime]]
    """(port, kpi, anchor_time) of every row removed or written: the windows to recompute."""
    changed: list[KpiValue]
    """The values that are new or differ from the rows they replace: what to publish."""


async def replace_entity_kpis(
    connection: asyncpg.Connection,
    groups: Collection[EntityGroup],
    values: Sequence[tuple[KpiValue, str]],
) -> Replaced:
    """Replace the KPI rows of ``groups`` with ``values`` ((value, group_id) pairs; call inside
    a transaction)."""
    removed = await connection.fetch(
        """
        DELETE FROM entity_kpis k USING unnest($1::text[], $2::text[]) AS g (kind, group_id)
        WHERE k.entity_kind = g.kind AND k.group_id = g.group_id
        RETURNING k.entity_kind, k.entity_id, k.kpi, k.port, k.value, k.flag, k.anchor_time
        """,
        [group.kind for group in groups],
        [group.group_id for group in groups],
    )
    if values:
        await connection.execute(
            """
            INSERT INTO entity_kpis
                (entity_kind, entity_id, group_id, kpi, port, value, unit, anchor_time, flag)
            SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
                                 $6::float8[], $7::text[], $8::timestamptz[], $9::text[])
            """,
            [v.entity_kind for v, _ in values],
            [v.entity_id for v, _ in values],
            [group for _, group in values],
            [v.kpi for v, _ in values],
            [v.port for v, _ in values],
            [v.value for v, _ in values],
            [v.unit for v, _ in values],
            [v.anchor_time for v, _ in values],
            [v.flag for v, _ in values],
        )
    before = {
        (row["entity_kind"], row["entity_id"], row["kpi"]): (
            row["value"],
            row["flag"],
            row["anchor_time"],
        )
        for row in removed
    }
    changed = [
        value
        for value, _ in values
        if before.get((value.entity_kind, value.entity_id, value.kpi))
        != (value.value, value.flag, value.anchor_time)
    ]
    touched = {
        (row["port"], row["kpi"], row["anchor_time"])
        for row in removed
        if row["anchor_time"] is not None
    }
    touched |= {(v.port, v.kpi, v.anchor_time) for v, _ in values if v.anchor_time is not None}
    return Replaced(touched, changed)


# --- marks of what to recompute (kpi_dirty) ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class DirtyMark:
    key: str
    seq: int


# Marks of a call's or a container's dependent declarations (hub.domain.keys.KeyKind.DEPS_OF_…),
# told from the entity marks by their prefix.
_DEPENDENTS_LIKE = f"{DEPENDENTS_PREFIX}%"


async def mark_dirty(connection: asyncpg.Connection | asyncpg.Pool, keys: Collection[str]) -> None:
    """Mark ``keys`` for recomputation (a mark already there gets a new sequence number).

    Rows are taken in key order, as :func:`clear_marks` takes them, so that concurrent batches
    and flushers never wait on each other in a cycle.
    """
    if keys:
        await connection.execute(
            """
            INSERT INTO kpi_dirty (key)
            SELECT k FROM unnest($1::text[]) AS k ORDER BY k
            ON CONFLICT (key) DO UPDATE SET seq = nextval('kpi_dirty_seq')
            """,
            sorted(set(keys)),
        )


async def claim_marks(connection: asyncpg.Connection, limit: int) -> list[DirtyMark]:
    """Up to ``limit`` of the oldest entity marks that no other flusher holds, each now held by
    a session advisory lock of ``connection`` (release with :func:`release_claims`)."""
    rows = await connection.fetch(
        """
        SELECT key, seq FROM (
            SELECT key, seq FROM kpi_dirty WHERE key NOT LIKE $2
            ORDER BY seq LIMIT $1 * 3
        ) AS oldest
        WHERE pg_try_advisory_lock(hashtext(key))
        LIMIT $1
        """,
        limit,
        _DEPENDENTS_LIKE,
    )
    return [DirtyMark(row["key"], row["seq"]) for row in rows]


async def release_claims(connection: asyncpg.Connection) -> None:
    """Release every session advisory lock of ``connection``: the marks :func:`claim_marks`
    held, done with or not (a pooled connection must not keep them)."""
    await connection.execute("SELECT pg_advisory_unlock_all()")


async def dependency_marks(connection: asyncpg.Connection, limit: int) -> list[DirtyMark]:
    rows = await connection.fetch(
        "SELECT key, seq FROM kpi_dirty WHERE key LIKE $2 ORDER BY seq LIMIT $1",
        limit,
        _DEPENDENTS_LIKE,
    )
    return [DirtyMark(row["key"], row["seq"]) for row in rows]


async def clear_marks(connection: asyncpg.Connection, marks: Collection[DirtyMark]) -> None:
    """Remove the marks still as they were read (one marked again since stays)."""
    if marks:
        await connection.execute(
            """
            WITH seen AS (
                SELECT d.key FROM kpi_dirty d
                JOIN unnest($1::text[], $2::bigint[]) AS m (key, seq)
                  ON d.key = m.key AND d.seq = m.seq
                ORDER BY d.key FOR UPDATE OF d
            )
            DELETE FROM kpi_dirty d USING seen WHERE d.key = seen.key
            """,
            [mark.key for mark in marks],
            [mark.seq for mark in marks],
        )


async def event_ids_of(connection: asyncpg.Connection, keys: Collection[str]) -> set[UUID]:
    """The ids of the stored events concerning any of ``keys``."""
    lookup = wanted(keys)
    if not lookup:
        return set()
    rows = await connection.fetch(
        f"WITH {hits(lookup)} SELECT DISTINCT event_id FROM hits", *lookup.arguments
    )
    return {row["event_id"] for row in rows}


async def payloads_of(
    connection: asyncpg.Connection, event_ids: Collection[UUID]
) -> list[tuple[UUID, str, str]]:
    """(event_id, domain, payload JSON) of the stored events ``event_ids``."""
    if not event_ids:
        return []
    rows = await connection.fetch(
        """
        SELECT event_id, domain, payload::text AS payload FROM ingested_events
        WHERE event_id = ANY($1::uuid[]) AND payload IS NOT NULL
        """,
        list(event_ids),
    )
    return [(row["event_id"], row["domain"], row["payload"]) for row in rows]


_AFFECTED = """
    SELECT DISTINCT port, kpi, date_trunc($1, anchor AT TIME ZONE 'UTC') AS window_start
    FROM unnest($2::text[], $3::text[], $4::timestamptz[]) AS a (port, kpi, anchor)
"""

_DELETE_WINDOWS = f"""
WITH affected AS ({_AFFECTED})
DELETE FROM kpi_windows w USING affected a
WHERE w.granularity = $1 AND w.port = a.port AND w.kpi = a.kpi
  AND w.window_start = a.window_start AT TIME ZONE 'UTC'
"""

_INSERT_WINDOWS = f"""
WITH affected AS ({_AFFECTED})
INSERT INTO kpi_windows
    (port, granularity, window_start, kpi, unit, count, total, mean, median, p90)
SELECT k.port, $1, a.window_start AT TIME ZONE 'UTC', k.kpi, max(k.unit), count(*),
       sum(k.value), avg(k.value),
       percentile_cont(0.5) WITHIN GROUP (ORDER BY k.value),
       percentile_cont(0.9) WITHIN GROUP (ORDER BY k.value)
FROM affected a
JOIN entity_kpis k
  ON k.port = a.port AND k.kpi = a.kpi
 AND k.anchor_time >= a.window_start AT TIME ZONE 'UTC'
 AND k.anchor_time < (a.window_start + ('1 ' || $1)::interval) AT TIME ZONE 'UTC'
WHERE k.value IS NOT NULL AND k.flag IS NULL
GROUP BY k.port, a.window_start, k.kpi
RETURNING port, granularity, window_start, kpi, unit, count, total, mean, median, p90
"""


async def recompute_windows(
    connection: asyncpg.Connection, touched: Collection[tuple[str, str, datetime]]
) -> list[WindowAggregate]:
    """Recompute the hourly and daily windows containing ``touched`` (inside a transaction).

    Windows left without values are deleted. Returns the rows written.
    """
    if not touched:
        return []
    ports, kpis, anchors = zip(*touched, strict=True)
    written: list[WindowAggregate] = []
    for granularity in GRANULARITIES:
        # Delete then rebuild: a window left with no value disappears instead of going stale.
        arguments = (granularity, list(ports), list(kpis), list(anchors))
        await connection.execute(_DELETE_WINDOWS, *arguments)
        rows = await connection.fetch(_INSERT_WINDOWS, *arguments)
        written += [WindowAggregate(**{**row, "port": row["port"].strip()}) for row in rows]
    return written
