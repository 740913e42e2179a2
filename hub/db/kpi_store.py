"""Queries of the KPI stage: events by entity, and the entity KPI rows (the windows are in
:mod:`hub.db.kpi_windows`)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from uuid import UUID

import asyncpg

from hub.db.event_keys import KEY_COLUMNS, hits, keys_of_row, stored_rows, wanted
from hub.domain.keys import KeyKind
from hub.domain.kpis.model import KpiValue

_KEY_ROW = ", ".join(f"e.{column}" for column in ("event_id", "occurred_at", "port", *KEY_COLUMNS))


@dataclass(frozen=True, slots=True)
class EntityGroup:
    """A set of entity KPI rows replaced together: one entity, or all visits of a container."""

    kind: str
    group_id: str


async def events_of(
    connection: asyncpg.Connection | asyncpg.Pool,
    keys: Collection[str],
    leaving_out: Collection[UUID] = (),
) -> list[tuple[str, str]]:
    """(domain, payload JSON) of every stored event concerning any of ``keys``, but those
    ``leaving_out`` (events the caller holds already)."""
    lookup = wanted(keys)
    if not lookup:
        return []
    rows = await connection.fetch(
        f"""
        WITH {hits(lookup)}, events AS (
            SELECT DISTINCT event_id, occurred_at FROM hits
            WHERE NOT event_id = ANY($6::uuid[])
        )
        SELECT e.domain, e.payload FROM {stored_rows("events", "e.domain, e.payload")}
        WHERE e.payload IS NOT NULL
        """,
        *lookup.arguments,
        list(leaving_out),
    )
    return [(row["domain"], row["payload"]) for row in rows]


async def stored_group_kpis(
    connection: asyncpg.Connection | asyncpg.Pool, groups: Collection[EntityGroup]
) -> list[tuple[KpiValue, str]]:
    """The stored KPI rows of ``groups``, as (value, group_id) pairs."""
    if not groups:
        return []
    rows = await connection.fetch(
        """
        SELECT k.entity_kind, k.entity_id, k.port, k.kpi, k.value, k.unit, k.anchor_time,
               k.flag, k.group_id
        FROM entity_kpis k JOIN unnest($1::text[], $2::text[]) AS g (kind, group_id)
          ON k.entity_kind = g.kind AND k.group_id = g.group_id
        """,
        [group.kind for group in groups],
        [group.group_id for group in groups],
    )
    return [
        (
            KpiValue(
                row["entity_kind"],
                row["entity_id"],
                row["port"].strip(),
                row["kpi"],
                row["value"],
                row["unit"],
                row["anchor_time"],
                row["flag"],
            ),
            row["group_id"],
        )
        for row in rows
    ]


async def write_entity_kpis(
    connection: asyncpg.Connection,
    written: Sequence[tuple[KpiValue, str]],
    removed: Collection[tuple[str, str, str]],
) -> None:
    """Upsert ``written`` ((value, group_id) pairs) and delete the rows ``removed`` ((entity_kind,
    entity_id, kpi)); only what changed, so a call's unchanged values are not rewritten."""
    if removed:
        kinds, ids, kpis = zip(*sorted(removed), strict=True)
        await connection.execute(
            """
            DELETE FROM entity_kpis k USING unnest($1::text[], $2::text[], $3::text[])
                AS r (kind, id, kpi)
            WHERE k.entity_kind = r.kind AND k.entity_id = r.id AND k.kpi = r.kpi
            """,
            list(kinds),
            list(ids),
            list(kpis),
        )
    if written:
        ordered = sorted(
            written, key=lambda pair: (pair[0].entity_kind, pair[0].entity_id, pair[0].kpi)
        )
        await connection.execute(
            """
            INSERT INTO entity_kpis
                (entity_kind, entity_id, group_id, kpi, port, value, unit, anchor_time, flag)
            SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
                                 $6::float8[], $7::text[], $8::timestamptz[], $9::text[])
            ON CONFLICT (entity_kind, entity_id, kpi) DO UPDATE
            SET group_id = excluded.group_id, port = excluded.port, value = excluded.value,
                unit = excluded.unit, anchor_time = excluded.anchor_time, flag = excluded.flag,
                computed_at = now()
            """,
            [v.entity_kind for v, _ in ordered],
            [v.entity_id for v, _ in ordered],
            [group for _, group in ordered],
            [v.kpi for v, _ in ordered],
            [v.port for v, _ in ordered],
            [v.value for v, _ in ordered],
            [v.unit for v, _ in ordered],
            [v.anchor_time for v, _ in ordered],
            [v.flag for v, _ in ordered],
        )


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
        FROM {stored_rows("events", _KEY_ROW)}
        """,
        *lookup.arguments,
    )
    found: set[str] = set()
    for row in rows:
        columns = [row[column] for column in KEY_COLUMNS]
        found.update(keys_of_row(row["event_id"], row["port"], columns))
        found.update(row["others"] or ())
    return {key for key in found if key.startswith(kind.prefix)}


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
