"""The traffic generator's vessel events: reproducible, ordered, and shaped like real port calls."""

from __future__ import annotations

import itertools
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest
from stdnum import imo

from connectors.simulator import PortTrafficGenerator, simulation
from hub.domain.reference import BUNDLED_PORTS_FILE, load_ports
from schemas.models import Classifier, Facility, Operation, VesselEvent

PORTS = load_ports(BUNDLED_PORTS_FILE)
START = datetime(2026, 1, 1, tzinfo=UTC)


def generator(seed: int = 3) -> PortTrafficGenerator:
    return PortTrafficGenerator(
        PORTS, seed=seed, start=START, scale=0.02, warmup=timedelta(hours=12)
    )


def take(count: int, seed: int = 3) -> list[VesselEvent]:
    vessel = (e for e in generator(seed).events() if isinstance(e, VesselEvent))
    return list(itertools.islice(vessel, count))


def test_the_same_seed_gives_the_same_events() -> None:
    assert take(300) == take(300)
    assert take(50, seed=4) != take(50, seed=3)


def test_events_come_in_event_time_order_from_every_port() -> None:
    events = list(generator().events_between(START, START + timedelta(days=2)))
    published = [event.published_at for event in events]
    assert published == sorted(published)
    vessel = [event for event in events if isinstance(event, VesselEvent)]
    assert {event.port for event in vessel} == {port.unlocode for port in PORTS}
    actual = [event.occurred_at for event in vessel if event.classifier is Classifier.ACT]
    assert actual == sorted(actual)
    assert len({event.event_id for event in events}) == len(events)


def test_every_call_follows_the_port_call_lifecycle() -> None:
    calls: dict[str, list[VesselEvent]] = defaultdict(list)
    for event in take(4000):
        calls[event.port_call_id].append(event)
    complete = [
        events
        for events in calls.values()
        if events[-1].operation is Operation.DEPA
        and events[-1].facility is Facility.BRTH
        and any(e.operation is Operation.CMPL for e in events)  # not a shift cut off by take()
        and any(e.classifier is Classifier.ACT and e.facility is Facility.PORT for e in events)
    ]
    assert len(complete) > 100
    shifted = 0
    for events in complete:
        actual = [e for e in events if e.classifier is Classifier.ACT]
        estimated = [(e.operation, e.facility) for e in events if e.classifier is Classifier.EST]
        assert set(estimated) <= {(Operation.ARRI, Facility.PORT)} and len(estimated) <= 3
        steps = [(e.operation, e.facility) for e in actual]
        assert steps[0] == (Operation.ARRI, Facility.PORT)
        if (Operation.ARRI, Facility.ANCH) in steps:
            assert steps[1:3] == [(Operation.ARRI, Facility.ANCH), (Operation.DEPA, Facility.ANCH)]
        at_berth = steps[steps.index((Operation.ARRI, Facility.BRTH)) :]
        if len(at_berth) == 6:  # a berth shift during operations
            shifted += 1
            assert at_berth[2:4] == [
                (Operation.DEPA, Facility.BRTH),
                (Operation.ARRI, Facility.BRTH),
            ]
            del at_berth[2:4]
        assert at_berth == [
            (Operation.ARRI, Facility.BRTH),
            (Operation.STRT, Facility.BRTH),
            (Operation.CMPL, Facility.BRTH),
            (Operation.DEPA, Facility.BRTH),
        ]
        assert len({e.imo for e in events}) == 1 and imo.is_valid(events[0].imo)
        assert events[0].vessel_name and events[0].teu_capacity and events[0].service
        assert actual[0].vessel_name == events[0].vessel_name, "particulars on the first ACT too"
        assert events[0].previous_port and events[0].next_port
        assert all(e.berth_id for e in events if e.facility is Facility.BRTH)
    assert shifted, "some calls shift berth"


def test_estimated_arrivals_come_a_few_hours_a_day_and_three_days_ahead() -> None:
    """Enough for every ETA accuracy KPI: the last estimate, the one 24 h and the one 72 h ahead."""
    events = take(6000)
    calls: dict[str, list[VesselEvent]] = defaultdict(list)
    for event in events:
        calls[event.port_call_id].append(event)
    arrived = {
        call: min(e.occurred_at for e in evs if e.classifier is Classifier.ACT)
        for call, evs in calls.items()
        if any(e.classifier is Classifier.ACT for e in evs)
    }
    ahead = [
        arrived[e.port_call_id] - e.published_at
        for e in events
        if e.classifier is Classifier.EST and e.port_call_id in arrived
    ]
    bands = {"hours": 0, "a day": 0, "three days": 0}
    for gap in ahead:
        assert timedelta(hours=3) < gap < timedelta(hours=97), gap
        if gap < timedelta(hours=9):
            bands["hours"] += 1
        elif gap < timedelta(hours=29):
            bands["a day"] += 1
        else:
            bands["three days"] += 1
    assert all(count > 20 for count in bands.values()), bands
    assert all(e.occurred_at > e.published_at for e in events if e.classifier is Classifier.EST)


def test_the_further_estimates_leave_every_other_event_as_it_was(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """They draw from their own random streams: every other event is what it was without them
    (a vessel event's id may shift: it is numbered by its place in the call's timeline)."""

    def others() -> list[object]:
        some = PortTrafficGenerator(
            PORTS[:4], seed=3, start=START, scale=0.05, warmup=timedelta(hours=12)
        )
        return [
            (e.port_call_id, e.classifier, e.occurred_at, e.operation, e.facility)
            if isinstance(e, VesselEvent)
            else e
            for e in some.events_between(START, START + timedelta(days=2))
            if not (isinstance(e, VesselEvent) and e.classifier is Classifier.EST)
        ]

    with_them = others()
    monkeypatch.setattr(simulation, "EARLY_EST_SHARE", 0.0)
    monkeypatch.setattr(simulation, "LATE_EST_SHARE", 0.0)
    without = others()
    assert len(with_them) > 1000
    assert with_them == without
