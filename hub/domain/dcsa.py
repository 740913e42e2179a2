"""The hub's events in the shapes of DCSA Track & Trace 2.2 (issue 19, item 4): pure functions,
no I/O. ``GET /v1/dcsa/events`` (``hub/api/dcsa.py``) parses its query here, reads the store
(``hub/db/dcsa_reads.py``) and maps each stored event here. ``docs/dcsa.md`` has the mapping
table: which hub field fills which DCSA field, and what the hub cannot fill.

- A vessel timestamp (``vessel.timestamp``) with operation ARRI or DEPA and classifier ACT, EST
  or PLN is a **TRANSPORT** event; STRT/CMPL (no DCSA transport event type) and REQ (no DCSA
  classifier) are not served.
- A container move (``cargo.move``) LOAD, DISC, GTIN or GTOT is an **EQUIPMENT** event (always
  ACT: a move is a fact); YARD and RSTW have no DCSA equipment event type and are not served.
- Customs and certificate events have no T&T shape: not served.

Ids. ``eventID`` is the hub's ``event_id``. A transport call is the hub's port call or truck
visit, whose ids are unique within a port only, so ``transportCallID`` names the port and kind
too: ``PECLL/call/<port_call_id>`` or ``PECLL/truck/<truck_visit_id>``.

Times. ``eventDateTime`` is the event's ``occurred_at`` (the actual, estimated or planned time);
``eventCreatedDateTime`` is when the hub stored it (``ingested_at``), to the microsecond: what a
client polls on, and with ``eventID`` the order of the pages.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Final
from uuid import UUID

__all__ = [
    "API_VERSION",
    "DEFAULT_LIMIT",
    "MAX_LIMIT",
    "MAX_UNANCHORED_RANGE",
    "CallParticulars",
    "EventQuery",
    "PageRequest",
    "QueryError",
    "StoredEvent",
    "TransportCallId",
    "call_particulars",
    "dcsa_event",
    "decode_cursor",
    "encode_cursor",
    "parse_request",
    "retracted_by",
]

API_VERSION: Final = "2.2.0"
"""The DCSA Track & Trace version whose event shapes are served (``API-Version`` header)."""
DEFAULT_LIMIT: Final = 100
MAX_LIMIT: Final = 1000
MAX_UNANCHORED_RANGE: Final = timedelta(hours=24)
"""The widest ``eventCreatedDateTime`` range a query may ask for without naming a container or
a transport call: such a query reads every event stored in the range (a port's among all ports'),
so its cost grows with the range. Without any lower bound, it is the last 24 hours."""

TRANSPORT: Final = "TRANSPORT"
EQUIPMENT: Final = "EQUIPMENT"
SHIPMENT: Final = "SHIPMENT"
EVENT_TYPES: Final = (SHIPMENT, TRANSPORT, EQUIPMENT)
# The hub's domain of each DCSA event type it serves (it has no shipment events).
DOMAIN_OF: Final = {TRANSPORT: "vessel", EQUIPMENT: "cargo"}
TRANSPORT_EVENT_TYPE_CODES: Final = ("ARRI", "DEPA")
CLASSIFIERS: Final = ("ACT", "EST", "PLN")
# DCSA T&T 2.2's equipment event types; the hub's moves are the first four.
EQUIPMENT_EVENT_TYPE_CODES: Final = (
    "LOAD", "DISC", "GTIN", "GTOT", "STUF", "STRP", "PICK", "DROP", "INSP", "RSEA", "RMVD",
)  # fmt: skip
SERVED_MOVES: Final = ("LOAD", "DISC", "GTIN", "GTOT")
# Where a vessel timestamp happened, as a transport call's facility: DCSA 2.2's facility types
# know a port terminal (POTE) but no anchorage, pilot boarding place or port limits; those are
# named in otherFacility by the hub's (DCSA JIT) code.
_OTHER_FACILITY: Final = {
    "PORT": "PORT (port limits)",
    "ANCH": "ANCH (anchorage)",
    "PBPL": "PBPL (pilot boarding place)",
}
_VESSEL_NAME_MAX: Final = 35
_SERVICE_CODE_MAX: Final = 5
_CALL_SIGN_MAX: Final = 10
_ID_MAX: Final = 64  # the longest port call or truck visit id an event may carry
_CALL: Final = "call"
_TRUCK: Final = "truck"

_RANGE_PARAMETER: Final = "eventCreatedDateTime"
_OPERATORS: Final = ("gte", "gt", "lte", "lt", "eq")
_FILTERS: Final = (
    "eventType",
    "equipmentReference",
    "UNLocationCode",
    "transportCallID",
    "transportEventTypeCode",
    "equipmentEventTypeCode",
)
# DCSA T&T 2.2 filters on data the hub does not hold: refused, not silently ignored (an empty or
# unfiltered answer would look like a real one).
_UNSUPPORTED: Final = {
    "shipmentEventTypeCode": "the hub has no shipment events",
    "documentTypeCode": "the hub has no shipment documents",
    "carrierBookingReference": "the hub holds no bookings",
    "bookingReference": "the hub holds no bookings",
    "transportDocumentReference": "the hub holds no transport documents",
    "transportDocumentID": "the hub holds no transport documents",
    "scheduleID": "the hub holds no schedules",
    "vesselIMONumber": "not supported: filter by transportCallID",
    "carrierVoyageNumber": "the hub holds no voyage numbers",
    "exportVoyageNumber": "the hub holds no voyage numbers",
    "carrierServiceCode": "not supported: filter by transportCallID or UNLocationCode",
    "sort": "not supported: events come by eventCreatedDateTime, then eventID",
}


class QueryError(ValueError):
    """A query the API refuses (400), with the reason."""


@dataclass(frozen=True, slots=True)
class TransportCallId:
    """A transport call: a port call (``kind`` call) or a truck visit (``kind`` truck) of a
    port, as ``transportCallID`` names it: ``{port}/{kind}/{id}``."""

    port: str
    kind: str
    entity: str

    @property
    def text(self) -> str:
        return f"{self.port}/{self.kind}/{self.entity}"

    @classmethod
    def call(cls, port: str, port_call_id: str) -> TransportCallId:
        return cls(port.strip(), _CALL, port_call_id)

    @classmethod
    def truck(cls, port: str, truck_visit_id: str) -> TransportCallId:
        return cls(port.strip(), _TRUCK, truck_visit_id)

    @classmethod
    def parse(cls, text: str) -> TransportCallId:
        """The transport call ``text`` names; :class:`QueryError` if it names none."""
        port, _, rest = text.partition("/")
        kind, _, entity = rest.partition("/")
        if (
            len(port) != 5
            or not (port.isascii() and port.isalnum())
            or kind not in (_CALL, _TRUCK)
            or not 1 <= len(entity) <= _ID_MAX
            or not entity.isprintable()  # NUL and other controls: no id holds them
        ):
            raise QueryError(
                f"transportCallID {text!r} is not one of the hub's: "
                "<UNLocationCode>/call/<port call id> or <UNLocationCode>/truck/<truck visit id>"
            )
        return cls(port.upper(), kind, entity)

    @property
    def is_truck_visit(self) -> bool:
        return self.kind == _TRUCK


@dataclass(frozen=True, slots=True)
class CreatedRange:
    """Bounds on ``eventCreatedDateTime``: each a time and whether it is included."""

    lower: datetime | None = None
    lower_included: bool = True
    upper: datetime | None = None
    upper_included: bool = True


@dataclass(frozen=True, slots=True)
class EventQuery:
    """What to read: the filters of a request, resolved (a cursor carries them)."""

    domains: tuple[str, ...] = ("vessel", "cargo")
    """The hub domains asked for (in this order; empty: SHIPMENT only, nothing to read)."""
    equipment_reference: str | None = None
    port: str | None = None
    transport_call: TransportCallId | None = None
    operations: tuple[str, ...] = TRANSPORT_EVENT_TYPE_CODES
    """The vessel operations asked for (transportEventTypeCode)."""
    moves: tuple[str, ...] = SERVED_MOVES
    """The container moves asked for (equipmentEventTypeCode)."""
    created: CreatedRange = field(default_factory=CreatedRange)

    @property
    def anchored(self) -> bool:
        """Whether the query names a container or a transport call (read by their indexes)."""
        return self.equipment_reference is not None or self.transport_call is not None

    def to_json(self) -> dict[str, Any]:
        created = self.created
        return {
            "d": list(self.domains),
            "e": self.equipment_reference,
            "p": self.port,
            "t": self.transport_call.text if self.transport_call else None,
            "o": list(self.operations),
            "m": list(self.moves),
            "r": [
                _time_text(created.lower) if created.lower else None,
                created.lower_included,
                _time_text(created.upper) if created.upper else None,
                created.upper_included,
            ],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> EventQuery:
        lower, lower_included, upper, upper_included = data["r"]
        call = data["t"]
        return cls(
            domains=tuple(str(d) for d in data["d"] if d in DOMAIN_OF.values()),
            # Checked again: a cursor comes back from the client.
            equipment_reference=_equipment_reference(_optional_text(data["e"])),
            port=_port(_optional_text(data["p"])),
            transport_call=TransportCallId.parse(str(call)) if call is not None else None,
            operations=tuple(o for o in data["o"] if o in TRANSPORT_EVENT_TYPE_CODES),
            moves=tuple(m for m in data["m"] if m in SERVED_MOVES),
            created=CreatedRange(
                _aware(lower) if lower else None,
                bool(lower_included),
                _aware(upper) if upper else None,
                bool(upper_included),
            ),
        )


def _aware(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(f"no UTC offset: {text}")
    return moment


@dataclass(frozen=True, slots=True)
class PageRequest:
    """One page to read: the query, how many events, and after which (``eventCreatedDateTime``,
    ``eventID``) it starts (None: from the first)."""

    query: EventQuery
    limit: int
    after: tuple[datetime, UUID] | None = None


def parse_request(parameters: Sequence[tuple[str, str]], now: datetime) -> PageRequest:
    """The page a request's query parameters ask for; :class:`QueryError` for a bad one.

    ``cursor`` carries the filters of the first page: with it, the other filters may be left
    out, or repeated unchanged (``limit`` may change from page to page).
    """
    values: dict[str, str] = {}
    for name, value in parameters:
        if name in values:
            raise QueryError(f"{name} is given more than once (list values are comma-separated)")
        values[name] = value
    limit = _limit(values.pop("limit", None))
    cursor = values.pop("cursor", None)
    values.pop("API-Version", None)  # DCSA lets a client send it as a parameter too
    query = _query(values, now) if values or cursor is None else None
    if cursor is None:
        assert query is not None
        return PageRequest(query, limit)
    resumed, after = decode_cursor(cursor)
    if query is not None and _without_default(query) != _without_default(resumed):
        raise QueryError(
            "the filters differ from those of the cursor's query: send the cursor alone"
        )
    return PageRequest(resumed, limit, after)


def _without_default(query: EventQuery) -> EventQuery:
    # A query without bounds gets its default lower bound from the time of the request: the
    # cursor's is older, and the same query.
    return replace(query, created=CreatedRange()) if not query.anchored else query


def _limit(text: str | None) -> int:
    if text is None:
        return DEFAULT_LIMIT
    try:
        limit = int(text)
    except ValueError:
        raise QueryError(f"limit {text!r} is not a whole number") from None
    if not 1 <= limit <= MAX_LIMIT:
        raise QueryError(f"limit {limit} is outside 1 to {MAX_LIMIT}")
    return limit


def _query(values: Mapping[str, str], now: datetime) -> EventQuery:
    bounds: dict[str, datetime] = {}
    for name, value in values.items():
        if name in _UNSUPPORTED:
            raise QueryError(f"{name}: {_UNSUPPORTED[name]}")
        base, colon, operator = name.partition(":")
        if base == _RANGE_PARAMETER:
            operator = operator if colon else "eq"
            if operator not in _OPERATORS:
                raise QueryError(
                    f"{name}: the operators of {_RANGE_PARAMETER} are "
                    f"{', '.join(':' + o for o in _OPERATORS)}"
                )
            bounds[operator] = _instant(name, value)
        elif name not in _FILTERS:
            known = ", ".join([*_FILTERS, f"{_RANGE_PARAMETER}:gte/gt/lte/lt", "limit", "cursor"])
            raise QueryError(f"unknown query parameter {name!r}; known: {known}")
    event_types = _codes(values, "eventType", EVENT_TYPES)
    query = EventQuery(
        domains=tuple(DOMAIN_OF[t] for t in (TRANSPORT, EQUIPMENT) if t in event_types),
        equipment_reference=_equipment_reference(values.get("equipmentReference")),
        port=_port(values.get("UNLocationCode")),
        transport_call=_transport_call(values.get("transportCallID")),
        operations=_codes(values, "transportEventTypeCode", TRANSPORT_EVENT_TYPE_CODES),
        moves=tuple(
            m
            for m in _codes(values, "equipmentEventTypeCode", EQUIPMENT_EVENT_TYPE_CODES)
            if m in SERVED_MOVES
        ),
        created=_created(bounds),
    )
    if query.anchored:
        return query
    return replace(query, created=_bounded(query.created, now))


def _codes(values: Mapping[str, str], name: str, allowed: Sequence[str]) -> tuple[str, ...]:
    """The comma-separated codes of ``name`` (all of ``allowed`` when absent), in ``allowed``'s
    order."""
    text = values.get(name)
    if text is None:
        return tuple(allowed)
    codes = {code.strip() for code in text.split(",")}
    unknown = sorted(codes - set(allowed))
    if unknown:
        raise QueryError(
            f"{name}: unknown {', '.join(map(repr, unknown))}; one of {', '.join(allowed)}"
        )
    return tuple(code for code in allowed if code in codes)


def _equipment_reference(text: str | None) -> str | None:
    if text is None:
        return None
    if not 1 <= len(text) <= 15 or not text.isalnum() or not text.isascii():
        raise QueryError(f"equipmentReference {text!r} is not a container number (ISO 6346)")
    return text.upper()


def _port(text: str | None) -> str | None:
    if text is None:
        return None
    if len(text) != 5 or not text.isalnum() or not text.isascii():
        raise QueryError(f"UNLocationCode {text!r} is not a UN/LOCODE (5 letters or digits)")
    return text.upper()


def _transport_call(text: str | None) -> TransportCallId | None:
    if text is None:
        return None
    if len(text) > 100:
        raise QueryError("transportCallID is longer than 100 characters")
    return TransportCallId.parse(text)


def _instant(name: str, text: str) -> datetime:
    # An unencoded "+01:00" in a URL arrives as " 01:00": put the plus back.
    text = text.strip().replace(" ", "+")
    if text.endswith(("z", "Z")):
        text = text[:-1] + "+00:00"
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise QueryError(
            f"{name} {text!r} is not an ISO 8601 date-time (2026-03-01T08:30:00Z)"
        ) from None
    if value.tzinfo is None:
        raise QueryError(f"{name} {text!r} has no UTC offset (2026-03-01T08:30:00Z)")
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise QueryError(f"{name} {text!r} falls outside years 1-9999 in UTC") from None


def _created(bounds: Mapping[str, datetime]) -> CreatedRange:
    if "eq" in bounds and len(bounds) > 1:
        raise QueryError(f"{_RANGE_PARAMETER} (equal) cannot be combined with a range")
    if ("gte" in bounds and "gt" in bounds) or ("lte" in bounds and "lt" in bounds):
        raise QueryError(f"{_RANGE_PARAMETER}: give one lower and one upper bound at most")
    if "eq" in bounds:
        return CreatedRange(bounds["eq"], True, bounds["eq"], True)
    lower = bounds.get("gte", bounds.get("gt"))
    upper = bounds.get("lte", bounds.get("lt"))
    if lower is not None and upper is not None and upper < lower:
        raise QueryError(f"{_RANGE_PARAMETER}: the upper bound is before the lower bound")
    return CreatedRange(lower, "gt" not in bounds, upper, "lt" not in bounds)


def _bounded(created: CreatedRange, now: datetime) -> CreatedRange:
    """The range of a query that names no container or call: at most
    :data:`MAX_UNANCHORED_RANGE` wide, the last 24 hours if it has no lower bound."""
    if created.lower is None:
        end = created.upper or now
        try:
            start = end - MAX_UNANCHORED_RANGE
        except OverflowError:  # an upper bound within a day of year 1: nothing is stored then
            start = datetime.min.replace(tzinfo=UTC)
        return replace(created, lower=start, lower_included=True)
    if (created.upper or now) - created.lower > MAX_UNANCHORED_RANGE:
        raise QueryError(
            f"{_RANGE_PARAMETER}: a range over {MAX_UNANCHORED_RANGE.total_seconds() / 3600:g} h "
            "needs equipmentReference or transportCallID; ask for the range a day at a time"
        )
    return created


# --- the cursor -------------------------------------------------------------------------------


def encode_cursor(query: EventQuery, last: tuple[datetime, UUID]) -> str:
    """The opaque cursor of the page after the event ``last`` (its created time and id)."""
    body = {"v": 1, "q": query.to_json(), "a": _time_text(last[0]), "i": str(last[1])}
    text = json.dumps(body, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[EventQuery, tuple[datetime, UUID]]:
    """The query and position a cursor of :func:`encode_cursor` holds; :class:`QueryError` if it
    is none of those."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        body = json.loads(text)
        if body.get("v") != 1:
            raise ValueError("unknown version")
        query = EventQuery.from_json(body["q"])
        return query, (_aware(body["a"]), UUID(body["i"]))
    except (ValueError, binascii.Error, KeyError, TypeError, AttributeError, QueryError):
        raise QueryError("cursor is not one this API gave (send it as it came)") from None


