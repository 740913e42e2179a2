"""The DCSA Track & Trace 2.2 shapes of hand-built hub events, and the query of
``GET /v1/dcsa/events`` (``hub/domain/dcsa.py``)."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from hub.domain.dcsa import (
    MAX_LIMIT,
    CallParticulars,
    EventQuery,
    QueryError,
    StoredEvent,
    TransportCallId,
    call_particulars,
    dcsa_event,
    decode_cursor,
    encode_cursor,
    parse_request,
    retracted_by,
)
from schemas.models import CargoEvent, Classifier, Facility, Move, Operation, VesselEvent
from tests.dcsa_schema import problems

T0 = datetime(2026, 3, 1, 8, 30, tzinfo=UTC)
STORED_AT = datetime(2026, 3, 1, 9, 0, 0, 123456, tzinfo=UTC)
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def vessel(**fields: Any) -> VesselEvent:
    values: dict[str, Any] = {
        "event_id": uuid.uuid4(), "occurred_at": T0, "published_at": T0, "port": "PECLL",
        "port_call_id": "CALL-1", "imo": "9074729", "classifier": Classifier.ACT,
        "operation": Operation.ARRI, "facility": Facility.BRTH, "berth_id": "B4",
    }  # fmt: skip
    return VesselEvent(**(values | fields))


def cargo(**fields: Any) -> CargoEvent:
    values: dict[str, Any] = {
        "event_id": uuid.uuid4(), "occurred_at": T0, "published_at": T0, "port": "PECLL",
        "container": "MSCU1234566", "iso_size_type": "22G1", "full": True, "gross_kg": 21000,
        "move": Move.DISC, "port_call_id": "CALL-1", "crane_id": "STS-1",
    }  # fmt: skip
    return CargoEvent(**(values | fields))


def stored(event: VesselEvent | CargoEvent) -> StoredEvent:
    """``event`` as the store gives it back: its payload is its JSON, its port ``char(5)``."""
    domain = "vessel" if isinstance(event, VesselEvent) else "cargo"
    payload = json.loads(event.model_dump_json())
    return StoredEvent(event.event_id, domain, event.port, event.occurred_at, STORED_AT, payload)


# --- the mapping ------------------------------------------------------------------------------


@pytest.mark.parametrize("classifier", ["ACT", "EST", "PLN"])
@pytest.mark.parametrize("operation", ["ARRI", "DEPA"])
def test_a_vessel_arrival_or_departure_is_a_transport_event(
    classifier: str, operation: str
) -> None:
    event = vessel(classifier=classifier, operation=operation, vessel_name="Andes Star",
                   call_sign="CBAS", service="WCSA1")  # fmt: skip
    shaped = dcsa_event(stored(event))
    assert shaped is not None
    assert problems(shaped) == []
    assert shaped["eventID"] == str(event.event_id)
    assert shaped["eventType"] == "TRANSPORT"
    assert shaped["eventClassifierCode"] == classifier
    assert shaped["transportEventTypeCode"] == operation
    assert shaped["eventDateTime"] == "2026-03-01T08:30:00.000Z"
    assert shaped["eventCreatedDateTime"] == "2026-03-01T09:00:00.123456Z"
    assert shaped["transportCall"] == {
        "transportCallID": "PECLL/call/CALL-1",
        "carrierServiceCode": "WCSA1",
        "UNLocationCode": "PECLL",
        "facilityTypeCode": "POTE",
        "otherFacility": "BRTH B4",
        "modeOfTransport": "VESSEL",
        "vessel": {"vesselIMONumber": "9074729", "vesselName": "Andes Star",
                   "vesselCallSignNumber": "CBAS"},
    }  # fmt: skip


def test_a_transport_event_takes_what_it_lacks_from_its_calls_other_vessel_events() -> None:
    calls = {("PECLL", "CALL-1"): CallParticulars("9074729", "Andes Star", "CBAS", "WCSA1")}
    shaped = dcsa_event(stored(vessel(facility=Facility.PORT, berth_id=None)), calls)
    assert shaped is not None and problems(shaped) == []
    call = shaped["transportCall"]
    assert call["vessel"]["vesselName"] == "Andes Star"
    assert call["carrierServiceCode"] == "WCSA1"
    assert call["otherFacility"] == "PORT (port limits)"
    assert "facilityTypeCode" not in call  # DCSA 2.2 has no code for port limits


@pytest.mark.parametrize(
    ("fields", "why"),
    [
        ({"operation": Operation.STRT}, "STRT: no DCSA transport event type"),
        ({"operation": Operation.CMPL}, "CMPL: no DCSA transport event type"),
        ({"classifier": Classifier.REQ}, "REQ: no DCSA classifier"),
    ],
)
def test_vessel_timestamps_without_a_dcsa_shape_are_not_served(
    fields: dict[str, Any], why: str
) -> None:
    assert dcsa_event(stored(vessel(**fields))) is None, why


@pytest.mark.parametrize("move", ["LOAD", "DISC"])
def test_a_crane_move_is_an_equipment_event_of_its_vessel_call(move: str) -> None:
    calls = {
        ("PECLL", "CALL-1"): CallParticulars("9074729", "A" * 40, "TOOLONGCALLSIGN", "LONGSVC")
    }
    event = cargo(move=move, full=False, iso_size_type="45G1")
    shaped = dcsa_event(stored(event), calls)
    assert shaped is not None and problems(shaped) == []
    assert shaped["eventType"] == "EQUIPMENT"
    assert shaped["eventClassifierCode"] == "ACT"
    assert shaped["equipmentEventTypeCode"] == move
    assert shaped["equipmentReference"] == "MSCU1234566"
    assert shaped["ISOEquipmentCode"] == "45G1"
    assert shaped["emptyIndicatorCode"] == "EMPTY"
    assert shaped["eventLocation"] == {"UNLocationCode": "PECLL"}
    # Too long for DCSA: the name cut to 35, the call sign and service left out.
    assert shaped["transportCall"] == {
        "transportCallID": "PECLL/call/CALL-1",
        "UNLocationCode": "PECLL",
        "facilityTypeCode": "POTE",
        "modeOfTransport": "VESSEL",
        "vessel": {"vesselIMONumber": "9074729", "vesselName": "A" * 35},
    }


def test_a_crane_move_whose_call_the_hub_has_not_seen_has_no_vessel() -> None:
    shaped = dcsa_event(stored(cargo()))
    assert shaped is not None and problems(shaped) == []
    assert "vessel" not in shaped["transportCall"]


@pytest.mark.parametrize("move", ["GTIN", "GTOT"])
def test_a_gate_move_is_an_equipment_event_of_a_truck_call(move: str) -> None:
    event = cargo(move=move, port_call_id=None, crane_id=None, truck_visit_id="TV-7")
    shaped = dcsa_event(stored(event))
    assert shaped is not None and problems(shaped) == []
    assert shaped["emptyIndicatorCode"] == "LADEN"
    assert shaped["transportCall"] == {
        "transportCallID": "PECLL/truck/TV-7",
        "UNLocationCode": "PECLL",
        "facilityTypeCode": "POTE",
        "modeOfTransport": "TRUCK",
    }


@pytest.mark.parametrize("move", [Move.YARD, Move.RSTW])
def test_yard_moves_and_restows_are_not_served(move: Move) -> None:
    assert dcsa_event(stored(cargo(move=move))) is None


def test_events_of_other_domains_are_not_served() -> None:
    other = StoredEvent(uuid.uuid4(), "customs", "PECLL", T0, STORED_AT, {"kind": "LODGED"})
    assert dcsa_event(other) is None


def test_a_calls_particulars_are_the_last_published_of_each() -> None:
    first = vessel(published_at=T0, vessel_name="Old Name", service="WCSA1")
    later = vessel(published_at=T0 + timedelta(hours=1), vessel_name=None, call_sign="CBAS")
    latest = vessel(published_at=T0 + timedelta(hours=2), vessel_name="New Name")
    payloads = [json.loads(e.model_dump_json()) for e in (latest, first, later)]
    assert call_particulars(payloads) == CallParticulars("9074729", "New Name", "CBAS", "WCSA1")
    assert call_particulars([]) is None


def test_the_retracted_ids_are_those_the_payloads_name() -> None:
    retracted = uuid.uuid4()
    correction = vessel(retracts_event_id=retracted)
    payloads = [json.loads(e.model_dump_json()) for e in (vessel(), correction)]
    assert retracted_by(payloads) == {retracted}
    assert retracted_by([{"retracts_event_id": "not-a-uuid"}]) == set()


def test_the_checker_finds_a_missing_required_field() -> None:
    """The schema check the tests rely on can fail."""
    shaped = dcsa_event(stored(cargo()))
    assert shaped is not None
    broken = {k: v for k, v in shaped.items() if k != "emptyIndicatorCode"}
    assert problems(broken) == ["EquipmentEvent.emptyIndicatorCode is missing"]
    del broken["transportCall"]["modeOfTransport"]
    assert "EquipmentEvent.transportCall.modeOfTransport is missing" in problems(broken)


# --- the query --------------------------------------------------------------------------------


def test_a_query_for_a_container_has_no_time_bound_by_default() -> None:
    page = parse_request([("equipmentReference", "mscu1234566"), ("limit", "5")], NOW)
    assert page.query.equipment_reference == "MSCU1234566"
    assert page.query.created.lower is None and page.query.created.upper is None
    assert page.limit == 5 and page.after is None


def test_a_query_without_a_container_or_call_reads_the_last_day_at_most() -> None:
    page = parse_request([("UNLocationCode", "PECLL")], NOW)
    assert page.query.created.lower == NOW - timedelta(hours=24)
    assert page.limit == 100
    with pytest.raises(QueryError, match="over 24 h"):
        parse_request([("eventCreatedDateTime:gte", "2026-02-28T00:00:00Z")], NOW)


def test_dcsa_range_operators_and_an_unencoded_plus() -> None:
    page = parse_request(
        [
            ("transportCallID", "PECLL/call/CALL-1"),
            ("eventCreatedDateTime:gt", "2026-03-01T10:00:00 01:00"),  # "+01:00" unencoded
            ("eventCreatedDateTime:lt", "2026-03-01T12:00:00Z"),
        ],
        NOW,
    )
    created = page.query.created
    assert (created.lower, created.lower_included) == (datetime(2026, 3, 1, 9, tzinfo=UTC), False)
    assert (created.upper, created.upper_included) == (datetime(2026, 3, 1, 12, tzinfo=UTC), False)
    assert page.query.transport_call == TransportCallId("PECLL", "call", "CALL-1")


def test_event_types_and_codes_filter_the_domains_and_moves() -> None:
    page = parse_request([("eventType", "EQUIPMENT"), ("equipmentEventTypeCode", "GTIN,STUF")], NOW)
    assert page.query.domains == ("cargo",)
    assert page.query.moves == ("GTIN",)  # STUF is DCSA's, but the hub has none
    assert parse_request([("eventType", "SHIPMENT")], NOW).query.domains == ()


@pytest.mark.parametrize(
    ("parameters", "reason"),
    [
        ([("limit", "0")], "outside 1 to"),
        ([("limit", str(MAX_LIMIT + 1))], "outside 1 to"),
        ([("limit", "ten")], "not a whole number"),
        ([("eventType", "TRANSPORT,CARGO")], "unknown 'CARGO'"),
        ([("transportEventTypeCode", "STRT")], "unknown 'STRT'"),
        ([("UNLocationCode", "PE-CLL")], "not a UN/LOCODE"),
        ([("equipmentReference", "MSCU 123")], "not a container number"),
        ([("transportCallID", "CALL-1")], "not one of the hub's"),
        ([("transportCallID", "PECLL/ship/CALL-1")], "not one of the hub's"),
        ([("eventCreatedDateTime:gte", "yesterday")], "not an ISO 8601"),
        ([("eventCreatedDateTime:gte", "2026-03-01T10:00:00")], "no UTC offset"),
        ([("eventCreatedDateTime:ge", "2026-03-01T10:00:00Z")], "the operators of"),
        (
            [
                ("eventCreatedDateTime:gte", "2026-03-02T10:00:00Z"),
                ("eventCreatedDateTime:lt", "2026-03-02T09:00:00Z"),
            ],
            "before the lower bound",
        ),
        (
            [
                ("eventCreatedDateTime:gte", "2026-03-02T10:00:00Z"),
                ("eventCreatedDateTime:gt", "2026-03-02T09:00:00Z"),
            ],
            "one lower and one upper",
        ),
        ([("carrierBookingReference", "ABC709951")], "no bookings"),
        ([("sort", "eventDateTime:DESC")], "not supported"),
        ([("colour", "blue")], "unknown query parameter 'colour'"),
        ([("UNLocationCode", "PECLL"), ("UNLocationCode", "BRSSZ")], "more than once"),
        ([("transportCallID", "PECLL/call/CALL\x001")], "not one of the hub's"),
        ([("transportCallID", "PECLL/call/" + "C" * 65)], "not one of the hub's"),
        ([("transportCallID", "PÉCLL/call/CALL-1")], "not one of the hub's"),
        ([("UNLocationCode", "PÉCLL")], "not a UN/LOCODE"),
        ([("equipmentReference", "MSCU\x00234566")], "not a container number"),
        ([("cursor", "bm90LWEtY3Vyc29y")], "not one this API gave"),
        ([("cursor", "!!!")], "not one this API gave"),
    ],
)
def test_a_bad_query_is_refused_with_its_reason(
    parameters: list[tuple[str, str]], reason: str
) -> None:
    with pytest.raises(QueryError, match=reason):
        parse_request(parameters, NOW)


def test_a_cursor_carries_the_query_and_the_position() -> None:
    first = parse_request([("equipmentReference", "MSCU1234566"), ("UNLocationCode", "PECLL")], NOW)
    last = (STORED_AT, uuid.uuid4())
    cursor = encode_cursor(first.query, last)
    assert decode_cursor(cursor) == (first.query, last)
    # The cursor alone, or with the same filters, and another limit: the next page.
    alone = parse_request([("cursor", cursor), ("limit", "7")], NOW)
    assert (alone.query, alone.after, alone.limit) == (first.query, last, 7)
    repeated = [("equipmentReference", "MSCU1234566"), ("UNLocationCode", "PECLL")]
    assert parse_request([*repeated, ("cursor", cursor)], NOW).after == last
    with pytest.raises(QueryError, match="differ"):
        parse_request([("equipmentReference", "MSCU7654321"), ("cursor", cursor)], NOW)


def test_a_cursor_is_checked_like_a_query() -> None:
    """A cursor comes back from the client: what it holds is checked again."""
    query = parse_request([("equipmentReference", "MSCU1234566")], NOW).query
    for field, value in [("p", "TOOLONGPORT"), ("e", "MSCU\x00234566"), ("t", "CALL-1")]:
        body = {"v": 1, "q": query.to_json() | {field: value}, "a": "2026-03-01T09:00:00Z",
                "i": str(uuid.uuid4())}  # fmt: skip
        cursor = base64.urlsafe_b64encode(json.dumps(body).encode()).decode()
        with pytest.raises(QueryError, match="not one this API gave"):
            decode_cursor(cursor)
    naive = {"v": 1, "q": query.to_json(), "a": "2026-03-01T09:00:00", "i": str(uuid.uuid4())}
    with pytest.raises(QueryError, match="not one this API gave"):
        decode_cursor(base64.urlsafe_b64encode(json.dumps(naive).encode()).decode())


def test_an_upper_bound_near_year_one_is_no_failure() -> None:
    page = parse_request([("eventCreatedDateTime:lt", "0001-01-01T12:00:00Z")], NOW)
    assert page.query.created.lower == datetime.min.replace(tzinfo=UTC)


def test_a_query_survives_its_json() -> None:
    query = parse_request(
        [("transportCallID", "BRSSZ/truck/TV/1"), ("eventType", "EQUIPMENT"),
         ("eventCreatedDateTime:gt", "2026-03-01T10:00:00.5Z")],
        NOW,
    ).query  # fmt: skip
    assert query.transport_call == TransportCallId("BRSSZ", "truck", "TV/1")
    assert EventQuery.from_json(json.loads(json.dumps(query.to_json()))) == query
