"""What recording events costs PostgreSQL: ``record_events`` over simulated traffic, timed.

Not a test: run it against the test PostgreSQL (``.hub/test-services``) to compare two layouts of
the event store (issue 18, item 4)::

    PYTHONPATH=. .venv/bin/python -m bench.event_store --events 100000 --batch 2000

It generates ``--events`` events with the port traffic simulator, stores them as the worker's
intake would (the same entity keys and origins), in batches of ``--batch`` into a fresh database,
and prints one JSON line: the wall time of ``record_events`` per event, the CPU time of the
PostgreSQL backend per event (read from ``/proc``: the server runs on this machine), and the size
of the event tables and their indexes per event. The database is dropped afterwards.

Measured on the 2-core development machine (100,000 simulated events, batches of 2,000, other
work running; PostgreSQL CPU per event, ranges of 2 to 10 runs), issue 18 item 4:

- before (3fc03a5): 242-270 µs, 1,435 bytes an event in tables and indexes; most of it was a
  per-row subquery of the recording statement over the batch (O(n²): ~200 µs an event at 2,000);
- that subquery made a join, old layout: 51-62 µs, 1,435 bytes;
- monthly partitions, keys as columns: 34-51 µs (median 44), 1,083 bytes (758 of them the row,
  JSON payload 634 characters on average; as Avro it would be ~201 bytes).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pickle
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg

from connectors.simulator import PortTrafficGenerator
from hub.db.events import IngestedEvent, record_events
from hub.db.migrations import migrate
from hub.db.ports import upsert_ports
from hub.domain.reference import BUNDLED_PORTS_FILE, load_ports
from hub.local.postgres import LocalPostgres
from hub.settings import PROJECT_ROOT
from schemas.routing import domain_of
from streams.intake import to_store

_TEST_SERVICES = PROJECT_ROOT / ".hub" / "test-services"
_TEST_POSTGRES_PORT = int(os.environ.get("HUB_TEST_POSTGRES_PORT", "55433"))
# The tables of the event store, in either layout (absent ones are skipped).
_TABLES = ("ingested_events", "event_entity_keys", "event_other_keys")
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
# A table's size, or the sum over its partitions if it is partitioned.
_SIZE = """
SELECT CASE WHEN c.relkind = 'p'
            THEN (SELECT coalesce(sum({size}(p.relid)), 0) FROM pg_partition_tree(c.oid) p)
            ELSE {size}(c.oid) END
FROM pg_class c WHERE c.oid = $1::regclass
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=18)
    parser.add_argument("--days", type=float, default=40.0, help="event time starts this long ago")
    arguments = parser.parse_args()
    print(json.dumps(asyncio.run(_bench(arguments))))


def _events(count: int, seed: int, days: float) -> list[IngestedEvent]:
    """The events, generated once per (count, seed, days) and kept in a temporary file: the
    simulator's warm-up takes a minute."""
    cache = Path(tempfile.gettempdir()) / f"hub-event-store-bench-{count}-{seed}-{days}.pickle"
    if cache.exists():
        events: list[IngestedEvent] = pickle.loads(cache.read_bytes())
        return events
    events = _generate(count, seed, days)
    cache.write_bytes(pickle.dumps(events))
    return events


def _generate(count: int, seed: int, days: float) -> list[IngestedEvent]:
    ports = load_ports(BUNDLED_PORTS_FILE)
    start = datetime.now(UTC) - timedelta(days=days)
    generator = PortTrafficGenerator(ports, seed=seed, start=start).events()
    stored: list[IngestedEvent] = []
    for number, model in enumerate(generator):
        if number == count:
            break
        domain = domain_of(model)
        stored.append(to_store(domain, model, f"ingest.{domain}/0/{number}"))
    return stored


def _backend_cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS  # utime + stime


async def _bench(arguments: argparse.Namespace) -> dict[str, object]:
    began = time.monotonic()
    events = _events(arguments.events, arguments.seed, arguments.days)
    generated_s = time.monotonic() - began
    postgres = LocalPostgres(_TEST_SERVICES, _TEST_POSTGRES_PORT, database="hub_test")
    name = f"hub_bench_store_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(postgres.url("postgres"))
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        connection = await asyncpg.connect(postgres.url(name))
        try:
            await migrate(connection)
            await upsert_ports(connection, load_ports(BUNDLED_PORTS_FILE))
            backend = await connection.fetchval("SELECT pg_backend_pid()")
            wall = 0.0
            cpu_before = _backend_cpu_s(backend)
            for offset in range(0, len(events), arguments.batch):
                batch = events[offset : offset + arguments.batch]
                began = time.perf_counter()
                await record_events(connection, batch)
                wall += time.perf_counter() - began
            cpu = _backend_cpu_s(backend) - cpu_before
            # A re-delivery of the last batch: what de-duplication costs.
            began = time.perf_counter()
            await record_events(connection, events[-arguments.batch :])
            redelivery = time.perf_counter() - began
            stored = await connection.fetchval("SELECT count(*) FROM ingested_events")
            size = 0
            for table in _TABLES:
                if await connection.fetchval("SELECT to_regclass($1)", table) is not None:
                    size += await connection.fetchval(
                        _SIZE.format(size="pg_total_relation_size"), table
                    )
            heap = await connection.fetchval(
                _SIZE.format(size="pg_relation_size"), "ingested_events"
            )
            payload = sum(len(event.payload) for event in events) / len(events)
            keys = sum(len(event.entity_keys) for event in events) / len(events)
        finally:
            await connection.close()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
    n = len(events)
    return {
        "events": n,
        "stored": stored,
        "batch": arguments.batch,
        "generated_s": round(generated_s, 1),
        "record_wall_us_per_event": round(wall / n * 1e6, 1),
        "postgres_cpu_us_per_event": round(cpu / n * 1e6, 1),
        "redelivered_batch_wall_us_per_event": round(redelivery / arguments.batch * 1e6, 1),
        "bytes_per_event_tables_and_indexes": round(size / n),
        "bytes_per_event_events_heap": round(heap / n),
        "mean_payload_chars": round(payload),
        "mean_entity_keys": round(keys, 2),
    }


if __name__ == "__main__":
    main()
