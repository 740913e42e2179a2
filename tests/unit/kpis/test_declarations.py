"""Customs declaration KPIs: WCO TRS release time and segments, inspections (SPEC §2)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from hub.domain.kpis.declarations import declaration_kpis, gate_out_of, release_of
from hub.domain.kpis.model import KpiValue
from hub.domain.kpis.reference import all_kpis
from schemas.models import (
    Channel,
    CustomsEvent,
    CustomsKind,
    Envelope,
    Facility,
    Move,
    Operation,
    Regime,
)
from tests.unit.kpis.builders import BOX, BOX2, CALL, PORT, at, by_kpi, cargo, customs, vessel

LODGED, CHANNEL, RELEASED, HELD = (
    CustomsKind.LODGED,
    CustomsKind.CHANNEL,
    CustomsKind.RELEASED,
    CustomsKind.HELD,
)
STARTED, FINISHED = CustomsKind.INSPECTION_STARTED, CustomsKind.INSPECTION_FINISHED


def _inspected_twice() -> list[CustomsEvent]:
    return [
        customs(LODGED, -10, regime=Regime.IMPORT, boxes=(BOX,), call=CALL),  # pre-arrival
        customs(CHANNEL, 2, channel=Channel.RED),
        customs(STARTED, 3),
        customs(FINISHED, 5),
        customs(STARTED, 6),
        customs(FINISHED, 8),
        customs(RELEASED, 12),
    ]


def test_a_declaration_released_after_two_inspections() -> None:
    kpis = by_kpi(declaration_kpis(_inspected_twice(), arrival=at(0), gate_out=at(20)))

    assert kpis["inspections_count"].value == 2.0
    assert kpis["release_time_h"].value == 12.0  # arrival 0 h → release 12 h
    assert kpis["lodgement_to_release_h"].value == 22.0  # lodged 10 h before arrival
    assert kpis["arrival_to_lodgement_h"].value == -10.0
    assert kpis["arrival_to_lodgement_h"].flag is None  # SPEC: keep the sign, no anomaly
    assert kpis["release_to_gate_out_h"].value == 8.0
    assert kpis["physical_inspection_flag"].value == 1.0
    assert kpis["physical_inspection_flag"].unit == "flag"
    assert kpis["physical_inspection_flag"].anchor_time == at(2)  # the channel decision
    assert kpis["release_time_h"].anchor_time == at(12)
    assert kpis["inspections_count"].anchor_time == at(12)
    assert kpis["arrival_to_lodgement_h"].anchor_time == at(0)  # the later of the two
    assert kpis["release_to_gate_out_h"].anchor_time == at(20)
    assert {v.entity_id for v in kpis.values()} == {f"{PORT}/DEC-1"}
    assert {v.flag for v in kpis.values()} == {None}


def test_before_release_the_declaration_is_open() -> None:
    kpis = by_kpi(declaration_kpis(_inspected_twice()[:4], arrival=at(0), gate_out=None))

    for name in ("release_time_h", "lodgement_to_release_h", "inspections_count"):
        assert (kpis[name].value, kpis[name].flag) == (None, "OPEN")
    assert "release_to_gate_out_h" not in kpis  # begins at the release
    assert kpis["physical_inspection_flag"].value == 1.0


def test_unknown_arrival_leaves_arrival_segments_out_or_open() -> None:
    kpis = by_kpi(declaration_kpis(_inspected_twice(), arrival=None, gate_out=None))

    assert "release_time_h" not in kpis
    assert kpis["arrival_to_lodgement_h"].flag == "OPEN"
    assert kpis["release_to_gate_out_h"].flag == "OPEN"
    assert kpis["lodgement_to_release_h"].value == 22.0


def test_green_channel_and_no_channel() -> None:
    green = [customs(LODGED, 0), customs(CHANNEL, 1, channel=Channel.GREEN), customs(RELEASED, 2)]
    kpis = by_kpi(declaration_kpis(green, arrival=None, gate_out=None))
    assert kpis["physical_inspection_flag"].value == 0.0
    assert kpis["inspections_count"].value == 0.0

    none = by_kpi(declaration_kpis([customs(LODGED, 0)], arrival=None, gate_out=None))
    assert none["physical_inspection_flag"].flag == "OPEN"


def test_any_red_channel_counts_as_physical_inspection() -> None:
    events = [
        customs(CHANNEL, 1, channel=Channel.RED),
        customs(CHANNEL, 3, channel=Channel.YELLOW),
    ]
    flag = by_kpi(declaration_kpis(events, None, None))["physical_inspection_flag"]
    assert (flag.value, flag.anchor_time) == (1.0, at(3))


def test_released_then_held_is_not_released_until_released_again() -> None:
    events = [customs(LODGED, 0), customs(RELEASED, 4), customs(HELD, 5)]
    assert release_of(events) is None
    assert release_of([*events, customs(RELEASED, 9)]) == at(9)


def test_a_release_before_arrival_is_flagged() -> None:
    events = [customs(LODGED, -5), customs(RELEASED, -1)]
    kpis = by_kpi(declaration_kpis(events, arrival=at(0), gate_out=None))
    assert (kpis["release_time_h"].value, kpis["release_time_h"].flag) == (
        -1.0,
        "NEGATIVE_INTERVAL",
    )


def test_an_export_has_no_arrival_or_gate_out_segments() -> None:
    events = [
        customs(LODGED, 0, regime=Regime.EXPORT, boxes=(BOX,), call=CALL),
        customs(RELEASED, 3),
    ]
    kpis = by_kpi(declaration_kpis(events, arrival=at(10), gate_out=at(11)))
    assert set(kpis) == {"lodgement_to_release_h", "inspections_count", "physical_inspection_flag"}


def test_events_of_two_declarations_are_refused() -> None:
    with pytest.raises(ValueError, match="more than one declaration"):
        declaration_kpis([customs(LODGED, 0), customs(LODGED, 0, declaration="D2")], None, None)


def test_gate_out_waits_for_every_container_since_arrival() -> None:
    gate_outs = {BOX: [at(-100), at(30)], BOX2: [at(25)]}
    assert gate_out_of([BOX, BOX2], gate_outs, since=at(0)) == at(30)
    assert gate_out_of([BOX, BOX2], {BOX: [at(30)]}, since=at(0)) is None
    assert gate_out_of([], gate_outs, since=at(0)) is None


def test_the_batch_reference_takes_arrival_from_the_call_and_gate_out_from_the_boxes() -> None:
    call: list[Envelope] = [
        vessel(Operation.ARRI, Facility.PORT, -3),
        vessel(Operation.ARRI, Facility.BRTH, 0),  # T_af: the declaration's arrival
        vessel(Operation.DEPA, Facility.BRTH, 15),
    ]
    boxes: list[Envelope] = [
        cargo(Move.GTOT, -200, truck="TV-0"),  # an earlier visit of the same box
        cargo(Move.DISC, 1),
        cargo(Move.DISC, 1.5, box=BOX2),
        cargo(Move.GTOT, 16, truck="TV-1"),
    ]
    declaration: list[Envelope] = [
        customs(LODGED, -10, regime=Regime.IMPORT, boxes=(BOX, BOX2), call=CALL),
        customs(CHANNEL, 2, channel=Channel.GREEN),
        customs(RELEASED, 12),
    ]

    def declared(events: Sequence[Envelope]) -> dict[str, KpiValue]:
        return by_kpi([v for v in all_kpis(events) if v.entity_kind == "declaration"])

    kpis = declared(call + boxes + declaration)
    assert kpis["release_time_h"].value == 12.0
    assert kpis["arrival_to_lodgement_h"].value == -10.0
    assert kpis["release_to_gate_out_h"].flag == "OPEN"  # BOX2 is still in the terminal

    kpis = declared(call + boxes + declaration + [cargo(Move.GTOT, 18, box=BOX2, truck="TV-2")])
    assert kpis["release_to_gate_out_h"].value == 6.0  # the last box left at 18 h

    kpis = declared(boxes + declaration)  # the call is not known
    assert "release_time_h" not in kpis
    assert kpis["arrival_to_lodgement_h"].flag == "OPEN"
