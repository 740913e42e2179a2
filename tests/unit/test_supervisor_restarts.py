"""`hub run`'s worker restarts: the back-off and its lines, and giving up on a worker that
cannot start. Real child processes stand in for the worker; the heartbeat is decided here.
(`tests/integration/test_worker_restart.py` kills a real worker under a real `hub run`.)"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from hub.errors import ServiceError
from hub.run import supervisor
from hub.services import Endpoints
from hub.settings import HubSettings, load_settings
from tests.integration.helpers import eventually

# A database nobody listens on: the pool is made but never used (heartbeats are decided here).
NO_DATABASE = "postgresql://hub@127.0.0.1:9/none"


@pytest.fixture
def said(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    lines: list[str] = []
    monkeypatch.setattr(supervisor, "_say", lines.append)
    return lines


def _settings(tmp_path: Path) -> HubSettings:
    return load_settings({}, state_dir=tmp_path, database={"url": NO_DATABASE})


def _child(monkeypatch: pytest.MonkeyPatch, code: str) -> list[int]:
    """Each worker start runs ``code`` in a child Python instead; returns the pids started."""
    pids: list[int] = []

    async def spawn(settings: HubSettings, endpoints: Endpoints) -> asyncio.subprocess.Process:
        process = await asyncio.create_subprocess_exec(sys.executable, "-c", code)
        pids.append(process.pid)
        return process

    monkeypatch.setattr(supervisor, "_spawn_worker", spawn)
    return pids


async def _restarts(said: list[str], count: int) -> None:
    async def announced() -> bool:
        return sum("restarting in" in line for line in said) >= count

    await eventually(announced, 20, f"{count} restarts announced", 0.02)


def _heartbeats(monkeypatch: pytest.MonkeyPatch, joined: bool) -> None:
    async def heartbeating(pool: object, pid: int, within_s: float) -> bool:
        return joined

    monkeypatch.setattr(supervisor, "_heartbeating", heartbeating)


async def test_a_dying_worker_is_restarted_with_a_doubling_delay_up_to_its_cap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, said: list[str]
) -> None:
    monkeypatch.setattr(supervisor, "RESTART_DELAY_MIN_S", 0.01)
    monkeypatch.setattr(supervisor, "RESTART_DELAY_MAX_S", 0.04)
    pids = _child(monkeypatch, "import time; time.sleep(0.3); raise SystemExit(3)")
    _heartbeats(monkeypatch, joined=True)
    worker = supervisor._Worker(_settings(tmp_path), Endpoints("127.0.0.1:9", NO_DATABASE))
    task = worker.start()
    try:
        await asyncio.wait_for(worker.joined.wait(), 10)
        await _restarts(said, 4)
        assert not task.done(), task
    finally:
        await worker.stop()
    restarts = [line for line in said if "restarting in" in line]
    assert restarts[:4] == [
        "the worker exited with status 3; restarting in 0.01 s (restart 1)",
        "the worker exited with status 3; restarting in 0.02 s (restart 2)",
        "the worker exited with status 3; restarting in 0.04 s (restart 3)",
        "the worker exited with status 3; restarting in 0.04 s (restart 4)",
    ]
    assert "worker joined (restart 1)" in said
    assert len(set(pids)) >= 4  # a new process each time
    assert worker.process is not None and worker.process.returncode is not None


async def test_the_delay_is_short_again_after_a_healthy_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, said: list[str]
) -> None:
    monkeypatch.setattr(supervisor, "RESTART_DELAY_MIN_S", 0.01)
    monkeypatch.setattr(supervisor, "WORKER_HEALTHY_S", 0.0)  # every run counts as healthy
    _child(monkeypatch, "import time; time.sleep(0.2); raise SystemExit(1)")
    _heartbeats(monkeypatch, joined=True)
    worker = supervisor._Worker(_settings(tmp_path), Endpoints("127.0.0.1:9", NO_DATABASE))
    worker.start()
    try:
        await _restarts(said, 3)
    finally:
        await worker.stop()
    delays = [
        line.split("restarting in ")[1].split(" s")[0] for line in said if "restarting" in line
    ]
    assert delays[:3] == ["0.01", "0.01", "0.01"]


async def test_a_worker_that_never_joins_stops_the_job_after_five_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, said: list[str]
) -> None:
    monkeypatch.setattr(supervisor, "RESTART_DELAY_MIN_S", 0.01)
    pids = _child(monkeypatch, "raise SystemExit(2)")
    _heartbeats(monkeypatch, joined=False)
    settings = _settings(tmp_path)
    worker = supervisor._Worker(settings, Endpoints("127.0.0.1:9", NO_DATABASE))
    with pytest.raises(ServiceError) as refused:
        await asyncio.wait_for(worker.start(), 30)
    await worker.stop()
    assert len(pids) == supervisor.WORKER_START_ATTEMPTS == 5
    assert str(refused.value) == (
        "the worker exited before joining 5 times in a row (last status 2); "
        f"see {settings.state_dir / 'worker.log'}"
    )
    assert sum("restarting in" in line for line in said) == 4
    assert not worker.joined.is_set()


async def test_a_worker_killed_by_a_signal_is_named_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, said: list[str]
) -> None:
    _child(monkeypatch, "import os, signal; os.kill(os.getpid(), signal.SIGKILL)")
    _heartbeats(monkeypatch, joined=False)
    worker = supervisor._Worker(_settings(tmp_path), Endpoints("127.0.0.1:9", NO_DATABASE))
    worker.start()
    try:
        await _restarts(said, 1)
    finally:
        await worker.stop()
    assert "the worker exited with status -9 (SIGKILL); restarting in 1 s (restart 1)" in said
