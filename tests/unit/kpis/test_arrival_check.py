"""Declared against AIS-derived arrivals: the port-call data-quality KPIs (issue 8)."""

from __future__ import annotations

from datetime import timedelta

from hub.domain.kpis.port_calls import port_call_kpis
from hub.domain.kpis.reference import all_kpis
from schemas.models import Facility, Operation, VesselEvent
from tests.unit.kpis.builders import at, by_kpi, call_events, vessel

ARRI, DEPA = Operation.ARRI, Operation.DEPA
PORT_LIMITS, ANCH, PBPL, BRTH = Facility.PORT, Facility.ANCH, Facility.PBPL, Facility.BRTH

DECLARED = [(ARRI, PORT_LIMITS, 0.0), (ARRI, PBPL, 1.5), (ARRI, BRTH, 2.0), (DEPA, BRTH, 14.0)]


def ais(operation: Operation, facility: Facility, hours: float) -> VesselEvent:
    return vessel(operation, facility, hours, source="AIS", mmsi="725001234")


def test_a_declared_arrival_3_h_after_the_ais_one_is_flagged() -> None:
    events = [*call_events(DECLARED), ais(ARRI, PORT_LIMITS, -3.0)]

    kpis = by_kpi(port_call_kpis(events, []))

    assert kpis["ais_arrival_gap_min"].value == 180.0  # declared 00:00, AIS 3 h earlier
    assert kpis["ais_arrival_gap_min"].unit == "min"
    assert kpis["arrival_mismatch_flag"].value == 1.0
    assert kpis["arrival_mismatch_flag"].anchor_time == at(-3.0)  # the AIS arrival


def test_a_declared_arrival_within_the_tolerance_is_not_flagged_whatever_the_sign() -> None:
    early = by_kpi(port_call_kpis([*call_events(DECLARED), ais(ARRI, PORT_LIMITS, 0.25)], []))
    late = by_kpi(port_call_kpis([*call_events(DECLARED), ais(ARRI, PORT_LIMITS, -0.25)], []))

    assert early["ais_arrival_gap_min"].value == -15.0
    assert late["ais_arrival_gap_min"].value == 15.0
    assert early["arrival_mismatch_flag"].value == 0.0
    assert late["arrival_mismatch_flag"].value == 0.0


def test_the_tolerance_is_a_parameter() -> None:
    events = [*call_events(DECLARED), ais(ARRI, PORT_LIMITS, -0.75)]  # 45 min apart

    default = by_kpi(port_call_kpis(events, []))
    wider = by_kpi(port_call_kpis(events, [], timedelta(hours=1)))

    assert default["arrival_mismatch_flag"].value == 1.0  # over the default 30 min
    assert wider["arrival_mismatch_flag"].value == 0.0
    flags = {v.kpi: v.value for v in all_kpis(events, arrival_tolerance=timedelta(hours=1))}
    assert flags["arrival_mismatch_flag"] == 0.0


def test_ais_events_never_change_the_declared_times() -> None:
    declared_only = by_kpi(port_call_kpis(call_events(DECLARED), []))
    # AIS sees the ship enter 3 h earlier, anchor, and leave the port limits after departure.
    with_ais = by_kpi(
        port_call_kpis(
            [
                *call_events(DECLARED),
                ais(ARRI, PORT_LIMITS, -3.0),
                ais(ARRI, ANCH, -2.5),
                ais(DEPA, ANCH, 1.0),
                ais(DEPA, PORT_LIMITS, 15.0),
            ],
            [],
        )
    )

    for kpi, value in declared_only.items():
        assert with_ais[kpi] == value, kpi
    assert "anchorage_time_h" not in with_ais
    assert set(with_ais) - set(declared_only) == {"ais_arrival_gap_min", "arrival_mismatch_flag"}


def test_no_check_without_both_arrivals() -> None:
    no_ais = by_kpi(port_call_kpis(call_events(DECLARED), []))
    no_declared_port_arrival = by_kpi(
        port_call_kpis([*call_events(DECLARED[1:]), ais(ARRI, PORT_LIMITS, 0.0)], [])
    )
    only_ais = port_call_kpis([ais(ARRI, PORT_LIMITS, 0.0), ais(DEPA, PORT_LIMITS, 9.0)], [])

    assert "arrival_mismatch_flag" not in no_ais
    assert "arrival_mismatch_flag" not in no_declared_port_arrival
    assert only_ais == []  # the terminal has not declared the call: nothing to measure


def test_the_earliest_report_of_each_side_counts() -> None:
    events = [
        *call_events(DECLARED),
        vessel(ARRI, PORT_LIMITS, 0.5),  # a later, repeated declaration
        ais(ARRI, PORT_LIMITS, -1.0),
        ais(ARRI, PORT_LIMITS, 0.1),  # re-entered after drifting out
    ]

    kpis = by_kpi(port_call_kpis(events, []))

    assert kpis["ais_arrival_gap_min"].value == 60.0
