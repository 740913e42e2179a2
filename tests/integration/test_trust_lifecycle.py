"""The certificate trust lifecycle through the real broker, worker, database and HTTP API.

A change of the issuer registry re-evaluates the verdicts it can affect: a late revocation
(revoked from before the certificate's date) turns a VALID verdict INVALID with its cause, and
customs receive the new version on their SSE stream and on ``validations.PE``; a revocation
from after the certificate's date issues nothing. ``hub issuers import`` does the same from a
file, and its dry run changes nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import dataclasses
import functools
import io
import json
import subprocess
import sys
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer
from aiokafka.errors import KafkaConnectionError

from hub.db import issuers, verdicts
from hub.db.migrations import migrate
from hub.db.registry_changes import changes_since, claimed_change
from hub.db.tokens import create_access_token
from hub.domain.certificates.registry_import import CSV_COLUMNS
from hub.domain.certificates.rules import Outcome, evaluate
from hub.domain.reference import BUNDLED_AGREEMENTS_FILE, load_agreements
from hub.kafka_topics import validations_topic
from hub.settings import PROJECT_ROOT
from streams.certificate_stage import update_verdicts
from streams.registry_changes import reevaluate
from streams.sinks.base import Record, Sink
from tests.integration import test_certificates
from tests.integration.helpers import Services, eventually, publish_events
from tests.integration.test_certificate_tenancy import record
from tests.integration.test_certificates import (
    CERTIFIED_ON,
    PKI,
    _fingerprint,
    _pem,
    cod,
    lodged,
    sign,
    submission,
)
from tests.unit.certificates import builders

# The fixture of the certificate tests: a worker and an API, with AR/TST and MX/TST registered.
hub = test_certificates.hub
Hub = tuple[asyncpg.Pool, str, dict[str, str]]
# The day before the certificate's date, and the day after it (SIGNER_REVOKED compares the UTC
# date of the revocation with the CertificateDate).
BEFORE = datetime.combine(CERTIFIED_ON - timedelta(days=1), time(9, 0), tzinfo=UTC)
AFTER = datetime.combine(CERTIFIED_ON + timedelta(days=1), time(9, 0), tzinfo=UTC)


class SseSubscriber:
    """A customs client of ``/v1/validations/stream``, keeping every verdict it receives."""

    def __init__(self, base_url: str, token: str, after: int) -> None:
        self.received: list[dict[str, Any]] = []
        self.connected = asyncio.Event()
        self._task = asyncio.create_task(self._run(base_url, token, after))

    async def _run(self, base_url: str, token: str, after: int) -> None:
        async with (
            httpx.AsyncClient(base_url=base_url, timeout=None) as client,
            client.stream(
                "GET",
                f"/v1/validations/stream?after={after}",
                headers={"Authorization": f"Bearer {token}"},
            ) as stream,
        ):
            assert stream.status_code == 200
            self.connected.set()
            async for line in stream.aiter_lines():
                if line.startswith("data: "):
                    self.received.append(json.loads(line.removeprefix("data: ")))

    async def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


class TopicSubscriber:
    """A Kafka consumer of the namespaced ``validations.PE``, from its start."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.received: list[dict[str, Any]] = []
        self._consumer = AIOKafkaConsumer(
            topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None
        )
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self._consumer.start()
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        async for message in self._consumer:
            self.received.append(json.loads(message.value or b"{}"))

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._consumer.stop()


@contextlib.asynccontextmanager
async def subscribers(
    base_url: str, token: str, after: int, bootstrap: str, namespace: str
) -> AsyncIterator[tuple[SseSubscriber, TopicSubscriber]]:
    sse = SseSubscriber(base_url, token, after)
    topic = TopicSubscriber(bootstrap, f"{namespace}{validations_topic('PE')}")
    try:
        await asyncio.wait_for(sse.connected.wait(), 30)
        await topic.start()
        yield sse, topic
    finally:
        await sse.close()
        await topic.close()


async def latest(pool: asyncpg.Pool, certificate_id: str) -> dict[str, Any] | None:
    history = await verdicts.verdict_history(pool, certificate_id)
    return history[-1].body if history else None


async def is_outcome(pool: asyncpg.Pool, certificate_id: str, outcome: str, version: int) -> bool:
    body = await latest(pool, certificate_id)
    return body is not None and (body["outcome"], body["version"]) == (outcome, version)


async def all_processed(pool: asyncpg.Pool) -> bool:
    return not await pool.fetchval(
        "SELECT count(*) FROM registry_changes WHERE processed_at IS NULL"
    )


