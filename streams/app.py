"""The faust application: built from the hub's settings, run by ``hub worker``.

Faust pitfall handled here, once: ``Stream.take_events`` acks a batch in a ``finally`` block,
so an exception escaping the agent would commit offsets of events never recorded. The agent
therefore (a) retries database writes until they succeed, and (b) on any other error ends the
process at once (:func:`_fail_stop`), before the next offset commit, so that the batch is
delivered again to the restarted worker.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

import asyncpg
import faust
from faust.types import EventT

from hub.db import store
from hub.db.store import IngestedEvent
from hub.kafka_topics import DEADLETTER, INGEST_VESSEL
from hub.settings import HubSettings
from streams.intake import Rejected, check_vessel_record

log = logging.getLogger(__name__)
T = TypeVar("T")

DEADLETTER_REASON_HEADER = "hub-reason"
DEADLETTER_DETAIL_HEADER = "hub-detail"
DEADLETTER_SOURCE_HEADER = "hub-source-topic"
# Keep retrying a database write this long before giving up; the batch is not acked meanwhile,
# so nothing is lost while PostgreSQL restarts.
_RETRY_MAX_DELAY_S = 10.0
_BATCH_WITHIN_S = 1.0


class WorkerState:
    """What the worker knows outside faust: the database pool and its counters."""

    def __init__(self, database_url: str | None) -> None:
        self.database_url = database_url
        self.started_at = datetime.now(UTC)
        self.instance = f"{socket.gethostname()}:{os.getpid()}"
        self.events_in = 0
        self.known_ports: frozenset[str] = frozenset()
        self._pool: asyncpg.Pool | None = None

    async def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            self._pool = await asyncpg.create_pool(
                self.database_url, min_size=1, max_size=4, command_timeout=30
            )
            ports = await self._pool.fetch("SELECT unlocode FROM ports")
            self.known_ports = frozenset(row["unlocode"] for row in ports)
        return self._pool


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
    )
    state = WorkerState(database_url)
    vessel_topic = app.topic(
        settings.topic(INGEST_VESSEL), key_serializer="raw", value_serializer="raw"
    )
    deadletter_topic = app.topic(
        settings.topic(DEADLETTER), key_serializer="raw", value_serializer="raw"
    )

    @app.agent(vessel_topic, name="intake-vessel")
    async def intake_vessel(stream: Any) -> None:  # faust.Stream; its stubs lack take_events
        async for events in stream.take_events(settings.worker_batch_size, _BATCH_WITHIN_S):
            try:
                await _take_in_vessel_batch(events, state, deadletter_topic)
            except asyncio.CancelledError:
                raise
            except Exception:
                _fail_stop("intake-vessel")

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
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
            log.warning("heartbeat not recorded: %s", error)

    return app


async def _take_in_vessel_batch(
    events: Sequence[EventT[Any]], state: WorkerState, deadletter: faust.TopicT
) -> None:
    pool = await _with_retry("connect to PostgreSQL", state.pool)
    accepted: list[IngestedEvent] = []
    rejected: Counter[tuple[str, str]] = Counter()
    for event in events:
        message = event.message
        outcome = check_vessel_record(message.value, state.known_ports)
        if isinstance(outcome, Rejected):
            await _dead_letter(deadletter, message, outcome)
            rejected[("vessel", outcome.reason.value)] += 1
            continue
        accepted.append(
            IngestedEvent(
                event_id=outcome.event_id,
                domain="vessel",
                event_type=outcome.event_type,
                port=outcome.port,
                occurred_at=outcome.occurred_at,
            )
        )
    await _with_retry("record events", lambda: store.record_events(pool, accepted))
    await _with_retry("count rejections", lambda: store.record_rejections(pool, rejected))
    state.events_in += len(events)


async def _dead_letter(deadletter: faust.TopicT, message: Any, rejected: Rejected) -> None:
    headers = [
        (name, value) for name, value in (message.headers or []) if not name.startswith("hub-")
    ]
    headers += [
        (DEADLETTER_REASON_HEADER, rejected.reason.value.encode()),
        (DEADLETTER_DETAIL_HEADER, rejected.detail.encode()[:1000]),
        (DEADLETTER_SOURCE_HEADER, message.topic.encode()),
    ]
    # Awaiting the delivery keeps "dead-lettered" true before the source offset is acked.
    fut = await deadletter.send(key=message.key, value=message.value, headers=headers)
    await fut


async def _with_retry(what: str, action: Callable[[], Awaitable[T]]) -> T:
    delay = 0.25
    while True:
        try:
            return await action()
        except (OSError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError,
                asyncpg.CannotConnectNowError, TimeoutError) as error:  # fmt: skip
            log.warning("could not %s (%s); retrying in %.1f s", what, error, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, _RETRY_MAX_DELAY_S)


def _fail_stop(agent: str) -> None:
    log.critical("agent %s failed; stopping the worker before its offsets commit", agent,
                 exc_info=True)  # fmt: skip
    logging.shutdown()
    os._exit(70)
