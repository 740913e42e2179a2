"""Certificate verdicts in PostgreSQL: every version kept (the audit trail), read by customs.

A verdict is stored as a new version only when it differs from the certificate's latest one, so
re-delivered events and recomputations never add versions; each row's ``id`` orders all verdicts
and is the Server-Sent Events id a customs client resumes from.

A version issued because the issuer registry changed carries a ``cause`` (the change's id, kind,
detail and time: :attr:`hub.db.registry_changes.RegistryChange.cause`), kept beside the verdict
and added to the body customs receive; the cause is not part of the verdict, so the same
verdict with another cause is no new version.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import asyncpg

from hub.domain.certificates.rules import Verdict

_COLUMNS = "id, version, issued_at, importing_country, verdict, cause"


@dataclass(frozen=True, slots=True)
class StoredVerdict:
    """One version of a certificate's verdict, as stored and published."""

    id: int
    version: int
    issued_at: datetime
    importing_country: str
    body: dict[str, Any]
    """:meth:`Verdict.as_json` plus ``version``, ``issued_at`` and, for a version a registry
    change issued, ``cause``: what customs receive."""
    new: bool = False
    """Issued by this call (False: the latest version, unchanged)."""


async def record_verdict(
    connection: asyncpg.Connection, verdict: Verdict, cause: dict[str, Any] | None = None
) -> StoredVerdict:
    """Store ``verdict`` as the certificate's next version, unless it equals the latest one
    (whatever either's ``cause``: the reason a version was issued is not the verdict).

    Call it inside a transaction holding the certificate's lock. Returns the new version
    (``new``), or the latest one when nothing changed: publishing it again after a crash
    between storing and publishing is what keeps the topics at-least-once.
    """
    content = verdict.as_json()
    latest = await connection.fetchrow(
        f"SELECT {_COLUMNS} FROM certificate_verdicts "
        "WHERE certificate_id = $1 ORDER BY version DESC LIMIT 1",
        verdict.certificate_id,
    )
    if latest is not None and json.loads(latest["verdict"]) == content:
        return _from_row(latest)
    version = 1 if latest is None else latest["version"] + 1
    row = await connection.fetchrow(
        """
        INSERT INTO certificate_verdicts
            (certificate_id, version, importing_country, exporting_country, outcome, failed,
             rules, document_sha256, declarations, submission_event_id, verdict, cause)
        VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9, $10, $11::jsonb, $12::jsonb)
        RETURNING id, issued_at
        """,
        verdict.certificate_id,
        version,
        verdict.importing_country,
        verdict.exporting_country,
        verdict.outcome.value,
        [code.value for code in verdict.failed],
        json.dumps(content["rules"]),
        verdict.document_sha256,
        list(verdict.declarations),
        verdict.submission_event_id,
        json.dumps(content),
        None if cause is None else json.dumps(cause),
    )
    stored = _stored(
        row["id"], version, row["issued_at"], verdict.importing_country, content, cause
    )
    return replace(stored, new=True)


async def verdicts_after(
    connection: asyncpg.Connection | asyncpg.Pool, country: str, after_id: int, limit: int = 500
) -> list[StoredVerdict]:
    """The verdicts for ``country``'s customs issued after the one with ``after_id``, oldest
    first: each version whose importing country is ``country``, whatever the others are."""
    rows = await connection.fetch(
        f"""
        SELECT {_COLUMNS} FROM certificate_verdicts
        WHERE importing_country = $1 AND id > $2 ORDER BY id LIMIT $3
        """,
        country,
        after_id,
        limit,
    )
    return [_from_row(row) for row in rows]


async def recent_verdicts_start(
    connection: asyncpg.Connection | asyncpg.Pool, country: str, recent: int
) -> int:
    """Where a new stream starts so that it first replays the ``recent`` latest verdicts for
    ``country``: the id just before them (0 if there are fewer)."""
    value = await connection.fetchval(
        """
        SELECT coalesce(min(id) - 1, 0) FROM (
            SELECT id FROM certificate_verdicts WHERE importing_country = $1
            ORDER BY id DESC LIMIT $2
        ) AS latest
        """,
        country,
        recent,
    )
    return int(value)


async def verdict_history(
    connection: asyncpg.Connection | asyncpg.Pool,
    certificate_id: str,
    country: str | None = None,
) -> list[StoredVerdict]:
    """Every version of a certificate's verdict, oldest first (empty if never evaluated); with
    ``country``, only the versions whose importing country it is (what its customs may read:
    each version is checked, not the latest alone)."""
    rows = await connection.fetch(
        f"""
        SELECT {_COLUMNS} FROM certificate_verdicts
        WHERE certificate_id = $1 AND ($2::text IS NULL OR importing_country = $2)
        ORDER BY version
        """,
        certificate_id,
        country,
    )
    return [_from_row(row) for row in rows]


def _from_row(row: asyncpg.Record) -> StoredVerdict:
    return _stored(
        row["id"],
        row["version"],
        row["issued_at"],
        row["importing_country"].strip(),
        json.loads(row["verdict"]),
        None if row["cause"] is None else json.loads(row["cause"]),
    )


def _stored(
    row_id: int,
    version: int,
    issued_at: datetime,
    country: str,
    content: dict[str, Any],
    cause: dict[str, Any] | None,
) -> StoredVerdict:
    body = {**content, "version": version, "issued_at": issued_at.isoformat()}
    if cause is not None:
        body["cause"] = cause
    return StoredVerdict(row_id, version, issued_at, country, body)
