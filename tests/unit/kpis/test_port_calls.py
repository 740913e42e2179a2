"""Port-call KPIs against hand-computed expectations (SPEC §2)."""

from __future__ import annotations

import math

import pytest

from hub.domain.kpis.port_calls import call_berth_hours, crane_hours, port_call_kpis
from schemas.models import CargoEvent, Classifier, Facility, Move, Operation, VesselEvent
from tests.unit.kpis.builders import CALL, PORT, at, by_kpi, call_events, cargo, retraction, vessel

ARRI, DEPA, STRT, CMPL = Operation.ARRI, Operation.DEPA, Operation.STRT, Operation.CMPL
PORT_LIMITS, ANCH, PBPL, BRTH = Facility.PORT, Facility.ANCH, Facility.PBPL, Facility.BRTH

# Arrives, waits 6 h at anchorage, berths 20 h (the hand-made call).
ANCHORAGE_CALL = [
    (ARRI, PORT_LIMITS, 0.0),
    (ARRI, ANCH, 0.25),
    (DEPA, ANCH, 6.25),
    (ARRI, PBPL, 6.5),
    (ARRI, BRTH, 7.25),
    (STRT, BRTH, 8.0),
    (CMPL, BRTH, 26.5),
    (DEPA, BRTH, 27.25),
]


def test_a_call_that_waits_6_h_at_anchorage_and_berths_20_h() -> None:
    kpis = by_kpi(port_call_kpis(call_events(ANCHORAGE_CALL), []))

    assert kpis["waiting_time_h"].value == 7.25  # all fast 7:15 after arrival at port limits
    assert kpis["port_to_berth_h"].value == 7.25
    assert kpis["anchorage_time_h"].value == 6.0
    assert kpis["gross_berth_h"].value == 20.0
    assert kpis["on_berth_h"].value == 20.0
    assert kpis["port_hours_h"].value == 27.25
    assert kpis["waiting_time_h"].anchor_time == at(7.25)  # all fast
    assert kpis["anchorage_time_h"].anchor_time == at(6.25)  # leaves the anchorage
    assert kpis["port_hours_h"].anchor_time == at(27.25)  # departure
    assert kpis["gross_berth_h"].anchor_time == at(27.25)
    assert {v.flag for v in kpis.values()} == {None}
    assert {(v.entity_kind, v.entity_id, v.port) for v in kpis.values()} == {
        ("port_call", f"{PORT}/{CALL}", PORT)
    }
    assert kpis["waiting_time_h"].unit == "h"
    # No moves: call size 0, berth productivity 0; no crane worked, so no crane KPI.
    assert kpis["call_size_moves"].value == 0.0
    assert kpis["berth_productivity_moves_per_h"].value == 0.0
    assert "gross_crane_productivity_moves_per_h" not in kpis
    assert "crane_intensity_cranes" not in kpis


def test_a_berth_shift_sums_the_two_berth_segments() -> None:
    events = [
        vessel(ARRI, PORT_LIMITS, 0),
        vessel(ARRI, BRTH, 2, berth="B1"),
        vessel(DEPA, BRTH, 12, berth="B1"),
        vessel(ARRI, BRTH, 14, berth="B2"),
        vessel(DEPA, BRTH, 20, berth="B2"),
    ]
    kpis = by_kpi(port_call_kpis(events, []))

    assert kpis["on_berth_h"].value == 16.0  # 10 h at B1 + 6 h at B2
    assert kpis["gross_berth_h"].value == 18.0  # first all fast to last departure
    assert kpis["port_hours_h"].value == 20.0
    assert kpis["waiting_time_h"].value == 2.0  # to the FIRST berth
    assert kpis["on_berth_h"].anchor_time == at(20)


def test_between_two_berths_the_call_has_not_departed() -> None:
    events = [
        vessel(ARRI, PORT_LIMITS, 0),
        vessel(ARRI, BRTH, 2, berth="B1"),
        vessel(DEPA, BRTH, 12, berth="B1"),
        vessel(ARRI, BRTH, 14, berth="B2"),
    ]
    kpis = by_kpi(port_call_kpis(events, []))

    for name in ("on_berth_h", "gross_berth_h", "port_hours_h", "call_size_moves"):
        assert (kpis[name].value, kpis[name].flag, kpis[name].anchor_time) == (None, "OPEN", None)
    assert kpis["waiting_time_h"].value == 2.0


