"""Streaming KPIs equal the batch reference, through the real broker, worker and database."""

from __future__ import annotations

import json
import math
import random
import signal
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx

from connectors.simulator import PortTrafficGenerator
from hub.domain.kpis.reference import all_kpis
from hub.domain.kpis.windows import window_aggregates
from hub.domain.reference import BUNDLED_PORTS_FILE, load_ports
from hub.kafka_topics import KPI_WINDOWS
from schemas.models import Classifier, Facility, Operation, VesselEvent
from schemas.routing import domain_of
from tests.integration.helpers import (
    Services,
    bearer,
    eventually,
    free_port,
    kpi_differences,
    kpi_key,
    publish_events,
    read_topic,
    reader_token,
    start_hub,
    stop_process,
    stored_kpis,
    worker_environment,
    worker_started,
)


async def test_a_shuffled_day_with_duplicates_gives_the_batch_reference(
    services: Services, fresh_database: str, namespace: str, tmp_path: Path
) -> None:
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    generator = PortTrafficGenerator(
        load_ports(BUNDLED_PORTS_FILE), seed=4, start=end - timedelta(days=2), scale=0.05
    )
    day = list(generator.events_between(end - timedelta(days=1), end))
    assert len({domain_of(event) for event in day}) >= 3
    rng = random.Random(5)
    sent = day + rng.sample(day, k=len(day) // 20)  # 5% duplicates
    rng.shuffle(sent)

    worker = start_hub(
        ["worker"],
        worker_environment(services, fresh_database, namespace, tmp_path),
        tmp_path / "worker.log",
    )
    pool = await asyncpg.create_pool(fresh_database, min_size=1, max_size=2)
    try:
        await eventually(lambda: worker_started(pool), 90, "the worker's start")
        await publish_events(services.bootstrap, pool, namespace, sent)
        expected = {kpi_key(v): v for v in all_kpis(day)}
        assert expected, "the generated day gave no KPI"

        async def equal() -> bool:
            return kpi_differences(expected, await stored_kpis(pool)) == []

        try:
            await eventually(
                equal, 180, "the streamed KPIs to equal the batch reference", interval_s=2
            )
        except AssertionError:
            differences = kpi_differences(expected, await stored_kpis(pool))
            accounted = await pool.fetchval(
                "SELECT coalesce(sum(events + duplicates), 0) FROM port_event_counts"
            )
            rejected = await pool.fetch(
                "SELECT reason, sum(events) AS n FROM rejected_event_counts GROUP BY reason"
            )
            raise AssertionError(
                f"{len(differences)} differences, e.g. {differences[:5]}; "
                f"{accounted} of {len(sent)} accepted, rejected {[tuple(r) for r in rejected]}"
            ) from None

        for granularity in ("hour", "day"):
            reference = {
                (w.port, w.window_start, w.kpi): w
                for w in window_aggregates(expected.values(), granularity)
            }
            rows = await pool.fetch("SELECT * FROM kpi_windows WHERE granularity = $1", granularity)
            stored = {(r["port"].strip(), r["window_start"], r["kpi"]): r for r in rows}
            assert stored.keys() == reference.keys(), granularity
            for key, window in reference.items():
                row = stored[key]
                assert row["count"] == window.count, key
                for field in ("total", "mean", "median", "p90"):
                    assert math.isclose(
                        row[field], getattr(window, field), rel_tol=1e-9, abs_tol=1e-6
                    ), (key, field)
    finally:
        await pool.close()
        stop_process(worker, signal.SIGTERM, 30)


async def test_a_hand_made_call_reads_back_through_the_api(
    services: Services, fresh_database: str, namespace: str, tmp_path: Path
) -> None:
    """Arrives, waits 6 h at anchorage, berths 20 h: the API says so, berth occupancy too."""
    port_http = free_port()
    environment = worker_environment(services, fresh_database, namespace, tmp_path) | {
        "HUB_HTTP_PORT": str(port_http)
    }
    worker = start_hub(["worker"], environment, tmp_path / "worker.log")
    api = start_hub(["api"], environment, tmp_path / "api.log")
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)
    steps = [
        (Operation.ARRI, Facility.PORT, 0.0),
        (Operation.ARRI, Facility.ANCH, 0.25),
        (Operation.DEPA, Facility.ANCH, 6.25),
        (Operation.ARRI, Facility.PBPL, 6.5),
        (Operation.ARRI, Facility.BRTH, 7.25),
        (Operation.STRT, Facility.BRTH, 8.0),
        (Operation.CMPL, Facility.BRTH, 26.5),
        (Operation.DEPA, Facility.BRTH, 27.25),
    ]
    events = [
        VesselEvent(
            event_id=uuid.uuid4(),
            occurred_at=t0 + timedelta(hours=hours),
            published_at=t0 + timedelta(hours=hours, minutes=1),
            port="PECLL",
            port_call_id="HAND-MADE-1",
            imo="9074729",
            classifier=Classifier.ACT,
            operation=operation,
            facility=facility,
            berth_id="B3" if facility is Facility.BRTH else None,
        )
        for operation, facility, hours in steps
    ]
    pool = await asyncpg.create_pool(fresh_database, min_size=1, max_size=2)
    try:
        await eventually(lambda: worker_started(pool), 90, "the worker's start")
        await publish_events(services.bootstrap, pool, namespace, list(reversed(events)))
        reader = bearer(await reader_token(fresh_database))
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port_http}", headers=reader
        ) as client:

            async def departed() -> bool:
                try:
                    response = await client.get("/v1/port-calls/PECLL/HAND-MADE-1")
                except httpx.TransportError:
                    return False
                return (
                    response.status_code == 200
                    and response.json()["state"] == "departed"
                    and "port_hours_h" in response.json()["kpis"]
                )

            await eventually(departed, 90, "the call to be reported departed")
            call = (await client.get("/v1/port-calls/PECLL/HAND-MADE-1")).json()
            kpis = {name: value["value"] for name, value in call["kpis"].items()}
            assert math.isclose(kpis["waiting_time_h"], 7.25, abs_tol=1 / 3600)
            assert math.isclose(kpis["anchorage_time_h"], 6.0, abs_tol=1 / 3600)
            assert math.isclose(kpis["gross_berth_h"], 20.0, abs_tol=1 / 3600)
            assert math.isclose(kpis["port_hours_h"], 27.25, abs_tol=1 / 3600)
            assert [e["facility"] for e in call["events"]] == [s[1].value for s in steps]

            day = (
                await client.get(
                    "/v1/ports/PECLL/kpis",
                    params={"granularity": "day", "from": (t0 - timedelta(days=1)).isoformat()},
                )
            ).json()
            waiting = [w for w in day["windows"] if w["kpi"] == "waiting_time_h"]
            assert len(waiting) == 1 and waiting[0]["count"] == 1
            assert math.isclose(waiting[0]["mean"], 7.25, abs_tol=1 / 3600)
            latest = (await client.get("/v1/kpis/latest")).json()
            assert "PECLL" in {port["port"] for port in latest["ports"]}

            # Berth occupancy: 20 h at one of Callao's 7 berths (the bundled ports file), split
            # over the hours and days it spans.
            for granularity, window_hours in (("hour", 1), ("day", 24)):
                windows = (
                    await client.get(
                        "/v1/ports/PECLL/kpis",
                        # A day before: the window holding t0 starts before t0.
                        params={
                            "granularity": granularity,
                            "from": (t0 - timedelta(days=1)).isoformat(),
                        },
                    )
                ).json()["windows"]
                occupancy = [w for w in windows if w["kpi"] == "berth_occupancy_pct"]
                assert {w["unit"] for w in occupancy} == {"%"}
                berth_hours = math.fsum(w["total"] * 7 * window_hours / 100 for w in occupancy)
                assert math.isclose(berth_hours, 20.0, abs_tol=1 / 3600), granularity
                assert max(w["total"] for w in occupancy) <= 100 / 7 + 1e-9
            latest_pecll = next(p for p in latest["ports"] if p["port"] == "PECLL")["kpis"]
            assert 0 < latest_pecll["berth_occupancy_pct"]["total"] <= 100 / 7

        published = await read_topic(
            services.bootstrap, f"{namespace}{KPI_WINDOWS}", 10**6, timeout_s=5
        )
        windows_published = [json.loads(value) for value, _ in published]
        assert {"hour", "day"} <= {
            w["granularity"] for w in windows_published if w["kpi"] == "berth_occupancy_pct"
        }
    finally:
        await pool.close()
        stop_process(api, signal.SIGTERM, 30)
        stop_process(worker, signal.SIGTERM, 30)
