"""The feedback forwarder: every refusal of a known publisher, stored for it and sent to it.

It runs in the API process (:func:`running_feedback`, ``HUB_FEEDBACK=off`` turns it off), next to
the webhook notifier: an aiokafka consumer of its own group (``<HUB_WORKER_ID>.feedback``) over
``hub.deadletter``. Every way in (HTTP, EDIFACT, the Kafka gateway, the worker's intake) marks its
dead letters with who sent the record (``hub-publisher``, :data:`hub.kafka_topics.PUBLISHER_HEADER`:
a port's UN/LOCODE or a single window's ISO code). For each letter of a known publisher the
forwarder

1. stores a row (``publisher_feedback``, :mod:`hub.db.feedback`), once per letter, read by
   ``GET /v1/feedback``;
2. sends it as JSON to the publisher's feedback topic (``ports.<PORT>.feedback``,
   ``customs.<ISO2>.feedback``, :func:`hub.tenants.feedback_topic`; created if missing), which
   only that publisher's principal may read;

and commits the offsets only after both. A crash in between reads the letters again: the row is
stored once, the record may be sent twice (at least once; its ``id`` names the letter, for a
reader to drop a repeat). Letters of no publisher (the hub's own commands, AIS, a record written
straight to an ingest topic) are counted but fed back to no one. A database or broker outage
stops nothing: the forwarder waits and goes on where it was. Rows older than
``HUB_FEEDBACK_RETENTION_DAYS`` are deleted every ten minutes, and a letter older than that
(a new group reading the topic's history) is not fed back.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from uuid import UUID

import asyncpg
from aiokafka import AIOKafkaConsumer
from aiokafka.errors import KafkaError

from hub.db.feedback import Feedback, purge_feedback, store_feedback
from hub.errors import BrokerError
from hub.ingest.core import IngestContext
from hub.ingest.deadletter import TRUNCATED_HEADER, header
from hub.kafka_topics import (
    DEADLETTER,
    DEADLETTER_DETAIL_HEADER,
    DEADLETTER_DOMAIN_HEADER,
    DEADLETTER_REASON_HEADER,
    DEADLETTER_SOURCE_HEADER,
    ORIGIN_HEADER,
    PUBLISHER_HEADER,
    create_topics,
)
from hub.notify.loops import run_again, start_when_reachable
from hub.settings import HubSettings
from hub.tenants import feedback_topic
from schemas.registry_client import SchemaRegistryClientError

log = logging.getLogger(__name__)
T = TypeVar("T")

MAX_DETAIL_CHARS = 1000
"""A refusal's detail as fed back: it may quote what the publisher sent."""
_MAX_FIELD_CHARS = 300
_PURGE_EVERY_S = 600.0
_OUTAGE_WAIT_S = 1.0
# The schema registry (PostgreSQL, or an HTTP registry) or the database away: not the letter's
# fault.
_AWAY = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.InterfaceError,
    SchemaRegistryClientError,
)
# What a step waits out: the services away (a refusal of a row's content would loop for ever,
# and cannot happen: every text is made printable first).
_TRANSIENT = (
    *_AWAY,
    KafkaError,
    BrokerError,
    asyncpg.InternalClientError,
    asyncpg.DeadlockDetectedError,
)


def feedback_group(settings: HubSettings) -> str:
    return f"{settings.worker.id}.feedback"


async def feedback_of(record: Any, context: IngestContext) -> Feedback | None:
    """The feedback row of one dead letter (an aiokafka ``ConsumerRecord`` of
    ``hub.deadletter``), or None when it names no publisher the hub can feed back to."""
    headers = record.headers or ()
    publisher = _text(header(headers, PUBLISHER_HEADER), _MAX_FIELD_CHARS)
    if feedback_topic(context.settings, publisher) is None:
        return None
    source = header(headers, ORIGIN_HEADER) or header(headers, DEADLETTER_SOURCE_HEADER)
    truncated = header(headers, TRUNCATED_HEADER) is not None
    return Feedback(
        publisher=publisher,
        domain=_text(header(headers, DEADLETTER_DOMAIN_HEADER), _MAX_FIELD_CHARS),
        reason=_text(header(headers, DEADLETTER_REASON_HEADER), _MAX_FIELD_CHARS),
        detail=_text(header(headers, DEADLETTER_DETAIL_HEADER), MAX_DETAIL_CHARS),
        event_id=None if truncated else await event_id_of(record.value, context),
        source=_text(source, _MAX_FIELD_CHARS),
        letter=f"{record.partition}/{record.offset}",
        refused_at=datetime.fromtimestamp(record.timestamp / 1000, UTC),
    )


async def event_id_of(value: bytes | None, context: IngestContext) -> UUID | None:
    """The ``event_id`` of a refused record, if it has one that can be read: a JSON object's
    (HTTP), or a Confluent Avro record's (Kafka, the worker's intake); else None."""
    if not value:
        return None
    found: Any = None
    if value[:1] == b"\x00" and len(value) > 5:
        try:
            found = (await context.codec.decode(value)).get("event_id")
        except _AWAY:
            raise  # the registry's store away: read the letter again later
        except Exception:  # any record the registry or fastavro cannot read
            found = None
    else:
        with contextlib.suppress(ValueError, UnicodeDecodeError, RecursionError):
            document = json.loads(value)
            found = document.get("event_id") if isinstance(document, dict) else None
    if isinstance(found, UUID):  # fastavro reads the uuid logical type as one
        return found
    if isinstance(found, str) and len(found) <= 64:
        with contextlib.suppress(ValueError):
            return UUID(found)
    return None