async def valid_certificates(
    pool: asyncpg.Pool, services: Services, namespace: str, signed_by: dict[str, Any]
) -> None:
    """Publish a certificate (and its declaration) per id, each signed by its official, and
    wait until each is VALID, version 1."""
    events: list[Any] = []
    for certificate_id, official in signed_by.items():
        document = cod(certificate_id)
        events += [
            submission(sign(document, official), certificate_id=certificate_id),
            lodged(certificate_id),
        ]
    await publish_events(services.bootstrap, pool, namespace, events)
    for certificate_id in signed_by:
        await eventually(
            functools.partial(is_outcome, pool, certificate_id, "VALID", 1),
            90,
            f"{certificate_id} VALID",
        )


async def test_a_late_revocation_flips_a_valid_verdict_and_customs_are_told(
    hub: Hub, services: Services, namespace: str
) -> None:
    pool, base_url, _ = hub
    late = PKI.official("AR", name="late revocation")
    await issuers.add_official(pool, "AR", "TST", _pem(late))
    await valid_certificates(
        pool,
        services,
        namespace,
        {"AR-A58-2026-LATE": late, "AR-A58-2026-OTHER": PKI.official("AR")},
    )
    start = await pool.fetchval("SELECT max(id) FROM certificate_verdicts")
    admin = await create_access_token(pool, "admin")
    customs = await create_access_token(pool, "customs", "PE")
    fingerprint = _fingerprint(late)

    async with (
        subscribers(base_url, customs, start, services.bootstrap, namespace) as (sse, topic),
        httpx.AsyncClient(base_url=base_url, headers={"Authorization": f"Bearer {admin}"}) as api,
    ):
        # Revoked from after the certificate's date: it stays valid, no version is issued.
        answer = await api.post(
            f"/v1/admin/officials/{fingerprint}/revocation",
            json={"revoked_at": AFTER.isoformat(), "reason": "retired"},
        )
        assert answer.status_code == 200, answer.text
        await eventually(lambda: all_processed(pool), 30, "the revocation processed")
        assert await is_outcome(pool, "AR-A58-2026-LATE", "VALID", 1)

        # Then revoked from before it (the key was compromised earlier than thought).
        answer = await api.post(
            f"/v1/admin/officials/{fingerprint}/revocation",
            json={"revoked_at": BEFORE.isoformat(), "reason": "key compromised"},
        )
        assert answer.status_code == 200, answer.text
        await eventually(
            lambda: is_outcome(pool, "AR-A58-2026-LATE", "INVALID", 2), 30, "the verdict flipped"
        )

        def got_it(received: list[dict[str, Any]]) -> bool:
            return any(v["certificate_id"] == "AR-A58-2026-LATE" for v in received)

        await eventually(lambda: _true(got_it(sse.received)), 30, "the new version on SSE")
        await eventually(lambda: _true(got_it(topic.received)), 30, "the new version on Kafka")
        await eventually(lambda: all_processed(pool), 30, "the revocation processed")
        await asyncio.sleep(2)  # time for a wrong delivery to show

        rest = await api.get("/v1/validations/AR-A58-2026-LATE")
        assert rest.status_code == 200

    flipped = await latest(pool, "AR-A58-2026-LATE")
    assert flipped is not None
    assert flipped["failed"] == ["SIGNER_REVOKED"]
    revoked_rule = next(r for r in flipped["rules"] if r["code"] == "SIGNER_REVOKED")
    assert "key compromised" in revoked_rule["detail"]
    change_id = await pool.fetchval(
        "SELECT max(id) FROM registry_changes WHERE kind = 'OFFICIAL_REVOKED'"
    )
    cause = flipped["cause"]
    assert cause["registry_change"] == change_id
    assert cause["kind"] == "OFFICIAL_REVOKED"
    assert cause["detail"] == (
        f"official {fingerprint[:16]}… of AR/TST revoked from {BEFORE.isoformat()}: key compromised"
    )
    assert datetime.fromisoformat(cause["changed_at"]) <= datetime.now(UTC)
    # Customs got exactly this version, with its cause, on both ways; the other certificate
    # (another official) and the revocation from after the date issued nothing.
    for received in (sse.received, topic.received):
        new = [v for v in received if v.get("version", 1) > 1 or "cause" in v]
        assert [(v["certificate_id"], v["version"], v["outcome"]) for v in new] == [
            ("AR-A58-2026-LATE", 2, "INVALID")
        ]
        assert new[0]["cause"] == cause
    assert [v["certificate_id"] for v in sse.received] == ["AR-A58-2026-LATE"]
    assert rest.json()["latest"] == flipped
    assert [v.get("cause") for v in rest.json()["versions"]] == [None, cause]
    assert await is_outcome(pool, "AR-A58-2026-OTHER", "VALID", 1)
    # The REST history and the worker's re-evaluation agree with the rule definition.
    assert await pool.fetchval("SELECT count(*) FROM certificate_verdicts") == 3


