"""The DCSA events API on the real worker, API, broker and database: a generated day of traffic,
stored by the worker, read back as DCSA Track & Trace 2.2 events for a container, a transport
call and a port's time range (issue 19, item 4)."""

from __future__ import annotations

import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from connectors.simulator import PortTrafficGenerator
from hub.db.dcsa_reads import explain_page
from hub.db.tokens import create_access_token, create_port_token
from hub.domain.dcsa import parse_request
from hub.domain.reference import BUNDLED_PORTS_FILE, load_ports
from schemas.models import CargoEvent, Envelope, VesselEvent
from tests.dcsa_schema import problems
from tests.integration.helpers import (
    Services,
    api_environment,
    bearer,
    eventually,
    publish_events,
    reader_token,
    running_hub,
)

PATH = "/v1/dcsa/events"


def served(event: Envelope) -> bool:
    """Whether the hub serves ``event`` as a DCSA event (docs/dcsa.md)."""
    if isinstance(event, VesselEvent):
        return event.operation in ("ARRI", "DEPA") and event.classifier in ("ACT", "EST", "PLN")
    if isinstance(event, CargoEvent):
        return event.move in ("LOAD", "DISC", "GTIN", "GTOT")
    return False


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


async def all_pages(
    client: httpx.AsyncClient, headers: dict[str, str], params: dict[str, str], limit: int
) -> tuple[list[dict[str, Any]], int]:
    """Every event of a query, following ``Next-Page-Cursor``; and how many pages it took."""
    events: list[dict[str, Any]] = []
    answer = await client.get(PATH, params=params | {"limit": str(limit)}, headers=headers)
    pages = 1
    while True:
        assert answer.status_code == 200, answer.text
        assert answer.headers["API-Version"] == "2.2.0"
        page = answer.json()
        assert len(page) <= limit
        events += page
        cursor = answer.headers.get("Next-Page-Cursor")
        if cursor is None:
            return events, pages
        answer = await client.get(
            PATH, params={"cursor": cursor, "limit": str(limit)}, headers=headers
        )
        pages += 1
        assert pages < 1000, "the pages never end"


def check_events(events: list[dict[str, Any]], sent: dict[str, Envelope]) -> None:
    """Each event fits DCSA T&T 2.2, comes once, in page order, and says what was sent."""
    ids = [event["eventID"] for event in events]
    assert len(ids) == len(set(ids)), "an event came twice"
    order = [(instant(e["eventCreatedDateTime"]), e["eventID"]) for e in events]
    assert order == sorted(order), "pages are ordered by eventCreatedDateTime, eventID"
    for event in events:
        assert problems(event) == [], (problems(event), event)
        source = sent[event["eventID"]]
        assert instant(event["eventDateTime"]) == source.occurred_at
        if isinstance(source, CargoEvent):
            assert event["equipmentReference"] == source.container
            assert event["equipmentEventTypeCode"] == source.move
            assert event["emptyIndicatorCode"] == ("LADEN" if source.full else "EMPTY")
        else:
            assert isinstance(source, VesselEvent)
            assert event["transportEventTypeCode"] == source.operation
            assert event["eventClassifierCode"] == source.classifier
            assert event["transportCall"]["vessel"]["vesselIMONumber"] == source.imo


