"""The open data (issue 21, item 5) as an anonymous reader sees it: the regional indicators the real
worker computed from generated events, small cells suppressed, a licence on every answer, the
same rows as JSON, CSV, Parquet and SDMX-CSV; the entity routes still refused; hostile
parameters a 4xx; a rate limit per address that recovers; 503 "retry" while PostgreSQL is down.
"""

from __future__ import annotations

import asyncio
import base64
import csv
import io
import math
import shutil
import signal
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pyarrow.parquet as pq
import pytest

from connectors.simulator import PortTrafficGenerator
from hub.db.tokens import create_access_token
from hub.domain.reference import BUNDLED_PORTS_FILE, load_ports
from hub.local.postgres import LocalPostgres
from tests.integration.helpers import (
    Services,
    api_environment,
    bearer,
    eventually,
    free_port,
    hub_environment,
    publish_events,
    reader_token,
    running_api,
    start_hub,
    stop_process,
    worker_started,
)

PORTS = ("PECLL", "COCTG", "MXVER")
FIRST_DAY = datetime(2026, 10, 6, tzinfo=UTC)
DAYS = 3
MIN_COUNT = 5
LICENCE_URL = "https://creativecommons.org/licenses/by/4.0/"
# Routes of entity-level data (calls, KPIs of entities, verdicts, events) and the token-only
# indicators: an anonymous reader gets none of them.
ENTITY_ROUTES = (
    "/v1/indicators",
    "/v1/ports",
    "/v1/kpis/latest",
    "/v1/ports/PECLL/kpis",
    "/v1/ports/PECLL/calls",
    "/v1/port-calls/PECLL/CALL-1",
    "/v1/dcsa/events",
    "/v1/validations/CERT-1",
    "/v1/admin/issuers",
    "/v1/feedback",
)


async def test_anonymous_readers_get_the_aggregates_suppressed_and_licensed_in_every_format(
    services: Services, fresh_database: str, namespace: str, tmp_path: Path
) -> None:
    generator = PortTrafficGenerator(
        [port for port in load_ports(BUNDLED_PORTS_FILE) if port.unlocode in PORTS],
        seed=5,
        start=FIRST_DAY - timedelta(days=1),
        scale=0.005,
    )
    events = list(generator.events_between(FIRST_DAY, FIRST_DAY + timedelta(days=DAYS)))
    http_port = free_port()
    environment = hub_environment(
        HUB_KAFKA_BOOTSTRAP=services.bootstrap,
        DATABASE_URL=fresh_database,
        HUB_TOPIC_NAMESPACE=namespace,
        HUB_WORKER_ID=f"{namespace}worker",
        HUB_STATE_DIR=str(tmp_path / "state"),
        HUB_WORKER_HEARTBEAT_S="1",
        HUB_HTTP_PORT=str(http_port),
        HUB_LATE_GRACE_HOURS=str(24 * 400),  # the days lie in the past
        HUB_INDICATORS_INTERVAL_S="2",
        HUB_INDICATORS_MONTH_INTERVAL_S="2",
        # This test reads a lot; the limit has a test of its own below.
        HUB_OPEN_DATA_RATE_PER_S="100000",
        HUB_OPEN_DATA_BURST="100000",
    )
    worker = start_hub(["worker"], environment, tmp_path / "worker.log")
    api = start_hub(["api"], environment, tmp_path / "api.log")
    pool = await asyncpg.create_pool(fresh_database, min_size=1, max_size=2)
    try:
        await eventually(lambda: worker_started(pool), 90, "the worker's start")
        await publish_events(services.bootstrap, pool, namespace, events)

        async def all_taken_in() -> bool:
            taken = await pool.fetchval("SELECT count(*) FROM ingested_events")
            return bool(taken == len(events))

        await eventually(all_taken_in, 240, "every event taken in", interval_s=2)
        days = {FIRST_DAY + timedelta(days=n) for n in range(DAYS)}
        last_seen: list[object] = []

        async def computed_and_settled() -> bool:
            starts = await pool.fetch(
                "SELECT DISTINCT period, period_start FROM indicators ORDER BY 1, 2"
            )
            state = await pool.fetchrow("SELECT count(*), max(computed_at) FROM indicators")
            found = {(r["period"], r["period_start"]) for r in starts}
            complete = {("day", day) for day in days} | {("month", FIRST_DAY.replace(day=1))}
            settled = complete <= found and last_seen[-1:] == [tuple(state)]
            last_seen.append(tuple(state))
            return settled

        await eventually(computed_and_settled, 180, "the days' indicators", interval_s=5)
        # Frozen from here: what the API serves can be compared with the table.
        stop_process(worker, signal.SIGTERM, 30)
        stored = {
            _key(row): row
            for row in await pool.fetch("SELECT * FROM indicators ORDER BY level, entity")
        }
        reader = await reader_token(fresh_database)
    finally:
        await pool.close()
        stop_process(worker, signal.SIGTERM, 30)

    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{http_port}") as client:
            await _the_aggregates_are_served_suppressed(client, stored, reader)
            await _the_exports_hold_the_same_rows(client)
            await _entity_routes_stay_closed(client)
            await _hostile_parameters_are_refused(client)
    finally:
        stop_process(api, signal.SIGTERM, 30)
    log = (tmp_path / "api.log").read_text(errors="replace")
    assert "unexpected error answering" not in log, log[-3000:]
    assert "Exception in ASGI application" not in log, log[-3000:]