# --- the mapping ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """One event as the store keeps it: its row's columns and its payload (the event's JSON,
    parsed)."""

    event_id: UUID
    domain: str
    port: str
    occurred_at: datetime
    created_at: datetime
    """When the hub stored it (``ingested_at``)."""
    payload: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class CallParticulars:
    """The vessel of a port call, as its vessel events tell it (a container move names the call
    only)."""

    imo: str
    vessel_name: str | None = None
    call_sign: str | None = None
    service: str | None = None


def call_particulars(payloads: Iterable[Mapping[str, Any]]) -> CallParticulars | None:
    """The particulars of a call from its vessel events (any order): each field from the last
    published event that has it (None: no vessel event)."""
    ordered = sorted(payloads, key=lambda p: (str(p.get("published_at")), str(p.get("event_id"))))
    if not ordered:
        return None

    def last(name: str) -> str | None:
        values = [p[name] for p in ordered if p.get(name)]
        return str(values[-1]) if values else None

    imo = last("imo")
    if imo is None:
        return None
    return CallParticulars(imo, last("vessel_name"), last("call_sign"), last("service"))


def retracted_by(payloads: Iterable[Mapping[str, Any]]) -> set[UUID]:
    """The event ids that the events of ``payloads`` retract (``retracts_event_id``)."""
    found: set[UUID] = set()
    for payload in payloads:
        if (retracted := payload.get("retracts_event_id")) is not None:
            try:
                found.add(UUID(str(retracted)))
            except ValueError:  # not a UUID: retracts nothing the store can hold
                continue
    return found


def dcsa_event(
    event: StoredEvent, calls: Mapping[tuple[str, str], CallParticulars] | None = None
) -> dict[str, Any] | None:
    """``event`` as a DCSA T&T 2.2 TransportEvent or EquipmentEvent, or None when it has no such
    shape. ``calls`` holds the particulars of port calls by (port, port_call_id): the vessel of
    a container move's call, and what a vessel event does not repeat (its name, service)."""
    calls = calls or {}
    if event.domain == "vessel":
        return _transport_event(event, calls)
    if event.domain == "cargo":
        return _equipment_event(event, calls)
    return None


