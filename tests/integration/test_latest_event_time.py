"""`latest_event_at` of `/v1/kpis/latest` and the KPI stream: the event time of the latest stored
event that is not in the future (the dashboard shows it beside "Live" when it lags the clock),
through the real API, worker and database."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncGenerator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from hub.api.kpis import STREAM_KEEPALIVE_S
from hub.db.tokens import create_port_token
from schemas.models import Classifier, Envelope, Facility, Operation, VesselEvent
from tests.integration.helpers import (
    Services,
    api_environment,
    bearer,
    eventually,
    reader_token,
    running_hub,
)
from tests.samples import samples

PORT = "PECLL"


def vessel_event(
    call: str,
    at: datetime,
    classifier: Classifier = Classifier.ACT,
    published: datetime | None = None,
) -> VesselEvent:
    return VesselEvent(
        event_id=uuid.uuid4(),
        occurred_at=at,
        published_at=published or at + timedelta(seconds=30),
        port=PORT,
        port_call_id=call,
        imo="9074729",
        classifier=classifier,
        operation=Operation.ARRI,
        facility=Facility.PORT,
    )


async def post(client: httpx.AsyncClient, token: str, domain: str, event: Envelope) -> None:
    answer = await client.post(
        f"/v1/events/{domain}", json=[json.loads(event.model_dump_json())], headers=bearer(token)
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["results"][0]["status"] == "accepted", answer.text


async def kpi_bodies(client: httpx.AsyncClient) -> AsyncGenerator[dict[str, Any]]:
    """The bodies of the stream's ``kpis`` events, as they come."""
    async with client.stream("GET", "/v1/kpis/stream", timeout=None) as response:
        assert response.status_code == 200
        event = ""
        async for line in response.aiter_lines():
            if line.startswith("event:"):
                event = line.removeprefix("event:").strip()
            elif line.startswith("data:") and event == "kpis":
                yield json.loads(line.removeprefix("data:"))


async def test_latest_event_at_is_the_latest_event_time_not_in_the_future(
    services: Services, fresh_database: str, namespace: str, tmp_path: Path
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    environment = api_environment(services, fresh_database, namespace, tmp_path)
    async with running_hub(environment, tmp_path) as base:
        reader = await reader_token(fresh_database)
        connection = await asyncpg.connect(fresh_database)
        try:
            publisher = await create_port_token(connection, PORT, "tests")
        finally:
            await connection.close()
        async with httpx.AsyncClient(base_url=base, headers=bearer(reader), timeout=10) as client:
            latest = (await client.get("/v1/kpis/latest")).json()
            assert latest["latest_event_at"] is None  # nothing stored yet

            # An arrival 2 h ago, a cargo move 3 h ago, and an estimated arrival 5 h ahead
            # (stored at the time it estimates): the latest not in the future is the arrival.
            arrival = now - timedelta(hours=2)
            await post(client, publisher, "vessel", vessel_event("LATEST-1", arrival))
            await post(client, publisher, "cargo", samples("cargo", now - timedelta(hours=3))[0])
            estimate = vessel_event(
                "LATEST-2", now + timedelta(hours=5), Classifier.EST, published=now
            )
            await post(client, publisher, "vessel", estimate)

            async def stored(expected: datetime) -> bool:
                body = (await client.get("/v1/kpis/latest")).json()
                return bool(body["latest_event_at"] == text(expected))

            async def all_stored() -> bool:
                connection = await asyncpg.connect(fresh_database)
                try:
                    count = await connection.fetchval("SELECT count(*) FROM ingested_events")
                finally:
                    await connection.close()
                return int(count) == 3

            # Every event is in (the estimate too) before the answer is checked.
            await eventually(all_stored, 60, "the three events stored")
            await eventually(lambda: stored(arrival), 30, "the arrival as the latest event")

            # The stream sends the latest time on connect, and again as soon as a later event
            # is stored, whether or not it changes a KPI window.
            bodies = kpi_bodies(client)
            wait_s = STREAM_KEEPALIVE_S + 30
            first = await asyncio.wait_for(anext(bodies), wait_s)
            assert first["latest_event_at"] == text(arrival)
            assert "as_of" in first
            later = now - timedelta(minutes=1)
            await post(client, publisher, "vessel", vessel_event("LATEST-3", later))
            seen = first
            while seen["latest_event_at"] != text(later):
                seen = await asyncio.wait_for(anext(bodies), wait_s)
            await bodies.aclose()
            assert (await client.get("/v1/kpis/latest")).json()["latest_event_at"] == text(later)


def text(moment: datetime) -> str:
    """A time as the API writes it."""
    return moment.isoformat().replace("+00:00", "Z")
