"""`hub run` as a user runs it: up, counting events per port within a minute, stopped by Ctrl-C."""

from __future__ import annotations

import asyncio
import json
import signal
import time
from pathlib import Path

import httpx

from hub.local.process import pid_alive
from tests.integration.helpers import (
    Services,
    api_answering,
    bearer,
    eventually,
    free_port,
    hub_environment,
    reader_token,
    start_hub,
    stop_process,
)


async def test_main_job_serves_live_port_counts_and_stops_on_ctrl_c(
    services: Services, fresh_database: str, namespace: str, tmp_path: Path
) -> None:
    http_port, metrics_port = free_port(), free_port()
    state_dir = tmp_path / "state"
    log = tmp_path / "hub-run.log"
    began = time.monotonic()
    job = start_hub(
        ["run"],
        hub_environment(
            HUB_KAFKA_BOOTSTRAP=services.bootstrap,
            DATABASE_URL=fresh_database,
            HUB_TOPIC_NAMESPACE=namespace,
            HUB_WORKER_ID=f"{namespace}main-job",
            HUB_STATE_DIR=str(state_dir),
            HUB_HTTP_PORT=str(http_port),
            HUB_WORKER_METRICS_PORT=str(metrics_port),
            HUB_GENERATOR_RATE="200",
            HUB_WORKER_HEARTBEAT_S="1",
        ),
        log,
    )
    base = f"http://127.0.0.1:{http_port}"
    try:
        async with (
            httpx.AsyncClient(base_url=base, timeout=5) as client,
            httpx.AsyncClient(base_url=base, timeout=5) as kpis,
        ):
            # The database is migrated once the API answers; then a reader token reads the KPIs.
            await api_answering(client, 60)
            kpis.headers.update(bearer(await reader_token(fresh_database)))

            async def counting() -> bool:
                try:
                    response = await kpis.get("/v1/ports")
                except httpx.TransportError:
                    return False
                if response.status_code != 200:
                    return False
                # The first flush may have counted one port only: wait for the spread.
                return sum(1 for p in response.json()["ports"] if p["events"] > 0) >= 2

            await eventually(counting, 60, "event counts of several ports on /v1/ports")
            elapsed = time.monotonic() - began
            ports = (await kpis.get("/v1/ports")).json()
            assert len(ports["ports"]) == 28
            assert ports["total_events"] == sum(p["events"] for p in ports["ports"])
            assert sum(1 for p in ports["ports"] if p["events"] > 0) >= 2

            first_total = ports["total_events"]

            async def grew() -> bool:
                total = (await kpis.get("/v1/ports")).json()["total_events"]
                return bool(total > first_total)

            await eventually(grew, 30, "the counts growing while the generator runs")

            async def latest() -> dict[str, object]:
                return dict((await kpis.get("/v1/kpis/latest")).json())

            async def some_kpis() -> bool:
                return bool((await latest())["ports"])

            await eventually(some_kpis, 60, "KPIs on /v1/kpis/latest")
            first_kpis = await latest()

            async def kpis_changed() -> bool:
                return await latest() != first_kpis

            await eventually(kpis_changed, 60, "the dashboard's KPI values changing live")

            # The same values pushed live, for dashboards: the first event comes on connect.
            async with kpis.stream("GET", "/v1/kpis/stream", timeout=30) as stream:
                assert stream.headers["content-type"].startswith("text/event-stream")
                lines = stream.aiter_lines()
                assert await anext(lines) == "event: kpis"
                pushed = json.loads((await anext(lines)).removeprefix("data: "))
            assert pushed["ports"] and pushed["as_of"]
            busiest = max(ports["ports"], key=lambda port: port["vessel_events"])["unlocode"]
            calls = await kpis.get(f"/v1/ports/{busiest}/calls")
            assert calls.status_code == 200, calls.text
            assert {call["state"] for call in calls.json()["calls"]} <= {
                "expected",
                "arriving",
                "at anchorage",
                "at berth",
            }
            assert (await kpis.get("/v1/ports/XXXXX/calls")).status_code == 404
            # Without a token: the KPIs are refused, the dashboard's files are not.
            assert (await client.get("/v1/ports")).status_code == 401
            page = await client.get("/", follow_redirects=True)
            assert page.status_code == 200 and "text/html" in page.headers["content-type"]
            assert (await client.get("/dashboard/app.js")).status_code == 200

            # Prometheus: the worker's and the API's own /metrics.
            worker_url = f"http://127.0.0.1:{metrics_port}/metrics"

            async def lag_measured() -> bool:  # every 10 s, once the worker has joined
                return "hub_consumer_lag{" in (await client.get(worker_url)).text

            await eventually(lag_measured, 40, "the worker's consumer lag on its /metrics")
            worker_metrics = (await client.get(worker_url)).text
            assert _sample(worker_metrics, "hub_events_in_total", 'domain="vessel"') > 0
            assert _sample(worker_metrics, "hub_kpi_latency_seconds_count") > 0
            assert "hub_events_rejected_total" in worker_metrics
            api_metrics = (await client.get("/metrics")).text
            assert _sample(api_metrics, "hub_http_requests_total", 'route="/v1/ports"') > 0
            # Routes of included routers are named by their template too, not lumped together.
            calls_route = 'route="/v1/ports/{unlocode}/calls",status="404"'
            assert _sample(api_metrics, "hub_http_requests_total", calls_route) >= 1
            assert 'route="other"' not in api_metrics

            health = await client.get("/health")
            assert health.status_code == 200, health.text
            body = health.json()
            assert body["status"] == "ok"
            assert {body[part]["status"] for part in ("broker", "database", "worker")} == {"ok"}
    except BaseException:
        print(log.read_text()[-4000:])
        raise
    finally:
        worker_pids = _worker_pids(log)
        status = stop_process(job, signal.SIGINT, 60)
    output = log.read_text()
    assert status == 0, output[-3000:]
    assert "hub: stopped" in output
    # An external database (DATABASE_URL): no development token; the line says how to get one.
    up = next(line for line in output.splitlines() if "hub: up in" in line)
    assert f"dashboard {base}/dashboard/ needs a read:kpis token" in up, up
    assert "`hub tokens add-reader`" in up and "#token=hubk_" not in output
    assert not (state_dir / "dev-credentials.json").exists()
    assert elapsed < 60
    await asyncio.sleep(0.5)
    assert worker_pids, "the worker's pid was not found in the worker log"
    assert not any(pid_alive(pid) for pid in worker_pids), "the worker outlived the main job"


def _worker_pids(log: Path) -> list[int]:
    worker_log = log.parent / "state" / "worker.log"
    if not worker_log.exists():
        return []
    pids = set()
    for line in worker_log.read_text().splitlines():
        parts = line.split("] [", 2)
        if len(parts) >= 2 and parts[1].isdigit():
            pids.add(int(parts[1]))
    return sorted(pids)


def _sample(exposition: str, name: str, label: str = "") -> float:
    """Sum of the samples of ``name`` (with ``label`` among their labels) in a Prometheus text
    exposition."""
    total = 0.0
    for line in exposition.splitlines():
        if line.startswith(name) and label in line and not line.startswith("#"):
            metric = line.split(" ", 1)[0].split("{", 1)[0]
            if metric == name:
                total += float(line.rsplit(" ", 1)[1])
    return total
