"""The hub's embedded schema registry: Confluent's REST API over PostgreSQL.

Producers and consumers use any Confluent client with ``url = http://<hub>/registry``. The
evolution rules themselves live in :mod:`schemas.compatibility`; this package stores schemas
(:mod:`hub.registry.store`), serves them over HTTP (:mod:`hub.registry.api`), lets only admin
tokens change them (:mod:`hub.registry.access`) and names its refusals with Confluent's error
codes (:mod:`hub.registry.errors`).

The HTTP side is imported from :mod:`hub.registry.api` explicitly, so that processes that only
read schemas (the worker, the generator) do not load FastAPI.
"""

from hub.registry.errors import (
    Forbidden,
    IncompatibleSchema,
    InvalidCompatibilityLevel,
    InvalidSchema,
    InvalidSubject,
    InvalidVersion,
    RegistryError,
    RegistryStoreError,
    SchemaNotFound,
    SubjectConfigNotFound,
    SubjectNotFound,
    SubjectNotSoftDeleted,
    SubjectSoftDeleted,
    Unauthorized,
    VersionNotFound,
)
from hub.registry.store import RegisteredSchema, SchemaRegistryStore

__all__ = [
    "Forbidden",
    "IncompatibleSchema",
    "InvalidCompatibilityLevel",
    "InvalidSchema",
    "InvalidSubject",
    "InvalidVersion",
    "RegisteredSchema",
    "RegistryError",
    "RegistryStoreError",
    "SchemaNotFound",
    "SchemaRegistryStore",
    "SubjectConfigNotFound",
    "SubjectNotFound",
    "SubjectNotSoftDeleted",
    "SubjectSoftDeleted",
    "Unauthorized",
    "VersionNotFound",
]
