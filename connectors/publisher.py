"""The publish loop: the traffic generator's events sent to the ingest topics at a given rate."""

from __future__ import annotations

import asyncio
import collections
import itertools
import logging
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

from aiokafka import AIOKafkaProducer

from connectors.simulator import PortTrafficGenerator
from schemas.avro_schemas import schema_text, subject_for
from schemas.codec import AvroCodec
from schemas.models import Classifier, Envelope, VesselEvent, to_avro_datum
from schemas.routing import domain_of, partition_key

__all__ = ["publish"]

log = logging.getLogger(__name__)


def _take(events: Iterator[Envelope], count: int) -> list[Envelope]:
    return list(itertools.islice(events, count))


async def publish(
    bootstrap: str,
    topic_for: Callable[[str], str],
    generator: PortTrafficGenerator,
    rate_per_s: float,
    stop: asyncio.Event,
    codec: AvroCodec,
    limit: int | None = None,
    record: Callable[[Envelope], object] | None = None,
) -> int:
    """Publish the generator's events at ``rate_per_s`` until ``stop`` is set.

    Each event goes to the topic ``topic_for(domain)`` (Confluent Avro, the domain's schema
    registered through ``codec`` under the topic's subject), keyed by its port
    (:func:`~schemas.routing.partition_key`, as every way in keys it), with ``published_at`` set
    to the time it is sent — except an estimated or planned vessel timestamp, which keeps the
    time it was announced (its generated ``published_at``, never later than now): when history
    is sent, the ETA accuracy KPIs compare what was announced when, not when it was replayed.
    No event is sent before it is due by the wall clock (an actual event before it happened);
    history is sent at the rate, then the stream follows the clock.

    The events are generated in a worker thread, a chunk at a time: planning a large call, or
    the warm-up before the first event (about a minute at scale 1), would otherwise stall the
    event loop this runs on, and the HTTP API with it.

    Returns the number of events published.
    """
    routes: dict[str, tuple[str, str, str]] = {}

    def route(domain: str) -> tuple[str, str, str]:
        if domain not in routes:
            topic = topic_for(domain)
            routes[domain] = (topic, subject_for(topic), schema_text(domain))
        return routes[domain]

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=20)
    await producer.start()
    published: dict[str, int] = {}
    events = generator.events()
    tick_s = 0.1
    per_tick = max(rate_per_s * tick_s, 1.0)
    chunk = min(max(round(2 * per_tick), 1), 5_000)
    budget = 0.0
    upcoming: collections.deque[Envelope] = collections.deque()
    next_tick = time.monotonic()
    total = 0
    try:
        while not stop.is_set() and (limit is None or total < limit):
            budget = min(budget + per_tick, 2 * per_tick)  # no burst after a wait
            batch: list[asyncio.Future[object]] = []
            while budget >= 1.0 and (limit is None or total + len(batch) < limit):
                if not upcoming:
                    upcoming.extend(await asyncio.to_thread(_take, events, chunk))
                now = datetime.now(UTC)
                if upcoming[0].published_at > now:
                    break  # caught up with the wall clock: hold it until it is due
                event = upcoming.popleft()
                now = now.replace(microsecond=now.microsecond // 1000 * 1000)
                if not _forward_looking(event):
                    event = event.model_copy(update={"published_at": now})
                topic, subject, schema = route(domain_of(event))
                value = await codec.encode(subject, schema, to_avro_datum(event))
                batch.append(await producer.send(topic, value, key=partition_key(event)))
                if record is not None:
                    record(event)  # exactly what was streamed, for the batch reference
                published[topic] = published.get(topic, 0) + 1
                budget -= 1.0
            for delivery in batch:
                await delivery
            total += len(batch)
            next_tick += tick_s if rate_per_s * tick_s >= 1 else 1.0 / rate_per_s
            await asyncio.sleep(max(0.0, next_tick - time.monotonic()))
    finally:
        await producer.stop()
    log.info(
        "traffic generator published %d events (%s)",
        total,
        ", ".join(f"{count} to {topic}" for topic, count in sorted(published.items())),
    )
    return total


def _forward_looking(event: Envelope) -> bool:
    """An estimated or planned vessel timestamp: its ``published_at`` is part of what it says."""
    return isinstance(event, VesselEvent) and event.classifier in (Classifier.EST, Classifier.PLN)
