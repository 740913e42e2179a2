"""On-demand verification of a certificate of origin: ``POST /v1/certificates/verify``.

A customs officer checking a paper-less certificate at the counter sends the signed ALADI
document and gets the full rule report back, judged by the one definition of the rules
(:func:`~hub.domain.certificates.rules.evaluate`) against the issuer registry as it is now and
the declarations the hub holds that invoke the certificate. Nothing is stored or published: no
event, no verdict version, no Kafka record (only the audit log notes the attempt).

- **Who.** A customs token (its country's certificates only) or an admin token (any). The token
  is checked before the body is read (the route is in ``GUARDED_ROUTES``); every attempt,
  allowed or refused, is audited (``certificates.verify``, target the certificate id).
- **The body.** The raw signed XML (``Content-Type: application/xml`` or ``text/xml``), or JSON
  ``{"document": "<base64>", "importing_country"?, "certificate_id"?, "agreement"?,
  "exporting_country"?, "issuing_entity"?}``; a field not given is what the document says
  (``CertificateID``, ``Agreement``, ``EHCountry``, the importer's country, ``EHId``), and the
  importing country a customs token's own when the document does not say.
- **Tenancy.** A customs token may verify only certificates for import into its country (the
  document's importer and the given ``importing_country``), else 403; it sees only the
  declarations lodged at its country's ports. An admin token sees every port's.
- **Answers.** 200 with the report as soon as the body holds XML, even a document that misses
  content or whose signatures fail (those rules fail in the report). 413 for a document over
  :data:`DOCUMENT_LIMIT`; 415 for another content type; 422 for a request that is no document:
  not JSON, unknown fields, not base64, not well-formed XML, a DOCTYPE (entities, XML bombs),
  no certificate id. PostgreSQL unavailable: 503, retry (``hub/api/failures.py``).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from datetime import UTC, datetime
from typing import Annotated, Any, Final, Literal

import asyncpg
from fastapi import APIRouter, Header, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from hub.api.access import GUARDED_ROUTES, actor_of, check, identify
from hub.api.dependencies import Ingest
from hub.db import audit
from hub.db.certificate_reads import lodged_declarations
from hub.db.issuers import load_registry
from hub.db.tokens import AccessGrant
from hub.domain.certificates import document as cod
from hub.domain.certificates.issuer_registry import IssuerRegistry
from hub.domain.certificates.rules import Verdict, evaluate
from hub.domain.certificates.verification import (
    ENVELOPE_FIELDS,
    claimed_fields,
    verification_submission,
)
from schemas import models
from schemas.models import AGREEMENT_PATTERN, COUNTRY_PATTERN, CustomsEvent

__all__ = [
    "DOCUMENT_LIMIT",
    "JSON_LIMIT",
    "PATH",
    "VerificationReport",
    "VerifyRequest",
    "router",
]

PATH: Final = "/v1/certificates/verify"
DOCUMENT_LIMIT: Final = min(models.MAX_DOCUMENT_BYTES, cod.MAX_DOCUMENT_BYTES)
"""The largest document verified: what a submission may carry (a bigger one never gets a verdict
from the stream either: it is dead-lettered)."""
JSON_LIMIT: Final = (DOCUMENT_LIMIT + 2) // 3 * 4 + 16 * 1024
"""The largest JSON body: the document in base64, and room for the other fields."""
XML_TYPES: Final = frozenset({"application/xml", "text/xml"})
JSON_TYPE: Final = "application/json"

_GUARD = GUARDED_ROUTES["POST", PATH]


class VerifyRequest(BaseModel):
    """The JSON form of a verification request: the document and, optionally, the envelope."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    document: str = Field(min_length=1, max_length=JSON_LIMIT, description="the signed XML, base64")
    importing_country: str | None = Field(default=None, pattern=COUNTRY_PATTERN)
    certificate_id: str | None = Field(default=None, min_length=1, max_length=64)
    agreement: str | None = Field(default=None, pattern=AGREEMENT_PATTERN)
    exporting_country: str | None = Field(default=None, pattern=COUNTRY_PATTERN)
    issuing_entity: str | None = Field(default=None, pattern=r"^[A-Za-z0-9]{3}$")

    @field_validator("certificate_id")
    @classmethod
    def _storable(cls, value: str | None) -> str | None:
        if value is not None and ("\x00" in value or not value.isprintable()):
            raise ValueError("an id of printable characters, without NUL")
        return value

    def signed_bytes(self) -> bytes:
        """The document, base64-decoded (a ``ValueError`` naming the problem otherwise)."""
        try:
            decoded = base64.b64decode(self.document, validate=True)
        except (binascii.Error, ValueError) as error:
            raise ValueError(f"document: not base64 ({error})") from None
        if not decoded:
            raise ValueError("document: empty")
        return decoded


