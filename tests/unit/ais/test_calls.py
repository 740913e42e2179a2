"""The call book: a sighting goes to the nearest call of its vessel at its port, or nowhere;
and a resolved sighting becomes an AIS vessel event with an id a replay reproduces."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from connectors.ais.calls import AIS_SOURCE, CallBook, to_vessel_event
from connectors.ais.tracker import Sighting
from schemas.models import Classifier, Facility, Operation, VesselEvent

T0 = datetime(2026, 3, 1, tzinfo=UTC)
IMO, MMSI = "9321483", "636019825"


def event(
    call: str,
    hours: float,
    operation: Operation = Operation.ARRI,
    facility: Facility = Facility.BRTH,
    classifier: Classifier = Classifier.ACT,
    port: str = "PECLL",
    imo: str = IMO,
) -> VesselEvent:
    at = T0 + timedelta(hours=hours)
    return VesselEvent(
        event_id=uuid.uuid4(),
        occurred_at=at,
        published_at=at,
        port=port,
        port_call_id=call,
        imo=imo,
        mmsi=MMSI,
        classifier=classifier,
        operation=operation,
        facility=facility,
    )


def sighting(
    hours: float,
    port: str = "PECLL",
    imo: str = IMO,
    kind: tuple[Operation, Facility] = (Operation.ARRI, Facility.PORT),
) -> Sighting:
    return Sighting(MMSI, imo, port, *kind, T0 + timedelta(hours=hours))


DEPARTURE = (Operation.DEPA, Facility.PORT)
ANCHORED = (Operation.ARRI, Facility.ANCH)


def book_of(*events: VesselEvent, window_h: float = 48) -> CallBook:
    book = CallBook(window=timedelta(hours=window_h))
    for item in events:
        book.observe(item)
    return book


def test_a_sighting_goes_to_the_call_whose_times_of_its_kind_are_nearest() -> None:
    book = book_of(
        event("C1", 0, classifier=Classifier.EST, facility=Facility.PORT),
        event("C1", 3),
        event("C1", 30, Operation.DEPA),
        event("C2", 7 * 24, classifier=Classifier.EST, facility=Facility.PORT),
        event("C2", 7 * 24 + 4),
        event("C2", 7 * 24 + 20, Operation.DEPA),
    )
    assert len(book) == 2
    assert book.resolve(sighting(-2)) == "C1"  # near the estimated arrival
    assert book.resolve(sighting(7 * 24 + 1)) == "C2"
    assert book.resolve(sighting(31, kind=DEPARTURE)) == "C1"  # an hour after leaving the berth
    assert book.resolve(sighting(7 * 24 + 21, kind=DEPARTURE)) == "C2"
    assert book.resolve(sighting(4 * 24)) is None  # 96 h from C1's arrival, 72 h from C2's


def test_without_times_of_its_kind_a_sighting_is_compared_with_the_berth_or_the_span() -> None:
    book = book_of(event("C1", 10), event("C1", 40, Operation.DEPA))
    assert book.resolve(sighting(-37, kind=ANCHORED)) == "C1"  # 47 h before all fast
    assert book.resolve(sighting(-39, kind=ANCHORED)) is None
    only_estimate = book_of(event("C2", 0, classifier=Classifier.EST, facility=Facility.PORT))
    # No berth times: compared with the span, and taken though it contradicts the order.
    assert only_estimate.resolve(sighting(47, kind=DEPARTURE)) == "C2"


def test_a_sighting_prefers_the_call_it_fits_in_order() -> None:
    # Back-to-back calls of one vessel (generated data can even overlap them).
    book = book_of(
        event("C1", 0, facility=Facility.PORT),
        event("C1", 7),
        event("C1", 18, Operation.DEPA),
        event("C2", 5, facility=Facility.PORT),
        event("C2", 8),
        event("C2", 19, Operation.DEPA),
    )
    # 18.4 h: nearer C2's berth departure (19 h), but before it: only C1 has left by then.
    assert book.resolve(sighting(18.4, kind=DEPARTURE)) == "C1"
    assert book.resolve(sighting(20, kind=DEPARTURE)) == "C2"
    assert book.resolve(sighting(0.1)) == "C1"
    assert book.resolve(sighting(5.1)) == "C2"
    # An arrival long after C1's all fast contradicts C1, however near C1's other times.
    late = book_of(event("C1", 0, facility=Facility.PORT), event("C1", 2), event("C2", 30))
    assert late.resolve(sighting(12)) == "C2"
    # A departure from the limits fits no call that has not been at its berth yet.
    ongoing = book_of(
        event("C1", 0, facility=Facility.PORT),
        event("C1", 2),
        event("C2", 20, facility=Facility.PORT),  # the next call, its berth times to come
    )
    assert ongoing.resolve(sighting(21, kind=DEPARTURE)) == "C1"


def test_no_call_at_that_port_or_of_that_vessel_resolves_to_none() -> None:
    book = book_of(event("C1", 0))
    assert book.resolve(sighting(0, port="CLSAI")) is None
    assert book.resolve(sighting(0, imo="9412347")) is None
    assert book_of().resolve(sighting(0)) is None


def test_the_window_bounds_how_far_a_sighting_may_be() -> None:
    book = book_of(event("C1", 0), window_h=6)
    assert book.resolve(sighting(-6)) == "C1"
    assert book.resolve(sighting(-6.1)) is None


def test_calls_long_past_are_forgotten() -> None:
    book = CallBook(retention=timedelta(days=30))
    book.observe(event("OLD", 0))
    book.observe(event("NEW", 31 * 24, imo="9412347"))
    assert len(book) == 1
    assert book.resolve(sighting(0)) is None


def test_a_resolved_sighting_becomes_an_actual_ais_event_with_a_stable_id() -> None:
    seen = Sighting(
        MMSI, IMO, "PECLL", Operation.DEPA, Facility.ANCH, T0 + timedelta(microseconds=1_234_567)
    )
    published = T0 + timedelta(hours=1)
    first = to_vessel_event(seen, "C1", published_at=published)
    again = to_vessel_event(seen, "C1", published_at=published + timedelta(days=3))
    assert first.event_id == again.event_id  # a replay gives the same id
    assert first.event_id.version == 5
    assert (first.source, first.classifier, first.operation, first.facility) == (
        AIS_SOURCE,
        Classifier.ACT,
        Operation.DEPA,
        Facility.ANCH,
    )
    assert (first.port, first.port_call_id, first.imo, first.mmsi) == ("PECLL", "C1", IMO, MMSI)
    assert first.occurred_at == T0 + timedelta(milliseconds=1_234)
    assert first.source == "AIS"
    # Anything that makes it another event makes another id.
    other_call = to_vessel_event(seen, "C2", published_at=published)
    other_time = Sighting(MMSI, IMO, "PECLL", Operation.DEPA, Facility.ANCH, T0)
    assert (
        len(
            {
                first.event_id,
                other_call.event_id,
                to_vessel_event(other_time, "C1", published_at=published).event_id,
            }
        )
        == 3
    )
    # The event survives the model's own validation round trip.
    assert VesselEvent.model_validate(first.model_dump()) == first
