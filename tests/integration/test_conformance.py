"""The conformance check (issue 20): ``hub conformance`` as a subprocess on a generated day and on
a seeded-bad copy of it, and ``POST /v1/conformance`` on a real API with port tokens.

The generated day is one port's traffic from the simulator (the generator behind ``hub
generate``) with a fixed seed and start, written as ``hub generate --file`` writes it. It must
pass clean (exit status 0); the bad copy has :data:`SEEDED` problems planted in it and must fail
with exactly those (code and event) and exit status 1.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import fastavro
from aiokafka import AIOKafkaConsumer, TopicPartition
from stdnum import iso6346

from connectors.event_files import write_jsonl
from connectors.simulator import PortTrafficGenerator
from hub.db.tokens import create_port_token
from hub.domain.reference import BUNDLED_PORTS_FILE, load_ports
from hub.kafka_topics import DEADLETTER, INGEST_TOPICS
from hub.settings import PROJECT_ROOT
from schemas.avro_schemas import parsed_schema
from schemas.models import MODELS, to_avro_datum
from schemas.routing import domain_of
from tests.integration.helpers import Services, api_environment, hub_environment, running_api

PORT = "CRCAL"
OTHER_PORT = "CRMOB"
SEED = 1
START = datetime(2026, 11, 30, tzinfo=UTC)
AT = "2026-12-01T00:00:00+00:00"
"""The day's end: the check runs as if the day were sent when it ended (``--at``)."""

Line = dict[str, Any]


def generated_day() -> list[Line]:
    """One day of the port's traffic, as ``{"domain", "event"}`` lines."""
    ports = [port for port in load_ports(BUNDLED_PORTS_FILE) if port.unlocode == PORT]
    generator = PortTrafficGenerator(ports, seed=SEED, start=START)
    events = generator.events_between(START, START + timedelta(days=1))
    return [{"domain": domain_of(e), "event": e.model_dump(mode="json")} for e in events]


def write_lines(path: Path, lines: list[Line]) -> Path:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return path


def conformance(*arguments: str, **settings: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hub", "conformance", *arguments],
        env=hub_environment(**settings),
        capture_output=True,
        text=True,
        timeout=300,
        cwd=PROJECT_ROOT,
        check=False,
    )


# --- seeding problems into the day ----------------------------------------------------------


def _vessel(lines: list[Line], call: str, operation: str, facility: str) -> list[Line]:
    return [
        line
        for line in lines
        if line["domain"] == "vessel"
        and line["event"]["port_call_id"] == call
        and line["event"]["classifier"] == "ACT"
        and line["event"]["operation"] == operation
        and line["event"]["facility"] == facility
    ]


def _complete_calls(lines: list[Line]) -> list[str]:
    calls = sorted({line["event"]["port_call_id"] for line in lines if line["domain"] == "vessel"})
    needed = [("ARRI", "PORT"), ("ARRI", "BRTH"), ("STRT", "BRTH"), ("CMPL", "BRTH"),
              ("DEPA", "BRTH")]  # fmt: skip
    return [
        call
        for call in calls
        if all(_vessel(lines, call, op, fac) for op, fac in needed)
        and len(_vessel(lines, call, "ARRI", "BRTH")) == 1
    ]


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _set_time(event: dict[str, Any], moment: datetime) -> None:
    event["occurred_at"] = event["published_at"] = moment.isoformat()


