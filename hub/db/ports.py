"""Queries of the reference ports (``ports``): written from the ports file at start, read by the
API, the worker and the ingest context to know which ports exist and their berth counts."""

from __future__ import annotations

from collections.abc import Iterable

import asyncpg

from hub.domain.reference import Port
from hub.errors import ConfigError


async def upsert_ports(
    connection: asyncpg.Connection | asyncpg.Pool, ports: Iterable[Port]
) -> None:
    """Write the reference ports (the ports file is the truth: a port already there takes the
    file's name, place and berths)."""
    await connection.executemany(
        """
        INSERT INTO ports (unlocode, name, country, lat, lon, berths)
        VALUES ($1, $2, $3, $4, $5, $6)
        ON CONFLICT (unlocode) DO UPDATE
        SET name = excluded.name, country = excluded.country, lat = excluded.lat,
            lon = excluded.lon, berths = excluded.berths, updated_at = now()
        """,
        [(p.unlocode, p.name, p.country, p.lat, p.lon, p.berths) for p in ports],
    )


async def port_berths(connection: asyncpg.Connection | asyncpg.Pool) -> dict[str, int | None]:
    """Every reference port (its UN/LOCODE) and its berth count (None: not configured).

    The one read of the whole table: its keys are the ports an event may name (the ingest
    context and the worker check against them), its values what berth occupancy is measured
    against (the worker's KPIs and the KPI API). Raises ``asyncpg.UndefinedTableError`` on a
    database not yet migrated, which callers turn into their own message.
    """
    rows = await connection.fetch("SELECT unlocode, berths FROM ports")
    return {row["unlocode"]: row["berths"] for row in rows}


async def berths_of(
    connection: asyncpg.Connection | asyncpg.Pool, unlocode: str
) -> tuple[bool, int | None]:
    """(whether ``unlocode`` is a reference port, its berth count): one port's row of
    :func:`port_berths`, for a request about one port."""
    row = await connection.fetchrow("SELECT berths FROM ports WHERE unlocode = $1", unlocode)
    return (False, None) if row is None else (True, row["berths"])


async def is_reference_port(connection: asyncpg.Connection | asyncpg.Pool, unlocode: str) -> bool:
    """Whether ``unlocode`` is one of the reference ports."""
    return bool(await connection.fetchval("SELECT 1 FROM ports WHERE unlocode = $1", unlocode))


async def has_reference_port(connection: asyncpg.Connection | asyncpg.Pool, country: str) -> bool:
    """Whether ``country`` (ISO 3166 alpha-2) has any reference port."""
    return bool(await connection.fetchval("SELECT 1 FROM ports WHERE country = $1", country))


async def check_subject(connection: asyncpg.Connection, kind: str, subject: str) -> None:
    """Refuse a token or principal for a port (``kind`` "port") that is not a reference port,
    or for a customs authority ("customs") or single window ("customs-publish",
    "single-window") of a country with none."""
    if kind == "port" and not await is_reference_port(connection, subject):
        raise ConfigError(f"{subject} is not a reference port (`hub settings`: HUB_PORTS_FILE)")
    by_country = ("customs", "customs-publish", "single-window")
    if kind in by_country and not await has_reference_port(connection, subject):
        raise ConfigError(f"{subject} is not the country of any reference port")


async def ports_with_counts(connection: asyncpg.Connection | asyncpg.Pool) -> list[asyncpg.Record]:
    """Every reference port with its place and its accepted events so far (all domains, vessel
    events, the latest event's time): the API's ``/v1/ports``."""
    rows: list[asyncpg.Record] = await connection.fetch(
        """
        SELECT p.unlocode, p.name, p.country, p.lat, p.lon,
               coalesce(sum(c.events), 0)::bigint AS events,
               coalesce(sum(c.events) FILTER (WHERE c.domain = 'vessel'), 0)::bigint
                   AS vessel_events,
               max(c.last_event_at) AS last_event_at
        FROM ports p LEFT JOIN port_event_counts c ON c.port = p.unlocode
        GROUP BY p.unlocode
        ORDER BY p.unlocode
        """
    )
    return rows
