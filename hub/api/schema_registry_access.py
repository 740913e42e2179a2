"""Who may change the schema registry, and the audit log of those who did or tried.

Every write of the registry (registering a schema, setting or deleting a compatibility level,
deleting a subject) needs an **admin** token (``hub tokens add-admin``). A token is presented as
``Authorization: Bearer <token>``, or as the password of ``Authorization: Basic`` (the user name
is ignored): Confluent clients send the latter with ``basic.auth.user.info = admin:<token>`` or
with the credentials in the registry's URL, the former with
``bearer.auth.credentials.source = STATIC_TOKEN``.

No token, or one the hub does not know (or no longer honours), is refused with 401 (Confluent's
error 40101, with ``WWW-Authenticate``); a genuine token of another kind — a port's publisher
token, a customs or a read:kpis token — with 403 (40301). Every write, allowed (with how it
ended) or refused, is written to the audit log, actions ``registry.<route>``.

Reads stay open (consumers and serializers read schemas with no credentials), and so do the
requests that change nothing: looking a schema up under a subject, checking compatibility, and a
registration of a schema the registry holds already, answered with its id and adding no version
(see :mod:`hub.api.schema_registry`).
"""

from __future__ import annotations

import base64
import binascii
import logging
from dataclasses import dataclass

import asyncpg

from hub.db import audit
from hub.db.tokens import access_grant_for, publisher_for
from hub.errors.schema_registry import Forbidden, SchemaRegistryError, Unauthorized
from schemas.rejections import printable

__all__ = ["WRITE_SCOPES", "Admission", "admit", "presented_token", "record"]

log = logging.getLogger(__name__)

WRITE_SCOPES = frozenset({"admin"})
"""The access-token scopes that may change the registry."""

NEEDS_TOKEN = (
    "an admin token is required to change the schema registry (Authorization: Bearer …); "
    "reads need none"
)
NOT_HONOURED = "unknown, expired or revoked token"
# What a refused audit row or log line may hold of a path or a message.
_MAX_TEXT = 300
# The failures of PostgreSQL an audit write may meet (the write it records stands regardless).
_DATABASE_FAILURES = (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError)


@dataclass(frozen=True, slots=True)
class Admission:
    """Who a write request is (``actor``, for the audit log) and, unless allowed, its refusal."""

    actor: str
    refusal: SchemaRegistryError | None = None


def presented_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization`` header: a Bearer token, or a Basic password; or None.

    The scheme's letter case does not matter (RFC 9110).
    """
    scheme, _, credentials = (authorization or "").strip().partition(" ")
    credentials = credentials.strip()
    if not credentials:
        return None
    if scheme.lower() == "bearer":
        return credentials
    if scheme.lower() == "basic":
        try:
            user_and_password = base64.b64decode(credentials, validate=True).decode()
        except (binascii.Error, ValueError):  # not base64, or not UTF-8
            return None
        _, colon, password = user_and_password.partition(":")
        return password if colon and password else None
    return None


async def admit(
    database: asyncpg.Pool | asyncpg.Connection, authorization: str | None
) -> Admission:
    """Whether the request's token may change the registry; looked up on every request, so a
    revoked or expired token is refused from the next request on."""
    token = presented_token(authorization)
    if token is None:
        return Admission("anonymous", Unauthorized(NEEDS_TOKEN))
    grant = await access_grant_for(database, token)
    if grant is not None:
        if grant.scope in WRITE_SCOPES:
            return Admission(grant.actor)
        refusal = f"a {grant.scope} token cannot change the schema registry: an admin token can"
        return Admission(grant.actor, Forbidden(refusal))
    publisher = await publisher_for(database, token)
    if publisher is not None:
        refusal = "a publisher token cannot change the schema registry: an admin token can"
        return Admission(publisher.actor, Forbidden(refusal))
    # The same form as hub.db.audit's other refusals: a digest prefix, never the secret.
    return Admission(audit.presented_actor(f"Bearer {token}"), Unauthorized(NOT_HONOURED))


async def record(
    database: asyncpg.Pool | asyncpg.Connection,
    actor: str,
    action: str,
    target: str,
    outcome: str,
    remote: str | None,
) -> None:
    """Write one audit row; a database failure is logged, and changes no answer.

    A write already done (or refused) stays so whether its row could be written or not: the
    client is told what happened, and the log keeps the row that PostgreSQL did not.
    """
    # The log line may be all that is left of the row: keep it printable and short.
    target, outcome = printable(target)[:_MAX_TEXT], printable(outcome)[:_MAX_TEXT]
    try:
        await audit.record(database, actor, action, target, outcome, remote)
    except _DATABASE_FAILURES as error:
        log.error(
            "schema registry: audit row not written (%s: %s): %s %s %s -> %s from %s",
            type(error).__name__,
            error,
            actor,
            action,
            target,
            outcome,
            remote,
        )