def _transport_event(
    event: StoredEvent, calls: Mapping[tuple[str, str], CallParticulars]
) -> dict[str, Any] | None:
    p = event.payload
    operation, classifier = p.get("operation"), p.get("classifier")
    if operation not in TRANSPORT_EVENT_TYPE_CODES or classifier not in CLASSIFIERS:
        return None
    port = event.port.strip()
    known = calls.get((port, str(p.get("port_call_id"))))
    own = CallParticulars(str(p["imo"]), p.get("vessel_name"), p.get("call_sign"), p.get("service"))
    vessel = _merged(own, known)
    facility = p.get("facility")
    call: dict[str, Any] = {"transportCallID": TransportCallId.call(port, p["port_call_id"]).text}
    call |= _service(vessel)
    call["UNLocationCode"] = port
    if facility == "BRTH":
        call["facilityTypeCode"] = "POTE"
        call["otherFacility"] = f"BRTH {p['berth_id']}" if p.get("berth_id") else "BRTH"
    elif facility in _OTHER_FACILITY:
        call["otherFacility"] = _OTHER_FACILITY[facility]
    call["modeOfTransport"] = "VESSEL"
    call["vessel"] = _vessel(vessel)
    return {
        **_header(event, TRANSPORT, classifier),
        "transportEventTypeCode": operation,
        "transportCall": call,
    }


