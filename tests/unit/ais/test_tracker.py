"""The tracker on hand-made tracks: hysteresis, anchorage stops, first sight, positions out of
order, and vessels whose IMO number is not known yet."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from connectors.ais.areas import PortArea, approximate_area
from connectors.ais.geo import LatLon, destination
from connectors.ais.nmea import Position, StaticData
from connectors.ais.tracker import Ignored, Sighting, VesselTracker
from hub.domain.reference import Port
from schemas.models import Facility, Operation

CALLAO = approximate_area(Port("PECLL", "Callao", "PE", -12.0523, -77.1391), 285)
AREAS = {"PECLL": CALLAO}
MMSI, IMO = "636019825", "9321483"
T0 = datetime(2026, 3, 1, 8, tzinfo=UTC)
SOUTH = 200.0  # a bearing from the berth that keeps clear of the anchorage


def boundary_distance(area: PortArea, bearing: float) -> float:
    """How far from the berth, along ``bearing``, the limits are."""
    inside, outside = 0.0, 50_000.0
    for _ in range(50):
        middle = (inside + outside) / 2
        if area.limits.contains(*destination(area.berth, bearing, middle)):
            inside = middle
        else:
            outside = middle
    return inside


EDGE = boundary_distance(CALLAO, SOUTH)


def beyond(metres: float) -> LatLon:
    """The point ``metres`` outside the limits (negative: inside), south of the berth."""
    return destination(CALLAO.berth, SOUTH, EDGE + metres)


def position(minutes: float, point: LatLon, sog: float | None = 8.0, mmsi: str = MMSI) -> Position:
    return Position(mmsi, T0 + timedelta(minutes=minutes), point[0], point[1], sog)


def run(tracker: VesselTracker, items: Sequence[Position | StaticData]) -> list[Sighting]:
    return [sighting for item in items for sighting in tracker.observe(item)]


def known_tracker() -> VesselTracker:
    tracker = VesselTracker(AREAS)
    tracker.know(MMSI, IMO)
    return tracker


def kinds(sightings: list[Sighting]) -> list[tuple[Operation, Facility, datetime]]:
    return [(s.operation, s.facility, s.at) for s in sightings]


# --- port limits ------------------------------------------------------------------------------


def test_an_entry_counts_once_past_the_margin_at_the_time_of_the_first_position_inside() -> None:
    tracker = known_tracker()
    sightings = run(
        tracker,
        [
            position(0, beyond(3_000)),
            position(1, beyond(50)),
            position(2, beyond(-50)),  # over the line: the crossing's time
            position(3, beyond(-250)),  # not yet past the 300 m margin
            position(4, beyond(-450)),  # past it: the arrival is confirmed
            position(5, beyond(-900)),
        ],
    )
    assert sightings == [
        Sighting(MMSI, IMO, "PECLL", Operation.ARRI, Facility.PORT, T0 + timedelta(minutes=2))
    ]


def test_drifting_across_the_boundary_gives_no_events_and_then_one_accurate_arrival() -> None:
    tracker = known_tracker()
    items = [position(0, beyond(5_000))]
    for minute in range(1, 61):  # an hour of drifting within 100 m of the line
        items.append(position(minute, beyond(100 if minute % 2 else -100), sog=0.8))
    items += [position(61, beyond(40)), position(62, beyond(-30)), position(63, beyond(-600))]
    assert kinds(run(tracker, items)) == [
        (Operation.ARRI, Facility.PORT, T0 + timedelta(minutes=62))
    ]


def test_a_departure_is_the_first_position_outside_once_clear_of_the_margin() -> None:
    tracker = known_tracker()
    items = [position(0, beyond(2_000)), position(10, beyond(-2_000))]
    items += [position(60, beyond(-100)), position(61, beyond(60)), position(62, beyond(-20))]
    items += [position(63, beyond(30)), position(64, beyond(400))]
    assert kinds(run(tracker, items)) == [
        (Operation.ARRI, Facility.PORT, T0 + timedelta(minutes=10)),
        (Operation.DEPA, Facility.PORT, T0 + timedelta(minutes=63)),  # not 61: it came back
    ]


def test_a_vessel_first_seen_inside_gives_no_arrival_but_its_departure() -> None:
    tracker = known_tracker()
    items = [position(0, beyond(-3_000)), position(30, beyond(-100)), position(31, beyond(500))]
    assert kinds(run(tracker, items)) == [
        (Operation.DEPA, Facility.PORT, T0 + timedelta(minutes=31))
    ]


# --- anchorage --------------------------------------------------------------------------------

ANCHORAGE = CALLAO.anchorages[0].centre


def near_anchorage(metres: float, bearing: float = 0) -> LatLon:
    return destination(ANCHORAGE, bearing, metres)


def test_an_anchorage_stop_and_departure() -> None:
    tracker = known_tracker()
    items = [position(0, near_anchorage(6_000), sog=9.0), position(20, near_anchorage(500), 4.0)]
    items += [position(25 + 3 * k, near_anchorage(10 * k, 90), sog=0.2) for k in range(6)]
    items += [position(43, near_anchorage(60, 90), sog=0.9)]  # a moment's speed, swinging
    items += [position(46, near_anchorage(40, 80), sog=0.1)]
    items += [position(120, near_anchorage(80, 90), sog=3.5)]  # under way
    items += [position(121, near_anchorage(300, 200), sog=5.0)]
    items += [position(122, near_anchorage(700, 200), sog=6.0)]  # clear of its swing circle
    sightings = [s for s in run(tracker, items) if s.facility is Facility.ANCH]
    assert kinds(sightings) == [
        (Operation.ARRI, Facility.ANCH, T0 + timedelta(minutes=25)),
        (Operation.DEPA, Facility.ANCH, T0 + timedelta(minutes=120)),
    ]


def test_a_stop_shorter_than_stop_minutes_is_not_an_anchorage_stop() -> None:
    tracker = known_tracker()
    items = [position(0, near_anchorage(3_000), sog=9.0)]
    items += [position(10 + 3 * k, near_anchorage(0), sog=0.3) for k in range(3)]  # 6 minutes
    items += [position(17, near_anchorage(200), sog=4.0), position(20, near_anchorage(900), 6.0)]
    assert run(tracker, items) == []


def test_a_report_without_speed_neither_starts_nor_ends_a_stop() -> None:
    tracker = known_tracker()
    items = [position(0, near_anchorage(3_000), sog=9.0), position(10, ANCHORAGE, sog=None)]
    items += [position(12, ANCHORAGE, sog=0.1), position(20, ANCHORAGE, sog=None)]
    items += [position(23, ANCHORAGE, sog=0.2)]
    assert kinds(run(tracker, items)) == [
        (Operation.ARRI, Facility.ANCH, T0 + timedelta(minutes=12))
    ]


def test_a_vessel_first_seen_at_anchor_gives_no_stop_but_its_departure() -> None:
    tracker = known_tracker()
    items = [position(0, ANCHORAGE, sog=0.1), position(30, ANCHORAGE, sog=0.2)]
    items += [position(60, near_anchorage(100), sog=4.0), position(62, near_anchorage(900), 6.0)]
    assert kinds(run(tracker, items)) == [
        (Operation.DEPA, Facility.ANCH, T0 + timedelta(minutes=60))
    ]


# --- order and identity -----------------------------------------------------------------------


def test_positions_older_than_the_last_are_ignored_and_counted() -> None:
    tracker = known_tracker()
    items = [position(0, beyond(2_000)), position(5, beyond(-30)), position(6, beyond(-500))]
    items += [position(4, beyond(1_000)), position(3, beyond(-1_000))]  # late deliveries
    items += [position(6, beyond(-520))]  # the same time again: used
    assert kinds(run(tracker, items)) == [
        (Operation.ARRI, Facility.PORT, T0 + timedelta(minutes=5))
    ]
    assert tracker.ignored == {Ignored.OUT_OF_ORDER: 2}


def test_an_unknown_vessel_is_held_until_static_data_names_it() -> None:
    tracker = VesselTracker(AREAS)
    stranger = "538009876"
    items: list[Position | StaticData] = [
        position(0, beyond(2_000), mmsi=stranger),
        position(5, beyond(-100), mmsi=stranger),
        position(6, beyond(-600), mmsi=stranger),
    ]
    assert run(tracker, items) == []
    released = tracker.observe(StaticData(stranger, "9412347", "COSTA STAR", "V7XY2"))
    assert released == [
        Sighting(
            stranger, "9412347", "PECLL", Operation.ARRI, Facility.PORT, T0 + timedelta(minutes=5)
        )
    ]
    assert tracker.observe(StaticData(stranger, "9412347", "COSTA STAR", "V7XY2")) == []
    later = run(tracker, [position(60, beyond(1_000), mmsi=stranger)])
    assert [(s.imo, s.operation) for s in later] == [("9412347", Operation.DEPA)]


def test_held_sightings_are_dropped_after_the_bound_and_counted() -> None:
    tracker = VesselTracker(AREAS, hold_unknown=timedelta(hours=24), max_held=16)
    items = [position(0, beyond(2_000)), position(5, beyond(-600))]  # ARRI at 5 min
    items += [position(30 * 60, beyond(-650))]  # 30 hours later
    items += [position(30 * 60 + 5, beyond(800))]  # DEPA: held
    assert run(tracker, items) == []
    assert tracker.ignored == {Ignored.UNKNOWN_VESSEL: 1}
    assert [s.operation for s in tracker.know(MMSI, IMO)] == [Operation.DEPA]
    assert tracker.know(MMSI, IMO) == []


def test_prune_forgets_silent_vessels_and_their_held_sightings() -> None:
    tracker = VesselTracker(AREAS)
    run(tracker, [position(0, beyond(2_000)), position(5, beyond(-600))])
    assert tracker.prune(T0 + timedelta(hours=1)) == 1
    assert tracker.ignored == {Ignored.UNKNOWN_VESSEL: 1}
    assert tracker.know(MMSI, IMO) == []


def test_the_hubs_imo_wins_over_ais_static_data() -> None:
    tracker = known_tracker()
    tracker.observe(StaticData(MMSI, "9412347", "WRONG", None))
    sightings = run(tracker, [position(0, beyond(2_000)), position(5, beyond(-600))])
    assert [s.imo for s in sightings] == [IMO]
    assert tracker.imo_of(MMSI) == IMO


def test_static_data_without_imo_changes_nothing() -> None:
    tracker = VesselTracker(AREAS)
    assert tracker.observe(StaticData(MMSI, None, "ISLA BREEZE", None)) == []
    assert tracker.imo_of(MMSI) is None


def test_know_refuses_what_is_not_an_imo_number() -> None:
    with pytest.raises(ValueError, match="not an IMO number"):
        VesselTracker(AREAS).know(MMSI, "IMO9321483")
