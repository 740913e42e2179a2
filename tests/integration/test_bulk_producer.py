"""The worker's BulkProducer on the real test broker: concurrent first uses share one producer,
and closing stops every producer it started (no "Unclosed AIOKafkaProducer" at exit)."""

from __future__ import annotations

import asyncio
from typing import ClassVar

import pytest
from aiokafka import AIOKafkaProducer

import streams.sinks.bulk_producer
from hub.kafka_topics import create_topics
from streams.sinks.bulk_producer import BulkProducer
from tests.integration.helpers import Services, read_topic


class _CountingProducer(AIOKafkaProducer):  # type: ignore[misc]  # aiokafka ships no types
    """The real aiokafka producer, counting how many were started and stopped."""

    started: ClassVar[list[_CountingProducer]] = []
    stopped: ClassVar[list[_CountingProducer]] = []

    async def start(self) -> None:
        type(self).started.append(self)
        # A slow first connection: the window in which a second user used to start its own.
        await asyncio.sleep(0.2)
        await super().start()

    async def stop(self) -> None:
        type(self).stopped.append(self)
        await super().stop()


@pytest.fixture
def counting(monkeypatch: pytest.MonkeyPatch) -> type[_CountingProducer]:
    _CountingProducer.started, _CountingProducer.stopped = [], []
    monkeypatch.setattr(streams.sinks.bulk_producer, "AIOKafkaProducer", _CountingProducer)
    return _CountingProducer


async def test_concurrent_first_publishes_start_one_producer(
    services: Services, namespace: str, counting: type[_CountingProducer]
) -> None:
    topic = f"{namespace}bulk"
    await create_topics(services.bootstrap, {topic: 2})
    bulk = BulkProducer(services.bootstrap)
    batches: list[list[tuple[str, bytes, bytes]]] = [
        [(topic, f"key-{user}-{n}".encode(), f"value-{user}-{n}".encode()) for n in range(50)]
        for user in range(4)
    ]
    try:
        sent = await asyncio.wait_for(
            asyncio.gather(*(bulk.publish(batch) for batch in batches)), 60
        )
    finally:
        await bulk.close()
    assert sent == [50, 50, 50, 50]
    assert len(counting.started) == 1, f"{len(counting.started)} producers started"
    assert counting.stopped == counting.started, "a started producer was left unclosed"
    values = sorted(value for value, _ in await read_topic(services.bootstrap, topic, 200))
    assert values == sorted(value for batch in batches for _, _, value in batch)


async def test_close_is_safe_before_use_during_a_publish_and_twice(
    services: Services, namespace: str, counting: type[_CountingProducer]
) -> None:
    topic = f"{namespace}bulk"
    await create_topics(services.bootstrap, {topic: 1})
    unused = BulkProducer(services.bootstrap)
    await unused.close()  # never started: nothing to stop
    assert counting.started == []

    bulk = BulkProducer(services.bootstrap)
    record: list[tuple[str, bytes, bytes]] = [(topic, b"k", b"v")]
    publishing = asyncio.create_task(bulk.publish(record))
    await asyncio.sleep(0.05)  # the producer is starting
    # Waits for that start, lets the publish finish (aiokafka would never answer it on a stopped
    # producer), then stops the producer.
    await asyncio.wait_for(bulk.close(), 30)
    assert publishing.done() and publishing.result() == 1
    await bulk.close()  # twice: nothing left to stop
    assert len(counting.started) == 1
    assert counting.stopped == counting.started

    # Closed, then used again: a new producer, closed in turn.
    assert await asyncio.wait_for(bulk.publish(record), 30) == 1
    await bulk.close()
    assert len(counting.started) == 2
    assert counting.stopped == counting.started
