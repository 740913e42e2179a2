"""Queries of the events taken in: ``ingested_events`` with their entity keys and origins, and
the counters of what each port published (``port_event_counts``) and of what was refused
(``rejected_event_counts``)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import asyncpg


@dataclass(frozen=True, slots=True)
class IngestedEvent:
    event_id: UUID
    domain: str
    event_type: str
    port: str
    occurred_at: datetime
    payload: str = "null"
    """The validated event as JSON (its model's JSON), what the KPI stage recomputes from."""
    entity_keys: tuple[str, ...] = ()
    """``<kind>:<port>/<id>`` of every entity the event concerns."""
    origin: str | None = None
    """Where the record was first published (``topic/partition/offset``); a record read again
    has the same origin. None: unknown, every duplicate counts as a publication."""


# De-duplication and counting in one statement: only rows really inserted (new event_ids) reach
# `events`. The rest of the batch are duplicates; each is either a publication again (another
# origin: counted in `duplicates`) or the hub reading a record again (the same origin as before:
# counted in `redeliveries`), so events + duplicates is what publishers sent that was accepted.
# The first origin is the stored event's; later ones are kept in duplicate_origins. Events
# stored by this statement are not visible to its other parts, so a duplicate of an event first
# seen in the same batch is matched against the batch's own first row.
_RECORD_EVENTS = """
WITH batch AS (
    SELECT * FROM unnest(
        $1::uuid[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::text[], $7::jsonb[],
        $8::text[]
    ) WITH ORDINALITY AS b (event_id, domain, event_type, port, occurred_at, payload, entity_keys,
                            origin, position)
), firsts AS (
    SELECT DISTINCT ON (event_id) * FROM batch ORDER BY event_id, position
), new_events AS (
    INSERT INTO ingested_events (event_id, domain, event_type, port, occurred_at, payload, origin)
    SELECT event_id, domain, event_type, port, occurred_at, payload, origin FROM firsts
    ON CONFLICT (event_id) DO NOTHING
    RETURNING event_id, port, domain, occurred_at, origin
), keys AS (
    INSERT INTO event_entity_keys (key, event_id)
    SELECT DISTINCT key, event_id FROM batch, jsonb_array_elements_text(entity_keys) AS key
    ON CONFLICT DO NOTHING
), duplicates AS (
    -- Every row of the batch but the one that stored its event, with the event's first origin.
    SELECT b.event_id, b.port, b.domain, b.origin,
           coalesce(n.origin, e.origin) AS first_origin, b.position
    FROM batch b
    LEFT JOIN new_events n ON n.event_id = b.event_id
    LEFT JOIN ingested_events e ON e.event_id = b.event_id
    WHERE n.event_id IS NULL
       OR b.position <> (SELECT f.position FROM firsts f WHERE f.event_id = b.event_id)
), republished AS (
    INSERT INTO duplicate_origins (event_id, origin)
    SELECT DISTINCT event_id, origin FROM duplicates
    WHERE origin IS NOT NULL AND origin IS DISTINCT FROM first_origin
    ON CONFLICT DO NOTHING
    RETURNING event_id, origin
), counted_duplicates AS (
    SELECT d.port, d.domain,
           count(*) FILTER (WHERE d.origin IS NULL OR r.event_id IS NOT NULL) AS duplicates,
           count(*) FILTER (WHERE d.origin IS NOT NULL AND r.event_id IS NULL) AS redeliveries
    FROM duplicates d
    LEFT JOIN republished r ON r.event_id = d.event_id AND r.origin = d.origin
    GROUP BY d.port, d.domain
), inserted AS (
    SELECT port, domain, count(*) AS events, max(occurred_at) AS last_event_at
    FROM new_events GROUP BY port, domain
), counted AS (
    INSERT INTO port_event_counts AS counts
        (port, domain, events, duplicates, redeliveries, last_event_at)
    SELECT port, domain, coalesce(i.events, 0), coalesce(c.duplicates, 0),
           coalesce(c.redeliveries, 0), i.last_event_at
    FROM inserted i FULL JOIN counted_duplicates c USING (port, domain)
    ON CONFLICT (port, domain) DO UPDATE
    SET events = counts.events + excluded.events,
        duplicates = counts.duplicates + excluded.duplicates,
        redeliveries = counts.redeliveries + excluded.redeliveries,
        last_event_at = greatest(counts.last_event_at, excluded.last_event_at)
)
SELECT event_id FROM new_events
"""


async def record_events(
    connection: asyncpg.Connection | asyncpg.Pool, events: Sequence[IngestedEvent]
) -> set[UUID]:
    """Record accepted events idempotently (re-delivered event_ids change nothing).

    Returns the ids of the events recorded now (not seen before).
    """
    if not events:
        return set()
    rows = await connection.fetch(
        _RECORD_EVENTS,
        [event.event_id for event in events],
        [event.domain for event in events],
        [event.event_type for event in events],
        [event.port for event in events],
        [event.occurred_at for event in events],
        [event.payload for event in events],
        [json.dumps(event.entity_keys) for event in events],
        [event.origin for event in events],
    )
    return {row["event_id"] for row in rows}


async def record_rejections(
    connection: asyncpg.Connection | asyncpg.Pool, counts: dict[tuple[str, str], int]
) -> None:
    """Add ``counts`` ((domain, reason) → events) to the rejection counters."""
    if not counts:
        return
    await connection.executemany(
        """
        INSERT INTO rejected_event_counts AS counts (domain, reason, events)
        VALUES ($1, $2, $3)
        ON CONFLICT (domain, reason) DO UPDATE
        SET events = counts.events + excluded.events, last_at = now()
        """,
        [(domain, reason, events) for (domain, reason), events in counts.items()],
    )


async def vessel_events_ingested_after(
    connection: asyncpg.Connection | asyncpg.Pool, after: datetime, limit: int
) -> list[asyncpg.Record]:
    """``payload`` and ``ingested_at`` of at most ``limit`` vessel events taken in after
    ``after``, oldest first: how the AIS bridge learns the calls the ports announced."""
    rows: list[asyncpg.Record] = await connection.fetch(
        """
        SELECT payload, ingested_at FROM ingested_events
        WHERE domain = 'vessel' AND ingested_at > $1
        ORDER BY ingested_at LIMIT $2
        """,
        after,
        limit,
    )
    return rows
