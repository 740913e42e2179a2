"""The ingest's core: what a way in needs open (:class:`IngestContext`), the hub's checks of one
event, sending an accepted event to its ingest topic, and sending refused records to the
dead-letter topic (counted).

HTTP (:mod:`hub.api.ingest`, :mod:`hub.api.edifact`), the Kafka gateway, EDIFACT, AIS and the
CLI commands all take events in through these functions, so an event is checked, keyed and
dead-lettered the same way whichever way it came.
"""

from __future__ import annotations

import asyncio
import json
import reprlib
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer
from prometheus_client import Counter as Metric

from hub.db.events import record_rejections
from hub.db.ports import port_berths
from hub.domain.publishers import Publisher
from hub.errors import DatabaseError
from hub.ingest.deadletter import dead_letter
from hub.kafka_topics import DEADLETTER, INGEST_TOPICS, ORIGIN_HEADER, PUBLISHER_HEADER
from hub.services import check_database, check_kafka, resolve_endpoints, schema_source
from hub.settings import HubSettings
from schemas.avro_schemas import schema_text, subject_for
from schemas.codec import AvroCodec
from schemas.models import Envelope, to_avro_datum
from schemas.registry_client import HttpSchemaRegistry
from schemas.rejections import Rejected, RejectReason, printable
from schemas.routing import partition_key
from schemas.validation import validate

__all__ = [
    "MAX_EVENT_BYTES",
    "EventTooLarge",
    "IngestContext",
    "check_item",
    "json_bytes",
    "open_ingest_context",
    "send_dead_letters",
    "send_event",
    "short_repr",
    "standalone_ingest_context",
]

EVENTS_REFUSED = Metric(
    "hub_ingest_events_rejected",
    "Records refused by the API process's ways in (HTTP, EDIFACT, the Kafka gateway, AIS), by"
    " domain, reason and publisher (the port's UN/LOCODE, the single window's country; '' unknown)",
    ["domain", "reason", "publisher"],
)

# One event as one Kafka record: under the producers' 1 MiB request limit, with room for framing.
DELIVERY_TIMEOUT_MS = 15_000
"""How long the API's producer waits for the broker to take a record."""
MAX_EVENT_BYTES = 900 * 1024


@dataclass(slots=True)
class IngestContext:
    """What a way in needs: opened once by the API's lifespan, or by a CLI command."""

    settings: HubSettings
    pool: asyncpg.Pool
    producer: AIOKafkaProducer
    codec: AvroCodec
    known_ports: frozenset[str] = field(default_factory=frozenset)


@asynccontextmanager
async def open_ingest_context(
    settings: HubSettings, bootstrap: str, pool: asyncpg.Pool
) -> AsyncIterator[IngestContext]:
    """A producer (acks from all in-sync replicas, idempotent), the Avro codec and the ports, for
    as long as the block runs."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        # A record the broker has not taken within this fails (the caller answers "retry")
        # instead of holding its request for aiokafka's 40 s default, or longer while a new
        # topic's partition has no leader yet.
        request_timeout_ms=DELIVERY_TIMEOUT_MS,
    )
    await producer.start()
    registry = schema_source(settings, pool)
    try:
        try:
            ports = await port_berths(pool)
        except asyncpg.UndefinedTableError:
            raise DatabaseError(
                "the database has no hub tables yet: run `hub migrate` (or start the hub) first"
            ) from None
        yield IngestContext(
            settings=settings,
            pool=pool,
            producer=producer,
            codec=AvroCodec(registry),
            known_ports=frozenset(ports),
        )
    finally:
        await producer.stop()
        if isinstance(registry, HttpSchemaRegistry):
            await registry.close()


@asynccontextmanager
async def standalone_ingest_context(settings: HubSettings) -> AsyncIterator[IngestContext]:
    """:func:`open_ingest_context` for a command outside the API: the configured (or local)
    broker and database, each checked first so that one unreachable ends with one line."""
    endpoints = resolve_endpoints(settings)
    await check_kafka(endpoints.kafka_bootstrap)
    await check_database(endpoints.database_url)
    pool = await asyncpg.create_pool(endpoints.database_url, min_size=1, max_size=2)
    try:
        async with open_ingest_context(settings, endpoints.kafka_bootstrap, pool) as context:
            yield context
    finally:
        await pool.close()


def check_item(
    domain: str,
    item: Any,
    publisher: Publisher | None,
    known_ports: frozenset[str],
    now: datetime,
    late_grace: timedelta,
) -> Envelope | Rejected:
    """The hub's checks of one event (a JSON object or an Avro datum) from ``publisher`` (a
    port, or a country's single window: :mod:`hub.domain.publishers`; None: the hub's own
    command, which may publish anything for any of the hub's ports)."""
    if publisher is not None and (refusal := publisher.refusal(domain)) is not None:
        return refusal
    if not isinstance(item, dict):
        return Rejected(
            RejectReason.SCHEMA_INVALID, f"an event is a JSON object, not {short_repr(item)}"
        )
    outcome = validate(domain, item, known_ports, now, late_grace)
    if isinstance(outcome, Envelope) and publisher is not None:
        return publisher.refusal(domain, outcome.port) or outcome
    return outcome


