"""The event store at region scale (issue 18, item 4) against the real PostgreSQL: monthly
partitions, keys as columns, de-duplication inside the window, retention, and the migration of a
database of the old layout."""

from __future__ import annotations

import asyncio
import json
import shutil
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg

from hub.db.events import (
    IngestedEvent,
    drop_expired_partitions,
    ensure_partitions,
    maintain_partitions,
    record_events,
)
from hub.db.kpi_reads import call_vessel_events
from hub.db.kpi_store import event_ids_of, events_of, keys_referring_to, payloads_of
from hub.db.migrations import MIGRATIONS_DIR, migrate
from hub.db.ownership import event_ports, submitting_ports
from hub.domain.keys import CertificateKey, EntityKey, KeyKind

PORT = "PECLL"
T = datetime(2026, 3, 14, 12, tzinfo=UTC)


def _event(
    domain: str,
    keys: tuple[str, ...],
    *,
    at: datetime = T,
    port: str = PORT,
    event_id: uuid.UUID | None = None,
    origin: str | None = None,
) -> IngestedEvent:
    event_id = event_id or uuid.uuid4()
    return IngestedEvent(
        event_id=event_id,
        domain=domain,
        event_type=f"{domain}.test",
        port=port,
        occurred_at=at,
        payload=json.dumps({"event_id": str(event_id), "domain": domain}),
        entity_keys=keys,
        origin=origin,
    )


def _events() -> list[IngestedEvent]:
    """Events of every kind of key, one of them in another month and one of another port."""
    call = EntityKey.port_call(PORT, "V-1")
    container = EntityKey.container(PORT, "MSCU1234565")
    discharge = uuid.uuid4()
    return [
        _event("vessel", (call.text,)),
        _event("vessel", (call.text,), at=T - timedelta(days=40)),
        _event(
            "cargo",
            (call.text, container.text, EntityKey.move(PORT, discharge).text),
            event_id=discharge,
        ),
        _event(
            "cargo",
            (container.text, EntityKey.truck_visit(PORT, "TV-1").text),
        ),
        _event(  # a retraction of the discharge
            "cargo",
            (container.text, EntityKey.move(PORT, discharge).text),
        ),
        _event(
            "customs",
            (
                EntityKey.declaration(PORT, "D-1").text,
                call.reference().text,
                container.reference().text,
                EntityKey.container(PORT, "TGHU7654321").reference().text,
                CertificateKey("CO-1").text,
            ),
        ),
        _event("certificate", (CertificateKey("CO-1").text,), port="BRSSZ"),
        _event("cargo", (EntityKey.container("BRSSZ", "X").text, "odd key"), port="BRSSZ"),
    ]


async def _old_record(connection: asyncpg.Connection, events: list[IngestedEvent]) -> None:
    """Store ``events`` as the hub did before migration 0016 (one row per key)."""
    for event in events:
        await connection.execute(
            "INSERT INTO ingested_events (event_id, domain, event_type, port, occurred_at, "
            "payload, origin) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            event.event_id, event.domain, event.event_type, event.port, event.occurred_at,
            event.payload, event.origin,
        )  # fmt: skip
        await connection.executemany(
            "INSERT INTO event_entity_keys (key, event_id) VALUES ($1, $2)",
            [(key, event.event_id) for key in event.entity_keys],
        )


async def _lookups(connection: asyncpg.Connection, keys: list[str]) -> dict[str, object]:
    """What every reader of the store answers about ``keys``, one key at a time and all at once."""
    answers: dict[str, object] = {}
    for key in keys:
        answers[f"ids {key}"] = await event_ids_of(connection, [key])
        answers[f"events {key}"] = sorted(await events_of(connection, [key]))
    answers["events all"] = sorted(await events_of(connection, keys))
    answers["declarations"] = await keys_referring_to(
        connection, [k for k in keys if k.startswith("ref_")], KeyKind.DECLARATION
    )
    answers["holders"] = await submitting_ports(connection, [CertificateKey("CO-1").text])
    answers["timeline"] = [
        row["payload"] for row in await call_vessel_events(connection, PORT, "V-1")
    ]
    return answers


