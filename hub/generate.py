"""Running the traffic generator against this hub's broker and schema registry.

The generator's certificates of origin are signed by test entities (EHId ``TST``); before it
publishes, their officials' certificates are registered in this hub's issuer registry so that
its certificates validate (those built to fail aside).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import asyncpg

from connectors.certificates import test_issuers
from connectors.generator import PortTrafficGenerator, publish
from hub.db.issuers import add_official, put_entity
from hub.kafka_topics import INGEST_TOPICS
from hub.reference import load_agreements, load_ports
from hub.services import Endpoints, connect, schema_source
from hub.settings import HubSettings
from schemas.codec import AvroCodec
from schemas.models import Envelope
from schemas.registry_client import HttpSchemaRegistry


async def run_generator(
    settings: HubSettings,
    endpoints: Endpoints,
    stop: asyncio.Event,
    *,
    rate: float | None = None,
    limit: int | None = None,
    seed: int | None = None,
    scale: float | None = None,
    record: Callable[[Envelope], object] | None = None,
) -> int:
    """Publish generated port traffic (every domain) until ``stop`` is set or ``limit`` is
    reached."""
    ports = load_ports(settings.ports_file)
    agreements = {
        agreement.code: agreement for agreement in load_agreements(settings.agreements_file)
    }
    generator = PortTrafficGenerator(
        ports,
        certifiable=lambda code, hs: code in agreements and agreements[code].covers(hs),
        seed=settings.generator_seed if seed is None else seed,
        scale=settings.generator_scale if scale is None else scale,
    )
    connection = await connect(endpoints.database_url)
    registry = schema_source(settings, connection)
    try:
        await register_test_issuers(connection, {port.country for port in ports})
        return await publish(
            endpoints.kafka_bootstrap,
            lambda domain: settings.topic(INGEST_TOPICS[domain]),
            generator,
            rate or settings.generator_rate,
            stop,
            AvroCodec(registry),
            limit=limit,
            record=record,
        )
    finally:
        if isinstance(registry, HttpSchemaRegistry):
            await registry.close()
        await connection.close()


async def register_test_issuers(connection: asyncpg.Connection, countries: set[str]) -> int:
    """Register the generator's test issuing entities of ``countries`` and their officials
    (idempotent); agreements missing from the agreements file are left out. Returns how many
    entities."""
    configured = {row["code"] for row in await connection.fetch("SELECT code FROM agreements")}
    issuers = test_issuers(countries)
    for issuer in issuers:
        agreements = [code for code in issuer.agreements if code in configured]
        await put_entity(connection, issuer.country, issuer.eh_id, issuer.name, agreements)
        await add_official(
            connection,
            issuer.country,
            issuer.eh_id,
            issuer.certificate_pem,
            name=f"TEST official of {issuer.country} (traffic generator; not real)",
        )
    return len(issuers)
