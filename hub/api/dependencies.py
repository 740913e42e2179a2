"""What the API's handlers use, and the FastAPI dependencies that hand it to them.

The app's lifespan opens the database pool, the ingest context (producer, codec, ports), the
Kafka admin client and the schema registry's store, and puts them on ``app.state`` with
:func:`provide`; a handler asks for one by type (``pool: Pool``), so it is a plain function that
a test calls with its own objects, or mounts on an app of its own after ``provide(app, ...)``.

Until the lifespan has opened them (and once it has closed them), asking for one raises
:class:`~hub.errors.ServiceError`, which the API answers 503 "not delivered, retry"
(:mod:`hub.api.failures`), as it answers any other unavailable database or broker.
"""

from __future__ import annotations

from typing import Annotated, Any, Final, TypeVar

import asyncpg
from aiokafka.admin import AIOKafkaAdminClient
from fastapi import Depends, FastAPI, Request

from hub.db.schema_registry import SchemaRegistryStore
from hub.errors import ServiceError
from hub.ingest.core import IngestContext

__all__ = [
    "Ingest",
    "KafkaAdmin",
    "Pool",
    "RegistryStore",
    "ingest_context",
    "kafka_admin",
    "opened",
    "pool",
    "provide",
    "schema_registry_store",
    "withdraw",
]

T = TypeVar("T")

# The names on app.state, one per object the lifespan opens.
_POOL: Final = "pool"
_INGEST: Final = "ingest"
_KAFKA_ADMIN: Final = "kafka_admin"
_SCHEMA_REGISTRY: Final = "schema_registry_store"
_NAMES: Final = (_POOL, _INGEST, _KAFKA_ADMIN, _SCHEMA_REGISTRY)


def provide(
    app: FastAPI,
    *,
    pool: asyncpg.Pool | None = None,
    ingest: IngestContext | None = None,
    kafka_admin: AIOKafkaAdminClient | None = None,
    schema_registry_store: SchemaRegistryStore | None = None,
) -> None:
    """Put the objects given on ``app.state``, for the dependencies below to hand out."""
    given = zip(_NAMES, (pool, ingest, kafka_admin, schema_registry_store), strict=True)
    for name, value in given:
        if value is not None:
            setattr(app.state, name, value)


def withdraw(app: FastAPI) -> None:
    """Take every object off ``app.state`` (they are closed): requests get 503 from now on."""
    for name in _NAMES:
        setattr(app.state, name, None)


def opened(request: Request, name: str, kind: type[T]) -> T:
    """The object ``name`` on the request's ``app.state``, once the lifespan has opened it.

    Raises:
        ServiceError: not opened yet, or closed already (answered 503).
    """
    value: Any = getattr(request.app.state, name, None)
    if not isinstance(value, kind):
        raise ServiceError(
            f"the API has no {name.replace('_', ' ')} open (starting or stopping); try again"
        )
    return value


def pool(request: Request) -> asyncpg.Pool:
    """The API's PostgreSQL pool."""
    return opened(request, _POOL, asyncpg.Pool)


def ingest_context(request: Request) -> IngestContext:
    """The API's ingest context (producer, Avro codec, ports)."""
    return opened(request, _INGEST, IngestContext)


def kafka_admin(request: Request) -> AIOKafkaAdminClient:
    """The Kafka admin client of the health check."""
    return opened(request, _KAFKA_ADMIN, AIOKafkaAdminClient)


def schema_registry_store(request: Request) -> SchemaRegistryStore:
    """The store of the hub's schema registry."""
    return opened(request, _SCHEMA_REGISTRY, SchemaRegistryStore)


Pool = Annotated[asyncpg.Pool, Depends(pool)]
Ingest = Annotated[IngestContext, Depends(ingest_context)]
KafkaAdmin = Annotated[AIOKafkaAdminClient, Depends(kafka_admin)]
RegistryStore = Annotated[SchemaRegistryStore, Depends(schema_registry_store)]