class EventTooLarge(ValueError):
    """An event whose Avro record would be over :data:`MAX_EVENT_BYTES`."""


async def send_event(
    context: IngestContext,
    domain: str,
    event: Envelope,
    origin: str | None = None,
    *,
    publisher: str = "",
) -> asyncio.Future[Any]:
    """Produce an accepted event to its ingest topic as Confluent Avro, keyed by its port
    (:func:`~schemas.routing.partition_key`); the future resolves once all in-sync replicas
    have it. ``origin``: the record it was first published as, if another
    (:data:`~hub.kafka_topics.ORIGIN_HEADER`); ``publisher``: who sent it
    (:data:`~hub.kafka_topics.PUBLISHER_HEADER`, what the worker's refusals are counted under).

    Raises:
        EventTooLarge: the event is too large for one Kafka record (refuse it: final).
        aiokafka.errors.KafkaError: the broker cannot take it now (send it again later).
    """
    topic = context.settings.topic(INGEST_TOPICS[domain])
    value = await context.codec.encode(
        subject_for(topic), schema_text(domain), to_avro_datum(event)
    )
    if len(value) > MAX_EVENT_BYTES:
        raise EventTooLarge(f"the event is {len(value)} bytes as Avro; at most {MAX_EVENT_BYTES}")
    headers = [(PUBLISHER_HEADER, publisher.encode())] if publisher else []
    if origin is not None:
        headers.append((ORIGIN_HEADER, origin.encode()))
    delivery: asyncio.Future[Any] = await context.producer.send(
        topic, value, key=partition_key(event), headers=headers or None
    )
    return delivery


async def send_dead_letters(
    context: IngestContext,
    domain: str,
    refused: list[tuple[bytes, Rejected]],
    *,
    source: str,
    publisher: str,
    origins: Sequence[str | None] | None = None,
) -> None:
    """Send ``refused`` to the dead-letter topic with their reasons
    (:func:`~hub.ingest.deadletter.dead_letter`), and count them under ``domain`` and
    ``publisher`` (:attr:`hub.domain.publishers.Publisher.code`, '' unknown). ``origins``: each
    refused record's ``topic/partition/offset``, when it came over Kafka."""
    topic = context.settings.topic(DEADLETTER)
    deliveries = []
    for index, (value, rejection) in enumerate(refused):
        origin = origins[index] if origins is not None else None
        letter = dead_letter(
            value, rejection, source, publisher=publisher, domain=domain, origin=origin
        )
        deliveries.append(await context.producer.send(topic, letter.value, headers=letter.headers))
    await asyncio.gather(*deliveries)
    counts = Counter((domain, rejection.reason.value, publisher) for _, rejection in refused)
    await record_rejections(context.pool, counts)
    for (_, reason, _), number in counts.items():
        EVENTS_REFUSED.labels(domain=domain, reason=reason, publisher=publisher).inc(number)


def json_bytes(item: Any) -> bytes:
    """The dead-letter copy of a refused JSON item."""
    try:
        return json.dumps(item, default=str).encode()
    except (ValueError, RecursionError):
        return short_repr(item).encode()


def short_repr(item: Any) -> str:
    """A short printable text of ``item``, for a refusal's detail."""
    # reprlib bounds depth and length: a refused item may be nested thousands deep.
    return printable(reprlib.repr(item))
