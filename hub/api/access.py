"""Who may do what over HTTP: the token of a request (``Authorization: Bearer …``, the scheme in
any case), what it is (an access grant of a scope, a port's publisher token, or nothing the hub
honours), and the refusals: no token, or one the hub does not know (or no longer honours), is
401; a genuine token of another scope (a port's publisher token, a customs token on an admin
route) is 403.

Every KPI, indicator and port-list route depends on :func:`kpi_reader` (a ``read:kpis`` token,
``hub tokens add-reader``, or an admin token). The token is looked up in the database on every
request, so a revoked or expired token is refused from the next request on.

Allowed reads are not audited (the dashboard polls; they are many and not sensitive). Refused
ones are, like refused publications and verdict reads: they are rare in honest use and are what
someone probing with a stolen, expired or wrong token leaves behind (repeats are aggregated, see
``hub/db/audit.py``).

**The token before the body.** FastAPI checks a request's body and parameters before the route
runs; a guarded route whose token is checked in the route would answer 422 to anyone who sends a
bad body, and leave no trace. :func:`token_first` handles those validation errors for the routes
of ``GUARDED_ROUTES``: the token is checked (and a refusal audited) first; only a request the
token allows gets the 422, audited too.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

import asyncpg
from fastapi import Header, HTTPException, Request
from fastapi.exception_handlers import (
    http_exception_handler,
    request_validation_exception_handler,
)
from fastapi.exceptions import RequestValidationError
from starlette.responses import Response

from hub.api.dependencies import Pool
from hub.api.dependencies import pool as database_pool
from hub.db import audit
from hub.db.tokens import AccessGrant, Publisher, access_grant_for, publisher_for

__all__ = [
    "ADMIN",
    "GUARDED_ROUTES",
    "KPI_READ_SCOPES",
    "READER_RESPONSES",
    "Guard",
    "Identity",
    "actor_of",
    "authorize",
    "bearer_token",
    "check",
    "identify",
    "kpi_reader",
    "reader_still_valid",
    "token_first",
]

KPI_READ_SCOPES = frozenset({"kpis", "admin"})
"""The access-token scopes that may read KPIs, indicators and the ports list."""

AUDIT_ACTION = "kpis.read"
NEEDS_TOKEN = (
    "a read:kpis token is required (Authorization: Bearer …); an operator creates one with "
    "`hub tokens add-reader`"
)
NOT_HONOURED = "unknown, expired or revoked token"

READER_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"description": "No token, or an unknown, expired or revoked one"},
    403: {"description": "A token of another kind (publisher, customs): not a read:kpis token"},
}
"""The refusals of :func:`kpi_reader`, for the OpenAPI description of the routes it guards."""

Identity = AccessGrant | Publisher
"""What a token the hub honours is: an access grant (customs, read:kpis, admin) or a port's
publisher token."""


@dataclass(frozen=True, slots=True)
class Guard:
    """Who may use a route, and how it is audited.

    Args:
        action: the audit log's action (``kpis.read``, ``issuers.put-entity`` …).
        scopes: the access-token scopes allowed.
        doing: what the route does, for a 403 ("a publisher token cannot {doing}").
        required: the 401 answer to a request without a token.
    """

    action: str
    scopes: frozenset[str]
    doing: str
    required: str


KPI_READER = Guard(AUDIT_ACTION, KPI_READ_SCOPES, "read KPIs: a read:kpis token is needed",
                   NEEDS_TOKEN)  # fmt: skip
_CUSTOMS = "a customs token is required (Bearer …)"
_CUSTOMS_OR_ADMIN = "a customs or admin token is required (Bearer …)"
ADMIN = frozenset({"admin"})
WEBHOOK_SCOPES = frozenset({"customs", "kpis", "admin"})

GUARDED_ROUTES: Mapping[tuple[str, str], Guard] = {
    ("GET", "/v1/validations/stream"): Guard(
        "validations.stream", frozenset({"customs"}), "subscribe to verdicts", _CUSTOMS
    ),
    ("GET", "/v1/validations/{certificate_id}"): Guard(
        "validations.read", frozenset({"customs", "admin"}), "read verdicts", _CUSTOMS_OR_ADMIN
    ),
    ("GET", "/v1/admin/issuers"): Guard(
        "issuers.list", ADMIN, "do this", "an admin token is required (Bearer …)"
    ),
    ("PUT", "/v1/admin/issuers/{country}/{eh_id}"): Guard(
        "issuers.put-entity", ADMIN, "do this", "an admin token is required (Bearer …)"
    ),
    ("POST", "/v1/admin/issuers/{country}/{eh_id}/officials"): Guard(
        "issuers.add-official", ADMIN, "do this", "an admin token is required (Bearer …)"
    ),
    ("POST", "/v1/admin/officials/{fingerprint}/revocation"): Guard(
        "officials.revoke", ADMIN, "do this", "an admin token is required (Bearer …)"
    ),
    ("POST", "/v1/admin/issuers/import"): Guard(
        "issuers.import", ADMIN, "do this", "an admin token is required (Bearer …)"
    ),
    ("POST", "/v1/certificates/verify"): Guard(
        "certificates.verify",
        frozenset({"customs", "admin"}),
        "verify certificates",
        _CUSTOMS_OR_ADMIN,
    ),
    # Webhooks (hub/api/webhooks.py): any token, a port's publisher token too; each route
    # checks it before reading its body, so these guards only name the routes.
    **{
        (method, path): Guard(action, WEBHOOK_SCOPES, "manage webhooks", "a token is required")
        for method, path, action in (
            ("POST", "/v1/webhooks", "webhooks.create"),
            ("GET", "/v1/webhooks", "webhooks.list"),
            ("GET", "/v1/webhooks/{subscription_id}", "webhooks.read"),
            ("DELETE", "/v1/webhooks/{subscription_id}", "webhooks.delete"),
            ("POST", "/v1/webhooks/{subscription_id}/rotate-secret", "webhooks.rotate-secret"),
            ("POST", "/v1/webhooks/{subscription_id}/resume", "webhooks.resume"),
        )
    },
    # The DCSA events API: the reader scope, audited as the KPI reads are.
    ("GET", "/v1/dcsa/events"): KPI_READER,
}
"""The guarded routes whose token :func:`token_first` checks before their parameters and body,
by method and route template (the audit's target is the route's path parameters, joined by
``/``). Any other route under ``/v1/admin/`` is guarded as admin-only."""


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer …`` header (the scheme in any case, RFC 7235), or
    None."""
    parts = (authorization or "").split(None, 1)
    if len(parts) != 2 or parts[0].lower() != "bearer":
        return None
    return parts[1].strip() or None


