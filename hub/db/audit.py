"""The audit log (table ``audit_log``, migrations 0010 and 0013): admin actions and certificate-
verdict reads, each with who, what, on what, how it ended and from where.

Refusals (an outcome ``"4xx …"``) are aggregated, so that a flood of refused requests cannot fill
the table: the same refusal again in the same clock minute (same actor, action, target, outcome
and client address) adds one to its row's ``repeats`` and sets its ``last_at``. Past
``DISTINCT_REFUSALS_PER_MINUTE`` different refusals of one action from one address in a minute
(a made-up token on every request, say), the rest of that minute is counted on a single row with
actor and target ``*``. Every other entry (an allowed read, an admin action, a command) is a row
of its own.
"""

from __future__ import annotations

import getpass
import hashlib
import re
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from schemas.rejections import printable

__all__ = [
    "DISTINCT_REFUSALS_PER_MINUTE",
    "AuditEntry",
    "cli_actor",
    "entries_since",
    "presented_actor",
    "record",
]

DISTINCT_REFUSALS_PER_MINUTE = 100
"""Different refusals of one action from one address kept as rows of their own in a minute."""

_REFUSAL = re.compile(r"4\d\d\b")
# Lengths kept of each text field: the target comes from the request's path, the actor from a
# token's label; neither may make a row (or the lookups of repeats) arbitrarily large.
_MAX_ACTOR, _MAX_TARGET, _MAX_OUTCOME, _MAX_REMOTE = 200, 300, 500, 100

_INSERT = "INSERT INTO audit_log (actor, action, target, outcome, remote) VALUES ($1,$2,$3,$4,$5)"
# One more of a refusal already written this minute: its row counts it.
_REPEAT = """
    UPDATE audit_log SET repeats = repeats + 1, last_at = now()
    WHERE id = (
        SELECT id FROM audit_log
        WHERE at >= date_trunc('minute', now()) AND actor = $1 AND action = $2 AND target = $3
            AND outcome = $4 AND remote IS NOT DISTINCT FROM $5
        ORDER BY id LIMIT 1
    )
    RETURNING id
"""
# A new refusal: a row of its own while the action and address have had fewer than $6 this
# minute.
_INSERT_DISTINCT = """
    INSERT INTO audit_log (actor, action, target, outcome, remote)
    SELECT $1, $2, $3, $4, $5
    WHERE (
        SELECT count(*) FROM audit_log
        WHERE at >= date_trunc('minute', now()) AND action = $2
            AND remote IS NOT DISTINCT FROM $5 AND outcome ~ '^4[0-9][0-9]'
    ) < $6
    RETURNING id
"""


@dataclass(frozen=True, slots=True)
class AuditEntry:
    at: datetime
    actor: str
    action: str
    target: str
    outcome: str
    remote: str | None
    repeats: int = 1
    """How many times this happened (refusals repeated within a minute share a row)."""
    last_at: datetime | None = None
    """When it last happened, if more than once."""


async def record(
    connection: asyncpg.Connection | asyncpg.Pool,
    actor: str,
    action: str,
    target: str,
    outcome: str,
    remote: str | None = None,
) -> None:
    """Write an entry; a refusal (``outcome`` ``"4xx …"``) is aggregated (see the module)."""
    actor, target = _text(actor, _MAX_ACTOR), _text(target, _MAX_TARGET)
    outcome = _text(outcome, _MAX_OUTCOME)
    remote = None if remote is None else _text(remote, _MAX_REMOTE)
    if not _REFUSAL.match(outcome):
        await connection.execute(_INSERT, actor, action, target, outcome, remote)
        return
    entry = (actor, action, target, outcome, remote)
    if await connection.fetchval(_REPEAT, *entry) is not None:
        return
    if await connection.fetchval(_INSERT_DISTINCT, *entry, DISTINCT_REFUSALS_PER_MINUTE):
        return
    various = (
        "*",
        action,
        "*",
        f"{outcome[:3]} various: over {DISTINCT_REFUSALS_PER_MINUTE} different refusals of "
        "this action from this address in this minute, counted here",
        remote,
    )
    if await connection.fetchval(_REPEAT, *various) is None:
        await connection.execute(_INSERT, *various)


async def entries_since(
    connection: asyncpg.Connection | asyncpg.Pool, since_id: int = 0
) -> list[AuditEntry]:
    rows = await connection.fetch(
        "SELECT at, actor, action, target, outcome, remote, repeats, last_at FROM audit_log "
        "WHERE id > $1 ORDER BY id",
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
    # The scheme is case-insensitive (RFC 7235), as in hub.api.access.bearer_token.
    parts = (authorization or "").split(None, 1)
    if len(parts) != 2 or parts[0].lower() != "bearer":
        return "anonymous"
    return "token:" + hashlib.sha256(parts[1].strip().encode("utf-8", "replace")).hexdigest()[:8]


def _text(value: str, limit: int) -> str:
    # PostgreSQL text holds neither NUL nor lone surrogates; a path or a header may carry them.
    return printable(value)[:limit]
