"""The schema registry's state in PostgreSQL: schemas, subject versions and compatibility levels.

The tables are those of migration ``0002_schema_registry.sql``. Schemas are stored once each
(de-duplicated by their canonical form), so the same schema under two subjects has one id, as
in the Confluent registry. Every registration of a subject runs in one transaction holding an
advisory lock on the subject: two producers registering at once get consecutive versions, never
two rows with one version number, and the compatibility check sees the versions it is checked
against. Soft-deleted versions keep their rows and schemas, so that messages written with them
stay readable by id.

Failures of PostgreSQL itself (asyncpg's errors, ``OSError``) pass through unchanged, as in
:mod:`hub.db.events`, so that a caller's retry of transient database errors applies to the
registry too; the HTTP API answers them with Confluent's error 50001.

Whatever a caller passes, no argument reaches PostgreSQL that it would refuse: an id or a version
outside PostgreSQL's ``integer`` (the 4-byte schema id of a hostile record goes up to 2**32 - 1)
is simply not found, and so is a subject PostgreSQL cannot hold (a NUL character, or more than
``MAX_SUBJECT_BYTES``), which a write refuses with :class:`InvalidSubject`. A bad argument is
never mistaken for a database failure, which callers retry.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Literal

import asyncpg

from hub.errors.schema_registry import (
    IncompatibleSchema,
    InvalidCompatibilityLevel,
    InvalidSchema,
    InvalidSubject,
    SubjectNotFound,
    SubjectNotSoftDeleted,
    SubjectSoftDeleted,
    VersionNotFound,
)
from schemas import compatibility
from schemas.compatibility import CompatibilityLevel

__all__ = [
    # The store's refusals, re-exported for callers of register(); all are in
    # hub.errors.schema_registry.
    "MAX_SUBJECT_BYTES",
    "IncompatibleSchema",
    "InvalidSchema",
    "InvalidSubject",
    "RegisteredSchema",
    "SchemaRegistryStore",
    "Version",
    "parse_level",
]

Version = int | Literal["latest"]

# Key space of the registry's advisory locks (the two-key form, which never collides with the
# one-key lock of hub.db.migrations): (this, hashtext(subject)) serialises writes per subject.
_LOCK_SPACE = 0x72656769  # "regi"
# The subject under which the global compatibility level is kept in registry_config.
_GLOBAL = ""
# Ids and versions are PostgreSQL integers, from 1.
_MAX_INTEGER = 2**31 - 1
MAX_SUBJECT_BYTES = 1000
"""The longest subject (UTF-8 bytes): a subject is in b-tree keys, whose entries PostgreSQL limits
to about 2.7 kB. (Kafka's topic names have at most 249 characters.)"""


@dataclass(frozen=True, slots=True)
class RegisteredSchema:
    """One version of a subject: what ``GET /subjects/{subject}/versions/{version}`` returns."""

    subject: str
    version: int
    id: int
    schema: str


@dataclass(frozen=True, slots=True)
class _Candidate:
    """A schema text offered to the registry, parsed and keyed once."""

    text: str
    canonical: str
    fingerprint: str

    @classmethod
    def of(cls, schema_text: str) -> _Candidate:
        if _unstorable_text(schema_text):
            raise InvalidSchema(
                "the text has a NUL character or an unpaired surrogate, which cannot be stored"
            )
        try:
            compatibility.parse_avro(schema_text)
            canonical = compatibility.canonical_form(schema_text)
        except compatibility.UnparsableSchema as error:
            raise InvalidSchema(str(error)) from None
        except RecursionError:
            # JSON (or a schema) nested deeper than Python's parsers go: no real schema nests so.
            raise InvalidSchema("the schema is nested too deeply") from None
        fingerprint = hashlib.sha256(canonical.encode()).hexdigest()
        return cls(schema_text, canonical, fingerprint)


class SchemaRegistryStore:
    """The registry's operations over an asyncpg pool.

    Args:
        database: a pool (what the API uses), or one connection for a single-task caller such
            as a CLI command; a connection cannot serve two calls at once.
    """

    __slots__ = ("_database",)

    def __init__(self, database: asyncpg.Pool | asyncpg.Connection) -> None:
        self._database = database

    @property
    def database(self) -> asyncpg.Pool | asyncpg.Connection:
        """The pool (or connection) the store works on; the HTTP API's access checks use it."""
        return self._database

    async def register(self, subject: str, schema_text: str) -> int:
        """Register ``schema_text`` as the subject's newest version; its schema id.

        Idempotent: a schema already registered under the subject returns its id and adds no
        version; a schema registered under another subject keeps its id under this one too.

        Raises:
            InvalidSubject: a subject PostgreSQL cannot store.
            InvalidSchema: not a valid Avro schema.
            IncompatibleSchema: the subject's compatibility level refuses it.
        """
        _check_subject(subject)
        candidate = _Candidate.of(schema_text)
        async with self._transaction() as connection:
            await _lock(connection, subject)
            present = await connection.fetchrow(
                """
                SELECT v.schema_id, v.deleted
                FROM registry_versions v JOIN registry_schemas s ON s.id = v.schema_id
                WHERE v.subject = $1 AND s.fingerprint = $2
                """,
                subject,
                candidate.fingerprint,
            )
            if present is not None and not present["deleted"]:
                schema_id: int = present["schema_id"]
                return schema_id
            live = await _live_versions(connection, subject)
            if live:
                level = await _effective_level(connection, subject)
                reasons = _check(candidate.text, live, level)
                if reasons:
                    raise IncompatibleSchema(subject, reasons)
            schema_id = await _schema_id(connection, candidate)
            next_version = await connection.fetchval(
                "SELECT coalesce(max(version), 0) + 1 FROM registry_versions WHERE subject = $1",
                subject,
            )
            if present is not None:
                # Registered before and soft-deleted since: back, as the newest version.
                await connection.execute(
                    """
                    UPDATE registry_versions
                    SET version = $3, deleted = false, registered_at = now()
                    WHERE subject = $1 AND schema_id = $2
                    """,
                    subject,
                    schema_id,
                    next_version,
                )
            else:
                await connection.execute(
                    """
                    INSERT INTO registry_versions (subject, version, schema_id)
                    VALUES ($1, $2, $3)
                    """,
                    subject,
                    next_version,
                    schema_id,
                )
            return schema_id

    async def live_schema_id(self, schema_text: str) -> int | None:
        """The id of this schema if some subject has it as a live version, else None.

        Raises:
            InvalidSchema: not a valid Avro schema.
        """
        candidate = _Candidate.of(schema_text)
        async with self._connection() as connection:
            schema_id: int | None = await connection.fetchval(
                """
                SELECT s.id FROM registry_schemas s
                WHERE s.fingerprint = $1 AND EXISTS (
                    SELECT 1 FROM registry_versions v WHERE v.schema_id = s.id AND NOT v.deleted
                )
                """,
                candidate.fingerprint,
            )
            return schema_id

    async def schema_by_id(self, schema_id: int) -> str | None:
        """The text of schema ``schema_id`` (soft-deleted or not), or None if there is none."""
        if not _is_integer(schema_id):
            return None
        async with self._connection() as connection:
            text: str | None = await connection.fetchval(
                "SELECT schema_text FROM registry_schemas WHERE id = $1", schema_id
            )
            return text

    async def schema_versions(
        self, schema_id: int, *, include_deleted: bool = False
    ) -> list[tuple[str, int]]:
        """Every (subject, version) registered with schema ``schema_id``."""
        if not _is_integer(schema_id):
            return []
        async with self._connection() as connection:
            rows = await connection.fetch(
                """
                SELECT subject, version FROM registry_versions
                WHERE schema_id = $1 AND (NOT deleted OR $2)
                ORDER BY subject, version
                """,
                schema_id,
                include_deleted,
            )
            return [(row["subject"], row["version"]) for row in rows]

    async def subjects(self, *, include_deleted: bool = False) -> list[str]:
        """The subjects with at least one version (live ones only, unless told otherwise)."""
        async with self._connection() as connection:
            rows = await connection.fetch(
                """
                SELECT DISTINCT subject FROM registry_versions
                WHERE NOT deleted OR $1
                ORDER BY subject
                """,
                include_deleted,
            )
            return [row["subject"] for row in rows]

    async def versions(
        self, subject: str, *, include_deleted: bool = False, deleted_only: bool = False
    ) -> list[int]:
        """The subject's version numbers, oldest first; empty if it has none."""
        if _subject_problem(subject):
            return []
        states = [True] if deleted_only else [False, True] if include_deleted else [False]
        async with self._connection() as connection:
            rows = await connection.fetch(
                """
                SELECT version FROM registry_versions
                WHERE subject = $1 AND deleted = ANY($2::boolean[])
                ORDER BY version
                """,
                subject,
                states,
            )
            return [row["version"] for row in rows]

    async def version(
        self, subject: str, version: Version, *, include_deleted: bool = False
    ) -> RegisteredSchema | None:
        """One version of the subject (``"latest"``: its newest), or None if there is none."""
        if _subject_problem(subject) or (version != "latest" and not _is_integer(version)):
            return None
        async with self._connection() as connection:
            row = await connection.fetchrow(
                """
                SELECT v.subject, v.version, v.schema_id, s.schema_text
                FROM registry_versions v JOIN registry_schemas s ON s.id = v.schema_id
                WHERE v.subject = $1 AND (NOT v.deleted OR $2)
                  AND ($3::integer IS NULL OR v.version = $3)
                ORDER BY v.version DESC
                LIMIT 1
                """,
                subject,
                include_deleted,
                None if version == "latest" else version,
            )
            return None if row is None else _registered(row)

    async def lookup(
        self, subject: str, schema_text: str, *, include_deleted: bool = False
    ) -> RegisteredSchema | None:
        """The version of the subject registered with this schema, or None.

        Raises:
            InvalidSchema: not a valid Avro schema.
        """
        candidate = _Candidate.of(schema_text)
        if _subject_problem(subject):
            return None
        async with self._connection() as connection:
            row = await connection.fetchrow(
                """
                SELECT v.subject, v.version, v.schema_id, s.schema_text
                FROM registry_versions v JOIN registry_schemas s ON s.id = v.schema_id
                WHERE v.subject = $1 AND s.fingerprint = $2 AND (NOT v.deleted OR $3)
                """,
                subject,
                candidate.fingerprint,
                include_deleted,
            )
            return None if row is None else _registered(row)

    async def check_compatibility(
        self, subject: str, version: Version, schema_text: str
    ) -> list[str]:
        """Why ``schema_text`` could not follow one version of the subject (empty: it could).

        The subject's level decides the direction (backward, forward or both); the check is
        against that one version. Against ``"latest"`` of a subject without versions, anything
        is compatible, as in the Confluent registry.

        Raises:
            InvalidSchema: not a valid Avro schema.
            SubjectNotFound, VersionNotFound: there is no such version to check against.
        """
        candidate = _Candidate.of(schema_text)
        if _subject_problem(subject):
            # No such subject has versions.
            if version == "latest":
                return []
            raise SubjectNotFound(subject)
        async with self._connection() as connection:
            live = await _live_versions(connection, subject)
            if version != "latest":
                live = [row for row in live if row["version"] == version]
                if not live:
                    if await _live_versions(connection, subject):
                        raise VersionNotFound(subject, version)
                    raise SubjectNotFound(subject)
            level = await _effective_level(connection, subject)
        return _check(candidate.text, live[-1:], level)

    async def check_compatibility_all(self, subject: str, schema_text: str) -> list[str]:
        """Why ``schema_text`` could not follow every version of the subject (empty: it could).

        Raises:
            InvalidSchema: not a valid Avro schema.
        """
        candidate = _Candidate.of(schema_text)
        if _subject_problem(subject):
            return []
        async with self._connection() as connection:
            live = await _live_versions(connection, subject)
            level = await _effective_level(connection, subject)
        return _check(candidate.text, live, _transitive(level))

    async def get_config(self, subject: str | None = None) -> CompatibilityLevel:
        """The level in force for ``subject`` (its own, else the global one); None: global."""
        if subject and _subject_problem(subject):
            subject = None  # it cannot have a level of its own
        async with self._connection() as connection:
            return await _effective_level(connection, subject or _GLOBAL)

    async def subject_config(self, subject: str) -> CompatibilityLevel | None:
        """The subject's own level, or None if it follows the global one."""
        if _subject_problem(subject):
            return None
        async with self._connection() as connection:
            level = await connection.fetchval(
                "SELECT compatibility FROM registry_config WHERE subject = $1", subject
            )
            return None if level is None else CompatibilityLevel(level)

    async def set_config(
        self, subject: str | None, level: CompatibilityLevel | str
    ) -> CompatibilityLevel:
        """Set the level of ``subject`` (None: the global level); the level set.

        Raises:
            InvalidSubject: a subject PostgreSQL cannot store.
            InvalidCompatibilityLevel: ``level`` names no level.
        """
        if subject:
            _check_subject(subject)
        parsed = parse_level(level)
        async with self._connection() as connection:
            await connection.execute(
                """
                INSERT INTO registry_config (subject, compatibility) VALUES ($1, $2)
                ON CONFLICT (subject) DO UPDATE
                SET compatibility = excluded.compatibility, updated_at = now()
                """,
                subject or _GLOBAL,
                parsed.value,
            )
        return parsed

    async def delete_config(self, subject: str) -> CompatibilityLevel | None:
        """Make the subject follow the global level again; the level it had, if any."""
        if not subject:
            raise ValueError("the global level can be changed, not deleted")
        if _subject_problem(subject):
            return None
        async with self._connection() as connection:
            level = await connection.fetchval(
                "DELETE FROM registry_config WHERE subject = $1 RETURNING compatibility", subject
            )
            return None if level is None else CompatibilityLevel(level)

    async def delete_subject(self, subject: str, *, permanent: bool = False) -> list[int]:
        """Delete the subject's versions; the version numbers deleted.

        A soft delete hides the versions (and drops the subject's own level) but keeps them, so
        that their schema ids still resolve; a permanent delete, allowed only after a soft
        one, removes the versions. Schemas themselves are kept either way: a consumer may still
        meet their ids in old messages.

        Raises:
            SubjectNotFound: the subject has no versions.
            SubjectSoftDeleted: a soft delete of a subject deleted already.
            SubjectNotSoftDeleted: a permanent delete of a subject not soft-deleted first.
        """
        if _subject_problem(subject):
            raise SubjectNotFound(subject)
        async with self._transaction() as connection:
            await _lock(connection, subject)
            states = await connection.fetch(
                "SELECT version, deleted FROM registry_versions WHERE subject = $1", subject
            )
            if not states:
                raise SubjectNotFound(subject)
            live = any(not row["deleted"] for row in states)
            if permanent:
                if live:
                    raise SubjectNotSoftDeleted(subject)
                rows = await connection.fetch(
                    "DELETE FROM registry_versions WHERE subject = $1 RETURNING version", subject
                )
            else:
                if not live:
                    raise SubjectSoftDeleted(subject)
                rows = await connection.fetch(
                    """
                    UPDATE registry_versions SET deleted = true
                    WHERE subject = $1 AND NOT deleted
                    RETURNING version
                    """,
                    subject,
                )
            await connection.execute("DELETE FROM registry_config WHERE subject = $1", subject)
            return sorted(row["version"] for row in rows)

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[asyncpg.Connection]:
        if isinstance(self._database, asyncpg.Pool):
            async with self._database.acquire() as connection:
                yield connection
        else:
            yield self._database

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[asyncpg.Connection]:
        async with self._connection() as connection, connection.transaction():
            yield connection


def parse_level(level: CompatibilityLevel | str) -> CompatibilityLevel:
    """``level`` as a CompatibilityLevel (any letter case).

    Raises:
        InvalidCompatibilityLevel: it names no level.
    """
    try:
        return CompatibilityLevel(str(level).upper())
    except ValueError:
        raise InvalidCompatibilityLevel(level, list(CompatibilityLevel)) from None


def _is_integer(number: int) -> bool:
    """Whether ``number`` can be an id or a version: a PostgreSQL integer from 1."""
    return 1 <= number <= _MAX_INTEGER


def _unstorable_text(text: str) -> bool:
    """Whether PostgreSQL would refuse ``text``: it has a NUL, or is not valid UTF-8."""
    if "\x00" in text:
        return True
    try:
        text.encode()
    except UnicodeEncodeError:  # an unpaired surrogate
        return True
    return False


def _subject_problem(subject: str) -> str | None:
    """Why PostgreSQL cannot hold ``subject`` (None: it can)."""
    if not subject:
        return "it is empty"
    if _unstorable_text(subject):
        return "it has a NUL character or an unpaired surrogate"
    if len(subject.encode()) > MAX_SUBJECT_BYTES:
        return f"it is longer than {MAX_SUBJECT_BYTES} bytes"
    return None


def _check_subject(subject: str) -> None:
    problem = _subject_problem(subject)
    if problem is not None:
        raise InvalidSubject(subject, problem)


async def _lock(connection: asyncpg.Connection, subject: str) -> None:
    """Serialise the writes of one subject until the end of the transaction."""
    await connection.execute("SELECT pg_advisory_xact_lock($1, hashtext($2))", _LOCK_SPACE, subject)


async def _live_versions(connection: asyncpg.Connection, subject: str) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await connection.fetch(
        """
        SELECT v.version, s.schema_text
        FROM registry_versions v JOIN registry_schemas s ON s.id = v.schema_id
        WHERE v.subject = $1 AND NOT v.deleted
        ORDER BY v.version
        """,
        subject,
    )
    return rows


async def _effective_level(connection: asyncpg.Connection, subject: str) -> CompatibilityLevel:
    """The subject's level, else the global one (BACKWARD if even that row is missing)."""
    level = await connection.fetchval(
        """
        SELECT compatibility FROM registry_config WHERE subject IN ($1, '')
        ORDER BY subject DESC LIMIT 1
        """,
        subject,
    )
    return CompatibilityLevel(level) if level is not None else CompatibilityLevel.BACKWARD


async def _schema_id(connection: asyncpg.Connection, candidate: _Candidate) -> int:
    """The id of the candidate's schema, stored now if it is new."""
    find = "SELECT id FROM registry_schemas WHERE fingerprint = $1"
    schema_id: int | None = await connection.fetchval(find, candidate.fingerprint)
    if schema_id is None:
        schema_id = await connection.fetchval(
            """
            INSERT INTO registry_schemas (schema_text, canonical, fingerprint)
            VALUES ($1, $2, $3)
            ON CONFLICT (fingerprint) DO NOTHING
            RETURNING id
            """,
            candidate.text,
            candidate.canonical,
            candidate.fingerprint,
        )
    if schema_id is None:
        # Another subject's registration stored it between our two statements; in READ
        # COMMITTED this new statement sees its committed row.
        schema_id = await connection.fetchval(find, candidate.fingerprint)
    assert schema_id is not None, "a schema row vanished while being registered"
    return schema_id


def _check(
    schema_text: str, versions: Sequence[asyncpg.Record], level: CompatibilityLevel
) -> list[str]:
    return compatibility.check(
        schema_text,
        [row["schema_text"] for row in versions],
        level,
        names=[f"version {row['version']}" for row in versions],
    )


def _transitive(level: CompatibilityLevel) -> CompatibilityLevel:
    """The level that applies ``level``'s direction to every existing version."""
    if level is CompatibilityLevel.NONE or level.is_transitive:
        return level
    return CompatibilityLevel(f"{level.value}_TRANSITIVE")


def _registered(row: asyncpg.Record) -> RegisteredSchema:
    return RegisteredSchema(row["subject"], row["version"], row["schema_id"], row["schema_text"])