def _key(row: Any) -> tuple[str, str, str, str, str]:
    start = row["period_start"]
    moment = start if isinstance(start, str) else start.isoformat()
    return (row["level"], row["entity"], row["period"], moment, row["indicator"])


async def _all_pages(client: httpx.AsyncClient, limit: int, **params: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        query = params | {"limit": str(limit)} | ({"cursor": cursor} if cursor else {})
        answer = await client.get("/v1/open/indicators", params=query)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert len(body["indicators"]) <= limit
        rows += body["indicators"]
        cursor = body["next_cursor"]
        if cursor is None:
            return rows


def _same(a: float | None, b: float | None) -> bool:
    return (a is None) == (b is None) and (a is None or math.isclose(a, b or 0.0, rel_tol=1e-12))


async def _the_aggregates_are_served_suppressed(
    client: httpx.AsyncClient, stored: dict[tuple[str, str, str, str, str], Any], reader: str
) -> None:
    catalogue = await client.get("/v1/open")
    assert catalogue.status_code == 200, catalogue.text
    assert catalogue.json()["licence"] == "CC-BY-4.0"
    assert catalogue.json()["min_count"] == MIN_COUNT
    assert "day" in catalogue.json()["periods"] and "month" in catalogue.json()["periods"]

    answer = await client.get("/v1/open/indicators", params={"limit": "10000"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["licence"] == "CC-BY-4.0" and body["licence_url"] == LICENCE_URL
    assert body["attribution"]
    assert answer.headers["link"] == f'<{LICENCE_URL}>; rel="license"'
    assert body["next_cursor"] is None
    served = {_key(row): row for row in body["indicators"]}
    # Every stored aggregate, and nothing else.
    assert served.keys() == stored.keys()
    small = [key for key, row in stored.items() if row["count"] < MIN_COUNT]
    large = [key for key, row in stored.items() if row["count"] >= MIN_COUNT]
    assert small and large, (len(small), len(large))
    for key in small:
        row = served[key]
        assert row["suppressed"] is True, row
        assert (row["count"], row["value"], row["median"], row["p90"], row["detail"]) == (
            None, None, None, None, None,
        ), row  # fmt: skip
    for key in large:
        row, source = served[key], stored[key]
        assert row["suppressed"] is False, row
        assert row["count"] == source["count"]
        for field in ("value", "median", "p90"):
            assert _same(row[field], source[field]), (key, field)
        assert row["detail"] is None or set(row["detail"]) == {"reason"}
    # At least one small cell had a value the public does not see.
    assert any(stored[key]["value"] is not None for key in small)
    assert {key[0] for key in large} >= {"region", "country"}

    # Pages follow each other and give the same rows; a token widens nothing.
    assert await _all_pages(client, 37) == body["indicators"]
    with_token = await client.get(
        "/v1/open/indicators", params={"limit": "10000"}, headers=bearer(reader)
    )
    assert with_token.json() == body

    # Filters: one port's days in a range.
    params = {"level": "port", "entity": "pecll", "period": "day",
              "since": (FIRST_DAY + timedelta(days=1)).isoformat(),
              "until": (FIRST_DAY + timedelta(days=2)).date().isoformat()}  # fmt: skip
    filtered = await client.get("/v1/open/indicators", params=params)
    assert filtered.status_code == 200, filtered.text
    expected = {
        key for key in stored
        if key[:3] == ("port", "PECLL", "day")
        and key[3] == (FIRST_DAY + timedelta(days=1)).isoformat()
    }  # fmt: skip
    assert expected and {_key(row) for row in filtered.json()["indicators"]} == expected


async def _the_exports_hold_the_same_rows(client: httpx.AsyncClient) -> None:
    json_rows = (await client.get("/v1/open/indicators", params={"limit": "10000"})).json()
    rows = json_rows["indicators"]
    by_key = {_key(row): row for row in rows}

    download = await client.get("/v1/open/indicators.csv")
    assert download.status_code == 200, download.text
    assert download.headers["content-type"].startswith("text/csv")
    assert download.headers["link"] == f'<{LICENCE_URL}>; rel="license"'
    table = list(csv.DictReader(io.StringIO(download.text)))
    assert len(table) == len(rows)
    for line in table:
        row = by_key[_key(line)]
        assert line["licence"] == "CC-BY-4.0" and line["attribution"] == json_rows["attribution"]
        assert line["suppressed"] == ("true" if row["suppressed"] else "false")
        assert line["count"] == ("" if row["count"] is None else str(row["count"]))
        for field in ("value", "median", "p90"):
            text = line[field]
            assert _same(float(text) if text else None, row[field]), (line, field)
        assert line["time_period"] == row["time_period"]

    parquet = await client.get("/v1/open/indicators.parquet")
    assert parquet.status_code == 200, parquet.text
    assert parquet.headers["content-type"] == "application/vnd.apache.parquet"
    opened = pq.read_table(io.BytesIO(parquet.content))
    metadata = {k.decode(): v.decode() for k, v in opened.schema.metadata.items()}
    assert metadata["licence"] == "CC-BY-4.0" and metadata["licence_url"] == LICENCE_URL
    assert metadata["min_count"] == str(MIN_COUNT)
    records = opened.to_pylist()
    assert len(records) == len(rows)
    for record in records:
        record["period_start"] = record["period_start"].isoformat()
        row = by_key[_key(record)]
        assert record["suppressed"] is row["suppressed"]
        assert record["count"] == row["count"]
        assert record["time_period"] == row["time_period"]
        for field in ("value", "median", "p90"):
            assert _same(record[field], row[field]), (record, field)
        computed = record["computed_at"]
        assert computed is not None and computed.isoformat() == row["computed_at"]

    sdmx = await client.get("/v1/open/indicators.sdmx.csv", params={"period": "month"})
    assert sdmx.status_code == 200, sdmx.text
    assert sdmx.headers["content-type"].startswith("application/vnd.sdmx.data+csv")
    assert sdmx.headers["link"] == f'<{LICENCE_URL}>; rel="license"'
    lines = list(csv.DictReader(io.StringIO(sdmx.text)))
    monthly = {key: row for key, row in by_key.items() if key[2] == "month"}
    assert monthly and len(lines) == len(monthly)
    for line in lines:
        assert line["DATAFLOW"] == "PORTHUB:REGIONAL_INDICATORS(1.0)"
        assert line["FREQ"] == "M" and line["TIME_PERIOD"] == "2026-10"
        start = FIRST_DAY.replace(day=1).isoformat()
        row = by_key[(line["LEVEL"].lower(), line["REF_AREA"], "month", start,
                      line["INDICATOR"].lower())]  # fmt: skip
        if row["suppressed"]:
            assert (line["OBS_VALUE"], line["OBS_STATUS"], line["CONF_STATUS"]) == ("", "Q", "C")
            assert line["OBS_COUNT"] == ""
        else:
            assert line["OBS_STATUS"] in ("A", "M") and line["CONF_STATUS"] == "F"
            value = float(line["OBS_VALUE"]) if line["OBS_VALUE"] else None
            assert _same(value, row["value"]) and line["OBS_COUNT"] == str(row["count"])


async def _entity_routes_stay_closed(client: httpx.AsyncClient) -> None:
    for path in ENTITY_ROUTES:
        for headers in ({}, bearer("hubk_made-up")):
            answer = await client.get(path, headers=headers)
            assert answer.status_code in (401, 403), (path, answer.status_code, answer.text)


async def _hostile_parameters_are_refused(client: httpx.AsyncClient) -> None:
    huge = "9" * 400
    queries = [
        "entity=PE%00CLL",
        "entity=%ED%A0%80",
        "entity=" + "A" * 5000,
        "indicator=port_hours_h%00",
        "indicator=%F0%9F%92%A9",
        "level=PORT",
        "level=port&level=country",
        "period=day&period=day",
        "period=week",
        "period=%00",
        f"limit={huge}",
        "limit=0",
        "limit=-1",
        "limit=1e400",
        "limit=10001",
        f"since={huge}",
        "since=0001-01-01T00:00:00%2B01:00",
        "until=9999-12-31T23:59:59-01:00",
        "since=2026-10-08&until=2026-10-01",
        "since=2026-13-01",
        "cursor=%00",
        "cursor=bm90IGpzb24",  # "not json"
        "cursor="
        + base64.urlsafe_b64encode(b'["a","b","c","0001-01-01T00:00:00+01:00","d"]').decode(),
        "cursor=" + base64.urlsafe_b64encode(b'["a","b","c","2026-10-01","d"]').decode(),
        "cursor=" + base64.urlsafe_b64encode(b"[1,2,3,4,5]").decode(),
        "token=abc",
        "%00=1",
    ]
    paths = ("/v1/open/indicators", "/v1/open/indicators.csv", "/v1/open/indicators.parquet",
             "/v1/open/indicators.sdmx.csv")  # fmt: skip
    for path in paths:
        for query in queries:
            if path != "/v1/open/indicators" and query.startswith(("cursor", "limit")):
                continue  # the exports take neither: refused as unknown, tried once below
            answer = await client.get(f"{path}?{query}")
            assert answer.status_code == 422, (path, query, answer.status_code, answer.text)
            named = {str(problem["loc"][-1]) for problem in answer.json()["detail"]}
            assert named, (path, query, answer.text)
    for path in paths[1:]:
        answer = await client.get(f"{path}?limit=5")
        assert answer.status_code == 422 and answer.json()["detail"][0]["loc"][-1] == "limit"
    answer = await client.get("/v1/open?level=port")
    assert answer.status_code == 422, answer.text


async def test_the_open_rate_limit_is_per_address_a_token_does_not_raise_it_and_it_recovers(
    services: Services, fresh_database: str, namespace: str, tmp_path: Path
) -> None:
    environment = api_environment(services, fresh_database, namespace, tmp_path) | {
        "HUB_OPEN_DATA_RATE_PER_S": "1",
        "HUB_OPEN_DATA_BURST": "3",
    }
    async with running_api(environment, tmp_path / "api.log") as client:
        reader = await reader_token(fresh_database)
        served = [await client.get("/v1/open/indicators") for _ in range(3)]
        assert [answer.status_code for answer in served] == [200, 200, 200]
        assert served[0].json()["indicators"] == []  # no indicators computed: an empty page
        refused = await client.get("/v1/open/indicators.csv")
        assert refused.status_code == 429, refused.text
        retry_after = int(refused.headers["retry-after"])
        assert 1 <= retry_after <= 2
        # A token, a made-up one or a reader's, does not give another bucket.
        for token in ("hubk_made-up", reader):
            answer = await client.get("/v1/open/indicators", headers=bearer(token))
            assert answer.status_code == 429
        # The token routes are not under the open limit.
        assert (await client.get("/v1/indicators", headers=bearer(reader))).status_code == 200
        await asyncio.sleep(retry_after + 0.1)
        assert (await client.get("/v1/open/indicators")).status_code == 200


@pytest.fixture
async def own_postgres(tmp_path: Path) -> AsyncIterator[LocalPostgres]:
    """A PostgreSQL cluster of this test's own (the session's must not be stopped)."""
    cluster = LocalPostgres(tmp_path / "own-postgres", free_port(), database="hub")
    try:
        await cluster.start()
        yield cluster
    finally:
        await asyncio.to_thread(cluster.stop)
        shutil.rmtree(cluster.home, ignore_errors=True)


async def test_postgres_down_is_503_retry_on_every_open_route_never_500(
    services: Services, own_postgres: LocalPostgres, namespace: str, tmp_path: Path
) -> None:
    database = own_postgres.url()
    environment = api_environment(services, database, namespace, tmp_path)
    paths = ("/v1/open/indicators", "/v1/open/indicators.csv", "/v1/open/indicators.parquet",
             "/v1/open/indicators.sdmx.csv")  # fmt: skip
    async with running_api(environment, tmp_path / "api.log") as client:
        connection = await asyncpg.connect(database)
        try:
            await create_access_token(connection, "kpis", "", "unused")  # migrated: it exists
        finally:
            await connection.close()
        assert [(await client.get(path)).status_code for path in paths] == [200] * 4
        await asyncio.to_thread(own_postgres.stop)
        for _ in range(2):
            for path in paths:
                answer = await client.get(path, timeout=30)
                assert answer.status_code == 503, (path, answer.text)
                assert answer.headers["retry-after"].isdigit()
                assert answer.json()["error"] == "not delivered, retry"
    log = (tmp_path / "api.log").read_text(errors="replace")
    assert "unexpected error answering" not in log, log[-3000:]
