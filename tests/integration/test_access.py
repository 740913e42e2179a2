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
    eventually,
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

            async def answering() -> bool:
                try:
                    return (await client.get("/health")).status_code in (200, 503)
                except httpx.TransportError:
                    return False

            await eventually(answering, 90, "the API to answer")
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
            (entries[5][0], "validations.read", "401"),
        ]
        assert entries[1][0].startswith("token:") and entries[5][0].startswith("token:")
        assert expired not in entries[1][0] and peru not in entries[5][0]
        assert {r["target"] for r in rows if r["action"] == "validations.read"} == {"CERT-1"}
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