class RuleReport(BaseModel):
    code: str
    status: Literal["PASS", "FAIL", "ERROR", "PENDING"]
    detail: str


class VerificationReport(BaseModel):
    """Every rule's result for the document, as the stream would judge it now; not stored."""

    certificate_id: str
    importing_country: str | None
    exporting_country: str | None
    agreement: str | None
    issuing_entity: str | None
    outcome: Literal["VALID", "INVALID", "PENDING"]
    failed: list[str]
    rules: list[RuleReport]
    document_sha256: str
    declarations: list[str] = Field(description='"PORT/DECLARATION_ID" of those considered')
    stored: Literal[False] = False
    registry_as_of: datetime


_REQUEST_BODY: Final[dict[str, Any]] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/xml": {"schema": {"type": "string", "format": "binary"}},
            "text/xml": {"schema": {"type": "string", "format": "binary"}},
            JSON_TYPE: {"schema": VerifyRequest.model_json_schema()},
        },
    }
}

router = APIRouter()


@router.post(
    PATH,
    response_model=VerificationReport,
    openapi_extra=_REQUEST_BODY,
    responses={
        401: {"description": "No token, or an unknown, expired or revoked one"},
        403: {"description": "Not a customs or admin token; another country's certificate"},
        413: {"description": f"A document over {DOCUMENT_LIMIT} bytes"},
        415: {"description": "Neither XML nor JSON"},
        422: {"description": "Not a document: not JSON, not base64, not XML, no certificate id"},
        503: {"description": "The database is unavailable: send the same request again"},
    },
)
async def verify(
    request: Request, context: Ingest, authorization: Annotated[str | None, Header()] = None
) -> VerificationReport:
    """The full rule report of a signed certificate of origin, checked now; nothing stored.

    The body is the signed XML itself (``application/xml``) or JSON with the document in base64
    and, optionally, the envelope fields the document is to be checked against.
    """
    pool = context.pool
    actor, target, outcome = audit.presented_actor(authorization), "", "ok"
    try:
        identity = await identify(pool, authorization)
        actor = actor_of(identity, authorization)
        grant = check(identity, authorization, _GUARD)  # before a byte of the body is read
        document, given = await _read_request(request)
        fields = _envelope(document, given, grant)
        target = fields["certificate_id"]
        validity = context.settings.rules.certificate_validity_days
        return await _report(pool, document, fields, grant, validity)
    except HTTPException as error:
        outcome = f"{error.status_code} {error.detail}"
        raise
    except Exception as error:
        outcome = f"error {type(error).__name__}"
        raise
    finally:
        remote = request.client.host if request.client else None
        await audit.record(pool, actor, _GUARD.action, target, outcome, remote)


