"""Helpers of the integration tests: settings, environments and hub subprocesses."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from connectors.generator import domain_of
from hub.kafka_topics import INGEST_TOPICS
from hub.local.kafka import LocalKafka
from hub.local.postgres import LocalPostgres
from hub.registry.store import SchemaRegistryStore
from hub.settings import PROJECT_ROOT, HubSettings, load_settings
from schemas.avro_schemas import schema_text, subject_for
from schemas.codec import AvroCodec
from schemas.models import Envelope, to_avro_datum

TEST_STATE_DIR = PROJECT_ROOT / ".hub" / "test-services"
TEST_KAFKA_PORT = int(os.environ.get("HUB_TEST_KAFKA_PORT", "29092"))
TEST_KAFKA_CONTROLLER_PORT = TEST_KAFKA_PORT + 1
TEST_POSTGRES_PORT = int(os.environ.get("HUB_TEST_POSTGRES_PORT", "55433"))


@dataclass(frozen=True)
class Services:
    kafka: LocalKafka
    postgres: LocalPostgres
    run_id: str

    @property
    def bootstrap(self) -> str:
        return self.kafka.bootstrap

    def database_url(self, name: str) -> str:
        return self.postgres.url(name)


def hub_environment(**settings: str) -> dict[str, str]:
    """This process's environment without HUB_*, DATABASE_URL and PG*, plus ``settings``
    (worker metrics off unless asked for: tests run workers side by side)."""
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("HUB_", "PG")) and name != "DATABASE_URL"
    }
    environment["HUB_WORKER_METRICS_PORT"] = "0"
    environment.update(settings)
    return environment


def settings_for(
    services: Services, database_url: str, namespace: str, **extra: object
) -> HubSettings:
    return load_settings(
        {},
        kafka_bootstrap=services.bootstrap,
        database_url=database_url,
        topic_namespace=namespace,
        state_dir=TEST_STATE_DIR,
        **extra,
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_hub(
    arguments: list[str], environment: dict[str, str], log: Path
) -> subprocess.Popen[bytes]:
    handle = log.open("wb")
    return subprocess.Popen(
        [sys.executable, "-m", "hub", *arguments],
        env=environment,
        stdout=handle,
        stderr=subprocess.STDOUT,
        cwd=PROJECT_ROOT,
    )


async def eventually(
    check: Callable[[], Awaitable[bool]], timeout_s: float, what: str, interval_s: float = 0.5
) -> None:
    """Wait until ``check()`` is true; fail naming ``what`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(interval_s)
    raise AssertionError(f"{what} did not happen within {timeout_s:.0f} s")


def stop_process(process: subprocess.Popen[bytes], signal_number: int, timeout_s: float) -> int:
    """Send ``signal_number``, wait for the exit status (kill and fail after ``timeout_s``)."""
    process.send_signal(signal_number)
    try:
        return process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise AssertionError(
            f"process {process.pid} did not stop within {timeout_s:.0f} s"
        ) from None


async def produce(bootstrap: str, topic: str, records: list[bytes]) -> None:
    """Send ``records`` to ``topic`` and wait until every one is acknowledged."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        deliveries = [await producer.send(topic, record) for record in records]
        await asyncio.gather(*deliveries)
    finally:
        await producer.stop()


async def read_topic(
    bootstrap: str, topic: str, expected: int, timeout_s: float = 30
) -> list[tuple[bytes, list[tuple[str, bytes]]]]:
    """Values and headers of ``topic`` from the start, until ``expected`` came or time ran out."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None
    )
    await consumer.start()
    found: list[tuple[bytes, list[tuple[str, bytes]]]] = []
    deadline = time.monotonic() + timeout_s
    try:
        while len(found) < expected and time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=1000)
            for batch in batches.values():
                found += [(record.value or b"", list(record.headers)) for record in batch]
        # Anything beyond what was expected would be a fault too: give it a moment to show.
        for batch in (await consumer.getmany(timeout_ms=1000)).values():
            found += [(record.value or b"", list(record.headers)) for record in batch]
    finally:
        await consumer.stop()
    return found


async def worker_started(pool: asyncpg.Pool) -> bool:
    """A worker has migrated the database and reported alive."""
    try:
        return bool(await pool.fetchval("SELECT count(*) FROM worker_heartbeats"))
    except asyncpg.UndefinedTableError:
        return False


async def publish_events(
    bootstrap: str, pool: asyncpg.Pool, namespace: str, events: Sequence[Envelope]
) -> None:
    """Send ``events`` to their ingest topics as Confluent Avro, registered in the embedded
    registry of ``pool``'s database; events of one topic keep their order."""
    codec = AvroCodec(SchemaRegistryStore(pool))
    by_topic: dict[str, list[bytes]] = {}
    for event in events:
        domain = domain_of(event)
        topic = f"{namespace}{INGEST_TOPICS[domain]}"
        value = await codec.encode(subject_for(topic), schema_text(domain), to_avro_datum(event))
        by_topic.setdefault(topic, []).append(value)
    for topic, values in by_topic.items():
        await produce(bootstrap, topic, values)
