"""A real worker process against the real broker, registry and database: events of every domain
land once, duplicates count once, and every bad record is dead-lettered with its reason."""

from __future__ import annotations

import asyncio
import signal
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg

from hub.db.schema_registry import SchemaRegistryStore
from hub.kafka_topics import DEADLETTER, INGEST_TOPICS
from schemas.avro_schemas import DOMAINS, schema_text, subject_for
from schemas.codec import AvroCodec, frame
from schemas.models import Envelope, to_avro_datum
from tests.integration.helpers import (
    Services,
    eventually,
    hub_environment,
    produce,
    read_topic,
    start_hub,
    stop_process,
)
from tests.samples import samples


async def test_worker_records_events_once_and_dead_letters_bad_ones(
    services: Services, fresh_database: str, namespace: str, tmp_path: Path
) -> None:
    worker = start_hub(
        ["worker"],
        hub_environment(
            HUB_KAFKA_BOOTSTRAP=services.bootstrap,
            DATABASE_URL=fresh_database,
            HUB_TOPIC_NAMESPACE=namespace,
            HUB_WORKER_ID=f"{namespace}worker",
            HUB_STATE_DIR=str(tmp_path / "state"),
            HUB_WORKER_HEARTBEAT_S="1",
            HUB_TOPIC_PARTITIONS="3",
        ),
        tmp_path / "worker.log",
    )
    pool = await asyncpg.create_pool(fresh_database, min_size=1, max_size=2)
    try:
        await eventually(lambda: has_heartbeat(pool, worker.pid), 90, "the worker's heartbeat")
        codec = AvroCodec(SchemaRegistryStore(pool))
        now = datetime.now(UTC) - timedelta(minutes=1)

        async def encoded(domain: str, datum: dict[str, Any]) -> bytes:
            topic = f"{namespace}{INGEST_TOPICS[domain]}"
            return await codec.encode(subject_for(topic), schema_text(domain), datum)

        valid: dict[str, list[Envelope]] = {d: samples(d, now) + samples(d, now) for d in DOMAINS}
        records: dict[str, list[bytes]] = {domain: [] for domain in DOMAINS}
        for domain, events in valid.items():
            records[domain] += [await encoded(domain, to_avro_datum(e)) for e in events]
            records[domain] += [await encoded(domain, to_avro_datum(events[0]))]  # a replay

        vessel, cargo = samples("vessel", now)[1], samples("cargo", now)[1]
        vessel_id = await codec.register(
            subject_for(f"{namespace}{INGEST_TOPICS['vessel']}"), schema_text("vessel")
        )
        bad = {
            "UNDECODABLE": b"\xff\xfe not avro",
            "UNKNOWN_SCHEMA": frame(987_654, b"\x00"),
            "SCHEMA_INVALID": await encoded("vessel", to_avro_datum(vessel) | {"port": "pecll"}),
            "UNKNOWN_PORT": await encoded("vessel", to_avro_datum(vessel) | {"port": "ZZZZZ"}),
            "INVALID_IDENTIFIER": await encoded(
                "vessel", to_avro_datum(vessel) | {"imo": "9074728"}
            ),
            "IMPLAUSIBLE_TIME": await encoded(
                "vessel", to_avro_datum(vessel) | {"occurred_at": datetime(1999, 1, 1, tzinfo=UTC)}
            ),
            "MISSING_FIELD": await encoded("cargo", to_avro_datum(cargo) | {"crane_id": None}),
            "SCHEMA_MISMATCH": await encoded("cargo", to_avro_datum(cargo)),  # sent to vessel
        }
        truncated = frame(vessel_id, b"\x02")  # the header is fine, the payload is cut short
        records["vessel"] += [bad[reason] for reason in bad if reason != "MISSING_FIELD"]
        records["vessel"].append(truncated)
        records["cargo"].append(bad["MISSING_FIELD"])
        for domain, values in records.items():
            await produce(services.bootstrap, f"{namespace}{INGEST_TOPICS[domain]}", values)

        sent = sum(len(values) for values in records.values())
        unique = sum(len(events) for events in valid.values())
        rejected_expected = len(bad) + 1

        async def all_accounted() -> bool:
            row = await pool.fetchrow(
                "SELECT coalesce(sum(events), 0) AS events, coalesce(sum(duplicates), 0) AS dups "
                "FROM port_event_counts"
            )
            rejected = await pool.fetchval(
                "SELECT coalesce(sum(events), 0) FROM rejected_event_counts"
            )
            return bool(row["events"] + row["dups"] + rejected >= sent)

        await eventually(all_accounted, 60, "every record accounted for")
        await asyncio.sleep(1.5)  # a double count would show up now
        by_domain = {
            row["domain"]: (row["events"], row["dups"])
            for row in await pool.fetch(
                "SELECT domain, sum(events) AS events, sum(duplicates) AS dups "
                "FROM port_event_counts GROUP BY domain"
            )
        }
        assert by_domain == {d: (len(valid[d]), 1) for d in DOMAINS}
        assert await pool.fetchval("SELECT count(*) FROM ingested_events") == unique
        rejections = Counter(
            {row["reason"]: row["events"] for row in await pool.fetch(
                "SELECT reason, sum(events) AS events FROM rejected_event_counts GROUP BY reason"
            )}
        )  # fmt: skip
        assert rejections == Counter(dict.fromkeys(bad, 1)) + Counter({"UNDECODABLE": 1})

        dead = await read_topic(services.bootstrap, f"{namespace}{DEADLETTER}", rejected_expected)
        assert len(dead) == rejected_expected
        kept = {(dict(h)["hub-reason"].decode(), value) for value, h in dead}
        assert {(reason, value) for reason, value in bad.items()} <= kept
        assert ("UNDECODABLE", truncated) in kept
        for _, headers in dead:
            assert dict(headers)["hub-detail"]
    finally:
        await pool.close()
        status = stop_process(worker, signal.SIGTERM, 30)
    assert status == 0, (tmp_path / "worker.log").read_text()[-3000:]


async def has_heartbeat(pool: asyncpg.Pool, pid: int) -> bool:
    try:
        found = await pool.fetchval(
            "SELECT count(*) FROM worker_heartbeats WHERE pid = $1 "
            "AND last_seen > now() - interval '5 seconds'",
            pid,
        )
    except asyncpg.UndefinedTableError:
        return False  # the worker has not applied the migrations yet
    return bool(found)