def feedback_json(row: Feedback) -> bytes:
    """A feedback topic's record: the row as JSON."""
    return json.dumps(
        {
            "id": row.letter,
            "publisher": row.publisher,
            "domain": row.domain,
            "reason": row.reason,
            "detail": row.detail,
            "event_id": None if row.event_id is None else str(row.event_id),
            "source": row.source,
            "refused_at": row.refused_at.isoformat(),
        }
    ).encode()


class FeedbackForwarder:
    """The reader of ``hub.deadletter`` and its upkeep (see the module docstring)."""

    def __init__(self, settings: HubSettings, bootstrap: str, context: IngestContext) -> None:
        self.settings = settings
        self.bootstrap = bootstrap
        self.context = context
        self._topics: set[str] = set()  # feedback topics known to exist

    async def run(self) -> None:
        async with asyncio.TaskGroup() as group:
            group.create_task(run_again(self._read, "feedback reader"), name="feedback-reader")
            group.create_task(run_again(self._purge, "feedback upkeep"), name="feedback-upkeep")

    async def _read(self) -> None:
        consumer = AIOKafkaConsumer(
            self.settings.topic(DEADLETTER),
            bootstrap_servers=self.bootstrap,
            group_id=feedback_group(self.settings),
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )
        await start_when_reachable(consumer, "feedback forwarder")
        try:
            while True:
                batches = await consumer.getmany(timeout_ms=1000, max_records=500)
                records = [record for batch in batches.values() for record in batch]
                if records:
                    await self.forward(records)
                    await consumer.commit()
        finally:
            with contextlib.suppress(Exception):
                await consumer.stop()

    async def forward(self, records: Sequence[Any]) -> int:
        """Store and send the feedback of ``records`` (dead letters); returns how many rows were
        new. Waits out a database or broker outage."""
        rows = await _until_done("read the dead letters", lambda: self._rows(records))
        if not rows:
            return 0
        stored = await _until_done(
            "store feedback", lambda: store_feedback(self.context.pool, rows)
        )
        await _until_done("send feedback", lambda: self._send(rows))
        return stored

    async def _rows(self, records: Sequence[Any]) -> list[Feedback]:
        oldest = datetime.now(UTC) - timedelta(days=self.settings.feedback.retention_days)
        oldest_ms = oldest.timestamp() * 1000
        rows: list[Feedback] = []
        for record in records:
            if record.timestamp < oldest_ms:  # past the retention: not even read
                continue
            try:
                row = await feedback_of(record, self.context)
            except _AWAY:
                raise
            except Exception:  # a letter the hub cannot read must not stall the others
                log.exception("dead letter %s/%s not fed back", record.partition, record.offset)
                continue
            if row is not None:
                rows.append(row)
        return rows

    async def _send(self, rows: Sequence[Feedback]) -> None:
        topics = {row.publisher: feedback_topic(self.settings, row.publisher) for row in rows}
        missing = {topic for topic in topics.values() if topic and topic not in self._topics}
        if missing:
            # A publisher with a token but no Kafka tenant has no feedback topic yet.
            await create_topics(
                self.bootstrap,
                {topic: self.settings.kafka.topic_partitions for topic in missing},
                self.settings.kafka.topic_replication_factor,
            )
            self._topics |= missing
        producer = self.context.producer
        deliveries = []
        for row in rows:
            topic = topics[row.publisher]
            assert topic is not None  # feedback_of keeps only publishers with a topic
            key = None if row.event_id is None else str(row.event_id).encode()
            deliveries.append(await producer.send(topic, feedback_json(row), key=key))
        await asyncio.gather(*deliveries)

    async def _purge(self) -> None:
        while True:
            try:
                purged = await purge_feedback(
                    self.context.pool, self.settings.feedback.retention_days
                )
                if purged:
                    log.info("deleted %d feedback rows past the retention", purged)
            except (*_TRANSIENT, asyncpg.PostgresError) as error:
                log.warning("feedback upkeep skipped (%s)", error)
            await asyncio.sleep(_PURGE_EVERY_S)


def _text(value: bytes | None, limit: int) -> str:
    """A header's text, printable (control, format and other unprintable characters as escapes;
    bytes that are not UTF-8 as U+FFFD) and at most ``limit`` characters."""
    text = (value or b"").decode("utf-8", "replace")[: limit * 2]
    if not text.isprintable():
        text = "".join(char if char.isprintable() else _escape(char) for char in text)
    return text[:limit]


def _escape(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


async def _until_done(what: str, step: Callable[[], Awaitable[T]]) -> T:
    while True:
        try:
            return await step()
        except _TRANSIENT as error:
            log.warning("feedback forwarder could not %s (%s); retrying", what, error)
            await asyncio.sleep(_OUTAGE_WAIT_S)


@asynccontextmanager
async def running_feedback(
    settings: HubSettings, bootstrap: str, context: IngestContext
) -> AsyncIterator[FeedbackForwarder | None]:
    """The forwarder running for as long as the block runs (None when ``HUB_FEEDBACK=off``)."""
    if not settings.feedback.enabled:
        yield None
        return
    forwarder = FeedbackForwarder(settings, bootstrap, context)
    task = asyncio.create_task(forwarder.run(), name="feedback-forwarder")
    try:
        yield forwarder
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