async def test_a_generated_day_reads_back_as_dcsa_events(
    services: Services, fresh_database: str, namespace: str, tmp_path: Path
) -> None:
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    generator = PortTrafficGenerator(
        load_ports(BUNDLED_PORTS_FILE), seed=19, start=end - timedelta(days=2), scale=0.02
    )
    day = list(generator.events_between(end - timedelta(days=1), end))
    sent = {str(event.event_id): event for event in day}
    expected = [event for event in day if served(event)]
    domains = Counter(type(event).__name__ for event in expected)
    assert domains["VesselEvent"] and domains["CargoEvent"], domains

    environment = api_environment(services, fresh_database, namespace, tmp_path)
    async with running_hub(environment, tmp_path) as base:
        pool = await asyncpg.create_pool(fresh_database, min_size=1, max_size=2)
        try:
            await publish_events(services.bootstrap, pool, namespace, day)
            wanted = sum(1 for event in day if isinstance(event, VesselEvent | CargoEvent))

            async def stored() -> bool:
                count = await pool.fetchval(
                    "SELECT count(*) FROM ingested_events WHERE domain IN ('vessel', 'cargo')"
                )
                return bool(count == wanted)

            await eventually(stored, 180, "the worker to store the day's vessel and cargo events")
            reader = bearer(await reader_token(fresh_database))
            async with httpx.AsyncClient(base_url=base, timeout=30) as client:
                await _container(client, reader, pool, expected, sent)
                await _call(client, reader, pool, expected, sent)
                await _port_range(client, reader, pool, expected, sent)
                await _retractions(client, reader, pool, services, namespace, expected)
                await _refusals(client, pool)
        finally:
            await pool.close()


async def _container(
    client: httpx.AsyncClient,
    reader: dict[str, str],
    pool: asyncpg.Pool,
    expected: list[Envelope],
    sent: dict[str, Envelope],
) -> None:
    moves = Counter(e.container for e in expected if isinstance(e, CargoEvent))
    container, count = moves.most_common(1)[0]
    assert count >= 2
    started = time.monotonic()
    events, _ = await all_pages(client, reader, {"equipmentReference": container}, 100)
    print(f"equipmentReference={container}: {len(events)} events, "
          f"{(time.monotonic() - started) * 1000:.0f} ms")  # fmt: skip
    check_events(events, sent)
    mine = {str(e.event_id) for e in expected if getattr(e, "container", None) == container}
    assert {event["eventID"] for event in events} == mine
    # The same as the store holds for the container: count and times.
    rows = await pool.fetch(
        """
        SELECT event_id::text, occurred_at, ingested_at FROM ingested_events
        WHERE container = $1 AND payload::json ->> 'move' IN ('LOAD', 'DISC', 'GTIN', 'GTOT')
        """,
        container,
    )
    assert {r["event_id"]: (r["occurred_at"], r["ingested_at"]) for r in rows} == {
        e["eventID"]: (instant(e["eventDateTime"]), instant(e["eventCreatedDateTime"]))
        for e in events
    }
    # Filters: one move type; another port (none there, or only that port's).
    first = events[0]["equipmentEventTypeCode"]
    only = await client.get(
        PATH, params={"equipmentReference": container, "equipmentEventTypeCode": first},
        headers=reader,
    )  # fmt: skip
    assert only.status_code == 200
    assert [e["eventID"] for e in only.json()] == [
        e["eventID"] for e in events if e["equipmentEventTypeCode"] == first
    ]
    port = events[0]["eventLocation"]["UNLocationCode"]
    here = await client.get(
        PATH, params={"equipmentReference": container, "UNLocationCode": port}, headers=reader
    )
    assert [e["eventID"] for e in here.json()] == [
        e["eventID"] for e in events if e["eventLocation"]["UNLocationCode"] == port
    ]
    transport = await client.get(
        PATH, params={"equipmentReference": container, "eventType": "TRANSPORT"}, headers=reader
    )
    assert transport.json() == []  # a container has no transport events
    # The page reads the container's index, not the events of every container.
    page = parse_request([("equipmentReference", container)], datetime.now(UTC))
    plan = await explain_page(pool, page)
    print(plan)
    assert "container_idx" in plan and "Seq Scan on ingested_events" not in plan, plan


