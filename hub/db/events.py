"""Queries of the events taken in: ``ingested_events`` with their entity keys and origins, and
the counters of what each port published (``port_event_counts``) and of what was refused
(``rejected_event_counts``, and by publisher and day ``publisher_rejection_counts``).

``ingested_events`` is partitioned by month of ``occurred_at`` (UTC); :func:`record_events`
creates the months a batch needs, :func:`drop_expired_partitions` drops those past the
retention. Where each entity key is kept: :mod:`hub.db.event_keys`."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

import asyncpg

from hub.db.event_keys import columns_of
from schemas.rejections import printable


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


DEFAULT_DEDUP_WINDOW = timedelta(hours=168)
"""How far apart in event time two events of one id may be and still be one event: the late
grace's default (``HUB_LATE_GRACE_HOURS``), which refuses anything older before it is stored."""

# De-duplication and counting in one statement: only rows really inserted (new event_ids) reach
# `events`. The rest of the batch are duplicates; each is either a publication again (another
# origin: counted in `duplicates`) or the hub reading a record again (the same origin as before:
# counted in `redeliveries`), so events + duplicates is what publishers sent that was accepted.
# The first origin is the stored event's; later ones are kept in duplicate_origins. Events
# stored by this statement are not visible to its other parts, so a duplicate of an event first
# seen in the same batch is matched against the batch's own first row.
#
# An id is looked for among the events stored with an occurred_at within the window ($19) of
# the new one's; $17 and $18 bound the whole batch's window, so that PostgreSQL reads only the
# partitions of those months. The primary key (event_id, occurred_at) catches a concurrent
# insert of the same event. The keys no column takes are stored for the rows inserted only.
_RECORD_EVENTS = """
WITH batch AS (
    SELECT * FROM unnest(
        $1::uuid[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::text[],
        $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[],
        $14::bool[], $15::uuid[]
    ) WITH ORDINALITY AS b (event_id, domain, event_type, port, occurred_at, payload, origin,
                            port_call_id, container, truck_visit_id, declaration_id,
                            ref_call_id, certificate_id, own_move, retracted_move, position)
), firsts AS (
    SELECT DISTINCT ON (event_id) * FROM batch ORDER BY event_id, position
), stored AS (
    SELECT DISTINCT ON (e.event_id) e.event_id, e.origin
    FROM firsts f
    JOIN ingested_events e
      ON e.event_id = f.event_id
     AND e.occurred_at BETWEEN f.occurred_at - $19::interval AND f.occurred_at + $19::interval
    WHERE e.occurred_at BETWEEN $17::timestamptz AND $18::timestamptz
    ORDER BY e.event_id, e.ingested_at
), new_events AS (
    INSERT INTO ingested_events (
        event_id, occurred_at, retracted_move, own_move, port, domain, event_type,
        port_call_id, container, truck_visit_id, declaration_id, ref_call_id, certificate_id,
        origin, payload)
    SELECT event_id, occurred_at, retracted_move, own_move, port, domain, event_type,
           port_call_id, container, truck_visit_id, declaration_id, ref_call_id, certificate_id,
           origin, payload
    FROM firsts f WHERE NOT EXISTS (SELECT FROM stored s WHERE s.event_id = f.event_id)
    ON CONFLICT (event_id, occurred_at) DO NOTHING
    RETURNING event_id, occurred_at, port, domain, origin
), other_keys AS (
    INSERT INTO event_other_keys (key, event_id, occurred_at)
    SELECT DISTINCT k.key, n.event_id, n.occurred_at
    FROM unnest($16::bigint[], $20::text[]) AS k (position, key)
    JOIN firsts f USING (position)
    JOIN new_events n ON n.event_id = f.event_id
    ON CONFLICT DO NOTHING
), duplicates AS (
    -- Every row of the batch but the one that stored its event, with the event's first origin.
    SELECT b.event_id, b.port, b.domain, b.origin,
           coalesce(n.origin, s.origin) AS first_origin, b.position
    FROM batch b
    JOIN firsts f ON f.event_id = b.event_id
    LEFT JOIN new_events n ON n.event_id = b.event_id
    LEFT JOIN stored s ON s.event_id = b.event_id
    WHERE n.event_id IS NULL OR b.position <> f.position
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
    connection: asyncpg.Connection | asyncpg.Pool,
    events: Sequence[IngestedEvent],
    *,
    dedup_window: timedelta = DEFAULT_DEDUP_WINDOW,
) -> set[UUID]:
    """Record accepted events idempotently (re-delivered event_ids change nothing).

    An event is a duplicate if its id is stored with an event time within ``dedup_window`` of
    its own (pass the late grace, ``HUB_LATE_GRACE_HOURS``); the monthly partitions the batch
    needs are created first if missing. Returns the ids of the events recorded now (not seen
    before).
    """
    if not events:
        return set()
    await ensure_partitions(connection, [event.occurred_at for event in events])
    columns = [columns_of(e.event_id, e.port, e.entity_keys) for e in events]
    # The keys no column takes, by position (from 1) of their event in the batch.
    other_positions = [n for n, c in enumerate(columns, 1) for _ in c.others]
    other_keys = [key for c in columns for key in c.others]
    times = [event.occurred_at for event in events]
    rows = await connection.fetch(
        _RECORD_EVENTS,
        [event.event_id for event in events],
        [event.domain for event in events],
        [event.event_type for event in events],
        [event.port for event in events],
        times,
        [event.payload for event in events],
        [event.origin for event in events],
        [c.port_call_id for c in columns],
        [c.container for c in columns],
        [c.truck_visit_id for c in columns],
        [c.declaration_id for c in columns],
        [c.ref_call_id for c in columns],
        [c.certificate_id for c in columns],
        [c.own_move for c in columns],
        [c.retracted_move for c in columns],
        other_positions,
        min(times) - dedup_window,
        max(times) + dedup_window,
        dedup_window,
        other_keys,
    )
    return {row["event_id"] for row in rows}


async def ensure_partitions(
    connection: asyncpg.Connection | asyncpg.Pool, moments: Collection[datetime]
) -> int:
    """Create the monthly partitions of the event tables holding ``moments`` where missing
    (PostgreSQL function ``ensure_event_partitions``, migration 0016). Returns how many months
    it created."""
    months = sorted({_month(moment) for moment in moments})
    if not months:
        return 0
    created: int = await connection.fetchval(
        "SELECT ensure_event_partitions($1::timestamptz[])", months
    )
    return created


def _month(moment: datetime) -> datetime:
    """The first instant of the UTC month of ``moment``."""
    utc = moment.astimezone(UTC)
    return datetime(utc.year, utc.month, 1, tzinfo=UTC)


# Both counters in one statement (one round trip per batch): the totals by domain and reason,
# and the same refusals by publisher and UTC day (migration 0021). Rows come sorted, so that two
# processes counting at once take the row locks in the same order.
_RECORD_REJECTIONS = """
WITH batch AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[])
        AS b (domain, reason, publisher, events)
), totals AS (
    INSERT INTO rejected_event_counts AS counts (domain, reason, events)
    SELECT domain, reason, sum(events) FROM batch GROUP BY domain, reason ORDER BY domain, reason
    ON CONFLICT (domain, reason) DO UPDATE
    SET events = counts.events + excluded.events, last_at = now()
)
INSERT INTO publisher_rejection_counts AS counts (publisher, day, domain, reason, events)
SELECT publisher, (now() AT TIME ZONE 'UTC')::date, domain, reason, events FROM batch
ORDER BY publisher, domain, reason
ON CONFLICT (publisher, day, domain, reason) DO UPDATE
SET events = counts.events + excluded.events, last_at = now()
"""


async def record_rejections(
    connection: asyncpg.Connection | asyncpg.Pool, counts: Mapping[tuple[str, str, str], int]
) -> None:
    """Add ``counts`` ((domain, reason, publisher) → events) to the rejection counters:
    ``rejected_event_counts`` (by domain and reason) and ``publisher_rejection_counts`` (by
    publisher, today's UTC date, domain and reason; publisher '' when unknown)."""
    if not counts:
        return
    # PostgreSQL refuses a NUL in text; two keys that differ only there become one.
    merged: dict[tuple[str, str, str], int] = {}
    for (domain, reason, publisher), events in counts.items():
        key = (printable(domain), printable(reason), printable(publisher))
        merged[key] = merged.get(key, 0) + events
    rows = sorted(merged.items())
    await connection.execute(
        _RECORD_REJECTIONS,
        [domain for (domain, _, _), _ in rows],
        [reason for (_, reason, _), _ in rows],
        [publisher for (_, _, publisher), _ in rows],
        [events for _, events in rows],
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


async def maintain_partitions(
    connection: asyncpg.Connection | asyncpg.Pool,
    retention_months: int,
    *,
    now: datetime | None = None,
) -> list[str]:
    """The event store's monthly upkeep, for a timer of the worker (not its hot path): create
    this month's and next month's partitions ahead of the events (so that recording a batch
    never has to create one: that takes a lock on the whole table), and drop the months past
    ``retention_months`` (``HUB_RETENTION_MONTHS``, :func:`drop_expired_partitions`). Returns
    the partitions dropped. Cheap when there is nothing to do: two catalogue lookups."""
    now = now or datetime.now(UTC)
    month = _month(now)
    following = month.replace(year=month.year + month.month // 12, month=month.month % 12 + 1)
    if isinstance(connection, asyncpg.Pool):
        async with connection.acquire() as acquired:
            await ensure_partitions(acquired, [month, following])
            return await drop_expired_partitions(acquired, retention_months, now=now)
    await ensure_partitions(connection, [month, following])
    return await drop_expired_partitions(connection, retention_months, now=now)


# The monthly partitions of a table, with the end of the month each holds (rendered by
# pg_get_expr in the session's time zone, with its offset: read back exactly).
_PARTITIONS = r"""
SELECT c.relname AS name,
       (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'TO \(''([^'']+)''\)'))[1]::timestamptz
           AS ends
FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
WHERE i.inhparent = $1::regclass
ORDER BY ends
"""


async def drop_expired_partitions(
    connection: asyncpg.Connection, months: int, *, now: datetime | None = None
) -> list[str]:
    """Drop the monthly partitions of the event tables whose month ended more than ``months``
    whole months before the current one (``HUB_RETENTION_MONTHS``): with 25, in December 2026
    the events of November 2024 and later are kept. Returns the partitions dropped (those of
    ``ingested_events``, then those of ``event_other_keys``, each oldest first).

    Not for the hot path: each expired month is a transaction that also forgets the later
    origins of its events (``duplicate_origins``) before dropping them. The counters of what
    ports published (``port_event_counts``) keep counting them.
    """
    if months < 1:
        raise ValueError(f"a retention of {months} months would drop the current month")
    current = _month(now or datetime.now(UTC))
    years, month = divmod(current.month - 1 - months, 12)
    cutoff = current.replace(year=current.year + years, month=month + 1)
    dropped: list[str] = []
    for table in ("ingested_events", "event_other_keys"):
        for row in await connection.fetch(_PARTITIONS, table):
            if row["ends"] is None or row["ends"] > cutoff:
                continue
            async with connection.transaction():
                if table == "ingested_events":
                    await connection.execute(
                        f"DELETE FROM duplicate_origins d USING {_quoted(row['name'])} e "
                        "WHERE d.event_id = e.event_id"
                    )
                await connection.execute(f"DROP TABLE {_quoted(row['name'])}")
            dropped.append(row["name"])
    return dropped


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