def test_a_shift_without_its_departure_ends_the_first_berth_at_the_second() -> None:
    events = [
        vessel(ARRI, PORT_LIMITS, 0),
        vessel(ARRI, BRTH, 2, berth="B1"),
        vessel(ARRI, BRTH, 14, berth="B2"),
        vessel(DEPA, BRTH, 20, berth="B2"),
    ]
    kpis = by_kpi(port_call_kpis(events, []))

    assert kpis["on_berth_h"].value == 18.0  # 12 h (B1, shifting included) + 6 h
    assert kpis["gross_berth_h"].value == 18.0


def test_a_repeated_all_fast_at_the_same_berth_is_one_arrival() -> None:
    events = [
        vessel(ARRI, PORT_LIMITS, 0),
        vessel(ARRI, BRTH, 2, berth="B1", source="TERMINAL"),
        vessel(ARRI, BRTH, 2.5, berth="B1", source="AIS"),
        vessel(DEPA, BRTH, 12, berth="B1"),
    ]
    kpis = by_kpi(port_call_kpis(events, []))

    assert kpis["waiting_time_h"].value == 2.0
    assert kpis["on_berth_h"].value == 10.0


def _cargo_call() -> list[VesselEvent]:
    return [
        vessel(ARRI, PORT_LIMITS, 0),
        vessel(ARRI, BRTH, 1),
        vessel(STRT, BRTH, 2),
        vessel(CMPL, BRTH, 4),
        vessel(DEPA, BRTH, 5),
    ]


def _crane(crane: str, hours: list[float], move: Move = Move.DISC) -> list[CargoEvent]:
    return [cargo(move, h, crane=crane) for h in hours]


def test_crane_productivity_with_two_cranes() -> None:
    # STS-A: 5 moves over 1 h (cycle 15 min) works 1 h 15 min;
    # STS-B: 3 moves over 1 h (cycle 30 min) works 1 h 30 min. Σ 8 moves in 2.75 h.
    moves = _crane("STS-A", [2.0, 2.25, 2.5, 2.75, 3.0]) + _crane(
        "STS-B", [2.0, 2.5, 3.0], Move.LOAD
    )
    kpis = by_kpi(port_call_kpis(_cargo_call(), moves))

    assert crane_hours(moves) == pytest.approx(2.75)
    assert kpis["gross_crane_productivity_moves_per_h"].value == pytest.approx(8 / 2.75)
    assert kpis["crane_intensity_cranes"].value == pytest.approx(2.75 / 2)  # T_ll - T_fl = 2 h
    assert kpis["call_size_moves"].value == 8.0
    assert kpis["berth_productivity_moves_per_h"].value == 2.0  # 8 moves in 4 gross berth hours
    assert kpis["gross_crane_productivity_moves_per_h"].unit == "moves/h"
    assert kpis["crane_intensity_cranes"].unit == "cranes"
    for name in ("call_size_moves", "gross_crane_productivity_moves_per_h"):
        assert kpis[name].anchor_time == at(5)  # final at departure


def test_a_single_move_crane_counts_the_calls_average_cycle() -> None:
    # Average cycle of the others: (1 h + 1 h) / (4 + 2) cycles = 20 min. Σ 37/12 h for 9 moves.
    moves = (
        _crane("STS-A", [2.0, 2.25, 2.5, 2.75, 3.0])
        + _crane("STS-B", [2.0, 2.5, 3.0])
        + _crane("STS-C", [2.4])
    )
    kpis = by_kpi(port_call_kpis(_cargo_call(), moves))

    assert kpis["gross_crane_productivity_moves_per_h"].value == pytest.approx(108 / 37)


def test_restows_are_call_moves_and_other_moves_are_not() -> None:
    moves = [
        *_crane("STS-A", [2.0, 3.0]),
        cargo(Move.RSTW, 2.5, crane="STS-A"),
        cargo(Move.YARD, 2.6),
        cargo(Move.GTOT, 2.7),
    ]
    kpis = by_kpi(port_call_kpis(_cargo_call(), moves))

    assert kpis["call_size_moves"].value == 3.0
    assert kpis["gross_crane_productivity_moves_per_h"].value == pytest.approx(3 / 1.5)


def test_only_single_move_cranes_give_no_crane_productivity() -> None:
    kpis = by_kpi(port_call_kpis(_cargo_call(), _crane("STS-A", [2]) + _crane("STS-B", [3])))

    assert "gross_crane_productivity_moves_per_h" not in kpis
    assert "crane_intensity_cranes" not in kpis
    assert kpis["call_size_moves"].value == 2.0


def test_a_negative_waiting_time_is_kept_and_flagged() -> None:
    events = [vessel(ARRI, PBPL, 5), vessel(ARRI, BRTH, 3), vessel(DEPA, BRTH, 10)]
    kpis = by_kpi(port_call_kpis(events, []))

    assert kpis["waiting_time_h"].value == -2.0
    assert kpis["waiting_time_h"].flag == "NEGATIVE_INTERVAL"
    assert kpis["waiting_time_h"].anchor_time == at(3)
    assert kpis["port_hours_h"].value == 5.0
    assert kpis["port_hours_h"].flag is None


