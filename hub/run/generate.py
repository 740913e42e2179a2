"""Running the traffic generator against this hub's broker and schema registry.

The generator's certificates of origin are signed by test entities (EHId ``TST``); before it
publishes, their officials' certificates are registered in this hub's issuer registry so that
its certificates validate (those built to fail aside).
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg

from connectors.ais import load_port_areas
from connectors.certificates import test_issuers
from connectors.publisher import publish
from connectors.simulator import PortTrafficGenerator
from connectors.traffic_files import ais_log, edifact_interchanges
from hub.db.issuers import add_official, agreement_codes, put_entity
from hub.domain.reference import load_agreements, load_ports
from hub.errors import ConfigError
from hub.kafka_topics import INGEST_TOPICS
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
    ports = load_ports(settings.reference.ports_file)
    agreements = {
        agreement.code: agreement
        for agreement in load_agreements(settings.reference.agreements_file)
    }
    generator = PortTrafficGenerator(
        ports,
        certifiable=lambda code, hs: code in agreements and agreements[code].covers(hs),
        seed=settings.generator.seed if seed is None else seed,
        scale=settings.generator.scale if scale is None else scale,
    )
    connection = await connect(endpoints.database_url)
    registry = schema_source(settings, connection)
    try:
        await register_test_issuers(connection, {port.country for port in ports})
        return await publish(
            endpoints.kafka_bootstrap,
            lambda domain: settings.topic(INGEST_TOPICS[domain]),
            generator,
            rate or settings.generator.rate,
            stop,
            AvroCodec(registry),
            limit=limit,
            record=record,
        )
    finally:
        if isinstance(registry, HttpSchemaRegistry):
            await registry.close()
        await connection.close()


@dataclass(frozen=True, slots=True)
class WrittenTraffic:
    events: int
    interchanges: int
    edifact_events: int
    ais_lines: int
    ais_calls: int


def write_traffic_files(
    settings: HubSettings,
    *,
    count: int | None = None,
    seed: int | None = None,
    scale: float | None = None,
    edifact_dir: Path | None = None,
    nmea_file: Path | None = None,
    record: Callable[[Envelope], object] | None = None,
) -> WrittenTraffic:
    """The last day's generated traffic (or its first ``count`` events; the stream stops at now)
    written as files instead of published: EDIFACT interchanges into ``edifact_dir`` (for `hub
    edifact send|watch`) and the AIS log of the complete calls into ``nmea_file`` (for `hub ais
    replay`); ``record`` sees every event (the JSONL file of `hub kpis reference`)."""
    now = datetime.now(UTC)
    ports = load_ports(settings.reference.ports_file)
    generator = PortTrafficGenerator(
        ports,
        seed=settings.generator.seed if seed is None else seed,
        scale=settings.generator.scale if scale is None else scale,
        start=now - timedelta(days=1),
    )
    events = list(itertools.islice(generator.events_between(generator.start, now), count))
    if record is not None:
        for event in events:
            record(event)
    interchanges = edifact_events = 0
    lines = calls = 0
    try:
        if edifact_dir is not None:
            edifact_dir.mkdir(parents=True, exist_ok=True)
            for file in edifact_interchanges(events, prepared_at=now):
                (edifact_dir / file.name).write_text(file.text, encoding="utf-8")
                interchanges += 1
                edifact_events += file.events
        if nmea_file is not None:
            areas = load_port_areas(settings.reference.port_areas_file)
            log = ais_log(events, areas, seed=generator.seed, until=now)
            nmea_file.write_text("".join(line + "\n" for line in log.lines), encoding="ascii")
            lines, calls = len(log.lines), len(log.calls)
    except OSError as error:
        raise ConfigError(f"cannot write {error.filename}: {error.strerror or error}") from None
    except ValueError as error:  # a broken HUB_PORT_AREAS_FILE
        raise ConfigError(f"HUB_PORT_AREAS_FILE: {error}") from None
    return WrittenTraffic(len(events), interchanges, edifact_events, lines, calls)


async def register_test_issuers(connection: asyncpg.Connection, countries: set[str]) -> int:
    """Register the generator's test issuing entities of ``countries`` and their officials
    (idempotent); agreements missing from the agreements file are left out. Returns how many
    entities."""
    configured = await agreement_codes(connection)
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
