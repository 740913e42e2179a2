"""Each refusal of a known publisher, kept for that publisher to read (migration 0022).

Written by the feedback forwarder (:mod:`hub.notify.feedback`) from the dead letters, read by
``GET /v1/feedback``; rows older than the retention are deleted by the forwarder's upkeep.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeAlias
from uuid import UUID

import asyncpg

Connection: TypeAlias = asyncpg.Connection | asyncpg.Pool


@dataclass(frozen=True, slots=True)
class Feedback:
    """One refusal, as its publisher reads it."""

    publisher: str
    """The port's UN/LOCODE or the single window's ISO code."""
    domain: str
    reason: str
    detail: str
    event_id: UUID | None
    """The refused event's id, when the record had one that could be read."""
    source: str
    """``topic/partition/offset`` of the refused record when it came over Kafka, else the way
    in (``http:/v1/events/vessel``, ``edifact:http:/v1/edifact``)."""
    letter: str
    """The dead letter's ``<partition>/<offset>`` on ``hub.deadletter``: one row per letter."""
    refused_at: datetime
    id: int = 0
    """The row's number (0 before it is stored): newer rows have larger ones."""


async def store_feedback(connection: Connection, rows: Sequence[Feedback]) -> int:
    """Store ``rows``, each once (a letter read again is skipped). Returns how many are new."""
    if not rows:
        return 0
    stored: int = await connection.fetchval(
        """
        WITH new AS (
            INSERT INTO publisher_feedback
                (publisher, domain, reason, detail, event_id, source, letter, refused_at)
            SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::uuid[],
                                 $6::text[], $7::text[], $8::timestamptz[])
            ON CONFLICT (letter, refused_at) DO NOTHING
            RETURNING 1
        )
        SELECT count(*) FROM new
        """,
        [row.publisher for row in rows],
        [row.domain for row in rows],
        [row.reason for row in rows],
        [row.detail for row in rows],
        [row.event_id for row in rows],
        [row.source for row in rows],
        [row.letter for row in rows],
        [row.refused_at for row in rows],
    )
    return stored


async def feedback_page(
    connection: Connection,
    publisher: str | None,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    reason: str | None = None,
    domain: str | None = None,
    before_id: int | None = None,
    limit: int = 100,
) -> list[Feedback]:
    """At most ``limit`` refusals, newest first: of ``publisher`` (None: every publisher),
    refused in [``since``, ``until``), of ``reason`` and ``domain`` if given, with a row number
    below ``before_id`` (the previous page's last: the cursor)."""
    rows = await connection.fetch(
        """
        SELECT id, publisher, domain, reason, detail, event_id, source, letter, refused_at
        FROM publisher_feedback
        WHERE ($1::text IS NULL OR publisher = $1)
          AND ($2::timestamptz IS NULL OR refused_at >= $2)
          AND ($3::timestamptz IS NULL OR refused_at < $3)
          AND ($4::text IS NULL OR reason = $4)
          AND ($5::text IS NULL OR domain = $5)
          AND ($6::bigint IS NULL OR id < $6)
        ORDER BY id DESC
        LIMIT $7
        """,
        publisher,
        since,
        until,
        reason,
        domain,
        before_id,
        limit,
    )
    return [Feedback(**dict(row)) for row in rows]


async def purge_feedback(connection: Connection, older_than_days: int) -> int:
    """Delete the refusals of more than ``older_than_days`` days ago. Returns how many."""
    result: str = await connection.execute(
        "DELETE FROM publisher_feedback WHERE refused_at < now() - make_interval(days => $1)",
        older_than_days,
    )
    return int(result.rsplit(" ", 1)[-1])
