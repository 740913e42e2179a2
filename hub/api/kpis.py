"""Read API of the logistics KPIs: per-port windows, one port call, every port's latest values.

KPI names carry their unit (``waiting_time_h``, ``dwell_days``, ``berth_productivity_moves_per_h``)
and every value comes with ``unit`` too; definitions are in ``docs/kpis.md``. Berth occupancy
(``berth_occupancy_pct``) is derived here, as it is read, from the stored berth-hours windows and
the port's configured berth count.

Every route needs a read:kpis or admin token (:mod:`hub.api.access`).
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

import asyncpg
from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field, ValidationError

from hub.api.access import READER_RESPONSES, kpi_reader, reader_still_valid
from hub.api.dependencies import Pool
from hub.db.kpi_reads import (
    call_kpis,
    call_vessel_events,
    calls_kpi_values,
    latest_daily_windows,
    latest_event_time,
    port_calls_vessel_events,
    port_windows,
    windows_changed_at,
)
from hub.db.ports import berths_of, is_reference_port, port_berths
from hub.domain.kpis.eta import call_eta
from hub.domain.kpis.events import effective_events
from hub.domain.kpis.model import WindowAggregate
from hub.domain.kpis.windows import berth_occupancy
from schemas.avro_schemas import DOMAINS
from schemas.models import UNLOCODE_PATTERN, VesselEvent

DEFAULT_SPAN = timedelta(days=7)
MAX_SPAN = timedelta(days=366)
CALLS_RECENT = timedelta(days=3)
"""A call is listed while it has an event this recent (or an estimated arrival this recent)."""
CALLS_AHEAD = timedelta(days=7)
"""A call not begun is listed as expected when its estimated arrival is at most this far ahead."""


class WindowValue(BaseModel):
    window_start: datetime
    kpi: str
    unit: str
    count: int
    total: float
    mean: float
    median: float
    p90: float


class PortKpis(BaseModel):
    port: str
    granularity: Literal["hour", "day"]
    from_time: datetime
    to_time: datetime
    windows: list[WindowValue]


class EntityKpi(BaseModel):
    value: float | None
    unit: str
    flag: str | None
    anchor_time: datetime | None


class CallEvent(BaseModel):
    occurred_at: datetime
    classifier: str
    operation: str
    facility: str
    berth_id: str | None


class PortCall(BaseModel):
    port: str
    port_call_id: str
    state: str
    kpis: dict[str, EntityKpi]
    events: list[CallEvent]


class LatestPort(BaseModel):
    port: str
    kpis: dict[str, WindowValue]


class CurrentCall(BaseModel):
    port_call_id: str
    vessel_name: str | None
    state: str
    last_event_at: datetime
    eta: datetime | None
    kpis: dict[str, float | None]


class CurrentCalls(BaseModel):
    port: str
    calls: list[CurrentCall]


class LatestKpis(BaseModel):
    granularity: Literal["day"]
    ports: list[LatestPort]
    # The dashboard shows it beside "Live" when the events lag the clock (a replay, a late feed).
    latest_event_at: datetime | None = Field(
        description="Event time of the latest stored event not in the future (null: none yet)."
    )


router = APIRouter(dependencies=[Depends(kpi_reader)], responses=READER_RESPONSES)


@router.get("/v1/ports/{unlocode}/kpis", response_model=PortKpis)
async def port_kpis(
    unlocode: str,
    pool: Pool,
    from_: Annotated[datetime | None, Query(alias="from")] = None,
    to: datetime | None = None,
    granularity: Literal["hour", "day"] = "hour",
) -> PortKpis:
    """Windowed KPIs of one port (count, total, mean, median, p90 per window and KPI).

    ``from``/``to`` are ISO 8601 times (default: the last 7 days); windows are by event time.
    """
    _port_code(unlocode)
    end = _aware(to) if to else datetime.now(UTC)
    start = _aware(from_) if from_ else end - DEFAULT_SPAN
    if not start < end or end - start > MAX_SPAN:
        raise HTTPException(422, f"from must be before to, at most {MAX_SPAN.days} days apart")
    known, berths = await berths_of(pool, unlocode)
    if not known:
        raise HTTPException(404, f"{unlocode} is not a reference port")
    rows = await port_windows(pool, unlocode, granularity, start, end)
    return PortKpis(
        port=unlocode,
        granularity=granularity,
        from_time=start,
        to_time=end,
        windows=_with_occupancy(rows, {unlocode: berths}),
    )


@router.get("/v1/port-calls/{port}/{port_call_id}", response_model=PortCall)
async def port_call(port: str, port_call_id: str, pool: Pool) -> PortCall:
    """One call: its KPIs (open ones with value null) and its actual timeline."""
    _port_code(port)
    if "\x00" in port_call_id or not port_call_id.isprintable():
        raise HTTPException(404, "no such port call (a call id is printable text, without NUL)")
    entity = f"{port}/{port_call_id}"
    kpis = await call_kpis(pool, entity)
    events = await call_vessel_events(pool, port, port_call_id)
    if not kpis and not events:
        raise HTTPException(404, f"no port call {port_call_id} at {port}")
    timeline = [_call_event(row["payload"]) for row in events]
    return PortCall(
        port=port,
        port_call_id=port_call_id,
        state=_state(timeline),
        kpis={row["kpi"]: EntityKpi(**{k: row[k] for k in EntityKpi.model_fields}) for row in kpis},
        events=timeline,
    )


@router.get("/v1/kpis/latest", response_model=LatestKpis)
async def latest(pool: Pool) -> LatestKpis:
    """Every port's current values: for each KPI, its most recent daily window (berth
    occupancy: that of the most recent day with berth hours); and ``latest_event_at``, the
    event time of the latest stored event that is not in the future."""
    return await _latest(pool)


@router.get(
    "/v1/kpis/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def stream(
    request: Request, pool: Pool, authorization: Annotated[str | None, Header()] = None
) -> StreamingResponse:
    """Server-Sent Events for live dashboards: ``event: kpis`` with the body of
    ``/v1/kpis/latest`` plus ``as_of``, on connect and whenever a window changes or a later
    event is stored. The stream ends once its token is revoked or expires."""
    return StreamingResponse(
        _kpi_events(request, pool, lambda: reader_still_valid(pool, authorization)),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.get("/v1/ports/{unlocode}/calls", response_model=CurrentCalls)
async def current_calls(unlocode: str, pool: Pool) -> CurrentCalls:
    """The port's calls under way and expected, each with its state, ETA and KPIs (open ones
    null).

    Under way: begun (an actual timestamp), not departed, with an event in the last 3 days.
    Expected (``state`` ``"expected"``): not begun, with an estimated arrival (``eta``) from
    3 days ago (late, not arrived yet) to 7 days ahead, or without one but with an event in
    the last 3 days. ``eta`` is the most recently published EST arrival, else PLN, else null.
    ``last_event_at`` is the latest event that has happened; for a call known only by
    estimates of the future, when its latest one was published. The calls under way come
    first, the latest event first; then the expected ones, the soonest ETA first.
    """
    _port_code(unlocode)
    if not await is_reference_port(pool, unlocode):
        raise HTTPException(404, f"{unlocode} is not a reference port")
    now = datetime.now(UTC)
    rows = await port_calls_vessel_events(pool, unlocode, now - CALLS_RECENT, now + CALLS_AHEAD)
    stored: list[VesselEvent] = []
    for row in rows:
        try:
            stored.append(VesselEvent.model_validate_json(row["payload"]))
        except ValidationError:
            continue  # stored by an older schema: it cannot be read as a timestamp now
    by_call: dict[str, list[VesselEvent]] = {}
    # Corrections first, across calls: a retraction may move a timestamp to another call.
    for event in effective_events(stored):
        by_call.setdefault(event.port_call_id, []).append(event)
    listed = [call for events in by_call.values() if (call := _listed(events, now)) is not None]
    begun = [c.port_call_id for c in listed if c.state != "expected"]
    values: dict[str, dict[str, float | None]] = {}
    for row in await calls_kpi_values(pool, [f"{unlocode}/{call_id}" for call_id in begun]):
        values.setdefault(row["entity_id"].split("/", 1)[1], {})[row["kpi"]] = row["value"]
    for call in listed:
        call.kpis = values.get(call.port_call_id, {})
    under_way = sorted(
        (c for c in listed if c.state != "expected"),
        key=lambda c: (c.last_event_at, c.port_call_id),
        reverse=True,
    )
    expected = sorted(
        (c for c in listed if c.state == "expected"),
        key=lambda c: (c.eta is None, c.eta or now, c.port_call_id),
    )
    return CurrentCalls(port=unlocode, calls=[*under_way, *expected])


def _listed(events: list[VesselEvent], now: datetime) -> CurrentCall | None:
    """The call of ``events`` (counted: duplicates and retractions applied, in time order) as
    ``current_calls`` lists it, or None when it is not listed (departed, not heard of lately,
    or expected later than :data:`CALLS_AHEAD`)."""
    happened = [e for e in events if e.occurred_at <= now]
    timeline = [
        CallEvent(
            occurred_at=e.occurred_at,
            classifier=e.classifier,
            operation=e.operation,
            facility=e.facility,
            berth_id=e.berth_id,
        )
        for e in happened
    ]
    state = _state(timeline)
    eta = call_eta(events)
    recent = bool(happened) and happened[-1].occurred_at > now - CALLS_RECENT
    if state == "departed":
        return None
    if state == "expected" and eta is not None:
        if not now - CALLS_RECENT < eta <= now + CALLS_AHEAD:
            return None
    elif not recent:
        return None
    return CurrentCall(
        port_call_id=events[0].port_call_id,
        vessel_name=next((e.vessel_name for e in events if e.vessel_name), None),
        state=state,
        last_event_at=happened[-1].occurred_at if happened else max(e.published_at for e in events),
        eta=eta,
        kpis={},
    )


# How often a KPI stream looks for changed windows, and sends a keep-alive when idle.
STREAM_POLL_S = 2.0
STREAM_KEEPALIVE_S = 15.0


async def _latest(pool: asyncpg.Pool) -> LatestKpis:
    rows = await latest_daily_windows(pool)
    berths = await port_berths(pool)
    ports: dict[str, dict[str, WindowValue]] = {}
    for row in rows:
        for value in _with_occupancy([row], berths):
            ports.setdefault(row["port"].strip(), {})[value.kpi] = value
    return LatestKpis(
        granularity="day",
        ports=[LatestPort(port=port, kpis=kpis) for port, kpis in sorted(ports.items())],
        latest_event_at=await latest_event_time(pool, DOMAINS),
    )


async def _kpi_events(
    request: Request, pool: asyncpg.Pool, allowed: Callable[[], Awaitable[bool]]
) -> AsyncIterator[str]:
    """The latest KPIs when they change (a new ``computed_at`` in ``kpi_windows``) or a later
    event is stored (its time is in the body), while ``allowed()`` (the token is still
    honoured)."""
    seen: object = None
    idle_since = asyncio.get_running_loop().time()
    while not await request.is_disconnected() and await allowed():
        changed = (await windows_changed_at(pool), await latest_event_time(pool, DOMAINS))
        now = asyncio.get_running_loop().time()
        if changed != seen:
            seen = changed
            body = (await _latest(pool)).model_dump(mode="json")
            body["as_of"] = datetime.now(UTC).isoformat()
            yield f"event: kpis\ndata: {json.dumps(body)}\n\n"
            idle_since = now
        elif now - idle_since >= STREAM_KEEPALIVE_S:
            idle_since = now
            yield ": keep-alive\n\n"
        await asyncio.sleep(STREAM_POLL_S)


def _with_occupancy(rows: list[asyncpg.Record], berths: dict[str, int | None]) -> list[WindowValue]:
    """The stored windows, and the berth occupancy of those holding berth hours, in time and
    KPI order."""
    windows = [WindowAggregate(**{**row, "port": row["port"].strip()}) for row in rows]
    windows += berth_occupancy(windows, berths)
    return [
        WindowValue(**{name: getattr(window, name) for name in WindowValue.model_fields})
        for window in sorted(windows, key=lambda w: (w.window_start, w.kpi))
    ]


def _port_code(unlocode: str) -> None:
    """Refuse (404) what cannot be a port's UN/LOCODE before it reaches the database (a NUL in
    it would be a server error there)."""
    if re.fullmatch(UNLOCODE_PATTERN, unlocode) is None:
        raise HTTPException(404, "not a reference port: a port is a UN/LOCODE such as PECLL")


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _call_event(payload: Any) -> CallEvent:
    data = json.loads(payload) if isinstance(payload, str) else payload
    return CallEvent(
        occurred_at=data["occurred_at"],
        classifier=data["classifier"],
        operation=data["operation"],
        facility=data["facility"],
        berth_id=data.get("berth_id"),
    )


def _state(timeline: list[CallEvent]) -> str:
    """Where the call is now, from its latest actual event."""
    actual = [event for event in timeline if event.classifier == "ACT"]
    if not actual:
        return "expected"
    last = actual[-1]
    if last.operation == "DEPA" and last.facility == "BRTH":
        return "departed"
    if last.facility == "BRTH":
        return "at berth"
    if last.facility == "ANCH" and last.operation == "ARRI":
        return "at anchorage"
    return "arriving"