def test_a_departure_before_the_all_fast_is_a_negative_berth_stay() -> None:
    events = [vessel(ARRI, PORT_LIMITS, 0), vessel(DEPA, BRTH, 4), vessel(ARRI, BRTH, 5)]
    kpis = by_kpi(port_call_kpis(events, [cargo(Move.DISC, 4.5)]))

    for name in ("gross_berth_h", "on_berth_h"):
        assert (kpis[name].value, kpis[name].flag) == (-1.0, "NEGATIVE_INTERVAL")
    assert kpis["berth_productivity_moves_per_h"].value == -1.0
    assert kpis["berth_productivity_moves_per_h"].flag == "NEGATIVE_INTERVAL"


def test_an_open_call_reports_open_values() -> None:
    events = [vessel(ARRI, PORT_LIMITS, 0), vessel(ARRI, BRTH, 2), vessel(STRT, BRTH, 3)]
    kpis = by_kpi(port_call_kpis(events, [cargo(Move.DISC, 3.5), cargo(Move.DISC, 4)]))

    assert kpis["waiting_time_h"].value == 2.0
    assert kpis["waiting_time_h"].flag is None
    open_kpis = {
        "port_hours_h",
        "gross_berth_h",
        "on_berth_h",
        "call_size_moves",
        "berth_productivity_moves_per_h",
        "gross_crane_productivity_moves_per_h",
        "crane_intensity_cranes",
    }
    assert open_kpis < kpis.keys()
    for name in open_kpis:
        assert (kpis[name].value, kpis[name].flag, kpis[name].anchor_time) == (None, "OPEN", None)


def test_an_anchorage_stay_without_its_departure_is_open() -> None:
    kpis = by_kpi(port_call_kpis([vessel(ARRI, PORT_LIMITS, 0), vessel(ARRI, ANCH, 1)], []))

    assert (kpis["anchorage_time_h"].value, kpis["anchorage_time_h"].flag) == (None, "OPEN")
    assert (kpis["waiting_time_h"].value, kpis["waiting_time_h"].flag) == (None, "OPEN")


def test_a_call_first_seen_at_berth_has_no_waiting_time() -> None:
    kpis = by_kpi(port_call_kpis([vessel(ARRI, BRTH, 2), vessel(DEPA, BRTH, 12)], []))

    assert "waiting_time_h" not in kpis
    assert "port_hours_h" not in kpis
    assert kpis["gross_berth_h"].value == 10.0


def test_planned_estimated_and_requested_timestamps_are_ignored() -> None:
    actual = call_events(ANCHORAGE_CALL)
    forward = [
        vessel(ARRI, BRTH, 1, classifier=Classifier.PLN),
        vessel(ARRI, PORT_LIMITS, -3, classifier=Classifier.EST),
        vessel(DEPA, BRTH, 20, classifier=Classifier.EST),
        vessel(DEPA, ANCH, 2, classifier=Classifier.REQ),
    ]
    # The EST arrival enters the ETA accuracy KPIs only (tests/unit/kpis/test_eta.py).
    times = [v for v in port_call_kpis(actual + forward, []) if not v.kpi.startswith("eta_")]
    assert times == port_call_kpis(actual, [])
    assert port_call_kpis(forward, []) == []  # not begun: planned only


def test_duplicates_count_once() -> None:
    events = call_events(ANCHORAGE_CALL)
    moves = _crane("STS-A", [8.0, 9.0, 10.0])
    twice = port_call_kpis(events + events[:3], moves + moves)

    assert twice == port_call_kpis(events, moves)
    assert by_kpi(twice)["call_size_moves"].value == 3.0


def test_a_retraction_replaces_the_retracted_event() -> None:
    wrong = vessel(ARRI, BRTH, 9.0)
    events = [vessel(ARRI, PORT_LIMITS, 0), wrong, vessel(DEPA, BRTH, 20)]
    corrected = retraction(wrong, occurred_at=at(7.25))
    move = cargo(Move.DISC, 10)

    kpis = by_kpi(port_call_kpis([*events, corrected], [move, retraction(move, move=Move.YARD)]))

    assert kpis["waiting_time_h"].value == 7.25
    assert kpis["gross_berth_h"].value == 12.75
    assert kpis["call_size_moves"].value == 0.0  # the DISC was a yard move


