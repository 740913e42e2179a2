"""The whole chain on generated port calls: the generator's timeline → :func:`nmea_for_call` →
decoder → tracker → call book, against the truth the timeline and the track give."""

from __future__ import annotations

import itertools
import random
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from connectors.ais.areas import load_port_areas
from connectors.ais.calls import CallBook
from connectors.ais.nmea import NmeaDecoder, Position
from connectors.ais.tracker import Ignored, Sighting, VesselTracker
from connectors.ais.tracks import CallTrack, nmea_for_call
from connectors.simulator import PortTrafficGenerator
from hub.domain.reference import BUNDLED_PORTS_FILE, load_ports
from schemas.models import Classifier, Facility, Operation, VesselEvent

PORTS = [port for port in load_ports(BUNDLED_PORTS_FILE) if port.unlocode in {"PECLL", "CLSAI"}]
START = datetime(2026, 3, 1, tzinfo=UTC)
AREAS = load_port_areas()
TOLERANCE = timedelta(minutes=2)
CALLS_WANTED, ANCHORED_WANTED = 6, 2

ARRI_PORT = (Operation.ARRI, Facility.PORT)
ARRI_ANCH = (Operation.ARRI, Facility.ANCH)
DEPA_ANCH = (Operation.DEPA, Facility.ANCH)
DEPA_PORT = (Operation.DEPA, Facility.PORT)


@dataclass(frozen=True)
class Call:
    port_call_id: str
    timeline: tuple[VesselEvent, ...]

    @property
    def first(self) -> VesselEvent:
        return self.timeline[0]

    def actual(self, step: tuple[Operation, Facility]) -> datetime | None:
        for event in self.timeline:
            if event.classifier is Classifier.ACT and (event.operation, event.facility) == step:
                return event.occurred_at
        return None

    @property
    def anchored(self) -> bool:
        return self.actual(ARRI_ANCH) is not None


@dataclass(frozen=True)
class Generated:
    calls: list[Call]
    events: list[VesselEvent]


@pytest.fixture(scope="module")
def generated() -> Generated:
    """Calls that arrive after the stream's start and are complete, some with anchorage.

    ``scale`` thins the cargo (which the vessel timelines do not depend on) to save time.
    """
    generator = PortTrafficGenerator(PORTS, seed=5, start=START, scale=0.02)
    timelines: dict[str, list[VesselEvent]] = defaultdict(list)
    events: list[VesselEvent] = []
    complete: list[Call] = []
    for event in itertools.islice(generator.events(), 200_000):
        if not isinstance(event, VesselEvent):
            continue
        events.append(event)
        timelines[event.port_call_id].append(event)
        call = Call(event.port_call_id, tuple(timelines[event.port_call_id]))
        last_departure = (
            event.classifier is Classifier.ACT
            and (event.operation, event.facility) == (Operation.DEPA, Facility.BRTH)
            and call.actual((Operation.CMPL, Facility.BRTH)) is not None
        )
        if last_departure and call.actual(ARRI_PORT) is not None:
            complete.append(call)
        anchored = [c for c in complete if c.anchored]
        if len(complete) >= CALLS_WANTED and len(anchored) >= ANCHORED_WANTED:
            break
    plain = [c for c in complete if not c.anchored][: CALLS_WANTED - ANCHORED_WANTED]
    chosen = [c for c in complete if c.anchored][:ANCHORED_WANTED] + plain
    assert len(chosen) == CALLS_WANTED
    return Generated(chosen, events)


def track_of(call: Call, *, drift: bool, seed: int) -> CallTrack:
    first = call.first
    assert first.mmsi is not None and first.call_sign is not None
    return nmea_for_call(
        call.timeline,
        AREAS[first.port],
        mmsi=first.mmsi,
        imo=first.imo,
        name=first.vessel_name or "UNNAMED",
        call_sign=first.call_sign,
        rng=random.Random(seed),
        drift_at_boundary=drift,
    )


def sightings_of(lines: list[str] | tuple[str, ...], tracker: VesselTracker) -> list[Sighting]:
    decoder = NmeaDecoder()
    sightings = [s for line in lines for item in decoder.feed(line) for s in tracker.observe(item)]
    decoder.flush()
    assert not decoder.rejected
    return sightings


def truth(call: Call, track: CallTrack) -> dict[tuple[Operation, Facility], datetime]:
    """What the tracker should see: the generator's ACT times, and the track's exit."""
    expected = {ARRI_PORT: call.actual(ARRI_PORT), DEPA_PORT: track.departure}
    if call.anchored:
        expected[ARRI_ANCH] = call.actual(ARRI_ANCH)
        expected[DEPA_ANCH] = call.actual(DEPA_ANCH)
    return {step: at for step, at in expected.items() if at is not None}


