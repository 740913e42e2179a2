"""The sink interface (:mod:`streams.sinks`): what a flush delivers, keeps and refuses."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from streams.sinks.base import Record, Sink
from streams.sinks.bulk_producer import BulkProducer
from streams.sinks.kafka import BulkSink, TopicSink


class _Flaky(Sink):
    def __init__(self, failures: int) -> None:
        super().__init__("flaky")
        self.failures = failures
        self.batches: list[list[bytes | None]] = []

    async def write(self, records: Sequence[Record]) -> None:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("away")
        self.batches.append([record.key for record in records])


async def test_a_failed_flush_keeps_its_records_for_the_next() -> None:
    sink = _Flaky(failures=1)
    sink.add(Record("t", b"a", b"1"))
    with pytest.raises(ConnectionError):
        await sink.flush()
    sink.add(Record("t", b"b", b"2"))
    assert await sink.flush() == 2
    assert sink.batches == [[b"a", b"b"]]
    assert len(sink) == 0
    assert await sink.flush() == 0
    assert sink.batches == [[b"a", b"b"]]  # an empty flush writes nothing


async def test_discard_drops_what_was_not_delivered() -> None:
    sink = _Flaky(failures=1)
    sink.add(Record("t", b"a", b"1"))
    with pytest.raises(ConnectionError):
        await sink.flush()
    assert sink.discard() == 1
    assert await sink.flush() == 0


def test_a_bulk_sink_refuses_what_the_bulk_api_cannot_send() -> None:
    sink = BulkSink("verdicts", BulkProducer("127.0.0.1:1"))
    with pytest.raises(ValueError, match="needs a key"):
        sink.add(Record("t", None, b"1"))
    with pytest.raises(ValueError, match="no headers"):
        sink.add(Record("t", b"k", b"1", (("h", b"v"),)))
    sink.add(Record("t", b"k", b"1"))
    assert len(sink) == 1


def test_a_topic_sink_refuses_a_topic_faust_did_not_declare() -> None:
    sink = TopicSink("dead letters", {})
    with pytest.raises(ValueError, match="not declared"):
        sink.add(Record("hub.deadletter", b"k", b"1"))
