"""Who owns what among the stored events: the port of an event, the port holding a certificate.

A port may act only on what is its own (issue 16): the worker's intake asks these before it
records a batch, and the certificate stage asks again under the certificate's lock.
"""

from __future__ import annotations

from collections.abc import Collection
from uuid import UUID

import asyncpg

from hub.db.event_keys import hits, stored_rows, wanted


async def event_ports(
    connection: asyncpg.Connection | asyncpg.Pool, event_ids: Collection[UUID]
) -> dict[UUID, str]:
    """The port of each stored event among ``event_ids`` (absent: not stored)."""
    if not event_ids:
        return {}
    rows = await connection.fetch(
        "SELECT event_id, port FROM ingested_events WHERE event_id = ANY($1::uuid[])",
        list(event_ids),
    )
    return {row["event_id"]: row["port"].strip() for row in rows}


async def submitting_ports(
    connection: asyncpg.Connection | asyncpg.Pool, keys: Collection[str]
) -> dict[str, str]:
    """The port holding each certificate key among ``keys`` (``certificate:<id>``, see
    :func:`streams.certificate_stage.certificate_keys`): the port of its first stored
    submission, in order of recording (then of ``event_id``, so that two workers racing on one
    id still agree). Absent: no submission stored."""
    if not keys:
        return {}
    lookup = wanted(keys)
    rows = await connection.fetch(
        f"""
        WITH {hits(lookup)}
        SELECT DISTINCT ON (hits.key) hits.key, e.port
        FROM {stored_rows("hits", "e.port, e.domain, e.ingested_at, e.event_id")}
        WHERE e.domain = 'certificate'
        ORDER BY hits.key, e.ingested_at, e.event_id
        """,
        *lookup.arguments,
    )
    return {row["key"]: row["port"].strip() for row in rows}
