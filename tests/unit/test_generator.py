"""The traffic generator: reproducible, ordered, and shaped like real port calls."""

from __future__ import annotations

import itertools
from collections import defaultdict
from datetime import UTC, datetime

from stdnum import imo

from connectors.generator import VesselTrafficGenerator
from hub.reference import load_ports
from hub.settings import BUNDLED_PORTS_FILE
from schemas.models import Classifier, Facility, Operation, VesselEvent

PORTS = load_ports(BUNDLED_PORTS_FILE)
START = datetime(2026, 1, 1, tzinfo=UTC)


def take(count: int, seed: int = 3) -> list[VesselEvent]:
    return list(
        itertools.islice(VesselTrafficGenerator(PORTS, seed=seed, start=START).events(), count)
    )


def test_the_same_seed_gives_the_same_events() -> None:
    assert take(500) == take(500)
    assert take(50, seed=4) != take(50, seed=3)


def test_events_come_in_event_time_order_from_every_port() -> None:
    events = take(3000)
    times = [event.occurred_at for event in events]
    assert times == sorted(times)
    assert {event.port for event in events} == {port.unlocode for port in PORTS}
    assert len({event.event_id for event in events}) == len(events)


def test_every_call_follows_the_port_call_lifecycle() -> None:
    calls: dict[str, list[VesselEvent]] = defaultdict(list)
    for event in take(4000):
        calls[event.port_call_id].append(event)
    complete = [events for events in calls.values() if events[-1].operation is Operation.DEPA
                and events[-1].facility is Facility.BRTH]  # fmt: skip
    assert len(complete) > 100
    for events in complete:
        steps = [(e.operation, e.facility) for e in events]
        assert steps[0] == (Operation.ARRI, Facility.PORT)
        assert steps[-4:] == [
            (Operation.ARRI, Facility.BRTH),
            (Operation.STRT, Facility.BRTH),
            (Operation.CMPL, Facility.BRTH),
            (Operation.DEPA, Facility.BRTH),
        ]
        assert all(e.classifier is Classifier.ACT for e in events)
        assert len({e.imo for e in events}) == 1 and imo.is_valid(events[0].imo)
        assert events[0].vessel_name and events[0].teu_capacity
        assert all(e.berth_id for e in events if e.facility is Facility.BRTH)
