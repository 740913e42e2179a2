"""The traffic generator's vessel events: reproducible, ordered, and shaped like real port calls."""

from __future__ import annotations

import itertools
from collections import defaultdict
from datetime import UTC, datetime, timedelta

from stdnum import imo

from connectors.simulator import PortTrafficGenerator
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
        and any(e.classifier is Classifier.ACT and e.facility is Facility.PORT for e in events)
    ]
    assert len(complete) > 100
    shifted = 0
    for events in complete:
        actual = [e for e in events if e.classifier is Classifier.ACT]
        estimated = [(e.operation, e.facility) for e in events if e.classifier is Classifier.EST]
        assert estimated in ([], [(Operation.ARRI, Facility.PORT)])
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