async def test_the_migration_keeps_every_event_and_key(fresh_database: str, tmp_path: Path) -> None:
    for source in MIGRATIONS_DIR.glob("*.sql"):
        if int(source.name[:4]) <= 14:
            shutil.copy(source, tmp_path / source.name)
    events = _events()
    keys = sorted({key for event in events for key in event.entity_keys})
    ids = [event.event_id for event in events]
    connection = await asyncpg.connect(fresh_database)
    try:
        assert (await migrate(connection, tmp_path))[-1] == 14
        await _old_record(connection, events)
        before = await _old_lookups(connection, keys, ids)
        applied = await migrate(connection)
        assert 16 in applied
        assert await connection.fetchval("SELECT to_regclass('event_entity_keys')") is None
        assert await connection.fetchval("SELECT count(*) FROM ingested_events") == len(events)
        assert await _lookups(connection, keys) == before["lookups"]
        assert sorted(await payloads_of(connection, ids)) == before["payloads"]
        assert await event_ports(connection, ids) == before["ports"]
        # Two months of events: two partitions of each table.
        partitions = await connection.fetchval(
            "SELECT count(*) FROM pg_inherits WHERE inhparent = 'ingested_events'::regclass"
        )
        assert partitions == 2
        # A record read again and a publication again are told apart as before.
        first = events[0]
        assert await record_events(connection, [first]) == set()
        again = _event("vessel", first.entity_keys, event_id=first.event_id, origin="x/0/1")
        assert await record_events(connection, [again]) == set()
        counts = await connection.fetchrow(
            "SELECT sum(events) AS e, sum(duplicates) AS d, sum(redeliveries) AS r "
            "FROM port_event_counts"
        )
        assert counts is not None
        # The old rows were not counted through record_events; the two deliveries were: a
        # duplicate without an origin, a duplicate from another origin.
        assert (counts["e"], counts["d"], counts["r"]) == (0, 2, 0)
        assert await connection.fetchval("SELECT count(*) FROM ingested_events") == len(events)
    finally:
        await connection.close()


async def _old_lookups(
    connection: asyncpg.Connection, keys: list[str], ids: list[uuid.UUID]
) -> dict[str, object]:
    """The readers' answers in the old layout, with the old readers' SQL."""
    answers: dict[str, object] = {}
    for key in keys:
        rows = await connection.fetch(
            "SELECT DISTINCT event_id FROM event_entity_keys WHERE key = $1", key
        )
        answers[f"ids {key}"] = {row["event_id"] for row in rows}
        answers[f"events {key}"] = sorted(await _old_events_of(connection, [key]))
    answers["events all"] = sorted(await _old_events_of(connection, keys))
    rows = await connection.fetch(
        "SELECT DISTINCT other.key FROM event_entity_keys referring "
        "JOIN event_entity_keys other USING (event_id) "
        "WHERE referring.key = ANY($1::text[]) AND left(other.key, length($2)) = $2",
        [k for k in keys if k.startswith("ref_")],
        KeyKind.DECLARATION.prefix,
    )
    answers["declarations"] = {row["key"] for row in rows}
    rows = await connection.fetch(
        "SELECT DISTINCT ON (k.key) k.key, e.port "
        "FROM event_entity_keys k JOIN ingested_events e USING (event_id) "
        "WHERE k.key = $1 AND e.domain = 'certificate' ORDER BY k.key, e.ingested_at, e.event_id",
        CertificateKey("CO-1").text,
    )
    answers["holders"] = {row["key"]: row["port"].strip() for row in rows}
    rows = await connection.fetch(
        "SELECT e.payload FROM event_entity_keys k JOIN ingested_events e USING (event_id) "
        "WHERE k.key = $1 AND e.domain = 'vessel' ORDER BY e.occurred_at",
        EntityKey.port_call(PORT, "V-1").text,
    )
    answers["timeline"] = [row["payload"] for row in rows]
    payloads = await connection.fetch(
        "SELECT event_id, domain, payload FROM ingested_events WHERE event_id = ANY($1::uuid[])",
        ids,
    )
    ports = await connection.fetch(
        "SELECT event_id, port FROM ingested_events WHERE event_id = ANY($1::uuid[])", ids
    )
    return {
        "lookups": answers,
        "payloads": sorted((r["event_id"], r["domain"], r["payload"]) for r in payloads),
        "ports": {r["event_id"]: r["port"].strip() for r in ports},
    }


async def _old_events_of(connection: asyncpg.Connection, keys: list[str]) -> list[tuple[str, str]]:
    rows = await connection.fetch(
        "SELECT domain, payload FROM ingested_events WHERE event_id IN "
        "(SELECT event_id FROM event_entity_keys WHERE key = ANY($1::text[]))",
        keys,
    )
    return [(row["domain"], row["payload"]) for row in rows]


async def test_events_are_found_by_every_key_they_were_stored_under(fresh_database: str) -> None:
    events = _events()
    connection = await asyncpg.connect(fresh_database)
    try:
        await migrate(connection)
        assert await record_events(connection, events) == {e.event_id for e in events}
        for event in events:
            for key in event.entity_keys:
                assert event.event_id in await event_ids_of(connection, [key]), key
        everything = {key for event in events for key in event.entity_keys}
        assert await event_ids_of(connection, everything) == {e.event_id for e in events}
        assert len(await events_of(connection, everything)) == len(events)
        # Nothing is found under a key it was not stored under.
        assert await event_ids_of(connection, [EntityKey.port_call("BRSSZ", "V-1").text]) == set()
        assert await event_ids_of(connection, [EntityKey.move(PORT, uuid.uuid4()).text]) == set()
        # The truck visit's gate move is not a move of its own.
        gate = events[3]
        assert await event_ids_of(connection, [EntityKey.move(PORT, gate.event_id).text]) == set()
    finally:
        await connection.close()


