"""The request of ``POST /v1/certificates/verify`` (``hub/api/certificates.py``): the signed XML
or JSON with the document in base64, the envelope the document is checked under, and a clear
4xx for every hostile or malformed request. On a small app of its own, without PostgreSQL (the
route end to end, token and database included: ``tests/integration/test_verify_certificates.py``).
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request

from hub.api import certificates
from hub.api.access import GUARDED_ROUTES, guard_of
from hub.api.certificates import DOCUMENT_LIMIT, JSON_LIMIT
from hub.db.tokens import AccessGrant
from tests.unit.certificates.builders import CERTIFICATE, IMPORTING, signed

CUSTOMS_BR = AccessGrant("customs", IMPORTING, "counter")
CUSTOMS_PE = AccessGrant("customs", "PE", "counter")
ADMIN = AccessGrant("admin", "", "ops")
DOCUMENT = signed()


def parsing_app(grant: AccessGrant) -> FastAPI:
    """The route's request parsing, with ``grant`` as the request's token."""
    api = FastAPI()

    @api.post("/parse")
    async def parse(request: Request) -> dict[str, Any]:
        document, given = await certificates._read_request(request)
        fields = certificates._envelope(document, given, grant)
        return {"sha256": hashlib.sha256(document).hexdigest(), "fields": fields}

    return api


async def post(
    grant: AccessGrant, content: bytes, content_type: str | None = "application/xml"
) -> httpx.Response:
    headers = {"Content-Type": content_type} if content_type else {}
    transport = httpx.ASGITransport(app=parsing_app(grant))
    async with httpx.AsyncClient(transport=transport, base_url="http://hub") as http:
        return await http.post("/parse", content=content, headers=headers)


def as_json(document: bytes = DOCUMENT, **fields: Any) -> bytes:
    return json.dumps({"document": base64.b64encode(document).decode(), **fields}).encode()


ENVELOPE = {
    "certificate_id": CERTIFICATE.certificate_id,
    "agreement": "A58",
    "exporting_country": "PE",
    "importing_country": IMPORTING,
    "issuing_entity": "TST",
}


@pytest.mark.parametrize("content_type", ["application/xml", "text/xml; charset=utf-8",
                                          "Application/XML"])  # fmt: skip
async def test_the_signed_xml_itself_is_checked_under_its_own_envelope(content_type: str) -> None:
    response = await post(CUSTOMS_BR, DOCUMENT, content_type)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "sha256": hashlib.sha256(DOCUMENT).hexdigest(),
        "fields": ENVELOPE,
    }


async def test_json_gives_the_document_in_base64_and_may_override_the_envelope() -> None:
    response = await post(
        ADMIN, as_json(agreement="A18", certificate_id="OTHER-1"), "application/json"
    )
    assert response.status_code == 200, response.text
    assert response.json()["sha256"] == hashlib.sha256(DOCUMENT).hexdigest()
    assert response.json()["fields"] == ENVELOPE | {"agreement": "A18", "certificate_id": "OTHER-1"}


async def test_customs_verify_only_certificates_for_import_into_their_country() -> None:
    # The document's importer is Brazil's.
    refused = await post(CUSTOMS_PE, DOCUMENT)
    assert refused.status_code == 403
    assert refused.json()["detail"].startswith("this certificate is for import into BR")
    claimed = await post(CUSTOMS_PE, as_json(importing_country="PE"), "application/json")
    assert claimed.status_code == 403, "the document's importer counts, whatever is claimed"
    other = await post(CUSTOMS_BR, as_json(importing_country="AR"), "application/json")
    assert other.status_code == 403 and "import into AR" in other.json()["detail"]
    assert (await post(ADMIN, DOCUMENT)).status_code == 200


async def test_the_importing_country_defaults_to_the_customs_tokens_own() -> None:
    # XML that names its certificate but no importer (content missing: the rules say so).
    bare = (
        b"<Envelope><CertOrigin><CODEH id='CODEH'><CODExporter><COD id='COD'>"
        b"<CertificateID>C-1</CertificateID></COD></CODExporter></CODEH></CertOrigin></Envelope>"
    )
    customs = await post(CUSTOMS_PE, bare)
    assert customs.status_code == 200, customs.text
    assert customs.json()["fields"] == {"certificate_id": "C-1", "importing_country": "PE"}
    admin = await post(ADMIN, bare)
    assert admin.json()["fields"] == {"certificate_id": "C-1"}


@pytest.mark.parametrize(
    ("content", "content_type", "status", "says"),
    [
        (DOCUMENT, None, 415, "application/xml"),
        (DOCUMENT, "text/plain", 415, "application/xml"),
        (b"", "application/xml", 422, "empty body"),
        (b"not xml", "application/xml", 422, "not well-formed"),
        (b"\x00" * 64, "text/xml", 422, "not well-formed"),
        (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">]><Envelope>&a;</Envelope>',
         "application/xml", 422, "DOCTYPE"),
        (b"<html/>", "application/xml", 422, "no certificate id"),
        (b"{not json", "application/json", 422, "Invalid JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "application/json", 422, ""),
        (json.dumps({"document": {"a": [[[[[]]]]]}}).encode(), "application/json", 422,
         "document"),
        (b"[]", "application/json", 422, ""),
        (as_json(unexpected=1), "application/json", 422, "unexpected"),
        (json.dumps({"document": "***not base64***"}).encode(), "application/json", 422,
         "not base64"),
        (json.dumps({"document": ""}).encode(), "application/json", 422, "document"),
        (as_json(b"plain text"), "application/json", 422, "not well-formed"),
        (as_json(certificate_id="C\x00-1"), "application/json", 422, "NUL"),
        (as_json(importing_country="pe"), "application/json", 422, "importing_country"),
        (as_json(importing_country=5), "application/json", 422, "importing_country"),
        (b'{"document": "' + b"\xff\xfe" + b'"}', "application/json", 422, ""),
        (b"<Envelope>" + b" " * DOCUMENT_LIMIT + b"</Envelope>", "application/xml", 413,
         f"{DOCUMENT_LIMIT}"),
        (b" " * (JSON_LIMIT + 1), "application/json", 413, f"{JSON_LIMIT}"),
        # Within the JSON limit, but the document it decodes to is over the document's.
        (as_json(b" " * (DOCUMENT_LIMIT + 1)), "application/json", 413, f"{DOCUMENT_LIMIT}"),
    ],
    ids=["no-type", "text-plain", "empty-xml", "not-xml", "nul-bytes", "entity", "no-id",
         "not-json", "deep-nesting", "document-object", "json-array", "unknown-field",
         "not-base64", "empty-document", "base64-of-text", "nul-in-id", "bad-country",
         "number-country", "not-utf8", "huge-xml", "huge-json", "huge-document-in-json"],
)  # fmt: skip
async def test_a_malformed_request_gets_a_clear_4xx(
    content: bytes, content_type: str | None, status: int, says: str
) -> None:
    response = await post(ADMIN, content, content_type)
    assert response.status_code == status, response.text
    assert says in response.text


def test_the_route_checks_its_token_before_its_body() -> None:
    guard = guard_of("POST", certificates.PATH)
    assert guard is GUARDED_ROUTES["POST", "/v1/certificates/verify"]
    assert guard.scopes == {"customs", "admin"}
