"""Running the traffic generator against this hub's broker and schema registry."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from connectors.generator import PortTrafficGenerator, publish
from hub.kafka_topics import INGEST_TOPICS
from hub.reference import load_ports
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
    generator = PortTrafficGenerator(
        load_ports(settings.ports_file),
        seed=settings.generator_seed if seed is None else seed,
        scale=settings.generator_scale if scale is None else scale,
    )
    connection = await connect(endpoints.database_url)
    registry = schema_source(settings, connection)
    try:
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
