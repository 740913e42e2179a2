"""Who may read the KPIs and indicators: a ``read:kpis`` token (``hub tokens add-reader``, scope
``kpis``) or an admin token, in ``Authorization: Bearer …``.

Every KPI, indicator and port-list route depends on :func:`kpi_reader`. The token is looked up
in the database on every request, so a revoked or expired token is refused from the next
request on. No token, or one the hub does not know (or no longer honours), answers 401; a token
of another kind (a port's publisher token, a customs token) answers 403: it is genuine but not
for this.

Allowed reads are not audited (the dashboard polls; they are many and not sensitive). Refused
ones are, like refused publications and verdict reads: they are rare in honest use and are what
someone probing with a stolen, expired or wrong token leaves behind.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import asyncpg
from fastapi import Header, HTTPException, Request

from hub.db import audit
from hub.db.tokens import AccessGrant, access_grant_for, publisher_for

__all__ = [
    "KPI_READ_SCOPES",
    "READER_RESPONSES",
    "bearer_token",
    "kpi_reader",
    "reader_still_valid",
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


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer …`` header, or None."""
    if not authorization or not authorization.startswith("Bearer "):
        return None
    return authorization.removeprefix("Bearer ").strip() or None


def kpi_reader(
    get_pool: Callable[[], asyncpg.Pool],
) -> Callable[..., Awaitable[AccessGrant]]:
    """A FastAPI dependency: the grant of the request's read:kpis or admin token, or a 401/403
    refusal (written to the audit log)."""

    async def require_reader(
        request: Request, authorization: Annotated[str | None, Header()] = None
    ) -> AccessGrant:
        token = bearer_token(authorization)
        actor = audit.presented_actor(authorization)
        if token is None:
            refusal = HTTPException(401, NEEDS_TOKEN, headers={"WWW-Authenticate": "Bearer"})
        else:
            pool = get_pool()
            grant = await access_grant_for(pool, token)
            if grant is not None and grant.scope in KPI_READ_SCOPES:
                return grant
            if grant is not None:
                actor = grant.actor
                refusal = HTTPException(
                    403, f"a {grant.scope} token cannot read KPIs: a read:kpis token is needed"
                )
            elif (publisher := await publisher_for(pool, token)) is not None:
                actor = publisher.actor
                refusal = HTTPException(
                    403, "a publisher token cannot read KPIs: a read:kpis token is needed"
                )
            else:
                refusal = HTTPException(401, NOT_HONOURED, headers={"WWW-Authenticate": "Bearer"})
        remote = request.client.host if request.client else None
        outcome = f"{refusal.status_code} {refusal.detail}"
        await audit.record(get_pool(), actor, AUDIT_ACTION, request.url.path, outcome, remote)
        raise refusal

    return require_reader


async def reader_still_valid(pool: asyncpg.Pool, authorization: str | None) -> bool:
    """Whether the token of a long-lived response (the KPI stream) may still read: checked
    while it runs, so that revoking a token also ends the streams it opened."""
    token = bearer_token(authorization)
    if token is None:
        return False
    grant = await access_grant_for(pool, token)
    return grant is not None and grant.scope in KPI_READ_SCOPES
