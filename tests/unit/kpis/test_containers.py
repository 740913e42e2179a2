"""Container visits and dwell, truck turnaround, throughput (SPEC §2)."""

from __future__ import annotations

import pytest

from hub.domain.kpis.containers import (
    container_visit_kpis,
    container_visits,
    move_kpis,
    teu,
    truck_visit_kpis,
)
from hub.domain.kpis.reference import all_kpis
from hub.domain.kpis.windows import window_aggregates
from schemas.models import Move, Trade
from tests.unit.kpis.builders import BOX, BOX2, PORT, T0, at, by_kpi, cargo, retraction

DAY = 24.0


def test_an_import_container_that_dwells_3_days() -> None:
    visit = [
        cargo(Move.DISC, 10, trade=Trade.IMPORT),
        cargo(Move.YARD, 30),
        cargo(Move.GTOT, 10 + 3 * DAY, trade=Trade.IMPORT),
    ]
    [dwell] = container_visit_kpis(visit, ordinal=1)

    assert dwell.kpi == "dwell_days"
    assert dwell.value == 3.0
    assert dwell.unit == "days"
    assert dwell.anchor_time == at(10 + 3 * DAY)  # when the box left
    assert (dwell.entity_kind, dwell.entity_id, dwell.flag) == (
        "container_visit",
        f"{PORT}/{BOX}/1",
        None,
    )


@pytest.mark.parametrize("trade", [Trade.TRANSSHIPMENT, None])
def test_a_transshipment_dwells_from_discharge_to_load(trade: Trade | None) -> None:
    visit = [cargo(Move.DISC, 0, trade=trade), cargo(Move.LOAD, 2.5 * DAY, call="CALL-2")]
    [dwell] = container_visit_kpis(visit)

    assert dwell.value == 2.5
    assert dwell.anchor_time == at(2.5 * DAY)


def test_an_export_dwells_from_gate_in_to_load() -> None:
    [dwell] = container_visit_kpis([cargo(Move.GTIN, 6), cargo(Move.LOAD, 6 + 36)])

    assert dwell.value == 1.5


def test_the_trade_field_chooses_the_ends() -> None:
    # Declared an import: the dwell ends at the gate out, not at a later (re)load.
    visit = [
        cargo(Move.DISC, 0, trade=Trade.IMPORT),
        cargo(Move.GTOT, 48),
        cargo(Move.LOAD, 72),
    ]
    assert container_visit_kpis(visit)[0].value == 2.0
    # An import with no gate-out yet is open, though the box was loaded.
    [dwell] = container_visit_kpis([cargo(Move.DISC, 0, trade=Trade.IMPORT), cargo(Move.LOAD, 9)])
    assert (dwell.value, dwell.flag, dwell.anchor_time) == (None, "OPEN", None)


def test_a_visit_that_only_began_is_open() -> None:
    [dwell] = container_visit_kpis([cargo(Move.DISC, 0), cargo(Move.YARD, 5)])

    assert (dwell.value, dwell.flag, dwell.anchor_time) == (None, "OPEN", None)


def test_no_dwell_without_a_start_or_for_in_and_out_by_road() -> None:
    assert container_visit_kpis([cargo(Move.YARD, 0), cargo(Move.GTOT, 5)]) == []
    assert container_visit_kpis([cargo(Move.GTIN, 0), cargo(Move.GTOT, 5)]) == []
    assert (
        container_visit_kpis([cargo(Move.GTIN, 0), cargo(Move.GTOT, 5, trade=Trade.EXPORT)]) != []
    )


def test_a_container_coming_back_starts_a_new_visit() -> None:
    events = [
        cargo(Move.DISC, 0),
        cargo(Move.YARD, 1),
        cargo(Move.GTOT, 2 * DAY),  # import leaves full
        cargo(Move.YARD, 2 * DAY + 1),  # a late yard report stays in visit 1
        cargo(Move.GTIN, 5 * DAY),  # comes back empty
        cargo(Move.LOAD, 6 * DAY),
        cargo(Move.DISC, 20 * DAY),  # and comes back again
    ]
    visits = container_visits(list(reversed(events)))

    assert [[e.event_id for e in visit] for visit in visits] == [
        [e.event_id for e in events[:4]],
        [e.event_id for e in events[4:6]],
        [events[6].event_id],
    ]
    dwell = {v.entity_id: v for v in all_kpis(events) if v.kpi == "dwell_days"}
    assert dwell[f"{PORT}/{BOX}/1"].value == 2.0
    assert dwell[f"{PORT}/{BOX}/2"].value == 1.0
    assert dwell[f"{PORT}/{BOX}/3"].flag == "OPEN"


