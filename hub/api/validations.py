"""Certificate verdicts for customs authorities, and the issuer registry for administrators.

Customs read with a token of their country (``hub tokens add-customs PE``): another country's
certificate answers 403 and never its data; the live stream carries only their country's
verdicts. Administrators (``hub tokens add-admin``) manage the issuer registry and may read every
verdict. Tokens go in ``Authorization: Bearer …``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from typing import Annotated, Any, TypeVar

import asyncpg
from fastapi import APIRouter, Header, HTTPException, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from hub.api.access import Guard, actor_of, check, identify
from hub.api.dependencies import Pool
from hub.db import audit, issuers
from hub.db.issuer_import import import_registry
from hub.db.tokens import AccessGrant
from hub.db.verdicts import recent_verdicts_start, verdict_history, verdicts_after
from hub.domain.certificates.issuer_registry import Official
from hub.domain.certificates.registry_import import ExportError, parse_export

_T = TypeVar("_T")

# How often a stream looks for new verdicts, and how often it sends a keep-alive comment so
# that proxies do not close an idle connection.
STREAM_POLL_S = 0.5
# A new subscriber first gets this many of its country's latest verdicts.
STREAM_REPLAY = 50
STREAM_KEEPALIVE_S = 15.0
_NEEDED = "a customs or admin token is required (Bearer …)"


class VerdictHistory(BaseModel):
    certificate_id: str
    latest: dict[str, Any]
    versions: list[dict[str, Any]]


class EntityIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    agreements: list[str] = Field(default_factory=list)


class OfficialIn(BaseModel):
    certificate_pem: str = Field(min_length=1, max_length=20_000)
    name: str = ""
    enabled_from: date | None = None
    enabled_to: date | None = None


class RevocationIn(BaseModel):
    revoked_at: datetime | None = None
    reason: str = Field(default="", max_length=500)


router = APIRouter()


@asynccontextmanager
async def audited(
    pool: asyncpg.Pool,
    request: Request,
    authorization: str | None,
    action: str,
    target: str,
    *scopes: str,
) -> AsyncIterator[AccessGrant]:
    """The grant of the request's token, with the attempt and how it ended (status and
    reason of a refusal) written to the audit log whatever happens."""
    actor, outcome = audit.presented_actor(authorization), "ok"
    try:
        # A port's publisher token is genuine but not for this: 403, like any other scope.
        found = await identify(pool, authorization)
        actor = actor_of(found, authorization)
        yield check(found, authorization, Guard(action, frozenset(scopes), "do this", _NEEDED))
    except HTTPException as error:
        outcome = f"{error.status_code} {error.detail}"
        raise
    except Exception as error:
        outcome = f"error {type(error).__name__}"
        raise
    finally:
        remote = request.client.host if request.client else None
        await audit.record(pool, actor, action, target, outcome, remote)


@router.get(
    "/v1/validations/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def stream(
    request: Request,
    pool: Pool,
    authorization: Annotated[str | None, Header()] = None,
    last_event_id: Annotated[str | None, Header()] = None,
    after: Annotated[int | None, Query(ge=0)] = None,
) -> StreamingResponse:
    """Server-Sent Events: the verdicts for the token's country as they are issued.

    Each event is ``event: verdict``, ``id:`` the verdict's sequence number and ``data:`` the
    verdict JSON. A client resumes after the last one it saw with ``Last-Event-ID`` (or
    ``?after=``); without either it gets the verdicts issued from now on.
    """
    async with audited(
        pool, request, authorization, "validations.stream", "", "customs"
    ) as customs:
        pass
    resume = after if after is not None else _event_id(last_event_id)
    if resume is None:
        resume = await recent_verdicts_start(pool, customs.subject, STREAM_REPLAY)
    start = resume
    return StreamingResponse(
        _events(request, pool, customs.subject, start),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.get("/v1/validations/{certificate_id}", response_model=VerdictHistory)
async def verdict(
    certificate_id: str,
    request: Request,
    pool: Pool,
    authorization: Annotated[str | None, Header()] = None,
) -> VerdictHistory:
    """The certificate's current verdict and every earlier version (the audit trail); a
    customs token gets only the versions whose importing country is its own."""
    async with audited(
        pool, request, authorization, "validations.read", certificate_id, "customs", "admin"
    ) as reader:
        # Customs read only the versions for their country, each checked (a certificate's
        # importing country may differ between versions).
        country = reader.subject if reader.scope == "customs" else None
        versions = await verdict_history(pool, certificate_id, country)
        if not versions:
            if country is not None and await verdict_history(pool, certificate_id):
                raise HTTPException(403, "this certificate is not for your country's customs")
            raise HTTPException(404, f"no verdict for certificate {certificate_id}")
    return VerdictHistory(
        certificate_id=certificate_id,
        latest=versions[-1].body,
        versions=[version.body for version in versions],
    )


@router.get("/v1/admin/issuers")
async def list_issuers(
    request: Request,
    pool: Pool,
    authorization: Annotated[str | None, Header()] = None,
    country: str | None = None,
) -> dict[str, Any]:
    """The issuing entities, their agreements and their officials' certificates."""
    async with audited(pool, request, authorization, "issuers.list", country or "", "admin"):
        pass
    registry = await issuers.load_registry(pool)
    officials = await issuers.registered_officials(pool, country)
    return {
        "entities": [
            {"country": e.country, "eh_id": e.eh_id, "name": e.name,
             "agreements": sorted(e.agreements)}
            for e in sorted(registry.entities.values(), key=lambda e: (e.country, e.eh_id))
            if country is None or e.country == country
        ],
        "officials": [_official_json(o.official) for o in officials],
    }  # fmt: skip


