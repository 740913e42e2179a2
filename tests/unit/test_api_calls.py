"""Which calls ``GET /v1/ports/{unlocode}/calls`` lists, with what state and ETA (hand-made)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hub.api.kpis import CALLS_AHEAD, CALLS_RECENT, CurrentCall, _listed
from hub.domain.kpis.events import effective_events
from schemas.models import Classifier, Facility, Operation, VesselEvent
from tests.unit.kpis.builders import at, vessel

NOW = at(500.0)
ARRI, DEPA = Operation.ARRI, Operation.DEPA
PORT, BRTH = Facility.PORT, Facility.BRTH
EST, PLN, ACT = Classifier.EST, Classifier.PLN, Classifier.ACT


def estimate(
    ahead: timedelta, published: timedelta = -timedelta(hours=1), **changes: Any
) -> VesselEvent:
    """An EST (or ``classifier``) ARRI PORT for ``ahead`` of now, published ``published``."""
    changes.setdefault("classifier", EST)
    hours = (NOW + ahead - at(0)).total_seconds() / 3600
    return vessel(ARRI, PORT, hours, published_at=NOW + published, **changes)


def listed(*events: VesselEvent) -> CurrentCall | None:
    return _listed(effective_events(events), NOW)


def test_an_expected_call_up_to_seven_days_ahead() -> None:
    call = listed(estimate(CALLS_AHEAD))
    assert call is not None
    assert (call.state, call.eta, call.kpis) == ("expected", NOW + CALLS_AHEAD, {})
    assert call.last_event_at == NOW - timedelta(hours=1)  # when it was announced
    assert listed(estimate(CALLS_AHEAD + timedelta(seconds=1))) is None


def test_a_late_expected_call_stays_listed_for_three_days() -> None:
    late = listed(estimate(-timedelta(hours=70), published=-timedelta(hours=80)))
    assert late is not None and late.state == "expected"
    assert listed(estimate(-CALLS_RECENT, published=-timedelta(days=4))) is None


def test_the_latest_published_estimate_decides() -> None:
    # Announced for tomorrow, then for ten days ahead: not expected this week any more.
    first = estimate(timedelta(days=1), published=-timedelta(hours=5))
    assert listed(first, estimate(timedelta(days=10))) is None
    # A plan counts only without an estimate.
    planned = estimate(timedelta(days=2), classifier=PLN)
    call = listed(first, planned)
    assert call is not None and call.eta == NOW + timedelta(days=1)
    only_planned = listed(planned)
    assert only_planned is not None and only_planned.eta == NOW + timedelta(days=2)


def test_a_call_under_way_has_its_eta_and_a_departed_one_is_not_listed() -> None:
    hours = (NOW - at(0)).total_seconds() / 3600
    arrived = vessel(ARRI, PORT, hours - 2)
    call = listed(estimate(-timedelta(hours=1), published=-timedelta(hours=30)), arrived)
    assert call is not None
    assert (call.state, call.eta) == ("arriving", NOW - timedelta(hours=1))
    # The latest event with a time that has passed: here the estimate's.
    assert call.last_event_at == NOW - timedelta(hours=1)
    assert listed(arrived, vessel(DEPA, BRTH, hours - 1)) is None
    # Begun, but nothing for more than three days: not under way any more.
    assert listed(vessel(ARRI, PORT, hours - 73)) is None
