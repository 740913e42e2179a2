"""The batched intake on the real test broker: every record handled once and in partition order,
offsets committed only after the handler, a failing batch read again, and a rebalance that waits
for the batch in flight and hands out whole ports."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager

import pytest
from aiokafka import AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from hub.kafka_topics import create_topics
from streams.batched_intake import BatchedIntake, IntakeRecords, Record, partitions_by_topic
from tests.integration.helpers import Services, eventually

Where = tuple[str, int, int]
"""(topic, partition, offset) of a record."""
Offsets = dict[TopicPartition, int]


async def _produce(bootstrap: str, topics: Sequence[str], ports: int, per_port: int) -> None:
    """``per_port`` records of each of ``ports`` ports to every topic, keyed by port, valued
    ``port/sequence`` (sequence in publish order)."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5)
    await producer.start()
    try:
        sent = [
            await producer.send(topic, f"port-{port}/{n}".encode(), key=f"port-{port}".encode())
            for topic in topics
            for n in range(per_port)
            for port in range(ports)
        ]
        await asyncio.gather(*sent)
    finally:
        await producer.stop()


async def _committed(bootstrap: str, group: str) -> dict[TopicPartition, int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    return {tp: meta.offset for tp, meta in offsets.items() if meta.offset >= 0}


def _where(record: Record) -> Where:
    return (record.topic, record.partition, record.offset)


def _next_offsets(records: Sequence[Record]) -> dict[TopicPartition, int]:
    """Per partition, the offset after the last of ``records``."""
    return {TopicPartition(r.topic, r.partition): r.offset + 1 for r in records}


@asynccontextmanager
async def _running(intake: BatchedIntake) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(intake.run())
    try:
        yield task
    finally:
        if not task.done():
            await asyncio.wait_for(intake.stop(), 30)
        await asyncio.gather(task, return_exceptions=True)


def _intake(
    services: Services,
    group: str,
    topics: Sequence[str],
    handle: Callable[[list[Record]], Awaitable[None]],
    max_records: int = 50,
    on_assigned: Callable[[set[TopicPartition]], Awaitable[None]] | None = None,
    on_revoked: Callable[[set[TopicPartition]], Awaitable[None]] | None = None,
) -> BatchedIntake:
    """Small batches, a short wait, and a heartbeat that notices a rebalance within 0.5 s."""
    return BatchedIntake(
        services.bootstrap, group, topics, handle, max_records=max_records, max_wait_s=0.2,
        on_assigned=on_assigned, on_revoked=on_revoked, heartbeat_s=0.5,
    )  # fmt: skip


async def test_every_record_once_in_partition_order_committed_after_its_handler(
    services: Services, namespace: str
) -> None:
    topics = [f"{namespace}ingest.a", f"{namespace}ingest.b"]
    await create_topics(services.bootstrap, dict.fromkeys(topics, 3))
    await _produce(services.bootstrap, topics, ports=12, per_port=25)  # 600 records
    group = f"{namespace}intake-{uuid.uuid4().hex[:6]}"
    handled: list[Record] = []
    committed_at_handle: list[tuple[dict[TopicPartition, int], dict[TopicPartition, int]]] = []

    async def handle(records: list[Record]) -> None:
        # What the group has committed when a batch arrives: everything handled before it,
        # nothing of it.
        committed_at_handle.append(
            (await _committed(services.bootstrap, group), _next_offsets(handled))
        )
        handled.extend(records)

    intake = _intake(services, group, topics, handle)
    async with _running(intake) as task:

        async def all_handled() -> bool:
            assert not task.done(), task
            return len(handled) >= 600

        await eventually(all_handled, 40, "600 records handled", 0.1)
    assert task.done() and task.exception() is None

    assert len(committed_at_handle) > 1, "expected several batches"
    for committed, handled_before in committed_at_handle:
        assert committed == handled_before
    wheres = [_where(record) for record in handled]
    assert len(set(wheres)) == len(wheres) == 600, "a record handled twice or missing"
    for topic in topics:
        for partition in range(3):
            offsets = [o for t, p, o in wheres if (t, p) == (topic, partition)]
            assert offsets == list(range(len(offsets))), f"{topic}[{partition}] out of order"
    for topic in topics:
        for port in range(12):
            values = [
                r.value for r in handled if r.topic == topic and r.key == f"port-{port}".encode()
            ]
            assert values == [f"port-{port}/{n}".encode() for n in range(25)]
    # Stopped after the last batch's commit: the group's offsets are the topics' ends.
    assert await _committed(services.bootstrap, group) == _next_offsets(handled)


async def test_a_failing_batch_is_not_committed_and_is_read_again(
    services: Services, namespace: str
) -> None:
    topic = f"{namespace}ingest.a"
    await create_topics(services.bootstrap, {topic: 1})
    await _produce(services.bootstrap, [topic], ports=4, per_port=50)  # 200 records
    group = f"{namespace}intake-{uuid.uuid4().hex[:6]}"
    batches: list[list[Record]] = []

    async def fails_on_the_second(records: list[Record]) -> None:
        batches.append(records)
        if len(batches) == 2:
            raise RuntimeError("the store refused the batch")

    first = _intake(services, group, [topic], fails_on_the_second)
    with pytest.raises(RuntimeError, match="the store refused the batch"):
        await asyncio.wait_for(first.run(), 40)
    assert len(batches) == 2
    assert await _committed(services.bootstrap, group) == _next_offsets(batches[0])
    resume_at: int = batches[1][0].offset
    assert resume_at == batches[0][-1].offset + 1

    again: list[Record] = []

    async def handle(records: list[Record]) -> None:
        again.extend(records)

    async with _running(_intake(services, group, [topic], handle)):

        async def all_read() -> bool:
            return len(again) >= 200 - resume_at

        await eventually(all_read, 40, "the rest read again", 0.1)
    assert [record.offset for record in again] == list(range(resume_at, 200))
    assert await _committed(services.bootstrap, group) == {TopicPartition(topic, 0): 200}


async def test_a_second_member_gets_whole_ports_after_the_batch_in_flight_is_committed(
    services: Services, namespace: str
) -> None:
    topics = [f"{namespace}ingest.a", f"{namespace}ingest.b"]
    await create_topics(services.bootstrap, dict.fromkeys(topics, 3))
    # Three partitions: the round-robin assignor would give the two members different numbers of
    # the two topics (a0 a2 b1 / a1 b0 b2); with four it would match by chance.
    await _produce(services.bootstrap, topics, ports=40, per_port=10)  # 800 records
    group = f"{namespace}intake-{uuid.uuid4().hex[:6]}"
    handled: dict[str, list[Record]] = {"first": [], "second": []}
    assigned: dict[str, list[set[TopicPartition]]] = {"first": [], "second": []}
    in_handler = {"first": False, "second": False}
    # False from a revocation until on_assigned returned: no record may be handled meanwhile.
    ready = {"first": False, "second": False}
    handled_unready: list[str] = []
    # At each revocation of the first: (partitions, committed offsets, what it had handled, was
    # its handler running).
    revocations: list[tuple[set[TopicPartition], Offsets, Offsets, bool]] = []
    blocked = asyncio.Event()
    release = asyncio.Event()

    def member(name: str) -> BatchedIntake:
        async def handle(records: list[Record]) -> None:
            in_handler[name] = True
            if not ready[name]:
                handled_unready.append(name)
            try:
                handled[name].extend(records)
                if name == "first" and len(handled[name]) >= 60 and not blocked.is_set():
                    blocked.set()  # the batch in flight when the second member joins
                    await release.wait()
                await asyncio.sleep(0.02)
            finally:
                in_handler[name] = False

        async def on_assigned(partitions: set[TopicPartition]) -> None:
            await asyncio.sleep(0.3)  # rebuilding the ports' state, say
            assigned[name].append(partitions)
            ready[name] = True

        async def on_revoked(partitions: set[TopicPartition]) -> None:
            ready[name] = False
            if name == "first":
                revocations.append((
                    partitions,
                    await _committed(services.bootstrap, group),
                    _next_offsets(handled["first"]),
                    in_handler["first"],
                ))  # fmt: skip

        return _intake(
            services, group, topics, handle, max_records=20,
            on_assigned=on_assigned, on_revoked=on_revoked,
        )  # fmt: skip

    async with _running(member("first")) as first:
        try:
            await asyncio.wait_for(blocked.wait(), 30)
            assert assigned["first"] == [{TopicPartition(t, p) for t in topics for p in range(3)}]
            async with _running(member("second")) as second:
                # The rebalance has begun (the first notices within a heartbeat) and waits for
                # the first's batch: nobody is assigned anything meanwhile.
                await asyncio.sleep(3)
                assert not assigned["second"] and not revocations
                release.set()

                async def both_assigned() -> bool:
                    assert not first.done() and not second.done()
                    return bool(assigned["second"]) and len(assigned["first"]) == 2

                await eventually(both_assigned, 30, "the second member assigned", 0.1)
                # The first's revocation came after its batch in flight was handled and committed.
                partitions, committed, handled_then, handler_running = revocations[0]
                assert partitions == assigned["first"][0]
                assert not handler_running
                assert committed == handled_then

                # Whole ports: the same partition numbers of both topics, split between the two.
                mine, theirs = assigned["first"][1], assigned["second"][0]
                for partitions in (mine, theirs):
                    numbers = partitions_by_topic(partitions)
                    assert set(numbers) == set(topics) and numbers[topics[0]] == numbers[topics[1]]
                assert not mine & theirs
                assert mine | theirs == assigned["first"][0]

                async def all_handled() -> bool:
                    return sum(len(records) for records in handled.values()) >= 800

                await eventually(all_handled, 30, "800 records handled", 0.1)
        finally:
            release.set()  # else stopping the first would wait for its batch for ever

    # Nothing handled twice: the batch in flight was committed before the second member began.
    wheres = [_where(record) for records in handled.values() for record in records]
    assert len(wheres) == len(set(wheres)) == 800
    assert not handled_unready, "records handled before on_assigned returned"
    second_numbers = partitions_by_topic(assigned["second"][0])
    for record in handled["second"]:
        assert record.partition in second_numbers[record.topic]


def test_a_batch_is_flattened_in_partition_order() -> None:
    def record(topic: str, partition: int, offset: int) -> Record:
        return ConsumerRecord(topic, partition, offset, 0, 0, b"k", b"v", None, 1, 1, [])

    b1, a0 = TopicPartition("b", 1), TopicPartition("a", 0)
    batch = IntakeRecords.of({b1: [record("b", 1, 7), record("b", 1, 8)], a0: [record("a", 0, 3)]})
    assert [_where(r) for r in batch.records] == [("a", 0, 3), ("b", 1, 7), ("b", 1, 8)]
    assert batch.next_offsets == {a0: 4, b1: 9}


async def test_a_failing_partitions_callback_ends_the_run(
    services: Services, namespace: str
) -> None:
    topic = f"{namespace}ingest.a"
    await create_topics(services.bootstrap, {topic: 1})
    await _produce(services.bootstrap, [topic], ports=1, per_port=5)
    handled: list[Record] = []

    async def handle(records: list[Record]) -> None:
        handled.extend(records)

    async def on_assigned(partitions: set[TopicPartition]) -> None:
        raise RuntimeError("could not rebuild the ports' state")

    group = f"{namespace}intake-{uuid.uuid4().hex[:6]}"
    intake = _intake(services, group, [topic], handle, on_assigned=on_assigned)
    # aiokafka only logs a listener's exception; the intake raises it instead of handling
    # records whose state was never built.
    with pytest.raises(RuntimeError, match="could not rebuild"):
        await asyncio.wait_for(intake.run(), 20)
    assert handled == []
    assert await _committed(services.bootstrap, group) == {}
