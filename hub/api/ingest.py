"""``POST /v1/events/{domain}``: the HTTP way in, for ports that do not speak Kafka.

A request carries one event (a JSON object) or a batch (a JSON array) of one domain, and a
publisher token (``Authorization: Bearer …``) that belongs to one port. Every event gets its own
answer: ``accepted`` (it reached Kafka, acknowledged by all in-sync replicas), ``rejected`` (with
the reason code and a message; final, also sent to the dead-letter topic and counted), or
``failed`` (not delivered, not the event's fault: send it again). The status is 200 unless an
event failed (503) or the request itself is refused (401, 404, 400, 413).

Re-sending a whole batch is always safe: the hub de-duplicates by ``event_id``.
"""

from __future__ import annotations

import asyncio
import json
import re
import reprlib
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from hub.api.access import bearer_token
from hub.db import audit, store
from hub.db.ports import port_berths
from hub.db.tokens import Publisher, publisher_for
from hub.errors import DatabaseError
from hub.ingest.deadletter import dead_letter as dead_letter_copy
from hub.kafka_topics import DEADLETTER, INGEST_TOPICS, ORIGIN_HEADER
from hub.services import check_database, check_kafka, resolve_endpoints, schema_source
from hub.settings import HubSettings
from schemas.avro_schemas import schema_text, subject_for
from schemas.codec import AvroCodec
from schemas.models import Envelope, to_avro_datum
from schemas.registry_client import HttpSchemaRegistry
from schemas.rejections import Rejected, RejectReason, printable
from schemas.routing import partition_key
from schemas.validation import validate

MAX_BATCH = 1000
# One event as one Kafka record: under the producers' 1 MiB request limit, with room for framing.
MAX_EVENT_BYTES = 900 * 1024
_UUID_TEXT = re.compile(r"^[0-9A-Fa-f-]{32,36}$")
_SOURCE = "http:/v1/events"


class EventResult(BaseModel):
    index: int
    event_id: str | None = None
    status: Literal["accepted", "rejected", "failed"]
    reason: str | None = None
    detail: str | None = None


class IngestAnswer(BaseModel):
    accepted: int
    rejected: int
    failed: int
    results: list[EventResult]


@dataclass(slots=True)
class IngestContext:
    """What the gateway needs, opened once by the API's lifespan."""

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
        bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=5
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


def create_ingest_router(get_context: Callable[[], IngestContext]) -> APIRouter:
    """The router; ``get_context()`` returns the live :class:`IngestContext` (opened at start)."""
    router = APIRouter()

    @router.post(
        "/v1/events/{domain}",
        response_model=IngestAnswer,
        responses={503: {"model": IngestAnswer}},
        summary="Publish one event or a batch of one domain (vessel, cargo, customs, certificate)",
    )
    async def publish(
        domain: str,
        request: Request,
        authorization: str | None = Header(default=None),
    ) -> JSONResponse:
        live = get_context()
        if domain not in INGEST_TOPICS:
            return _error(404, f"unknown domain {domain!r}; one of {', '.join(INGEST_TOPICS)}")
        publisher = await authenticate(live, authorization)
        if publisher is None:
            await refuse_publisher(live, request, authorization, "events.publish", domain)
            return _error(401, "a valid publisher token is required (Authorization: Bearer …)")
        body = await request.body()
        if len(body) > (limit := live.settings.max_request_bytes):
            return _error(413, f"body over {limit} bytes; send smaller batches")
        try:
            items = _items(json.loads(body))
        except (ValueError, UnicodeDecodeError, RecursionError) as error:
            problem = "nested too deep" if isinstance(error, RecursionError) else str(error)
            rejection = Rejected(RejectReason.UNDECODABLE, f"body is not JSON: {problem}"[:300])
            await dead_letter(live, domain, [(body, rejection)], source=f"{_SOURCE}/{domain}")
            return _error(400, rejection.detail, reason=rejection.reason)
        if len(items) > MAX_BATCH:
            return _error(413, f"{len(items)} events in one request; at most {MAX_BATCH}")
        answer = await ingest(live, domain, publisher, items)
        status = 503 if answer.failed else 200
        return JSONResponse(answer.model_dump(mode="json", exclude_none=True), status_code=status)

    return router


async def ingest(
    context: IngestContext, domain: str, publisher: Publisher, items: list[Any]
) -> IngestAnswer:
    """Validate, encode and produce ``items``; dead-letter and count the refused ones."""
    now = datetime.now(UTC)
    late_grace = timedelta(hours=context.settings.late_grace_hours)
    results: list[EventResult] = []
    deliveries: list[tuple[int, asyncio.Future[Any]]] = []
    refused: list[tuple[bytes, Rejected]] = []
    for index, item in enumerate(items):
        outcome = check_item(domain, item, publisher.port, context.known_ports, now, late_grace)
        if isinstance(outcome, Envelope):
            event = outcome.model_copy(update={"publisher": publisher.publisher_id})
            event_id = str(event.event_id)
            try:
                deliveries.append((index, await send_event(context, domain, event)))
                results.append(EventResult(index=index, event_id=event_id, status="accepted"))
                continue
            except EventTooLarge as error:
                outcome = Rejected(RejectReason.TOO_LARGE, str(error))
            except KafkaError as error:  # the broker is away: not the event's fault, send again
                results.append(_failed(index, event_id, error))
                continue
        results.append(_rejected(index, item, outcome))
        refused.append((_json_bytes(item), outcome))
    for index, delivery in deliveries:
        try:
            await delivery
        except Exception as error:  # any delivery failure: the event did not reach Kafka
            results[index] = _failed(index, results[index].event_id, error)
    if refused:
        await dead_letter(context, domain, refused, source=f"{_SOURCE}/{domain}")
    counts = Counter(result.status for result in results)
    return IngestAnswer(
        accepted=counts["accepted"],
        rejected=counts["rejected"],
        failed=counts["failed"],
        results=results,
    )


