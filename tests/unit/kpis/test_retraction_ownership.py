"""A port retracts only its own events (issue 16): the rule of :func:`effective_events`."""

from __future__ import annotations

from hub.domain.kpis.events import effective_events
from schemas.models import Facility, Operation
from tests.unit.kpis.builders import PORT, retraction, vessel


def test_a_retraction_by_another_port_leaves_the_target_counting() -> None:
    arrived = vessel(Operation.ARRI, Facility.PBPL, 1.0)
    foreign = retraction(arrived, port="CLVAP")
    counted = {e.event_id for e in effective_events([arrived, foreign])}
    assert counted == {arrived.event_id, foreign.event_id}


def test_a_retraction_by_the_same_port_still_replaces_its_target() -> None:
    arrived = vessel(Operation.ARRI, Facility.PBPL, 1.0)
    corrected = retraction(arrived, occurred_at=arrived.occurred_at)
    assert corrected.port == PORT
    assert [e.event_id for e in effective_events([arrived, corrected])] == [corrected.event_id]


def test_a_foreign_link_in_a_chain_retracts_nothing_but_can_itself_be_retracted() -> None:
    arrived = vessel(Operation.ARRI, Facility.PBPL, 1.0)
    foreign = retraction(arrived, port="CLVAP")
    # CLVAP corrects its own (foreign) event: that one goes, PECLL's original stays.
    foreign_fix = retraction(foreign, port="CLVAP")
    counted = {e.event_id for e in effective_events([foreign_fix, foreign, arrived])}
    assert counted == {arrived.event_id, foreign_fix.event_id}
