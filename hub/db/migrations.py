"""Schema migrations: plain SQL files applied in order, each recorded in ``schema_migrations``.

Files are named ``NNNN_description.sql`` and applied in the order of ``NNNN``, each in its own
transaction. An applied file must never change: its SHA-256 is recorded, and a mismatch stops
the hub rather than leaving the database and the code disagreeing in silence.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from hub.errors import DatabaseError

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
# Any fixed number: two hub processes starting together must not both apply 0001.
_ADVISORY_LOCK_KEY = 0x706F727468756221


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def discover(folder: Path = MIGRATIONS_DIR) -> list[Migration]:
    """The migrations in ``folder``, by version. Raises on a misnamed or duplicate file."""
    migrations: dict[int, Migration] = {}
    for path in sorted(folder.glob("*.sql")):
        match = _NAME.match(path.name)
        if match is None:
            raise DatabaseError(f"migration file {path.name} is not named NNNN_description.sql")
        version = int(match.group(1))
        if version in migrations:
            raise DatabaseError(f"two migrations have version {version:04d} in {folder}")
        migrations[version] = Migration(version, match.group(2), path.read_text())
    return [migrations[version] for version in sorted(migrations)]


async def migrate(connection: asyncpg.Connection, folder: Path = MIGRATIONS_DIR) -> list[int]:
    """Apply the migrations not yet applied. Returns the versions applied by this call."""
    await connection.execute("SELECT pg_advisory_lock($1)", _ADVISORY_LOCK_KEY)
    try:
        await connection.execute(
            """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version     integer PRIMARY KEY,
                name        text NOT NULL,
                checksum    char(64) NOT NULL,
                applied_at  timestamptz NOT NULL DEFAULT now()
            )
            """
        )
        applied = {
            row["version"]: row["checksum"]
            for row in await connection.fetch("SELECT version, checksum FROM schema_migrations")
        }
        done: list[int] = []
        for migration in discover(folder):
            recorded = applied.get(migration.version)
            if recorded is not None:
                if recorded != migration.checksum:
                    raise DatabaseError(
                        f"migration {migration.version:04d}_{migration.name}.sql changed after "
                        "it was applied; add a new migration instead of editing an applied one"
                    )
                continue
            async with connection.transaction():
                try:
                    await connection.execute(migration.sql)
                except asyncpg.PostgresError as error:
                    raise DatabaseError(
                        f"migration {migration.version:04d}_{migration.name}.sql failed: {error}"
                    ) from None
                await connection.execute(
                    "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                    migration.version,
                    migration.name,
                    migration.checksum,
                )
            done.append(migration.version)
        return done
    finally:
        await connection.execute("SELECT pg_advisory_unlock($1)", _ADVISORY_LOCK_KEY)
