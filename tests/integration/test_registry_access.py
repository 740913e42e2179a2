"""Who may change the schema registry, on a running `hub api` (issue 16, item 7).

The tenant matrix of the registry's writes: no token, a made-up one, a port's publisher token, a
customs and a read:kpis token are each refused on every write route — 401 (Confluent's 40101,
with ``WWW-Authenticate``) or 403 (40301) — before the body is looked at, nothing changes, and
every attempt is in the audit log. An admin token may write, and each of its writes is audited
with how it ended. Reads stay open, and so does what changes nothing: a lookup, a compatibility
check, and a registration of a schema the subject already has (which Confluent serializers send
on every start), so a port's producer keeps working with the schemas the hub registered.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.schema_registry.error import SchemaRegistryError
from confluent_kafka.serialization import MessageField, SerializationContext

from hub.db.tokens import create_access_token, create_port_token
from schemas.avro_schemas import schema_text
from schemas.models import to_avro_datum
from tests.integration.helpers import Services, api_environment, bearer, running_api
from tests.samples import samples

HOSTILE = json.dumps(
    {"type": "record", "name": "Hostile", "fields": [{"name": "x", "type": "int"}]}
)
# Not BACKWARD compatible with the cargo schema: another record, with a field of no default.
INCOMPATIBLE = json.dumps(
    {
        "type": "record",
        "name": "Cargo",
        "namespace": "hostile",
        "fields": [{"name": "x", "type": "int"}],
    }
)
NEW_SUBJECT = "hostile-value"
# The POSTs that change nothing, open like the reads.
READ_LIKE = {
    ("POST", "/registry/subjects/{subject}"),
    ("POST", "/registry/compatibility/subjects/{subject}/versions"),
    ("POST", "/registry/compatibility/subjects/{subject}/versions/{version}"),
}


def write_routes(subject: str) -> list[tuple[str, str, str | None, str, str]]:
    """Every write route of the registry: method, path, body, audit action, audit target."""
    level = json.dumps({"compatibility": "NONE"})
    return [
        ("POST", f"/registry/subjects/{NEW_SUBJECT}/versions", json.dumps({"schema": HOSTILE}),
         "registry.register", NEW_SUBJECT),
        ("POST", f"/registry/subjects/{subject}/versions", json.dumps({"schema": INCOMPATIBLE}),
         "registry.register", subject),
        ("PUT", "/registry/config", level, "registry.set-global-config", "(global)"),
        ("PUT", f"/registry/config/{subject}", level, "registry.set-subject-config", subject),
        ("DELETE", f"/registry/config/{subject}", None, "registry.delete-subject-config", subject),
        ("DELETE", f"/registry/subjects/{subject}", None, "registry.delete-subject", subject),
        ("DELETE", f"/registry/subjects/{subject}?permanent=true", None,
         "registry.delete-subject", f"{subject} (permanent)"),
    ]  # fmt: skip


def bad_bodies(subject: str) -> list[tuple[str, str, str, str, str]]:
    """Writes whose bodies FastAPI would refuse (422, 400) were the token not checked first."""
    return [
        ("POST", f"/registry/subjects/{subject}/versions", "{not json", "registry.register",
         subject),
        ("PUT", "/registry/config", "[" * 50_000 + "]" * 50_000, "registry.set-global-config",
         "(global)"),
        ("PUT", f"/registry/config/{subject}", "[]", "registry.set-subject-config", subject),
    ]  # fmt: skip


def basic(token: str) -> dict[str, str]:
    """The token as the password of Basic credentials, as Confluent clients send them."""
    return {"Authorization": "Basic " + base64.b64encode(f"any:{token}".encode()).decode()}


async def registry_state(client: httpx.AsyncClient, subject: str) -> dict[str, Any]:
    """What a write could change, read with no token."""
    return {
        "subjects": (await client.get("/registry/subjects", params={"deleted": "true"})).json(),
        "versions": (await client.get(f"/registry/subjects/{subject}/versions")).json(),
        "latest": (await client.get(f"/registry/subjects/{subject}/versions/latest")).json(),
        "global": (await client.get("/registry/config")).json(),
        "own level": (await client.get(f"/registry/config/{subject}")).status_code,
    }


async def audit_rows(pool: asyncpg.Pool, since: int) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await pool.fetch(
        "SELECT id, actor, action, target, outcome FROM audit_log "
        "WHERE id > $1 AND action LIKE 'registry.%' ORDER BY id",
        since,
    )
    return rows


async def last_audit_id(pool: asyncpg.Pool) -> int:
    last: int = await pool.fetchval("SELECT coalesce(max(id), 0) FROM audit_log")
    return last


async def test_only_an_admin_token_changes_the_registry_and_every_attempt_is_audited(
    services: Services, fresh_database: str, namespace: str, tmp_path: Path
) -> None:
    environment = api_environment(services, fresh_database, namespace, tmp_path)
    subject = f"{namespace}ingest.cargo-value"
    async with running_api(environment, tmp_path / "api.log") as client:
        pool = await asyncpg.create_pool(fresh_database, min_size=1, max_size=2)
        try:
            port = await create_port_token(pool, "PECLL", "registry-test")
            customs = await create_access_token(pool, "customs", "PE", "aduana")
            reader = await create_access_token(pool, "kpis", "", "dashboard")
            admin = await create_access_token(pool, "admin", "", "ops")
            made_up = "huba_made-up"
            made_up_actor = "token:" + hashlib.sha256(made_up.encode()).hexdigest()[:8]
            # name: (headers, status, error code, audited actor)
            tenants: dict[str, tuple[dict[str, str], int, int, str]] = {
                "anonymous": ({}, 401, 40101, "anonymous"),
                "made-up token": (bearer(made_up), 401, 40101, made_up_actor),
                "port": (bearer(port), 403, 40301, "port:PECLL/registry-test"),
                "port, lowercase scheme": (
                    {"Authorization": f"bearer {port}"},
                    403,
                    40301,
                    "port:PECLL/registry-test",
                ),
                "port, Basic": (basic(port), 403, 40301, "port:PECLL/registry-test"),
                "customs": (bearer(customs), 403, 40301, "customs:PE/aduana"),
                "reader": (bearer(reader), 403, 40301, "kpis:/dashboard"),
            }

            # The matrix covers every write route the API has.
            spec = (await client.get("/openapi.json")).json()
            routes = {
                (method.upper(), path)
                for path, operations in spec["paths"].items()
                if path.startswith("/registry/")
                for method in operations
                if method != "get"
            }
            assert routes - READ_LIKE == {
                (
                    method,
                    path.split("?")[0]
                    .replace(subject, "{subject}")
                    .replace(NEW_SUBJECT, "{subject}"),
                )
                for method, path, *_ in write_routes(subject)
            }

            # The hub registered its event schemas at start.
            before = await registry_state(client, subject)
            assert before["versions"] == [1]
            assert before["global"] == {"compatibilityLevel": "BACKWARD"}
            assert before["own level"] == 404
            since = await last_audit_id(pool)

            attempts = 0
            for tenant, (headers, status, code, _) in tenants.items():
                for method, path, body, _, _ in write_routes(subject) + bad_bodies(subject):
                    answer = await client.request(
                        method, path, content=body,
                        headers=headers | {"Content-Type": "application/json"},
                    )  # fmt: skip
                    attempts += 1
                    assert answer.status_code == status, (tenant, method, path, answer.text)
                    refusal = answer.json()
                    assert refusal["error_code"] == code, (tenant, path, refusal)
                    assert "admin token" in refusal["message"] or code == 40101
                    if status == 401:
                        assert answer.headers["www-authenticate"] == "Bearer"
            assert attempts == len(tenants) * 10

            # Nothing changed: the reproductions of the issue (a new subject, level NONE, an
            # incompatible schema, soft and hard deletes of the cargo subject) all failed.
            assert await registry_state(client, subject) == before

            rows = await audit_rows(pool, since)
            audited = {(row["actor"], row["action"], row["target"]): row["outcome"] for row in rows}
            for tenant, (_, status, _, actor) in tenants.items():
                for _, _, _, action, target in write_routes(subject) + bad_bodies(subject):
                    outcome = audited.get((actor, action, target))
                    assert outcome is not None, (tenant, action, target)
                    assert outcome.startswith(f"{status} "), (tenant, action, outcome)
            assert all(row["outcome"][:3] in ("401", "403") for row in rows)

            # Reads are open and not audited; so is what changes nothing.
            since = await last_audit_id(pool)
            cargo = before["latest"]
            assert (await client.get(f"/registry/schemas/ids/{cargo['id']}")).status_code == 200
            looked_up = await client.post(
                f"/registry/subjects/{subject}", json={"schema": cargo["schema"]}
            )
            assert looked_up.json()["id"] == cargo["id"]
            checked = await client.post(
                f"/registry/compatibility/subjects/{subject}/versions/latest",
                json={"schema": INCOMPATIBLE},
            )
            assert checked.json() == {"is_compatible": False}
            again = await client.post(
                f"/registry/subjects/{subject}/versions", json={"schema": cargo["schema"]}
            )
            assert again.json() == {"id": cargo["id"]}
            # Issue 16, item 2: an id beyond PostgreSQL's integers is not found (it was a 500).
            beyond = await client.get("/registry/schemas/ids/3562275882")
            assert (beyond.status_code, beyond.json()["error_code"]) == (404, 40403)
            assert await audit_rows(pool, since) == []

            # A port's Confluent serializer, with no credentials and auto-registration on (the
            # default), gets the id of the hub's schema for its own topic's subject, which gets
            # no version; a schema of its own is refused.
            await confluent_producer_checks(client, namespace, cargo["id"])
            assert await registry_state(client, subject) == before
            port_subject = f"{namespace}ports.PECLL.cargo-value"
            port_versions = await client.get(f"/registry/subjects/{port_subject}/versions")
            assert port_versions.status_code == 404

            # An admin writes, each write audited with how it ended.
            since = await last_audit_id(pool)
            as_admin = bearer(admin)
            expected = [
                ("POST", f"/registry/subjects/{NEW_SUBJECT}/versions", {"schema": HOSTILE}, 200),
                ("PUT", f"/registry/config/{subject}", {"compatibility": "NONE"}, 200),
                ("POST", f"/registry/subjects/{subject}/versions", {"schema": INCOMPATIBLE}, 200),
                ("DELETE", f"/registry/config/{subject}", None, 200),
                ("PUT", "/registry/config", {"compatibility": "BACKWARD"}, 200),
                ("DELETE", f"/registry/subjects/{NEW_SUBJECT}", None, 200),
                ("DELETE", f"/registry/subjects/{NEW_SUBJECT}?permanent=true", None, 200),
                ("PUT", "/registry/config", {"compatibility": "SIDEWAYS"}, 422),
            ]
            for method, path, payload, status in expected:
                answer = await client.request(method, path, json=payload, headers=as_admin)
                assert answer.status_code == status, (method, path, answer.text)
            bad = await client.put("/registry/config", content="{not json", headers=as_admin)
            assert (bad.status_code, bad.json()["error_code"]) == (422, 422)
            assert (await client.get(f"/registry/subjects/{subject}/versions")).json() == [1, 2]
            rows = await audit_rows(pool, since)
            assert [(row["actor"], row["action"], row["outcome"][:6]) for row in rows] == [
                ("admin:/ops", "registry.register", "200 ok"),
                ("admin:/ops", "registry.set-subject-config", "200 ok"),
                ("admin:/ops", "registry.register", "200 ok"),
                ("admin:/ops", "registry.delete-subject-config", "200 ok"),
                ("admin:/ops", "registry.set-global-config", "200 ok"),
                ("admin:/ops", "registry.delete-subject", "200 ok"),
                ("admin:/ops", "registry.delete-subject", "200 ok"),
                ("admin:/ops", "registry.set-global-config", "422 42"),
                ("admin:/ops", "registry.set-global-config", "422 42"),
            ]
            assert rows[6]["target"] == f"{NEW_SUBJECT} (permanent)"
            assert "SIDEWAYS" in rows[7]["outcome"]
        finally:
            await pool.close()


async def confluent_producer_checks(
    client: httpx.AsyncClient, namespace: str, cargo_id: int
) -> None:
    url = str(client.base_url).rstrip("/") + "/registry"
    producer = SchemaRegistryClient({"url": url, "max.retries": 0})
    try:
        # What a port's producer does with the README's settings: a serializer, defaults.
        serializer = AvroSerializer(producer, schema_text("cargo"))
        event = samples("cargo", datetime.now(UTC) - timedelta(minutes=2))[0]
        context = SerializationContext(f"{namespace}ports.PECLL.cargo", MessageField.VALUE)
        data = await asyncio.to_thread(serializer, to_avro_datum(event), context)
        assert data is not None
        assert int.from_bytes(data[1:5], "big") == cargo_id
        with pytest.raises(SchemaRegistryError) as refused:
            await asyncio.to_thread(producer.register_schema, NEW_SUBJECT, Schema(HOSTILE, "AVRO"))
        assert (refused.value.http_status_code, refused.value.error_code) == (401, 40101)
    finally:
        producer.close()
