"""The worker's two ways to Kafka, as sinks.

- :class:`BulkSink`: record batches through the worker's own aiokafka producer
  (:class:`streams.sinks.bulk_producer.BulkProducer`), for the large outputs (KPIs, windows,
  verdicts);
- :class:`TopicSink`: faust's producer, for the topics faust declares (dead letters, whose
  records carry headers, and the regional indicators).
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping, Sequence

import faust

from streams.sinks.base import Record, Sink
from streams.sinks.bulk_producer import BulkProducer


class BulkSink(Sink):
    """Records sent as batches by partition; keyed, without headers (the bulk API's limits)."""

    def __init__(self, name: str, producer: BulkProducer) -> None:
        super().__init__(name)
        self.producer = producer

    def add(self, record: Record) -> None:
        # Refused here, where the caller is, rather than at the flush of someone else's batch.
        if record.key is None or record.headers:
            raise ValueError(f"{self.name}: a bulk record needs a key and carries no headers")
        super().add(record)

    async def write(self, records: Sequence[Record]) -> None:
        await self.producer.publish((r.topic, r.key or b"", r.value) for r in records)


class TopicSink(Sink):
    """Records sent through faust's producer to the topics it declared, by full name."""

    def __init__(self, name: str, topics: Mapping[str, faust.TopicT]) -> None:
        super().__init__(name)
        self.topics = topics

    def add(self, record: Record) -> None:
        if record.topic not in self.topics:
            raise ValueError(f"{self.name}: topic {record.topic!r} not declared to faust")
        super().add(record)

    async def write(self, records: Sequence[Record]) -> None:
        # All sent first, then every delivery awaited: acknowledged before the batch is acked.
        deliveries: list[Awaitable[object]] = []
        for record in records:
            deliveries.append(
                await self.topics[record.topic].send(
                    key=record.key,
                    value=record.value,
                    headers=list(record.headers) if record.headers else None,
                )
            )
        for delivery in deliveries:
            await delivery
