"""PostgreSQL stopped under a running `hub api` (issue 16, item 5): every request that needs it is
answered 503 "not delivered, retry" with ``Retry-After`` — never 500 — and nothing is half done;
once it is back, the same requests succeed, and a ``HubPublisher`` that kept retrying through
the outage delivers everything exactly once.

The test runs a PostgreSQL cluster of its own (the session's is shared with other tests, and must
not be stopped); the broker is the session's.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
import pytest

from hub.client import HubPublisher
from hub.db.tokens import create_access_token, create_port_token
from hub.kafka_topics import INGEST_TOPICS
from hub.local.postgres import LocalPostgres
from tests.integration.helpers import (
    Services,
    api_environment,
    bearer,
    eventually,
    free_port,
    read_topic,
    running_api,
)
from tests.samples import samples

HEALTH_ANSWERS_WITHIN_S = 2.0


@pytest.fixture
async def own_postgres(tmp_path: Path) -> AsyncIterator[LocalPostgres]:
    """A PostgreSQL cluster of this test's own, on a free port; removed afterwards."""
    cluster = LocalPostgres(tmp_path / "own-postgres", free_port(), database="hub")
    try:
        await cluster.start()
        yield cluster
    finally:
        await asyncio.to_thread(cluster.stop)
        # As root under a folder `postgres` cannot enter, the cluster lives outside tmp_path.
        shutil.rmtree(cluster.home, ignore_errors=True)


def recent() -> datetime:
    return datetime.now(UTC) - timedelta(minutes=2)


def vessel_events(count: int) -> list[dict[str, object]]:
    """``count`` valid vessel events of PECLL as JSON, each with an event id of its own."""
    return [
        samples("vessel", recent())[0].model_dump(mode="json", exclude_none=True)
        for _ in range(count)
    ]