@pytest.mark.parametrize("drift", [False, True], ids=["direct", "drifting-at-the-limits"])
def test_every_call_is_seen_once_per_kind_within_two_minutes_and_resolves_to_its_call(
    generated: Generated, drift: bool
) -> None:
    book = CallBook()
    for event in generated.events:
        book.observe(event)
    for index, call in enumerate(generated.calls):
        track = track_of(call, drift=drift, seed=index)
        sightings = sightings_of(track.lines, VesselTracker(AREAS))
        expected = truth(call, track)
        seen = Counter((s.operation, s.facility) for s in sightings)
        assert seen == Counter(expected.keys()), call.port_call_id  # one of each: no flapping
        for sighting in sightings:
            step = (sighting.operation, sighting.facility)
            assert abs(sighting.at - expected[step]) <= TOLERANCE, (call.port_call_id, step)
            assert (sighting.port, sighting.imo, sighting.mmsi) == (
                call.first.port,
                call.first.imo,
                call.first.mmsi,
            )
            assert book.resolve(sighting) == call.port_call_id


def test_the_chosen_calls_include_anchorage_stays(generated: Generated) -> None:
    assert sum(call.anchored for call in generated.calls) >= ANCHORED_WANTED
    assert {call.first.port for call in generated.calls} == {"PECLL", "CLSAI"}


def test_the_drifting_track_really_crosses_the_line_back_and_forth(generated: Generated) -> None:
    call = generated.calls[0]
    track = track_of(call, drift=True, seed=0)
    limits = AREAS[call.first.port].limits
    decoder = NmeaDecoder()
    drifting = [
        item
        for line in track.lines
        for item in decoder.feed(line)
        if isinstance(item, Position)
        and track.arrival - timedelta(hours=1) < item.at < track.arrival
    ]
    sides = [limits.contains(p.lat, p.lon) for p in drifting]
    assert sum(a != b for a, b in itertools.pairwise(sides)) >= 4
    assert max(limits.distance_to_boundary_m(p.lat, p.lon) for p in drifting) < 110


def test_interleaved_calls_of_different_vessels_in_one_feed(generated: Generated) -> None:
    calls = list({call.first.mmsi: call for call in generated.calls}.values())
    tracks = [track_of(call, drift=False, seed=index) for index, call in enumerate(calls)]
    feed = sorted((line for track in tracks for line in track.lines), key=stamp)  # stable
    sightings = sightings_of(feed, VesselTracker(AREAS))
    for call, track in zip(calls, tracks, strict=True):
        mine = [s for s in sightings if s.mmsi == call.first.mmsi]
        assert Counter((s.operation, s.facility) for s in mine) == Counter(
            truth(call, track).keys()
        )


def test_positions_delivered_late_are_ignored_and_change_nothing(generated: Generated) -> None:
    call = generated.calls[0]
    track = track_of(call, drift=False, seed=0)
    lines = list(track.lines)
    on_time = sightings_of(lines, VesselTracker(AREAS))
    # A report from 10 minutes before the arrival comes in 10 minutes after it.
    late = next(
        i for i, line in enumerate(lines) if stamp(line) >= track.arrival - timedelta(minutes=10)
    )
    after = next(
        i for i, line in enumerate(lines) if stamp(line) >= track.arrival + timedelta(minutes=10)
    )
    lines.insert(after, lines.pop(late))
    tracker = VesselTracker(AREAS)
    assert sightings_of(lines, tracker) == on_time
    assert tracker.ignored == {Ignored.OUT_OF_ORDER: 1}


def test_a_vessel_without_static_data_is_held_until_the_hub_names_it(generated: Generated) -> None:
    call = generated.calls[0]
    track = track_of(call, drift=False, seed=0)
    without_static = [line for line in track.lines if ",2,1," not in line and ",2,2," not in line]
    tracker = VesselTracker(AREAS, hold_unknown=timedelta(days=7))
    assert sightings_of(without_static, tracker) == []
    assert call.first.mmsi is not None
    released = tracker.know(call.first.mmsi, call.first.imo)
    assert Counter((s.operation, s.facility) for s in released) == Counter(
        truth(call, track).keys()
    )
    assert all(s.imo == call.first.imo for s in released)


def stamp(line: str) -> datetime:
    return datetime.fromtimestamp(int(line[3 : line.index("*")]), UTC)


def test_the_book_knows_enough_an_hour_after_each_sighting(generated: Generated) -> None:
    """In real time the hub learns a call as it goes: resolving a sighting an hour after it,
    with only the events published by then, still finds its call."""
    for index, call in enumerate(generated.calls):
        track = track_of(call, drift=False, seed=index)
        for sighting in sightings_of(track.lines, VesselTracker(AREAS)):
            book = CallBook()
            for event in generated.events:
                if event.published_at <= sighting.at + timedelta(hours=1):
                    book.observe(event)
            assert book.resolve(sighting) == call.port_call_id, (call.port_call_id, sighting)
