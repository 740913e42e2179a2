"""Publisher tokens of the HTTP ingestion API: one or more per port, stored only as SHA-256."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

import asyncpg

TOKEN_PREFIX = "hubp_"


@dataclass(frozen=True, slots=True)
class Publisher:
    """Who an authenticated request publishes as."""

    port: str
    label: str

    @property
    def publisher_id(self) -> str:
        return f"{self.port}/{self.label}" if self.label else self.port


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create_port_token(
    connection: asyncpg.Connection | asyncpg.Pool, port: str, label: str = ""
) -> str:
    """A new token that publishes for ``port``. Returned once; only its digest is stored."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    await connection.execute(
        "INSERT INTO publisher_tokens (token_sha256, port, label) VALUES ($1, $2, $3)",
        token_digest(token),
        port,
        label,
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
    """The publisher an active token belongs to, or None."""
    # The lookup is by digest, so comparing the secret itself never happens in Python.
    row = await connection.fetchrow(
        "SELECT port, label FROM publisher_tokens WHERE token_sha256 = $1 AND revoked_at IS NULL",
        token_digest(token),
    )
    return None if row is None else Publisher(row["port"].strip(), row["label"])
