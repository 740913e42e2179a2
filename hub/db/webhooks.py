"""Webhook subscriptions and their deliveries in PostgreSQL (migration 0020).

A delivery is one notification for one subscription, kept until its receiver answers 2xx:
senders claim due rows with ``FOR UPDATE SKIP LOCKED`` and lease them (``next_attempt_at`` moved
past the send's timeout), so several processes can send, and a sender that dies leaves its rows
due again once the lease ends. Nothing is deleted before it is delivered; a paused
subscription's rows wait for ``resume``.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeAlias

import asyncpg

Connection: TypeAlias = asyncpg.Connection | asyncpg.Pool

_COLUMNS = (
    "id, owner, callback_url, secret, kinds, ports, event_types, containers, declarations, "
    "certificates, kpis, countries, status, failures, last_error, last_delivery_at, created_at, "
    "secret_rotated_at"
)


@dataclass(frozen=True, slots=True)
class Subscription:
    """One subscription as stored: who owns it, where it goes, and its filters (an empty tuple:
    any value)."""

    id: uuid.UUID
    owner: str
    callback_url: str
    secret: str
    kinds: tuple[str, ...]
    ports: tuple[str, ...]
    event_types: tuple[str, ...]
    containers: tuple[str, ...]
    declarations: tuple[str, ...]
    certificates: tuple[str, ...]
    kpis: tuple[str, ...]
    countries: tuple[str, ...]
    status: str
    failures: int
    last_error: str | None
    last_delivery_at: datetime | None
    created_at: datetime
    secret_rotated_at: datetime | None
    pending: int = 0
    """Deliveries not yet delivered (filled by the owner's reads only)."""


@dataclass(frozen=True, slots=True)
class NewDelivery:
    """A notification to store for one subscription."""

    id: uuid.UUID
    subscription_id: uuid.UUID
    dedupe_key: str
    body: str


@dataclass(frozen=True, slots=True)
class DueDelivery:
    """A claimed delivery, with what its send needs."""

    id: uuid.UUID
    subscription_id: uuid.UUID
    body: str
    attempts: int
    callback_url: str
    secret: str


def _subscription(row: asyncpg.Record) -> Subscription:
    return Subscription(
        id=row["id"],
        owner=row["owner"],
        callback_url=row["callback_url"],
        secret=row["secret"],
        kinds=tuple(row["kinds"]),
        ports=tuple(row["ports"]),
        event_types=tuple(row["event_types"]),
        containers=tuple(row["containers"]),
        declarations=tuple(row["declarations"]),
        certificates=tuple(row["certificates"]),
        kpis=tuple(row["kpis"]),
        countries=tuple(row["countries"]),
        status=row["status"],
        failures=row["failures"],
        last_error=row["last_error"],
        last_delivery_at=row["last_delivery_at"],
        created_at=row["created_at"],
        secret_rotated_at=row["secret_rotated_at"],
        pending=row.get("pending", 0),
    )


async def create_subscription(
    connection: Connection,
    *,
    owner: str,
    callback_url: str,
    secret: str,
    kinds: Sequence[str],
    ports: Sequence[str] = (),
    event_types: Sequence[str] = (),
    containers: Sequence[str] = (),
    declarations: Sequence[str] = (),
    certificates: Sequence[str] = (),
    kpis: Sequence[str] = (),
    countries: Sequence[str] = (),
) -> Subscription:
    """Store a new, active subscription."""
    row = await connection.fetchrow(
        f"""
        INSERT INTO webhook_subscriptions
            (id, owner, callback_url, secret, kinds, ports, event_types, containers,
             declarations, certificates, kpis, countries)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
        RETURNING {_COLUMNS}
        """,
        uuid.uuid4(),
        owner,
        callback_url,
        secret,
        list(kinds),
        list(ports),
        list(event_types),
        list(containers),
        list(declarations),
        list(certificates),
        list(kpis),
        list(countries),
    )
    return _subscription(row)


_WITH_PENDING = f"""
    SELECT {_COLUMNS},
        (SELECT count(*) FROM webhook_deliveries d
         WHERE d.subscription_id = s.id AND d.delivered_at IS NULL) AS pending
    FROM webhook_subscriptions s
"""


async def subscriptions_of(connection: Connection, owner: str) -> list[Subscription]:
    """The subscriptions of ``owner``, oldest first."""
    rows = await connection.fetch(
        _WITH_PENDING + " WHERE owner = $1 ORDER BY created_at, id", owner
    )
    return [_subscription(row) for row in rows]


async def subscription_of(
    connection: Connection, owner: str, subscription_id: uuid.UUID
) -> Subscription | None:
    """One subscription of ``owner`` (None: none with that id, or another owner's)."""
    row = await connection.fetchrow(
        _WITH_PENDING + " WHERE owner = $1 AND id = $2", owner, subscription_id
    )
    return None if row is None else _subscription(row)


async def delete_subscription(
    connection: Connection, owner: str, subscription_id: uuid.UUID
) -> bool:
    """Delete one subscription of ``owner`` and its deliveries. Returns whether it existed."""
    result: str = await connection.execute(
        "DELETE FROM webhook_subscriptions WHERE owner = $1 AND id = $2", owner, subscription_id
    )
    return result.endswith(" 1")


async def rotate_secret(
    connection: Connection, owner: str, subscription_id: uuid.UUID, secret: str
) -> bool:
    """Replace the secret (every send from now on signs with it). Returns whether it exists."""
    result: str = await connection.execute(
        "UPDATE webhook_subscriptions SET secret = $3, secret_rotated_at = now() "
        "WHERE owner = $1 AND id = $2",
        owner,
        subscription_id,
        secret,
    )
    return result.endswith(" 1")


async def resume_subscription(
    connection: asyncpg.Pool, owner: str, subscription_id: uuid.UUID
) -> bool:
    """Make a subscription active again, its failures forgotten and its pending deliveries due
    now. Returns whether it exists."""
    async with connection.acquire() as held, held.transaction():
        result: str = await held.execute(
            "UPDATE webhook_subscriptions SET status = 'active', failures = 0 "
            "WHERE owner = $1 AND id = $2",
            owner,
            subscription_id,
        )
        if not result.endswith(" 1"):
            return False
        await held.execute(
            "UPDATE webhook_deliveries SET next_attempt_at = now() "
            "WHERE subscription_id = $1 AND delivered_at IS NULL",
            subscription_id,
        )
    return True


async def all_subscriptions(connection: Connection) -> list[Subscription]:
    """Every subscription, active or paused (what the notifier matches records against: a
    paused one keeps collecting its notifications, sent when it is resumed)."""
    rows = await connection.fetch(f"SELECT {_COLUMNS} FROM webhook_subscriptions")
    return [_subscription(row) for row in rows]


async def store_deliveries(connection: Connection, deliveries: Sequence[NewDelivery]) -> int:
    """Store new deliveries; one already stored (same subscription and dedupe key) is left as it
    is. Returns how many were new."""
    if not deliveries:
        return 0
    result: str = await connection.execute(
        """
        INSERT INTO webhook_deliveries (id, subscription_id, dedupe_key, body)
        SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[])
        ON CONFLICT (subscription_id, dedupe_key) DO NOTHING
        """,
        [d.id for d in deliveries],
        [d.subscription_id for d in deliveries],
        [d.dedupe_key for d in deliveries],
        [d.body for d in deliveries],
    )
    return int(result.rsplit(" ", 1)[-1])


async def claim_due(connection: Connection, limit: int, lease_s: float) -> list[DueDelivery]:
    """Up to ``limit`` due deliveries of active subscriptions, leased for ``lease_s`` (no other
    sender claims them meanwhile; a sender that dies leaves them due again after it)."""
    rows = await connection.fetch(
        """
        WITH due AS (
            SELECT d.id FROM webhook_deliveries d
            JOIN webhook_subscriptions s ON s.id = d.subscription_id
            WHERE d.delivered_at IS NULL AND d.next_attempt_at <= now() AND s.status = 'active'
            ORDER BY d.next_attempt_at
            LIMIT $1
            FOR UPDATE OF d SKIP LOCKED
        )
        UPDATE webhook_deliveries d
        SET next_attempt_at = now() + make_interval(secs => $2)
        FROM due, webhook_subscriptions s
        WHERE d.id = due.id AND s.id = d.subscription_id
        RETURNING d.id, d.subscription_id, d.body, d.attempts, s.callback_url, s.secret
        """,
        limit,
        lease_s,
    )
    return [DueDelivery(**dict(row)) for row in rows]


async def mark_delivered(connection: asyncpg.Pool, delivery: DueDelivery) -> None:
    """The receiver took it: delivered, and the subscription's failures back to 0."""
    async with connection.acquire() as held, held.transaction():
        await held.execute(
            "UPDATE webhook_deliveries SET delivered_at = now(), attempts = attempts + 1 "
            "WHERE id = $1",
            delivery.id,
        )
        await held.execute(
            "UPDATE webhook_subscriptions SET failures = 0, last_delivery_at = now() WHERE id = $1",
            delivery.subscription_id,
        )


async def mark_failed(
    connection: asyncpg.Pool,
    delivery: DueDelivery,
    error: str,
    retry_in_s: float,
    pause_after: int,
) -> bool:
    """The send failed: tried again in ``retry_in_s``; the subscription is paused at its
    ``pause_after``-th failure in a row. Returns whether it is paused now."""
    async with connection.acquire() as held, held.transaction():
        await held.execute(
            "UPDATE webhook_deliveries SET attempts = attempts + 1, last_error = $2, "
            "next_attempt_at = now() + make_interval(secs => $3) WHERE id = $1",
            delivery.id,
            error,
            retry_in_s,
        )
        status: str | None = await held.fetchval(
            """
            UPDATE webhook_subscriptions SET failures = failures + 1, last_error = $2,
                status = CASE WHEN failures + 1 >= $3 THEN 'paused' ELSE status END
            WHERE id = $1 RETURNING status
            """,
            delivery.subscription_id,
            error,
            pause_after,
        )
    return status == "paused"


async def purge_delivered(connection: Connection, older_than_s: float) -> int:
    """Forget deliveries delivered more than ``older_than_s`` ago. Returns how many."""
    result: str = await connection.execute(
        "DELETE FROM webhook_deliveries WHERE delivered_at IS NOT NULL "
        "AND delivered_at < now() - make_interval(secs => $1)",
        older_than_s,
    )
    return int(result.rsplit(" ", 1)[-1])


async def port_countries(connection: Connection) -> dict[str, str]:
    """The country of each reference port."""
    rows = await connection.fetch("SELECT unlocode, country FROM ports")
    return {row["unlocode"].strip(): row["country"].strip() for row in rows}
