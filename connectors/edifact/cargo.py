"""COARRI (discharge/loading report) and CODECO (gate-in/gate-out report) ⇄ cargo events.

Both follow the SMDG user manuals (D.95B): a header with BGM, the port in LOC, for COARRI the
vessel's TDT; then one EQD group per container. One container group is one
:class:`~schemas.models.CargoEvent`.

Profile choices (docs/edifact.md has the full table):

- move: the BGM document code gives the move of every container of the message — COARRI 98
  discharge report (DISC), 270 loading report (LOAD); CODECO 34 gate-in report (GTIN), 36
  gate-out report (GTOT); a container whose move differs (a restow in a loading report) carries
  ``FTX+ZZZ++MOV+RSTW``;
- port: the header LOC that the move names — 11 (place of discharge) for DISC and GTIN (unloaded
  from the vessel / the truck), 9 (place of loading) for LOAD, RSTW and GTOT; other header LOCs
  (a vessel's previous port, say) are accepted and ignored;
- port call: ``RFF+VON`` in the header (COARRI) or the container group, else the TDT conveyance
  reference number;
- container group: EQD (number, ISO size-type, 8249 status 2/3/6 = EXPORT/IMPORT/TRANSSHIPMENT,
  8169 full/empty 5/4), DTM 203 execution time (COARRI) or 7 effective time (CODECO), MEA AAE
  G (or AET) KGM gross weight, PIA 5 HS code, LOC 27/28 country of origin/destination, road TDT
  (mode 3) conveyance reference = truck visit id, FTX+ZZZ keys CRN (crane), VAL (declared value,
  ``amount:USD``), MOV (move).

Segments SMDG messages carry that the hub does not map (NAD, SEL, TMD, DIM, TMP, RNG, DGS, EQA,
DAM, COD, HAN, GDS, stowage LOC 147, booking RFF...) are accepted and ignored.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Final

from connectors.edifact.profile import (
    HUB_TEXT,
    MESSAGE_FUNCTION_ORIGINAL,
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
from schemas.models import CargoEvent, Move, Trade

__all__ = ["MOVES_BY_MESSAGE", "read_cargo", "write_coarri", "write_codeco"]

# BGM 1001 document name code → the move of the message's containers.
_DOCUMENT_MOVES: Final[dict[str, dict[str, Move]]] = {
    "COARRI": {"98": Move.DISC, "270": Move.LOAD},
    "CODECO": {"34": Move.GTIN, "36": Move.GTOT},
}
_DOCUMENT_CODES: Final = {
    move: code for moves in _DOCUMENT_MOVES.values() for code, move in moves.items()
}
MOVES_BY_MESSAGE: Final[dict[str, frozenset[Move]]] = {
    "COARRI": frozenset({Move.DISC, Move.LOAD, Move.RSTW}),
    "CODECO": frozenset({Move.GTIN, Move.GTOT}),
}
"""The moves each message type carries; YARD has no message."""

# LOC 3227 of the port: where the box leaves (9, loading) or reaches (11, discharge) a means of
# transport at this port.
_PORT_LOCATION: Final = {
    Move.DISC: "11",
    Move.GTIN: "11",
    Move.LOAD: "9",
    Move.RSTW: "9",
    Move.GTOT: "9",
}
_TIME_QUALIFIER: Final = {"COARRI": "203", "CODECO": "7"}
_TIME_QUALIFIERS: Final = frozenset({"203", "7"})  # execution / effective date/time
_TRADES: Final = {"2": Trade.EXPORT, "3": Trade.IMPORT, "6": Trade.TRANSSHIPMENT}
_TRADE_CODES: Final = {trade: code for code, trade in _TRADES.items()}
_FULL: Final = {"5": True, "4": False}
_ROAD_STAGES: Final = frozenset({"1", "10", "30"})  # inland, pre-carriage, on-carriage
_GATE_OUT_STAGE: Final = "30"
_GATE_IN_STAGE: Final = "10"

# Accepted, not mapped.
_IGNORED_IN_HEADER: Final = frozenset({"NAD", "CTA", "COM", "FTX"})
_IGNORED_IN_GROUP: Final = frozenset(
    {"SEL", "TMD", "DIM", "TMP", "RNG", "DGS", "EQA", "DAM", "COD", "HAN", "GDS", "NAD", "CTA"}
)
_HEADER_DATES: Final = frozenset({"137", "132", "133", "178", "186"})
_HEADER_LOCATIONS: Final = frozenset({"5", "8", "9", "11", "13", "61", "125", "153", "165"})
_GROUP_LOCATIONS: Final = frozenset({"147", "5", "7", "8", "9", "11", "13", "88"})
_REFERENCES: Final = frozenset({"VON", "BN", "BM", "ABT", "ACW", "AAQ", "CU"})
_IGNORED_TEXTS: Final = frozenset({"AAI", "AAA", "HAN", "OSI", "LOI", "ABS", "AGK"})
_WEIGHTS: Final = frozenset({"G", "AET"})
_IGNORED_MEASURES: Final = frozenset({"VGM", "T", "AAW"})

_REQUIRED: Final = {
    "container": "EQD container number",
    "iso_size_type": "EQD size and type (C224)",
    "full": "EQD full/empty indicator (8169 4 or 5)",
    "gross_kg": "MEA+AAE+G gross weight in KGM",
    "occurred_at": "DTM execution time (203 in COARRI, 7 in CODECO)",
    "move": "BGM document name code",
    "port": "header LOC with the port",
}


def read_cargo(
    message_type: str, segments: Sequence[Segment], context: MessageContext, problems: Problems
) -> list[CargoEvent]:
    """The cargo events of a COARRI or CODECO message (UNH..UNT); problems go to ``problems``."""
    reader = _CargoReader(message_type, problems)
    for segment in segments[1:-1]:
        reader.read(segment)
    return reader.finish(segments[0], context)


class _CargoReader:
    def __init__(self, message_type: str, problems: Problems) -> None:
        self.message_type = message_type
        self.problems = problems
        self.move: Move | None = None
        self.bgm: Segment | None = None
        self.locations: list[Segment] = []
        self.call_id: tuple[str, Segment] | None = None
        self.conveyance: tuple[str, Segment] | None = None
        self.count: Segment | None = None
        self.boxes: list[Draft] = []
        self.in_group = False

    def read(self, segment: Segment) -> None:
        if segment.tag == "EQD":
            self.in_group = True
            self.boxes.append(Draft(segment))
            self._equipment(self.boxes[-1], segment)
        elif segment.tag == "CNT":
            self.in_group = False
            self._count(segment)
        elif self.in_group:
            self._group(self.boxes[-1], segment)
        else:
            self._header(segment)

    # --- header ---

    def _header(self, segment: Segment) -> None:
        problems, tag = self.problems, segment.tag
        if tag == "BGM":
            self.bgm = segment
            code = segment.qualifier
            self.move = _DOCUMENT_MOVES[self.message_type].get(code)
            if self.move is None:
                problems.unknown(segment, "document name code (1001)", code)
            check_function(segment, problems)
        elif tag == "DTM":
            if segment.qualifier not in _HEADER_DATES:
                problems.unknown(segment, "date/time qualifier (2005)", segment.qualifier)
        elif tag == "TDT":
            if self.message_type != "COARRI":
                return  # CODECO: the hub reads the truck from each container's own TDT
            if segment.qualifier != "20":
                problems.unknown(segment, "transport stage (8051)", segment.qualifier)
            elif segment.component(1):
                self.conveyance = (segment.component(1), segment)
        elif tag == "RFF":
            if segment.qualifier == "VON" and segment.component(0, 1):
                self.call_id = (segment.component(0, 1), segment)
            elif segment.qualifier not in _REFERENCES:
                problems.unknown(segment, "reference qualifier (1153)", segment.qualifier)
        elif tag == "LOC":
            if segment.qualifier in _HEADER_LOCATIONS:
                self.locations.append(segment)
            else:
                problems.unknown(segment, "location qualifier (3227)", segment.qualifier)
        elif tag not in _IGNORED_IN_HEADER:
            problems.unmapped(segment)

    def _count(self, segment: Segment) -> None:
        if segment.qualifier == "16":
            self.count = segment
        elif segment.qualifier != "1":  # 1: a dummy control value in SMDG messages
            self.problems.unknown(segment, "control qualifier (6069)", segment.qualifier)

    # --- container group ---

    def _equipment(self, box: Draft, segment: Segment) -> None:
        problems = self.problems
        if segment.qualifier != "CN":
            problems.unknown(segment, "equipment qualifier (8053; only CN)", segment.qualifier)
        if segment.component(1):
            box.set("container", segment.component(1), segment)
        if segment.component(2):
            box.set("iso_size_type", segment.component(2), segment)
        status = segment.component(4)
        if status in _TRADES:
            box.set("trade", _TRADES[status], segment)
        elif status:
            problems.unknown(segment, "equipment status (8249)", status)
        full = segment.component(5)
        if full in _FULL:
            box.set("full", _FULL[full], segment)
        elif full:
            problems.unknown(segment, "full/empty indicator (8169)", full)
            box.fail("full")

    def _group(self, box: Draft, segment: Segment) -> None:
        problems, tag, qualifier = self.problems, segment.tag, segment.qualifier
        if tag == "RFF":
            if qualifier == "VON" and segment.component(0, 1):
                box.set("port_call_id", segment.component(0, 1), segment)
            elif qualifier not in _REFERENCES:
                problems.unknown(segment, "reference qualifier (1153)", qualifier)
        elif tag == "DTM":
            if qualifier in _TIME_QUALIFIERS:
                read_time(box, segment, problems)
            else:
                problems.unknown(segment, "date/time qualifier (2005)", qualifier)
                box.fail("occurred_at")  # not to report the time missing as well
        elif tag == "LOC":
            if qualifier in ("27", "28"):
                name = "origin_country" if qualifier == "27" else "destination_country"
                box.set(name, segment.component(1), segment)
            elif qualifier not in _GROUP_LOCATIONS:
                problems.unknown(segment, "location qualifier (3227)", qualifier)
        elif tag == "MEA":
            self._measure(box, segment)
        elif tag == "FTX":
            if qualifier == HUB_TEXT:
                self._hub_text(box, segment)
            elif qualifier not in _IGNORED_TEXTS:
                problems.unknown(segment, "text subject qualifier (4451)", qualifier)
        elif tag == "PIA":
            if segment.component(1, 1) != "HS":
                problems.unknown(
                    segment, "item number type (7143; only HS)", segment.component(1, 1)
                )
            else:
                box.set("hs_code", segment.component(1), segment)
        elif tag == "TDT":
            if segment.component(2) != "3" or qualifier not in _ROAD_STAGES:
                problems.add(
                    segment,
                    "only a road TDT (stage 1, 10 or 30, mode 3) may follow EQD: "
                    f"got stage {qualifier!r}, mode {segment.component(2)!r}",
                )
            elif segment.component(1):
                box.set("truck_visit_id", segment.component(1), segment)
        elif tag not in _IGNORED_IN_GROUP:
            problems.unmapped(segment)

    def _measure(self, box: Draft, segment: Segment) -> None:
        problems, attribute = self.problems, segment.component(1)
        if segment.qualifier not in ("AAE", "WT"):
            problems.unknown(segment, "measurement purpose (6311)", segment.qualifier)
        elif attribute in _IGNORED_MEASURES:
            return
        elif attribute not in _WEIGHTS:
            problems.unknown(segment, "measured attribute (6313)", attribute)
        elif segment.component(2) != "KGM":
            problems.add(segment, f"gross weight unit {segment.component(2)!r}: only KGM")
            box.fail("gross_kg")
        else:
            kilograms = read_integer(segment, segment.component(2, 1), problems)
            if kilograms is None:
                box.fail("gross_kg")
            else:
                box.set("gross_kg", kilograms, segment)

    def _hub_text(self, box: Draft, segment: Segment) -> None:
        key, value = segment.component(2), segment.component(3)
        if key == "CRN":
            box.set("crane_id", value, segment)
        elif key == "MOV":
            try:
                move = Move(value)
            except ValueError:
                move = None
            if move not in MOVES_BY_MESSAGE[self.message_type]:
                self.problems.unknown(segment, "move", value)
                box.fail("move")
            else:
                box.set("move", move, segment)
        elif key == "VAL":
            amount = _amount(segment, self.problems)
            if amount is None:
                box.fail("declared_value_usd")
            else:
                box.set("declared_value_usd", amount, segment)
        else:
            self.problems.unknown(segment, "hub text key", key)

    # --- events ---

    def finish(self, header: Segment, context: MessageContext) -> list[CargoEvent]:
        problems = self.problems
        port, port_carrier = self._port(header)
        if self.count is not None:
            counted = read_integer(self.count, self.count.component(0, 1), problems)
            if counted is not None and counted != len(self.boxes):
                problems.add(
                    self.count,
                    f"CNT says {counted} containers, the message has {len(self.boxes)}",
                )
        if not self.boxes:
            problems.add(header, "no EQD: the message reports no container")
        call_id = self.call_id or self.conveyance
        events: list[CargoEvent] = []
        for box in self.boxes:
            if "move" not in box.values and "move" not in box.reported:
                if self.move is not None and self.bgm is not None:
                    box.set("move", self.move, self.bgm)
                else:
                    box.fail("move")  # reported once, on BGM or its absence
            if port is not None and port_carrier is not None:
                box.set("port", port, port_carrier)
            else:
                box.fail("port")
            if call_id is not None and "port_call_id" not in box.values:
                box.set("port_call_id", call_id[0], call_id[1])
            event = box.finish(CargoEvent, _REQUIRED, context, problems)
            if event is not None:
                events.append(event)
        return events

    def _port(self, header: Segment) -> tuple[str | None, Segment | None]:
        if self.bgm is None:
            self.problems.add(header, "mandatory BGM missing")
            return None, None
        if self.move is None:
            return None, None
        wanted = _PORT_LOCATION[self.move]
        found = [loc for loc in self.locations if loc.qualifier == wanted]
        if not found:
            self.problems.add(self.bgm, f"mandatory header LOC+{wanted} (the port) missing")
            return None, None
        ports = {loc.component(1) for loc in found}
        if len(ports) > 1:
            self.problems.add(found[1], f"two ports in LOC+{wanted}: {', '.join(sorted(ports))}")
            return None, None
        return found[0].component(1), found[0]


def _amount(segment: Segment, problems: Problems) -> Decimal | None:
    """A hub ``VAL`` text: ``amount:USD``."""
    currency = segment.component(3, 1)
    if currency != "USD":
        problems.add(segment, f"declared value currency {currency!r}: only USD")
        return None
    try:
        return parse_decimal(segment.component(3))
    except ValueError as error:
        problems.add(segment, str(error))
        return None


# --- writing ------------------------------------------------------------------------------


def write_coarri(events: Sequence[CargoEvent], document: str) -> list[OutSegment]:
    """The body (BGM..CNT) of a COARRI of one port, port call and report kind.

    DISC makes a discharge report (98); LOAD and RSTW a loading report (270), where restows
    carry ``FTX+ZZZ++MOV+RSTW``.
    """
    first = events[0]
    report = Move.DISC if first.move is Move.DISC else Move.LOAD
    segments: list[OutSegment] = [
        ("BGM", [_DOCUMENT_CODES[report], document, MESSAGE_FUNCTION_ORIGINAL]),
        ("TDT", ["20", first.port_call_id or "", "1"]),
    ]
    if first.port_call_id:
        segments.append(("RFF", [["VON", first.port_call_id]]))
    segments.append(("LOC", [_PORT_LOCATION[report], [first.port, "139", "6"]]))
    for event in events:
        segments += _container(event, report, "COARRI", header_call=first.port_call_id)
    segments.append(("CNT", [["16", str(len(events))]]))
    return segments


def write_codeco(events: Sequence[CargoEvent], document: str) -> list[OutSegment]:
    """The body (BGM..CNT) of a CODECO of one port and one move (GTIN or GTOT)."""
    first = events[0]
    segments: list[OutSegment] = [
        ("BGM", [_DOCUMENT_CODES[first.move], document, MESSAGE_FUNCTION_ORIGINAL]),
        ("LOC", [_PORT_LOCATION[first.move], [first.port, "139", "6"]]),
    ]
    for event in events:
        segments += _container(event, first.move, "CODECO", header_call=None)
    segments.append(("CNT", [["16", str(len(events))]]))
    return segments


def _container(
    event: CargoEvent, report: Move, message_type: str, header_call: str | None
) -> list[OutSegment]:
    status = _TRADE_CODES[event.trade] if event.trade else ""
    segments: list[OutSegment] = [
        (
            "EQD",
            [
                "CN",
                event.container,
                [event.iso_size_type, "102", "5"],
                "",
                status,
                "5" if event.full else "4",
            ],
        )
    ]
    if event.port_call_id and event.port_call_id != header_call:
        segments.append(("RFF", [["VON", event.port_call_id]]))
    value, code = format_time(event.occurred_at)
    segments.append(("DTM", [[_TIME_QUALIFIER[message_type], value, code]]))
    if event.origin_country:
        segments.append(("LOC", ["27", event.origin_country]))
    if event.destination_country:
        segments.append(("LOC", ["28", event.destination_country]))
    segments.append(("MEA", ["AAE", "G", ["KGM", str(event.gross_kg)]]))
    if event.move is not report:
        segments.append(("FTX", [HUB_TEXT, "", "MOV", event.move.value]))
    if event.crane_id:
        segments.append(("FTX", [HUB_TEXT, "", "CRN", event.crane_id]))
    if event.declared_value_usd is not None:
        amount = format_decimal(event.declared_value_usd)
        segments.append(("FTX", [HUB_TEXT, "", "VAL", [amount, "USD"]]))
    if event.hs_code:
        segments.append(("PIA", ["5", [event.hs_code, "HS"]]))
    if event.truck_visit_id:
        stage = _GATE_OUT_STAGE if event.move is Move.GTOT else _GATE_IN_STAGE
        segments.append(("TDT", [stage, event.truck_visit_id, "3"]))
    return segments