def test_container_visits_refuses_two_containers() -> None:
    with pytest.raises(ValueError, match="more than one"):
        container_visits([cargo(Move.DISC, 0), cargo(Move.DISC, 0, box=BOX2)])


def test_truck_turnaround_from_earliest_gate_in_to_latest_gate_out() -> None:
    # A dual transaction: drops an export box at 10:00, leaves with an import box at 10:45.
    events = [
        cargo(Move.GTIN, 10, truck="TV-9"),
        cargo(Move.GTOT, 10.75, box=BOX2, truck="TV-9"),
        cargo(Move.GTOT, 10.5, box=BOX2, truck="TV-9"),  # an earlier report of a gate-out
    ]
    [turnaround] = truck_visit_kpis(events)

    assert turnaround.value == 45.0
    assert turnaround.unit == "min"
    assert turnaround.anchor_time == at(10.75)
    assert (turnaround.entity_kind, turnaround.entity_id) == ("truck_visit", f"{PORT}/TV-9")


def test_a_truck_still_inside_is_open_and_one_without_gate_in_has_no_turnaround() -> None:
    [inside] = truck_visit_kpis([cargo(Move.GTIN, 10)])
    assert (inside.value, inside.flag) == (None, "OPEN")
    assert truck_visit_kpis([cargo(Move.GTOT, 10)]) == []


def test_a_gate_out_before_the_gate_in_is_flagged() -> None:
    [turnaround] = truck_visit_kpis([cargo(Move.GTIN, 10), cargo(Move.GTOT, 9.5)])
    assert (turnaround.value, turnaround.flag) == (-30.0, "NEGATIVE_INTERVAL")


@pytest.mark.parametrize(
    ("size_type", "expected"),
    [
        ("22G1", 1.0),  # SPEC: length code 2
        ("42G1", 2.0),  # SPEC: length code 4
        ("45R1", 2.0),
        ("L5G1", 2.0),  # SPEC: length code L (45 ft)
        ("12G1", 0.5),  # 10 ft
        ("32G1", 1.5),  # 30 ft
        ("M5G1", 2.0),  # 48 ft: 40 ft and longer count 2
        ("P5G1", 2.0),  # 53 ft
        ("B2G1", 1.0),  # 24 ft swap body
        ("95G1", 1.0),  # unassigned length code: one slot
    ],
)
def test_teu_by_size_type(size_type: str, expected: float) -> None:
    assert teu(size_type) == expected


def test_move_throughput_in_teu_and_tonnes() -> None:
    move = cargo(Move.DISC, 3, size="45G1", kg=24_350)
    kpis = by_kpi(move_kpis(move))

    assert kpis["throughput_teu"].value == 2.0
    assert kpis["throughput_t"].value == 24.35
    assert {v.unit for v in kpis.values()} == {"TEU", "t"}
    assert {v.anchor_time for v in kpis.values()} == {at(3)}
    assert {v.entity_id for v in kpis.values()} == {f"{PORT}/{move.event_id}"}
    empty = by_kpi(move_kpis(cargo(Move.LOAD, 3, kg=2_200)))
    assert empty["throughput_t"].value == 2.2  # empties count (their tare)


@pytest.mark.parametrize("move", [Move.RSTW, Move.GTIN, Move.GTOT, Move.YARD])
def test_only_discharges_and_loads_are_throughput(move: Move) -> None:
    assert move_kpis(cargo(move, 3)) == []


def test_a_transshipment_counts_twice_in_the_window_throughput() -> None:
    events = [
        cargo(Move.DISC, 1, trade=Trade.TRANSSHIPMENT),
        cargo(Move.LOAD, 20, call="CALL-2", trade=Trade.TRANSSHIPMENT),
        cargo(Move.DISC, 5, box=BOX2, size="45G1", kg=30_000),
        cargo(Move.RSTW, 6, box=BOX2),
    ]
    windows = {w.kpi: w for w in window_aggregates(all_kpis(events), "day")}

    assert windows["throughput_teu"].total == 4.0  # 1 + 1 (twice) + 2; the restow excluded
    assert windows["throughput_teu"].count == 3
    assert windows["throughput_t"].total == 70.0
    assert windows["throughput_teu"].window_start == T0


def test_a_retracted_discharge_leaves_the_throughput() -> None:
    wrong = cargo(Move.DISC, 1, size="45G1")
    corrected = retraction(wrong, iso_size_type="22G1")
    teus = [v for v in all_kpis([wrong, corrected]) if v.kpi == "throughput_teu"]

    assert [(v.entity_id, v.value) for v in teus] == [(f"{PORT}/{corrected.event_id}", 1.0)]
