"""Reads of the KPI API (``hub/api/kpis.py``): stored windows, port calls' KPIs and timelines.

The KPI stage writes these tables (:mod:`hub.db.kpi_store`); the API only reads them, as they
were last committed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import asyncpg

from hub.db.event_keys import hits, stored_rows, wanted
from hub.domain.keys import EntityKey


async def port_windows(
    connection: asyncpg.Connection | asyncpg.Pool,
    port: str,
    granularity: str,
    start: datetime,
    end: datetime,
) -> list[asyncpg.Record]:
    """The stored windows of one port and granularity that start in [start, end)."""
    rows: list[asyncpg.Record] = await connection.fetch(
        """
        SELECT port, granularity, window_start, kpi, unit, count, total, mean, median, p90
        FROM kpi_windows
        WHERE port = $1 AND granularity = $2 AND window_start >= $3 AND window_start < $4
        """,
        port,
        granularity,
        start,
        end,
    )
    return rows


async def latest_daily_windows(
    connection: asyncpg.Connection | asyncpg.Pool,
) -> list[asyncpg.Record]:
    """For each port and KPI, its most recent daily window: every port's current values."""
    rows: list[asyncpg.Record] = await connection.fetch(
        """
        SELECT DISTINCT ON (port, kpi)
               port, granularity, window_start, kpi, unit, count, total, mean, median, p90
        FROM kpi_windows WHERE granularity = 'day'
        ORDER BY port, kpi, window_start DESC
        """
    )
    return rows


async def windows_changed_at(connection: asyncpg.Connection | asyncpg.Pool) -> datetime | None:
    """When a window was last computed (None: none yet): a KPI stream polls it to send the
    latest values only when they changed."""
    changed: datetime | None = await connection.fetchval("SELECT max(computed_at) FROM kpi_windows")
    return changed


async def latest_event_time(
    connection: asyncpg.Connection | asyncpg.Pool, domains: Sequence[str]
) -> datetime | None:
    """The event time of the latest stored event of ``domains`` that is not in the future (an
    estimated arrival is stored at the time it estimates, a day or more ahead), None if there
    is none: how far the events behind the KPIs reach. One backward probe of the index on
    ``(domain, occurred_at)`` per domain."""
    latest: datetime | None = await connection.fetchval(
        """
        SELECT max(latest.occurred_at)
        FROM unnest($1::text[]) AS wanted(domain),
        LATERAL (
            SELECT max(e.occurred_at) AS occurred_at FROM ingested_events e
            WHERE e.domain = wanted.domain AND e.occurred_at <= now()
        ) AS latest
        """,
        list(domains),
    )
    return latest


async def call_kpis(
    connection: asyncpg.Connection | asyncpg.Pool, entity_id: str
) -> list[asyncpg.Record]:
    """Every KPI row (``kpi``, ``value``, ``unit``, ``flag``, ``anchor_time``) of the port call
    ``entity_id`` (``PORT/CALL_ID``), by KPI name; open KPIs have a null value."""
    rows: list[asyncpg.Record] = await connection.fetch(
        "SELECT kpi, value, unit, flag, anchor_time FROM entity_kpis "
        "WHERE entity_kind = 'port_call' AND entity_id = $1 ORDER BY kpi",
        entity_id,
    )
    return rows


async def calls_kpi_values(
    connection: asyncpg.Connection | asyncpg.Pool, entity_ids: Sequence[str]
) -> list[asyncpg.Record]:
    """``entity_id``, ``kpi`` and ``value`` of every KPI of the port calls ``entity_ids``."""
    rows: list[asyncpg.Record] = await connection.fetch(
        "SELECT entity_id, kpi, value FROM entity_kpis "
        "WHERE entity_kind = 'port_call' AND entity_id = ANY($1::text[])",
        list(entity_ids),
    )
    return rows


async def call_vessel_events(
    connection: asyncpg.Connection | asyncpg.Pool, port: str, port_call_id: str
) -> list[asyncpg.Record]:
    """The ``payload`` of every vessel event of the call ``port_call_id`` at ``port`` (stored
    under its entity key, ``port_call:…``), in event time order: the call's timeline."""
    try:
        key = EntityKey.port_call(port, port_call_id)
    except ValueError:
        return []  # not a UN/LOCODE (a "/" or ":" in it): no event is stored under it
    lookup = wanted([key.text])
    rows: list[asyncpg.Record] = await connection.fetch(
        f"""
        WITH {hits(lookup)}
        SELECT e.payload FROM {stored_rows("hits", "e.payload, e.domain, e.occurred_at")}
        WHERE e.domain = 'vessel'
        ORDER BY e.occurred_at
        """,
        *lookup.arguments,
    )
    return rows


async def port_calls_vessel_events(
    connection: asyncpg.Connection | asyncpg.Pool, port: str, since: datetime, until: datetime
) -> list[asyncpg.Record]:
    """The ``payload`` of every vessel event of the calls of ``port`` that have a vessel event
    in (since, until] — one that happened recently, or an estimate naming a time soon — in
    event time order: the calls under way and those expected. A call's events are read back
    to 14 days before ``since`` (a call is not under way that long; the bound spares the older
    partitions)."""
    rows: list[asyncpg.Record] = await connection.fetch(
        """
        SELECT payload::text AS payload FROM ingested_events
        WHERE domain = 'vessel' AND port = $1 AND payload IS NOT NULL
          AND occurred_at > $2::timestamptz - interval '14 days'
          AND port_call_id IN (
            SELECT port_call_id FROM ingested_events
            WHERE domain = 'vessel' AND port = $1 AND occurred_at > $2 AND occurred_at <= $3
              AND port_call_id IS NOT NULL
          )
        ORDER BY occurred_at
        """,
        port,
        since,
        until,
    )
    return rows