async def test_a_registry_import_dry_run_changes_nothing_and_the_import_reevaluates(
    hub: Hub, services: Services, namespace: str, tmp_path: Path
) -> None:
    pool, base_url, environment = hub
    imported = PKI.official("AR", name="to import")
    await issuers.add_official(pool, "AR", "TST", _pem(imported))
    await valid_certificates(pool, services, namespace, {"AR-A58-2026-IMPORT": imported})
    await eventually(lambda: all_processed(pool), 30, "the registrations processed")
    fingerprint = _fingerprint(imported)

    export = tmp_path / "aladi-export.csv"
    rows = [
        {"type": "entity", "country": "AR", "eh_id": "TST", "name": "TEST entity of AR",
         "agreements": "A18 A58"},  # unchanged
        {"type": "entity", "country": "CL", "eh_id": "SFA", "name": "SOFOFA",
         "agreements": "A38"},  # added
        {"type": "official", "country": "CL", "eh_id": "SFA",
         "certificate_pem": _pem(PKI.official("CL", "SFA"))},  # added
        {"type": "official", "country": "AR", "eh_id": "TST", "certificate_pem": _pem(imported),
         "revoked_at": BEFORE.isoformat(), "revocation_reason": "withdrawn by ALADI"},  # revoked
    ]  # fmt: skip
    export.write_text(_csv(rows))

    def hub_command(*arguments: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "hub", *arguments], env=environment, capture_output=True,
            text=True, timeout=60, cwd=PROJECT_ROOT, check=False,
        )  # fmt: skip

    changes_before = await pool.fetchval("SELECT count(*) FROM registry_changes")
    registry_before = await issuers.load_registry(pool)

    dry = hub_command("issuers", "import", str(export), "--dry-run")
    assert dry.returncode == 0, dry.stderr
    lines = dry.stdout.splitlines()
    assert lines[0] == (
        f"hub: {export}: 2 added, 0 changed, 1 revoked, 1 unchanged (dry run: nothing changed)"
    )
    assert sorted(line.split()[0] for line in lines[1:]) == ["added", "added", "revoked"]
    assert any(fingerprint[:16] in line and "withdrawn by ALADI" in line for line in lines)
    assert await issuers.load_registry(pool) == registry_before
    assert await pool.fetchval("SELECT count(*) FROM registry_changes") == changes_before

    # One bad row: named with its file and row, nothing applied.
    bad = tmp_path / "bad.csv"
    bad.write_text(_csv([*rows[:3], {**rows[3], "enabled_to": "2026-31-12"}]))

    # The same over the admin API: admins only, the dry run and the refusal alike.
    admin = await create_access_token(pool, "admin")
    customs = await create_access_token(pool, "customs", "PE")
    async with httpx.AsyncClient(base_url=base_url) as api:

        async def post(token: str, body: str, media: str = "text/csv") -> httpx.Response:
            return await api.post(
                "/v1/admin/issuers/import?dry_run=true",
                content=body.encode(),
                headers={"Authorization": f"Bearer {token}", "Content-Type": media},
            )

        assert (await post(customs, export.read_text())).status_code == 403
        answer = await post(admin, export.read_text())
        assert answer.status_code == 200, answer.text
        assert answer.json()["counts"] == {"added": 2, "changed": 0, "revoked": 1, "unchanged": 1}
        assert [c["row"] for c in answer.json()["changes"]] == ["row 3", "row 4", "row 5"]
        bad_body = await post(admin, bad.read_text())
        assert bad_body.status_code == 422
        assert bad_body.json()["detail"].startswith("body.csv: row 5: enabled_to '2026-31-12'")
        assert (await post(admin, "{}", "text/plain")).status_code == 415
    assert await issuers.load_registry(pool) == registry_before
    refused = hub_command("issuers", "import", str(bad))
    assert refused.returncode == 2
    assert refused.stderr.strip() == (
        f"hub: error: {bad}: row 5: enabled_to '2026-31-12' is not a date YYYY-MM-DD"
    )
    assert await issuers.load_registry(pool) == registry_before

    applied = hub_command("issuers", "import", str(export))
    assert applied.returncode == 0, applied.stderr
    assert (
        applied.stdout.splitlines()[0]
        == f"hub: {export}: 2 added, 0 changed, 1 revoked, 1 unchanged"
    )
    registry = await issuers.load_registry(pool)
    assert ("CL", "SFA") in registry.entities
    assert registry.officials[fingerprint].revocation_reason == "withdrawn by ALADI"
    await eventually(
        lambda: is_outcome(pool, "AR-A58-2026-IMPORT", "INVALID", 2), 30, "the verdict flipped"
    )
    flipped = await latest(pool, "AR-A58-2026-IMPORT")
    assert flipped is not None and flipped["failed"] == ["SIGNER_REVOKED"]
    assert flipped["cause"]["kind"] == "OFFICIAL_REVOKED"
    assert "withdrawn by ALADI" in flipped["cause"]["detail"]

    # The same file again changes nothing: no registry change, no verdict version.
    changes_after = await pool.fetchval("SELECT count(*) FROM registry_changes")
    again = hub_command("issuers", "import", str(export))
    assert again.returncode == 0, again.stderr
    assert "0 added, 0 changed, 0 revoked, 4 unchanged" in again.stdout
    assert await pool.fetchval("SELECT count(*) FROM registry_changes") == changes_after


