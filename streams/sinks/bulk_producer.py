"""Publishing many keyed records at once: the worker's KPI, window and verdict outputs.

A flush can change tens of thousands of KPI values; sent one by one through faust's channels
each costs about as much as taking an event in. Here records are grouped by partition and sent
as record batches through aiokafka's batch API. Partitions are chosen as Kafka's default
partitioner does for a keyed record (murmur2 of the key), as faust and every other producer of
these topics do: a key keeps its partition, so compaction and per-key order still hold.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from collections.abc import Iterable
from functools import lru_cache

from aiokafka import AIOKafkaProducer

_M = 0x5BD1E995
_MASK = 0xFFFFFFFF


@lru_cache(maxsize=131_072)
def partition_index(key: bytes, partition_count: int) -> int:
    """Kafka's default partitioner for a keyed record: murmur2 of the key, modulo the topic's
    partition count (aiokafka's ``DefaultPartitioner``, which a test holds this equal to).

    Cached because the same KPI keys come back flush after flush and aiokafka's pure-Python
    murmur2 costs several µs a key (3.9% of a worker's CPU in a profile); bounded, so the cache
    stays a few tens of MB whatever the history.
    """
    return (murmur2(key) & 0x7FFFFFFF) % partition_count


def murmur2(data: bytes) -> int:
    """Kafka's murmur2 (seed 0x9747B28C), as aiokafka's but reading 4 bytes at a time: about a
    third of its cost (most KPI keys are new, so the cache above misses)."""
    length = len(data)
    h = 0x9747B28C ^ length
    whole = length & ~3
    for (k,) in struct.iter_unpack("<I", data[:whole]):
        k = (k * _M) & _MASK
        k ^= k >> 24
        h = ((h * _M) & _MASK) ^ ((k * _M) & _MASK)
    extra = length - whole
    if extra:
        if extra == 3:
            h ^= data[whole + 2] << 16
        if extra >= 2:
            h ^= data[whole + 1] << 8
        h = ((h ^ data[whole]) * _M) & _MASK
    h ^= h >> 13
    h = (h * _M) & _MASK
    return h ^ (h >> 15)


class BulkProducer:
    """An aiokafka producer of its own (acks from every in-sync replica), started on first use.

    Several agents publish through one instance and their first uses may come at once: starting
    and closing are serialised, so that one producer at a time exists and ``close`` stops it.
    """

    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap
        self._producer: AIOKafkaProducer | None = None
        self._lock = asyncio.Lock()
        # Publishes under way, which close() lets finish: aiokafka never answers a send on a
        # producer stopped beneath it.
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._partitions: dict[str, list[int]] = {}

    async def publish(self, records: Iterable[tuple[str, bytes, bytes]]) -> int:
        """Send (topic, key, value) records and wait until every one is acknowledged.

        Returns how many were sent. Raises a ``KafkaError`` if the broker does not take them.
        """
        producer = await self._acquire()
        try:
            return await self._send(producer, records)
        finally:
            self._in_flight -= 1
            if self._in_flight == 0:
                self._idle.set()

    async def _send(
        self, producer: AIOKafkaProducer, records: Iterable[tuple[str, bytes, bytes]]
    ) -> int:
        by_partition: dict[tuple[str, int], list[tuple[bytes, bytes]]] = {}
        for topic, key, value in records:
            partitions = self._partitions.get(topic)
            if partitions is None:
                partitions = self._partitions[topic] = sorted(await producer.partitions_for(topic))
            partition = partitions[partition_index(key, len(partitions))]
            by_partition.setdefault((topic, partition), []).append((key, value))
        deliveries: list[asyncio.Future[object]] = []
        for (topic, partition), items in by_partition.items():
            batch = producer.create_batch()
            for key, value in items:
                if batch.append(key=key, value=value, timestamp=None) is None:
                    deliveries.append(await producer.send_batch(batch, topic, partition=partition))
                    batch = producer.create_batch()
                    batch.append(key=key, value=value, timestamp=None)
            deliveries.append(await producer.send_batch(batch, topic, partition=partition))
        await asyncio.gather(*deliveries)
        return sum(len(items) for items in by_partition.values())

    async def close(self) -> None:
        """Stop the producer, if one was started, once the publishes under way are done; safe
        to call twice or while a start is under way (it waits for it). A later ``publish``
        starts a new producer."""
        async with self._lock:
            producer, self._producer = self._producer, None
            if producer is not None:
                await self._idle.wait()
                await producer.stop()

    async def _acquire(self) -> AIOKafkaProducer:
        """The producer, started if need be, counted in use until ``publish`` is done."""
        producer = self._producer if self._producer is not None else await self._started()
        # No await between taking the producer and counting it: close() cannot come between.
        self._in_flight += 1
        self._idle.clear()
        return producer

    async def _started(self) -> AIOKafkaProducer:
        # Without the lock, two first users would each start a producer and one would be
        # left unclosed ("Unclosed AIOKafkaProducer", a pending sender task at exit).
        async with self._lock:
            if self._producer is None:
                producer = AIOKafkaProducer(
                    bootstrap_servers=self.bootstrap, acks="all", max_batch_size=1 << 20
                )
                try:
                    await producer.start()
                except BaseException:
                    # A producer that failed to start still holds a client: release it.
                    with contextlib.suppress(Exception):
                        await producer.stop()
                    raise
                self._producer = producer
            return self._producer
