"""One interface for the worker's outputs: a sink collects records and delivers them on flush.

Modelled on quixstreams' ``sinks/base/sink.py``: :meth:`Sink.add` collects, :meth:`Sink.flush`
delivers and waits until the broker acknowledges every record, and a flush that raises aborts
the checkpoint (:class:`streams.checkpoint.Checkpoint`): the batch is not acked, so its records
are read again and nothing they produced is lost.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Record:
    """One Kafka record to produce."""

    topic: str
    """The full topic name (with the deployment's namespace)."""
    key: bytes | None
    value: bytes
    headers: tuple[tuple[str, bytes], ...] = ()


class Sink(ABC):
    """Records added since the last successful flush, delivered by :meth:`flush`.

    A sink belongs to one task at a time (an intake agent, the KPI flusher, a timer): the
    records of a flush are those its task added.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        """What the sink writes, for logs (``dead letters``, ``verdicts``, …)."""
        self._pending: list[Record] = []

    def __len__(self) -> int:
        """How many records wait for the next flush."""
        return len(self._pending)

    def add(self, record: Record) -> None:
        """Keep ``record`` for the next flush (in order: a key's later value comes later)."""
        self._pending.append(record)

    async def flush(self) -> int:
        """Deliver every record added so far and wait until each is acknowledged; returns how
        many. Raises if any is not: the records stay added, so a retried or later flush sends
        them again (at least once: consumers keep the latest value of a key)."""
        if not self._pending:
            return 0
        records = list(self._pending)
        await self.write(records)
        del self._pending[: len(records)]
        return len(records)

    def discard(self) -> int:
        """Drop the records not delivered; returns how many. For a best-effort output whose
        data is kept elsewhere (the indicators: stored, served by the API)."""
        dropped = len(self._pending)
        self._pending.clear()
        return dropped

    @abstractmethod
    async def write(self, records: Sequence[Record]) -> None:
        """Send ``records`` and return once the broker acknowledged them all, or raise."""
