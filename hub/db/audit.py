"""The audit log (table ``audit_log``, migration 0010): admin actions and certificate-verdict
reads, each with who, what, on what, how it ended and from where."""

from __future__ import annotations

import getpass
import hashlib
from dataclasses import dataclass
from datetime import datetime

import asyncpg

__all__ = ["AuditEntry", "cli_actor", "entries_since", "presented_actor", "record"]


@dataclass(frozen=True, slots=True)
class AuditEntry:
    at: datetime
    actor: str
    action: str
    target: str
    outcome: str
    remote: str | None


async def record(
    connection: asyncpg.Connection | asyncpg.Pool,
    actor: str,
    action: str,
    target: str,
    outcome: str,
    remote: str | None = None,
) -> None:
    await connection.execute(
        "INSERT INTO audit_log (actor, action, target, outcome, remote) VALUES ($1,$2,$3,$4,$5)",
        actor,
        action,
        target,
        outcome[:500],
        remote,
    )


async def entries_since(
    connection: asyncpg.Connection | asyncpg.Pool, since_id: int = 0
) -> list[AuditEntry]:
    rows = await connection.fetch(
        "SELECT at, actor, action, target, outcome, remote FROM audit_log WHERE id > $1 "
        "ORDER BY id",
        since_id,
    )
    return [AuditEntry(**dict(row)) for row in rows]


def cli_actor() -> str:
    """The actor of a command run on the hub's host."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no user name for this uid (a container)
        return "cli:unknown"


def presented_actor(authorization: str | None) -> str:
    """Who a refused request claims to be, without keeping its secret: ``token:`` and the first 8
    hex digits of its token's SHA-256, or ``anonymous``."""
    if not authorization or not authorization.startswith("Bearer "):
        return "anonymous"
    token = authorization.removeprefix("Bearer ").strip()
    return "token:" + hashlib.sha256(token.encode()).hexdigest()[:8]
