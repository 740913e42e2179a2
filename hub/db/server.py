"""The database server itself: its version (the API's health check) and advisory locks (how
workers serialise their work on the same keys)."""

from __future__ import annotations

from collections.abc import Collection

import asyncpg


async def lock_keys(connection: asyncpg.Connection, keys: Collection[str]) -> None:
    """Transaction-scoped advisory locks on ``keys``, taken in one global order (by hash), so
    that two workers locking overlapping sets never wait on each other in a cycle."""
    await connection.execute(
        "SELECT pg_advisory_xact_lock(h) FROM "
        "(SELECT DISTINCT hashtext(k) AS h FROM unnest($1::text[]) AS k ORDER BY h) AS ordered",
        list(keys),
    )


async def server_version(connection: asyncpg.Connection | asyncpg.Pool) -> str:
    """The PostgreSQL server's version: the API's health check of the database (any answer
    means it is up)."""
    version: str = await connection.fetchval("SHOW server_version")
    return version
