"""CUSRES (customs response) ⇄ customs events: one :class:`~schemas.models.CustomsEvent` per
message.

- the step and its coded attributes in GIS (general indicator) with the hub's mutually defined
  code lists: ``GIS+<code>:KND:ZZZ`` the kind (LOD lodged/accepted, CHA channel assigned, EXA
  for examination, EXF examination finished, REL released, HLD held), ``GIS+<code>:CHN:ZZZ``
  the channel (GRN, YLW, RED), ``GIS+<code>:REG:ZZZ`` the regime (IMP, EXP, TRA);
- ``DTM+9`` (processing date/time) the time; ``LOC+22`` the port (place of customs clearance);
- ``RFF+ABT`` the declaration, ``RFF+VON`` the port call, ``RFF+IV`` the invoice;
  ``DOC+861`` (certificate of origin) the certificate; ``FTX+ZZZ++AGR+code`` the agreement;
- ``NAD+IM`` importer, ``NAD+EX`` exporter; ``EQD+CN`` each container;
- each goods line opens with ``CST+n``: ``PIA+5+hs:HS``, ``FTX+AAA`` description, ``QTY+1:
  quantity:unit``, ``MOA+40:amount:USD`` (customs value), ``LOC+27`` country of origin.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum
from typing import Final

from connectors.edifact.profile import (
    HUB_TEXT,
    Draft,
    MessageContext,
    Problems,
    check_function,
    read_time,
)
from connectors.edifact.syntax import (
    OutSegment,
    Segment,
    format_decimal,
    format_time,
    parse_decimal,
)
from schemas.models import Channel, CustomsEvent, CustomsKind, Regime

__all__ = ["CODE_LISTS", "read_cusres", "write_cusres"]

_KINDS: Final = {
    CustomsKind.LODGED: "LOD",
    CustomsKind.CHANNEL: "CHA",
    CustomsKind.INSPECTION_STARTED: "EXA",
    CustomsKind.INSPECTION_FINISHED: "EXF",
    CustomsKind.RELEASED: "REL",
    CustomsKind.HELD: "HLD",
}
_CHANNELS: Final = {Channel.GREEN: "GRN", Channel.YELLOW: "YLW", Channel.RED: "RED"}
_REGIMES: Final = {Regime.IMPORT: "IMP", Regime.EXPORT: "EXP", Regime.TRANSIT: "TRA"}
CODE_LISTS: Final[dict[str, tuple[str, dict[str, Enum]]]] = {
    "KND": ("kind", {code: kind for kind, code in _KINDS.items()}),
    "CHN": ("channel", {code: channel for channel, code in _CHANNELS.items()}),
    "REG": ("regime", {code: regime for regime, code in _REGIMES.items()}),
}
"""GIS code list (C529 1131) → the event field and its codes."""

_CLEARANCE_PLACE: Final = "22"
_PROCESSING_TIME: Final = "9"
_CERTIFICATE_OF_ORIGIN: Final = "861"
_CUSTOMS_VALUE: Final = "40"
_QUANTITY: Final = "1"
_IGNORED: Final = frozenset({"ERP", "ERC", "CTA", "COM", "TDT", "SEL", "UNS", "CNT"})
_IGNORED_LOCATIONS: Final = frozenset({"9", "11", "13", "5", "8", "41", "42"})
_IGNORED_REFERENCES: Final = frozenset({"ACW", "ACD", "BM", "BN"})
_IGNORED_PARTIES: Final = frozenset({"DT", "CB", "CN", "CZ", "MS", "MR", "FW"})

_REQUIRED: Final = {
    "declaration_id": "RFF+ABT declaration number",
    "kind": "GIS kind (code list KND)",
    "occurred_at": "DTM+9 processing time",
    "port": "LOC+22 place of customs clearance",
}
_GOODS_REQUIRED: Final = {
    "hs_code": "PIA+5 HS code",
    "quantity": "QTY+1 quantity",
    "unit": "QTY+1 unit",
    "value_usd": "MOA+40 customs value in USD",
}


def read_cusres(
    segments: Sequence[Segment], context: MessageContext, problems: Problems
) -> list[CustomsEvent]:
    """The customs event of a CUSRES message (UNH..UNT); problems go to ``problems``."""
    draft = Draft(segments[0])
    containers: list[str] = []
    goods: list[Draft] = []
    for segment in segments[1:-1]:
        tag, qualifier = segment.tag, segment.qualifier
        line = goods[-1] if goods else None
        if tag == "BGM":
            check_function(segment, problems)
        elif tag == "DTM":
            if qualifier == _PROCESSING_TIME:
                read_time(draft, segment, problems)
            elif qualifier != "137":
                problems.unknown(segment, "date/time qualifier (2005)", qualifier)
        elif tag == "LOC":
            _location(draft, line, segment, problems)
        elif tag == "GIS":
            _indicator(draft, segment, problems)
        elif tag == "RFF":
            name = {"ABT": "declaration_id", "VON": "port_call_id", "IV": "invoice_number"}.get(
                qualifier
            )
            if name is not None:
                draft.set(name, segment.component(0, 1), segment)
            elif qualifier not in _IGNORED_REFERENCES:
                problems.unknown(segment, "reference qualifier (1153)", qualifier)
        elif tag == "DOC":
            if qualifier == _CERTIFICATE_OF_ORIGIN:
                draft.set("certificate_id", segment.component(1), segment)
            else:
                problems.unknown(segment, "document name code (1001)", qualifier)
        elif tag == "FTX":
            _text(draft, line, segment, problems)
        elif tag == "NAD":
            if qualifier in ("IM", "EX"):
                name = "importer_id" if qualifier == "IM" else "exporter_id"
                draft.set(name, segment.component(1), segment)
            elif qualifier not in _IGNORED_PARTIES:
                problems.unknown(segment, "party function qualifier (3035)", qualifier)
        elif tag == "EQD":
            if qualifier != "CN":
                problems.unknown(segment, "equipment qualifier (8053; only CN)", qualifier)
            else:
                containers.append(segment.component(1))
                draft.origins[f"containers.{len(containers) - 1}"] = segment
        elif tag == "CST":
            goods.append(Draft(segment))
        elif tag in ("PIA", "QTY", "MOA"):
            if line is None:
                problems.add(segment, f"{tag} outside a goods line (CST)")
            else:
                _goods(line, segment, problems)
        elif tag not in _IGNORED:
            problems.unmapped(segment)
    if containers:
        draft.set("containers", tuple(containers), draft.origins.get("containers.0", segments[0]))
    lines: list[dict[str, object]] = []
    for index, line in enumerate(goods):
        missing = [name for name in _GOODS_REQUIRED if name not in line.values]
        for name in missing:
            if name not in line.reported:
                problems.add(line.anchor, f"mandatory {_GOODS_REQUIRED[name]} missing")
        lines.append(line.values)
        for name, segment in line.origins.items():
            draft.origins[f"goods.{index}.{name}"] = segment
        draft.origins[f"goods.{index}"] = line.anchor
        if missing or line.reported:
            draft.fail("goods")
    if goods:
        draft.values["goods"] = tuple(lines)
    event = draft.finish(CustomsEvent, _REQUIRED, context, problems)
    return [event] if event is not None else []


def _location(draft: Draft, line: Draft | None, segment: Segment, problems: Problems) -> None:
    qualifier = segment.qualifier
    if qualifier == _CLEARANCE_PLACE:
        draft.set("port", segment.component(1), segment)
    elif qualifier == "27":
        if line is None:
            problems.add(segment, "LOC+27 (country of origin) outside a goods line (CST)")
        else:
            line.set("origin_country", segment.component(1), segment)
    elif qualifier not in _IGNORED_LOCATIONS:
        problems.unknown(segment, "location qualifier (3227)", qualifier)


def _indicator(draft: Draft, segment: Segment, problems: Problems) -> None:
    code, code_list = segment.component(0), segment.component(0, 1)
    if code_list not in CODE_LISTS:
        problems.unknown(segment, "indicator code list (C529 1131)", code_list)
        return
    name, codes = CODE_LISTS[code_list]
    if code not in codes:
        problems.unknown(segment, f"{name} code", code)
        draft.fail(name)
    elif name in draft.values:
        problems.add(segment, f"a second {name} indicator")
    else:
        draft.set(name, codes[code], segment)


def _text(draft: Draft, line: Draft | None, segment: Segment, problems: Problems) -> None:
    qualifier = segment.qualifier
    if qualifier == HUB_TEXT:
        if segment.component(2) == "AGR":
            draft.set("agreement", segment.component(3), segment)
        else:
            problems.unknown(segment, "hub text key", segment.component(2))
    elif qualifier == "AAA" and line is not None:
        line.set("description", segment.component(3), segment)
    elif qualifier not in ("AAI", "AAA", "ACB"):
        problems.unknown(segment, "text subject qualifier (4451)", qualifier)


def _goods(line: Draft, segment: Segment, problems: Problems) -> None:
    tag, qualifier = segment.tag, segment.qualifier
    if tag == "PIA":
        if segment.component(1, 1) != "HS":
            problems.unknown(segment, "item number type (7143; only HS)", segment.component(1, 1))
            line.fail("hs_code")
        else:
            line.set("hs_code", segment.component(1), segment)
    elif tag == "QTY":
        if qualifier != _QUANTITY:
            problems.unknown(segment, "quantity qualifier (6063)", qualifier)
            line.fail("quantity")
            return
        _number(line, "quantity", segment, segment.component(0, 1), problems)
        line.set("unit", segment.component(0, 2), segment)
    elif qualifier != _CUSTOMS_VALUE:
        problems.unknown(segment, "monetary amount qualifier (5025)", qualifier)
        line.fail("value_usd")
    elif segment.component(0, 2) != "USD":
        problems.add(segment, f"customs value currency {segment.component(0, 2)!r}: only USD")
        line.fail("value_usd")
    else:
        _number(line, "value_usd", segment, segment.component(0, 1), problems)


def _number(line: Draft, name: str, segment: Segment, text: str, problems: Problems) -> None:
    try:
        line.set(name, parse_decimal(text), segment)
    except ValueError as error:
        problems.add(segment, str(error))
        line.fail(name)


# --- writing ------------------------------------------------------------------------------


def write_cusres(event: CustomsEvent, document: str) -> list[OutSegment]:
    """The body (BGM..last goods line) of the CUSRES of ``event``."""
    value, code = format_time(event.occurred_at)
    segments: list[OutSegment] = [
        ("BGM", ["", document, "9"]),
        ("DTM", [[_PROCESSING_TIME, value, code]]),
        ("LOC", [_CLEARANCE_PLACE, [event.port, "139", "6"]]),
        ("GIS", [[_KINDS[event.kind], "KND", "ZZZ"]]),
    ]
    if event.channel is not None:
        segments.append(("GIS", [[_CHANNELS[event.channel], "CHN", "ZZZ"]]))
    if event.regime is not None:
        segments.append(("GIS", [[_REGIMES[event.regime], "REG", "ZZZ"]]))
    segments.append(("RFF", [["ABT", event.declaration_id]]))
    if event.port_call_id:
        segments.append(("RFF", [["VON", event.port_call_id]]))
    if event.invoice_number:
        segments.append(("RFF", [["IV", event.invoice_number]]))
    if event.certificate_id:
        segments.append(("DOC", [_CERTIFICATE_OF_ORIGIN, event.certificate_id]))
    if event.agreement:
        segments.append(("FTX", [HUB_TEXT, "", "AGR", event.agreement]))
    if event.importer_id:
        segments.append(("NAD", ["IM", event.importer_id]))
    if event.exporter_id:
        segments.append(("NAD", ["EX", event.exporter_id]))
    segments += [("EQD", ["CN", container]) for container in event.containers]
    for number, line in enumerate(event.goods, start=1):
        segments += [("CST", [str(number)]), ("PIA", ["5", [line.hs_code, "HS"]])]
        if line.description is not None:
            segments.append(("FTX", ["AAA", "", "", line.description]))
        segments += [
            ("QTY", [[_QUANTITY, format_decimal(line.quantity), line.unit]]),
            ("MOA", [[_CUSTOMS_VALUE, format_decimal(line.value_usd), "USD"]]),
        ]
        if line.origin_country:
            segments.append(("LOC", ["27", line.origin_country]))
    return segments