def _equipment_event(
    event: StoredEvent, calls: Mapping[tuple[str, str], CallParticulars]
) -> dict[str, Any] | None:
    p = event.payload
    move = p.get("move")
    if move not in SERVED_MOVES:
        return None
    port = event.port.strip()
    shaped: dict[str, Any] = {
        **_header(event, EQUIPMENT, "ACT"),
        "equipmentEventTypeCode": move,
        "equipmentReference": p["container"],
        "ISOEquipmentCode": p["iso_size_type"],
        "emptyIndicatorCode": "LADEN" if p.get("full") else "EMPTY",
        "eventLocation": {"UNLocationCode": port},
    }
    call: dict[str, Any] | None = None
    if move in ("LOAD", "DISC") and p.get("port_call_id"):
        particulars = calls.get((port, str(p["port_call_id"])))
        call = {"transportCallID": TransportCallId.call(port, p["port_call_id"]).text}
        call |= _service(particulars)
        call |= {"UNLocationCode": port, "facilityTypeCode": "POTE", "modeOfTransport": "VESSEL"}
        if particulars is not None:
            call["vessel"] = _vessel(particulars)
    elif move in ("GTIN", "GTOT") and p.get("truck_visit_id"):
        call = {
            "transportCallID": TransportCallId.truck(port, p["truck_visit_id"]).text,
            "UNLocationCode": port,
            "facilityTypeCode": "POTE",
            "modeOfTransport": "TRUCK",
        }
    if call is not None:
        shaped["transportCall"] = call
    return shaped


