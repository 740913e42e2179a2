"""``hub tenants …``: Kafka principals of the ports and customs authorities, and their ACLs."""

from __future__ import annotations

import argparse
import sys

import asyncpg

from hub.db import audit
from hub.db.ports import check_subject
from hub.db.tenants import all_tenants, put_tenant, revoke_tenant, tenant_active
from hub.errors import ConfigError
from hub.services import check_database, check_kafka, connect, resolve_endpoints
from hub.settings import HubSettings
from hub.tenants import (
    SCRAM_MECHANISM,
    Tenant,
    TenantAdmin,
    describe_grants,
    grants,
    new_password,
    tenant,
)


async def run_tenants_command(settings: HubSettings, arguments: argparse.Namespace) -> int:
    endpoints = resolve_endpoints(settings)
    await check_kafka(endpoints.kafka_bootstrap)
    await check_database(endpoints.database_url)
    admin = TenantAdmin(endpoints.kafka_bootstrap)
    connection = await connect(endpoints.database_url)
    try:
        action: str = arguments.action
        if action == "list":
            return await _list(connection, admin, settings)
        verb, kind = action.split("-", 1)
        who = tenant(kind, arguments.subject)
        await check_subject(connection, who.kind, who.subject)
        if verb == "add":
            await _add(connection, admin, settings, who, rotate=arguments.rotate)
        else:
            await _revoke(connection, admin, who)
        return 0
    finally:
        await connection.close()


async def _add(
    connection: asyncpg.Connection,
    admin: TenantAdmin,
    settings: HubSettings,
    who: Tenant,
    *,
    rotate: bool,
) -> None:
    active = await tenant_active(connection, who.user_name)
    if active and not rotate:
        raise ConfigError(
            f"{who.user_name} exists; `hub tenants add-{who.kind} {who.subject} --rotate` gives it "
            "a new password"
        )
    password = new_password()
    await admin.grant(settings, who, password)
    await put_tenant(connection, who.user_name, who.kind, who.subject)
    outcome = "password rotated" if active else "created"
    await audit.record(connection, audit.cli_actor(), f"tenants.add-{who.kind}",
                       who.user_name, outcome)  # fmt: skip
    bootstrap = settings.kafka.tenant_listener
    print(f"# Kafka client settings of {who.user_name}: shown only now, keep them secret")
    if bootstrap:
        print(f"bootstrap.servers={bootstrap}")
    else:
        print("# bootstrap.servers=<your cluster's SASL listener> (HUB_KAFKA_TENANT_BOOTSTRAP)")
    print("security.protocol=SASL_PLAINTEXT")
    print(f"sasl.mechanism={SCRAM_MECHANISM}")
    print(f"sasl.username={who.user_name}")
    print(f"sasl.password={password}")
    allowed = "; ".join(describe_grants(grants(settings, who)))
    print(f"hub: {who.user_name} {outcome}; it may {allowed}; nothing else", file=sys.stderr)


async def _revoke(connection: asyncpg.Connection, admin: TenantAdmin, who: Tenant) -> None:
    await admin.withdraw(who)
    known = await revoke_tenant(connection, who.user_name)
    outcome = "revoked" if known else "no active principal; ACLs and credential cleared anyway"
    await audit.record(connection, audit.cli_actor(), f"tenants.revoke-{who.kind}",
                       who.user_name, outcome)  # fmt: skip
    print(f"hub: {who.user_name}: {outcome}", file=sys.stderr)


async def _list(connection: asyncpg.Connection, admin: TenantAdmin, settings: HubSettings) -> int:
    rows = await all_tenants(connection)
    if not rows:
        print("hub: no tenants yet (`hub tenants add-port PORT`, `hub tenants add-customs "
              "COUNTRY`)", file=sys.stderr)  # fmt: skip
    for row in rows:
        who = tenant(row["kind"], row["subject"])
        if row["revoked_at"] is not None:
            state = f"revoked {row['revoked_at']:%Y-%m-%d %H:%M} UTC"
        elif await admin.has_credential(who):
            state = f"active, password set {row['credential_set_at']:%Y-%m-%d %H:%M} UTC"
        else:
            state = "NO CREDENTIAL ON THE BROKER (rotate it: add-… --rotate)"
        allowed = "; ".join(describe_grants(grants(settings, who)))
        print(f"{who.user_name:16} {state:44} {'' if row['revoked_at'] else allowed}".rstrip())
    return 0
