"""Which Kafka and PostgreSQL the hub uses, bringing up the local ones when none is configured.

Kafka: ``HUB_KAFKA_BOOTSTRAP`` when set (it must answer), else the local broker.
PostgreSQL: ``DATABASE_URL`` when set, else the ``PG*`` variables when any is set (either must
answer), else the local cluster. A configured service that does not answer is an error, never a
silent fallback to a local one: data would land where nobody looks for it.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from aiokafka.admin import AIOKafkaAdminClient

from hub.db.issuers import upsert_agreements
from hub.db.migrations import migrate
from hub.db.ports import upsert_ports
from hub.db.schema_registry import IncompatibleSchema, InvalidSchema, SchemaRegistryStore
from hub.domain.reference import load_agreements, load_ports
from hub.errors import BrokerError, DatabaseError, ServiceError
from hub.kafka_topics import INGEST_TOPICS, create_topics, hub_topics
from hub.local.kafka import LocalKafka
from hub.local.postgres import LocalPostgres
from hub.local.process import quiet_logger
from hub.settings import HubSettings
from schemas.avro_schemas import schema_text, subject_for
from schemas.codec import SchemaSource
from schemas.registry_client import HttpSchemaRegistry, SchemaRegistryClientError

PG_VARIABLES = ("PGHOST", "PGHOSTADDR", "PGPORT", "PGUSER", "PGDATABASE", "PGSERVICE")
_REACH_TIMEOUT_S = 10.0


@dataclass(frozen=True, slots=True)
class Endpoints:
    """Where this hub's broker and database are."""

    kafka_bootstrap: str
    database_url: str | None
    """``None``: the ``PG*`` variables of the environment say where (libpq's rules)."""


@dataclass(slots=True)
class StartedServices:
    """The local services one command started, so that it stops exactly those."""

    kafka: LocalKafka | None = None
    postgres: LocalPostgres | None = None
    names: list[str] = field(default_factory=list)

    def stop(self) -> None:
        if self.kafka is not None:
            self.kafka.stop()
        if self.postgres is not None:
            self.postgres.stop()


def local_kafka(settings: HubSettings) -> LocalKafka:
    return LocalKafka(
        settings.state_dir,
        port=settings.kafka.port,
        controller_port=settings.kafka.controller_port,
        heap_mb=settings.kafka.heap_mb,
        tenant_port=settings.kafka.tenant_port,
        tenant_host=settings.kafka.tenant_host,
    )


def local_postgres(settings: HubSettings) -> LocalPostgres:
    return LocalPostgres(settings.state_dir, settings.database.port, settings.database.name)


def pg_variables_set(environ: Mapping[str, str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    return any(env.get(name) for name in PG_VARIABLES)


def resolve_endpoints(settings: HubSettings) -> Endpoints:
    """The endpoints, without starting anything (for processes the main job launches)."""
    bootstrap = settings.kafka.bootstrap or local_kafka(settings).bootstrap
    if settings.database.url is not None:
        return Endpoints(bootstrap, settings.database.url)
    if pg_variables_set():
        return Endpoints(bootstrap, None)
    postgres = local_postgres(settings)
    if not postgres.password_file.exists():
        raise DatabaseError(
            f"no DATABASE_URL and the local PostgreSQL under {postgres.home} was never "
            "started; run `hub services start` (or `hub run`)"
        )
    return Endpoints(bootstrap, postgres.url())


async def ensure_services(settings: HubSettings) -> tuple[Endpoints, StartedServices]:
    """Check the configured services answer, or start the local ones."""
    started = StartedServices()
    if not settings.kafka.uses_local:
        assert settings.kafka.bootstrap is not None
        await check_kafka(settings.kafka.bootstrap)
    else:
        kafka = local_kafka(settings)
        if await kafka.start():
            started.kafka = kafka
            started.names.append("Kafka")
    try:
        if settings.database.url is not None or pg_variables_set():
            await check_database(settings.database.url)
        else:
            postgres = local_postgres(settings)
            if await postgres.start():
                started.postgres = postgres
                started.names.append("PostgreSQL")
        endpoints = resolve_endpoints(settings)
    except BaseException:
        await asyncio.to_thread(started.stop)
        raise
    return endpoints, started


async def prepare(settings: HubSettings, endpoints: Endpoints) -> None:
    """Apply migrations, load the reference ports and the trade agreements, register the event
    schemas and create the topics (all idempotent)."""
    ports = load_ports(settings.reference.ports_file)
    connection = await connect(endpoints.database_url)
    try:
        await migrate(connection)
        await upsert_ports(connection, ports)
        await upsert_agreements(connection, load_agreements(settings.reference.agreements_file))
        if settings.kafka.schema_registry_url is None:
            await register_event_schemas(settings, schema_source(settings, connection))
    finally:
        await connection.close()
    if settings.kafka.schema_registry_url is not None:
        registry = HttpSchemaRegistry(settings.kafka.schema_registry_url)
        try:
            await register_event_schemas(settings, registry)
        except SchemaRegistryClientError as error:
            raise ServiceError(f"{error} (HUB_SCHEMA_REGISTRY_URL)") from None
        finally:
            await registry.close()
    await create_topics(
        endpoints.kafka_bootstrap,
        hub_topics(settings, {port.country for port in ports}),
        settings.kafka.topic_replication_factor,
    )


def schema_source(
    settings: HubSettings, database: asyncpg.Pool | asyncpg.Connection
) -> SchemaSource:
    """The configured registry, or the embedded one read straight from ``database``."""
    if settings.kafka.schema_registry_url:
        return HttpSchemaRegistry(settings.kafka.schema_registry_url)
    return SchemaRegistryStore(database)


async def register_event_schemas(settings: HubSettings, registry: SchemaSource) -> dict[str, int]:
    """Register each domain's current schema under its ingest topic's subject.

    An incompatible change of a schema stops the hub here, at start, instead of at the first
    event a port publishes.
    """
    ids = {}
    for domain, topic in INGEST_TOPICS.items():
        subject = subject_for(settings.topic(topic))
        try:
            ids[domain] = await registry.register(subject, schema_text(domain))
        except (IncompatibleSchema, InvalidSchema) as error:
            raise ServiceError(
                f"schema of {domain} events not accepted for {subject}: {error}"
            ) from None
    return ids


async def connect(database_url: str | None) -> asyncpg.Connection:
    """One connection, with a one-line error naming where it tried."""
    try:
        return await asyncpg.connect(database_url, timeout=_REACH_TIMEOUT_S)
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
        where = (
            f"{redact(database_url)} (DATABASE_URL)"
            if database_url
            else "the server the PG* variables name"
        )
        reason = str(error) or type(error).__name__
        raise DatabaseError(f"cannot reach PostgreSQL at {where}: {reason}") from None


async def check_database(database_url: str | None) -> None:
    connection = await connect(database_url)
    await connection.close()


async def check_kafka(bootstrap: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000)
    with quiet_logger("aiokafka"):
        try:
            await asyncio.wait_for(admin.start(), _REACH_TIMEOUT_S)
            await asyncio.wait_for(admin.describe_cluster(), _REACH_TIMEOUT_S)
        except Exception as error:  # any failure means "does not answer", with its reason
            reason = str(error) or type(error).__name__
            raise BrokerError(
                f"cannot reach Kafka at {bootstrap} (HUB_KAFKA_BOOTSTRAP): {reason}"
            ) from None
        finally:
            await admin.close()


def redact(url: str) -> str:
    """``url`` without its password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))
