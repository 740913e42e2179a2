"""The local broker: a real produce/consume round trip, idempotent start, clear refusals."""

from __future__ import annotations

import socket
import uuid
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from hub.errors import BrokerError
from hub.kafka_topics import create_topics
from hub.local.kafka import LocalKafka
from tests.integration.helpers import Services, free_port


async def test_aiokafka_produces_and_consumes_through_the_local_broker(
    services: Services, namespace: str
) -> None:
    topic = f"{namespace}roundtrip"
    assert await create_topics(services.bootstrap, {topic: 3}) == [topic]
    payloads = [f"message-{index}".encode() for index in range(30)]
    producer = AIOKafkaProducer(bootstrap_servers=services.bootstrap, acks="all")
    await producer.start()
    try:
        for index, payload in enumerate(payloads):
            await producer.send_and_wait(topic, payload, key=str(index % 5).encode())
    finally:
        await producer.stop()

    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=services.bootstrap,
        group_id=f"{namespace}group",
        auto_offset_reset="earliest",
    )
    await consumer.start()
    received: list[bytes] = []
    try:
        while len(received) < len(payloads):
            batches = await consumer.getmany(timeout_ms=10_000)
            assert batches, "no records within 10 s"
            for records in batches.values():
                received.extend(record.value for record in records if record.value is not None)
    finally:
        await consumer.stop()
    assert sorted(received) == sorted(payloads)


async def test_creating_existing_topics_again_creates_nothing(
    services: Services, namespace: str
) -> None:
    topics = {f"{namespace}a": 2, f"{namespace}b": 2}
    assert sorted(await create_topics(services.bootstrap, topics)) == sorted(topics)
    assert await create_topics(services.bootstrap, topics) == []


async def test_starting_a_running_broker_again_reuses_it(services: Services) -> None:
    before = services.kafka.status()
    assert before.running
    again = LocalKafka(
        services.kafka.home.parent,
        services.kafka.port,
        services.kafka.controller_port,
        tenant_port=services.kafka.tenant_port,
    )
    assert await again.start() is False
    assert again.status().pid == before.pid


async def test_a_running_broker_started_with_other_listeners_is_not_reused(
    services: Services,
) -> None:
    other = LocalKafka(
        services.kafka.home.parent,
        services.kafka.port,
        services.kafka.controller_port,
        tenant_port=free_port(),
    )
    with pytest.raises(BrokerError, match="was started with other settings"):
        await other.start()
    assert services.kafka.status().running


async def test_a_taken_kafka_port_is_refused_with_the_setting_named(tmp_path: Path) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        broker = LocalKafka(
            tmp_path, port=taken, controller_port=free_port(), tenant_port=free_port()
        )
        with pytest.raises(BrokerError, match=rf"port {taken} \(HUB_KAFKA_PORT\).*already in use"):
            await broker.start()
    assert broker.status().running is False


async def test_a_stale_data_folder_is_refused_not_reformatted(tmp_path: Path) -> None:
    broker = LocalKafka(
        tmp_path, port=free_port(), controller_port=free_port(), tenant_port=free_port()
    )
    broker.data.mkdir(parents=True)
    (broker.data / "meta.properties").write_text(f"cluster.id={uuid.uuid4().hex}\nnode.id=1\n")
    with pytest.raises(BrokerError, match="stale Kafka data folder"):
        await broker.start()
    assert (broker.data / "meta.properties").exists()
    assert broker.status().running is False