async def test_postgres_down_is_503_retry_never_500_and_the_publisher_gets_through(
    services: Services, own_postgres: LocalPostgres, namespace: str, tmp_path: Path
) -> None:
    database = own_postgres.url()
    environment = api_environment(services, database, namespace, tmp_path)
    async with running_api(environment, tmp_path / "api.log") as client:
        connection = await asyncpg.connect(database)
        try:
            port = await create_port_token(connection, "PECLL", "outage")
            reader = await create_access_token(connection, "kpis", "", "outage")
            customs = await create_access_token(connection, "customs", "PE", "outage")
            await connection.execute(
                """
                INSERT INTO certificate_verdicts (certificate_id, version, importing_country,
                    exporting_country, outcome, failed, rules, document_sha256, declarations,
                    submission_event_id, verdict)
                VALUES ('CERT-PE', 1, 'PE', 'CL', 'VALID', '{}', '[]', repeat('0', 64), '{}',
                    gen_random_uuid(), '{"certificate_id": "CERT-PE"}')
                """
            )
        finally:
            await connection.close()

        def requests() -> list[tuple[str, str, dict[str, str], object]]:
            """(method, path, headers, JSON body): a publication (new events each time), KPI,
            ports, verdict and registry reads, a refused token, and the port's feedback."""
            return [
                ("POST", "/v1/events/vessel", bearer(port), vessel_events(2)),
                ("GET", "/v1/kpis/latest", bearer(reader), None),
                ("GET", "/v1/ports", bearer(reader), None),
                ("GET", "/v1/validations/CERT-PE", bearer(customs), None),
                ("GET", "/v1/ports", bearer("hubk_made-up"), None),
                ("GET", "/registry/subjects", {}, None),
                ("GET", "/v1/feedback", bearer(port), None),
            ]

        async def send(
            method: str, path: str, headers: dict[str, str], body: object
        ) -> httpx.Response:
            return await client.request(method, path, headers=headers, json=body, timeout=30)

        # Up: every request gets its normal answer.
        up = [await send(*request) for request in requests()]
        assert [r.status_code for r in up] == [200, 200, 200, 200, 401, 200, 200], [
            r.text for r in up
        ]
        assert up[0].json()["accepted"] == 2
        assert (await client.get("/health")).json()["database"]["status"] == "ok"

        # Down: 503 "not delivered, retry" with Retry-After, for every request, several rounds
        # (the pool's connections die at the first, are reconnected at the next).
        await asyncio.to_thread(own_postgres.stop)
        statuses: list[int] = []
        lost_during_outage = 0
        for _ in range(3):
            for request in requests():
                response = await send(*request)
                statuses.append(response.status_code)
                assert response.status_code == 503, (request[:2], response.text)
                assert response.headers["retry-after"].isdigit()
                body = response.json()
                if request[1].startswith("/registry"):
                    # The registry answers in the Confluent format its clients read.
                    assert body.get("error_code") == 50001, body
                else:
                    assert body.get("error") == "not delivered, retry", (request[:2], body)
                if request[1] == "/v1/events/vessel":
                    lost_during_outage += 2
            began = time.monotonic()
            health = await client.get("/health")
            assert time.monotonic() - began < HEALTH_ANSWERS_WITHIN_S
            assert health.status_code == 503
            assert health.json()["database"]["status"] == "down"
        assert 500 not in statuses

        # A publisher sending meanwhile keeps retrying (503, Retry-After) instead of failing...
        events = [samples("vessel", recent())[0] for _ in range(5)]
        async with HubPublisher(
            str(client.base_url), port, retries=100, backoff_s=0.2, max_backoff_s=1.0,
            retry_for_s=90,
        ) as publisher:  # fmt: skip
            publishing = asyncio.create_task(publisher.publish("vessel", events))
            await asyncio.sleep(4)
            assert not publishing.done(), publishing
            # ... and gets through once PostgreSQL is back.
            await own_postgres.start()
            report = await asyncio.wait_for(publishing, 90)
        assert report.accepted == [str(event.event_id) for event in events]
        assert report.rejected == [] and report.failed == []

        # Back: the same requests succeed again.
        async def database_back() -> bool:
            status: str = (await client.get("/health")).json()["database"]["status"]
            return status == "ok"

        await eventually(database_back, 30, "the API to see PostgreSQL again")
        back = [await send(*request) for request in requests()]
        assert [r.status_code for r in back] == [200, 200, 200, 200, 401, 200, 200], [
            r.text for r in back
        ]

    # Nothing half done: the ingest topic has the events accepted (2 before, 5 by the publisher,
    # 2 after), each once, and none of those answered 503.
    topic = f"{namespace}{INGEST_TOPICS['vessel']}"
    delivered = await read_topic(services.bootstrap, topic, expected=9)
    assert lost_during_outage == 6
    assert len(delivered) == 9
    # No request escaped as the server's bare 500, nor as an unexpected error of the app.
    log = (tmp_path / "api.log").read_text(errors="replace")
    assert "Exception in ASGI application" not in log, log[-3000:]
    assert "unexpected error answering" not in log, log[-3000:]


def cluster_processes(cluster: LocalPostgres) -> list[int]:
    """The postmaster of ``cluster`` and its children (every backend and helper)."""
    postmaster = int((cluster.data / "postmaster.pid").read_text().split()[0])
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        if int(fields[1]) == postmaster:
            children.append(int(stat.parent.name))
    return [postmaster, *children]


async def test_health_answers_within_2_s_while_postgres_is_frozen(
    services: Services, own_postgres: LocalPostgres, namespace: str, tmp_path: Path
) -> None:
    """Issue 16, item 11e: with every PostgreSQL process stopped (SIGSTOP: connections open,
    nothing answers), /health still answers within 2 s, 503 with the database down; and again
    ok once it runs on."""
    environment = api_environment(services, own_postgres.url(), namespace, tmp_path)
    async with running_api(environment, tmp_path / "api.log") as client:
        assert (await client.get("/health")).json()["database"]["status"] == "ok"
        frozen = cluster_processes(own_postgres)
        for pid in frozen:
            os.kill(pid, signal.SIGSTOP)
        try:
            for _ in range(4):
                began = time.monotonic()
                health = await client.get("/health", timeout=10)
                took = time.monotonic() - began
                assert took < HEALTH_ANSWERS_WITHIN_S, took
                assert health.status_code == 503
                assert health.json()["database"]["status"] == "down", health.json()
        finally:
            for pid in frozen:
                os.kill(pid, signal.SIGCONT)

        async def database_ok() -> bool:
            status: str = (await client.get("/health")).json()["database"]["status"]
            return status == "ok"

        await eventually(database_ok, 30, "the database check to pass again")
