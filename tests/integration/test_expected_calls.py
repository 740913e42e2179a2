"""Calls announced only by estimated or planned arrivals are listed as expected, with their ETA,
and an arrived call gets its ETA accuracy KPIs: through the real broker, worker, database and API.
"""

from __future__ import annotations

import math
import signal
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from schemas.models import Classifier, Facility, Operation, VesselEvent
from tests.integration.helpers import (
    Services,
    bearer,
    eventually,
    free_port,
    publish_events,
    reader_token,
    start_hub,
    stop_process,
    worker_environment,
    worker_started,
)

NOW = datetime.now(UTC).replace(microsecond=0)


def timestamp(
    call: str,
    classifier: Classifier,
    occurred: timedelta,
    published: timedelta,
    operation: Operation = Operation.ARRI,
    facility: Facility = Facility.PORT,
    **changes: Any,
) -> VesselEvent:
    """A vessel timestamp of ``call`` at Callao, its times relative to now."""
    return VesselEvent(
        event_id=changes.pop("event_id", uuid.uuid4()),
        occurred_at=NOW + occurred,
        published_at=NOW + published,
        port="PECLL",
        port_call_id=call,
        imo="9074729",
        vessel_name=changes.pop("vessel_name", None),
        classifier=classifier,
        operation=operation,
        facility=facility,
        berth_id="B1" if facility is Facility.BRTH else None,
        **changes,
    )


H = timedelta(hours=1)
D = timedelta(days=1)
EST, PLN, ACT = Classifier.EST, Classifier.PLN, Classifier.ACT
WRONG_ID = uuid.uuid4()
EVENTS = [
    # Two estimates: the one published last (arrival in 1 day) is the ETA; the plan is not.
    timestamp("SOON", EST, 2 * D, -5 * H, vessel_name="PACIFIC CONDOR"),
    timestamp("SOON", EST, 1 * D, -1 * H),
    timestamp("SOON", PLN, 12 * H, -48 * H),
    # Planned only: its plan is its ETA.
    timestamp("PLANNED", PLN, 3 * D, -2 * D),
    # An estimate too far ahead: not listed.
    timestamp("FAR", EST, 10 * D, -1 * H),
    # A wrong estimate (9 days ahead) corrected to 6 h ahead: listed, by the correction.
    timestamp("CORRECTED", EST, 9 * D, -3 * H, event_id=WRONG_ID),
    timestamp("CORRECTED", EST, 6 * H, -2 * H, retracts_event_id=WRONG_ID),
    # Arrived 5 h ago, estimated 30 h before to arrive 1 h earlier: under way, with its ETA
    # KPIs (-1 h, at the last and the 24 h horizon); announced later still, expected 2 h earlier.
    timestamp("ARRIVED", EST, -6 * H, -35 * H),
    timestamp("ARRIVED", EST, -7 * H, -20 * H),
    timestamp("ARRIVED", ACT, -5 * H, -5 * H + timedelta(minutes=1)),
]


async def test_calls_announced_only_by_estimates_are_expected_with_their_eta(
    services: Services, fresh_database: str, namespace: str, tmp_path: Path
) -> None:
    http_port = free_port()
    environment = worker_environment(services, fresh_database, namespace, tmp_path) | {
        "HUB_HTTP_PORT": str(http_port)
    }
    worker = start_hub(["worker"], environment, tmp_path / "worker.log")
    api = start_hub(["api"], environment, tmp_path / "api.log")
    pool = await asyncpg.create_pool(fresh_database, min_size=1, max_size=2)
    try:
        await eventually(lambda: worker_started(pool), 90, "the worker's start")
        await publish_events(services.bootstrap, pool, namespace, EVENTS)
        reader = bearer(await reader_token(fresh_database))
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{http_port}", headers=reader
        ) as client:
            listed: dict[str, Any] = {}

            async def all_listed() -> bool:
                nonlocal listed
                try:
                    response = await client.get("/v1/ports/PECLL/calls")
                except httpx.TransportError:
                    return False
                if response.status_code != 200:
                    return False
                listed = response.json()
                calls = {call["port_call_id"]: call for call in listed["calls"]}
                return {"SOON", "PLANNED", "CORRECTED", "ARRIVED"} <= calls.keys() and bool(
                    calls["ARRIVED"]["kpis"].get("eta_error_24h_h") is not None
                )

            await eventually(all_listed, 90, "the expected and arrived calls to be listed")
            calls = listed["calls"]
            # Under way first, then the expected ones, soonest first; the far one not at all.
            assert [call["port_call_id"] for call in calls] == [
                "ARRIVED",
                "CORRECTED",
                "SOON",
                "PLANNED",
            ]
            by_id = {call["port_call_id"]: call for call in calls}
            assert {by_id[c]["state"] for c in ("CORRECTED", "SOON", "PLANNED")} == {"expected"}
            assert by_id["ARRIVED"]["state"] == "arriving"

            def eta(call: str) -> datetime:
                return datetime.fromisoformat(by_id[call]["eta"])

            assert eta("SOON") == NOW + D
            assert eta("PLANNED") == NOW + 3 * D
            assert eta("CORRECTED") == NOW + 6 * H
            assert eta("ARRIVED") == NOW - 7 * H
            assert by_id["SOON"]["vessel_name"] == "PACIFIC CONDOR"
            assert by_id["SOON"]["kpis"] == {}
            # Known only by estimates of the future: when the latest was published.
            assert datetime.fromisoformat(by_id["SOON"]["last_event_at"]) == NOW - H
            assert datetime.fromisoformat(by_id["ARRIVED"]["last_event_at"]) == NOW - 5 * H

            kpis = by_id["ARRIVED"]["kpis"]
            assert math.isclose(kpis["eta_error_h"], -2.0, abs_tol=1e-6)  # the later estimate
            assert math.isclose(kpis["eta_abs_error_h"], 2.0, abs_tol=1e-6)
            assert math.isclose(kpis["eta_error_24h_h"], -1.0, abs_tol=1e-6)  # 30 h ahead
            assert "eta_error_72h_h" not in kpis
            assert kpis["waiting_time_h"] is None  # open: not at a berth yet

            # The same KPIs on the call's own page.
            call = (await client.get("/v1/port-calls/PECLL/ARRIVED")).json()
            assert call["kpis"]["eta_abs_error_24h_h"]["unit"] == "h"

            # Hostile port codes get a clear refusal, never a server error.
            for hostile in ("%00", "PE%00LL", "%ED%A0%80", "X" * 5000, "%FF%FE", "PECLL%2F.."):
                for route in (f"/v1/ports/{hostile}/calls", f"/v1/ports/{hostile}/kpis",
                              f"/v1/port-calls/{hostile}/C1", f"/v1/port-calls/PECLL/{hostile}"):  # fmt: skip
                    answer = await client.get(route)
                    assert 400 <= answer.status_code < 500, (route, answer.status_code)
    finally:
        await pool.close()
        stop_process(api, signal.SIGTERM, 30)
        stop_process(worker, signal.SIGTERM, 30)