def seed_problems(lines: list[Line]) -> tuple[list[Line], set[tuple[str, str]]]:
    """A copy of ``lines`` with problems planted, and the (code, event_id) of each."""
    bad = json.loads(json.dumps(lines))
    expected: set[tuple[str, str]] = set()
    first_call, second_call = _complete_calls(bad)[:2]

    # 1. The all fast (ATB) of a complete call is dropped: its first lift follows a gap.
    atb = _vessel(bad, first_call, "ARRI", "BRTH")[0]
    bad.remove(atb)
    strt = _vessel(bad, first_call, "STRT", "BRTH")[0]
    expected.add(("CALL_MILESTONE_MISSING", strt["event"]["event_id"]))

    # 2. A load of the other complete call an hour after the vessel left its berth.
    departed = _at(_vessel(bad, second_call, "DEPA", "BRTH")[0]["event"]["occurred_at"])
    load = next(
        line for line in bad
        if line["event"].get("move") == "LOAD" and line["event"]["port_call_id"] == second_call
    )  # fmt: skip
    _set_time(load["event"], departed + timedelta(hours=1))
    expected.add(("MOVE_OUTSIDE_BERTH_WINDOW", load["event"]["event_id"]))

    # 3. A gate-out retargeted to a box that is discharged later in the day.
    cargo = [line["event"] for line in bad if line["domain"] == "cargo"]
    gate_out, box = next(
        (gtot, disc["container"])
        for gtot in cargo
        if gtot["move"] == "GTOT"
        for disc in cargo
        if disc["move"] == "DISC"
        and _at(disc["occurred_at"]) > _at(gtot["occurred_at"])
        and not any(e["container"] == disc["container"] and e is not disc for e in cargo)
    )
    gate_out["container"] = box
    expected.add(("GATE_OUT_BEFORE_DISCHARGE", gate_out["event_id"]))

    # 4. A declaration of a complete call lists a container no event moves.
    declaration = next(
        line["event"] for line in bad
        if line["domain"] == "customs" and line["event"].get("port_call_id") == second_call
    )  # fmt: skip
    unknown = "ZZZU000001" + iso6346.calc_check_digit("ZZZU000001")
    declaration["containers"] = [*declaration["containers"], unknown]
    expected.add(("DECLARATION_CONTAINER_UNKNOWN", declaration["event_id"]))

    # 5. A yard move's container number with a wrong check digit.
    yard = next(line["event"] for line in bad if line["event"].get("move") == "YARD")
    digit = int(yard["container"][-1])
    yard["container"] = yard["container"][:-1] + str((digit + 1) % 10)
    expected.add(("INVALID_IDENTIFIER", yard["event_id"]))

    # 6. A customs event of another port.
    channel = next(
        line["event"] for line in bad
        if line["event"].get("kind") == "CHANNEL" and line["event"] is not declaration
    )  # fmt: skip
    channel["port"] = OTHER_PORT
    expected.add(("PORT_NOT_OWNED", channel["event_id"]))

    # 7. An event id used again for different content.
    twin = json.loads(json.dumps(next(line for line in bad if line["event"].get("move") == "GTIN")))
    twin["event"]["gross_kg"] += 1000
    bad.append(twin)
    expected.add(("DUPLICATE_ID_CONFLICT", twin["event"]["event_id"]))
    return bad, expected


def test_a_generated_day_passes_clean_and_a_seeded_bad_copy_fails_with_exactly_its_problems(
    tmp_path: Path,
) -> None:
    day = generated_day()
    events = [line["event"] for line in day]
    assert len(events) > 500, "the day has traffic"
    # The day as `hub generate --file` writes it (connectors.event_files).
    clean_file = tmp_path / "day.jsonl"
    write_jsonl(clean_file, (MODELS[line["domain"]].model_validate(line["event"]) for line in day))
    clean = conformance(PORT, str(clean_file), "--at", AT)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "Result: CLEAN" in clean.stdout
    assert "PASS  port call lifecycle complete and in order" in clean.stdout
    report = json.loads(conformance(PORT, str(clean_file), "--at", AT, "--json").stdout)
    assert report["clean"] is True and report["problems"] == []
    assert report["events"] == len(day) == report["accepted"]
    allowed = {kpi["kpi"] for kpi in report["kpis"] if kpi["allowed"]}
    assert {"port_hours_h", "berth_productivity_moves_per_h", "release_time_h"} <= allowed
    refused = {kpi["kpi"]: kpi for kpi in report["kpis"] if not kpi["allowed"]}
    assert "source AIS" in refused["ais_arrival_gap_min"]["why"]

    bad_lines, expected = seed_problems(day)
    assert len(expected) == 7
    bad_file = write_lines(tmp_path / "bad.jsonl", bad_lines)
    bad = conformance(PORT, str(bad_file), "--at", AT)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "Result: NOT CLEAN: 7 problems" in bad.stdout
    answer = json.loads(conformance(PORT, str(bad_file), "--at", AT, "--json").stdout)
    found = {(problem["code"], problem["event_id"]) for problem in answer["problems"]}
    assert found == expected
    assert len(answer["problems"]) == len(expected)
    for problem in answer["problems"]:
        assert problem["where"].startswith(f"{bad_file}:") and problem["fix"]
    failed = {check["check"] for check in answer["checks"] if check["result"] == "FAIL"}
    assert failed == {
        "identifiers (check digits)",
        "ports and ownership",
        "one content per event id",
        "port call lifecycle complete and in order",
        "moves inside their call's berth window",
        "gate-outs after discharge",
        "declarations linked to calls and containers",
    }


