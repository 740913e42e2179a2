"""A real worker process against the real broker and database: events land, duplicates do not
double-count, and bad records go to the dead-letter topic with their reason."""

from __future__ import annotations

import asyncio
import itertools
import json
import signal
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from connectors.generator import VesselTrafficGenerator
from hub.kafka_topics import DEADLETTER, INGEST_VESSEL
from hub.reference import load_ports
from hub.settings import BUNDLED_PORTS_FILE
from schemas.events import encode
from tests.integration.helpers import (
    Services,
    eventually,
    hub_environment,
    start_hub,
    stop_process,
)

VALID_EVENTS = 120
DUPLICATES = 15


def _bad_records() -> dict[str, bytes]:
    """One record built to fail each intake check, by the reason it must get."""
    valid = json.loads(
        encode(next(VesselTrafficGenerator(load_ports(BUNDLED_PORTS_FILE), seed=7).events()))
    )
    return {
        "UNDECODABLE": b"\xff\xfe not json",
        "SCHEMA_INVALID": json.dumps({k: v for k, v in valid.items() if k != "imo"}).encode(),
        "INVALID_IDENTIFIER": json.dumps({**valid, "imo": "9074728"}).encode(),
        "UNKNOWN_PORT": json.dumps(
            {**valid, "port": "XXABC", "event_id": str(uuid.uuid4())}
        ).encode(),
    }


async def test_worker_records_events_once_and_dead_letters_bad_ones(
    services: Services, fresh_database: str, namespace: str, tmp_path: Path
) -> None:
    worker = start_hub(
        ["worker"],
        hub_environment(
            HUB_KAFKA_BOOTSTRAP=services.bootstrap,
            DATABASE_URL=fresh_database,
            HUB_TOPIC_NAMESPACE=namespace,
            HUB_WORKER_ID=f"{namespace}worker",
            HUB_STATE_DIR=str(tmp_path / "state"),
            HUB_WORKER_HEARTBEAT_S="1",
            HUB_TOPIC_PARTITIONS="3",
        ),
        tmp_path / "worker.log",
    )
    database = await asyncpg.connect(fresh_database)
    try:
        await eventually(
            lambda: _has_heartbeat(database, worker.pid), 90, "the worker's first heartbeat"
        )
        generated = list(
            itertools.islice(
                VesselTrafficGenerator(load_ports(BUNDLED_PORTS_FILE), seed=11).events(),
                VALID_EVENTS,
            )
        )
        bad = _bad_records()
        records = [encode(event) for event in generated]
        records += [encode(event) for event in generated[:DUPLICATES]]  # at-least-once replays
        records += list(bad.values())
        await _produce(services.bootstrap, f"{namespace}{INGEST_VESSEL}", records)

        expected_per_port = Counter(event.port for event in generated)

        async def all_counted() -> bool:
            total = await database.fetchval(
                "SELECT coalesce(sum(events), 0) FROM port_event_counts"
            )
            rejected = await database.fetchval(
                "SELECT coalesce(sum(events), 0) FROM rejected_event_counts"
            )
            return bool(total >= VALID_EVENTS and rejected >= len(bad))

        await eventually(all_counted, 60, "every event counted")
        await asyncio.sleep(2)  # let any double count show up before asserting exact figures
        rows = await database.fetch("SELECT port, events FROM port_event_counts")
        assert {row["port"]: row["events"] for row in rows} == dict(expected_per_port)
        assert await database.fetchval("SELECT count(*) FROM ingested_events") == VALID_EVENTS
        rejections = await database.fetch("SELECT reason, events FROM rejected_event_counts")
        assert {row["reason"]: row["events"] for row in rejections} == dict.fromkeys(bad, 1)

        dead = await _read_all(services.bootstrap, f"{namespace}{DEADLETTER}", len(bad))
        by_reason = {dict(headers)["hub-reason"].decode(): value for value, headers in dead}
        assert by_reason == bad  # the original bytes, kept with their reason
        for _, headers in dead:
            assert dict(headers)["hub-source-topic"] == f"{namespace}{INGEST_VESSEL}".encode()
            assert dict(headers)["hub-detail"]
    finally:
        await database.close()
        status = stop_process(worker, signal.SIGTERM, 30)
    assert status == 0, (tmp_path / "worker.log").read_text()[-3000:]


async def _has_heartbeat(database: asyncpg.Connection, pid: int) -> bool:
    try:
        found = await database.fetchval(
            "SELECT count(*) FROM worker_heartbeats WHERE pid = $1 "
            "AND last_seen > now() - interval '5 seconds'",
            pid,
        )
    except asyncpg.UndefinedTableError:
        return False  # the worker has not applied the migrations yet
    return bool(found)


async def _produce(bootstrap: str, topic: str, records: list[bytes]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        deliveries = [await producer.send(topic, record) for record in records]
        await asyncio.gather(*deliveries)
    finally:
        await producer.stop()


async def _read_all(
    bootstrap: str, topic: str, expected: int
) -> list[tuple[bytes, list[tuple[str, bytes]]]]:
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None
    )
    await consumer.start()
    found: list[tuple[bytes, list[tuple[str, bytes]]]] = []
    deadline = datetime.now(UTC).timestamp() + 30
    try:
        while len(found) < expected and datetime.now(UTC).timestamp() < deadline:
            batches = await consumer.getmany(timeout_ms=2000)
            for batch in batches.values():
                found += [(r.value or b"", list(r.headers)) for r in batch]
    finally:
        await consumer.stop()
    return found
