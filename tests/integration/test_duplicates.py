"""Duplicates are counted once per distinct publication; the hub's own re-reads apart (issue 16)."""

from __future__ import annotations

import signal
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from hub.db.events import IngestedEvent, record_events
from hub.db.migrations import migrate
from schemas.models import VesselEvent
from tests.integration.helpers import (
    Services,
    api_environment,
    encode_events,
    eventually,
    free_port,
    produce,
    start_hub,
    stop_process,
    worker_started,
)
from tests.samples import T0, samples


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


async def test_records_the_hub_reads_again_are_not_counted_as_duplicates_end_to_end(
    services: Services, fresh_database: str, namespace: str, tmp_path: Path
) -> None:
    """Item 9's reproduction: a publisher sends 9 events once; the hub reads them again through
    a second gateway and a second worker (new consumer groups start from the beginning, as a
    restart before a commit would). Only what publishers sent twice counts as a duplicate."""
    environment = api_environment(services, fresh_database, namespace, tmp_path)
    second = environment | {
        "HUB_WORKER_ID": f"{namespace}again",
        "HUB_HTTP_PORT": str(free_port()),
    }
    admin = AIOKafkaAdminClient(bootstrap_servers=services.bootstrap)
    await admin.start()
    processes = [
        start_hub(["api"], environment, tmp_path / "api.log"),
        start_hub(["worker"], environment, tmp_path / "worker.log"),
    ]
    pool = await asyncpg.create_pool(fresh_database, min_size=1, max_size=2)
    try:
        await eventually(lambda: worker_started(pool), 90, "the worker to start")
        tenant_topic = f"{namespace}ports.PECLL.vessel"
        await admin.create_topics([NewTopic(tenant_topic, 1, 1)])
        at = datetime.now(UTC) - timedelta(minutes=5)
        by_gateway = [_vessel(at) for _ in range(4)]
        direct = [_vessel(at) for _ in range(5)]
        encoded = await encode_events(pool, namespace, [*by_gateway, *direct])
        [ingest_topic] = encoded
        await produce(services.bootstrap, tenant_topic, encoded[ingest_topic][:4])
        await produce(services.bootstrap, ingest_topic, encoded[ingest_topic][4:])

        async def counts() -> tuple[int, int, int]:
            row = await pool.fetchrow(
                "SELECT coalesce(sum(events), 0) AS e, coalesce(sum(duplicates), 0) AS d, "
                "coalesce(sum(redeliveries), 0) AS r FROM port_event_counts"
            )
            assert row is not None
            return int(row["e"]), int(row["d"]), int(row["r"])

        await eventually(lambda: _is(counts, (9, 0, 0)), 60, "the 9 events to be stored")
        # The publisher sends two of the direct ones again: two duplicate publications.
        await produce(services.bootstrap, ingest_topic, encoded[ingest_topic][4:6])
        await eventually(lambda: _is(counts, (9, 2, 0)), 60, "two duplicates to be counted")
        # A second gateway and a second worker read everything again.
        processes.append(start_hub(["api"], second, tmp_path / "api-again.log"))
        processes.append(start_hub(["worker"], second, tmp_path / "worker-again.log"))
        # Worker 2 re-reads 4 forwarded + 5 + 2 records; both workers (two groups) read
        # gateway 2's 4 re-forwards.
        try:
            # At least: a rebalance may make a worker read a record once more, never a duplicate.
            await eventually(lambda: _reread(counts, 4 + 5 + 2 + 4 * 2), 90, "the re-reads")
        except AssertionError as error:
            raise AssertionError(
                f"{error}: events, duplicates, re-reads {await counts()}"
            ) from None
        assert await pool.fetchval("SELECT count(*) FROM ingested_events") == 9
    finally:
        await pool.close()
        await admin.close()
        for process in processes:
            stop_process(process, signal.SIGTERM, 30)


async def _is(counts: Callable[[], Awaitable[tuple[int, int, int]]], want: tuple[int, ...]) -> bool:
    return await counts() == want


async def _reread(counts: Callable[[], Awaitable[tuple[int, int, int]]], least: int) -> bool:
    events, duplicates, rereads = await counts()
    assert (events, duplicates) == (9, 2), "a re-read was counted as an event or a duplicate"
    return rereads >= least


def _vessel(at: datetime) -> VesselEvent:
    event = samples("vessel", at)[-1]
    assert isinstance(event, VesselEvent)
    return event.model_copy(update={"event_id": uuid.uuid4(), "retracts_event_id": None})
