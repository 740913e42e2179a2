"""Helpers of the integration tests: settings, environments and hub subprocesses."""

from __future__ import annotations

import asyncio
import math
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from hub.db.schema_registry import SchemaRegistryStore
from hub.db.tokens import create_access_token
from hub.domain.kpis.model import KpiValue
from hub.domain.kpis.windows import window_aggregates
from hub.kafka_topics import INGEST_TOPICS
from hub.local.kafka import LocalKafka
from hub.local.postgres import LocalPostgres
from hub.settings import PROJECT_ROOT, HubSettings, load_settings
from schemas.avro_schemas import schema_text, subject_for
from schemas.codec import AvroCodec
from schemas.models import Envelope, to_avro_datum
from schemas.routing import domain_of

TEST_STATE_DIR = PROJECT_ROOT / ".hub" / "test-services"
TEST_KAFKA_PORT = int(os.environ.get("HUB_TEST_KAFKA_PORT", "29092"))
TEST_KAFKA_CONTROLLER_PORT = TEST_KAFKA_PORT + 1
TEST_KAFKA_TENANT_PORT = TEST_KAFKA_PORT + 2
TEST_POSTGRES_PORT = int(os.environ.get("HUB_TEST_POSTGRES_PORT", "55433"))
# Durations are compared within a second, whatever their unit.
SECOND_IN = {"h": 1 / 3600, "min": 1 / 60, "days": 1 / 86400}

KpiKey = tuple[str, str, str]
"""(entity_kind, entity_id, kpi): one row of ``entity_kpis``."""


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
    # The tests drive the API far faster than a publisher would; the limit has its unit tests.
    environment["HUB_RATE_LIMIT_PER_S"] = "100000"
    environment["HUB_RATE_LIMIT_BURST"] = "100000"
    environment.update(settings)
    return environment


def worker_environment(
    services: Services, database: str, namespace: str, tmp_path: Path
) -> dict[str, str]:
    """The environment of a worker on ``database`` and ``namespace`` (its consumer group too)."""
    return hub_environment(
        HUB_KAFKA_BOOTSTRAP=services.bootstrap,
        DATABASE_URL=database,
        HUB_TOPIC_NAMESPACE=namespace,
        HUB_WORKER_ID=f"{namespace}worker",
        HUB_STATE_DIR=str(tmp_path / "state"),
        HUB_WORKER_HEARTBEAT_S="1",
        HUB_TOPIC_PARTITIONS="4",
    )


def api_environment(
    services: Services, database: str, namespace: str, tmp_path: Path
) -> dict[str, str]:
    """:func:`worker_environment` with an HTTP port of its own, for a `hub api`."""
    return worker_environment(services, database, namespace, tmp_path) | {
        "HUB_HTTP_PORT": str(free_port())
    }


@asynccontextmanager
async def running_api(environment: dict[str, str], log: Path) -> AsyncIterator[httpx.AsyncClient]:
    """A `hub api` process on ``environment`` (its log in ``log``), and a client of it once it
    answers; the process is stopped (SIGTERM) when the block ends."""
    api = start_hub(["api"], environment, log)
    try:
        base_url = f"http://127.0.0.1:{environment['HUB_HTTP_PORT']}"
        async with httpx.AsyncClient(base_url=base_url) as client:
            await api_answering(client)
            yield client
    finally:
        stop_process(api, signal.SIGTERM, 30)


@asynccontextmanager
async def running_hub(environment: dict[str, str], folder: Path) -> AsyncIterator[str]:
    """A `hub api` and a `hub worker` on ``environment`` (logs in ``folder``), once ``/health``
    says both are up; yields the API's base URL. Both are stopped (SIGTERM) when the block ends."""
    api = start_hub(["api"], environment, folder / "api.log")
    worker = start_hub(["worker"], environment, folder / "worker.log")
    base_url = f"http://127.0.0.1:{environment['HUB_HTTP_PORT']}"
    try:
        async with httpx.AsyncClient(base_url=base_url) as client:

            async def healthy() -> bool:
                try:
                    return (await client.get("/health")).status_code == 200
                except httpx.TransportError:
                    return False

            await eventually(healthy, 90, "the API and worker to be healthy")
        yield base_url
    finally:
        try:
            stop_process(api, signal.SIGTERM, 30)
        finally:
            stop_process(worker, signal.SIGTERM, 30)


