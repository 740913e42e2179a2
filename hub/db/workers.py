"""Queries of the workers' heartbeats (``worker_heartbeats``): how the API's health check and the
main job's supervisor know which workers are alive."""

from __future__ import annotations

from datetime import datetime

import asyncpg


async def heartbeat(
    connection: asyncpg.Connection | asyncpg.Pool,
    worker_id: str,
    host: str,
    pid: int,
    started_at: datetime,
    events_in: int,
) -> None:
    await connection.execute(
        """
        INSERT INTO worker_heartbeats (worker_id, host, pid, started_at, last_seen, events_in)
        VALUES ($1, $2, $3, $4, now(), $5)
        ON CONFLICT (worker_id) DO UPDATE
        SET host = excluded.host, pid = excluded.pid, started_at = excluded.started_at,
            last_seen = now(), events_in = excluded.events_in
        """,
        worker_id,
        host,
        pid,
        started_at,
        events_in,
    )


async def live_workers(
    connection: asyncpg.Connection | asyncpg.Pool, within_s: float
) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await connection.fetch(
        """
        SELECT worker_id, host, pid, started_at, last_seen, events_in
        FROM worker_heartbeats
        WHERE last_seen > now() - make_interval(secs => $1)
        ORDER BY worker_id
        """,
        within_s,
    )
    return rows
