"""The DCSA events API (issue 19, item 4): ``GET /v1/dcsa/events``, the hub's vessel and
container events in the shapes of DCSA Track & Trace 2.2 (TransportEvent, EquipmentEvent), for a
container, a transport call or a port and time range, a page at a time.

Needs a read:kpis or admin token (:mod:`hub.api.access`). A bad query is a 400 with DCSA's error
body (``httpMethod``, ``requestUri``, ``statusCode``, ``statusCodeText``, ``errorDateTime``,
``errors`` of ``reason`` and ``message``). The mapping: ``hub/domain/dcsa.py`` and
``docs/dcsa.md``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from hub.api.access import READER_RESPONSES, kpi_reader
from hub.api.dependencies import Pool
from hub.db.dcsa_reads import calls_vessel_payloads, dcsa_page, retracted_events
from hub.domain.dcsa import (
    API_VERSION,
    DEFAULT_LIMIT,
    MAX_LIMIT,
    CallParticulars,
    QueryError,
    StoredEvent,
    call_particulars,
    dcsa_event,
    encode_cursor,
    parse_request,
    retracted_by,
)

router = APIRouter()

PATH = "/v1/dcsa/events"
NEXT_PAGE_CURSOR = "Next-Page-Cursor"


def _parameter(name: str, description: str, example: str | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    if example is not None:
        schema["example"] = example
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": schema}  # fmt: skip


# Parsed by the route itself (DCSA's "eventCreatedDateTime:gte=" names are no Python names, and
# a bad one gets DCSA's error body): described here for the OpenAPI document.
_PARAMETERS = [
    _parameter("eventType", "TRANSPORT, EQUIPMENT (and SHIPMENT: none), comma-separated"),
    _parameter("equipmentReference", "a container number", "MSCU1234566"),
    _parameter("UNLocationCode", "the port (UN/LOCODE)", "PECLL"),
    _parameter("transportCallID", "<port>/call/<port call id> or <port>/truck/<truck visit>"),
    _parameter("transportEventTypeCode", "ARRI, DEPA, comma-separated"),
    _parameter("equipmentEventTypeCode", "LOAD, DISC, GTIN, GTOT, comma-separated"),
    *(
        _parameter(f"eventCreatedDateTime:{op}", f"when the hub stored the event ({op})")
        for op in ("gte", "gt", "lte", "lt")
    ),
    _parameter("limit", f"events a page, 1 to {MAX_LIMIT} (default {DEFAULT_LIMIT})"),
    _parameter("cursor", f"the {NEXT_PAGE_CURSOR} of the page before"),
]


@router.get(
    PATH,
    dependencies=[Depends(kpi_reader)],
    responses={
        **READER_RESPONSES,
        400: {"description": "A bad query (DCSA error body: errors[].reason, errors[].message)"},
    },
    openapi_extra={"parameters": _PARAMETERS},
)
async def dcsa_events(request: Request, pool: Pool) -> JSONResponse:
    """Vessel arrivals and departures (TRANSPORT) and container moves (EQUIPMENT) in DCSA Track
    & Trace 2.2 shapes, oldest stored first. Name a container (``equipmentReference``), a
    transport call (``transportCallID``) or a time range (``eventCreatedDateTime:gte=…``, at
    most 24 h; the last 24 h by default). The next page: ``cursor`` = the ``Next-Page-Cursor``
    header (absent on the last page)."""
    try:
        page = parse_request(list(request.query_params.multi_items()), datetime.now(UTC))
    except QueryError as error:
        return _error(request, 400, "invalidQuery", str(error))
    rows = await dcsa_page(pool, page)
    more = len(rows) > page.limit
    rows = rows[: page.limit]
    stored = [
        StoredEvent(
            row["event_id"],
            row["domain"],
            row["port"].strip(),
            row["occurred_at"],
            row["ingested_at"],
            json.loads(row["payload"]),
        )
        for row in rows
    ]
    calls, vessel_retractions = await _calls(pool, stored)
    # A retracted event is left out (its correction, stored after it, comes in its place): a
    # crane or gate move retracted by another of its port's moves, a vessel timestamp by another
    # of its call's timestamps.
    cargo = [(event.port, event.event_id) for event in stored if event.domain == "cargo"]
    retracted = vessel_retractions | await retracted_events(pool, cargo)
    events = [
        shaped
        for event in stored
        if event.event_id not in retracted and (shaped := dcsa_event(event, calls)) is not None
    ]
    headers = {"API-Version": API_VERSION}
    if more and stored:
        cursor = encode_cursor(page.query, (stored[-1].created_at, stored[-1].event_id))
        headers[NEXT_PAGE_CURSOR] = cursor
        headers["Next-Page"] = f"{PATH}?{urlencode({'cursor': cursor, 'limit': page.limit})}"
    return JSONResponse(events, headers=headers)


async def _calls(
    pool: Pool, events: list[StoredEvent]
) -> tuple[dict[tuple[str, str], CallParticulars], set[UUID]]:
    """The particulars of the port calls the events name, from their vessel events; and the
    vessel events those retract."""
    wanted = sorted(
        {
            (event.port, str(event.payload["port_call_id"]))
            for event in events
            if event.payload.get("port_call_id")
        }
    )
    payloads: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in await calls_vessel_payloads(pool, wanted):
        payloads.setdefault((row["port"], row["port_call_id"]), []).append(
            json.loads(row["payload"])
        )
    particulars = {call: call_particulars(found) for call, found in payloads.items()}
    known = {call: value for call, value in particulars.items() if value is not None}
    return known, retracted_by(p for found in payloads.values() for p in found)


def _error(request: Request, status: int, reason: str, message: str) -> JSONResponse:
    """DCSA's error body (T&T 2.2 ``Error``)."""
    body = {
        "httpMethod": request.method,
        "requestUri": str(request.url.path),
        "statusCode": str(status),
        "statusCodeText": "Bad Request" if status == 400 else str(status),
        "errorDateTime": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "errors": [{"reason": reason, "message": message}],
    }
    return JSONResponse(body, status_code=status, headers={"API-Version": API_VERSION})
