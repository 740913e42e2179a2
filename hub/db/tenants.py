"""Queries of the Kafka tenants (``kafka_tenants``): the hub's record of the principals it gave
the ports and customs authorities (``hub tenants …``). The credentials and ACLs themselves live
on the broker (:mod:`hub.tenants`); this table is what ``hub tenants list`` reads them against."""

from __future__ import annotations

import asyncpg


async def tenant_active(connection: asyncpg.Connection, user_name: str) -> bool | None:
    """Whether the principal ``user_name`` is active (True), revoked (False) or unknown (None):
    adding an active one again needs ``--rotate``."""
    active: bool | None = await connection.fetchval(
        "SELECT revoked_at IS NULL FROM kafka_tenants WHERE user_name = $1", user_name
    )
    return active


async def put_tenant(
    connection: asyncpg.Connection, user_name: str, kind: str, subject: str
) -> None:
    """Record the principal as active with a credential set now (a new one, a rotated password,
    or a revoked one given a password again)."""
    await connection.execute(
        "INSERT INTO kafka_tenants (user_name, kind, subject) VALUES ($1, $2, $3) "
        "ON CONFLICT (user_name) DO UPDATE SET credential_set_at = now(), revoked_at = NULL",
        user_name,
        kind,
        subject,
    )


async def revoke_tenant(connection: asyncpg.Connection, user_name: str) -> bool:
    """Mark the principal revoked; False when there was no active one to revoke."""
    result: str = await connection.execute(
        "UPDATE kafka_tenants SET revoked_at = now() WHERE user_name = $1 AND revoked_at IS NULL",
        user_name,
    )
    return result.endswith(" 1")


async def all_tenants(connection: asyncpg.Connection) -> list[asyncpg.Record]:
    """Every principal ever given (``user_name``, ``kind``, ``subject``, ``credential_set_at``,
    ``revoked_at``), by kind and subject."""
    rows: list[asyncpg.Record] = await connection.fetch(
        "SELECT user_name, kind, subject, credential_set_at, revoked_at FROM kafka_tenants "
        "ORDER BY kind, subject"
    )
    return rows
