"""Bare speed of :class:`streams.batched_intake.BatchedIntake`: ``python -m bench.batched_intake``.

Writes ``--records`` small records (100 bytes, keyed) to a fresh topic of ``--partitions``
partitions (not timed), then measures, on the same topic:

- **intake**: records/s that ``BatchedIntake`` delivers to a handler that does nothing, in a
  consumer group of its own, committing after every batch — from the first batch to the last;
- **bare**: records/s of a plain ``getmany`` loop (no group, no commits), the ceiling.

Prints one JSON line on stdout. The topic is deleted afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord
from aiokafka.admin import AIOKafkaAdminClient

from hub.kafka_topics import create_topics
from streams.batched_intake import BatchedIntake


async def _produce(bootstrap: str, topic: str, records: int) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=20, max_batch_size=1 << 20)
    await producer.start()
    try:
        value = b"x" * 100
        pending = []
        for number in range(records):
            pending.append(await producer.send(topic, value, key=f"port-{number % 97}".encode()))
            if len(pending) >= 20_000:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
    finally:
        await producer.stop()


async def _intake_rate(bootstrap: str, topic: str, records: int, max_records: int) -> float:
    seen = 0
    began: float | None = None
    finished: float | None = None
    done = asyncio.Event()

    async def handle(batch: list[ConsumerRecord[bytes, bytes]]) -> None:
        nonlocal seen, began, finished
        if began is None:
            began = time.perf_counter()
        seen += len(batch)
        if seen >= records:
            finished = time.perf_counter()
            done.set()

    intake = BatchedIntake(
        bootstrap, f"bench-{uuid.uuid4().hex[:8]}", [topic], handle,
        max_records=max_records, max_wait_s=0.5,
    )  # fmt: skip
    running = asyncio.create_task(intake.run())
    try:
        await asyncio.wait_for(done.wait(), 300)
    finally:
        await intake.stop()
        await running
    assert began is not None and finished is not None
    # The first batch's records are not timed (began is taken when it arrives).
    return (seen - max_records) / (finished - began) if seen > max_records else float("nan")


async def _bare_rate(bootstrap: str, topic: str, records: int, max_records: int) -> float:
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest",
        max_partition_fetch_bytes=8 << 20, fetch_max_bytes=64 << 20,
    )  # fmt: skip
    await consumer.start()
    seen = 0
    began: float | None = None
    first = 0
    try:
        while seen < records:
            batches = await consumer.getmany(timeout_ms=1000, max_records=max_records)
            count = sum(len(batch) for batch in batches.values())
            if began is None and count:
                began, first = time.perf_counter(), count
            seen += count
        assert began is not None
        return (seen - first) / (time.perf_counter() - began)
    finally:
        await consumer.stop()


async def main(bootstrap: str, records: int, partitions: int, max_records: int) -> None:
    topic = f"bench-intake-{uuid.uuid4().hex[:8]}"
    await create_topics(bootstrap, {topic: partitions})
    try:
        await _produce(bootstrap, topic, records)
        intake = await _intake_rate(bootstrap, topic, records, max_records)
        bare = await _bare_rate(bootstrap, topic, records, max_records)
    finally:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        await admin.start()
        try:
            await admin.delete_topics([topic])
        finally:
            await admin.close()
    result = {
        "records": records,
        "partitions": partitions,
        "max_records": max_records,
        "intake_records_per_s": round(intake),
        "bare_getmany_records_per_s": round(bare),
        "intake_to_bare": round(intake / bare, 3),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap", default="127.0.0.1:29092")
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--partitions", type=int, default=6)
    parser.add_argument("--max-records", type=int, default=10_000)
    arguments = parser.parse_args()
    asyncio.run(
        main(arguments.bootstrap, arguments.records, arguments.partitions, arguments.max_records)
    )