def _csv(rows: list[dict[str, str]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, restval="")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


async def _true(value: bool) -> bool:
    return value


# --- the store alone: the outbox and the verdicts' cause, on a real PostgreSQL ---------------


@contextlib.asynccontextmanager
async def migrated(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    connection = await asyncpg.connect(database_url)
    try:
        await migrate(connection)
    finally:
        await connection.close()
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=4)
    try:
        yield pool
    finally:
        await pool.close()


async def test_a_verdict_differing_only_in_its_cause_is_no_new_version(fresh_database: str) -> None:
    verdict = evaluate(builders.submission(), builders.registry(), [builders.declaration()])
    cause = {"registry_change": 7, "kind": "OFFICIAL_REVOKED", "detail": "…", "changed_at": "x"}
    async with migrated(fresh_database) as pool, pool.acquire() as connection:
        first = await verdicts.record_verdict(connection, verdict)
        same = await verdicts.record_verdict(connection, verdict, cause)
        assert first.new and not same.new
        assert same.id == first.id and "cause" not in same.body
        flipped = dataclasses.replace(verdict, outcome=Outcome.INVALID)
        second = await verdicts.record_verdict(connection, flipped, cause)
        assert second.new and second.version == 2 and second.body["cause"] == cause
        again = await verdicts.record_verdict(connection, flipped)
        assert not again.new and again.body["cause"] == cause
        history = await verdicts.verdict_history(connection, verdict.certificate_id)
        assert [v.body.get("cause") for v in history] == [None, cause]
        assert [v.body for v in await verdicts.verdicts_after(connection, "BR", 0)] == [
            v.body for v in history
        ]


async def test_registry_changes_are_recorded_only_when_something_changes(
    fresh_database: str,
) -> None:
    agreements = load_agreements(BUNDLED_AGREEMENTS_FILE)
    official = PKI.official("AR", name="outbox")
    async with migrated(fresh_database) as pool:

        async def kinds() -> list[str]:
            return [change.kind for change in await changes_since(pool)]

        await issuers.upsert_agreements(pool, agreements)  # the first load: nothing to redo
        await issuers.upsert_agreements(pool, agreements)  # every start: unchanged
        assert await kinds() == []
        a58 = next(a for a in agreements if a.code == "A58")
        changed = [
            dataclasses.replace(a58, schedule=("08",)) if a is a58 else a for a in agreements
        ]
        await issuers.upsert_agreements(pool, changed)
        assert await kinds() == ["AGREEMENT_CHANGED"]

        await issuers.put_entity(pool, "AR", "TST", "TEST", ["A58"])
        await issuers.put_entity(pool, "AR", "TST", "TEST renamed", ["A58"])  # no rule reads it
        await issuers.put_entity(pool, "AR", "TST", "TEST", ["A58", "A18"])
        await issuers.add_official(pool, "AR", "TST", _pem(official))
        await issuers.add_official(pool, "AR", "TST", _pem(official))
        await issuers.add_official(
            pool, "AR", "TST", _pem(official), enabled_to=CERTIFIED_ON + timedelta(days=30)
        )
        await issuers.revoke_official(pool, _fingerprint(official), revoked_at=BEFORE, reason="x")
        await issuers.revoke_official(pool, _fingerprint(official), revoked_at=BEFORE, reason="x")
        with contextlib.suppress(issuers.IssuerInputError):
            await issuers.put_entity(pool, "AR", "TST", "TEST", ["Z99"])
        recorded = await changes_since(pool)
        assert [c.kind for c in recorded] == [
            "AGREEMENT_CHANGED",
            "ENTITY_CHANGED",
            "ENTITY_CHANGED",
            "OFFICIAL_ADDED",
            "OFFICIAL_ENABLEMENT_CHANGED",
            "OFFICIAL_REVOKED",
        ]
        assert recorded[0].countries == () and recorded[0].agreements == ("A58",)
        assert {c.countries for c in recorded[1:]} == {("AR",)}
        assert recorded[3].only_failed == "SIGNER_UNKNOWN"
        assert recorded[5].detail == (
            f"official {_fingerprint(official)[:16]}… of AR/TST revoked from "
            f"{BEFORE.isoformat()}: x"
        )

        # Two workers claim different changes; a failed turn leaves its change to the next.
        async with claimed_change(pool) as one, claimed_change(pool) as two:
            assert one is not None and two is not None and one.id != two.id
        with contextlib.suppress(RuntimeError):
            async with claimed_change(pool) as three:
                assert three is not None
                raise RuntimeError("the worker fails mid-change")
        assert three is not None
        left = await pool.fetch("SELECT id FROM registry_changes WHERE processed_at IS NULL")
        assert three.id in {row["id"] for row in left} and len(left) == len(recorded) - 2


class CollectingSink(Sink):
    """Records what it delivers; fails its next flush when told to (the broker away, the worker
    killed before it marks the change processed)."""

    def __init__(self) -> None:
        super().__init__("verdicts")
        self.delivered: list[dict[str, Any]] = []
        self.fail_next = False

    async def write(self, records: Sequence[Record]) -> None:
        if self.fail_next:
            self.fail_next = False
            raise KafkaConnectionError("the broker went away")
        self.delivered += [json.loads(record.value) for record in records]


async def test_a_change_interrupted_midway_is_redone_without_a_second_version(
    fresh_database: str,
) -> None:
    first, second = PKI.official("AR", name="chunks 1"), PKI.official("AR", name="chunks 2")
    async with migrated(fresh_database) as pool:
        await issuers.upsert_agreements(pool, load_agreements(BUNDLED_AGREEMENTS_FILE))
        await issuers.put_entity(pool, "AR", "TST", "TEST", ["A58"])
        for official in (first, second):
            await issuers.add_official(pool, "AR", "TST", _pem(official))
        signers = {"AR-CHUNK-1": first, "AR-CHUNK-2": first, "AR-CHUNK-3": second}
        events = [
            event
            for certificate_id, official in signers.items()
            for event in (
                submission(sign(cod(certificate_id), official), certificate_id=certificate_id),
                lodged(certificate_id),
            )
        ]
        await record(pool, "certificate", [e for e in events if e.event_type.startswith("cert")])
        await record(pool, "customs", [e for e in events if not e.event_type.startswith("cert")])
        issued = await update_verdicts(pool, events, 180)
        assert [v.body["outcome"] for v in issued] == ["VALID"] * 3
        async with claimed_change(pool) as _:  # the registrations: nothing to redo here
            pass
        await pool.execute("UPDATE registry_changes SET processed_at = now()")

        await issuers.revoke_official(pool, _fingerprint(first), revoked_at=BEFORE, reason="lost")
        sink = CollectingSink()
        sink.fail_next = True
        with contextlib.suppress(KafkaConnectionError):
            async with claimed_change(pool) as change:
                assert change is not None and change.kind == "OFFICIAL_REVOKED"
                # One certificate a chunk: the first is stored, its publication fails.
                await reevaluate(pool, change, sink, validations_topic, 180, chunk=1)
        assert not await all_processed(pool)
        assert sink.delivered == []

        async with claimed_change(pool) as change:
            assert change is not None
            assert await reevaluate(pool, change, sink, validations_topic, 180, chunk=1) == 1
        assert await all_processed(pool)
        delivered = [(v["certificate_id"], v["version"], v["outcome"]) for v in sink.delivered]
        # The version stored before the failure is published again (at least once); the
        # certificate of the other official is not re-published.
        assert delivered == [("AR-CHUNK-1", 2, "INVALID"), ("AR-CHUNK-2", 2, "INVALID")]
        assert {v["cause"]["registry_change"] for v in sink.delivered} == {change.id}
        counts = await pool.fetch(
            "SELECT certificate_id, count(*) AS n FROM certificate_verdicts "
            "GROUP BY certificate_id ORDER BY certificate_id"
        )
        assert [(row["certificate_id"], row["n"]) for row in counts] == [
            ("AR-CHUNK-1", 2), ("AR-CHUNK-2", 2), ("AR-CHUNK-3", 1)
        ]  # fmt: skip