def check_item(
    domain: str,
    item: Any,
    port: str | None,
    known_ports: frozenset[str],
    now: datetime,
    late_grace: timedelta,
) -> Envelope | Rejected:
    """The hub's checks of one event (a JSON object or an Avro datum) from a publisher allowed
    to publish for ``port`` (None: any of the hub's ports)."""
    if not isinstance(item, dict):
        return Rejected(
            RejectReason.SCHEMA_INVALID, f"an event is a JSON object, not {_short_repr(item)}"
        )
    outcome = validate(domain, item, known_ports, now, late_grace)
    if isinstance(outcome, Envelope) and port is not None and outcome.port != port:
        return Rejected(
            RejectReason.PORT_NOT_OWNED,
            f"this publisher publishes for {port}, not for {outcome.port}",
        )
    return outcome


class EventTooLarge(ValueError):
    """An event whose Avro record would be over :data:`MAX_EVENT_BYTES`."""


async def send_event(
    context: IngestContext, domain: str, event: Envelope, origin: str | None = None
) -> asyncio.Future[Any]:
    """Produce an accepted event to its ingest topic as Confluent Avro, keyed by its port
    (:func:`~schemas.routing.partition_key`); the future resolves once all in-sync replicas
    have it. ``origin``: the record it was first published as, if another
    (:data:`~hub.kafka_topics.ORIGIN_HEADER`).

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
    headers = [(ORIGIN_HEADER, origin.encode())] if origin is not None else None
    delivery: asyncio.Future[Any] = await context.producer.send(
        topic, value, key=partition_key(event), headers=headers
    )
    return delivery


def _rejected(index: int, item: Any, rejection: Rejected) -> EventResult:
    event_id = item.get("event_id") if isinstance(item, dict) else None
    return EventResult(
        index=index,
        # Echoed only when it can be one: the answer must not carry arbitrary text back.
        event_id=event_id if isinstance(event_id, str) and _UUID_TEXT.match(event_id) else None,
        status="rejected",
        reason=rejection.reason.value,
        detail=rejection.detail,
    )


async def dead_letter(
    context: IngestContext, domain: str, refused: list[tuple[bytes, Rejected]], *, source: str
) -> None:
    """Send ``refused`` to the dead-letter topic with their reasons, and count them under
    ``domain``."""
    topic = context.settings.topic(DEADLETTER)
    deliveries = []
    for value, rejection in refused:
        letter = dead_letter_copy(value, rejection, source)
        deliveries.append(await context.producer.send(topic, letter.value, headers=letter.headers))
    await asyncio.gather(*deliveries)
    counts = Counter((domain, rejection.reason.value) for _, rejection in refused)
    await store.record_rejections(context.pool, counts)


def _failed(index: int, event_id: str | None, error: BaseException) -> EventResult:
    return EventResult(
        index=index,
        event_id=event_id,
        status="failed",
        reason="NOT_DELIVERED",
        detail=f"not delivered ({type(error).__name__}: {error}); send it again"[:300],
    )


def _json_bytes(item: Any) -> bytes:
    """The dead-letter copy of a refused JSON item."""
    try:
        return json.dumps(item, default=str).encode()
    except (ValueError, RecursionError):
        return _short_repr(item).encode()


def _short_repr(item: Any) -> str:
    # reprlib bounds depth and length: a refused item may be nested thousands deep.
    return printable(reprlib.repr(item))


def _items(document: Any) -> list[Any]:
    return document if isinstance(document, list) else [document]


async def refuse_publisher(
    context: IngestContext, request: Request, authorization: str | None, action: str, target: str
) -> None:
    """Write a refused publication (no valid publisher token) to the audit log."""
    remote = request.client.host if request.client else None
    outcome = "401 no valid publisher token"
    await audit.record(
        context.pool, audit.presented_actor(authorization), action, target, outcome, remote
    )


async def authenticate(context: IngestContext, authorization: str | None) -> Publisher | None:
    token = bearer_token(authorization)
    return None if token is None else await publisher_for(context.pool, token)


def _error(status: int, message: str, reason: RejectReason | None = None) -> JSONResponse:
    body: dict[str, Any] = {"error": message}
    if reason is not None:
        body["reason"] = reason.value
    return JSONResponse(body, status_code=status)
