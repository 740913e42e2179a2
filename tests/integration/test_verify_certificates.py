"""``POST /v1/certificates/verify`` on the real worker, API, broker and database (issue 19).

The 13 certificates of ``test_certificates.py`` (one valid, one built to fail each rule) go
through the stream as there; once every verdict is issued, each signed document is verified on
demand with a customs token of the importing country: the report must equal the stream's latest
verdict rule by rule (status and detail), and nothing may be stored or published by it. Then the
refusals: another country's certificate, tokens of other kinds or none, hostile bodies, and
PostgreSQL out of reach (503, retry).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import signal
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition

from hub.db import issuers
from hub.db.tokens import create_access_token, create_port_token
from hub.domain.certificates.document import Party
from tests.integration.helpers import (
    Services,
    eventually,
    free_port,
    publish_events,
    start_hub,
    stop_process,
)
from tests.integration.test_certificates import (
    PKI,
    TODAY,
    _answers,
    _fingerprint,
    _pem,
    cases,
    cod,
    hub,
    lodged,
    submission,
)

__all__ = ["hub"]  # the fixture, shared with test_certificates.py

VERIFY = "/v1/certificates/verify"
Hub = tuple[asyncpg.Pool, str, dict[str, str]]
# What a report shares with the stream's verdict (beside which it has no version, no event id).
COMPARED = ("outcome", "failed", "rules", "document_sha256", "declarations", "certificate_id",
            "importing_country", "exporting_country")  # fmt: skip


async def test_verify_gives_the_streams_report_for_every_built_certificate_and_stores_nothing(
    hub: Hub, services: Services, namespace: str
) -> None:
    pool, base_url, _ = hub
    expired = PKI.official(
        "AR", name="expired", not_before=TODAY - timedelta(days=800),
        not_after=TODAY - timedelta(days=30),
    )  # fmt: skip
    revoked = PKI.official("AR", name="revoked")
    for official in (expired, revoked):
        await issuers.add_official(pool, "AR", "TST", _pem(official))
    admin = await create_access_token(pool, "admin")
    customs_pe = {"Authorization": f"Bearer {await create_access_token(pool, 'customs', 'PE')}"}
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        response = await client.post(
            f"/v1/admin/officials/{_fingerprint(revoked)}/revocation",
            json={"revoked_at": (TODAY - timedelta(days=11)).isoformat(), "reason": "left"},
            headers={"Authorization": f"Bearer {admin}"},
        )
        assert response.status_code == 200, response.text
        built = cases(revoked, expired)
        assert len(built) == 13
        await publish_events(
            services.bootstrap, pool, namespace, [e for c in built.values() for e in c.declarations]
        )
        await publish_events(
            services.bootstrap, pool, namespace, [c.certificate for c in built.values()]
        )
        streamed: dict[str, dict[str, Any]] = {}

        async def all_decided() -> bool:
            for name, case in built.items():
                answer = await client.get(
                    f"/v1/validations/{case.certificate.certificate_id}", headers=customs_pe
                )
                if answer.status_code != 200 or answer.json()["latest"]["outcome"] == "PENDING":
                    return False
                streamed[name] = answer.json()["latest"]
            return True

        await eventually(all_decided, 120, "a verdict for every certificate")
        # Let the worker settle (every verdict published), then take the books.
        await asyncio.sleep(2)
        before = await books(pool, services.bootstrap, namespace)

        for name, case in built.items():
            certificate = case.certificate
            envelope = {
                "certificate_id": certificate.certificate_id,
                "agreement": certificate.agreement,
                "exporting_country": certificate.exporting_country,
                "importing_country": certificate.importing_country,
                "issuing_entity": certificate.issuing_entity,
            }
            document = base64.b64encode(certificate.document).decode()
            answer = await client.post(
                VERIFY, json={"document": document, **envelope}, headers=customs_pe
            )
            assert answer.status_code == 200, (name, answer.text)
            report, verdict = answer.json(), streamed[name]
            assert report["stored"] is False, name
            for field in COMPARED:
                assert report[field] == verdict[field], (name, field, report[field])
            assert report["failed"] == list(case.failed), name
            assert len(report["rules"]) == 12, name

            # The document alone, as the signed XML: the same report, but for the certificate
            # whose envelope contradicted its document (from the document alone, it is valid).
            alone = await client.post(
                VERIFY,
                content=certificate.document,
                headers=customs_pe | {"Content-Type": "application/xml"},
            )
            assert alone.status_code == 200, (name, alone.text)
            if name == "SCHEMA_INVALID":
                assert alone.json()["outcome"] == "VALID", alone.json()["rules"]
                assert alone.json()["agreement"] == "A58"
            else:
                assert alone.json()["rules"] == verdict["rules"], name
                assert alone.json()["outcome"] == verdict["outcome"], name

        # Nothing stored, nothing published: the same verdict versions, events and records.
        await asyncio.sleep(2)
        assert await books(pool, services.bootstrap, namespace) == before
        audited = await pool.fetch(
            "SELECT actor, target, outcome FROM audit_log WHERE action = 'certificates.verify'"
        )
        assert len(audited) == 2 * len(built)
        assert {row["actor"] for row in audited} == {"customs:PE/"}
        assert {row["target"] for row in audited} == {
            c.certificate.certificate_id for c in built.values()
        }
        assert {row["outcome"] for row in audited} == {"ok"}


async def test_verify_is_refused_to_other_countries_other_tokens_and_hostile_bodies(
    hub: Hub, services: Services, fresh_database: str, namespace: str, tmp_path: Path
) -> None:
    pool, base_url, environment = hub
    peru = bearer(await create_access_token(pool, "customs", "PE"))
    ecuador = bearer(await create_access_token(pool, "customs", "EC"))
    admin = bearer(await create_access_token(pool, "admin"))
    publisher = bearer(await create_port_token(pool, "PECLL"))
    reader = bearer(await create_access_token(pool, "kpis", "", "reader"))
    for_ecuador = submission(
        cod("AR-A59-2026-VERIFY-EC", agreement="A59",
            importer=Party("Importadora Quiteña SA", "EC1790012345001", "EC")),
        importing="EC", agreement="A59",
    ).document  # fmt: skip
    for_peru = submission(cod("AR-A58-2026-VERIFY-PE")).document
    xml = {"Content-Type": "application/xml"}
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:

        async def verify(headers: dict[str, str], body: bytes = for_peru) -> httpx.Response:
            return await client.post(VERIFY, content=body, headers=xml | headers)

        # Another country's certificate: refused to Peru, by the document or by the claim.
        refused = await verify(peru, for_ecuador)
        assert refused.status_code == 403, refused.text
        assert "import into EC" in refused.json()["detail"]
        claimed = await client.post(
            VERIFY,
            json={"document": base64.b64encode(for_peru).decode(), "importing_country": "EC"},
            headers=peru,
        )
        assert claimed.status_code == 403, claimed.text
        assert (await verify(ecuador, for_ecuador)).status_code == 200
        assert (await verify(admin, for_ecuador)).status_code == 200
        # Nothing lodged yet: the declaration rules wait, and the report says so.
        pending = (await verify(peru)).json()
        assert pending["outcome"] == "PENDING" and pending["declarations"] == []
        # Declarations lodged in Peru and (wrongly) in Ecuador: Peru's customs see only theirs,
        # an administrator both, and the one outside the importing country fails.
        await publish_events(
            services.bootstrap, pool, namespace,
            [lodged("AR-A58-2026-VERIFY-PE", declaration="DEC-PE", quantity="10000"),
             lodged("AR-A58-2026-VERIFY-PE", declaration="DEC-EC", quantity="10000",
                    port="ECGYE")],
        )  # fmt: skip

        async def both_stored() -> bool:
            return len((await verify(admin)).json()["declarations"]) == 2

        await eventually(both_stored, 60, "both declarations stored")
        everyone = (await verify(admin)).json()
        assert everyone["declarations"] == ["ECGYE/DEC-EC", "PECLL/DEC-PE"]
        assert everyone["failed"] == ["DECLARATION_MISMATCH"]
        assert "port ECGYE is not in PE" in everyone["rules"][9]["detail"]
        own = (await verify(peru)).json()
        assert own["declarations"] == ["PECLL/DEC-PE"]
        assert own["outcome"] == "VALID" and "ECGYE" not in json.dumps(own)

        # Tokens of other kinds, none, unknown: refused before the body is looked at.
        for headers, status in ((publisher, 403), (reader, 403), ({}, 401),
                                (bearer("hubc_not-a-token"), 401)):  # fmt: skip
            for body in (for_peru, b"garbage"):
                answer = await verify(headers, body)
                assert answer.status_code == status, (headers, answer.text)

        hostile: list[tuple[bytes, str, int]] = [
            (b"not xml", "application/xml", 422),
            (b"\x00\x00\x00", "application/xml", 422),
            (b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>'
             b"<Envelope>&b;</Envelope>", "application/xml", 422),
            (b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><Envelope>&e;</Envelope>',
             "text/xml", 422),
            (b"<Envelope>" + b" " * (600 * 1024) + b"</Envelope>", "application/xml", 413),
            (b"x" * (6 * 2**20), "application/xml", 413),
            (json.dumps({"document": "!!!"}).encode(), "application/json", 422),
            (b"[" * 50_000 + b"]" * 50_000, "application/json", 422),
            (json.dumps({"document": "PEVudmVsb3BlLz4=", "color": "red"}).encode(),
             "application/json", 422),
            (json.dumps({"document": "PEVudmVsb3BlLz4=", "certificate_id": "A\u0000B"}).encode(),
             "application/json", 422),
            (for_peru, "text/plain", 415),
        ]  # fmt: skip
        for body, content_type, status in hostile:
            answer = await client.post(
                VERIFY, content=body, headers=peru | {"Content-Type": content_type}
            )
            assert answer.status_code == status, (body[:60], answer.text)
            assert answer.json(), "a reason is given"
        # XML that is no certificate is still judged: a report whose document rule fails.
        judged = await client.post(
            VERIFY,
            json={"document": base64.b64encode(b"<Envelope/>").decode(), "certificate_id": "X-1"},
            headers=peru,
        )
        assert judged.status_code == 200, judged.text
        assert judged.json()["failed"][0] == "SCHEMA_INVALID"
        assert judged.json()["importing_country"] == "PE"
    verdicts = await pool.fetchval("SELECT count(*) FROM certificate_verdicts")
    assert verdicts == 0

    # PostgreSQL out of reach of an API (a proxy between them, then closed): 503, retry.
    proxy = await TcpProxy.to(urlsplit(fresh_database).port or 5432)
    port_http = free_port()
    api = start_hub(
        ["api"],
        environment | {"DATABASE_URL": proxied(fresh_database, proxy.port),
                       "HUB_HTTP_PORT": str(port_http)},
        tmp_path / "api-proxied.log",
    )  # fmt: skip
    try:
        proxied_url = f"http://127.0.0.1:{port_http}"
        await eventually(lambda: _answers(proxied_url), 60, "the proxied API's start")
        async with httpx.AsyncClient(base_url=proxied_url, timeout=30) as client:
            assert (await client.post(VERIFY, content=for_peru, headers=xml | peru)).is_success
            await proxy.close()
            down = await client.post(VERIFY, content=for_peru, headers=xml | peru)
            assert down.status_code == 503, down.text
            assert down.json()["reason"] == "UNAVAILABLE"
            assert "Retry-After" in down.headers
    finally:
        await proxy.close()
        stop_process(api, signal.SIGTERM, 30)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def books(pool: asyncpg.Pool, bootstrap: str, namespace: str) -> dict[str, Any]:
    """What a verification must not change: verdict versions, stored and counted events, and the
    end offset of every partition of the test's topics."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        topics = sorted(t for t in await consumer.topics() if t.startswith(namespace))
        partitions = [
            TopicPartition(topic, partition)
            for topic in topics
            for partition in consumer.partitions_for_topic(topic) or ()
        ]
        offsets = await consumer.end_offsets(partitions)
    finally:
        await consumer.stop()
    return {
        "verdicts": await pool.fetchval(
            "SELECT count(*) || '/' || coalesce(max(id), 0) FROM certificate_verdicts"
        ),
        "events": await pool.fetchval("SELECT count(*) FROM ingested_events"),
        "counted": await pool.fetchval("SELECT coalesce(sum(events), 0) FROM port_event_counts"),
        "offsets": {f"{tp.topic}/{tp.partition}": offset for tp, offset in offsets.items()},
    }


def proxied(database_url: str, port: int) -> str:
    parts = urlsplit(database_url)
    credentials = parts.netloc.rpartition("@")[0]
    netloc = f"{credentials}@127.0.0.1:{port}" if credentials else f"127.0.0.1:{port}"
    return urlunsplit(parts._replace(netloc=netloc))


class TcpProxy:
    """A TCP relay to 127.0.0.1:``target``; :meth:`close` cuts every connection and stops
    listening, so that the database is out of reach for whoever connected through it."""

    def __init__(self, target: int) -> None:
        self.target = target
        self.port = free_port()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    @classmethod
    async def to(cls, target: int) -> TcpProxy:
        proxy = cls(target)
        proxy._server = await asyncio.start_server(proxy._relay, "127.0.0.1", proxy.port)
        return proxy

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", self.target)
        self._writers |= {writer, upstream_writer}
        await asyncio.gather(
            self._pipe(reader, upstream_writer),
            self._pipe(upstream_reader, writer),
            return_exceptions=True,
        )

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        finally:
            writer.close()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in self._writers:
            writer.close()
        for writer in self._writers:
            with contextlib.suppress(Exception):
                await writer.wait_closed()
        self._writers.clear()
