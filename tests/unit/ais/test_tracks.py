"""Synthetic call tracks: what a receiver would log, with the truth they were made from."""

from __future__ import annotations

import itertools
import random
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from connectors.ais.areas import load_port_areas
from connectors.ais.geo import distance_m
from connectors.ais.nmea import NmeaDecoder, Position, StaticData
from connectors.ais.tracks import CallTrack, nmea_for_call, tag_block
from schemas.models import Classifier, Facility, Operation, VesselEvent

AREA = load_port_areas()["PECLL"]
T0 = datetime(2026, 3, 1, 6, tzinfo=UTC)
MMSI, IMO = "636019825", "9321483"


def act(minutes: float, operation: Operation, facility: Facility) -> VesselEvent:
    at = T0 + timedelta(minutes=minutes)
    return VesselEvent(
        event_id=uuid.uuid4(),
        occurred_at=at,
        published_at=at,
        port="PECLL",
        port_call_id="PECLL-1",
        imo=IMO,
        mmsi=MMSI,
        classifier=Classifier.ACT,
        operation=operation,
        facility=facility,
        berth_id="B1" if facility is Facility.BRTH else None,
    )


TIMELINE = [
    act(0, Operation.ARRI, Facility.PORT),
    act(25, Operation.ARRI, Facility.ANCH),
    act(300, Operation.DEPA, Facility.ANCH),
    act(330, Operation.ARRI, Facility.PBPL),
    act(400, Operation.ARRI, Facility.BRTH),
    act(460, Operation.STRT, Facility.BRTH),
    act(1_300, Operation.CMPL, Facility.BRTH),
    act(1_400, Operation.DEPA, Facility.BRTH),
]


def make(timeline: list[VesselEvent] = TIMELINE, drift: bool = False) -> CallTrack:
    return nmea_for_call(
        timeline,
        AREA,
        mmsi=MMSI,
        imo=IMO,
        name="Andes Trader",
        call_sign="D5AB7",
        rng=random.Random(11),
        drift_at_boundary=drift,
    )


def decoded(track: CallTrack) -> list[Position | StaticData]:
    decoder = NmeaDecoder()
    items = [item for line in track.lines for item in decoder.feed(line)]
    assert not decoder.rejected
    return items


def test_every_line_has_a_tag_block_and_the_log_is_in_time_order() -> None:
    track = make()
    stamps = [int(line[3 : line.index("*")]) for line in track.lines]
    assert all(line.startswith(tag_block(s)) for line, s in zip(track.lines, stamps, strict=True))
    assert stamps == sorted(stamps)
    assert all(line.split("\\")[2].startswith("!AIVDM,") for line in track.lines)


def test_static_data_is_sent_twice_in_two_sentences() -> None:
    track = make()
    statics = [item for item in decoded(track) if isinstance(item, StaticData)]
    assert statics == [
        StaticData(MMSI, IMO, "ANDES TRADER", "D5AB7", statics[0].at),
        StaticData(MMSI, IMO, "ANDES TRADER", "D5AB7", statics[1].at),
    ]
    assert sum(",2,1," in line for line in track.lines) == 2


def test_the_truth_is_the_timeline_and_the_exit() -> None:
    track = make()
    assert (track.arrival, track.anchored, track.weighed) == (
        T0,
        T0 + timedelta(minutes=25),
        T0 + timedelta(minutes=300),
    )
    positions = [item for item in decoded(track) if isinstance(item, Position)]
    before = [p for p in positions if p.at < track.departure][-1]
    after = next(p for p in positions if p.at >= track.departure)
    assert AREA.limits.contains(before.lat, before.lon)
    assert not AREA.limits.contains(after.lat, after.lon)
    assert after.at - track.departure < timedelta(minutes=1)


def test_speeds_are_those_of_a_ship_at_sea_at_anchor_and_at_the_berth() -> None:
    track = make()
    positions = [item for item in decoded(track) if isinstance(item, Position)]
    assert track.anchored is not None and track.weighed is not None
    at_sea = [
        p
        for p in positions
        if p.at < track.arrival or p.at > track.departure + timedelta(minutes=1)
    ]
    anchored = [p for p in positions if track.anchored < p.at < track.weighed]
    moored = [
        p for p in positions if T0 + timedelta(minutes=401) < p.at < T0 + timedelta(minutes=1_400)
    ]
    assert all(p.sog_kn is not None and 10 <= p.sog_kn <= 14 for p in at_sea)
    assert all(p.sog_kn is not None and p.sog_kn < 0.3 for p in anchored)
    assert all(p.sog_kn is not None and p.sog_kn < 0.1 for p in moored)
    # Moored: only GPS noise around the berth point (a few metres).
    assert max(distance_m(AREA.berth, (p.lat, p.lon)) for p in moored) < 20
    # Reports every 3 minutes when still, about every 30 s under way.
    gaps = [(b.at - a.at).total_seconds() for a, b in itertools.pairwise(moored)]
    assert set(gaps) == {180}
    approach = [p for p in at_sea if p.at < track.arrival]  # 90 minutes of it
    assert 150 <= len(approach) <= 200


def test_a_call_without_anchorage_stays_clear_of_the_anchorage() -> None:
    timeline = [e for e in TIMELINE if e.facility is not Facility.ANCH]
    track = make(timeline)
    assert track.anchored is None and track.weighed is None
    positions = [item for item in decoded(track) if isinstance(item, Position)]
    assert not any(AREA.anchorage_at(p.lat, p.lon) for p in positions)


def test_the_same_seed_gives_the_same_log() -> None:
    assert make() == make()
    assert make(drift=True).lines != make().lines


@pytest.mark.parametrize(
    "missing", [(Operation.ARRI, Facility.PORT), (Operation.DEPA, Facility.BRTH)]
)
def test_a_timeline_without_its_ends_is_refused(missing: tuple[Operation, Facility]) -> None:
    timeline = [e for e in TIMELINE if (e.operation, e.facility) != missing]
    with pytest.raises(ValueError, match="lacks the ACT"):
        make(timeline)


def test_other_classifiers_are_not_sailed() -> None:
    estimate = TIMELINE[0].model_copy(
        update={"classifier": Classifier.EST, "occurred_at": T0 - timedelta(hours=3)}
    )
    assert make([estimate, *TIMELINE]) == make()
