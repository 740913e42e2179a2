"""Errors of the schema registry, each carrying its Confluent Schema Registry error code.

    HubError
    └── SchemaRegistryError            (error code 50001 unless a subclass says otherwise)
        ├── Unauthorized                   40101  (no token, or one the hub does not honour)
        ├── Forbidden                      40301  (a genuine token, not an admin one)
        ├── SubjectNotFound                40401
        ├── VersionNotFound                40402
        ├── SchemaNotFound                 40403
        ├── SubjectSoftDeleted             40404
        ├── SubjectNotSoftDeleted          40405
        ├── SubjectConfigNotFound          40408
        ├── IncompatibleSchema             409
        ├── InvalidSchema                  42201
        ├── InvalidVersion                 42202
        ├── InvalidCompatibilityLevel      42203
        ├── InvalidSubject                 42208
        └── RegistryStoreError             50001  (also a hub.errors.DatabaseError; HTTP 503)

The codes are the Confluent ones, so that Confluent clients (which branch on them) behave with
the hub's registry as with Confluent's; the HTTP status of each is its first three digits, but
for a database failure, which is answered 503 (try again) as everywhere else in the hub.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar

from hub.errors import DatabaseError, HubError


class SchemaRegistryError(HubError):
    """Base of the errors the hub's schema registry answers; ``error_code`` is the Confluent
    error code (a Confluent client raises its own ``SchemaRegistryError`` with that code)."""

    error_code: ClassVar[int] = 50001

    @property
    def http_status(self) -> int:
        """The HTTP status of the error: the first three digits of its code."""
        code = self.error_code
        while code >= 1000:
            code //= 10
        return code

    @property
    def headers(self) -> Mapping[str, str]:
        """HTTP headers the answer to the error carries."""
        return {}


class Unauthorized(SchemaRegistryError):
    """A write without a token, or with one the hub does not know (or no longer honours)."""

    error_code = 40101

    @property
    def headers(self) -> Mapping[str, str]:
        return {"WWW-Authenticate": "Bearer"}


class Forbidden(SchemaRegistryError):
    """A write with a genuine token of another kind (a port's, a customs or a reader token)."""

    error_code = 40301


class SubjectNotFound(SchemaRegistryError):
    """The subject has no versions (or only soft-deleted ones, unless those were asked for)."""

    error_code = 40401

    def __init__(self, subject: str) -> None:
        super().__init__(f"Subject '{subject}' not found.")
        self.subject = subject


class VersionNotFound(SchemaRegistryError):
    """The subject exists but has no such version."""

    error_code = 40402

    def __init__(self, subject: str, version: int | str) -> None:
        super().__init__(f"Version {version} not found for subject '{subject}'.")


class SchemaNotFound(SchemaRegistryError):
    """No schema with this id, or this schema is not registered under the subject."""

    error_code = 40403

    def __init__(self, what: str = "Schema not found") -> None:
        super().__init__(what)


class SubjectSoftDeleted(SchemaRegistryError):
    """A soft delete of a subject whose versions are all soft-deleted already."""

    error_code = 40404

    def __init__(self, subject: str) -> None:
        super().__init__(
            f"Subject '{subject}' was soft deleted. Set permanent=true to delete permanently"
        )


class SubjectNotSoftDeleted(SchemaRegistryError):
    """A permanent delete of a subject that still has live versions: soft-delete it first."""

    error_code = 40405

    def __init__(self, subject: str) -> None:
        super().__init__(
            f"Subject '{subject}' was not deleted first before being permanently deleted"
        )


class SubjectConfigNotFound(SchemaRegistryError):
    """The subject has no compatibility level of its own (the global one applies)."""

    error_code = 40408

    def __init__(self, subject: str) -> None:
        super().__init__(
            f"Subject '{subject}' does not have subject-level compatibility configured"
        )


class IncompatibleSchema(SchemaRegistryError):
    """The schema breaks the subject's compatibility level; ``reasons`` says how."""

    error_code = 409

    def __init__(self, subject: str, reasons: Sequence[str]) -> None:
        super().__init__(
            "Schema being registered is incompatible with an earlier schema for subject "
            f'"{subject}", details: [{"; ".join(reasons)}]'
        )
        self.subject = subject
        self.reasons = list(reasons)


class InvalidSchema(SchemaRegistryError):
    """The schema is not JSON, not Avro, or of a type or form the registry does not support."""

    error_code = 42201

    def __init__(self, reason: str) -> None:
        super().__init__(f"Invalid schema: {reason}")


class InvalidVersion(SchemaRegistryError):
    """A version that is neither a number from 1 to 2**31 - 1 nor ``latest``."""

    error_code = 42202

    def __init__(self, version: object) -> None:
        super().__init__(
            f"The specified version '{version}' is not a valid version id. Allowed values are "
            'between [1, 2^31-1] and the string "latest"'
        )


class InvalidCompatibilityLevel(SchemaRegistryError):
    """A compatibility level that is not one of ``CompatibilityLevel``."""

    error_code = 42203

    def __init__(self, level: object, allowed: Sequence[str]) -> None:
        super().__init__(
            f"Invalid compatibility level {level!r}; valid values are {', '.join(allowed)}"
        )


class InvalidSubject(SchemaRegistryError):
    """A subject PostgreSQL cannot store: a NUL character, or too long for its index."""

    error_code = 42208

    def __init__(self, subject: str, reason: str) -> None:
        super().__init__(f"The specified subject '{subject[:100]}' is not valid: {reason}")


class RegistryStoreError(SchemaRegistryError, DatabaseError):
    """PostgreSQL failed under the registry (the HTTP API's answer to a database error).

    The store itself lets asyncpg's errors through, so that callers' retries of transient
    database errors apply; the API reports them to clients with this code and HTTP 503, which
    Confluent clients retry (as they do 500).
    """

    error_code = 50001

    @property
    def http_status(self) -> int:
        return 503

    @property
    def headers(self) -> Mapping[str, str]:
        return {"Retry-After": "1"}

    def __init__(self, reason: str) -> None:
        super().__init__(f"Error in the backend data store: {reason}")
