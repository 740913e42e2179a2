"""The consumer lag probe: records of the ingest topics the worker group has not committed."""

from __future__ import annotations

from collections.abc import Sequence

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient


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
