"""Faults mid-stream: a worker killed with SIGKILL, the broker restarted, PostgreSQL stopped for
30 s. After each, every KPI equals the batch reference of the accepted events and the dead-letter
topic holds only the deliberately bad records, each with its reason.

Each test publishes a short primer of a generated day and waits until the worker has committed
it, publishes part 1 (with some bad records), injects its fault while the worker is still
storing part 1, then publishes part 2 (with more bad records).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import signal
import subprocess
import time
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
from aiokafka.admin import AIOKafkaAdminClient

from connectors.simulator import PortTrafficGenerator
from hub.db.schema_registry import SchemaRegistryStore
from hub.domain.kpis.model import KpiValue
from hub.domain.kpis.reference import all_kpis
from hub.domain.reference import BUNDLED_PORTS_FILE, load_ports
from hub.kafka_topics import DEADLETTER, INGEST_TOPICS
from schemas.avro_schemas import schema_text, subject_for
from schemas.codec import AvroCodec, frame
from schemas.models import Envelope, to_avro_datum
from streams.app import intake_group
from tests.integration.helpers import (
    KpiKey,
    Services,
    encode_events,
    eventually,
    kpi_differences,
    kpi_key,
    produce,
    read_topic,
    start_hub,
    stop_process,
    stored_kpis,
    window_differences,
    worker_environment,
    worker_started,
)
from tests.samples import samples

# A day at three ports, thinned: a few thousand events, so a test stays well within its bound.
PORTS = ("PECLL", "CLSAI", "ECGYE")
SCALE = 0.1
# The fault hits part 1 once the worker has stored this share of it (and not all of it).
FAULT_AFTER = 0.2
# Small batches: more offset commits and database rounds for a fault to fall between.
BATCH_SIZE = "100"
CATCH_UP_S = 120.0
POSTGRES_DOWN_S = 30.0


@dataclass(frozen=True)
class Traffic:
    """A generated day in three parts, and what the worker must make of it."""

    primer: list[Envelope]
    part1: list[Envelope]
    part2: list[Envelope]
    expected: dict[KpiKey, KpiValue]

    @property
    def events(self) -> list[Envelope]:
        return self.primer + self.part1 + self.part2


@functools.cache
def traffic() -> Traffic:
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    ports = [port for port in load_ports(BUNDLED_PORTS_FILE) if port.unlocode in PORTS]
    generator = PortTrafficGenerator(ports, seed=11, start=end - timedelta(days=2), scale=SCALE)
    day = list(generator.events_between(end - timedelta(days=1), end))
    # A short primer, committed before the fault; part 1 is the larger of the rest, so that
    # the worker is still busy with it when the fault comes.
    primer, split = len(day) // 20, len(day) * 2 // 3
    expected = {kpi_key(value): value for value in all_kpis(day)}
    assert expected, "the generated day gave no KPI"
    return Traffic(day[:primer], day[primer:split], day[split:], expected)


@dataclass(frozen=True)
class BadRecord:
    topic: str
    value: bytes
    reason: str


async def bad_records(pool: asyncpg.Pool, namespace: str, part: int) -> list[BadRecord]:
    """One record of each kind the worker must refuse, unique to this ``part`` (their bytes
    differ: fresh event ids, numbered garbage)."""
    codec = AvroCodec(SchemaRegistryStore(pool))
    vessel_topic = f"{namespace}{INGEST_TOPICS['vessel']}"
    cargo_topic = f"{namespace}{INGEST_TOPICS['cargo']}"
    now = datetime.now(UTC) - timedelta(minutes=2)

    async def vessel(**changes: object) -> bytes:
        datum = to_avro_datum(samples("vessel", now)[1]) | changes
        return await codec.encode(subject_for(vessel_topic), schema_text("vessel"), datum)

    cargo = to_avro_datum(samples("cargo", now)[1]) | {"crane_id": None}
    return [
        BadRecord(vessel_topic, f"not avro, bad record of part {part}".encode(), "UNDECODABLE"),
        BadRecord(vessel_topic, frame(987_000 + part, b"\x00"), "UNKNOWN_SCHEMA"),
        BadRecord(vessel_topic, await vessel(port="ZZZZZ"), "UNKNOWN_PORT"),
        BadRecord(vessel_topic, await vessel(imo="9074728"), "INVALID_IDENTIFIER"),
        BadRecord(
            cargo_topic,
            await codec.encode(subject_for(cargo_topic), schema_text("cargo"), cargo),
            "MISSING_FIELD",
        ),
    ]


@dataclass(frozen=True)
class Part:
    """A part of the stream, encoded in advance (so it can be sent while PostgreSQL, the
    embedded schema registry, is down)."""

    records: dict[str, list[bytes]]
    bad: list[BadRecord]


async def prepare(
    pool: asyncpg.Pool, namespace: str, events: Sequence[Envelope], bad: list[BadRecord]
) -> Part:
    records = await encode_events(pool, namespace, events)
    for index, record in enumerate(bad):
        # Spread among the good records: some come before the fault, some after.
        values = records.setdefault(record.topic, [])
        values.insert((index + 1) * len(values) // (len(bad) + 1), record.value)
    return Part(records, bad)


async def send(bootstrap: str, part: Part) -> None:
    for topic, values in part.records.items():
        await produce(bootstrap, topic, values)


async def stored_events(pool: asyncpg.Pool) -> int:
    return int(await pool.fetchval("SELECT count(*) FROM ingested_events"))


@dataclass(frozen=True)
class Stream:
    """What a test sent before its fault, and what it sends after."""

    part1: Part
    part2: Part

    @property
    def bad(self) -> list[BadRecord]:
        return self.part1.bad + self.part2.bad


async def stream_until_the_fault(
    services: Services, pool: asyncpg.Pool, namespace: str, day: Traffic, logs: Sequence[Path]
) -> Stream:
    """Send the primer and wait until the worker has committed its offsets; send part 1 and
    return once the worker has stored some of it but not all (fail if it had stored it all:
    the fault would not hit mid-stream). Part 2 is encoded, not sent."""
    primer = await prepare(pool, namespace, day.primer, [])
    stream = Stream(
        await prepare(pool, namespace, day.part1, await bad_records(pool, namespace, 1)),
        await prepare(pool, namespace, day.part2, await bad_records(pool, namespace, 2)),
    )
    admin = AIOKafkaAdminClient(bootstrap_servers=services.bootstrap)
    await admin.start()
    try:
        await send(services.bootstrap, primer)

        async def primer_committed() -> bool:
            group = intake_group(f"{namespace}worker")  # HUB_WORKER_ID of worker_environment
            return await committed_offsets(admin, group, namespace) >= len(day.primer)

        await eventually(primer_committed, 60, "the worker committing the primer", 0.2)
    finally:
        await admin.close()
    await send(services.bootstrap, stream.part1)
    before, events = len(day.primer), len(day.part1)
    stored = 0

    async def some_stored() -> bool:
        nonlocal stored
        stored = await stored_events(pool) - before
        return stored >= events * FAULT_AFTER

    try:
        await eventually(some_stored, 90, "the worker storing part 1", interval_s=0.1)
    except AssertionError as error:
        raise AssertionError(f"{error}: {stored} of {events} stored{tails(logs)}") from None
    assert stored < events, f"the worker had stored all {events} events before the fault"
    note(f"the fault comes with {stored} of part 1's {events} events stored")
    return stream


async def committed_offsets(admin: AIOKafkaAdminClient, group: str, namespace: str) -> int:
    """How many records of the ingest topics ``group`` has committed."""
    offsets = await admin.list_consumer_group_offsets(group)
    return sum(
        max(0, meta.offset)
        for partition, meta in offsets.items()
        if partition.topic.startswith(f"{namespace}ingest.")
    )


async def assert_caught_up(
    pool: asyncpg.Pool,
    events: Sequence[Envelope],
    expected: dict[KpiKey, KpiValue],
    logs: Sequence[Path],
) -> None:
    """Wait until every event is stored and the entity KPIs and their hourly and daily windows
    equal the batch reference; fail with the differences and the worker logs after CATCH_UP_S.
    """
    unique = len({event.event_id for event in events})
    differences: list[str] = []

    async def equal() -> bool:
        nonlocal differences
        stored = await stored_events(pool)
        differences = [f"{stored} of {unique} events stored"] if stored != unique else []
        if not differences:
            differences = kpi_differences(expected, await stored_kpis(pool))
        if not differences:  # windows follow their entity KPIs by a moment
            differences = await window_differences(pool, expected.values())
        return not differences

    try:
        await eventually(equal, CATCH_UP_S, "the KPIs to equal the batch reference", 2)
    except AssertionError as error:
        raise AssertionError(
            f"{error}: {len(differences)} differences, e.g. {differences[:5]}{tails(logs)}"
        ) from None
    # Re-delivered events are counted as duplicates, never as new events.
    counted, again = await pool.fetchrow(
        "SELECT coalesce(sum(events), 0), coalesce(sum(duplicates), 0) FROM port_event_counts"
    )
    note(f"the KPIs equal the batch reference; {again} events were delivered again")
    assert counted == unique, f"{counted} events counted, {unique} sent{tails(logs)}"


async def assert_only_bad_records_dead_lettered(
    bootstrap: str,
    namespace: str,
    bad: Sequence[BadRecord],
    logs: Sequence[Path],
    *,
    repeats_allowed: bool = False,
) -> None:
    """The dead-letter topic holds every bad record with its reason, and nothing else."""
    wanted = {record.value: record.reason for record in bad}
    dead = await read_topic(bootstrap, f"{namespace}{DEADLETTER}", len(wanted), timeout_s=30)
    problems: list[str] = []
    seen: Counter[bytes] = Counter()
    for value, headers in dead:
        reason = dict(headers).get("hub-reason", b"?").decode()
        seen[value] += 1
        if value not in wanted:
            problems.append(f"unexpected dead letter ({reason}): {value[:60]!r}")
        elif reason != wanted[value]:
            problems.append(f"a {wanted[value]} record dead-lettered as {reason}")
    problems += [
        f"{reason} record not dead-lettered" for v, reason in wanted.items() if not seen[v]
    ]
    repeated = {value: n for value, n in seen.items() if n > 1}
    if not repeats_allowed:
        problems += [f"{wanted.get(v)} record dead-lettered {n} times" for v, n in repeated.items()]
    note(f"{len(dead)} dead letters for {len(wanted)} bad records, {len(repeated)} repeated")
    assert not problems, f"{len(problems)} dead-letter problems: {problems[:8]}{tails(logs)}"


def note(what: str) -> None:
    """A timestamped progress line; pytest shows them when a test fails."""
    print(f"{datetime.now(UTC):%H:%M:%S} {what}")


def tails(logs: Sequence[Path], lines: int = 40) -> str:
    """The last ``lines`` of each worker log, for an assertion message."""
    text = ""
    for log in logs:
        if log.exists():
            last = log.read_text(errors="replace").splitlines()[-lines:]
            text += f"\n--- {log.name} (last {len(last)} lines) ---\n" + "\n".join(last)
    return text


def assert_running(worker: subprocess.Popen[bytes], logs: Sequence[Path]) -> None:
    status = worker.poll()
    assert status is None, f"the worker exited ({status}) under the fault{tails(logs)}"


def assert_stops_cleanly(worker: subprocess.Popen[bytes], logs: Sequence[Path]) -> None:
    """A worker that lived through a fault still stops on SIGTERM with status 0."""
    status = stop_process(worker, signal.SIGTERM, 30)
    assert status == 0, f"the worker stopped with status {status}{tails(logs)}"


@dataclass
class FaultRun:
    """One fault test under way: its worker (replaced by a restart), its pool (reopened after
    PostgreSQL comes back), their logs, the traffic and the stream cut at the fault."""

    services: Services
    namespace: str
    environment: dict[str, str]
    worker: subprocess.Popen[bytes]
    pool: asyncpg.Pool
    logs: list[Path]
    day: Traffic
    stream: Stream | None = None

    async def assert_recovered(self, *, repeats: bool = False) -> None:
        """After the fault: the KPIs equal the batch reference, only the bad records are
        dead-lettered (``repeats``: some maybe twice), the worker runs and stops cleanly."""
        assert self.stream is not None
        await assert_caught_up(self.pool, self.day.events, self.day.expected, self.logs)
        await assert_only_bad_records_dead_lettered(
            self.services.bootstrap, self.namespace, self.stream.bad, self.logs,
            repeats_allowed=repeats,
        )  # fmt: skip
        assert_running(self.worker, self.logs)
        assert_stops_cleanly(self.worker, self.logs)


@contextlib.asynccontextmanager
async def streamed_until_the_fault(
    services: Services, database: str, namespace: str, tmp_path: Path
) -> AsyncIterator[FaultRun]:
    """A worker started, the primer and some of part 1 taken in: the moment for the fault."""
    environment = worker_environment(services, database, namespace, tmp_path) | {
        "HUB_WORKER_BATCH_SIZE": BATCH_SIZE,
        # The worker's timers run during the fault too, not only its agents.
        "HUB_INDICATORS_INTERVAL_S": "2",
        "HUB_INDICATORS_MONTH_INTERVAL_S": "10",
    }
    logs = [tmp_path / "worker-1.log"]
    worker = start_hub(["worker"], environment, logs[0])
    pool = await asyncpg.create_pool(database, min_size=1, max_size=2)
    run = FaultRun(services, namespace, environment, worker, pool, logs, traffic())
    try:
        await eventually(lambda: worker_started(pool), 90, "the worker's start")
        run.stream = await stream_until_the_fault(services, pool, namespace, run.day, logs)
        yield run
    finally:
        await run.pool.close()
        if run.worker.poll() is None:
            stop_process(run.worker, signal.SIGTERM, 30)


@pytest.mark.timeout(180)
async def test_a_worker_killed_mid_stream_and_restarted_gives_the_batch_reference(
    services: Services, fresh_database: str, namespace: str, tmp_path: Path
) -> None:
    async with streamed_until_the_fault(services, fresh_database, namespace, tmp_path) as run:
        assert run.stream is not None
        run.worker.kill()  # SIGKILL: no shutdown, no last offset commit
        assert run.worker.wait(10) == -signal.SIGKILL
        await send(services.bootstrap, run.stream.part2)
        # The same environment, so the same consumer group: it resumes from the offsets the
        # first worker committed, and what that one stored after its last commit comes again.
        run.logs.append(tmp_path / "worker-2.log")
        run.worker = start_hub(["worker"], run.environment, run.logs[1])
        note("part 2 sent, a second worker started")
        # At-least-once: a bad record the killed worker dead-lettered after its last offset
        # commit is dead-lettered again by the second worker, so repeats are expected here.
        await run.assert_recovered(repeats=True)


@pytest.mark.timeout(180)
async def test_the_broker_restarted_mid_stream_gives_the_batch_reference(
    services: Services, fresh_database: str, namespace: str, tmp_path: Path
) -> None:
    async with streamed_until_the_fault(services, fresh_database, namespace, tmp_path) as run:
        assert run.stream is not None
        try:
            await asyncio.to_thread(services.kafka.stop)
        finally:
            await services.kafka.start()  # later tests of the session need the broker
        note("the broker is back")
        await send(services.bootstrap, run.stream.part2)
        await run.assert_recovered()


@pytest.mark.timeout(180)
async def test_postgres_stopped_for_30_s_mid_stream_gives_the_batch_reference(
    services: Services, fresh_database: str, namespace: str, tmp_path: Path
) -> None:
    async with streamed_until_the_fault(services, fresh_database, namespace, tmp_path) as run:
        assert run.stream is not None
        # This pool's connections die with the server: a new one is opened after.
        await run.pool.close()
        try:
            await asyncio.to_thread(services.postgres.stop)
            began = time.monotonic()
            # The stream goes on meanwhile (encoded before: the registry is in PostgreSQL).
            await send(services.bootstrap, run.stream.part2)
            await asyncio.sleep(max(0.0, POSTGRES_DOWN_S - (time.monotonic() - began)))
            assert_running(run.worker, run.logs)
        finally:
            await services.postgres.start()  # later tests of the session need the database
        note("PostgreSQL is back")
        run.pool = await asyncpg.create_pool(fresh_database, min_size=1, max_size=2)
        await run.assert_recovered()
