"""The ETA accuracy KPIs of a port call, and a call's current ETA, on hand-computed cases."""

from __future__ import annotations

from typing import Any

import pytest

from hub.domain.kpis.eta import call_eta
from hub.domain.kpis.model import KpiValue
from hub.domain.kpis.port_calls import port_call_kpis
from hub.domain.kpis.reference import all_kpis
from schemas.models import Classifier, Facility, Operation, VesselEvent
from tests.unit.kpis.builders import at, call_events, retraction, vessel

ARRI, DEPA = Operation.ARRI, Operation.DEPA
PORT_LIMITS, BRTH, PBPL, ANCH = Facility.PORT, Facility.BRTH, Facility.PBPL, Facility.ANCH
EST, PLN = Classifier.EST, Classifier.PLN

# T_arr is 100 h after T0 (ACT ARRI PORT); the vessel berths at 102 h and leaves at 120 h.
ARRIVAL = 100.0
CALL = call_events([(ARRI, PORT_LIMITS, ARRIVAL), (ARRI, BRTH, 102.0), (DEPA, BRTH, 120.0)])


def estimate(
    estimated: float, published: float, facility: Facility = PORT_LIMITS, **changes: Any
) -> VesselEvent:
    """An EST ARRI for ``estimated`` hours after T0, published at ``published`` hours."""
    changes.setdefault("classifier", EST)
    return vessel(ARRI, facility, estimated, published_at=at(published), **changes)


def eta_values(events: list[VesselEvent]) -> dict[str, KpiValue]:
    return {v.kpi: v for v in port_call_kpis(events, []) if v.kpi.startswith("eta_")}


def errors(events: list[VesselEvent]) -> dict[str, float | None]:
    return {kpi: value.value for kpi, value in eta_values(events).items()}


def test_the_latest_estimate_before_arrival_and_those_given_24_and_72_h_ahead() -> None:
    events = [
        *CALL,
        estimate(96.0, 10.0),  # 90 h ahead: the 72 h estimate, 4 h early
        estimate(101.5, 60.0),  # 40 h ahead: the 24 h estimate, 1.5 h late
        estimate(99.25, 95.0),  # 5 h ahead: the last one, 0.75 h late
    ]
    assert errors(events) == {
        "eta_error_h": -0.75,
        "eta_abs_error_h": 0.75,
        "eta_error_24h_h": 1.5,
        "eta_abs_error_24h_h": 1.5,
        "eta_error_72h_h": -4.0,
        "eta_abs_error_72h_h": 4.0,
    }
    values = eta_values(events)
    assert {(v.unit, v.anchor_time, v.flag) for v in values.values()} == {("h", at(ARRIVAL), None)}
    assert {v.entity_id for v in values.values()} == {"PECLL/CALL-1"}


def test_the_signed_error_is_the_estimate_minus_the_arrival() -> None:
    # Estimated 103 h, arrived 100 h: the vessel came 3 h earlier than announced.
    assert errors([*CALL, estimate(103.0, 90.0)])["eta_error_h"] == 3.0
    assert errors([*CALL, estimate(97.0, 90.0)])["eta_error_h"] == -3.0


def test_no_estimate_no_value() -> None:
    assert errors(list(CALL)) == {}
    # Announced only 6 h ahead: the last-estimate KPIs, none for 24 h or 72 h.
    assert errors([*CALL, estimate(100.5, 94.0)]) == {
        "eta_error_h": 0.5,
        "eta_abs_error_h": 0.5,
    }


def test_an_estimate_published_at_or_after_the_arrival_is_ignored() -> None:
    events = [*CALL, estimate(104.0, 80.0), estimate(100.0, ARRIVAL), estimate(100.0, 101.0)]
    assert errors(events)["eta_error_h"] == 4.0
    assert errors([*CALL, estimate(100.0, ARRIVAL)]) == {}