async def _call(
    client: httpx.AsyncClient,
    reader: dict[str, str],
    pool: asyncpg.Pool,
    expected: list[Envelope],
    sent: dict[str, Envelope],
) -> None:
    calls = Counter(
        (e.port, e.port_call_id) for e in expected if isinstance(e, VesselEvent | CargoEvent)
    )
    (port, call_id), count = max(
        ((call, n) for call, n in calls.items() if call[1] is not None), key=lambda c: c[1]
    )
    assert call_id is not None and count > 7
    call = f"{port}/call/{call_id}"
    started = time.monotonic()
    events, pages = await all_pages(client, reader, {"transportCallID": call}, 7)
    print(f"transportCallID={call}: {len(events)} events in {pages} pages, "
          f"{(time.monotonic() - started) * 1000:.0f} ms")  # fmt: skip
    assert pages == -(-len(events) // 7)
    check_events(events, sent)
    mine = {
        str(e.event_id)
        for e in expected
        if e.port == port and getattr(e, "port_call_id", None) == call_id
    }
    assert {event["eventID"] for event in events} == mine
    assert {event["transportCall"]["transportCallID"] for event in events} == {call}
    kinds = Counter(event["eventType"] for event in events)
    assert kinds["TRANSPORT"] and kinds["EQUIPMENT"], kinds
    # A crane move names its call's vessel, learnt from the call's vessel events.
    imo = next(e.imo for e in expected if isinstance(e, VesselEvent) and e.port_call_id == call_id)
    for event in events:
        assert event["transportCall"]["vessel"]["vesselIMONumber"] == imo
    arrivals = await client.get(
        PATH,
        params={
            "transportCallID": call,
            "eventType": "TRANSPORT",
            "transportEventTypeCode": "ARRI",
        },
        headers=reader,
    )
    assert {e["eventID"] for e in arrivals.json()} == {
        e["eventID"] for e in events if e.get("transportEventTypeCode") == "ARRI"
    }
    plan = await explain_page(pool, parse_request([("transportCallID", call)], datetime.now(UTC)))
    print(plan)
    assert "port_call_id_idx" in plan and "Seq Scan on ingested_events" not in plan, plan
    # A truck visit is a transport call too.
    truck = next(e for e in expected if isinstance(e, CargoEvent) and e.truck_visit_id)
    visit = await client.get(
        PATH, params={"transportCallID": f"{truck.port}/truck/{truck.truck_visit_id}"},
        headers=reader,
    )  # fmt: skip
    assert str(truck.event_id) in {e["eventID"] for e in visit.json()}
    assert {e["transportCall"]["modeOfTransport"] for e in visit.json()} == {"TRUCK"}


async def _port_range(
    client: httpx.AsyncClient,
    reader: dict[str, str],
    pool: asyncpg.Pool,
    expected: list[Envelope],
    sent: dict[str, Envelope],
) -> None:
    port = Counter(e.port for e in expected).most_common(1)[0][0]
    mine = {str(e.event_id) for e in expected if e.port == port}
    times = sorted(
        {
            row["ingested_at"]
            for row in await pool.fetch(
                "SELECT DISTINCT ingested_at FROM ingested_events WHERE port = $1", port
            )
        }
    )
    assert len(times) >= 2, "the day was stored in one transaction: no range to split"
    start = times[0] - timedelta(seconds=1)
    middle = times[len(times) // 2]
    started = time.monotonic()
    events, pages = await all_pages(
        client,
        reader,
        {"UNLocationCode": port, "eventCreatedDateTime:gte": start.isoformat()},
        1000,
    )
    print(f"UNLocationCode={port}: {len(events)} events in {pages} pages, "
          f"{(time.monotonic() - started) * 1000:.0f} ms")  # fmt: skip
    check_events(events, sent)
    assert {event["eventID"] for event in events} == mine
    # The range split at a stored time: each event in exactly one half.
    before, _ = await all_pages(
        client, reader,
        {"UNLocationCode": port, "eventCreatedDateTime:gte": start.isoformat(),
         "eventCreatedDateTime:lt": middle.isoformat()},
        250,
    )  # fmt: skip
    after, _ = await all_pages(
        client,
        reader,
        {"UNLocationCode": port, "eventCreatedDateTime:gte": middle.isoformat()},
        250,
    )
    assert before and after
    assert all(instant(e["eventCreatedDateTime"]) < middle for e in before)
    assert all(instant(e["eventCreatedDateTime"]) >= middle for e in after)
    assert sorted(e["eventID"] for e in before + after) == sorted(mine)
    page = parse_request(
        [("UNLocationCode", port), ("eventCreatedDateTime:gte", start.isoformat())],
        datetime.now(UTC),
    )
    print(await explain_page(pool, page))


async def _retractions(
    client: httpx.AsyncClient,
    reader: dict[str, str],
    pool: asyncpg.Pool,
    services: Services,
    namespace: str,
    expected: list[Envelope],
) -> None:
    """A corrected crane move and a corrected vessel timestamp: the correction is served, the
    event it retracts no longer."""
    move = next(e for e in expected if isinstance(e, CargoEvent) and e.move == "DISC")
    arrival = next(e for e in expected if isinstance(e, VesselEvent) and e.operation == "ARRI")
    corrections = [
        event.model_copy(
            update={
                "event_id": uuid.uuid4(),
                "retracts_event_id": event.event_id,
                "occurred_at": event.occurred_at + timedelta(minutes=3),
            }
        )
        for event in (move, arrival)
    ]
    await publish_events(services.bootstrap, pool, namespace, corrections)
    ids = [correction.event_id for correction in corrections]

    async def stored() -> bool:
        found = await pool.fetchval(
            "SELECT count(*) FROM ingested_events WHERE event_id = ANY($1::uuid[])", ids
        )
        return bool(found == len(ids))

    await eventually(stored, 60, "the worker to store the corrections")
    by_container = await client.get(
        PATH, params={"equipmentReference": move.container}, headers=reader
    )
    served = {e["eventID"]: e for e in by_container.json()}
    assert str(move.event_id) not in served
    assert instant(served[str(ids[0])]["eventDateTime"]) == corrections[0].occurred_at
    assert isinstance(arrival, VesselEvent)
    by_call = await client.get(
        PATH,
        params={"transportCallID": f"{arrival.port}/call/{arrival.port_call_id}"},
        headers=reader,
    )
    served = {e["eventID"]: e for e in by_call.json()}
    assert str(arrival.event_id) not in served and str(ids[1]) in served


async def _refusals(client: httpx.AsyncClient, pool: asyncpg.Pool) -> None:
    query = {"UNLocationCode": "PECLL"}
    admin = await create_access_token(pool, "admin", "", "ops")
    publisher = await create_port_token(pool, "PECLL", "terminal")
    customs = await create_access_token(pool, "customs", "PE", "aduana")
    assert (await client.get(PATH, params=query, headers=bearer(admin))).status_code == 200
    assert (await client.get(PATH, params=query, headers=bearer(publisher))).status_code == 403
    assert (await client.get(PATH, params=query, headers=bearer(customs))).status_code == 403
    assert (await client.get(PATH, params=query)).status_code == 401
    assert (await client.get(PATH, params=query, headers=bearer("hubk_no"))).status_code == 401
    # The token before the query: a bad query without a token is a 401, not a 400.
    assert (await client.get(PATH, params={"limit": "x"})).status_code == 401
    for bad in (
        {"limit": "5000"},
        {"eventCreatedDateTime:gte": "yesterday"},
        {"eventCreatedDateTime:gte": "2020-01-01T00:00:00Z"},
        {"cursor": "not-a-cursor"},
        {"transportCallID": "CALL-1"},
        {"vesselIMONumber": "9074729"},
        {"UNLocationCode": "\x00\x00\x00\x00\x00"},
    ):
        answer = await client.get(PATH, params=bad, headers=bearer(admin))
        assert answer.status_code == 400, (bad, answer.status_code, answer.text)
        body = answer.json()
        assert body["statusCode"] == "400" and body["httpMethod"] == "GET"
        assert body["requestUri"] == PATH and body["errorDateTime"]
        assert body["errors"][0]["reason"] == "invalidQuery" and body["errors"][0]["message"]
    # Bytes no text holds, sent as they are: refused, never a database error.
    for raw in ("transportCallID=PECLL/call/%00", "equipmentReference=%FF%FE", "%FF=1"):
        answer = await client.get(f"{PATH}?{raw}", headers=bearer(admin))
        assert answer.status_code == 400, (raw, answer.status_code, answer.text)
