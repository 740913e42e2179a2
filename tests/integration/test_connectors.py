"""The EDIFACT and AIS connectors against a real broker, worker and database (issue 8)."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx

from connectors.ais import load_port_areas
from connectors.simulator import PortTrafficGenerator
from connectors.traffic_files import ais_log, edifact_interchanges
from hub.db.tokens import create_port_token
from hub.domain.kpis.reference import all_kpis
from hub.domain.reference import BUNDLED_PORTS_FILE, load_ports
from hub.kafka_topics import DEADLETTER, INGEST_TOPICS
from hub.settings import PROJECT_ROOT
from schemas.models import Classifier, Envelope, Facility, Operation, VesselEvent
from tests.integration.helpers import (
    Services,
    api_environment,
    eventually,
    kpi_differences,
    kpi_key,
    publish_events,
    read_topic,
    running_api,
    start_hub,
    stop_process,
    stored_kpis,
    window_differences,
    worker_environment,
    worker_started,
)

FIXTURES = PROJECT_ROOT / "tests" / "fixtures" / "edifact"
PORTS = {"PECLL", "CLSAI", "ECGYE"}


def generated_days(days: int, seed: int, scale: float = 0.05) -> list[Envelope]:
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    ports = [p for p in load_ports(BUNDLED_PORTS_FILE) if p.unlocode in PORTS]
    generator = PortTrafficGenerator(
        ports, seed=seed, start=end - timedelta(days=days + 1), scale=scale
    )
    return list(generator.events_between(end - timedelta(days=days), end))


def run_hub(arguments: list[str], environment: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hub", *arguments],
        env=environment,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def headers_of(record: tuple[bytes, list[tuple[str, bytes]]]) -> dict[str, str]:
    return {name: value.decode() for name, value in record[1]}


async def test_a_generated_day_sent_as_edifact_gives_the_kpis_of_the_avro_day(
    services: Services, fresh_database: str, namespace: str, tmp_path: Path
) -> None:
    day = generated_days(1, seed=4)
    # An event read from EDIFACT is published when the hub receives it (the interchange does
    # not say when a terminal gave an estimate): these estimates all come after the arrivals
    # they estimate, so, as in the reference on the events as sent, no ETA error is measured.
    received = datetime.now(UTC)
    as_sent = [event.model_copy(update={"published_at": received}) for event in day]
    expected = {kpi_key(value): value for value in all_kpis(as_sent)}
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    files = list(edifact_interchanges(day, prepared_at=datetime.now(UTC), per_file=400))
    for file in files:
        (inbox / file.name).write_text(file.text, encoding="utf-8")
    # A copy of the first interchange cut in the middle of a message, and one whose second
    # message has a segment the profile does not know (its other messages are duplicates).
    first = files[0].text.splitlines(keepends=True)
    (inbox / "zz-truncated.edi").write_text("".join(first[: len(first) // 2]), encoding="utf-8")
    unh = [i for i, line in enumerate(first) if line.startswith("UNH+")]
    assert len(unh) >= 2, "the first interchange should carry several messages"
    spoilt = [*first[: unh[1] + 2], "XYZ+1+2'\n", *first[unh[1] + 2 :]]
    (inbox / "zz-unmappable.edi").write_text("".join(spoilt), encoding="utf-8")

    environment = worker_environment(services, fresh_database, namespace, tmp_path)
    worker = start_hub(["worker"], environment, tmp_path / "worker.log")
    pool = await asyncpg.create_pool(fresh_database, min_size=1, max_size=2)
    try:
        await eventually(lambda: worker_started(pool), 90, "the worker's start")
        watched = await asyncio.to_thread(
            run_hub, ["edifact", "watch", str(inbox), "--once", "--settle", "0"], environment
        )
        assert watched.returncode == 4, watched.stdout + watched.stderr  # something refused
        assert sorted(p.name for p in (inbox / "done").iterdir()) == sorted(f.name for f in files)
        rejected = sorted(p.name for p in (inbox / "rejected").iterdir())
        assert rejected == [
            "zz-truncated.edi",
            "zz-truncated.edi.problems.txt",
            "zz-unmappable.edi",
            "zz-unmappable.edi.problems.txt",
        ]
        problems = (inbox / "rejected" / "zz-unmappable.edi.problems.txt").read_text()
        assert f"line {unh[1] + 3}, segment XYZ" in problems, problems
        assert "zz-truncated.edi: interchange" in watched.stdout
        assert "refused (MALFORMED_INTERCHANGE)" in watched.stdout

        # A move's entity id is its event id, which EDIFACT does not carry (the connector
        # derives one from the content): moves are compared by what they measure.
        entities = {key: value for key, value in expected.items() if key[0] != "move"}
        moves = Counter(
            (v.port, v.kpi, v.value, v.anchor_time) for k, v in expected.items() if k[0] == "move"
        )

        async def differences() -> list[str]:
            stored = await stored_kpis(pool)
            found = kpi_differences(entities, {k: v for k, v in stored.items() if k[0] != "move"})
            stored_moves = Counter(
                (r["port"].strip(), r["kpi"], r["value"], r["anchor_time"])
                for k, r in stored.items()
                if k[0] == "move"
            )
            if stored_moves != moves:
                found.append(f"moves: {len(moves - stored_moves)} missing, "
                             f"{len(stored_moves - moves)} unexpected")  # fmt: skip
            return found + await window_differences(pool, expected.values())

        async def equal() -> bool:
            return await differences() == []

        try:
            await eventually(equal, 180, "the KPIs from EDIFACT to equal the reference", 2)
        except AssertionError:
            found = await differences()
            raise AssertionError(f"{len(found)} differences: {found[:5]}") from None

        dead = await read_topic(services.bootstrap, f"{namespace}{DEADLETTER}", 2)
        reasons = sorted(headers_of(record)["hub-reason"] for record in dead)
        assert reasons == ["MALFORMED_INTERCHANGE", "UNMAPPABLE_MESSAGE"]
        refused_message = next(
            r for r in dead if headers_of(r)["hub-reason"] == "UNMAPPABLE_MESSAGE"
        )
        assert refused_message[0].startswith(b"UNH+") and b"XYZ+1+2'" in refused_message[0]
        counted = await pool.fetch(
            "SELECT reason, events FROM rejected_event_counts WHERE domain = 'edifact'"
        )
        assert sorted((r["reason"], r["events"]) for r in counted) == [
            ("MALFORMED_INTERCHANGE", 1),
            ("UNMAPPABLE_MESSAGE", 1),
        ]
    finally:
        await pool.close()
        stop_process(worker, signal.SIGTERM, 30)


async def test_an_interchange_over_http_is_published_or_refused_whole(
    services: Services, fresh_database: str, namespace: str, tmp_path: Path
) -> None:
    environment = api_environment(services, fresh_database, namespace, tmp_path) | {
        "HUB_LATE_GRACE_HOURS": str(24 * 3650),  # the fixtures are from March 2026
    }
    async with running_api(environment, tmp_path / "api.log") as client:
        connection = await asyncpg.connect(fresh_database)
        try:
            tokens = {
                port: await create_port_token(connection, port, "tests")
                for port in ("PECLL", "BRSSZ")
            }
        finally:
            await connection.close()

        async def post(name: str, port: str = "PECLL") -> httpx.Response:
            body = (FIXTURES / name).read_bytes()
            auth = {"Authorization": f"Bearer {tokens[port]}"}
            return await client.post("/v1/edifact", content=body, headers=auth)

        assert (await client.post("/v1/edifact", content=b"UNA")).status_code == 401
        good = await post("coarri_callao.edi")
        assert good.status_code == 200, good.text
        answer = good.json()
        assert answer["status"] == "accepted"
        published = sum(message["events"] for message in answer["messages"])
        assert published > 0

        bad_count = await post("bad_unt_count.edi", "BRSSZ")
        assert bad_count.status_code in (200, 422), bad_count.text
        refused = [m for m in bad_count.json()["messages"] if m["status"] == "rejected"]
        assert refused and all(m["reason"] == "UNMAPPABLE_MESSAGE" for m in refused)
        assert any("UNT" in problem for m in refused for problem in m["problems"])
        assert all("line " in problem for m in refused for problem in m["problems"])

        truncated = await post("truncated.edi")
        assert truncated.status_code == 422, truncated.text
        assert truncated.json()["reason"] == "MALFORMED_INTERCHANGE"
        assert truncated.json()["messages"] == []

        foreign = await post("codeco_santos.edi")
        assert foreign.status_code == 422, foreign.text  # a PECLL token, Santos' events
        assert {m["reason"] for m in foreign.json()["messages"]} == {"PORT_NOT_OWNED"}

        cargo = await read_topic(
            services.bootstrap, f"{namespace}{INGEST_TOPICS['cargo']}", 10**6, 5
        )
        accepted_bad = sum(
            m["events"] for m in bad_count.json()["messages"] if m["status"] == "accepted"
        )
        assert len(cargo) == published + accepted_bad  # nothing of a refused message


async def test_ais_arrivals_match_the_generated_truth_and_a_3_h_off_declaration_is_flagged(
    services: Services, fresh_database: str, namespace: str, tmp_path: Path
) -> None:
    days = generated_days(2, seed=6)
    areas = load_port_areas()
    log = ais_log(days, areas)
    assert len(log.calls) >= 4, "too few complete calls to check"
    calls = sorted(log.calls)
    wrong = calls[0]
    declared: list[VesselEvent] = []
    for event in days:
        if not isinstance(event, VesselEvent) or (event.port, event.port_call_id) not in log.calls:
            continue
        arrival = (event.classifier, event.operation, event.facility) == (
            Classifier.ACT, Operation.ARRI, Facility.PORT,
        )  # fmt: skip
        if arrival and (event.port, event.port_call_id) == wrong:
            # The terminal declares the arrival 3 h before the ship crossed the limits.
            event = event.model_copy(update={"occurred_at": event.occurred_at - timedelta(hours=3)})
        declared.append(event)
    nmea = tmp_path / "feed.nmea"
    nmea.write_text("".join(line + "\n" for line in log.lines), encoding="ascii")

    environment = worker_environment(services, fresh_database, namespace, tmp_path)
    worker = start_hub(["worker"], environment, tmp_path / "worker.log")
    pool = await asyncpg.create_pool(fresh_database, min_size=1, max_size=2)
    try:
        await eventually(lambda: worker_started(pool), 90, "the worker's start")
        await publish_events(services.bootstrap, pool, namespace, declared)

        async def all_stored() -> bool:
            count = await pool.fetchval("SELECT count(*) FROM ingested_events")
            return bool(count == len({e.event_id for e in declared}))

        await eventually(all_stored, 120, "the declared vessel events to be stored")
        replay = await asyncio.to_thread(run_hub, ["ais", "replay", str(nmea)], environment)
        assert replay.returncode == 0, replay.stdout + replay.stderr
        assert "matched no call" in replay.stdout

        async def checked() -> bool:
            rows = await pool.fetch(
                "SELECT entity_id FROM entity_kpis WHERE kpi = 'arrival_mismatch_flag'"
            )
            return len(rows) == len(calls)

        await eventually(checked, 120, "every call's arrival check", 1)
        kpis = await stored_kpis(pool)
        for port, call_id in calls:
            entity = ("port_call", f"{port}/{call_id}")
            gap = kpis[(*entity, "ais_arrival_gap_min")]["value"]
            flag = kpis[(*entity, "arrival_mismatch_flag")]["value"]
            if (port, call_id) == wrong:
                assert abs(gap + 180) <= 2, gap  # declared 3 h early, within 2 min
                assert flag == 1.0
            else:
                assert abs(gap) <= 2, (call_id, gap)
                assert flag == 0.0

        rows = await pool.fetch(
            "SELECT payload FROM ingested_events WHERE domain = 'vessel' AND payload LIKE $1",
            '%"source":"AIS"%',
        )
        derived = [VesselEvent.model_validate_json(row["payload"]) for row in rows]
        for event in derived:
            truth = log.calls[(event.port, event.port_call_id)]
            expected_at = {
                (Operation.ARRI, Facility.PORT): truth.arrival,
                (Operation.DEPA, Facility.PORT): truth.departure,
                (Operation.ARRI, Facility.ANCH): truth.anchored,
                (Operation.DEPA, Facility.ANCH): truth.weighed,
            }[(event.operation, event.facility)]
            assert expected_at is not None, event
            assert abs((event.occurred_at - expected_at).total_seconds()) <= 120, event
        arrivals = {(e.port, e.port_call_id) for e in derived if e.operation is Operation.ARRI
                    and e.facility is Facility.PORT}  # fmt: skip
        departures = {(e.port, e.port_call_id) for e in derived if e.operation is Operation.DEPA
                      and e.facility is Facility.PORT}  # fmt: skip
        assert arrivals == departures == set(calls)
        # Declared times are untouched by AIS: waiting time is the Avro reference's.
        reference = {kpi_key(v): v for v in all_kpis(declared)}
        for key, value in reference.items():
            if key[2] == "waiting_time_h":
                assert kpis[key]["value"] == value.value, key
    finally:
        await pool.close()
        stop_process(worker, signal.SIGTERM, 30)


async def test_a_live_ais_feed_is_followed_across_a_dropped_connection_until_sigterm(
    services: Services, fresh_database: str, namespace: str, tmp_path: Path
) -> None:
    days = generated_days(2, seed=6)
    areas = load_port_areas()
    chosen = set(sorted(ais_log(days, areas).calls)[:2])
    vessel_events = [
        e for e in days if isinstance(e, VesselEvent) and (e.port, e.port_call_id) in chosen
    ]
    log = ais_log(vessel_events, areas)
    assert set(log.calls) == chosen
    half = len(log.lines) // 2
    connections = 0

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        part = log.lines[:half] if connections == 1 else log.lines[half:]
        try:
            writer.write("".join(line + "\r\n" for line in part).encode("ascii"))
            await writer.drain()
            if connections == 1:
                return  # the feed drops; the listener must come back for the rest
            await reader.read()  # keep the second connection open until the listener leaves
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    feed_port = server.sockets[0].getsockname()[1]
    environment = worker_environment(services, fresh_database, namespace, tmp_path)
    worker = start_hub(["worker"], environment, tmp_path / "worker.log")
    pool = await asyncpg.create_pool(fresh_database, min_size=1, max_size=2)
    listener = None
    try:
        await eventually(lambda: worker_started(pool), 90, "the worker's start")
        await publish_events(services.bootstrap, pool, namespace, vessel_events)

        async def declared_stored() -> bool:
            count = await pool.fetchval("SELECT count(*) FROM ingested_events")
            return bool(count == len(vessel_events))

        await eventually(declared_stored, 120, "the declared vessel events to be stored")
        listener = start_hub(
            ["ais", "listen", f"127.0.0.1:{feed_port}", "--interval", "1"],
            environment,
            tmp_path / "listen.log",
        )

        async def derived() -> set[tuple[str, str, str]]:
            rows = await pool.fetch(
                "SELECT payload FROM ingested_events WHERE payload LIKE $1", '%"source":"AIS"%'
            )
            events = [VesselEvent.model_validate_json(row["payload"]) for row in rows]
            return {(e.port_call_id, e.operation.value, e.facility.value) for e in events}

        wanted = {(call, operation, "PORT") for _, call in chosen for operation in ("ARRI", "DEPA")}

        async def all_derived() -> bool:
            return wanted <= await derived()

        await eventually(all_derived, 120, "arrivals and departures from the live feed", 1)
        assert connections == 2
        assert stop_process(listener, signal.SIGTERM, 30) == 0
        output = (tmp_path / "listen.log").read_text()
        assert "closed the connection; reconnecting" in output
        assert f"{len(log.lines)} lines" in output, output[-2000:]
    finally:
        if listener is not None and listener.poll() is None:
            listener.kill()
        server.close()
        await server.wait_closed()
        await pool.close()
        stop_process(worker, signal.SIGTERM, 30)
