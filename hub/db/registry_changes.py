"""The outbox of issuer-registry changes: what the workers re-evaluate verdicts for.

Every change of the registry (:mod:`hub.db.issuers`) records a row here in its own
transaction, so a change is never made without its row nor a row left without its change. A
worker claims one row at a time (``FOR UPDATE SKIP LOCKED``: several workers share the work),
re-evaluates the certificates it can affect, publishes the new versions and only then marks the
row processed; a crash in between leaves the row to be claimed again (at least once).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Collection, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg


@dataclass(frozen=True, slots=True)
class RegistryChange:
    """One recorded change of the issuer registry."""

    id: int
    kind: str
    """``OFFICIAL_REVOKED``, ``OFFICIAL_ADDED``, ``OFFICIAL_ENABLEMENT_CHANGED``,
    ``ENTITY_CHANGED``, ``AGREEMENT_CHANGED``."""
    detail: str
    change: dict[str, Any]
    countries: tuple[str, ...]
    """The exporting countries whose certificates it can affect; empty: every country."""
    agreements: tuple[str, ...]
    only_failed: str | None
    """Only certificates whose verdict failed this rule can be affected (e.g. a new official
    can only mend a ``SIGNER_UNKNOWN``)."""
    changed_at: datetime

    @property
    def cause(self) -> dict[str, Any]:
        """What a verdict version this change issued carries as its ``cause``."""
        return {
            "registry_change": self.id,
            "kind": self.kind,
            "detail": self.detail,
            "changed_at": self.changed_at.isoformat(),
        }


async def record_change(
    connection: asyncpg.Connection,
    kind: str,
    detail: str,
    change: Mapping[str, Any],
    *,
    countries: Collection[str] = (),
    agreements: Collection[str] = (),
    only_failed: str | None = None,
) -> int:
    """Record a change of the registry; call it in the change's own transaction. Returns its id."""
    value: int = await connection.fetchval(
        """
        INSERT INTO registry_changes (kind, detail, change, countries, agreements, only_failed)
        VALUES ($1, $2, $3::jsonb, $4, $5, $6) RETURNING id
        """,
        kind,
        detail,
        json.dumps(dict(change), default=str),
        sorted(set(countries)),
        sorted(set(agreements)),
        only_failed,
    )
    return value


@asynccontextmanager
async def claimed_change(pool: asyncpg.Pool) -> AsyncIterator[RegistryChange | None]:
    """The oldest change not processed nor claimed by another worker (None: none waits).

    The row stays locked while the ``async with`` body runs, and is marked processed when the
    body ends normally; an error (or a crash) releases it unprocessed for the next claim.
    """
    async with pool.acquire() as connection, connection.transaction():
        row = await connection.fetchrow(
            """
            SELECT * FROM registry_changes WHERE processed_at IS NULL
            ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED
            """
        )
        if row is None:
            yield None
            return
        yield _change(row)
        await connection.execute(
            "UPDATE registry_changes SET processed_at = now() WHERE id = $1", row["id"]
        )


async def affected_certificates(
    connection: asyncpg.Connection | asyncpg.Pool,
    change: RegistryChange,
    after: str,
    limit: int,
) -> list[str]:
    """The next ``limit`` certificate ids after ``after`` (in id order) that ``change`` can
    affect: those with a verdict of one of its exporting countries (any, if it names none) and,
    with ``only_failed``, a verdict failing that rule. Any version counts: a few certificates
    too many are re-evaluated for nothing, none is missed."""
    rows = await connection.fetch(
        """
        SELECT DISTINCT certificate_id FROM certificate_verdicts
        WHERE certificate_id > $1
          AND (cardinality($2::text[]) = 0 OR exporting_country = ANY($2::text[]))
          AND ($3::text IS NULL OR $3 = ANY(failed))
        ORDER BY certificate_id LIMIT $4
        """,
        after,
        list(change.countries),
        change.only_failed,
        limit,
    )
    return [row["certificate_id"] for row in rows]


async def pending_changes(connection: asyncpg.Connection | asyncpg.Pool) -> int:
    """How many changes wait to be processed."""
    value: int = await connection.fetchval(
        "SELECT count(*) FROM registry_changes WHERE processed_at IS NULL"
    )
    return value


async def changes_since(
    connection: asyncpg.Connection | asyncpg.Pool, after_id: int = 0
) -> list[RegistryChange]:
    """The changes recorded after ``after_id``, oldest first."""
    rows = await connection.fetch(
        "SELECT * FROM registry_changes WHERE id > $1 ORDER BY id", after_id
    )
    return [_change(row) for row in rows]


def _change(row: asyncpg.Record) -> RegistryChange:
    return RegistryChange(
        id=row["id"],
        kind=row["kind"],
        detail=row["detail"],
        change=json.loads(row["change"]),
        countries=tuple(row["countries"]),
        agreements=tuple(row["agreements"]),
        only_failed=row["only_failed"],
        changed_at=row["changed_at"],
    )
