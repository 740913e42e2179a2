"""The ingest topics read in batches by a consumer the faust app owns (issue 18).

faust's per-message agent path costs ~60-75 µs of CPU per event (``Consumer._drain_messages`` →
``Service.wait_first`` per message, the conductor's lock, a ``sleep(0)`` per event) whatever its
settings. :class:`BatchedIntake` is a plain :class:`aiokafka.AIOKafkaConsumer` in a consumer group
of its own, run from a faust ``app.task``: ``getmany`` batches, handed whole to one coroutine,
offsets committed by hand only once that coroutine returned (i.e. once the store committed).

Bare speed on this machine (2 cores shared, test broker 127.0.0.1:29092, ``python -m
bench.batched_intake``): 200,000 records of 100 bytes on a 6-partition topic, a no-op handler,
``max_records=10_000``: **220,000-305,000 records/s** delivered (4 runs; a commit after every
batch included), i.e. 3-4.5 µs per record, against 390,000-520,000/s for a bare ``getmany``
loop with no group and no commits on the same topic. ``bench/throughput.py``'s baseline
(30-45k/s) also decodes every record with fastavro: the decode, not the consumer, is its cost.
So the consumer is no longer the ceiling; whatever the handler does per record is.

Whole ports per worker: every ingest topic is keyed by port (hashed by the same default
partitioner) and has the same partition count, so a port's events are in the same partition
number of every topic. :class:`RangePartitionAssignor`
assigns each topic on its own, splitting the partition numbers 0…n-1 into the same contiguous
ranges for the same sorted members, so a worker gets the same partition numbers of every topic:
whole ports. (The round-robin assignor, aiokafka's default, deals the partitions of all topics
out in one sequence and would split a port's topics across workers.)
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeAlias

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, ConsumerRecord, TopicPartition
from aiokafka.coordinator.assignors.range import RangePartitionAssignor
from aiokafka.errors import CommitFailedError

log = logging.getLogger(__name__)

# The fetch sizes of bench/throughput.py's baseline: a getmany of a full batch is served from one
# or two fetches instead of many 1 MiB ones.
_MAX_PARTITION_FETCH_BYTES = 8 << 20
_FETCH_MAX_BYTES = 64 << 20

Record: TypeAlias = "ConsumerRecord[bytes, bytes]"
Handle: TypeAlias = Callable[[list[Record]], Awaitable[None]]
PartitionsCallback: TypeAlias = Callable[[set[TopicPartition]], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class IntakeRecords:
    """The records of one ``getmany`` and the offsets that commit them."""

    records: list[Record]
    """Across the subscribed topics, by topic, partition and offset."""
    next_offsets: dict[TopicPartition, int]
    """Per partition of the batch, the offset after its last record (what a commit stores)."""

    @classmethod
    def of(cls, batches: Mapping[TopicPartition, list[Record]]) -> IntakeRecords:
        """Flatten a ``getmany`` result. Only the order within a partition matters (a port's
        events come in the order they were published); across topics and partitions the handler
        takes the batch as a whole, and the store records each event idempotently, so a stable
        order is enough."""
        records: list[Record] = []
        next_offsets: dict[TopicPartition, int] = {}
        for partition in sorted(batches):
            batch = batches[partition]
            if batch:
                records += batch
                next_offsets[partition] = batch[-1].offset + 1
        return cls(records, next_offsets)


class BatchedIntake:
    """Reads the ingest topics in batches for the faust app; commits a batch's offsets only after
    its handler returned.

    ``handle`` gets each batch's records; if it raises, nothing of that batch is committed and the
    exception ends :meth:`run` (the worker's error policy then fail-stops, as the agents do).
    ``on_assigned`` runs after each rebalance with the partitions now owned, before any of their
    records is handled; ``on_revoked`` runs at the start of each rebalance with every partition
    owned until then (aiokafka's eager protocol revokes all of them; some may come back in the
    next ``on_assigned``), once the batch in flight was handled and committed. An exception in
    either ends :meth:`run` too (aiokafka itself would only log it).
    """

    def __init__(
        self,
        bootstrap: str,
        group_id: str,
        topics: Sequence[str],
        handle: Handle,
        *,
        max_records: int,
        max_wait_s: float,
        on_assigned: PartitionsCallback | None = None,
        on_revoked: PartitionsCallback | None = None,
        session_timeout_s: float = 10.0,
        heartbeat_s: float = 3.0,
    ) -> None:
        self.bootstrap = bootstrap
        self.group_id = group_id
        self.topics = tuple(topics)
        self.handle = handle
        self.max_records = max_records
        self.max_wait_s = max_wait_s
        self.on_assigned = on_assigned
        self.on_revoked = on_revoked
        self.session_timeout_s = session_timeout_s
        self.heartbeat_s = heartbeat_s
        self._stopping = False
        self._stopped = asyncio.Event()
        self._stopped.set()  # not running
        # Set while no batch is between getmany and its commit: what a revocation waits for.
        self._idle = asyncio.Event()
        self._idle.set()
        # Set once on_assigned has run for the current assignment (see _Listener).
        self._assigned = asyncio.Event()
        self._callback_error: BaseException | None = None

    async def run(self) -> None:
        """Take in batches until :meth:`stop` or cancellation. An exception of the handler or of
        a partitions callback ends it, as does a commit failing otherwise than by a rebalance
        (aiokafka retries the retriable errors itself: a broker away makes the commit wait)."""
        self._stopping = False
        self._stopped.clear()
        self._assigned.clear()
        self._callback_error = None
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            group_id=self.group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            partition_assignment_strategy=(RangePartitionAssignor,),
            session_timeout_ms=int(self.session_timeout_s * 1000),
            heartbeat_interval_ms=int(self.heartbeat_s * 1000),
            max_partition_fetch_bytes=_MAX_PARTITION_FETCH_BYTES,
            fetch_max_bytes=_FETCH_MAX_BYTES,
        )
        consumer.subscribe(list(self.topics), listener=_Listener(self))
        await consumer.start()
        try:
            while not self._stopping:
                self._raise_callback_error()
                batches = await consumer.getmany(
                    timeout_ms=int(self.max_wait_s * 1000), max_records=self.max_records
                )
                if not batches:
                    continue
                # No await since getmany returned: a rebalance that starts from here on finds
                # the batch in flight and waits for it (aiokafka's getmany itself returns nothing
                # while a reassignment is in progress: Fetcher.fetched_records).
                self._idle.clear()
                try:
                    await self._fill(consumer, batches)
                    await self._take(consumer, IntakeRecords.of(batches))
                finally:
                    self._idle.set()
        finally:
            # stop() leaves the group without calling on_partitions_revoked (aiokafka's
            # ConsumerRebalanceListener docs): nothing is pending here, every handled batch was
            # committed in _take.
            await consumer.stop()
            self._stopped.set()

    async def stop(self) -> None:
        """End :meth:`run` after the batch in flight (handled and committed); at most
        ``max_wait_s`` later when it waits for records."""
        self._stopping = True
        await self._stopped.wait()

    async def _fill(
        self, consumer: AIOKafkaConsumer, batches: dict[TopicPartition, list[Record]]
    ) -> None:
        """Add further ``getmany`` results to ``batches`` until ``max_records`` or
        ``max_wait_s`` after the first. One ``getmany`` returns what its fetches hold at that
        moment (~160 records of a backlog here), and every batch costs the same round trips to
        PostgreSQL and Kafka whatever its size. A rebalance that starts meanwhile finds the
        batch in flight (``_idle`` is clear) and waits for it; ``getmany`` returns nothing
        then, which ends the filling."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.max_wait_s
        count = sum(len(records) for records in batches.values())
        while count < self.max_records and not self._stopping:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            more = await consumer.getmany(
                timeout_ms=max(1, int(remaining * 1000)), max_records=self.max_records - count
            )
            if not more:
                return
            for partition, records in more.items():
                batches.setdefault(partition, []).extend(records)
                count += len(records)

    async def _take(self, consumer: AIOKafkaConsumer, batch: IntakeRecords) -> None:
        # Records of a new assignment can come before on_assigned returned: aiokafka sets the
        # assignment, which releases getmany, and then awaits the listener (_on_join_complete).
        await self._assigned.wait()
        self._raise_callback_error()
        await self.handle(batch.records)
        try:
            await consumer.commit(batch.next_offsets)
        except CommitFailedError as error:
            # The group rebalanced without us (we were too slow for the session or poll
            # interval): the partitions' new owner reads these records again from the last
            # commit. Recording is idempotent in the store, so that costs time, not correctness.
            log.warning("batch of %d records not committed: %s", len(batch.records), error)

    def _raise_callback_error(self) -> None:
        if self._callback_error is not None:
            raise self._callback_error


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]  # aiokafka ships no types
    """Orders a rebalance around the batch in flight.

    aiokafka (0.14, ``consumer/group_coordinator.py``) calls ``on_partitions_revoked`` from its
    coordination task at the start of a rebalance, after ``begin_reassignment`` (from then on
    ``getmany`` returns nothing) and before re-joining; it awaits the callback, and keeps
    heartbeating meanwhile so that the callback may still commit with the old generation
    (``ConsumerRebalanceListener`` docstring: "If you are using manual commit you have to commit
    all consumed offsets here"). A batch returned by ``getmany`` just before may still be in the
    handler in the run task: the revocation waits for it (handled and committed) before the
    partitions go to their new owner. ``on_partitions_assigned`` is called after the new
    assignment is set, which already lets ``getmany`` return its records; the run loop waits for
    ``_assigned`` before handling them.
    """

    def __init__(self, intake: BatchedIntake) -> None:
        self.intake = intake

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        intake = self.intake
        intake._assigned.clear()
        await intake._idle.wait()
        if revoked and intake.on_revoked is not None:
            await self._guarded(intake.on_revoked, set(revoked))

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        intake = self.intake
        try:
            if intake.on_assigned is not None:
                await self._guarded(intake.on_assigned, set(assigned))
        finally:
            intake._assigned.set()

    async def _guarded(self, callback: PartitionsCallback, partitions: set[TopicPartition]) -> None:
        try:
            await callback(partitions)
        except Exception as error:  # aiokafka would log and go on: the run loop raises it
            self.intake._callback_error = error


def partitions_by_topic(partitions: set[TopicPartition]) -> dict[str, set[int]]:
    """``{topic: partition numbers}``: whole ports when the numbers are the same for every
    topic."""
    numbers: dict[str, set[int]] = {}
    for partition in partitions:
        numbers.setdefault(partition.topic, set()).add(partition.partition)
    return numbers
