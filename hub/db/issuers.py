"""The issuer registry in PostgreSQL: agreements, issuing entities, officials' certificates.

One implementation behind the CLI (``hub issuers …``) and the admin API (``/v1/admin/…``); the
certificate stage reads it whole with :func:`load_registry`. Input problems raise
:class:`IssuerInputError` with a message that says what to fix.

Every change that can alter a verdict is recorded in the outbox ``registry_changes``
(:func:`hub.db.registry_changes.record_change`) in the change's own transaction: the workers
re-evaluate the certificates it can affect (``docs/certificates.md``). Saving what is already
there records nothing.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime

import asyncpg
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from hub.db.registry_changes import record_change
from hub.domain.certificates.issuer_registry import (
    Agreement,
    IssuerRegistry,
    IssuingEntity,
    Official,
    fingerprint,
)

_COUNTRY = re.compile(r"^[A-Z]{2}$")
_EH_ID = re.compile(r"^[A-Za-z0-9]{3}$")
_FINGERPRINT = re.compile(r"^[0-9a-f]{64}$")


class IssuerInputError(ValueError):
    """A change of the issuer registry that cannot be made as asked (unknown entity, bad
    certificate, …)."""


class IssuerNotFound(IssuerInputError):
    """The entity or official named does not exist."""


@dataclass(frozen=True, slots=True)
class RegisteredOfficial:
    """An official's certificate as registered: the registry data and the certificate itself."""

    official: Official
    certificate_pem: str


async def upsert_agreements(
    connection: asyncpg.Connection | asyncpg.Pool, agreements: Iterable[Agreement]
) -> None:
    """Load the agreements file's content (the file is the source: it replaces what is there).

    Runs at every start: a registry change is recorded only when an agreement's validity or
    schedule really changed (or one was added to agreements already loaded)."""
    wanted = {a.code: a for a in agreements}
    async with _transaction(connection) as db:
        before = {
            row["code"]: (row["validity_days"], tuple(row["schedule"]))
            for row in await db.fetch(
                "SELECT code, validity_days, schedule FROM agreements FOR UPDATE"
            )
        }
        await db.executemany(
            """
            INSERT INTO agreements (code, name, validity_days, schedule) VALUES ($1, $2, $3, $4)
            ON CONFLICT (code) DO UPDATE
            SET name = excluded.name, validity_days = excluded.validity_days,
                schedule = excluded.schedule, updated_at = now()
            """,
            [(a.code, a.name, a.validity_days, list(a.schedule)) for a in wanted.values()],
        )
        changed = sorted(
            code
            for code, a in wanted.items()
            if before.get(code) != (a.validity_days, tuple(a.schedule))
        )
        # The first load changes no verdict: none was evaluated without agreements.
        if changed and before:
            await record_change(
                db,
                "AGREEMENT_CHANGED",
                f"agreement{'s' if len(changed) > 1 else ''} {', '.join(changed)}: "
                "validity or schedule changed",
                {
                    "agreements": {
                        code: {
                            "validity_days": wanted[code].validity_days,
                            "schedule": list(wanted[code].schedule),
                        }
                        for code in changed
                    }
                },
                agreements=changed,
            )


async def agreement_codes(connection: asyncpg.Connection | asyncpg.Pool) -> set[str]:
    """The codes of the agreements loaded (an issuing entity may only name these)."""
    return {row["code"] for row in await connection.fetch("SELECT code FROM agreements")}


async def put_entity(
    connection: asyncpg.Connection | asyncpg.Pool,
    country: str,
    eh_id: str,
    name: str,
    agreements: Sequence[str],
) -> IssuingEntity:
    """Create or replace an issuing entity of ``country`` and the agreements it may certify for.

    Raises:
        IssuerInputError: a malformed country or EHId, or an agreement not configured.
    """
    _check_entity_key(country, eh_id)
    if not name.strip():
        raise IssuerInputError("the entity needs a name")
    wanted = sorted(set(agreements))
    known = {row["code"] for row in await connection.fetch("SELECT code FROM agreements")}
    if unknown := [code for code in wanted if code not in known]:
        raise IssuerInputError(
            f"agreement {unknown[0]} is not configured (see HUB_AGREEMENTS_FILE)"
        )
    async with _transaction(connection) as db:
        before = await db.fetchval(
            "SELECT agreements FROM issuing_entities WHERE country = $1 AND eh_id = $2 FOR UPDATE",
            country,
            eh_id,
        )
        await db.execute(
            """
            INSERT INTO issuing_entities (country, eh_id, name, agreements)
            VALUES ($1, $2, $3, $4)
            ON CONFLICT (country, eh_id) DO UPDATE
            SET name = excluded.name, agreements = excluded.agreements, updated_at = now()
            """,
            country,
            eh_id,
            name.strip(),
            wanted,
        )
        # The name is in no rule: only the agreements (or a new entity) can change a verdict.
        if before is None or sorted(before) != wanted:
            was = "new" if before is None else " ".join(sorted(before)) or "none"
            await record_change(
                db,
                "ENTITY_CHANGED",
                f"issuing entity {country}/{eh_id} may certify for "
                f"{' '.join(wanted) or 'no agreement'} (was {was})",
                {
                    "country": country,
                    "eh_id": eh_id,
                    "agreements": wanted,
                    "previous": None if before is None else sorted(before),
                },
                countries=(country,),
                agreements=sorted(set(wanted) ^ set(before or ())),
            )
    return IssuingEntity(country, eh_id, name.strip(), frozenset(wanted))


