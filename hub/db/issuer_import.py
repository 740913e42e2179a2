"""A registry export applied to the issuer registry in one transaction (``hub issuers import``).

The file is read and checked by :func:`hub.domain.certificates.registry_import.parse_export`;
here it is compared with the registry as it is (:func:`plan_import`) and, unless it is a dry
run, applied through the registry's own functions (:mod:`hub.db.issuers`), so that each change
is recorded in ``registry_changes`` and the verdicts it affects are re-evaluated. All or
nothing: any refusal rolls the whole file back.
"""

from __future__ import annotations

import asyncpg

from hub.db import issuers
from hub.domain.certificates.registry_import import (
    EntityRow,
    ExportError,
    ImportPlan,
    RegistryExport,
    plan_import,
)

# Imports of the registry are serialised: two at once would each plan against a registry the
# other is changing.
_IMPORT_LOCK = 0x1A55E75


async def import_registry(
    connection: asyncpg.Connection, export: RegistryExport, *, dry_run: bool = False
) -> ImportPlan:
    """What importing ``export`` changes, applied unless ``dry_run`` (then nothing is written).

    Raises:
        ExportError: a row the registry refuses (the message names the file and the row);
            nothing is applied.
    """
    async with connection.transaction():
        await connection.execute("SELECT pg_advisory_xact_lock($1)", _IMPORT_LOCK)
        plan = plan_import(export, await issuers.load_registry(connection))
        if dry_run:
            return plan
        for change in plan.changes:
            row = change.row
            try:
                if isinstance(row, EntityRow):
                    await issuers.put_entity(
                        connection, row.country, row.eh_id, row.name, row.agreements
                    )
                    continue
                if change.enablement:
                    await issuers.add_official(
                        connection,
                        row.country,
                        row.eh_id,
                        row.certificate_pem,
                        name=row.name,
                        enabled_from=row.enabled_from,
                        enabled_to=row.enabled_to,
                    )
                if change.revocation:
                    await issuers.revoke_official(
                        connection,
                        row.fingerprint,
                        revoked_at=row.revoked_at,
                        reason=row.revocation_reason or "",
                    )
            except issuers.IssuerInputError as error:
                raise ExportError(f"{export.source}: {row.where}: {error}") from None
    return plan
