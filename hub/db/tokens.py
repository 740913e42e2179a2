"""Tokens of the HTTP API, stored only as SHA-256: publisher tokens (one or more per port) for
ingestion, customs tokens (per country) for certificate verdicts, single-window tokens (per
country, scope ``customs-publish``) that publish the country's customs events and certificates,
reader tokens for the KPIs and indicators, admin tokens for the registry (and every read)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from hub.domain.publishers import SINGLE_WINDOW_SCOPE, Publisher

__all__ = [
    "SCOPE_PREFIXES",
    "AccessGrant",
    "Publisher",
    "access_grant_for",
    "create_access_token",
    "create_port_token",
    "publisher_for",
    "revoke_access_tokens",
    "revoke_port_tokens",
    "token_digest",
]

TOKEN_PREFIX = "hubp_"


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create_port_token(
    connection: asyncpg.Connection | asyncpg.Pool,
    port: str,
    label: str = "",
    expires_at: datetime | None = None,
) -> str:
    """A new token that publishes for ``port`` (until ``expires_at``; None: until revoked).
    Returned once; only its digest is stored."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    await connection.execute(
        "INSERT INTO publisher_tokens (token_sha256, port, label, expires_at) "
        "VALUES ($1, $2, $3, $4)",
        token_digest(token),
        port,
        label,
        expires_at,
    )
    return token


async def revoke_port_tokens(connection: asyncpg.Connection | asyncpg.Pool, port: str) -> int:
    """Revoke every active token of ``port``. Returns how many were revoked."""
    result: str = await connection.execute(
        "UPDATE publisher_tokens SET revoked_at = now() WHERE port = $1 AND revoked_at IS NULL",
        port,
    )
    return int(result.rsplit(" ", 1)[-1])


async def publisher_for(
    connection: asyncpg.Connection | asyncpg.Pool, token: str
) -> Publisher | None:
    """The publisher an active token belongs to (a port's token, or a single window's
    ``customs-publish`` token), or None."""
    # The lookup is by digest, so comparing the secret itself never happens in Python.
    digest = token_digest(token)
    row = await connection.fetchrow(
        "SELECT port, label FROM publisher_tokens WHERE token_sha256 = $1 AND revoked_at IS NULL"
        " AND (expires_at IS NULL OR expires_at > now())",
        digest,
    )
    if row is not None:
        return Publisher(row["port"].strip(), row["label"])
    grant = await access_grant_for(connection, token)
    if grant is not None and grant.scope == SINGLE_WINDOW_SCOPE:
        return Publisher.single_window(grant.subject, grant.label)
    return None


CUSTOMS_TOKEN_PREFIX = "hubc_"
ADMIN_TOKEN_PREFIX = "huba_"
READER_TOKEN_PREFIX = "hubk_"
SINGLE_WINDOW_TOKEN_PREFIX = "hubv_"  # v: VUCE, the single window

SCOPE_PREFIXES = {
    "customs": CUSTOMS_TOKEN_PREFIX,
    "admin": ADMIN_TOKEN_PREFIX,
    "kpis": READER_TOKEN_PREFIX,
    SINGLE_WINDOW_SCOPE: SINGLE_WINDOW_TOKEN_PREFIX,
}
"""Each scope of ``access_tokens`` (migrations 0006, 0011 and 0019) and the prefix of its
tokens."""


@dataclass(frozen=True, slots=True)
class AccessGrant:
    """What an access token allows: ``scope`` ``"customs"`` reads the verdicts of the country
    ``subject``; ``"customs-publish"`` publishes the customs events and certificates of the
    ports of the country ``subject`` (its single window); ``"kpis"`` (read:kpis) reads the KPIs
    and indicators; ``"admin"`` manages the issuer registry and may read everything."""

    scope: str
    subject: str
    label: str

    @property
    def actor(self) -> str:
        return (
            f"{self.scope}:{self.subject}/{self.label}"
            if self.subject
            else f"{self.scope}:/{self.label}"
        )


async def create_access_token(
    connection: asyncpg.Connection | asyncpg.Pool,
    scope: str,
    subject: str = "",
    label: str = "",
    expires_at: datetime | None = None,
) -> str:
    """A new customs or single-window (``subject`` = ISO country), reader (``"kpis"``) or admin
    token (until ``expires_at``; None: until revoked). Returned once; only its digest is
    stored."""
    token = SCOPE_PREFIXES[scope] + secrets.token_urlsafe(32)
    await connection.execute(
        "INSERT INTO access_tokens (token_sha256, scope, subject, label, expires_at) "
        "VALUES ($1, $2, $3, $4, $5)",
        token_digest(token),
        scope,
        subject,
        label,
        expires_at,
    )
    return token


async def revoke_access_tokens(
    connection: asyncpg.Connection | asyncpg.Pool, scope: str, subject: str = ""
) -> int:
    """Revoke every active token of ``scope`` (and ``subject``). Returns how many."""
    result: str = await connection.execute(
        "UPDATE access_tokens SET revoked_at = now() "
        "WHERE scope = $1 AND subject = $2 AND revoked_at IS NULL",
        scope,
        subject,
    )
    return int(result.rsplit(" ", 1)[-1])


async def access_grant_for(
    connection: asyncpg.Connection | asyncpg.Pool, token: str
) -> AccessGrant | None:
    """The grant of an active customs, single-window, reader or admin token, or None."""
    row = await connection.fetchrow(
        "SELECT scope, subject, label FROM access_tokens "
        "WHERE token_sha256 = $1 AND revoked_at IS NULL"
        " AND (expires_at IS NULL OR expires_at > now())",
        token_digest(token),
    )
    return None if row is None else AccessGrant(row["scope"], row["subject"], row["label"])