async def test_a_duplicate_is_found_inside_the_window_only(fresh_database: str) -> None:
    connection = await asyncpg.connect(fresh_database)
    try:
        await migrate(connection)
        end_of_march = datetime(2026, 3, 30, 12, tzinfo=UTC)
        stored = _event("vessel", ("port_call:PECLL/V-9",), at=end_of_march, origin="a/0/1")
        assert await record_events(connection, [stored]) == {stored.event_id}
        # The same id 3 days later in event time, in another month: still that event.
        later = _event("vessel", (), at=end_of_march + timedelta(days=3), event_id=stored.event_id)
        assert await record_events(connection, [later]) == set()
        # Further apart than the window (the late grace refuses anything that late in the
        # hub): another event under the same id; a wider window finds the first.
        far = _event("vessel", (), at=end_of_march - timedelta(days=8), event_id=stored.event_id)
        assert await record_events(connection, [far], dedup_window=timedelta(days=9)) == set()
        assert await record_events(connection, [far]) == {stored.event_id}
        counts = await connection.fetchrow(
            "SELECT sum(events) AS e, sum(duplicates) AS d FROM port_event_counts"
        )
        assert counts is not None
        assert (counts["e"], counts["d"]) == (2, 2)
        # The first delivery kept its keys: the later ones, stored or not, added none.
        assert await event_ids_of(connection, ["port_call:PECLL/V-9"]) == {stored.event_id}
    finally:
        await connection.close()


def _months_ago(now: datetime, months: int) -> datetime:
    years, month = divmod(now.month - 1 - months, 12)
    return datetime(now.year + years, month + 1, 15, 12, tzinfo=UTC)


async def test_retention_drops_whole_months_older_than_it(fresh_database: str) -> None:
    now = datetime.now(UTC)
    ages = [30, 26, 25, 2, 0]
    events = [
        _event("vessel", (f"port_call:PECLL/{age}",), at=_months_ago(now, age)) for age in ages
    ]
    connection = await asyncpg.connect(fresh_database)
    try:
        await migrate(connection)
        await record_events(connection, events)
        await connection.execute(
            "INSERT INTO duplicate_origins (event_id, origin) VALUES ($1, 'b/0/1'), ($2, 'b/0/2')",
            events[0].event_id, events[-1].event_id,
        )  # fmt: skip
        dropped = await drop_expired_partitions(connection, 25)
        suffixes = [_months_ago(now, age).strftime("%Y_%m") for age in (30, 26)]
        assert dropped == [
            *(f"ingested_events_{suffix}" for suffix in suffixes),
            *(f"event_other_keys_{suffix}" for suffix in suffixes),
        ]
        kept = {
            row["event_id"]
            for row in await connection.fetch("SELECT event_id FROM ingested_events")
        }
        assert kept == {event.event_id for event in events[2:]}
        origins = await connection.fetch("SELECT event_id FROM duplicate_origins")
        assert [row["event_id"] for row in origins] == [events[-1].event_id]
        assert await drop_expired_partitions(connection, 25) == []
        # An event of a dropped month (the grace would refuse it) gets its month back.
        assert await ensure_partitions(connection, [events[0].occurred_at]) == 1
    finally:
        await connection.close()


async def test_the_upkeep_creates_the_next_month_ahead_and_drops_expired_ones(
    fresh_database: str,
) -> None:
    pool = await asyncpg.create_pool(fresh_database, min_size=1, max_size=2)
    try:
        async with pool.acquire() as connection:
            await migrate(connection)
        old = _event("vessel", (), at=datetime(2020, 1, 31, 23, tzinfo=UTC))
        await record_events(pool, [old])
        now = datetime(2026, 12, 3, tzinfo=UTC)
        assert await maintain_partitions(pool, 25, now=now) == [
            "ingested_events_2020_01",
            "event_other_keys_2020_01",
        ]
        months = {
            row["relname"]
            for row in await pool.fetch(
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                "WHERE i.inhparent = 'ingested_events'::regclass"
            )
        }
        assert months == {"ingested_events_2026_12", "ingested_events_2027_01"}
        assert await maintain_partitions(pool, 25, now=now) == []
    finally:
        await pool.close()


async def test_two_workers_meeting_a_new_month_together_both_store(fresh_database: str) -> None:
    pool = await asyncpg.create_pool(fresh_database, min_size=2, max_size=2)
    try:
        async with pool.acquire() as connection:
            await migrate(connection)
        at = datetime(2031, 5, 1, tzinfo=UTC)
        batches = [[_event("vessel", (f"port_call:PECLL/{n}",), at=at)] for n in range(2)]
        recorded = await asyncio.gather(*(record_events(pool, batch) for batch in batches))
        assert recorded == [{batch[0].event_id} for batch in batches]
        assert await pool.fetchval("SELECT count(*) FROM ingested_events_2031_05") == 2
    finally:
        await pool.close()