def test_without_at_an_old_day_is_too_late_and_usage_errors_are_status_2(tmp_path: Path) -> None:
    day = generated_day()[:50]
    feed = write_lines(tmp_path / "day.jsonl", day)
    # Checked now (not --at), with a grace shorter than the day's age.
    stale = json.loads(conformance(PORT, str(feed), "--json", HUB_LATE_GRACE_HOURS="1").stdout)
    assert {problem["code"] for problem in stale["problems"]} == {"TOO_LATE"}
    assert len(stale["problems"]) == 50

    unknown_port = conformance("XXAAA", str(feed))
    assert unknown_port.returncode == 2
    assert unknown_port.stderr.strip().count("\n") == 0
    assert "XXAAA is not one of the hub's ports" in unknown_port.stderr
    missing = conformance(PORT, str(tmp_path / "nowhere.jsonl"))
    assert missing.returncode == 2 and "cannot read" in missing.stderr
    garbage = tmp_path / "garbage.bin"
    garbage.write_bytes(bytes(range(256)) * 4)
    unreadable = conformance(PORT, str(garbage), "--at", AT)
    assert unreadable.returncode == 1
    assert "UNREADABLE" in unreadable.stdout


# --- the API --------------------------------------------------------------------------------


async def _end_offsets(bootstrap: str, topics: list[str]) -> dict[str, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    await consumer.start()
    try:
        existing = await consumer.topics()

        partitions = [
            TopicPartition(topic, p)
            for topic in topics
            if topic in existing
            for p in consumer.partitions_for_topic(topic) or ()
        ]
        ends = await consumer.end_offsets(partitions) if partitions else {}
        totals = dict.fromkeys(topics, 0)
        for partition, offset in ends.items():
            totals[partition.topic] += offset
        return totals
    finally:
        await consumer.stop()


async def test_post_conformance_checks_for_the_tokens_port_and_publishes_nothing(
    services: Services, fresh_database: str, namespace: str, tmp_path: Path
) -> None:
    day = generated_day()
    body = "".join(json.dumps(line) + "\n" for line in day).encode()
    environment = api_environment(services, fresh_database, namespace, tmp_path)
    topics = [namespace + topic for topic in (*INGEST_TOPICS.values(), DEADLETTER)]
    async with running_api(environment, tmp_path / "api.log") as client:
        pool = await asyncpg.create_pool(fresh_database, min_size=1, max_size=2)
        try:
            own = await create_port_token(pool, PORT, "tests")
            other = await create_port_token(pool, OTHER_PORT, "tests")
            before = await _end_offsets(services.bootstrap, topics)
            rows_before = await pool.fetchval("SELECT count(*) FROM ingested_events")

            def post(token: str, content: bytes, content_type: str) -> Any:
                return client.post(
                    "/v1/conformance",
                    params={"at": AT},
                    content=content,
                    headers={"Authorization": f"Bearer {token}", "Content-Type": content_type},
                    timeout=120,
                )

            mine = await post(own, body, "application/x-ndjson")
            assert mine.status_code == 200, mine.text
            assert mine.json()["clean"] is True
            assert mine.json()["events"] == len(day)
            theirs = await post(other, body, "application/x-ndjson")
            assert theirs.status_code == 200
            codes = {problem["code"] for problem in theirs.json()["problems"]}
            assert codes == {"PORT_NOT_OWNED"}
            assert len(theirs.json()["problems"]) == len(day)
            assert theirs.json()["publisher"] == OTHER_PORT

            hostile: list[tuple[bytes, str, int]] = [
                (b"\x00" * 100, "application/x-ndjson", 422),
                (bytes(range(256)) * 64, "application/x-ndjson", 422),
                (b"[" * 100_000 + b"]" * 100_000, "application/x-ndjson", 422),
                (b'{"a":' * 5000 + b"1" + b"}" * 5000, "application/json", 422),
                (b"Obj\x01" + bytes(range(256)) * 8, "application/avro", 422),
                (b"UNB+\x00\xff'", "application/edifact", 422),
                (b'{"event_type": "cargo.move", "x": "\\ud800"}', "application/json", 200),
                (body[:100], "text/plain", 415),
                (b"x" * (5 * 2**20 + 1), "application/x-ndjson", 413),
            ]
            for content, content_type, status in hostile:
                answer = await post(own, content, content_type)
                assert answer.status_code == status, (content[:40], answer.text[:300])
                assert "error" in answer.json() or "problems" in answer.json()
            # Avro: the day's vessel events in an object container file of the hub's schema.
            vessel = [
                MODELS["vessel"].model_validate(line["event"])
                for line in day
                if line["domain"] == "vessel"
            ]
            avro = io.BytesIO()
            fastavro.writer(avro, parsed_schema("vessel"), [to_avro_datum(e) for e in vessel])
            as_avro = await post(own, avro.getvalue(), "application/avro")
            assert as_avro.status_code == 200, as_avro.text
            assert as_avro.json()["clean"] is True
            assert as_avro.json()["events"] == len(vessel)
            # EDIFACT: Callao's interchange is not CRCAL's (checked as of its own day).
            edifact = (PROJECT_ROOT / "tests/fixtures/edifact/coarri_callao.edi").read_bytes()
            as_edifact = await client.post(
                "/v1/conformance",
                params={"at": "2026-03-02T12:00:00+00:00"},
                content=edifact,
                headers={"Authorization": f"Bearer {own}", "Content-Type": "application/edifact"},
            )
            assert as_edifact.status_code == 200, as_edifact.text
            problems = as_edifact.json()["problems"]
            assert problems and {p["code"] for p in problems} == {"PORT_NOT_OWNED"}
            assert problems[0]["where"].startswith("body:message ")

            nobody = await client.post("/v1/conformance", content=body)
            assert nobody.status_code == 401
            # The token is checked before any parameter: a stranger learns nothing.
            stranger = await client.post("/v1/conformance", params={"at": "x" * 500})
            assert stranger.status_code == 401
            for params, status in (
                ({"at": "x" * 500}, 422),
                ({"domain": "y" * 100}, 422),
                ({"at": "9999-12-31T23:59:59+00:00"}, 200),
                ({"at": "0001-01-01T00:00:00"}, 200),
            ):
                answer = await client.post(
                    "/v1/conformance",
                    params=params,
                    content=body[:2000].rsplit(b"\n", 1)[0],
                    headers={"Authorization": f"Bearer {own}"},
                )
                assert answer.status_code == status, (params, answer.text[:300])

            assert await _end_offsets(services.bootstrap, topics) == before
            assert await pool.fetchval("SELECT count(*) FROM ingested_events") == rows_before
        finally:
            await pool.close()
