"""Certificates of origin through the real broker, worker, database and HTTP API (SPEC §3).

Every reason code is produced by a certificate built to fail exactly that rule; customs read
their own country's verdicts (over SSE, live) and get 403 for another country's.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from cryptography.hazmat.primitives import serialization

from connectors.dev_pki import TestPki
from hub.db import issuers
from hub.db.tokens import create_access_token
from hub.domain.certificates.document import (
    CertificateOfOrigin,
    CertifiedGoods,
    Invoice,
    Party,
)
from hub.domain.certificates.issuer_registry import fingerprint
from hub.domain.certificates.signing import SigningKey, sign_document
from hub.kafka_topics import validations_topic
from hub.settings import PROJECT_ROOT
from schemas.models import (
    CertificateSubmission,
    CustomsEvent,
    CustomsKind,
    GoodsLine,
    Regime,
)
from tests.integration.helpers import (
    Services,
    eventually,
    free_port,
    hub_environment,
    publish_events,
    read_topic,
    start_hub,
    stop_process,
    worker_started,
)

PKI = TestPki("integration tests")
TODAY = datetime.now(UTC).replace(microsecond=0)
CERTIFIED_ON = (TODAY - timedelta(days=10)).date()
# Argentina exports to Peru under ACE 58 (MERCOSUR-Peru, every HS code in the bundled file).
EXPORTER = Party("Exportadora del Plata SA", "AR30712345678", "AR")
IMPORTER = Party("Importadora Andina SAC", "PE20512345678", "PE")


@dataclass(frozen=True, slots=True)
class Case:
    """One certificate (and the declarations invoking it) and the rules it must fail."""

    certificate: CertificateSubmission
    declarations: tuple[CustomsEvent, ...]
    failed: tuple[str, ...]


def cod(certificate_id: str, **changes: Any) -> CertificateOfOrigin:
    base = CertificateOfOrigin(
        certificate_id=certificate_id,
        agreement="A58",
        exporter=EXPORTER,
        importer=IMPORTER,
        invoices=(Invoice("FAC-0001-00012345", CERTIFIED_ON - timedelta(days=2)),),
        goods=(
            CertifiedGoods(
                code="0806.10",
                description="Fresh grapes",
                quantity=Decimal("20000"),
                unit="KGM",
                value_usd=Decimal("41000.00"),
                origin_rule="Wholly obtained (Art. 3 a)",
            ),
        ),
        country_of_origin="AR",
        certificate_date=CERTIFIED_ON,
        issuing_entity="TST",
        issuing_country="AR",
    )
    return replace(base, **changes)


def submission(
    document: CertificateOfOrigin | bytes,
    *,
    certificate_id: str | None = None,
    importing: str = "PE",
    **changes: Any,
) -> CertificateSubmission:
    """The submission of ``document`` (signed here unless already bytes)."""
    if isinstance(document, bytes):
        assert certificate_id is not None, "name the certificate of a document given as bytes"
        signed = document
    else:
        certificate_id = certificate_id or document.certificate_id
        signed = sign(document)
    fields: dict[str, Any] = {
        "event_id": uuid.uuid4(),
        "occurred_at": TODAY - timedelta(hours=2),
        "published_at": TODAY - timedelta(hours=2),
        "port": "PECLL" if importing == "PE" else "ECGYE",
        "certificate_id": certificate_id,
        "agreement": "A58",
        "exporting_country": "AR",
        "importing_country": importing,
        "issuing_entity": "TST",
        "document": signed,
    }
    return CertificateSubmission(**(fields | changes))


def sign(document: CertificateOfOrigin, official: SigningKey | None = None) -> bytes:
    return sign_document(
        document,
        PKI.exporter(document.exporter.tax_id),
        official or PKI.official(document.issuing_country),
    )


def lodged(
    certificate_id: str,
    *,
    declaration: str | None = None,
    quantity: str = "20000",
    at: datetime | None = None,
    port: str = "PECLL",
    **changes: Any,
) -> CustomsEvent:
    when = at or TODAY - timedelta(hours=1)
    fields: dict[str, Any] = {
        "event_id": uuid.uuid4(),
        "occurred_at": when,
        "published_at": when,
        "port": port,
        "declaration_id": declaration or f"DEC-{certificate_id}",
        "kind": CustomsKind.LODGED,
        "regime": Regime.IMPORT,
        "importer_id": IMPORTER.tax_id,
        "exporter_id": EXPORTER.tax_id,
        "goods": (
            GoodsLine(
                hs_code="080610",
                description="Fresh grapes",
                quantity=Decimal(quantity),
                unit="KGM",
                value_usd=Decimal("41000.00"),
                origin_country="AR",
            ),
        ),
        "certificate_id": certificate_id,
        "agreement": "A58",
        "invoice_number": "FAC-0001-00012345",
    }
    return CustomsEvent(**(fields | changes))


def altered_one_byte(document: bytes) -> bytes:
    """The signed document with one character of certified content changed."""
    return document.replace(b"<Description>Fresh grapes<", b"<Description>Fresh grapeS<", 1)


def altered_signature_value(document: bytes) -> bytes:
    """The official's signature value changed (the last one: nothing else covers it, so only
    the signature fails, not a digest)."""
    values = re.findall(rb"<ds:SignatureValue>([A-Za-z0-9+/=\s]+)</ds:SignatureValue>", document)
    assert len(values) == 2
    value = values[-1].strip()
    flipped = value[:8] + (b"A" if value[8:9] != b"A" else b"B") + value[9:]
    return document.replace(value, flipped)


def cases(revoked_official: SigningKey, expired_official: SigningKey) -> dict[str, Case]:
    """One valid certificate and one built to fail each rule, keyed by the rule."""
    valid = cod("AR-A58-2026-VALID")
    invalid_content = sign(cod("AR-A58-2026-SCHEMA"))
    return {
        "VALID": Case(submission(valid), (lodged("AR-A58-2026-VALID"),), ()),
        # The envelope says another agreement than the signed document.
        "SCHEMA_INVALID": Case(
            submission(invalid_content, certificate_id="AR-A58-2026-SCHEMA", agreement="A18"),
            (lodged("AR-A58-2026-SCHEMA"),),
            ("SCHEMA_INVALID",),
        ),
        "DIGEST_MISMATCH": Case(
            submission(altered_one_byte(sign(cod("AR-A58-2026-DIGEST"))),
                       certificate_id="AR-A58-2026-DIGEST"),
            (lodged("AR-A58-2026-DIGEST"),),
            ("DIGEST_MISMATCH",),
        ),
        "SIGNATURE_INVALID": Case(
            submission(altered_signature_value(sign(cod("AR-A58-2026-SIGVAL"))),
                       certificate_id="AR-A58-2026-SIGVAL"),
            (lodged("AR-A58-2026-SIGVAL"),),
            ("SIGNATURE_INVALID",),
        ),
        # Signed by a key nobody registered: the official's rules cannot be checked either.
        "SIGNER_UNKNOWN": Case(
            submission(sign(cod("AR-A58-2026-UNKNOWN"), PKI.official("AR", "ZZZ")),
                       certificate_id="AR-A58-2026-UNKNOWN"),
            (lodged("AR-A58-2026-UNKNOWN"),),
            ("SIGNER_UNKNOWN", "SIGNER_NOT_VALID_AT_SIGNING", "SIGNER_REVOKED"),
        ),
        "SIGNER_NOT_VALID_AT_SIGNING": Case(
            submission(sign(cod("AR-A58-2026-NOTVALID"), expired_official),
                       certificate_id="AR-A58-2026-NOTVALID"),
            (lodged("AR-A58-2026-NOTVALID"),),
            ("SIGNER_NOT_VALID_AT_SIGNING",),
        ),
        "SIGNER_REVOKED": Case(
            submission(sign(cod("AR-A58-2026-REVOKED"), revoked_official),
                       certificate_id="AR-A58-2026-REVOKED"),
            (lodged("AR-A58-2026-REVOKED"),),
            ("SIGNER_REVOKED",),
        ),
        # AR/TST is not authorised for ACE 35 (MERCOSUR-Chile), which covers every HS code.
        "ISSUER_NOT_AUTHORISED": Case(
            submission(cod("AR-A35-2026-NOTAUTH", agreement="A35"), agreement="A35"),
            (lodged("AR-A35-2026-NOTAUTH", agreement="A35"),),
            ("ISSUER_NOT_AUTHORISED",),
        ),
        "EXPIRED": Case(
            submission(cod("AR-A58-2026-EXPIRED", certificate_date=(TODAY - timedelta(days=200)).date(),
                           invoices=(Invoice("FAC-0001-00012345", date(2025, 1, 2)),))),
            (lodged("AR-A58-2026-EXPIRED"),),
            ("EXPIRED",),
        ),
        # ACE 8 (Peru-Mexico, partial scope) does not cover chapter 17 in the bundled file.
        "GOODS_NOT_COVERED": Case(
            submission(
                cod("MX-A08-2026-SUGAR", agreement="A08",
                    exporter=Party("Azucarera del Golfo SA", "MXAGO850101AB1", "MX"),
                    country_of_origin="MX", issuing_country="MX",
                    goods=(CertifiedGoods("1701.14", "Raw cane sugar", Decimal("20000"), "KGM",
                                          Decimal("9000.00"), "Wholly obtained"),)),
                agreement="A08", exporting_country="MX",
            ),
            (lodged("MX-A08-2026-SUGAR", agreement="A08", exporter_id="MXAGO850101AB1",
                    goods=(GoodsLine(hs_code="170114", quantity=Decimal("20000"), unit="KGM",
                                     value_usd=Decimal("9000.00"), origin_country="MX"),)),),
            ("GOODS_NOT_COVERED",),
        ),
        "DECLARATION_MISMATCH": Case(
            submission(cod("AR-A58-2026-MISMATCH")),
            (lodged("AR-A58-2026-MISMATCH", importer_id="PE20999999999"),),
            ("DECLARATION_MISMATCH",),
        ),
        "QUANTITY_EXCEEDED": Case(
            submission(cod("AR-A58-2026-QUANTITY")),
            (lodged("AR-A58-2026-QUANTITY", quantity="20000.5"),),
            ("QUANTITY_EXCEEDED",),
        ),
        # Two partial shipments of 12 t each against 20 t certified: the second goes over.
        "ALREADY_USED": Case(
            submission(cod("AR-A58-2026-TWICE")),
            (
                lodged("AR-A58-2026-TWICE", declaration="DEC-TWICE-1", quantity="12000",
                       at=TODAY - timedelta(hours=1, minutes=30)),
                lodged("AR-A58-2026-TWICE", declaration="DEC-TWICE-2", quantity="12000"),
            ),
            ("ALREADY_USED",),
        ),
    }  # fmt: skip


@pytest.fixture
async def hub(
    services: Services, fresh_database: str, namespace: str, tmp_path: Path
) -> AsyncIterator[tuple[asyncpg.Pool, str, dict[str, str]]]:
    """A worker and an API on a fresh database, with AR/TST and MX/TST registered."""
    port_http = free_port()
    environment = hub_environment(
        HUB_KAFKA_BOOTSTRAP=services.bootstrap,
        DATABASE_URL=fresh_database,
        HUB_TOPIC_NAMESPACE=namespace,
        HUB_WORKER_ID=f"{namespace}worker",
        HUB_STATE_DIR=str(tmp_path / "state"),
        HUB_WORKER_HEARTBEAT_S="1",
        HUB_HTTP_PORT=str(port_http),
    )
    worker = start_hub(["worker"], environment, tmp_path / "worker.log")
    pool = await asyncpg.create_pool(fresh_database, min_size=1, max_size=4)
    api = None
    try:
        await eventually(lambda: worker_started(pool), 90, "the worker's start")
        api = start_hub(["api"], environment, tmp_path / "api.log")
        await issuers.put_entity(pool, "AR", "TST", "TEST entity of AR", ["A58", "A18"])
        await issuers.put_entity(pool, "MX", "TST", "TEST entity of MX", ["A08"])
        for country in ("AR", "MX"):
            await issuers.add_official(pool, country, "TST", _pem(PKI.official(country)))
        base_url = f"http://127.0.0.1:{port_http}"
        await eventually(lambda: _answers(base_url), 60, "the API's start")
        yield pool, base_url, environment
    finally:
        await pool.close()
        if api is not None:
            stop_process(api, signal.SIGTERM, 30)
        stop_process(worker, signal.SIGTERM, 30)


async def test_every_reason_code_fails_exactly_its_certificate(
    hub: tuple[asyncpg.Pool, str, dict[str, str]], services: Services, namespace: str
) -> None:
    pool, base_url, _ = hub
    # An official whose certificate had expired before the certificate date, and one revoked
    # the day before it (both registered for AR/TST).
    expired = PKI.official(
        "AR", name="expired", not_before=TODAY - timedelta(days=800),
        not_after=TODAY - timedelta(days=30),
    )  # fmt: skip
    revoked = PKI.official("AR", name="revoked")
    for official in (expired, revoked):
        await issuers.add_official(pool, "AR", "TST", _pem(official))
    revoked_fingerprint = _fingerprint(revoked)
    admin = await create_access_token(pool, "admin")
    customs_pe = await create_access_token(pool, "customs", "PE")
    async with httpx.AsyncClient(base_url=base_url) as client:
        response = await client.post(
            f"/v1/admin/officials/{revoked_fingerprint}/revocation",
            json={"revoked_at": (TODAY - timedelta(days=11)).isoformat(), "reason": "left"},
            headers={"Authorization": f"Bearer {admin}"},
        )
        assert response.status_code == 200, response.text

        built = cases(revoked, expired)
        await publish_events(
            services.bootstrap, pool, namespace, [e for c in built.values() for e in c.declarations]
        )
        await publish_events(
            services.bootstrap, pool, namespace, [c.certificate for c in built.values()]
        )

        verdicts: dict[str, dict[str, Any]] = {}

        async def all_decided() -> bool:
            for name, case in built.items():
                answer = await client.get(
                    f"/v1/validations/{case.certificate.certificate_id}",
                    headers={"Authorization": f"Bearer {customs_pe}"},
                )
                if answer.status_code != 200 or answer.json()["latest"]["outcome"] == "PENDING":
                    return False
                verdicts[name] = answer.json()["latest"]
            return True

        await eventually(all_decided, 90, "a verdict for every certificate")

    for name, case in built.items():
        verdict = verdicts[name]
        statuses = {rule["code"]: rule["status"] for rule in verdict["rules"]}
        failed = {code for code, status in statuses.items() if status in ("FAIL", "ERROR")}
        assert failed == set(case.failed), (name, verdict["rules"])
        assert verdict["outcome"] == ("VALID" if not case.failed else "INVALID"), name
        assert len(statuses) == 12, name
    # The one-byte alteration and the unregistered key are named in the reasons.
    digest = next(r for r in verdicts["DIGEST_MISMATCH"]["rules"] if r["code"] == "DIGEST_MISMATCH")
    assert "COD" in digest["detail"], digest
    published = await read_topic(
        services.bootstrap, f"{namespace}{validations_topic('PE')}", len(built), timeout_s=30
    )
    on_topic = {json.loads(value)["certificate_id"] for value, _ in published}
    assert on_topic == {case.certificate.certificate_id for case in built.values()}
    rows = await pool.fetch("SELECT DISTINCT document_sha256 FROM certificate_verdicts")
    assert len(rows) == len(built)


async def test_a_verdict_waits_for_its_declaration_and_is_reissued_when_it_comes(
    hub: tuple[asyncpg.Pool, str, dict[str, str]], services: Services, namespace: str
) -> None:
    pool, base_url, _ = hub
    token = await create_access_token(pool, "customs", "PE")
    first = submission(cod("AR-A58-2026-LATER"))
    # The other way round: the declaration first, then its certificate.
    other_declaration = lodged("AR-A58-2026-EARLIER")
    await publish_events(services.bootstrap, pool, namespace, [first, other_declaration])
    async with httpx.AsyncClient(
        base_url=base_url, headers={"Authorization": f"Bearer {token}"}
    ) as client:

        async def outcome(certificate_id: str) -> tuple[str, int] | None:
            answer = await client.get(f"/v1/validations/{certificate_id}")
            if answer.status_code != 200:
                return None
            latest = answer.json()["latest"]
            return latest["outcome"], latest["version"]

        async def is_(certificate_id: str, expected: tuple[str, int]) -> bool:
            return await outcome(certificate_id) == expected

        await eventually(lambda: is_("AR-A58-2026-LATER", ("PENDING", 1)), 60, "PENDING v1")
        pending = (await client.get("/v1/validations/AR-A58-2026-LATER")).json()["latest"]
        waiting = {r["code"] for r in pending["rules"] if r["status"] == "PENDING"}
        assert waiting == {"EXPIRED", "DECLARATION_MISMATCH", "QUANTITY_EXCEEDED", "ALREADY_USED"}

        await publish_events(services.bootstrap, pool, namespace, [lodged("AR-A58-2026-LATER")])
        await eventually(lambda: is_("AR-A58-2026-LATER", ("VALID", 2)), 60, "VALID v2")
        history = (await client.get("/v1/validations/AR-A58-2026-LATER")).json()
        assert [v["outcome"] for v in history["versions"]] == ["PENDING", "VALID"]

        await publish_events(
            services.bootstrap, pool, namespace, [submission(cod("AR-A58-2026-EARLIER"))]
        )
        await eventually(lambda: is_("AR-A58-2026-EARLIER", ("VALID", 1)), 60, "VALID v1")
        # A re-delivered declaration changes nothing: no new version.
        await publish_events(services.bootstrap, pool, namespace, [other_declaration])
        await asyncio.sleep(3)
        assert await outcome("AR-A58-2026-EARLIER") == ("VALID", 1)


async def test_customs_see_their_own_country_live_and_nothing_else(
    hub: tuple[asyncpg.Pool, str, dict[str, str]], services: Services, namespace: str
) -> None:
    pool, base_url, _ = hub
    peru = await create_access_token(pool, "customs", "PE")
    ecuador = await create_access_token(pool, "customs", "EC")
    received: list[dict[str, Any]] = []
    connected = asyncio.Event()

    async def subscribe() -> None:
        async with (
            httpx.AsyncClient(base_url=base_url, timeout=None) as client,
            client.stream(
                "GET", "/v1/validations/stream", headers={"Authorization": f"Bearer {peru}"}
            ) as stream,
        ):
            assert stream.status_code == 200
            assert stream.headers["content-type"].startswith("text/event-stream")
            connected.set()
            async for line in stream.aiter_lines():
                if line.startswith("data: "):
                    received.append(json.loads(line.removeprefix("data: ")))

    listener = asyncio.create_task(subscribe())
    try:
        await asyncio.wait_for(connected.wait(), 30)
        for_peru = submission(cod("AR-A58-2026-LIVE-PE"))
        for_ecuador = submission(
            cod("AR-A59-2026-LIVE-EC", agreement="A59",
                importer=Party("Importadora Quiteña SA", "EC1790012345001", "EC")),
            importing="EC", agreement="A59",
        )  # fmt: skip
        await publish_events(services.bootstrap, pool, namespace, [for_ecuador, for_peru])

        async def peru_received() -> bool:
            return any(v["certificate_id"] == "AR-A58-2026-LIVE-PE" for v in received)

        await eventually(peru_received, 60, "Peru's verdict on the stream")
        await eventually(
            lambda: _has_verdict(pool, "AR-A59-2026-LIVE-EC"), 30, "Ecuador's verdict stored"
        )
        await asyncio.sleep(2)  # time for a wrong delivery to show
        assert {v["certificate_id"] for v in received} == {"AR-A58-2026-LIVE-PE"}
        assert {v["importing_country"] for v in received} == {"PE"}
    finally:
        listener.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await listener

    async with httpx.AsyncClient(base_url=base_url) as client:
        own = await client.get(
            "/v1/validations/AR-A59-2026-LIVE-EC", headers={"Authorization": f"Bearer {ecuador}"}
        )
        assert own.status_code == 200
        other = await client.get(
            "/v1/validations/AR-A59-2026-LIVE-EC", headers={"Authorization": f"Bearer {peru}"}
        )
        assert other.status_code == 403
        assert "AR-A59" not in other.text and "verdict" not in other.json()
        anonymous = await client.get("/v1/validations/AR-A59-2026-LIVE-EC")
        assert anonymous.status_code == 401
        stream_of_other = await client.get(
            "/v1/validations/stream", headers={"Authorization": "Bearer hubc_not-a-token"}
        )
        assert stream_of_other.status_code == 401


async def test_the_registry_is_managed_from_the_command_line(
    hub: tuple[asyncpg.Pool, str, dict[str, str]], tmp_path: Path
) -> None:
    pool, _, environment = hub
    official = PKI.official("CL", name="cli")
    pem_file = tmp_path / "official.pem"
    pem_file.write_text(_pem(official))

    def hub_command(*arguments: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "hub", *arguments], env=environment, capture_output=True,
            text=True, timeout=60, cwd=PROJECT_ROOT, check=False,
        )  # fmt: skip

    created = hub_command("issuers", "put-entity", "CL", "SFA", "--name", "SOFOFA",
                          "--agreement", "A38", "--agreement", "A24")  # fmt: skip
    assert created.returncode == 0, created.stderr
    added = hub_command("issuers", "add-official", "CL", "SFA", str(pem_file))
    assert added.returncode == 0, added.stderr
    assert added.stdout.strip() == _fingerprint(official)
    listed = hub_command("issuers", "list", "--country", "CL")
    assert "CL/SFA  SOFOFA  agreements: A24 A38" in listed.stdout
    assert f"{_fingerprint(official)}" in listed.stdout and "active" in listed.stdout
    revoked = hub_command("issuers", "revoke", _fingerprint(official), "--reason", "left")
    assert revoked.returncode == 0, revoked.stderr
    assert "revoked" in hub_command("issuers", "list", "--country", "CL").stdout

    unknown = hub_command("issuers", "put-entity", "CL", "SFA", "--name", "X", "--agreement", "Z99")
    assert unknown.returncode == 2
    assert unknown.stderr.strip() == (
        "hub: error: agreement Z99 is not configured (see HUB_AGREEMENTS_FILE)"
    )
    token = hub_command("tokens", "add-customs", "CL")
    assert token.returncode == 0 and token.stdout.startswith("hubc_")
    registry = await issuers.load_registry(pool)
    assert registry.officials[_fingerprint(official)].revocation_reason == "left"


async def _answers(base_url: str) -> bool:
    try:
        async with httpx.AsyncClient(base_url=base_url) as client:
            return (await client.get("/health")).status_code in (200, 503)
    except httpx.TransportError:
        return False


async def _has_verdict(pool: asyncpg.Pool, certificate_id: str) -> bool:
    return bool(
        await pool.fetchval(
            "SELECT 1 FROM certificate_verdicts WHERE certificate_id = $1", certificate_id
        )
    )


def _pem(key: SigningKey) -> str:
    return key.certificate.public_bytes(serialization.Encoding.PEM).decode()


def _fingerprint(key: SigningKey) -> str:
    return fingerprint(key.certificate)
