"""Token expiry and revocation, the scopes of the HTTP API (publish:PORT, read:validations:COUNTRY,
read:kpis, admin), and the audit log of verdict reads, refusals and admin actions (issue 9)."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg

from hub.db.audit import DISTINCT_REFUSALS_PER_MINUTE
from hub.db.tokens import create_access_token, create_port_token, revoke_access_tokens
from hub.settings import PROJECT_ROOT
from tests.integration.helpers import (
    Services,
    api_environment,
    bearer,
    reader_token,
    running_api,
    worker_environment,
)

# Every route that serves KPIs, indicators or the ports list (a read:kpis or admin token each).
KPI_READS = (
    "/v1/ports",
    "/v1/kpis/latest",
    "/v1/kpis/stream",
    "/v1/ports/PECLL/kpis",
    "/v1/ports/PECLL/calls",
    "/v1/port-calls/PECLL/CALL-1",
    "/v1/indicators",
    "/v1/dcsa/events",
)
# Every GET route of the API but the schema registry's, as OpenAPI names them: a new one must be
# placed here, with or without the read:kpis guard.
KPI_ROUTES = {
    "/v1/ports",
    "/v1/ports/{unlocode}/kpis",
    "/v1/ports/{unlocode}/calls",
    "/v1/port-calls/{port}/{port_call_id}",
    "/v1/kpis/latest",
    "/v1/kpis/stream",
    "/v1/indicators",
    "/v1/dcsa/events",
}
OTHER_GET_ROUTES = {
    "/health",  # open
    "/v1/validations/stream",  # customs token
    "/v1/validations/{certificate_id}",  # customs or admin token
    "/v1/admin/issuers",  # admin token
    "/v1/feedback",  # a publisher's own refusals, or admin (tests/integration/test_feedback.py)
}
# Any token, each sees its own subscriptions (tests/integration/test_webhooks.py).
WEBHOOK_GET_ROUTES = {"/v1/webhooks", "/v1/webhooks/{subscription_id}"}
# The open data (tests/integration/test_open_data.py): the deliberate exception, anonymous.
OPEN_GET_ROUTES = {
    "/v1/open",
    "/v1/open/indicators",
    "/v1/open/indicators.csv",
    "/v1/open/indicators.parquet",
    "/v1/open/indicators.sdmx.csv",
}


async def test_expired_and_revoked_tokens_are_refused_and_every_verdict_read_is_audited(
    services: Services, fresh_database: str, namespace: str, tmp_path: Path
) -> None:
    environment = api_environment(services, fresh_database, namespace, tmp_path)
    async with running_api(environment, tmp_path / "api.log") as client:
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
    reader = await asyncio.to_thread(hub, "add-reader", "--label", "board", "--expires-days", "30")
    reader_for_peru = await asyncio.to_thread(hub, "add-reader", "PE")
    readers_revoked = await asyncio.to_thread(hub, "revoke-reader")
    usage = await asyncio.to_thread(hub, "--help")

    assert created.returncode == 0 and created.stdout.startswith("hubc_")
    in_a_year = (datetime.now(UTC) + timedelta(days=365)).strftime("%Y-%m-%d")
    assert f"valid until {in_a_year}" in created.stderr
    assert "valid until revoked" in forever.stderr
    assert "1 customs PE token(s) revoked" in revoked.stderr
    assert wrong.returncode == 2 and "--expires-days" in wrong.stderr
    assert reader.returncode == 0 and reader.stdout.startswith("hubk_"), reader.stderr
    in_a_month = (datetime.now(UTC) + timedelta(days=30)).strftime("%Y-%m-%d")
    assert f"reader token created, valid until {in_a_month}" in reader.stderr
    dashboard = f"http://127.0.0.1:8080/dashboard/#token={reader.stdout.strip()}"
    assert dashboard in reader.stderr
    assert reader_for_peru.returncode == 2
    assert "hub tokens add-reader takes no subject" in reader_for_peru.stderr
    assert "1 reader token(s) revoked" in readers_revoked.stderr
    assert "add-reader" in usage.stdout and "read:kpis" in usage.stdout
    connection = await asyncpg.connect(fresh_database)
    try:
        rows = await connection.fetch("SELECT actor, action, target FROM audit_log ORDER BY id")
        scopes = await connection.fetch(
            "SELECT scope, label, revoked_at IS NOT NULL AS revoked FROM access_tokens "
            "WHERE scope = 'kpis'"
        )
    finally:
        await connection.close()
    assert [(r["action"], r["target"]) for r in rows] == [
        ("tokens.add-customs", "PE/aduana"),
        ("tokens.add-admin", "/"),
        ("tokens.revoke-customs", "PE/"),
        ("tokens.add-reader", "/board"),
        ("tokens.revoke-reader", "/"),
    ]
    assert all(r["actor"].startswith("cli:") for r in rows)
    assert [(r["label"], r["revoked"]) for r in scopes] == [("board", True)]


async def test_every_tenant_is_refused_every_endpoint_that_is_not_its_own_and_it_is_logged(
    services: Services, fresh_database: str, namespace: str, tmp_path: Path
) -> None:
    """The HTTP half of issue 9's matrix: each kind of token (and none) against every endpoint
    it must not reach. The Kafka half waits for SASL."""
    environment = api_environment(services, fresh_database, namespace, tmp_path)
    async with running_api(environment, tmp_path / "api.log") as client:
        pool = await asyncpg.create_pool(fresh_database, min_size=1, max_size=2)
        try:
            past = datetime.now(UTC) - timedelta(minutes=1)
            tokens = {
                "port PECLL": await create_port_token(pool, "PECLL", "t"),
                "customs PE": await create_access_token(pool, "customs", "PE", "t"),
                "customs EC": await create_access_token(pool, "customs", "EC", "t"),
                "admin": await create_access_token(pool, "admin", "", "t"),
                "expired customs PE": await create_access_token(pool, "customs", "PE", "old", past),
                "revoked port BRSSZ": await create_port_token(pool, "BRSSZ", "old"),
                "reader": await create_access_token(pool, "kpis", "", "t"),
                "expired reader": await create_access_token(pool, "kpis", "", "old", past),
                "revoked reader": await create_access_token(pool, "kpis", "", "gone"),
                "single window PE": await create_access_token(pool, "customs-publish", "PE", "t"),
            }
            await pool.execute(
                "UPDATE publisher_tokens SET revoked_at = now() WHERE port = 'BRSSZ'"
            )
            await pool.execute("UPDATE access_tokens SET revoked_at = now() WHERE label = 'gone'")
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
            kpis: list[Attempt] = [("GET", path, None) for path in KPI_READS]
            everything_else = [publish, edifact, read_pe, stream, admin_list, admin_put]
            forbidden: dict[str | None, list[Attempt]] = {
                None: [*everything_else, *kpis],
                "port PECLL": [read_pe, stream, admin_list, admin_put, *kpis],
                "customs PE": [publish, edifact, admin_list, admin_put, *kpis],
                "customs EC": [publish, edifact, read_pe, admin_list, admin_put, *kpis],
                "admin": [publish, edifact, stream],
                "expired customs PE": [read_pe, stream, admin_list, *kpis],
                "revoked port BRSSZ": [publish, edifact, *kpis],
                "reader": everything_else,
                "expired reader": [*everything_else, *kpis],
                "revoked reader": [*everything_else, *kpis],
                # It publishes customs and certificate events only (tests/integration/
                # test_single_window.py): a vessel event is refused whole (403).
                "single window PE": [publish, read_pe, stream, admin_list, admin_put, *kpis],
            }
            attempts = refused = 0
            for who, endpoints in forbidden.items():
                headers = {"Authorization": f"Bearer {tokens[who]}"} if who else {}
                for method, path, body in endpoints:
                    # A string goes as it is (EDIFACT), anything else as JSON; None sends neither.
                    text, payload = (body, None) if isinstance(body, str) else (None, body)
                    response = await client.request(
                        method, path, headers=headers, content=text, json=payload
                    )
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
                "SELECT actor, action, outcome, repeats FROM audit_log WHERE id > $1", first_audit
            )
            not_owned = await pool.fetchval(
                "SELECT events FROM rejected_event_counts WHERE reason = 'PORT_NOT_OWNED'"
            )
        finally:
            await pool.close()
        print(f"HTTP matrix: {refused} refused / {attempts} attempts")
        assert refused == attempts == sum(map(len, forbidden.values())) + 1
        # Every refusal by token is in the audit log (the PORT_NOT_OWNED one is dead-lettered
        # and counted instead, as every refused event is), refused KPI reads included; allowed
        # KPI reads are not audited (see hub/api/access.py).
        # (A refusal repeated within a minute is one row with a count: see hub/db/audit.py.)
        assert sum(row["repeats"] for row in logged) == attempts - 1
        assert all(row["outcome"].split(" ")[0] in ("401", "403") for row in logged)
        assert {row["action"] for row in logged} == {
        "events.publish", "edifact.publish", "validations.read", "validations.stream",
        "issuers.list", "issuers.put-entity", "kpis.read",
        }  # fmt: skip
        kpi_refusals = [row for row in logged if row["action"] == "kpis.read"]
        kpi_attempts = [a for attempts_of in forbidden.values() for a in attempts_of if a in kpis]
        assert sum(row["repeats"] for row in kpi_refusals) == len(kpi_attempts)
        assert len(kpi_attempts) == 9 * len(KPI_READS)
        assert not_owned == 1


async def test_kpi_reads_need_a_reader_or_admin_token_checked_on_every_request(
    services: Services, fresh_database: str, namespace: str, tmp_path: Path
) -> None:
    """read:kpis: no token or one the hub does not honour → 401, a token of another kind → 403,
    a reader or admin token → the data; a revoked reader is refused from the next request on and
    its open KPI stream ends. Health, metrics, the registry, the docs and the dashboard's files
    stay open."""
    environment = api_environment(services, fresh_database, namespace, tmp_path)
    async with running_api(environment, tmp_path / "api.log") as client:
        pool = await asyncpg.create_pool(fresh_database, min_size=1, max_size=2)
        try:
            reader = await reader_token(fresh_database)
            admin = await create_access_token(pool, "admin", "", "ops")
            publisher = await create_port_token(pool, "PECLL", "terminal")
            customs = await create_access_token(pool, "customs", "PE", "aduana")
            first_audit = await pool.fetchval("SELECT coalesce(max(id), 0) FROM audit_log")
            reads = [path for path in KPI_READS if path != "/v1/kpis/stream"]

            async def statuses(headers: dict[str, str]) -> dict[str, int]:
                return {p: (await client.get(p, headers=headers)).status_code for p in reads}

            allowed = dict.fromkeys(reads, 200) | {"/v1/port-calls/PECLL/CALL-1": 404}
            assert await statuses(bearer(reader)) == allowed
            assert await statuses(bearer(admin)) == allowed
            assert await statuses(bearer(publisher)) == dict.fromkeys(reads, 403)
            assert await statuses(bearer(customs)) == dict.fromkeys(reads, 403)
            assert await statuses({}) == dict.fromkeys(reads, 401)
            assert await statuses(bearer("hubk_made-up")) == dict.fromkeys(reads, 401)

            anonymous = await client.get("/v1/kpis/latest")
            assert anonymous.headers["www-authenticate"] == "Bearer"
            assert "hub tokens add-reader" in anonymous.json()["detail"]
            made_up = await client.get("/v1/kpis/latest", headers=bearer("hubk_made-up"))
            assert made_up.json()["detail"] == "unknown, expired or revoked token"
            wrong_kind = await client.get("/v1/indicators", headers=bearer(customs))
            assert "a customs token cannot read KPIs" in wrong_kind.json()["detail"]
            csv = await client.get(
                "/v1/indicators", params={"format": "csv"}, headers=bearer(reader)
            )
            assert csv.headers["content-type"].startswith("text/csv")
            for open_path in ("/metrics", "/registry/subjects", "/docs", "/openapi.json",
                              "/dashboard/", "/dashboard/app.js", "/dashboard/style.css"):  # fmt: skip
                assert (await client.get(open_path)).status_code == 200, open_path
            assert (await client.get("/health")).status_code in (200, 503)  # no worker
            spec = (await client.get("/openapi.json")).json()
            get_routes = {
                path
                for path, operations in spec["paths"].items()
                if "get" in operations and not path.startswith("/registry")
            }
            assert get_routes == (
                KPI_ROUTES | OTHER_GET_ROUTES | WEBHOOK_GET_ROUTES | OPEN_GET_ROUTES
            )
            templates = [re.compile(re.sub(r"\{\w+\}", "[^/]+", r) + "$") for r in KPI_ROUTES]
            assert all(any(t.match(path) for path in KPI_READS) for t in templates)
            for path in OTHER_GET_ROUTES - {"/health"}:
                concrete = re.sub(r"\{\w+\}", "X", path)
                answer = await client.get(concrete, headers=bearer(reader))
                assert answer.status_code in (401, 403), (path, answer.status_code)

            # The stream is open with the reader's token; revoking it refuses the next
            # request at once and ends the stream within its poll interval.
            async with client.stream(
                "GET", "/v1/kpis/stream", headers=bearer(reader), timeout=30
            ) as stream:
                assert stream.status_code == 200
                lines = stream.aiter_lines()
                assert await anext(lines) == "event: kpis"
                await pool.execute(
                    "UPDATE access_tokens SET revoked_at = now() WHERE scope = 'kpis'"
                )
                revoked_at = time.monotonic()
                refused = await client.get("/v1/ports", headers=bearer(reader))
                assert refused.status_code == 401
                assert time.monotonic() - revoked_at < 1.0
                async for _ in lines:  # until the hub ends the stream
                    pass
                assert time.monotonic() - revoked_at < 10.0

            logged = await pool.fetch(
                "SELECT actor, action, target, outcome, repeats FROM audit_log WHERE id > $1 "
                "ORDER BY id",
                first_audit,
            )
        finally:
            await pool.close()
        # Refusals are audited, allowed reads are not: 4 refused rounds of every read (port,
        # customs, none, made-up), the 3 single refusals above and the revoked reader's (the
        # single ones repeat refusals of the rounds: counted on their rows).
        kpi_refusals = [row for row in logged if row["action"] == "kpis.read"]
        assert sum(row["repeats"] for row in kpi_refusals) == 4 * len(reads) + 3 + 1
        actors = {row["actor"] for row in kpi_refusals}
        assert {"port:PECLL/terminal", "customs:PE/aduana", "anonymous"} <= actors
        assert not any(reader in row["actor"] or "kpis:" in row["actor"] for row in kpi_refusals)
        assert logged[-1]["target"] == "/v1/ports" and logged[-1]["outcome"].startswith("401")
        # The reader's token tried on the verdict, registry and feedback routes: refused there, and
        # logged.
        others = [(row["action"], row["outcome"][:3]) for row in logged if row not in kpi_refusals]
        assert sorted(others) == [
            ("feedback.read", "403"),
            ("issuers.list", "403"),
            ("validations.read", "403"),
            ("validations.stream", "403"),
        ]


async def test_the_open_data_alone_answers_anonymous_callers_whatever_token_comes(
    services: Services, fresh_database: str, namespace: str, tmp_path: Path
) -> None:
    """The deliberate exception: every route under /v1/open/ answers without a token, and the
    same with any token; every other GET route of the API (health aside) refuses a caller
    without one."""
    environment = api_environment(services, fresh_database, namespace, tmp_path)
    async with running_api(environment, tmp_path / "api.log") as client:
        connection = await asyncpg.connect(fresh_database)
        try:
            publisher = await create_port_token(connection, "PECLL", "t")
        finally:
            await connection.close()
        reader = await reader_token(fresh_database)
        spec = (await client.get("/openapi.json")).json()
        get_routes = {path for path, operations in spec["paths"].items() if "get" in operations}
        assert get_routes >= OPEN_GET_ROUTES
        for path in OPEN_GET_ROUTES:
            answers = [
                await client.get(path, headers=headers)
                for headers in ({}, bearer("hubk_made-up"), bearer(publisher), bearer(reader))
            ]
            assert [answer.status_code for answer in answers] == [200] * 4, path
            if path.endswith(("/indicators", ".csv")):
                assert len({answer.content for answer in answers}) == 1, path
        for path in sorted(get_routes - OPEN_GET_ROUTES - {"/health"}):
            if path.startswith("/registry"):
                continue  # open for reading (docs/security.md): Confluent clients read it
            answer = await client.get(re.sub(r"\{\w+\}", "X", path))
            assert answer.status_code in (401, 403), (path, answer.status_code)


async def test_the_token_is_checked_before_the_body_the_scheme_in_any_case_and_headers_bounded(
    services: Services, fresh_database: str, namespace: str, tmp_path: Path
) -> None:
    """Issue 16, item 11: ``bearer`` in any case is a bearer token; a guarded route with a bad
    body answers 401/403 (audited) before 422, and 422 (audited) only to a token it allows; an
    Authorization header of 200 KB is answered 431, not a connection reset."""
    environment = api_environment(services, fresh_database, namespace, tmp_path)
    async with running_api(environment, tmp_path / "api.log") as client:
        pool = await asyncpg.create_pool(fresh_database, min_size=1, max_size=2)
        try:
            reader = await reader_token(fresh_database)
            port = await create_port_token(pool, "PECLL", "t")
            customs = await create_access_token(pool, "customs", "PE", "t")
            admin = await create_access_token(pool, "admin", "", "ops")
            first_audit = await pool.fetchval("SELECT coalesce(max(id), 0) FROM audit_log")

            # (a) The scheme is case-insensitive (RFC 7235).
            for scheme in ("bearer", "BEARER", "bEaReR"):
                lower = {"Authorization": f"{scheme} {reader}"}
                assert (await client.get("/v1/ports", headers=lower)).status_code == 200
            published = await client.post(
                "/v1/events/vessel", json=[], headers={"Authorization": f"bearer {port}"}
            )
            assert published.status_code == 200, published.text
            verdict = await client.get(
                "/v1/validations/CERT-1", headers={"Authorization": f"bearer {customs}"}
            )
            assert verdict.status_code == 404  # let in, and there is no such verdict

            # (c) The token before the body, on every admin write.
            writes = [
                ("PUT", "/v1/admin/issuers/PE/ABC", {"name": ""}),  # name too short
                ("POST", "/v1/admin/issuers/PE/ABC/officials", {"name": "no certificate"}),
                ("POST", "/v1/admin/officials/ab12/revocation", {"revoked_at": "not a time"}),
            ]
            expected = {None: 401, "hubk_made-up": 401, port: 403, customs: 403, admin: 422}
            for method, path, body in writes:
                for token, status in expected.items():
                    headers = bearer(token) if token else {}
                    answer = await client.request(method, path, json=body, headers=headers)
                    assert answer.status_code == status, (method, path, token, answer.text)
                not_json = await client.request(
                    method, path, content=b"{not json", headers={"Content-Type": "application/json"}
                )
                assert not_json.status_code == 401, not_json.text
            # A verdict stream asked with a bad parameter: the token first too.
            bad_after = await client.get("/v1/validations/stream", params={"after": "-1"})
            assert bad_after.status_code == 401

            # (d) An oversized Authorization header: 431 from the app, not a reset connection.
            huge = await client.get(
                "/v1/ports", headers={"Authorization": "Bearer " + "x" * 200_000}
            )
            assert huge.status_code == 431, huge.text
            assert (await client.get("/v1/ports", headers=bearer(reader))).status_code == 200

            logged = await pool.fetch(
                "SELECT actor, action, target, outcome, repeats FROM audit_log WHERE id > $1 "
                "ORDER BY id",
                first_audit,
            )
        finally:
            await pool.close()
    writes_logged = [row for row in logged if row["action"] != "validations.read"]
    by_status: dict[str, int] = {}
    for row in writes_logged:
        status = row["outcome"][:3]
        by_status[status] = by_status.get(status, 0) + row["repeats"]
    # Per write: none, made-up, malformed JSON (401); port, customs (403); admin (422); and the
    # stream's 401.
    assert by_status == {"401": 3 * 3 + 1, "403": 3 * 2, "422": 3}
    assert {row["action"] for row in writes_logged} == {
        "issuers.put-entity", "issuers.add-official", "officials.revoke", "validations.stream",
    }  # fmt: skip
    refused_port = [row for row in writes_logged if row["actor"] == "port:PECLL/t"]
    assert all(row["outcome"].startswith("403 a publisher token") for row in refused_port)
    admin_rows = [row for row in writes_logged if row["actor"] == "admin:/ops"]
    assert [row["target"] for row in admin_rows] == ["PE/ABC", "PE/ABC", "ab12"]
    assert all(row["outcome"].startswith("422 invalid request: body") for row in admin_rows)


async def test_a_publisher_token_on_verdict_and_admin_routes_is_403(
    services: Services, fresh_database: str, namespace: str, tmp_path: Path
) -> None:
    environment = api_environment(services, fresh_database, namespace, tmp_path)
    async with running_api(environment, tmp_path / "api.log") as client:
        connection = await asyncpg.connect(fresh_database)
        try:
            port = await create_port_token(connection, "PECLL", "t")
        finally:
            await connection.close()
        for path in ("/v1/validations/CERT-1", "/v1/validations/stream", "/v1/admin/issuers"):
            answer = await client.get(path, headers=bearer(port))
            assert answer.status_code == 403, (path, answer.text)
        put = await client.put("/v1/admin/issuers/PE/ABC", json={"name": "x"}, headers=bearer(port))
        assert put.status_code == 403, put.text


async def test_a_flood_of_refusals_is_counted_on_few_audit_rows(
    services: Services, fresh_database: str, namespace: str, tmp_path: Path
) -> None:
    """Issue 16, item 11f: the same refusal repeated is one row with a count; a new made-up
    token on every request fills at most DISTINCT_REFUSALS_PER_MINUTE rows a minute, the rest
    counted on one row. Nothing is lost from the count."""
    environment = api_environment(services, fresh_database, namespace, tmp_path)
    same, fresh = 150, DISTINCT_REFUSALS_PER_MINUTE + 50
    async with running_api(environment, tmp_path / "api.log") as client:
        pool = await asyncpg.create_pool(fresh_database, min_size=1, max_size=2)
        try:
            # The test's requests should fall within one clock minute of the database.
            seconds = await pool.fetchval("SELECT extract(second FROM now())")
            if seconds > 35:
                await asyncio.sleep(61 - float(seconds))
            first_audit = await pool.fetchval("SELECT coalesce(max(id), 0) FROM audit_log")
            for _ in range(same):
                response = await client.get("/v1/ports", headers=bearer("hubk_stolen"))
                assert response.status_code == 401
            for number in range(fresh):
                response = await client.get("/v1/kpis/latest", headers=bearer(f"hubk_{number}"))
                assert response.status_code == 401
            rows = await pool.fetch(
                "SELECT actor, target, outcome, repeats, last_at FROM audit_log WHERE id > $1 "
                "ORDER BY id",
                first_audit,
            )
        finally:
            await pool.close()
    repeated = [row for row in rows if row["target"] == "/v1/ports"]
    assert len(repeated) == 1
    assert repeated[0]["repeats"] == same and repeated[0]["last_at"] is not None
    assert repeated[0]["actor"].startswith("token:")
    # The repeated refusal above was the first distinct kpis.read refusal from this address this
    # minute: the flood gets the other DISTINCT_REFUSALS_PER_MINUTE - 1 rows, then one for all.
    flood = [row for row in rows if row["target"] != "/v1/ports"]
    assert len(flood) == DISTINCT_REFUSALS_PER_MINUTE
    assert sum(row["repeats"] for row in flood) == fresh
    assert all(row["repeats"] == 1 for row in flood[:-1])
    various = flood[-1]
    assert (various["actor"], various["target"]) == ("*", "*")
    assert various["repeats"] == fresh - (DISTINCT_REFUSALS_PER_MINUTE - 1)
    assert various["outcome"].startswith("401 various")
