"""Token expiry and revocation, and the audit log of verdict reads and admin actions (issue 9)."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx

from hub.db.tokens import create_access_token, create_port_token, revoke_access_tokens
from hub.settings import PROJECT_ROOT
from tests.integration.helpers import (
    Services,
    api_answering,
    free_port,
    start_hub,
    stop_process,
    worker_environment,
)


async def test_expired_and_revoked_tokens_are_refused_and_every_verdict_read_is_audited(
    services: Services, fresh_database: str, namespace: str, tmp_path: Path
) -> None:
    port_http = free_port()
    environment = worker_environment(services, fresh_database, namespace, tmp_path) | {
        "HUB_HTTP_PORT": str(port_http)
    }
    api = start_hub(["api"], environment, tmp_path / "api.log")
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port_http}") as client:
            await api_answering(client)
            pool = await asyncpg.create_pool(fresh_database, min_size=1, max_size=2)
            try:
                past = datetime.now(UTC) - timedelta(minutes=1)
                later = datetime.now(UTC) + timedelta(days=1)
                peru = await create_access_token(pool, "customs", "PE", "aduana", later)
                expired = await create_access_token(pool, "customs", "EC", "old", past)
                admin = await create_access_token(pool, "admin", "", "ops")
                stale_port = await create_port_token(pool, "PECLL", "old", past)

                def bearer(token: str) -> dict[str, str]:
                    return {"Authorization": f"Bearer {token}"}

                read = "/v1/validations/CERT-1"
                assert (await client.get(read, headers=bearer(peru))).status_code == 404
                assert (await client.get(read, headers=bearer(expired))).status_code == 401
                assert (await client.get(read)).status_code == 401
                assert (await client.get(read, headers=bearer(admin))).status_code == 404
                listed = await client.get("/v1/admin/issuers", headers=bearer(peru))
                assert listed.status_code == 403
                posted = await client.post("/v1/events/vessel", json=[], headers=bearer(stale_port))
                assert posted.status_code == 401

                # Revoked: refused from the next request on, well within a second.
                await revoke_access_tokens(pool, "customs", "PE")
                revoked_at = time.monotonic()
                refused = await client.get(read, headers=bearer(peru))
                assert refused.status_code == 401
                assert time.monotonic() - revoked_at < 1.0

                rows = await pool.fetch(
                    "SELECT actor, action, target, outcome, remote FROM audit_log ORDER BY id"
                )
            finally:
                await pool.close()
        entries = [(r["actor"], r["action"], r["outcome"].split(" ")[0]) for r in rows]
        assert entries == [
            ("customs:PE/aduana", "validations.read", "404"),
            (entries[1][0], "validations.read", "401"),
            ("anonymous", "validations.read", "401"),
            ("admin:/ops", "validations.read", "404"),
            ("customs:PE/aduana", "issuers.list", "403"),
            (entries[5][0], "events.publish", "401"),
            (entries[6][0], "validations.read", "401"),
        ]
        assert all(entries[i][0].startswith("token:") for i in (1, 5, 6))
        assert expired not in entries[1][0] and peru not in entries[6][0]
        assert {r["target"] for r in rows if r["action"] == "validations.read"} == {"CERT-1"}
        assert rows[5]["target"] == "vessel"
        assert all(r["remote"] == "127.0.0.1" for r in rows)
    finally:
        stop_process(api, signal.SIGTERM, 30)


async def test_token_commands_print_the_validity_and_are_audited(
    services: Services, fresh_database: str, namespace: str, tmp_path: Path
) -> None:
    environment = worker_environment(services, fresh_database, namespace, tmp_path)
    migrated = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "hub", "migrate"], env=environment,
        cwd=PROJECT_ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert migrated.returncode == 0, migrated.stderr

    def hub(*arguments: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "hub", "tokens", *arguments], env=environment,
            cwd=PROJECT_ROOT, capture_output=True, text=True, check=False,
        )  # fmt: skip

    created = await asyncio.to_thread(hub, "add-customs", "PE", "--label", "aduana")
    forever = await asyncio.to_thread(hub, "add-admin", "--expires-days", "0")
    revoked = await asyncio.to_thread(hub, "revoke-customs", "PE")
    wrong = await asyncio.to_thread(hub, "add-admin", "--expires-days", "-1")

    assert created.returncode == 0 and created.stdout.startswith("hubc_")
    in_a_year = (datetime.now(UTC) + timedelta(days=365)).strftime("%Y-%m-%d")
    assert f"valid until {in_a_year}" in created.stderr
    assert "valid until revoked" in forever.stderr
    assert "1 customs PE token(s) revoked" in revoked.stderr
    assert wrong.returncode == 2 and "--expires-days" in wrong.stderr
    connection = await asyncpg.connect(fresh_database)
    try:
        rows = await connection.fetch("SELECT actor, action, target FROM audit_log ORDER BY id")
    finally:
        await connection.close()
    assert [(r["action"], r["target"]) for r in rows] == [
        ("tokens.add-customs", "PE/aduana"),
        ("tokens.add-admin", "/"),
        ("tokens.revoke-customs", "PE/"),
    ]
    assert all(r["actor"].startswith("cli:") for r in rows)


async def test_every_tenant_is_refused_every_endpoint_that_is_not_its_own_and_it_is_logged(
    services: Services, fresh_database: str, namespace: str, tmp_path: Path
) -> None:
    """The HTTP half of issue 9's matrix: each kind of token (and none) against every endpoint
    it must not reach. The Kafka half waits for SASL."""
    port_http = free_port()
    environment = worker_environment(services, fresh_database, namespace, tmp_path) | {
        "HUB_HTTP_PORT": str(port_http)
    }
    api = start_hub(["api"], environment, tmp_path / "api.log")
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port_http}") as client:
            await api_answering(client)
            pool = await asyncpg.create_pool(fresh_database, min_size=1, max_size=2)
            try:
                past = datetime.now(UTC) - timedelta(minutes=1)
                tokens = {
                    "port PECLL": await create_port_token(pool, "PECLL", "t"),
                    "customs PE": await create_access_token(pool, "customs", "PE", "t"),
                    "customs EC": await create_access_token(pool, "customs", "EC", "t"),
                    "admin": await create_access_token(pool, "admin", "", "t"),
                    "expired customs PE": await create_access_token(
                        pool, "customs", "PE", "old", past
                    ),
                    "revoked port BRSSZ": await create_port_token(pool, "BRSSZ", "old"),
                }
                await pool.execute(
                    "UPDATE publisher_tokens SET revoked_at = now() WHERE port = 'BRSSZ'"
                )
                await pool.execute(
                    """
                    INSERT INTO certificate_verdicts (certificate_id, version, importing_country,
                        exporting_country, outcome, failed, rules, document_sha256, declarations,
                        submission_event_id, verdict)
                    VALUES ('CERT-PE', 1, 'PE', 'CL', 'VALID', '{}', '[]', repeat('0', 64), '{}',
                        gen_random_uuid(), '{"certificate_id": "CERT-PE"}')
                    """
                )
                first_audit = await pool.fetchval("SELECT coalesce(max(id), 0) FROM audit_log")

                Attempt = tuple[str, str, object]
                entity: dict[str, object] = {"name": "x", "agreements": []}
                publish: Attempt = ("POST", "/v1/events/vessel", [])
                edifact = ("POST", "/v1/edifact", "UNA:+.? '")
                read_pe = ("GET", "/v1/validations/CERT-PE", None)
                stream = ("GET", "/v1/validations/stream", None)
                admin_list = ("GET", "/v1/admin/issuers", None)
                admin_put = ("PUT", "/v1/admin/issuers/PE/ABC", entity)
                forbidden: dict[str | None, list[Attempt]] = {
                    None: [publish, edifact, read_pe, stream, admin_list, admin_put],
                    "port PECLL": [read_pe, stream, admin_list, admin_put],
                    "customs PE": [publish, edifact, admin_list, admin_put],
                    "customs EC": [publish, edifact, read_pe, admin_list, admin_put],
                    "admin": [publish, edifact, stream],
                    "expired customs PE": [read_pe, stream, admin_list],
                    "revoked port BRSSZ": [publish, edifact],
                }
                attempts = refused = 0
                for who, endpoints in forbidden.items():
                    headers = {"Authorization": f"Bearer {tokens[who]}"} if who else {}
                    for method, path, body in endpoints:
                        kwargs: dict[str, object] = {"headers": headers}
                        if isinstance(body, str):
                            kwargs["content"] = body
                        elif body is not None:
                            kwargs["json"] = body
                        response = await client.request(method, path, **kwargs)  # type: ignore[arg-type]
                        attempts += 1
                        assert response.status_code in (401, 403), (who, path, response.text)
                        refused += 1
                # A port publishing for another port: answered per event, PORT_NOT_OWNED.
                santos = {
                    "event_id": "7c0b1d0e-7a57-4a1b-9a4b-8c1d2e3f4a5b",
                    "occurred_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
                    "published_at": datetime.now(UTC).isoformat(),
                    "port": "BRSSZ", "port_call_id": "X1", "imo": "9074729",
                    "classifier": "ACT", "operation": "ARRI", "facility": "PORT",
                }  # fmt: skip
                other_port = await client.post(
                    "/v1/events/vessel",
                    json=[santos],
                    headers={"Authorization": f"Bearer {tokens['port PECLL']}"},
                )
                attempts += 1
                result = other_port.json()["results"][0]
                assert (result["status"], result["reason"]) == ("rejected", "PORT_NOT_OWNED")
                refused += 1

                logged = await pool.fetch(
                    "SELECT actor, action, outcome FROM audit_log WHERE id > $1", first_audit
                )
                not_owned = await pool.fetchval(
                    "SELECT events FROM rejected_event_counts WHERE reason = 'PORT_NOT_OWNED'"
                )
            finally:
                await pool.close()
        print(f"HTTP matrix: {refused} refused / {attempts} attempts")
        assert refused == attempts == sum(map(len, forbidden.values())) + 1
        # Every refusal by token is in the audit log (the PORT_NOT_OWNED one is dead-lettered
        # and counted instead, as every refused event is).
        assert len(logged) == attempts - 1
        assert all(row["outcome"].split(" ")[0] in ("401", "403") for row in logged)
        assert {row["action"] for row in logged} == {
            "events.publish", "edifact.publish", "validations.read", "validations.stream",
            "issuers.list", "issuers.put-entity",
        }  # fmt: skip
        assert not_owned == 1
    finally:
        stop_process(api, signal.SIGTERM, 30)