def settings_for(
    services: Services, database_url: str, namespace: str, **extra: object
) -> HubSettings:
    return load_settings(
        {},
        kafka={"bootstrap": services.bootstrap, "topic_namespace": namespace},
        database={"url": database_url},
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
    # The child keeps its own copy of the log's descriptor; ours is closed at once.
    with log.open("wb") as handle:
        return subprocess.Popen(
            [sys.executable, "-m", "hub", *arguments],
            env=environment,
            stdout=handle,
            stderr=subprocess.STDOUT,
            cwd=PROJECT_ROOT,
        )


class PublisherClient(httpx.AsyncClient):
    """An HTTP client that behaves as the hub asks publishers to: a 503 ("not delivered, send it
    again") is sent again after its ``Retry-After``, for up to ``retry_for_s``. The broker of a
    loaded test machine sometimes cannot take a record on a topic created seconds before; the
    API then answers 503 and the publisher's next try goes through."""

    def __init__(self, *args: Any, retry_for_s: float = 60.0, **kwargs: Any) -> None:
        kwargs.setdefault("timeout", 30.0)
        super().__init__(*args, **kwargs)
        self._retry_for_s = retry_for_s

    async def send(self, request: httpx.Request, **kwargs: Any) -> httpx.Response:
        deadline = time.monotonic() + self._retry_for_s
        while True:
            response = await super().send(request, **kwargs)
            if response.status_code != 503 or time.monotonic() >= deadline:
                return response
            await response.aclose()
            await asyncio.sleep(min(float(response.headers.get("retry-after", "1") or 1), 5.0))


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


async def api_answering(client: httpx.AsyncClient, timeout_s: float = 90) -> None:
    """Wait until a freshly started `hub api` answers ``/health`` (ok or not: the worker may be
    absent)."""

    async def answering() -> bool:
        try:
            return (await client.get("/health")).status_code in (200, 503)
        except httpx.TransportError:
            return False

    await eventually(answering, timeout_s, "the API to answer")


async def reader_token(database_url: str, label: str = "tests") -> str:
    """A new read:kpis token (as `hub tokens add-reader` makes) in the hub's database, which must
    be migrated already (a started `hub api` or `hub run` has done it): every test that reads
    KPIs, indicators or the ports list over HTTP sends one."""
    connection = await asyncpg.connect(database_url)
    try:
        return await create_access_token(connection, "kpis", "", label)
    finally:
        await connection.close()


def bearer(token: str) -> dict[str, str]:
    """The ``Authorization`` header that presents ``token``."""
    return {"Authorization": f"Bearer {token}"}


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


async def encode_events(
    pool: asyncpg.Pool, namespace: str, events: Sequence[Envelope]
) -> dict[str, list[bytes]]:
    """``events`` as Confluent Avro by ingest topic (in their order), registered in the embedded
    registry of ``pool``'s database."""
    codec = AvroCodec(SchemaRegistryStore(pool))
    by_topic: dict[str, list[bytes]] = {}
    for event in events:
        domain = domain_of(event)
        topic = f"{namespace}{INGEST_TOPICS[domain]}"
        value = await codec.encode(subject_for(topic), schema_text(domain), to_avro_datum(event))
        by_topic.setdefault(topic, []).append(value)
    return by_topic


async def publish_events(
    bootstrap: str, pool: asyncpg.Pool, namespace: str, events: Sequence[Envelope]
) -> None:
    """Send ``events`` to their ingest topics as Confluent Avro, registered in the embedded
    registry of ``pool``'s database; events of one topic keep their order."""
    for topic, values in (await encode_events(pool, namespace, events)).items():
        await produce(bootstrap, topic, values)


def kpi_key(value: KpiValue) -> KpiKey:
    return (value.entity_kind, value.entity_id, value.kpi)


async def stored_kpis(pool: asyncpg.Pool) -> dict[KpiKey, dict[str, Any]]:
    rows = await pool.fetch("SELECT * FROM entity_kpis")
    return {(r["entity_kind"], r["entity_id"], r["kpi"]): dict(r) for r in rows}


def kpi_differences(
    expected: dict[KpiKey, KpiValue], stored: dict[KpiKey, dict[str, Any]]
) -> list[str]:
    """How the stored entity KPIs differ from ``expected`` (none: equal)."""
    problems = [f"missing {key}" for key in expected.keys() - stored.keys()]
    problems += [f"unexpected {key}" for key in stored.keys() - expected.keys()]
    for key in expected.keys() & stored.keys():
        want, got = expected[key], stored[key]
        if (want.value is None) != (got["value"] is None) or want.flag != got["flag"]:
            problems.append(f"{key}: {want.value}/{want.flag} != {got['value']}/{got['flag']}")
        elif want.value is not None:
            tolerance = SECOND_IN.get(want.unit, 1e-9)
            if not math.isclose(want.value, got["value"], rel_tol=1e-9, abs_tol=tolerance):
                problems.append(f"{key}: {want.value} != {got['value']}")
        if want.anchor_time != got["anchor_time"]:
            problems.append(f"{key}: anchor {want.anchor_time} != {got['anchor_time']}")
    return problems


async def window_differences(pool: asyncpg.Pool, expected: Iterable[KpiValue]) -> list[str]:
    """How the stored hourly and daily ``kpi_windows`` differ from the windows of ``expected``
    (none: equal)."""
    values = list(expected)
    problems: list[str] = []
    for granularity in ("hour", "day"):
        reference = {
            (w.port, w.window_start, w.kpi): w for w in window_aggregates(values, granularity)
        }
        rows = await pool.fetch("SELECT * FROM kpi_windows WHERE granularity = $1", granularity)
        stored = {(r["port"].strip(), r["window_start"], r["kpi"]): r for r in rows}
        problems += [f"{granularity} missing {key}" for key in reference.keys() - stored.keys()]
        problems += [f"{granularity} unexpected {key}" for key in stored.keys() - reference.keys()]
        for key in reference.keys() & stored.keys():
            window, row = reference[key], stored[key]
            if row["count"] != window.count:
                problems.append(f"{granularity} {key}: count {window.count} != {row['count']}")
            for field in ("total", "mean", "median", "p90"):
                want, got = getattr(window, field), row[field]
                if not math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-6):
                    problems.append(f"{granularity} {key}: {field} {want} != {got}")
    return problems
