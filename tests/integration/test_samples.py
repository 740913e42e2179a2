"""The samples publishers start from (issue 20): every one is accepted by a real `hub api` and
stored by a real worker, over HTTP and over Kafka with the documented snippet; the README's quick
path works; an empty body says so."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

import asyncpg
import httpx
import pytest

from connectors.sample_issuer import sample_issuer
from hub.db.tokens import create_port_token
from hub.domain.reference import BUNDLED_PORTS_FILE, load_ports
from hub.domain.samples import SAMPLES, as_json, build_samples
from hub.run.generate import register_test_issuers
from hub.settings import PROJECT_ROOT
from tests.integration.helpers import (
    Services,
    bearer,
    eventually,
    free_port,
    hub_environment,
    running_hub,
)

SNIPPET = PROJECT_ROOT / "docs" / "samples" / "kafka" / "publish_avro.py"


@dataclass(frozen=True)
class Hub:
    base_url: str
    database_url: str
    namespace: str
    environment: dict[str, str]


@pytest.fixture(scope="module")
async def hub(services: Services, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Hub]:
    """`hub api` and `hub worker` on a database and topic namespace of their own."""
    name = f"hub_samples_{uuid.uuid4().hex[:8]}"
    await services.postgres.create_database(name, fresh=True)
    folder = tmp_path_factory.mktemp("samples")
    namespace = f"t{services.run_id}-samples."
    environment = hub_environment(
        HUB_KAFKA_BOOTSTRAP=services.bootstrap,
        HUB_KAFKA_TENANT_BOOTSTRAP=services.kafka.tenant_bootstrap,
        DATABASE_URL=services.database_url(name),
        HUB_TOPIC_NAMESPACE=namespace,
        HUB_WORKER_ID=f"{namespace}worker",
        HUB_STATE_DIR=str(folder),
        HUB_HTTP_PORT=str(free_port()),
        HUB_WORKER_HEARTBEAT_S="1",
        HUB_LOG_LEVEL="warning",
    )
    async with running_hub(environment, folder) as base:
        yield Hub(base, services.database_url(name), namespace, environment)


@pytest.fixture(scope="module")
async def token(hub: Hub) -> str:
    connection = await asyncpg.connect(hub.database_url)
    try:
        return await create_port_token(connection, "PECLL", "samples")
    finally:
        await connection.close()


async def _stored(database_url: str, event_ids: set[str], timeout_s: float = 60) -> None:
    """Wait until the worker stored every one of ``event_ids``."""
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=1)
    try:

        async def all_stored() -> bool:
            rows = await pool.fetch(
                "SELECT event_id::text FROM ingested_events WHERE event_id = ANY($1::uuid[])",
                list(event_ids),
            )
            return {row["event_id"] for row in rows} == event_ids

        await eventually(all_stored, timeout_s, f"{len(event_ids)} events to be stored")
    finally:
        await pool.close()


def _hub_command(environment: dict[str, str], *arguments: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "hub", *arguments], env=environment, cwd=PROJECT_ROOT,
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


async def test_every_sample_built_now_is_accepted_over_http_and_stored(
    hub: Hub, token: str
) -> None:
    ports = load_ports(BUNDLED_PORTS_FILE)
    issuer = sample_issuer("PE", {port.country for port in ports})
    samples = build_samples("PECLL", datetime.now(UTC), issuer)
    connection = await asyncpg.connect(hub.database_url)
    try:  # the generator's test issuers, as `hub run` registers them
        await register_test_issuers(connection, {issuer.exporting_country})
    finally:
        await connection.close()
    assert [sample.name for sample in samples] == [kind.name for kind in SAMPLES]
    answers = {}
    async with httpx.AsyncClient(base_url=hub.base_url, timeout=30) as client:
        for sample in samples:
            response = await client.post(
                f"/v1/events/{sample.domain}", json=as_json(sample.event), headers=bearer(token)
            )
            answers[sample.name] = (response.status_code, response.json()["results"])
    expected = {
        sample.name: (200, [{"index": 0, "event_id": str(sample.event.event_id),
                             "status": "accepted"}])
        for sample in samples
    }  # fmt: skip
    assert answers == expected
    await _stored(hub.database_url, {str(sample.event.event_id) for sample in samples})
    # One story: the certificate passes every rule against the declaration that invokes it.
    lodged = next(s.event for s in samples if s.name == "customs.lodged")
    certificate = next(s.event for s in samples if s.name == "certificate.submission")
    pool = await asyncpg.create_pool(hub.database_url, min_size=1, max_size=1)
    try:

        async def judged_with_the_declaration() -> bool:
            row = await pool.fetchrow(
                "SELECT declarations FROM certificate_verdicts WHERE certificate_id = $1 "
                "ORDER BY version DESC LIMIT 1",
                certificate.certificate_id,  # type: ignore[attr-defined]
            )
            return row is not None and bool(row["declarations"])

        await eventually(judged_with_the_declaration, 60, "the verdict with the declaration")
        verdict = await pool.fetchrow(
            "SELECT outcome, failed, declarations FROM certificate_verdicts "
            "WHERE certificate_id = $1 ORDER BY version DESC LIMIT 1",
            certificate.certificate_id,  # type: ignore[attr-defined]
        )
    finally:
        await pool.close()
    assert verdict is not None
    assert (verdict["outcome"], verdict["failed"]) == ("VALID", [])
    assert list(verdict["declarations"]) == [f"PECLL/{lodged.declaration_id}"]  # type: ignore[attr-defined]


async def test_the_readme_quick_path_a_token_a_sample_and_one_post(hub: Hub) -> None:
    # The README's three commands, with this test's hub for localhost:8080.
    token = (await asyncio.to_thread(_hub_command, hub.environment, "tokens", "add-port",
                                     "PECLL")).strip()  # fmt: skip
    event_json = await asyncio.to_thread(
        _hub_command, hub.environment, "samples", "vessel.ata", "--port", "PECLL"
    )
    event_id = json.loads(event_json)["event_id"]
    async with httpx.AsyncClient(base_url=hub.base_url, timeout=30) as client:
        response = await client.post(
            "/v1/events/vessel",
            content=event_json.encode(),
            headers=bearer(token) | {"Content-Type": "application/json"},
        )
    assert response.status_code == 200, response.text
    assert response.json() == {
        "accepted": 1,
        "rejected": 0,
        "failed": 0,
        "results": [{"index": 0, "event_id": event_id, "status": "accepted"}],
    }


def _snippet() -> ModuleType:
    spec = importlib.util.spec_from_file_location("publish_avro", SNIPPET)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def test_the_kafka_snippet_publishes_an_event_the_gateway_accepts(
    hub: Hub, tmp_path: Path
) -> None:
    # A SASL user is the broker's, shared by every test's hub: a port no other test's tenant
    # uses, so that no other test resets its password meanwhile.
    port = "COCTG"
    settings = await asyncio.to_thread(_hub_command, hub.environment, "tenants", "add-port", port)
    properties = tmp_path / "coctg.properties"
    properties.write_text(settings, encoding="utf-8")
    snippet = _snippet()
    event = snippet.vessel_arrival(port)
    await asyncio.to_thread(
        snippet.publish,
        snippet.read_properties(properties),
        port,
        event,
        f"{hub.base_url}/registry",
        hub.namespace,
    )
    await _stored(hub.database_url, {event["event_id"]})
    connection = await asyncpg.connect(hub.database_url)
    try:
        payload = await connection.fetchval(
            "SELECT payload FROM ingested_events WHERE event_id = $1", uuid.UUID(event["event_id"])
        )
    finally:
        await connection.close()
    assert json.loads(payload)["publisher"] == f"kafka:port-{port}"


async def test_an_empty_body_is_called_empty_not_invalid_json(hub: Hub, token: str) -> None:
    async with httpx.AsyncClient(base_url=hub.base_url, timeout=30) as client:
        for body in (b"", b"  \n"):
            response = await client.post("/v1/events/vessel", content=body, headers=bearer(token))
            assert response.status_code == 400
            answer = response.json()
            assert answer["reason"] == "UNDECODABLE"
            assert answer["error"].startswith("the body is empty")
            assert "hub samples" in answer["error"]
        not_json = await client.post("/v1/events/vessel", content=b"{", headers=bearer(token))
        assert not_json.status_code == 400
        assert not_json.json()["error"].startswith("body is not JSON")


async def test_the_openapi_examples_are_every_sample_and_are_accepted(hub: Hub, token: str) -> None:
    async with httpx.AsyncClient(base_url=hub.base_url, timeout=30) as client:
        document = (await client.get("/openapi.json")).json()
        body = document["paths"]["/v1/events/{domain}"]["post"]["requestBody"]
        examples = body["content"]["application/json"]["examples"]
        assert list(examples) == [kind.name for kind in SAMPLES]
        # What "Try it out" at /docs sends: each example to its domain.
        statuses = {}
        for name, example in examples.items():
            domain = name.split(".")[0]
            response = await client.post(
                f"/v1/events/{domain}", json=example["value"], headers=bearer(token)
            )
            statuses[name] = [result["status"] for result in response.json()["results"]]
    assert statuses == {name: ["accepted"] for name in examples}
