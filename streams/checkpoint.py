"""The worker's commit order, as one object: what a batch stores, marks and publishes before its
offsets are committed.

Modelled on quixstreams' ``checkpointing/checkpoint.py`` (flush the sinks, then commit; a
failed flush aborts the commit). Here the commit itself is the intake consumer's
(:class:`streams.batched_intake.BatchedIntake`): it commits a batch's offsets once the handler
returned. :meth:`Checkpoint.commit` is the point after which that may happen.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from enum import IntEnum
from typing import Protocol, TypeVar

from streams.error_policies import retry_transient
from streams.sinks.base import Sink

T = TypeVar("T")


class Retry(Protocol):
    """An error policy for a step: run the action, retrying what it may (see
    :func:`streams.error_policies.retry_transient`)."""

    async def __call__(self, what: str, action: Callable[[], Awaitable[T]]) -> T: ...


class Step(IntEnum):
    """The steps of a checkpoint, in their one order."""

    OPEN = 0
    STORE = 1
    MARK = 2
    PUBLISH = 3
    COMMIT = 4


class CheckpointOrderError(RuntimeError):
    """A step taken out of order: a defect of the caller, never retried."""


class Checkpoint:
    """One intake batch's way to its offset commit, in the order that loses nothing:

    1. :meth:`store`: the accepted events (idempotently, by event id) and the refusal counts;
    2. :meth:`mark`: what the stored events change, stored: the entity KPIs and windows, and
       the certificates' verdicts (new versions), each added to its sink;
    3. :meth:`publish`: flush every sink (dead letters, verdicts, KPIs) and wait for the
       broker's acks;
    4. :meth:`commit`: only then may the consumer commit the batch's offsets.

    The invariant: an offset is committed only after everything its record produced is stored,
    marked and acknowledged by the broker. Each step runs under ``retry`` (transient errors
    wait, the batch is not committed meanwhile); any other error, a sink's failed flush included,
    escapes before :meth:`commit`: the checkpoint is aborted and the intake fail-stops
    before the consumer commits (:func:`streams.error_policies.fail_stop`). A step may run several
    actions; going back to an earlier step, or committing before publishing, is refused.
    """

    def __init__(self, sinks: Sequence[Sink], *, retry: Retry = retry_transient) -> None:
        self.sinks = tuple(sinks)
        """Flushed in this order by :meth:`publish`."""
        self._retry = retry
        self.step = Step.OPEN

    async def store(self, what: str, action: Callable[[], Awaitable[T]]) -> T:
        """Step 1: store what the batch brings (``what`` names it for the retry's log)."""
        self._enter(Step.STORE)
        return await self._retry(what, action)

    async def mark(self, what: str, action: Callable[[], Awaitable[T]]) -> T:
        """Step 2: mark (or derive and store) what the stored events change."""
        self._enter(Step.MARK)
        return await self._retry(what, action)

    async def publish(self) -> None:
        """Step 3: flush every sink, in order; returns once the broker acknowledged all."""
        self._enter(Step.PUBLISH)
        for sink in self.sinks:
            await self._retry(f"publish {sink.name}", sink.flush)

    def commit(self) -> None:
        """Step 4: the batch may be committed. Refused unless every sink was flushed since its last
        record was added."""
        if self.step is not Step.PUBLISH:
            raise CheckpointOrderError(f"commit after {self.step.name}, not after PUBLISH")
        unpublished = [sink.name for sink in self.sinks if len(sink)]
        if unpublished:
            raise CheckpointOrderError(f"commit with records not published: {unpublished}")
        self.step = Step.COMMIT

    @property
    def committed(self) -> bool:
        return self.step is Step.COMMIT

    def _enter(self, step: Step) -> None:
        if self.step > step:
            raise CheckpointOrderError(f"{step.name} after {self.step.name}")
        self.step = step
