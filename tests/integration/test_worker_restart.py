"""`hub run` with its worker killed outright (SIGKILL): the job starts the worker again, the API
answers throughout, and every event published before and after the kill is stored exactly once."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from hub.db.tokens import create_port_token
from hub.local.process import pid_alive
from tests.integration.helpers import (
    Services,
    api_answering,
    eventually,
    free_port,
    hub_environment,
    start_hub,
    stop_process,
)
from tests.samples import samples

BEFORE_KILL = 300  # events published while the first worker runs
AFTER_KILL = 300  # events published while it is dead and being started again
DOMAINS = ("vessel", "cargo")
RESTART_LINE = re.compile(
    r"hub: the worker exited with status -9 \(SIGKILL\); restarting in 1 s \(restart 1\)"
)


class _Prober:
    """GET /health every 0.1 s while the block runs; every transport error (a connection
    refused, a reset) is kept."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.answers = 0
        self.errors: list[str] = []

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        task = asyncio.create_task(self._probe())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _probe(self) -> None:
        async with httpx.AsyncClient(base_url=self.base_url, timeout=5) as client:
            while True:
                try:
                    await client.get("/health")  # 200, or 503 while no worker heartbeats
                    self.answers += 1
                except httpx.TransportError as error:
                    self.errors.append(f"{type(error).__name__}: {error}")
                await asyncio.sleep(0.1)


def _events(count: int) -> list[tuple[str, dict[str, Any]]]:
    """``count`` valid events of PECLL with distinct ids, as (domain, JSON body item)."""
    at = datetime.now(UTC) - timedelta(minutes=2)
    events: list[tuple[str, dict[str, Any]]] = []
    while len(events) < count:
        domain = DOMAINS[len(events) % len(DOMAINS)]
        event = samples(domain, at)[0]
        events.append((domain, json.loads(event.model_dump_json())))
    return events


async def _publish(client: httpx.AsyncClient, events: list[tuple[str, dict[str, Any]]]) -> None:
    for domain in DOMAINS:
        items = [item for d, item in events if d == domain]
        for start in range(0, len(items), 100):
            chunk = items[start : start + 100]
            response = await client.post(f"/v1/events/{domain}", json=chunk)
            assert response.status_code == 200, response.text
            answer = response.json()
            assert (answer["accepted"], answer["rejected"], answer["failed"]) == (len(chunk), 0, 0)


async def _live_worker_pids(pool: asyncpg.Pool) -> set[int]:
    try:
        rows = await pool.fetch(
            "SELECT pid FROM worker_heartbeats WHERE last_seen > now() - interval '3 seconds'"
        )
    except asyncpg.UndefinedTableError:
        return set()
    return {int(row["pid"]) for row in rows}


async def test_a_killed_worker_is_restarted_and_the_stream_goes_on_with_nothing_lost(
    services: Services, fresh_database: str, namespace: str, tmp_path: Path
) -> None:
    http_port = free_port()
    log = tmp_path / "hub-run.log"
    job = start_hub(
        ["run"],
        hub_environment(
            HUB_KAFKA_BOOTSTRAP=services.bootstrap,
            DATABASE_URL=fresh_database,
            HUB_TOPIC_NAMESPACE=namespace,
            HUB_WORKER_ID=f"{namespace}restart",
            HUB_STATE_DIR=str(tmp_path / "state"),
            HUB_HTTP_PORT=str(http_port),
            HUB_GENERATOR_ENABLED="false",
            HUB_WORKER_HEARTBEAT_S="1",
            HUB_TOPIC_PARTITIONS="2",
        ),
        log,
    )
    base = f"http://127.0.0.1:{http_port}"
    before, after = _events(BEFORE_KILL), _events(AFTER_KILL)
    expected = {item["event_id"] for _, item in before + after}
    assert len(expected) == BEFORE_KILL + AFTER_KILL
    pool: asyncpg.Pool | None = None
    worker_pids: set[int] = set()
    try:
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            await api_answering(client, 90)

            async def joined() -> bool:
                return "hub: worker joined" in log.read_text()

            await eventually(joined, 90, "the first worker joining")
            pool = await asyncpg.create_pool(fresh_database, min_size=1, max_size=2)
            first_pids = await _live_worker_pids(pool)
            assert len(first_pids) == 1, first_pids
            first = first_pids.pop()
            worker_pids.add(first)
            token = await create_port_token(pool, "PECLL", "worker restart test")
            client.headers["Authorization"] = f"Bearer {token}"

            async def stored() -> int:
                assert pool is not None
                return int(await pool.fetchval("SELECT count(*) FROM ingested_events"))

            prober = _Prober(base)
            async with prober.running():
                await _publish(client, before)

                async def consuming() -> bool:
                    return await stored() > 0

                # Kill it while it works: what it had taken in and not committed comes again.
                await eventually(consuming, 60, "the worker storing the first events", 0.1)
                os.kill(first, signal.SIGKILL)
                killed_at = time.monotonic()
                await _publish(client, after)  # while no worker runs: the API takes them

                async def restarted() -> bool:
                    return bool(RESTART_LINE.search(log.read_text()))

                await eventually(restarted, 30, "`hub run` announcing the worker's restart")
                second: set[int] = set()

                async def new_worker_heartbeating() -> bool:
                    assert pool is not None
                    second.update((await _live_worker_pids(pool)) - {first})
                    return bool(second)

                await eventually(new_worker_heartbeating, 90, "a new worker heartbeating")
                worker_pids.update(second)

                async def all_stored() -> bool:
                    return await stored() >= len(expected)

                await eventually(all_stored, 120, f"all {len(expected)} events stored", 1)
                recovered_s = time.monotonic() - killed_at
                await asyncio.sleep(2)  # anything stored twice or late would show by now

            assert prober.errors == [], f"the API did not answer: {prober.errors[:5]}"
            assert prober.answers > 0
            assert job.poll() is None, "`hub run` stopped after the worker was killed"
            assert not pid_alive(first)
            ids = {
                str(row["event_id"])
                for row in await pool.fetch("SELECT event_id FROM ingested_events")
            }
            assert ids == expected, f"{len(expected - ids)} lost, {len(ids - expected)} unexpected"
            counted = await pool.fetchval("SELECT coalesce(sum(events), 0) FROM port_event_counts")
            assert counted == len(expected), "an event was counted twice or not at all"
            health = await client.get("/health")
            assert health.status_code == 200 and health.json()["worker"]["status"] == "ok"
            print(f"stored all {len(expected)} events {recovered_s:.0f} s after the kill")
    except BaseException:
        print(log.read_text()[-4000:])
        raise
    finally:
        if pool is not None:
            await pool.close()
        status = stop_process(job, signal.SIGINT, 60)
    output = log.read_text()
    assert status == 0, output[-3000:]
    assert output.count("restarting in") == 1, output[-3000:]
    assert "hub: stopped" in output
    await asyncio.sleep(0.5)
    assert not any(pid_alive(pid) for pid in worker_pids), "a worker outlived the main job"