async def _read_request(request: Request) -> tuple[bytes, dict[str, str]]:
    """The document and the envelope fields the request gives."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type in XML_TYPES:
        limit = DOCUMENT_LIMIT
    elif media_type == JSON_TYPE:
        limit = JSON_LIMIT
    else:
        raise HTTPException(
            415, "send the signed XML (Content-Type: application/xml) or JSON with the document "
            "in base64 (Content-Type: application/json)",
        )  # fmt: skip
    body = await _body(request, limit)
    if media_type in XML_TYPES:
        if not body:
            raise HTTPException(422, "empty body: send the signed XML document")
        return body, {}
    try:
        parsed = VerifyRequest.model_validate_json(body)
        document = parsed.signed_bytes()
    except ValidationError as error:
        raise HTTPException(422, _problem(error)) from None
    except ValueError as error:
        raise HTTPException(422, str(error)) from None
    if len(document) > DOCUMENT_LIMIT:
        raise HTTPException(413, f"document over {DOCUMENT_LIMIT} bytes")
    given = parsed.model_dump(include=set(ENVELOPE_FIELDS), exclude_none=True)
    return document, given


async def _body(request: Request, limit: int) -> bytes:
    """The body, refused with 413 as soon as it is over ``limit`` (its Content-Length first)."""
    refusal = HTTPException(413, f"body over {limit} bytes (a document is at most "
                                 f"{DOCUMENT_LIMIT} bytes)")  # fmt: skip
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise refusal
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise refusal
        chunks.append(chunk)
    return b"".join(chunks)


def _envelope(document: bytes, given: dict[str, str], grant: AccessGrant) -> dict[str, str]:
    """The envelope the document is checked under: what the request gives, else what the
    document says, else (the importing country) the customs token's country."""
    try:
        claims = claimed_fields(document)
    except cod.UnreadableDocument as error:
        raise HTTPException(422, f"not a certificate document: {error}"[:500]) from None
    fields = claims | given
    customs = grant.subject if grant.scope == "customs" else None
    if customs is not None:
        fields.setdefault("importing_country", customs)
        # The document's importer first: it is what the certificate is for, whatever is claimed.
        for country in (claims.get("importing_country", customs), fields["importing_country"]):
            if country != customs:
                raise HTTPException(
                    403, f"this certificate is for import into {country}: customs of "
                    f"{customs} verify only their own country's",
                )  # fmt: skip
    if "certificate_id" not in fields:
        raise HTTPException(
            422, "no certificate id: the document has no readable CertificateID; give "
            "certificate_id (JSON body)",
        )  # fmt: skip
    return fields


async def _report(
    pool: asyncpg.Pool,
    document: bytes,
    fields: dict[str, str],
    grant: AccessGrant,
    validity_days: int,
) -> VerificationReport:
    as_of = datetime.now(UTC)
    registry = await load_registry(pool)
    country = grant.subject if grant.scope == "customs" else None
    declarations = await lodged_declarations(pool, fields["certificate_id"], country=country)
    # Signatures and canonicalisation cost milliseconds of CPU: off the event loop.
    verdict = await asyncio.to_thread(
        _judge, document, fields, registry, declarations, as_of, validity_days
    )
    return VerificationReport(
        certificate_id=verdict.certificate_id,
        importing_country=fields.get("importing_country"),
        exporting_country=fields.get("exporting_country"),
        agreement=fields.get("agreement"),
        issuing_entity=fields.get("issuing_entity"),
        outcome=verdict.outcome.value,
        failed=[code.value for code in verdict.failed],
        rules=[
            RuleReport(code=rule.code.value, status=rule.status.value, detail=rule.detail)
            for rule in verdict.rules
        ],
        document_sha256=verdict.document_sha256,
        declarations=list(verdict.declarations),
        registry_as_of=as_of,
    )


def _judge(
    document: bytes,
    fields: dict[str, str],
    registry: IssuerRegistry,
    declarations: list[CustomsEvent],
    now: datetime,
    validity_days: int,
) -> Verdict:
    submission = verification_submission(document, fields, now)
    return evaluate(submission, registry, declarations, default_validity_days=validity_days)


def _problem(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first.get("loc", ())) or "body"
    more = f" (and {error.error_count() - 1} more)" if error.error_count() > 1 else ""
    return f"{where}: {first.get('msg', 'invalid')}{more}"[:300]