async def add_official(
    connection: asyncpg.Connection | asyncpg.Pool,
    country: str,
    eh_id: str,
    certificate_pem: str,
    *,
    name: str = "",
    enabled_from: date | None = None,
    enabled_to: date | None = None,
) -> Official:
    """Register a signing official's X.509 certificate for an issuing entity.

    Registering the same certificate again updates its name and enablement period (not its
    revocation). The official's name defaults to the certificate's subject.

    Raises:
        IssuerInputError: the PEM is not one X.509 certificate, the period is reversed, or
            the certificate is registered for another entity.
        IssuerNotFound: the entity is not registered.
    """
    _check_entity_key(country, eh_id)
    certificate = _certificate(certificate_pem)
    if enabled_from and enabled_to and enabled_to < enabled_from:
        raise IssuerInputError("enabled_to is before enabled_from")
    if not await connection.fetchval(
        "SELECT 1 FROM issuing_entities WHERE country = $1 AND eh_id = $2", country, eh_id
    ):
        raise IssuerNotFound(f"issuing entity {country}/{eh_id} is not registered")
    official = Official(
        fingerprint=fingerprint(certificate),
        country=country,
        eh_id=eh_id,
        name=name.strip() or certificate.subject.rfc4514_string(),
        not_before=certificate.not_valid_before_utc,
        not_after=certificate.not_valid_after_utc,
        enabled_from=enabled_from,
        enabled_to=enabled_to,
        revoked_at=None,
    )
    async with _transaction(connection) as db:
        owner = await db.fetchrow(
            "SELECT country, eh_id, enabled_from, enabled_to FROM signing_officials "
            "WHERE fingerprint = $1 FOR UPDATE",
            official.fingerprint,
        )
        if owner is not None and (owner["country"], owner["eh_id"]) != (country, eh_id):
            raise IssuerInputError(
                f"certificate {official.fingerprint[:16]}… is registered for "
                f"{owner['country']}/{owner['eh_id']}"
            )
        row = await db.fetchrow(
            """
            INSERT INTO signing_officials (fingerprint, country, eh_id, name, certificate_pem,
                                           not_before, not_after, enabled_from, enabled_to)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
            ON CONFLICT (fingerprint) DO UPDATE
            SET name = excluded.name, enabled_from = excluded.enabled_from,
                enabled_to = excluded.enabled_to
            RETURNING revoked_at, revocation_reason
            """,
            official.fingerprint,
            country,
            eh_id,
            official.name,
            certificate.public_bytes(serialization.Encoding.PEM).decode(),
            official.not_before,
            official.not_after,
            enabled_from,
            enabled_to,
        )
        period = f"{enabled_from or '…'}..{enabled_to or '…'}"
        who = f"official {official.fingerprint[:16]}… of {country}/{eh_id}"
        facts = {
            "fingerprint": official.fingerprint,
            "country": country,
            "eh_id": eh_id,
            "enabled_from": enabled_from,
            "enabled_to": enabled_to,
        }
        if owner is None:
            # A new key can only mend the certificates it signed, which failed SIGNER_UNKNOWN.
            await record_change(
                db,
                "OFFICIAL_ADDED",
                f"{who} registered (enabled {period})",
                facts,
                countries=(country,),
                only_failed="SIGNER_UNKNOWN",
            )
        elif (owner["enabled_from"], owner["enabled_to"]) != (enabled_from, enabled_to):
            await record_change(
                db,
                "OFFICIAL_ENABLEMENT_CHANGED",
                f"{who} enabled {period} "
                f"(was {owner['enabled_from'] or '…'}..{owner['enabled_to'] or '…'})",
                facts,
                countries=(country,),
            )
    return Official(
        **{
            **{field: getattr(official, field) for field in Official.__dataclass_fields__},
            "revoked_at": row["revoked_at"],
            "revocation_reason": row["revocation_reason"],
        }
    )