def test_the_24_and_72_h_horizons_include_their_boundary() -> None:
    # Published exactly 24 h and 72 h before T_arr: each counts for its horizon.
    at_24 = errors([*CALL, estimate(102.0, ARRIVAL - 24)])
    assert at_24["eta_error_24h_h"] == 2.0
    assert "eta_error_72h_h" not in at_24
    # A minute later than 24 h ahead is too late for the 24 h horizon.
    late = errors([*CALL, estimate(102.0, ARRIVAL - 24 + 1 / 60)])
    assert "eta_error_24h_h" not in late
    assert late["eta_error_h"] == 2.0
    at_72 = errors([*CALL, estimate(98.0, ARRIVAL - 72)])
    assert (at_72["eta_error_72h_h"], at_72["eta_error_24h_h"]) == (-2.0, -2.0)
    assert "eta_error_72h_h" not in errors([*CALL, estimate(98.0, ARRIVAL - 72 + 1 / 60)])


def test_a_retracted_estimate_does_not_count_and_its_correction_does() -> None:
    wrong = estimate(110.0, 70.0)
    corrected = retraction(wrong, occurred_at=at(101.0), published_at=at(90.0))
    # The correction counts with its own publication time (10 h ahead): not a 24 h estimate.
    assert errors([*CALL, wrong, corrected]) == {"eta_error_h": 1.0, "eta_abs_error_h": 1.0}
    withdrawn = retraction(wrong, classifier=Classifier.REQ, published_at=at(71.0))
    assert errors([*CALL, wrong, withdrawn]) == {}


def test_a_duplicate_estimate_counts_once() -> None:
    once = estimate(99.0, 50.0)
    assert errors([*CALL, once, once, once]) == errors([*CALL, once])


def test_planned_ais_departure_and_berth_estimates_are_not_estimated_arrivals() -> None:
    events = [
        *CALL,
        estimate(90.0, 10.0, classifier=PLN),
        estimate(91.0, 20.0, source="AIS"),
        estimate(92.0, 30.0, facility=BRTH, berth="B1"),
        vessel(DEPA, PORT_LIMITS, 93.0, classifier=EST, published_at=at(40.0)),
    ]
    assert errors(events) == {}


def test_pilot_boarding_and_anchorage_estimates_count() -> None:
    assert errors([*CALL, estimate(101.0, 90.0, facility=PBPL)])["eta_error_h"] == 1.0
    assert errors([*CALL, estimate(99.0, 90.0, facility=ANCH)])["eta_error_h"] == -1.0


def test_of_two_estimates_published_together_the_later_estimate_wins() -> None:
    # Ties on published_at are broken by occurred_at then event_id: never by arrival order.
    first, second = estimate(98.0, 90.0), estimate(103.0, 90.0)
    assert errors([*CALL, first, second]) == errors([*CALL, second, first])
    assert errors([*CALL, first, second])["eta_error_h"] == 3.0


def test_a_call_not_arrived_has_no_eta_kpi() -> None:
    assert errors([estimate(100.0, 50.0)]) == {}
    # At the berth without a reported arrival: T_arr unknown.
    assert errors([vessel(ARRI, BRTH, 102.0), estimate(100.0, 50.0)]) == {}


def test_the_batch_reference_has_them() -> None:
    values = [v for v in all_kpis([*CALL, estimate(99.0, 20.0)]) if v.kpi == "eta_error_72h_h"]
    assert [(v.entity_id, v.value) for v in values] == [("PECLL/CALL-1", -1.0)]


@pytest.mark.parametrize(
    ("events", "expected"),
    [
        ([], None),
        ([estimate(100.0, 50.0)], 100.0),
        ([estimate(100.0, 50.0), estimate(104.0, 60.0)], 104.0),  # the latest published
        ([estimate(104.0, 60.0), estimate(100.0, 50.0)], 104.0),
        ([estimate(100.0, 50.0), estimate(90.0, 70.0, classifier=PLN)], 100.0),  # EST first
        ([estimate(90.0, 70.0, classifier=PLN)], 90.0),
        ([estimate(90.0, 70.0, source="AIS")], None),
    ],
)
def test_a_calls_eta(events: list[VesselEvent], expected: float | None) -> None:
    assert call_eta(events) == (None if expected is None else at(expected))


def test_a_calls_eta_applies_retractions() -> None:
    first = estimate(100.0, 50.0)
    assert call_eta([first, retraction(first, occurred_at=at(106.0))]) == at(106.0)
    assert call_eta([estimate(95.0, 40.0), first, retraction(first, classifier=PLN)]) == at(95.0)
