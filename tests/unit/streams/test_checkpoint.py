"""The worker's commit order (:class:`streams.checkpoint.Checkpoint`) and the intake's promise
that a failed batch is never committed, with plain fakes for the sinks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NoReturn

import pytest
from aiokafka.errors import KafkaConnectionError

import streams.intake
from hub.settings import HubSettings
from streams.checkpoint import Checkpoint, CheckpointOrderError, Step
from streams.intake import IntakeOutputs
from streams.sinks.base import Record, Sink
from streams.state import WorkerState


class _Sink(Sink):
    """Writes into ``calls``; fails the first ``failures`` writes with ``error``."""

    def __init__(
        self, name: str, calls: list[str], failures: int = 0, error: Exception | None = None
    ) -> None:
        super().__init__(name)
        self.calls, self.failures, self.error = calls, failures, error
        self.written: list[Record] = []

    async def write(self, records: Sequence[Record]) -> None:
        self.calls.append(f"write {self.name} {len(records)}")
        if self.failures:
            self.failures -= 1
            assert self.error is not None
            raise self.error
        self.written += records


def _record(key: str) -> Record:
    return Record("topic", key.encode(), b"{}")


async def _step(calls: list[str], name: str) -> str:
    calls.append(name)
    return name


async def test_a_batch_is_stored_marked_published_then_committed() -> None:
    calls: list[str] = []
    letters, verdicts = _Sink("dead letters", calls), _Sink("verdicts", calls)
    checkpoint = Checkpoint([letters, verdicts])
    letters.add(_record("refused"))
    assert await checkpoint.store("record", lambda: _step(calls, "store events")) == "store events"
    await checkpoint.store("count", lambda: _step(calls, "count rejections"))
    await checkpoint.mark("mark", lambda: _step(calls, "mark KPIs"))
    verdicts.add(_record("certificate"))
    await checkpoint.publish()
    assert not checkpoint.committed
    checkpoint.commit()

    assert checkpoint.committed
    assert calls == [
        "store events",
        "count rejections",
        "mark KPIs",
        "write dead letters 1",
        "write verdicts 1",
    ]
    assert [r.key for r in letters.written + verdicts.written] == [b"refused", b"certificate"]


async def test_a_sink_whose_flush_fails_aborts_the_commit() -> None:
    calls: list[str] = []
    failing = _Sink("dead letters", calls, failures=1, error=RuntimeError("broker said no"))
    later = _Sink("verdicts", calls)
    checkpoint = Checkpoint([failing, later])
    failing.add(_record("refused"))
    later.add(_record("certificate"))
    await checkpoint.store("record", lambda: _step(calls, "store events"))

    with pytest.raises(RuntimeError, match="broker said no"):
        await checkpoint.publish()

    assert not checkpoint.committed
    # The sinks after the failed one are not flushed; nothing is lost from either.
    assert calls == ["store events", "write dead letters 1"]
    assert (len(failing), len(later)) == (1, 1)
    with pytest.raises(CheckpointOrderError):
        checkpoint.commit()


async def test_a_transient_flush_failure_is_retried_before_the_commit() -> None:
    calls: list[str] = []
    sink = _Sink("verdicts", calls, failures=1, error=KafkaConnectionError())
    checkpoint = Checkpoint([sink])
    sink.add(_record("certificate"))
    await checkpoint.publish()
    checkpoint.commit()
    assert calls == ["write verdicts 1", "write verdicts 1"]
    assert [r.key for r in sink.written] == [b"certificate"]


async def test_steps_are_refused_out_of_order() -> None:
    calls: list[str] = []
    checkpoint = Checkpoint([])
    with pytest.raises(CheckpointOrderError, match="after OPEN"):
        checkpoint.commit()
    await checkpoint.mark("mark", lambda: _step(calls, "mark"))
    with pytest.raises(CheckpointOrderError, match="STORE after MARK"):
        await checkpoint.store("record", lambda: _step(calls, "store"))
    assert calls == ["mark"]
    await checkpoint.publish()
    with pytest.raises(CheckpointOrderError, match="MARK after PUBLISH"):
        await checkpoint.mark("mark", lambda: _step(calls, "mark again"))
    checkpoint.commit()
    assert checkpoint.step is Step.COMMIT


async def test_a_record_added_after_publishing_refuses_the_commit() -> None:
    sink = _Sink("verdicts", [])
    checkpoint = Checkpoint([sink])
    await checkpoint.publish()
    sink.add(_record("late"))
    with pytest.raises(CheckpointOrderError, match="not published"):
        checkpoint.commit()


class _Stopped(BaseException):
    pass


async def test_a_batch_whose_checkpoint_fails_stops_the_worker_before_it_returns(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The intake consumer commits a batch's offsets only once its handler returned
    (tests/integration/test_batched_intake.py): a failed batch must stop the worker first."""
    taken: list[list[str]] = []

    async def take_in_batch(records: list[str], *_: Any) -> None:
        taken.append(records)
        if records == ["second"]:
            raise RuntimeError("a sink's flush failed for good")

    def fail_stop(task: str) -> NoReturn:
        raise _Stopped(task)  # os._exit in the worker: no finally runs after it

    monkeypatch.setattr(streams.intake, "take_in_batch", take_in_batch)
    monkeypatch.setattr(streams.intake, "fail_stop", fail_stop)
    calls: list[str] = []
    outputs = IntakeOutputs(
        _Sink("dead letters", calls), "hub.deadletter", _Sink("v", calls), _Sink("k", calls),
        {}, "kpi.windows", str,
    )  # fmt: skip
    handle = streams.intake.batch_handler({}, WorkerState(HubSettings(), None), None, outputs)  # type: ignore[arg-type]

    await handle(["first"])
    with pytest.raises(_Stopped, match="intake"):
        await handle(["second"])
    assert taken == [["first"], ["second"]]