def _header(event: StoredEvent, event_type: str, classifier: str) -> dict[str, Any]:
    return {
        "eventID": str(event.event_id),
        "eventType": event_type,
        "eventCreatedDateTime": _time_text(event.created_at),
        "eventDateTime": _time_text(event.occurred_at, "milliseconds"),
        "eventClassifierCode": classifier,
    }


def _merged(own: CallParticulars, known: CallParticulars | None) -> CallParticulars:
    """The event's own particulars, completed by those of its call."""
    if known is None:
        return own
    return CallParticulars(
        own.imo,
        own.vessel_name or known.vessel_name,
        own.call_sign or known.call_sign,
        own.service or known.service,
    )


def _service(particulars: CallParticulars | None) -> dict[str, str]:
    # DCSA's carrierServiceCode is at most 5 characters: a longer liner service code is not one.
    service = particulars.service if particulars else None
    if service and len(service) <= _SERVICE_CODE_MAX:
        return {"carrierServiceCode": service}
    return {}


def _vessel(particulars: CallParticulars) -> dict[str, str]:
    vessel = {"vesselIMONumber": particulars.imo}
    if particulars.vessel_name:
        vessel["vesselName"] = particulars.vessel_name[:_VESSEL_NAME_MAX]
    if particulars.call_sign and len(particulars.call_sign) <= _CALL_SIGN_MAX:
        vessel["vesselCallSignNumber"] = particulars.call_sign
    return vessel


def _time_text(moment: datetime, timespec: str = "microseconds") -> str:
    """``moment`` in UTC, ISO 8601 with a ``Z``."""
    return moment.astimezone(UTC).isoformat(timespec=timespec).replace("+00:00", "Z")


def _optional_text(value: object) -> str | None:
    return None if value is None else str(value)
