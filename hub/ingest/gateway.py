"""The Kafka way in for ports and single windows: from their own topics to the hub's ingest topics.

A port's principal may write only ``ports.<PORT>.<domain>``, a country's single window only
``customs.<ISO2>.customs`` and ``customs.<ISO2>.certificate`` (:mod:`hub.tenants`), so the topic a
record comes from says who published it, whatever the record claims. The gateway reads all those
topics, gives each record the hub's checks with the topic's port or country as the publisher —
exactly those of ``POST /v1/events`` — and produces the accepted events to the ingest topics; an
event of a port the publisher does not own (another port; a port of another country) is refused
with ``PORT_NOT_OWNED``, and every refused record goes to the dead-letter
topic with its reason and is counted. Offsets are committed only once a batch is delivered or
dead-lettered, so a crash re-reads it (the intake drops the duplicates by ``event_id``).

It runs inside every API process; several processes share the work through one consumer group.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from datetime import UTC, datetime, timedelta
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord
from prometheus_client import Counter

from hub.domain.publishers import Publisher
from hub.ingest.core import EventTooLarge, IngestContext, check_item, send_dead_letters, send_event
from hub.ingest.decode import decode_record
from hub.local.process import quiet_logger
from hub.tenants import TenantTopics
from schemas.avro_schemas import parsed_schema
from schemas.models import Envelope
from schemas.rejections import Rejected, RejectReason

log = logging.getLogger(__name__)

# How soon the topics of a port or single window added with `hub tenants add-…` are read.
TOPIC_DISCOVERY_MS = 5_000
_MAX_RECORDS = 1_000
_RETRY_S = 5.0

GATEWAY_EVENTS = Counter(
    "hub_gateway_events",
    "Records read from the ports' and single windows' own topics, by what became of them.",
    ["outcome"],
)


def gateway_group(context: IngestContext) -> str:
    settings = context.settings
    return settings.topic(f"{settings.worker.id}.gateway")


@asynccontextmanager
async def tenant_gateway(context: IngestContext, bootstrap: str) -> AsyncIterator[None]:
    """Run the gateway for as long as the block runs."""
    task = asyncio.create_task(_run_forever(context, bootstrap), name="tenant-gateway")
    try:
        yield
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task


async def _run_forever(context: IngestContext, bootstrap: str) -> None:
    if context.settings.log_level != "debug":
        # Group joins and assignments at every start and new port topic: chatter in a terminal.
        logging.getLogger("aiokafka.consumer").setLevel(logging.WARNING)
    # The API keeps serving HTTP when the broker is away; the gateway waits and starts over.
    while True:
        try:
            await _run(context, bootstrap)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # not the records' fault: nothing committed, read again
            log.warning("tenant gateway stopped (%s: %s); again in %.0f s",
                        type(error).__name__, error, _RETRY_S)  # fmt: skip
            await asyncio.sleep(_RETRY_S)


async def _run(context: IngestContext, bootstrap: str) -> None:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=gateway_group(context),
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        metadata_max_age_ms=TOPIC_DISCOVERY_MS,
    )
    consumer.subscribe(pattern=TenantTopics(context.settings).pattern)
    with quiet_logger("aiokafka"):
        await consumer.start()
    try:
        while True:
            batch = await consumer.getmany(timeout_ms=1000, max_records=_MAX_RECORDS)
            records = [record for partition in batch.values() for record in partition]
            if records:
                await pass_on(context, records)
                await consumer.commit()
    finally:
        await consumer.stop()


async def pass_on(context: IngestContext, records: list[ConsumerRecord[Any, Any]]) -> None:
    """Check ``records`` (of the tenants' own topics) and produce or dead-letter each one.

    Raises only what is not the records' fault (the broker or PostgreSQL away): the batch is
    then read again. Whatever a record holds, it is passed on or refused.
    """
    topics = TenantTopics(context.settings)
    now = datetime.now(UTC)
    late_grace = timedelta(hours=context.settings.rules.late_grace_hours)
    deliveries: list[asyncio.Future[Any]] = []
    refused: dict[tuple[str, str, str], list[tuple[bytes, Rejected, str]]] = {}
    for record in records:
        found = topics.writer(record.topic)
        if found is None:  # the subscription pattern is the same: cannot happen
            continue
        writer, domain = found
        outcome = await _check_record(
            context, record.value, writer.publisher, domain, now, late_grace
        )
        origin = f"{record.topic}/{record.partition}/{record.offset}"
        publisher = writer.publisher.code
        if isinstance(outcome, Envelope):
            event = outcome.model_copy(update={"publisher": f"kafka:{writer.user_name}"})
            try:
                deliveries.append(
                    await send_event(context, domain, event, origin, publisher=publisher)
                )
                continue
            except EventTooLarge as error:
                outcome = Rejected(RejectReason.TOO_LARGE, str(error))
        refused.setdefault((domain, record.topic, publisher), []).append(
            (record.value or b"", outcome, origin)
        )
    await asyncio.gather(*deliveries)
    for (domain, topic, publisher), items in refused.items():
        await send_dead_letters(
            context,
            domain,
            [(value, rejection) for value, rejection, _ in items],
            source=topic,
            publisher=publisher,
            origins=[origin for _, _, origin in items],
        )
    GATEWAY_EVENTS.labels("forwarded").inc(len(deliveries))
    GATEWAY_EVENTS.labels("refused").inc(sum(len(items) for items in refused.values()))


async def _check_record(
    context: IngestContext,
    value: bytes | None,
    publisher: Publisher,
    domain: str,
    now: datetime,
    late_grace: timedelta,
) -> Envelope | Rejected:
    datum = await decode_record(value, context.codec, parsed_schema(domain))
    if isinstance(datum, Rejected):
        return datum
    try:
        return check_item(domain, datum, publisher, context.known_ports, now, late_grace)
    except Exception as error:  # a check tripping on odd data must not stall every port
        log.exception("checking a record of %s failed unexpectedly", domain)
        return Rejected(
            RejectReason.SCHEMA_INVALID, f"could not be checked: {type(error).__name__}"
        )