@router.put("/v1/admin/issuers/{country}/{eh_id}")
async def put_entity(
    country: str,
    eh_id: str,
    body: EntityIn,
    request: Request,
    pool: Pool,
    authorization: Annotated[str | None, Header()] = None,
) -> dict[str, Any]:
    """Create or replace an issuing entity and the agreements it may certify for."""
    target = f"{country}/{eh_id}"
    async with audited(pool, request, authorization, "issuers.put-entity", target, "admin"):
        entity = await _issuer_call(
            issuers.put_entity(pool, country, eh_id, body.name, body.agreements)
        )
    return {"country": entity.country, "eh_id": entity.eh_id, "name": entity.name,
            "agreements": sorted(entity.agreements)}  # fmt: skip


@router.post("/v1/admin/issuers/{country}/{eh_id}/officials", status_code=201)
async def add_official(
    country: str,
    eh_id: str,
    body: OfficialIn,
    request: Request,
    pool: Pool,
    authorization: Annotated[str | None, Header()] = None,
) -> dict[str, Any]:
    """Register a signing official's X.509 certificate (PEM) for the entity."""
    target = f"{country}/{eh_id}"
    async with audited(pool, request, authorization, "issuers.add-official", target, "admin"):
        official = await _issuer_call(
            issuers.add_official(
                pool,
                country,
                eh_id,
                body.certificate_pem,
                name=body.name,
                enabled_from=body.enabled_from,
                enabled_to=body.enabled_to,
            )
        )
    return _official_json(official)


@router.post("/v1/admin/officials/{fingerprint}/revocation")
async def revoke(
    fingerprint: str,
    body: RevocationIn,
    request: Request,
    pool: Pool,
    authorization: Annotated[str | None, Header()] = None,
) -> dict[str, Any]:
    """Revoke an official's certificate from ``revoked_at`` (default now)."""
    async with audited(pool, request, authorization, "officials.revoke", fingerprint, "admin"):
        when = await _issuer_call(
            issuers.revoke_official(
                pool, fingerprint, revoked_at=body.revoked_at, reason=body.reason
            )
        )
    return {"fingerprint": fingerprint.lower(), "revoked_at": when.isoformat()}


# The body's media type says how to read it (as a file's extension does for the CLI).
_EXPORT_TYPES = {"text/csv": "body.csv", "application/json": "body.json"}


@router.post("/v1/admin/issuers/import")
async def import_issuers(
    request: Request,
    pool: Pool,
    authorization: Annotated[str | None, Header()] = None,
    content_type: Annotated[str | None, Header()] = None,
    dry_run: bool = False,
) -> dict[str, Any]:
    """Load an export of registrations (the body: CSV as ``text/csv`` or JSON as
    ``application/json``, the format of ``hub issuers import``): every row checked first (422
    naming the row), then all applied in one transaction; ``?dry_run=true`` changes nothing."""
    async with audited(pool, request, authorization, "issuers.import", "", "admin"):
        media = (content_type or "").split(";")[0].strip().lower()
        if media not in _EXPORT_TYPES:
            raise HTTPException(415, "send the export as text/csv or application/json")
        try:
            text = (await request.body()).decode("utf-8")
        except UnicodeDecodeError:
            raise HTTPException(422, "the export is not UTF-8") from None
        try:
            export = parse_export(_EXPORT_TYPES[media], text)
            async with pool.acquire() as connection:
                plan = await import_registry(connection, export, dry_run=dry_run)
        except ExportError as error:
            raise HTTPException(422, str(error)) from None
    return {
        "dry_run": dry_run,
        "counts": plan.counts(),
        "changes": [
            {"action": change.action, "row": change.row.where, "detail": change.detail}
            for change in plan.changes
        ],
    }


async def _events(
    request: Request, pool: asyncpg.Pool, country: str, after_id: int
) -> AsyncIterator[str]:
    last_sent = asyncio.get_running_loop().time()
    yield ": verdicts for customs of " + country + "\n\n"
    while not await request.is_disconnected():
        batch = await verdicts_after(pool, country, after_id)
        for verdict in batch:
            after_id = verdict.id
            yield f"id: {verdict.id}\nevent: verdict\ndata: {json.dumps(verdict.body)}\n\n"
        now = asyncio.get_running_loop().time()
        if batch:
            last_sent = now
        elif now - last_sent >= STREAM_KEEPALIVE_S:
            last_sent = now
            yield f": keep-alive {datetime.now(UTC).isoformat()}\n\n"
        if not batch:
            await asyncio.sleep(STREAM_POLL_S)


def _event_id(header: str | None) -> int | None:
    if header is None or not header.strip().isdigit():
        return None
    return int(header.strip())


async def _issuer_call(call: Awaitable[_T]) -> _T:
    try:
        result = await call
    except issuers.IssuerNotFound as error:
        raise HTTPException(404, str(error)) from None
    except issuers.IssuerInputError as error:
        raise HTTPException(422, str(error)) from None
    return result


def _official_json(official: Official) -> dict[str, Any]:
    return {
        "fingerprint": official.fingerprint,
        "country": official.country,
        "eh_id": official.eh_id,
        "name": official.name,
        "not_before": official.not_before.isoformat(),
        "not_after": official.not_after.isoformat(),
        "enabled_from": official.enabled_from.isoformat() if official.enabled_from else None,
        "enabled_to": official.enabled_to.isoformat() if official.enabled_to else None,
        "revoked_at": official.revoked_at.isoformat() if official.revoked_at else None,
        "revocation_reason": official.revocation_reason,
    }
