"""``hub issuers …``: the issuer registry from the command line (the admin API does the same)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

import asyncpg

from hub.db import audit, issuers
from hub.db.issuer_import import import_registry
from hub.domain.certificates.registry_import import ExportError, parse_export
from hub.errors import ConfigError
from hub.services import connect, resolve_endpoints
from hub.settings import HubSettings


async def run_issuers_command(settings: HubSettings, arguments: argparse.Namespace) -> int:
    """Run one ``hub issuers`` action; registry input problems end it as a ConfigError."""
    connection = await connect(resolve_endpoints(settings).database_url)
    try:
        action: str = arguments.action
        if action == "list":
            await _list(connection, arguments.country)
        elif action == "import":
            await _import(connection, arguments.file, dry_run=arguments.dry_run)
        elif action == "put-entity":
            entity = await issuers.put_entity(
                connection, arguments.country, arguments.eh_id, arguments.name, arguments.agreement
            )
            agreements = " ".join(sorted(entity.agreements)) or "none"
            print(f"hub: entity {entity.country}/{entity.eh_id} saved (agreements: {agreements})")
            await _audit(connection, "issuers.put-entity", f"{entity.country}/{entity.eh_id}",
                         f"saved (agreements: {agreements})")  # fmt: skip
        elif action == "add-official":
            try:
                pem = arguments.certificate.read_text(encoding="ascii")
            except (OSError, UnicodeDecodeError) as error:
                raise ConfigError(f"cannot read {arguments.certificate}: {error}") from None
            official = await issuers.add_official(
                connection,
                arguments.country,
                arguments.eh_id,
                pem,
                name=arguments.name,
                enabled_from=arguments.enabled_from,
                enabled_to=arguments.enabled_to,
            )
            await _audit(connection, "issuers.add-official",
                         f"{official.country}/{official.eh_id}", official.fingerprint)  # fmt: skip
            print(official.fingerprint)
            print(
                f"hub: official {official.name!r} registered for "
                f"{official.country}/{official.eh_id}",
                file=sys.stderr,
            )
        else:
            when = await issuers.revoke_official(
                connection, arguments.fingerprint, revoked_at=arguments.at, reason=arguments.reason
            )
            await _audit(connection, "officials.revoke", arguments.fingerprint,
                         f"revoked from {when.isoformat()}")  # fmt: skip
            print(f"hub: certificate revoked from {when.isoformat()}")
    except (issuers.IssuerInputError, ExportError) as error:
        raise ConfigError(str(error)) from None
    finally:
        await connection.close()
    return 0


async def _list(connection: asyncpg.Connection, country: str | None) -> None:
    registry = await issuers.load_registry(connection)
    officials = await issuers.registered_officials(connection, country)
    for entity in sorted(registry.entities.values(), key=lambda e: (e.country, e.eh_id)):
        if country is not None and entity.country != country:
            continue
        agreements = " ".join(sorted(entity.agreements)) or "-"
        print(f"{entity.country}/{entity.eh_id}  {entity.name}  agreements: {agreements}")
        for registered in officials:
            official = registered.official
            if (official.country, official.eh_id) != (entity.country, entity.eh_id):
                continue
            status = f"revoked {official.revoked_at:%Y-%m-%d}" if official.revoked_at else "active"
            print(
                f"    {official.fingerprint}  {official.name}  "
                f"{official.not_before:%Y-%m-%d}..{official.not_after:%Y-%m-%d}  {status}"
            )


async def _import(connection: asyncpg.Connection, file: Path, *, dry_run: bool) -> None:
    """Every row checked first (a bad one: nothing applied), then all applied in one
    transaction, each change recorded for the workers to re-evaluate the verdicts it affects."""
    try:
        text = await asyncio.to_thread(file.read_text, encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"cannot read {file}: {error}") from None
    plan = await import_registry(connection, parse_export(str(file), text), dry_run=dry_run)
    verb = "would change" if dry_run else "changed"
    print(f"hub: {file}: {plan.summary()}{' (dry run: nothing changed)' if dry_run else ''}")
    for change in plan.changes:
        print(f"  {change.action:<8} {change.detail}")
    if not dry_run:
        await _audit(connection, "issuers.import", str(file), plan.summary())
    elif not plan.changes:
        print(f"hub: the import {verb} nothing")


async def _audit(connection: asyncpg.Connection, action: str, target: str, outcome: str) -> None:
    await audit.record(connection, audit.cli_actor(), action, target, outcome)
