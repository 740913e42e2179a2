"""Migrations and the event store against the real PostgreSQL."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest

from hub.db.events import IngestedEvent, record_events
from hub.db.migrations import MIGRATIONS_DIR, discover, migrate
from hub.db.ports import ports_with_counts, upsert_ports
from hub.domain.reference import BUNDLED_PORTS_FILE, load_ports
from hub.errors import DatabaseError

EXPECTED_TABLES = {
    "schema_migrations",
    "ports",
    "ingested_events",
    "port_event_counts",
    "rejected_event_counts",
    "worker_heartbeats",
}


async def test_migrations_apply_in_order_and_are_recorded(fresh_database: str) -> None:
    connection = await asyncpg.connect(fresh_database)
    try:
        applied = await migrate(connection)
        versions = [m.version for m in discover()]
        assert applied == versions
        recorded = await connection.fetch(
            "SELECT version, name, checksum FROM schema_migrations ORDER BY version"
        )
        assert [(r["version"], r["checksum"]) for r in recorded] == [
            (m.version, m.checksum) for m in discover()
        ]
        tables = {
            row["tablename"]
            for row in await connection.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            )
        }
        assert tables >= EXPECTED_TABLES
        assert await migrate(connection) == []
    finally:
        await connection.close()


async def test_an_applied_migration_that_changed_is_refused(
    fresh_database: str, tmp_path: Path
) -> None:
    for source in MIGRATIONS_DIR.glob("*.sql"):
        (tmp_path / source.name).write_text(source.read_text())
    connection = await asyncpg.connect(fresh_database)
    try:
        await migrate(connection, tmp_path)
        first = sorted(tmp_path.glob("*.sql"))[0]
        first.write_text(first.read_text() + "\n-- edited after it was applied\n")
        changed = f"{re.escape(first.name)} changed after it was applied"
        with pytest.raises(DatabaseError, match=changed):
            await migrate(connection, tmp_path)
    finally:
        await connection.close()


async def test_a_failing_migration_leaves_nothing_half_applied(
    fresh_database: str, tmp_path: Path
) -> None:
    (tmp_path / "0001_good.sql").write_text("CREATE TABLE good (id int);")
    (tmp_path / "0002_bad.sql").write_text("CREATE TABLE half (id int); SELECT * FROM missing;")
    connection = await asyncpg.connect(fresh_database)
    try:
        with pytest.raises(DatabaseError, match=r"0002_bad\.sql failed"):
            await migrate(connection, tmp_path)
        assert await connection.fetchval("SELECT max(version) FROM schema_migrations") == 1
        assert await connection.fetchval("SELECT to_regclass('half')") is None
    finally:
        await connection.close()


async def test_recording_the_same_events_twice_counts_them_once(fresh_database: str) -> None:
    connection = await asyncpg.connect(fresh_database)
    try:
        await migrate(connection)
        await upsert_ports(connection, load_ports(BUNDLED_PORTS_FILE))
        occurred = datetime(2026, 3, 1, 12, tzinfo=UTC)
        batch = [
            IngestedEvent(uuid.uuid4(), "vessel", "vessel", port, occurred)
            for port in ["PECLL"] * 3 + ["BRSSZ"] * 2
        ]
        await record_events(connection, batch)
        await record_events(connection, batch)  # re-delivery of the whole batch
        await record_events(connection, batch[:1])
        counts = {row["unlocode"]: row["events"] for row in await ports_with_counts(connection)}
        assert counts["PECLL"] == 3
        assert counts["BRSSZ"] == 2
        assert sum(counts.values()) == 5
        assert len(counts) == len(load_ports(BUNDLED_PORTS_FILE))
    finally:
        await connection.close()
