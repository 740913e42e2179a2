"""The faust application: built from the hub's settings, run by ``hub worker``.

One intake agent per event domain reads ``ingest.<domain>`` (Confluent-framed Avro), checks each
record (:mod:`hub.ingest.decode`), records accepted events idempotently in PostgreSQL and sends
refused ones to ``hub.deadletter`` with their reason. A poison record never stops a worker: it
is dead-lettered like any other refusal.

Faust pitfall handled here, once: ``Stream.take_events`` acks a batch in a ``finally`` block,
so an exception escaping the agent would commit offsets of events never recorded. The agent
therefore (a) retries database and registry calls until they succeed, and (b) on any other
error ends the process at once (:func:`_fail_stop`), before the next offset commit, so that the
batch is delivered again to the restarted worker.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import os
import socket
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from uuid import UUID

import asyncpg
import faust
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from faust.types import EventT

from hub.db import store
from hub.db.kpi_store import mark_dirty
from hub.db.ports import port_berths
from hub.db.store import IngestedEvent
from hub.db.verdicts import StoredVerdict
from hub.domain.indicators.mechanisms import load_mechanisms
from hub.domain.indicators.model import PortInfo
from hub.domain.reference import load_ports
from hub.ingest.deadletter import dead_letter
from hub.ingest.decode import take_in
from hub.kafka_topics import (
    DEADLETTER,
    INDICATORS,
    INGEST_TOPICS,
    KPI_TOPICS,
    KPI_WINDOWS,
    ORIGIN_HEADER,
    validations_topic,
)
from hub.services import schema_source
from hub.settings import HubSettings
from schemas.avro_schemas import parsed_schema
from schemas.codec import AvroCodec
from schemas.models import Envelope
from schemas.registry_client import RegistryError
from schemas.rejections import Rejected, RejectReason
from streams import metrics
from streams.certificate_stage import certificate_keys, update_verdicts
from streams.indicator_stage import update_indicators
from streams.kpi_stage import (
    EventCache,
    KpiFlusher,
    KpiUpdate,
    PendingLatency,
    dirty_keys,
    stored_keys,
)
from streams.ownership import ownership_refusals
from streams.publish import BulkProducer

log = logging.getLogger(__name__)
T = TypeVar("T")

# Retry delays grow to this; the batch is not acked meanwhile, so nothing is lost while
# PostgreSQL or the registry restarts.
_RETRY_MAX_DELAY_S = 10.0
_BATCH_WITHIN_S = 1.0
_LAG_INTERVAL_S = 10.0
_FLUSH_IDLE_S = 0.1
_TRANSIENT_ERRORS = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    # A connection the server terminated (PostgreSQL stopping) can surface as "cannot switch to
    # state …; another operation is in progress" (asyncpg#1069); the pool drops that connection,
    # so the retry gets a new one.
    asyncpg.InternalClientError,
    # Batches and flushers take rows in one order; should PostgreSQL still pick a victim, the
    # round is simply run again.
    asyncpg.DeadlockDetectedError,
    RegistryError,
    KafkaError,  # a broker restarting: the KPI flusher's marks and the batch stay for the retry
)


# PostgreSQL refusing an event's content (not being away): retrying would loop for ever.
_UNSTORABLE = (
    asyncpg.DataError,
    asyncpg.IntegrityConstraintViolationError,
    asyncpg.ProgramLimitExceededError,
)

# What a timer may meet while PostgreSQL is away; the next turn tries again.
_DATABASE_ERRORS = (
    OSError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,  # a terminated connection, see _TRANSIENT_ERRORS
)


class WorkerState:
    """What the worker knows outside faust: the database pool, the codec, its counters."""

    def __init__(self, settings: HubSettings, database_url: str | None) -> None:
        self.settings = settings
        self.database_url = database_url
        self.started_at = datetime.now(UTC)
        self.instance = f"{socket.gethostname()}:{os.getpid()}"
        self.events_in = 0
        self.known_ports: frozenset[str] = frozenset()
        self.berths: dict[str, int | None] = {}
        self.cache = EventCache()
        self.pending = PendingLatency()
        self._pool: asyncpg.Pool | None = None
        self._pool_lock = asyncio.Lock()
        self._codec: AvroCodec | None = None

    async def pool(self) -> asyncpg.Pool:
        async with self._pool_lock:  # the agents, timers and flusher all ask at start
            if self._pool is None:
                pool = await asyncpg.create_pool(
                    self.database_url, min_size=1, max_size=6, command_timeout=30
                )
                try:
                    berths = await port_berths(pool)
                except BaseException:
                    await pool.close()
                    raise
                self.known_ports = frozenset(berths)
                # In place: the KPI flusher holds this mapping.
                self.berths.clear()
                self.berths.update(berths)
                self._pool = pool
            return self._pool

    async def codec(self) -> AvroCodec:
        if self._codec is None:
            self._codec = AvroCodec(schema_source(self.settings, await self.pool()))
        return self._codec


def faust_broker_urls(bootstrap: str) -> list[str]:
    return [f"kafka://{server.strip()}" for server in bootstrap.split(",")]


def create_app(settings: HubSettings, bootstrap: str, database_url: str | None) -> faust.App:
    """Build the faust app and its agents for one deployment."""
    datadir = settings.state_dir / "faust" / settings.worker_id
    datadir.mkdir(parents=True, exist_ok=True)
    app = faust.App(
        settings.worker_id,
        broker=faust_broker_urls(bootstrap),
        store="memory://",
        web_enabled=False,
        datadir=str(datadir),
        topic_partitions=settings.topic_partitions,
        topic_replication_factor=settings.topic_replication_factor,
        producer_acks=-1,
        consumer_auto_offset_reset="earliest",
        # A worker killed without leaving its group holds its partitions until the session
        # times out (faust's default: 60 s): the restarted or surviving worker waits that long.
        broker_session_timeout=10.0,
        broker_heartbeat_interval=3.0,
    )
    state = WorkerState(settings, database_url)

    def raw_topic(name: str) -> faust.TopicT:
        return app.topic(settings.topic(name), key_serializer="raw", value_serializer="raw")

    outputs = Outputs(
        deadletter=raw_topic(DEADLETTER),
        bulk=BulkProducer(bootstrap),
        kpis={kind: settings.topic(name) for kind, name in KPI_TOPICS.items()},
        windows=settings.topic(KPI_WINDOWS),
        topic=settings.topic,
    )
    for domain, topic_name in INGEST_TOPICS.items():
        agent = _intake_agent(domain, state, outputs)
        app.agent(raw_topic(topic_name), name=f"intake-{domain}")(agent)

    async def publish_kpis(update: KpiUpdate) -> None:
        await _emit(outputs, update)
        done = state.pending.published(update.groups)
        metrics.observe_latency(
            (occurred for occurred, _ in done), (arrived for _, arrived in done), datetime.now(UTC)
        )

    flusher = KpiFlusher(
        state.berths,
        publish_kpis,
        state.cache,
        arrival_tolerance=timedelta(minutes=settings.ais_arrival_tolerance_min),
    )

    @app.task  # type: ignore[untyped-decorator]
    async def keep_kpis() -> None:
        await _flush_forever(flusher, state)

    @app.timer(interval=settings.worker_heartbeat_s, on_leader=False)  # type: ignore[untyped-decorator]
    async def report_alive() -> None:
        try:
            pool = await state.pool()
            await store.heartbeat(
                pool,
                f"{settings.worker_id}@{state.instance}",
                socket.gethostname(),
                os.getpid(),
                state.started_at,
                state.events_in,
            )
        except _DATABASE_ERRORS as error:
            log.warning("heartbeat not recorded: %s", error)

    lag = LagProbe(
        bootstrap, settings.worker_id, [settings.topic(t) for t in INGEST_TOPICS.values()]
    )

    @app.timer(interval=_LAG_INTERVAL_S, on_leader=False)  # type: ignore[untyped-decorator]
    async def measure_lag() -> None:
        try:
            for topic, records in (await lag.measure()).items():
                metrics.CONSUMER_LAG.labels(topic=topic).set(records)
        except Exception as error:  # the metric is best effort; the stream goes on
            log.warning("consumer lag not measured: %s", error)

    network = [PortInfo(port.unlocode, port.country) for port in load_ports(settings.ports_file)]
    mechanisms = load_mechanisms(settings.mechanisms_file)
    indicators_topic = raw_topic(INDICATORS)

    @app.timer(interval=settings.indicators_interval_s, on_leader=False)  # type: ignore[untyped-decorator]
    async def keep_indicators() -> None:
        try:
            rows = await update_indicators(
                await state.pool(),
                network,
                mechanisms,
                month_interval=timedelta(seconds=settings.indicators_month_interval_s),
            )
        except _DATABASE_ERRORS as error:
            log.warning("indicators not updated (next turn retries): %s", error)
            return
        try:
            deliveries = []
            for row in rows:
                start = row.period_start.isoformat()
                key = f"{row.level}:{row.entity}:{row.period}:{start}:{row.indicator}"
                body = json.dumps(row.as_json()).encode()
                deliveries.append(await indicators_topic.send(key=key.encode(), value=body))
            for delivery in deliveries:
                await delivery
        except (KafkaError, faust.exceptions.FaustError) as error:
            # A send waits while the broker is away; it fails when the worker stops meanwhile
            # (NotReady) or after the producer's timeout. Either must not crash the worker: the
            # rows are stored, the API serves them.
            log.warning("%d indicator rows not published: %s", len(rows), error)

    async def close_clients(sender: Any, /, *_: Any, signal: Any, **__: Any) -> None:
        await lag.close()
        await outputs.bulk.close()

    app.on_before_shutdown.connect(close_clients)

    metrics.serve_metrics(settings.http_host, settings.worker_metrics_port)
    return app


@dataclass(frozen=True, slots=True)
class Outputs:
    """The topics a batch writes to besides PostgreSQL."""

    deadletter: faust.TopicT
    bulk: BulkProducer
    kpis: dict[str, str]
    """Topic name by KPI entity kind."""
    windows: str
    topic: Callable[[str], str]
    """The full name of any topic of the hub (``validations.PE`` → with the namespace)."""


def _intake_agent(
    domain: str, state: WorkerState, outputs: Outputs
) -> Callable[[Any], Awaitable[None]]:
    async def intake(stream: Any) -> None:  # a faust Stream; its stubs lack take_events
        async for events in stream.take_events(state.settings.worker_batch_size, _BATCH_WITHIN_S):
            try:
                with metrics.BATCH_SECONDS.labels(domain=domain).time():
                    await _take_in_batch(domain, events, state, outputs)
            except asyncio.CancelledError:
                raise
            except Exception:
                _fail_stop(f"intake-{domain}")

    intake.__name__ = f"intake_{domain}"
    return intake


async def _take_in_batch(
    domain: str, events: Sequence[EventT[Any]], state: WorkerState, outputs: Outputs
) -> None:
    pool = await _with_retry("connect to PostgreSQL", state.pool)
    codec = await _with_retry("open the schema registry", state.codec)
    reader_schema = parsed_schema(domain)
    now = datetime.now(UTC)
    late_grace = timedelta(hours=state.settings.late_grace_hours)
    accepted: list[IngestedEvent] = []
    models: list[Envelope] = []
    arrived: list[float] = []
    messages: list[Any] = []
    rejected: Counter[tuple[str, str]] = Counter()
    for event in events:
        message = event.message
        outcome = await _with_retry(
            "read the schema registry",
            functools.partial(
                take_in,
                message.value,
                domain,
                codec,
                reader_schema,
                state.known_ports,
                now,
                late_grace,
            ),
        )
        if isinstance(outcome, Rejected):
            await _dead_letter(outputs.deadletter, message, outcome)
            rejected[(domain, outcome.reason.value)] += 1
            continue
        models.append(outcome)
        arrived.append(message.timestamp)
        messages.append(message)
        accepted.append(
            IngestedEvent(
                event_id=outcome.event_id,
                domain=domain,
                event_type=outcome.event_type,
                port=outcome.port,
                occurred_at=outcome.occurred_at,
                payload=outcome.model_dump_json(),
                entity_keys=stored_keys(outcome) + certificate_keys(outcome),
                origin=_origin(message),
            )
        )

    async def refuse(refused: dict[int, Rejected]) -> None:
        """Dead-letter and count the events at these indexes, and leave them out of the rest."""
        nonlocal models, arrived, messages, accepted
        for index, refusal in sorted(refused.items()):
            await _dead_letter(outputs.deadletter, messages[index], refusal)
            rejected[(domain, refusal.reason.value)] += 1
        if refused:
            models = [m for i, m in enumerate(models) if i not in refused]
            arrived = [a for i, a in enumerate(arrived) if i not in refused]
            messages = [m for i, m in enumerate(messages) if i not in refused]
            accepted = [e for i, e in enumerate(accepted) if i not in refused]

    # Refusals that need the store: another port's event or certificate id.
    await refuse(await _with_retry("check owners", lambda: ownership_refusals(pool, models)))
    recorded, unstorable = await _with_retry("record events", lambda: _record(pool, accepted))
    await refuse(unstorable)
    marks: set[str] = set()
    for model, timestamp in zip(models, arrived, strict=True):
        if model.event_id in recorded:
            state.cache.put(model)
        keys = dirty_keys(model)
        state.pending.add(model, keys, timestamp)
        marks.update(keys)
    await _with_retry("count rejections", lambda: store.record_rejections(pool, rejected))
    # Duplicates and re-deliveries are marked too: recomputing is idempotent.
    await _with_retry("mark KPIs to recompute", lambda: mark_dirty(pool, marks))
    verdicts = await _with_retry(
        "validate certificates",
        lambda: update_verdicts(pool, models, state.settings.certificate_validity_days),
    )
    await _with_retry("publish verdicts", lambda: _emit_verdicts(outputs, verdicts))
    state.events_in += len(events)
    _count(domain, models, rejected, verdicts)


def _origin(message: Any) -> str:
    """Where the record was first published: the same for every read of it."""
    for name, value in message.headers or ():
        if name == ORIGIN_HEADER:
            return bytes(value).decode("utf-8", "replace")
    return f"{message.topic}/{message.partition}/{message.offset}"


async def _record(
    pool: asyncpg.Pool, accepted: Sequence[IngestedEvent]
) -> tuple[set[UUID], dict[int, Rejected]]:
    """Record the batch. Should PostgreSQL refuse it for an event's content (a defect of the
    checks: they should have refused it), record one by one and refuse the events it will not
    take, so that no record can stop the worker or loop it through restarts."""
    try:
        return await store.record_events(pool, accepted), {}
    except _UNSTORABLE as error:
        log.error("PostgreSQL refused a batch (%s: %s); recording one by one",
                  type(error).__name__, error)  # fmt: skip
    recorded: set[UUID] = set()
    refused: dict[int, Rejected] = {}
    for index, event in enumerate(accepted):
        try:
            recorded |= await store.record_events(pool, [event])
        except _UNSTORABLE as error:
            log.error("event %s not stored: %s", event.event_id, error)
            refused[index] = Rejected(
                RejectReason.UNSTORABLE, f"PostgreSQL refused it: {type(error).__name__}: {error}"
            )
    return recorded, refused


async def _flush_forever(flusher: KpiFlusher, state: WorkerState) -> None:
    """Recompute marked KPIs for as long as the worker runs: a round at most every
    ``HUB_KPI_FLUSH_INTERVAL_S`` (the intake shares the process), idle, a look every 0.1 s."""
    loop = asyncio.get_running_loop()
    while True:
        began = loop.time()
        try:
            recomputed = await _with_retry("recompute KPIs", lambda: _flush_once(flusher, state))
        except asyncio.CancelledError:
            raise
        except Exception:
            _fail_stop("kpi-flusher")
        if recomputed:
            rest = state.settings.kpi_flush_interval_s - (loop.time() - began)
            await asyncio.sleep(max(rest, 0.0))
        else:
            await asyncio.sleep(_FLUSH_IDLE_S)


async def _flush_once(flusher: KpiFlusher, state: WorkerState) -> int:
    pool = await state.pool()
    began = time.perf_counter()
    recomputed = await flusher.flush(pool)
    if recomputed:
        elapsed = time.perf_counter() - began
        metrics.KPI_FLUSH_SECONDS.observe(elapsed)
        metrics.KPI_GROUPS.inc(recomputed)
        log.debug("KPIs of %d groups recomputed in %.3f s", recomputed, elapsed)
    return recomputed


async def _emit(outputs: Outputs, update: KpiUpdate) -> None:
    """Publish the changed entity KPIs and the recomputed windows (a later value supersedes an
    earlier one of the same key)."""
    records = []
    for value in update.values:
        key = f"{value.entity_kind}:{value.entity_id}:{value.kpi}".encode()
        body = json.dumps(value.as_json()).encode()
        records.append((outputs.kpis[value.entity_kind], key, body))
    for window in update.windows:
        start = window.window_start.isoformat()
        key = f"{window.port}:{window.granularity}:{start}:{window.kpi}".encode()
        records.append((outputs.windows, key, json.dumps(window.as_json()).encode()))
    await outputs.bulk.publish(records)


def _count(
    domain: str,
    accepted: Sequence[Envelope],
    rejected: Counter[tuple[str, str]],
    verdicts: Sequence[StoredVerdict],
) -> None:
    for port, number in Counter(event.port for event in accepted).items():
        metrics.EVENTS_IN.labels(domain=domain, port=port).inc(number)
    for (_, reason), number in rejected.items():
        metrics.EVENTS_REJECTED.labels(domain=domain, reason=reason).inc(number)
    for verdict in verdicts:
        if verdict.new:
            metrics.VERDICTS.labels(outcome=verdict.body["outcome"]).inc()


class LagProbe:
    """How many records of the ingest topics the worker group has not committed yet."""

    def __init__(self, bootstrap: str, group: str, topics: Sequence[str]) -> None:
        self.bootstrap, self.group, self.topics = bootstrap, group, list(topics)
        self._admin: AIOKafkaAdminClient | None = None
        self._consumer: AIOKafkaConsumer | None = None

    async def close(self) -> None:
        if self._consumer is not None:
            await self._consumer.stop()
        if self._admin is not None:
            await self._admin.close()
        self._admin = self._consumer = None

    async def measure(self) -> dict[str, int]:
        if self._admin is None or self._consumer is None:
            self._admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap)
            await self._admin.start()
            self._consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap)
            await self._consumer.start()
        committed = await self._admin.list_consumer_group_offsets(self.group)
        described = await self._admin.describe_topics(self.topics)
        partitions = [
            TopicPartition(topic["topic"], partition["partition"])
            for topic in described
            for partition in topic.get("partitions", ())
        ]
        ends = await self._consumer.end_offsets(partitions)
        lag: dict[str, int] = dict.fromkeys(self.topics, 0)
        for partition, end in ends.items():
            done = committed.get(partition)
            lag[partition.topic] += end - (
                done.offset if done is not None and done.offset >= 0 else 0
            )
        return lag


async def _emit_verdicts(outputs: Outputs, verdicts: Sequence[StoredVerdict]) -> None:
    """Publish each new verdict version to its importing country's ``validations.<ISO2>``."""
    await outputs.bulk.publish(
        (
            outputs.topic(validations_topic(verdict.importing_country)),
            str(verdict.body["certificate_id"]).encode(),
            json.dumps(verdict.body).encode(),
        )
        for verdict in verdicts
    )


async def _dead_letter(deadletter: faust.TopicT, message: Any, rejected: Rejected) -> None:
    letter = dead_letter(
        message.value, rejected, message.topic, key=message.key, original_headers=message.headers
    )
    # Awaiting the delivery keeps "dead-lettered" true before the source offset is acked.
    fut = await deadletter.send(key=letter.key, value=letter.value, headers=letter.headers)
    await fut


async def _with_retry(what: str, action: Callable[[], Awaitable[T]]) -> T:
    delay = 0.25
    while True:
        try:
            return await action()
        except _TRANSIENT_ERRORS as error:
            log.warning("could not %s (%s); retrying in %.1f s", what, error, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, _RETRY_MAX_DELAY_S)


def _fail_stop(agent: str) -> None:
    log.critical(
        "agent %s failed; stopping the worker before its offsets commit", agent, exc_info=True
    )
    logging.shutdown()
    os._exit(70)
