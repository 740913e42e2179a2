"""BERMAN (berth management) ⇄ vessel events: one :class:`~schemas.models.VesselEvent` per time.

The vessel is the TDT group's: IMO number in TDT C222 with code list 146 (agency 11, Lloyd's),
name in C222's vessel name, the port call in ``RFF+VON`` (else the TDT conveyance reference),
length overall in ``MEA+AAE+LN+MTR``, previous and next port in ``LOC+125``/``LOC+61``; call
sign, MMSI, TEU capacity and liner service, which BERMAN has no place for, in the hub's key-value
texts ``FTX+ZZZ++CSG|MMS|TEU|SVC+value``.

Each time is a ``LOC+153`` (the port of call; C519 names the facility: ``berth:BER:ZZZ``,
``:ANC:ZZZ`` anchorage, ``:PBP:ZZZ`` pilot boarding place, ``:PRT:ZZZ`` or nothing for the port
limits) followed by DTMs whose 2005 qualifier gives the classifier and the operation:
standard codes for estimated and actual arrival and departure (132, 178, 133, 186), mutually
defined Z-codes for the others (:data:`TIME_CODES`). Every event of a message shares the TDT
group's vessel data, so the writer starts a new message when they change (the first event of a
call usually carries the particulars, the others not).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from connectors.edifact.profile import (
    HUB_TEXT,
    Draft,
    MessageContext,
    Problems,
    check_function,
    read_integer,
    read_time,
)
from connectors.edifact.syntax import (
    OutSegment,
    Segment,
    format_decimal,
    format_time,
    parse_decimal,
)
from schemas.models import Classifier, Facility, Operation, VesselEvent

__all__ = ["FACILITY_CODES", "TIME_CODES", "read_berman", "write_berman"]

TIME_CODES: Final[dict[tuple[Classifier, Operation], str]] = {
    (Classifier.EST, Operation.ARRI): "132",  # arrival date/time, estimated
    (Classifier.ACT, Operation.ARRI): "178",  # arrival date/time, actual
    (Classifier.EST, Operation.DEPA): "133",  # departure date/time, estimated
    (Classifier.ACT, Operation.DEPA): "186",  # departure date/time, actual
    # No UNCL 2005 code says these: mutually defined codes (Z, classifier, operation).
    (Classifier.PLN, Operation.ARRI): "ZPA",
    (Classifier.PLN, Operation.DEPA): "ZPD",
    (Classifier.PLN, Operation.STRT): "ZPS",
    (Classifier.PLN, Operation.CMPL): "ZPC",
    (Classifier.EST, Operation.STRT): "ZES",
    (Classifier.EST, Operation.CMPL): "ZEC",
    (Classifier.ACT, Operation.STRT): "ZAS",
    (Classifier.ACT, Operation.CMPL): "ZAC",
    (Classifier.REQ, Operation.ARRI): "ZRA",
    (Classifier.REQ, Operation.DEPA): "ZRD",
    (Classifier.REQ, Operation.STRT): "ZRS",
    (Classifier.REQ, Operation.CMPL): "ZRC",
}
_TIMES: Final = {code: pair for pair, code in TIME_CODES.items()}

FACILITY_CODES: Final[dict[Facility, str]] = {
    Facility.BRTH: "BER",  # as SMDG's related location "berth" (mutually agreed list ZZZ)
    Facility.ANCH: "ANC",
    Facility.PBPL: "PBP",
    Facility.PORT: "PRT",
}
_FACILITIES: Final = {code: facility for facility, code in FACILITY_CODES.items()}

_PORT_OF_CALL: Final = "153"
_PREVIOUS_PORT: Final = "125"
_NEXT_PORT: Final = "61"
_DOCUMENT_DATE: Final = "137"
_IGNORED: Final = frozenset({"NAD", "CTA", "COM", "QTY", "GIS", "TSR"})
_IGNORED_LOCATIONS: Final = frozenset({"5", "8", "9", "11", "13"})
_IGNORED_TEXTS: Final = frozenset({"AAI", "ACB", "AAA"})
_TEXT_FIELDS: Final = {"CSG": "call_sign", "MMS": "mmsi", "SVC": "service"}

_REQUIRED: Final = {
    "port_call_id": "RFF+VON (or TDT conveyance reference) with the port call",
    "imo": "TDT C222 IMO number (code list 146)",
    "port": "LOC+153 port of call",
    "occurred_at": "DTM time",
    "classifier": "DTM qualifier",
    "operation": "DTM qualifier",
    "facility": "LOC+153 facility",
}


def read_berman(
    segments: Sequence[Segment], context: MessageContext, problems: Problems
) -> list[VesselEvent]:
    """The vessel events of a BERMAN message (UNH..UNT); problems go to ``problems``."""
    vessel = Draft(segments[0])  # fields every event shares
    call_from_tdt: tuple[str, Segment] | None = None
    place: Segment | None = None
    times: list[Draft] = []
    for segment in segments[1:-1]:
        tag, qualifier = segment.tag, segment.qualifier
        if tag == "BGM":
            check_function(segment, problems)
        elif tag == "TDT":
            if "imo" in vessel.values or "imo" in vessel.reported:
                problems.add(segment, "a second TDT: one vessel per message in this profile")
            else:
                call_from_tdt = _transport(vessel, segment, problems)
        elif tag == "RFF":
            if qualifier == "VON" and segment.component(0, 1):
                vessel.set("port_call_id", segment.component(0, 1), segment)
            elif qualifier not in ("ACW", "VON"):
                problems.unknown(segment, "reference qualifier (1153)", qualifier)
        elif tag == "FTX":
            if qualifier == HUB_TEXT:
                _hub_text(vessel, segment, problems)
            elif qualifier not in _IGNORED_TEXTS:
                problems.unknown(segment, "text subject qualifier (4451)", qualifier)
        elif tag == "MEA":
            _length(vessel, segment, problems)
        elif tag == "LOC":
            if qualifier == _PORT_OF_CALL:
                place = segment
            elif qualifier == _PREVIOUS_PORT:
                vessel.set("previous_port", segment.component(1), segment)
            elif qualifier == _NEXT_PORT:
                vessel.set("next_port", segment.component(1), segment)
            elif qualifier not in _IGNORED_LOCATIONS:
                problems.unknown(segment, "location qualifier (3227)", qualifier)
        elif tag == "DTM":
            if qualifier == _DOCUMENT_DATE:
                continue
            if qualifier not in _TIMES:
                problems.unknown(segment, "date/time qualifier (2005)", qualifier)
            elif place is None:
                problems.add(segment, "a vessel time must follow a LOC+153 (port of call)")
            else:
                times.append(_timestamp(segment, place, problems))
        elif tag not in _IGNORED:
            problems.unmapped(segment)
    if call_from_tdt is not None and "port_call_id" not in vessel.values:
        vessel.set("port_call_id", *call_from_tdt)
    if not times:
        problems.add(segments[0], "no time: a BERMAN needs LOC+153 followed by a DTM")
    events: list[VesselEvent] = []
    for draft in times:
        for name, value in vessel.values.items():
            draft.set(name, value, vessel.origins[name])
        draft.reported |= vessel.reported
        event = draft.finish(VesselEvent, _REQUIRED, context, problems)
        if event is not None:
            events.append(event)
    return events


def _transport(vessel: Draft, segment: Segment, problems: Problems) -> tuple[str, Segment] | None:
    if segment.qualifier != "20":
        problems.unknown(
            segment, "transport stage (8051; only 20, main carriage)", segment.qualifier
        )
        return None
    identification, code_list = segment.component(7), segment.component(7, 1)
    if code_list == "146":
        vessel.set("imo", identification, segment)
    elif code_list == "103":
        vessel.set("call_sign", identification, segment)
    elif identification:
        problems.unknown(segment, "vessel identification code list (1131; 146 IMO)", code_list)
        vessel.fail("imo")
    if segment.component(7, 3):
        vessel.set("vessel_name", segment.component(7, 3), segment)
    return (segment.component(1), segment) if segment.component(1) else None


def _hub_text(vessel: Draft, segment: Segment, problems: Problems) -> None:
    key, value = segment.component(2), segment.component(3)
    if key in _TEXT_FIELDS:
        vessel.set(_TEXT_FIELDS[key], value, segment)
    elif key == "TEU":
        teu = read_integer(segment, value, problems)
        if teu is None:
            vessel.fail("teu_capacity")
        else:
            vessel.set("teu_capacity", teu, segment)
    else:
        problems.unknown(segment, "hub text key", key)


def _length(vessel: Draft, segment: Segment, problems: Problems) -> None:
    if segment.qualifier != "AAE":
        problems.unknown(segment, "measurement purpose (6311)", segment.qualifier)
    elif segment.component(1) != "LN":
        return  # breadth, draught, deadweight...: accepted, not mapped
    elif segment.component(2) != "MTR":
        problems.add(segment, f"length unit {segment.component(2)!r}: only MTR")
        vessel.fail("loa_m")
    else:
        try:
            vessel.set("loa_m", float(parse_decimal(segment.component(2, 1))), segment)
        except ValueError as error:
            problems.add(segment, str(error))
            vessel.fail("loa_m")


def _timestamp(segment: Segment, place: Segment, problems: Problems) -> Draft:
    draft = Draft(segment)
    classifier, operation = _TIMES[segment.qualifier]
    draft.set("classifier", classifier, segment)
    draft.set("operation", operation, segment)
    read_time(draft, segment, problems)
    draft.set("port", place.component(1), place)
    facility_code = place.component(2, 1)
    facility = _FACILITIES.get(facility_code) if facility_code else Facility.PORT
    if facility is None:
        problems.unknown(place, "facility code (C519 1131)", facility_code)
        draft.fail("facility")
    else:
        draft.set("facility", facility, place)
    if place.component(2):
        draft.set("berth_id", place.component(2), place)
    return draft


# --- writing ------------------------------------------------------------------------------


def write_berman(events: Sequence[VesselEvent], document: str, sender: str) -> list[OutSegment]:
    """The body (BGM..last DTM) of a BERMAN of events sharing port, call and vessel data."""
    first = events[0]
    segments: list[OutSegment] = [
        ("BGM", ["", document, "9"]),
        ("NAD", ["CG", sender]),
        (
            "TDT",
            [
                "20",
                first.port_call_id,
                "1",
                "",
                "",
                "",
                "",
                [first.imo, "146", "11", first.vessel_name or ""],
            ],
        ),
        ("RFF", [["VON", first.port_call_id]]),
    ]
    for key, value in (
        ("CSG", first.call_sign),
        ("MMS", first.mmsi),
        ("TEU", None if first.teu_capacity is None else str(first.teu_capacity)),
        ("SVC", first.service),
    ):
        if value is not None:
            segments.append(("FTX", [HUB_TEXT, "", key, value]))
    if first.loa_m is not None:
        segments.append(("MEA", ["AAE", "LN", ["MTR", format_decimal(first.loa_m)]]))
    if first.previous_port:
        segments.append(("LOC", [_PREVIOUS_PORT, [first.previous_port, "139", "6"]]))
    if first.next_port:
        segments.append(("LOC", [_NEXT_PORT, [first.next_port, "139", "6"]]))
    for event in events:
        place: list[str | list[str]] = [_PORT_OF_CALL, [event.port, "139", "6"]]
        if event.facility is not Facility.PORT or event.berth_id:
            place.append([event.berth_id or "", FACILITY_CODES[event.facility], "ZZZ"])
        value, code = format_time(event.occurred_at)
        segments += [
            ("LOC", place),
            ("DTM", [[TIME_CODES[(event.classifier, event.operation)], value, code]]),
        ]
    return segments


def vessel_key(event: VesselEvent) -> tuple[object, ...]:
    """What the events of one BERMAN share."""
    return (
        event.port,
        event.port_call_id,
        event.imo,
        event.call_sign,
        event.mmsi,
        event.vessel_name,
        event.teu_capacity,
        event.loa_m,
        event.service,
        event.previous_port,
        event.next_port,
    )
