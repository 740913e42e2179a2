"""The worker's last line of defence: an event PostgreSQL will not store never stops it."""

from __future__ import annotations

import uuid
from datetime import timedelta

import asyncpg

from hub.db.events import IngestedEvent
from hub.db.migrations import migrate
from schemas.rejections import RejectReason
from streams.error_policies import record_or_refuse
from tests.samples import T0


def _event(port_call: str) -> IngestedEvent:
    return IngestedEvent(
        event_id=uuid.uuid4(),
        domain="vessel",
        event_type="vessel.timestamp",
        port="PECLL",
        occurred_at=T0,
        entity_keys=(f"port_call:PECLL/{port_call}",),
    )


async def test_a_batch_postgresql_refuses_is_stored_but_for_the_event_it_refuses(
    fresh_database: str,
) -> None:
    connection = await asyncpg.connect(fresh_database)
    try:
        await migrate(connection)
    finally:
        await connection.close()
    pool = await asyncpg.create_pool(fresh_database, min_size=1, max_size=2)
    try:
        # A NUL in an entity key: jsonb refuses it (the checks refuse it first since issue 16).
        good, bad, also_good = _event("PECLL-1"), _event("PECLL-\x00-1"), _event("PECLL-2")
        recorded, refused = await record_or_refuse(
            pool, [good, bad, also_good], timedelta(hours=168)
        )
        assert recorded == {good.event_id, also_good.event_id}
        assert list(refused) == [1]
        assert refused[1].reason is RejectReason.UNSTORABLE
        assert "PostgreSQL refused it" in refused[1].detail
        stored = {
            row["event_id"] for row in await pool.fetch("SELECT event_id FROM ingested_events")
        }
        assert stored == {good.event_id, also_good.event_id}
    finally:
        await pool.close()