async def identify(pool: asyncpg.Pool, authorization: str | None) -> Identity | None:
    """What the request's token is, or None (no token, or one the hub does not honour)."""
    token = bearer_token(authorization)
    if token is None:
        return None
    grant = await access_grant_for(pool, token)
    return grant if grant is not None else await publisher_for(pool, token)


def check(identity: Identity | None, authorization: str | None, guard: Guard) -> AccessGrant:
    """The grant, if ``guard`` lets it in; else the 401 or 403 to answer (raised)."""
    if isinstance(identity, AccessGrant) and identity.scope in guard.scopes:
        return identity
    if isinstance(identity, Publisher):
        raise HTTPException(403, f"a publisher token cannot {guard.doing}")
    if identity is not None:
        raise HTTPException(403, f"a {identity.scope} token cannot {guard.doing}")
    unauthenticated = {"WWW-Authenticate": "Bearer"}
    if bearer_token(authorization) is None:
        raise HTTPException(401, guard.required, headers=unauthenticated)
    raise HTTPException(401, NOT_HONOURED, headers=unauthenticated)


def actor_of(identity: Identity | None, authorization: str | None) -> str:
    """The audit log's actor: the token's owner, or what the request presented."""
    return identity.actor if identity is not None else audit.presented_actor(authorization)


async def authorize(
    pool: asyncpg.Pool, guard: Guard, request: Request, authorization: str | None, target: str
) -> AccessGrant:
    """The grant of the request's token if ``guard`` lets it in; else the refusal, written to
    the audit log and raised."""
    identity = await identify(pool, authorization)
    try:
        return check(identity, authorization, guard)
    except HTTPException as refusal:
        outcome = f"{refusal.status_code} {refusal.detail}"
        await audit.record(
            pool, actor_of(identity, authorization), guard.action, target, outcome, _remote(request)
        )
        raise


async def kpi_reader(
    request: Request, pool: Pool, authorization: Annotated[str | None, Header()] = None
) -> AccessGrant:
    """A FastAPI dependency: the grant of the request's read:kpis or admin token, or a 401/403
    refusal (written to the audit log)."""
    return await authorize(pool, KPI_READER, request, authorization, request.url.path)


async def reader_still_valid(pool: asyncpg.Pool, authorization: str | None) -> bool:
    """Whether the token of a long-lived response (the KPI stream) may still read: checked
    while it runs, so that revoking a token also ends the streams it opened."""
    token = bearer_token(authorization)
    if token is None:
        return False
    grant = await access_grant_for(pool, token)
    return grant is not None and grant.scope in KPI_READ_SCOPES


def guard_of(method: str, path: str) -> Guard | None:
    """The guard of a request in ``GUARDED_ROUTES`` (any other ``/v1/admin/`` route: admin
    only), or None."""
    # By the path, not the matched route: a route of an included router knows only its own
    # template, without the router's prefix.
    for (guarded_method, _), pattern, guard in _GUARD_PATTERNS:
        if method == guarded_method and pattern.fullmatch(path):
            return guard
    if path.startswith("/v1/admin/"):
        action = f"admin.{method.lower()}"
        return Guard(action, ADMIN, "do this", "an admin token is required (Bearer …)")
    return None


# Fixed paths before templates (/v1/validations/stream before /v1/validations/{certificate_id}).
_GUARD_PATTERNS = sorted(
    (
        (key, re.compile(re.sub(r"\{[^}]+\}", "[^/]+", key[1])), guard)
        for key, guard in GUARDED_ROUTES.items()
    ),
    key=lambda entry: entry[0][1].count("{"),
)


async def token_first(request: Request, error: Exception) -> Response:
    """The app's handler of request validation errors (422): on a guarded route the token is
    checked first, and a refusal (401/403) answered instead; either way the attempt is
    audited."""
    assert isinstance(error, RequestValidationError)
    guard = guard_of(request.method, request.url.path)
    if guard is None:
        return await request_validation_exception_handler(request, error)
    pool = database_pool(request)
    authorization = request.headers.get("authorization")
    target = "/".join(str(value) for value in request.path_params.values())
    try:
        grant = await authorize(pool, guard, request, authorization, target)
    except HTTPException as refusal:
        return await http_exception_handler(request, refusal)
    outcome = f"422 invalid request: {_first_problem(error)}"
    await audit.record(pool, grant.actor, guard.action, target, outcome, _remote(request))
    return await request_validation_exception_handler(request, error)


def _first_problem(error: RequestValidationError) -> str:
    problems = list(error.errors())
    if not problems:
        return "invalid"
    first = problems[0]
    where = ".".join(str(part) for part in first.get("loc", ()))
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return f"{where}: {first.get('msg', '')}{more}"[:300]


def _remote(request: Request) -> str | None:
    return request.client.host if request.client else None