def test_a_retraction_chain_leaves_the_last_correction() -> None:
    first = vessel(ARRI, BRTH, 9.0)
    second = retraction(first, occurred_at=at(8.0))
    third = retraction(second, occurred_at=at(7.0))
    events = [vessel(ARRI, PORT_LIMITS, 0), third, first, second]

    assert by_kpi(port_call_kpis(events, []))["waiting_time_h"].value == 7.0


def test_events_of_two_calls_are_refused() -> None:
    with pytest.raises(ValueError, match="more than one port call"):
        port_call_kpis([vessel(ARRI, BRTH, 1), vessel(ARRI, BRTH, 2, call="CALL-2")], [])


def test_hours_are_exact_to_the_millisecond() -> None:
    events = [
        vessel(ARRI, PORT_LIMITS, 0),
        vessel(ARRI, BRTH, 1 + 0.001 / 3600),  # one millisecond after 01:00
    ]
    value = by_kpi(port_call_kpis(events, []))["waiting_time_h"].value
    assert value is not None and math.isclose(value, 1 + 1 / 3_600_000, rel_tol=1e-12)


def _berth_hours(
    events: list[VesselEvent], moves: list[CargoEvent] | None = None
) -> dict[str, float]:
    """The call's berth hours by UTC hour ("2026-03-02T07"), from call_berth_hours."""
    values = call_berth_hours(events, moves or [])
    assert {(v.entity_kind, v.kpi, v.unit, v.flag) for v in values} <= {
        ("berth_hour", "berth_hours_h", "h", None)
    }
    for value in values:
        assert value.entity_id.startswith(f"{PORT}/{CALL}/")
        assert value.anchor_time is not None and value.anchor_time.minute == 0
    return {v.entity_id.rsplit("/", 1)[1]: v.value for v in values if v.value is not None}


def test_the_hand_made_call_occupies_its_berth_20_hours_split_by_hour() -> None:
    hours = _berth_hours(call_events(ANCHORAGE_CALL))  # all fast 07:15, departs 03:15 next day

    assert hours["2026-03-02T07"] == 0.75
    assert all(hours[f"2026-03-02T{h:02}"] == 1.0 for h in range(8, 24))
    assert all(hours[f"2026-03-03T{h:02}"] == 1.0 for h in range(0, 3))
    assert hours["2026-03-03T03"] == 0.25
    assert len(hours) == 1 + 16 + 3 + 1
    assert math.fsum(hours.values()) == 20.0


def test_berth_hours_skip_the_shift_between_berths_and_sum_within_an_hour() -> None:
    far_apart = _berth_hours(
        [
            vessel(ARRI, BRTH, 2, berth="B1"),
            vessel(DEPA, BRTH, 12, berth="B1"),
            vessel(ARRI, BRTH, 14, berth="B2"),
            vessel(DEPA, BRTH, 20, berth="B2"),
        ]
    )
    assert sorted(far_apart) == [f"2026-03-02T{h:02}" for h in [*range(2, 12), *range(14, 20)]]
    assert math.fsum(far_apart.values()) == 16.0  # the on-berth hours, not the gross

    same_hour = _berth_hours(
        [
            vessel(ARRI, BRTH, 1.0, berth="B1"),
            vessel(DEPA, BRTH, 2.5, berth="B1"),
            vessel(ARRI, BRTH, 2.75, berth="B2"),
            vessel(DEPA, BRTH, 4.0, berth="B2"),
        ]
    )
    assert same_hour == {"2026-03-02T01": 1.0, "2026-03-02T02": 0.75, "2026-03-02T03": 1.0}


def test_a_vessel_still_at_berth_occupies_it_until_its_latest_event() -> None:
    arrived = [vessel(ARRI, PORT_LIMITS, 0.5), vessel(ARRI, BRTH, 1.5)]
    assert _berth_hours(arrived) == {}  # nothing seen after the all fast yet

    working = _berth_hours(arrived, [cargo(Move.DISC, 3.25)])
    assert working == {"2026-03-02T01": 0.5, "2026-03-02T02": 1.0, "2026-03-02T03": 0.25}
    # A planned departure is not an actual event: it does not stretch the stay.
    planned = _berth_hours([*arrived, vessel(DEPA, BRTH, 9, classifier=Classifier.PLN)])
    assert planned == {}


def test_a_negative_berth_stay_occupies_nothing() -> None:
    events = [vessel(ARRI, PORT_LIMITS, 0), vessel(ARRI, BRTH, 5), vessel(DEPA, BRTH, 3)]

    assert _berth_hours(events) == {}
    assert by_kpi(port_call_kpis(events, []))["gross_berth_h"].flag == "NEGATIVE_INTERVAL"