async def revoke_official(
    connection: asyncpg.Connection | asyncpg.Pool,
    certificate_fingerprint: str,
    *,
    revoked_at: datetime | None = None,
    reason: str = "",
) -> datetime:
    """Record that an official's certificate is revoked from ``revoked_at`` (default now).

    Certificates of origin signed before that time stay valid (SPEC: SIGNER_REVOKED is a
    revocation *before* the CertificateDate). Returns the revocation time.

    Raises:
        IssuerNotFound: no registered certificate has that fingerprint.
    """
    key = certificate_fingerprint.strip().lower()
    if not _FINGERPRINT.match(key):
        raise IssuerInputError("a fingerprint is 64 hexadecimal digits (SHA-256 of the DER)")
    when = revoked_at or datetime.now(UTC)
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    async with _transaction(connection) as db:
        before = await db.fetchrow(
            "SELECT country, eh_id, revoked_at, revocation_reason FROM signing_officials "
            "WHERE fingerprint = $1 FOR UPDATE",
            key,
        )
        if before is None:
            raise IssuerNotFound(f"no registered certificate has fingerprint {key}")
        await db.execute(
            "UPDATE signing_officials SET revoked_at = $2, revocation_reason = $3 "
            "WHERE fingerprint = $1",
            key,
            when,
            reason.strip() or None,
        )
        if (before["revoked_at"], before["revocation_reason"]) != (when, reason.strip() or None):
            country = before["country"]
            await record_change(
                db,
                "OFFICIAL_REVOKED",
                f"official {key[:16]}… of {country}/{before['eh_id']} revoked from "
                f"{when.isoformat()}" + (f": {reason.strip()}" if reason.strip() else ""),
                {
                    "fingerprint": key,
                    "country": country,
                    "eh_id": before["eh_id"],
                    "revoked_at": when.isoformat(),
                    "reason": reason.strip() or None,
                },
                countries=(country,),
            )
    return when


async def load_registry(connection: asyncpg.Connection | asyncpg.Pool) -> IssuerRegistry:
    """The whole registry, as the rules read it."""
    agreements = await connection.fetch(
        "SELECT code, name, validity_days, schedule FROM agreements"
    )
    entities = await connection.fetch(
        "SELECT country, eh_id, name, agreements FROM issuing_entities"
    )
    officials = await connection.fetch(
        """
        SELECT fingerprint, country, eh_id, name, not_before, not_after, enabled_from,
               enabled_to, revoked_at, revocation_reason
        FROM signing_officials
        """
    )
    return IssuerRegistry(
        entities={
            (row["country"], row["eh_id"]): IssuingEntity(
                row["country"], row["eh_id"], row["name"], frozenset(row["agreements"])
            )
            for row in entities
        },
        officials={row["fingerprint"]: _official(row) for row in officials},
        agreements={
            row["code"]: Agreement(
                row["code"], row["name"], row["validity_days"], tuple(row["schedule"])
            )
            for row in agreements
        },
    )


async def registered_officials(
    connection: asyncpg.Connection | asyncpg.Pool, country: str | None = None
) -> list[RegisteredOfficial]:
    """The officials' certificates, of one exporting country or all, by entity."""
    rows = await connection.fetch(
        """
        SELECT * FROM signing_officials WHERE $1::text IS NULL OR country = $1
        ORDER BY country, eh_id, registered_at
        """,
        country,
    )
    return [RegisteredOfficial(_official(row), row["certificate_pem"]) for row in rows]


def _official(row: asyncpg.Record) -> Official:
    return Official(
        fingerprint=row["fingerprint"],
        country=row["country"],
        eh_id=row["eh_id"],
        name=row["name"],
        not_before=row["not_before"],
        not_after=row["not_after"],
        enabled_from=row["enabled_from"],
        enabled_to=row["enabled_to"],
        revoked_at=row["revoked_at"],
        revocation_reason=row["revocation_reason"],
    )


@asynccontextmanager
async def _transaction(
    connection: asyncpg.Connection | asyncpg.Pool,
) -> AsyncIterator[asyncpg.Connection]:
    """A transaction on ``connection`` (a savepoint inside the caller's), or on a connection of
    the pool: a change and its ``registry_changes`` row are committed together."""
    if isinstance(connection, asyncpg.Pool):
        async with connection.acquire() as acquired, acquired.transaction():
            yield acquired
    else:
        async with connection.transaction():
            yield connection


def _check_entity_key(country: str, eh_id: str) -> None:
    if not _COUNTRY.match(country):
        raise IssuerInputError(f"country {country!r} is not an ISO 3166 alpha-2 code")
    if not _EH_ID.match(eh_id):
        raise IssuerInputError(f"EHId {eh_id!r} is not 3 letters or digits")


def _certificate(pem: str) -> x509.Certificate:
    try:
        certificates = x509.load_pem_x509_certificates(pem.encode())
    except ValueError as error:
        raise IssuerInputError(f"not a PEM X.509 certificate: {error}") from None
    if len(certificates) != 1:
        raise IssuerInputError(f"expected one certificate, got {len(certificates)}")
    return certificates[0]
