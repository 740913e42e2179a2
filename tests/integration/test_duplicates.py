"""Duplicates are counted once per distinct publication; the hub's own re-reads apart (issue 16)."""

from __future__ import annotations

import uuid

import asyncpg

from hub.db.migrations import migrate
from hub.db.store import IngestedEvent, record_events
from tests.samples import T0


def _event(event_id: uuid.UUID, origin: str | None) -> IngestedEvent:
    return IngestedEvent(
        event_id=event_id,
        domain="vessel",
        event_type="vessel.timestamp",
        port="PECLL",
        occurred_at=T0,
        entity_keys=("port_call:PECLL/1",),
        origin=origin,
    )


async def test_a_record_read_again_is_a_redelivery_and_a_publication_again_a_duplicate(
    fresh_database: str,
) -> None:
    connection = await asyncpg.connect(fresh_database)
    try:
        await migrate(connection)

        async def counts() -> tuple[int, int, int]:
            row = await connection.fetchrow(
                "SELECT events, duplicates, redeliveries FROM port_event_counts"
            )
            assert row is not None
            return row["events"], row["duplicates"], row["redeliveries"]

        a, b, c = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        assert await record_events(connection, [_event(a, "ingest.vessel/0/1")]) == {a}
        assert await counts() == (1, 0, 0)
        # The worker reads the same record again (a restart before its offsets committed).
        assert await record_events(connection, [_event(a, "ingest.vessel/0/1")]) == set()
        assert await counts() == (1, 0, 1)
        # The publisher sends the event again: another record, a duplicate publication.
        await record_events(connection, [_event(a, "ingest.vessel/2/7")])
        assert await counts() == (1, 1, 1)
        # ... and that second record read again is still one duplicate, not two.
        await record_events(connection, [_event(a, "ingest.vessel/2/7")])
        assert await counts() == (1, 1, 2)
        # Twice in one batch: one stored, one duplicate; the whole batch read again: re-reads.
        twice = [_event(b, "ingest.vessel/1/3"), _event(b, "ingest.vessel/1/4")]
        assert await record_events(connection, twice) == {b}
        assert await counts() == (2, 2, 2)
        await record_events(connection, twice)
        assert await counts() == (2, 2, 4)
        # Without an origin every duplicate counts as a publication (the old rule).
        await record_events(connection, [_event(c, None), _event(c, None)])
        assert await counts() == (3, 3, 4)
        stored = await connection.fetchval("SELECT count(*) FROM ingested_events")
        assert stored == 3
    finally:
        await connection.close()
