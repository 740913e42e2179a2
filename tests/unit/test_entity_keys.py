"""Entity keys (:mod:`hub.domain.keys`): the text of a key is a format PostgreSQL holds (the key
columns of ``ingested_events`` and ``event_other_keys``), so these tests spell it out literally,
as the migrations describe it (0004: ``"<kind>:<port>/<id>"``, ``"ref_call:…"``,
``"ref_container:…"``) and docs/certificates.md (``certificate:<id>``)."""

from __future__ import annotations

import uuid

import pytest

from hub.domain.keys import CertificateKey, EntityKey, KeyKind
from hub.domain.kpis.reference import entity_keys_of
from schemas.models import CustomsKind, Facility, Move, Operation
from streams.certificate_stage import certificate_keys
from streams.kpi_stage import stored_keys
from tests.unit.certificates.builders import declaration, submission
from tests.unit.kpis.builders import BOX, BOX2, CALL, PORT, cargo, customs, vessel

MOVE_ID = uuid.UUID("0b6f6a5e-8d0c-4e7a-9c55-1f2a3b4c5d6e")

# Every kind, built by name, and the text it is stored as.
STORED = [
    (EntityKey.port_call("BRSSZ", "V-1"), "port_call:BRSSZ/V-1"),
    (EntityKey.container("BRSSZ", "MSCU1234565"), "container:BRSSZ/MSCU1234565"),
    (EntityKey.truck_visit("BRSSZ", "TV-7"), "truck_visit:BRSSZ/TV-7"),
    (EntityKey.declaration("BRSSZ", "DEC-1"), "declaration:BRSSZ/DEC-1"),
    (EntityKey.move("BRSSZ", MOVE_ID), "move:BRSSZ/0b6f6a5e-8d0c-4e7a-9c55-1f2a3b4c5d6e"),
    (EntityKey.port_call("BRSSZ", "V-1").reference(), "ref_call:BRSSZ/V-1"),
    (EntityKey.container("BRSSZ", "MSCU1234565").reference(), "ref_container:BRSSZ/MSCU1234565"),
]


@pytest.mark.parametrize(("key", "text"), STORED, ids=[text for _, text in STORED])
def test_each_kind_is_stored_as_today_and_reads_back(key: EntityKey, text: str) -> None:
    assert key.text == text
    assert str(key) == text
    assert EntityKey.parse(text) == key


def test_every_kind_is_covered() -> None:
    assert {key.kind for key, _ in STORED} == set(KeyKind)


@pytest.mark.parametrize("kind", list(KeyKind))
@pytest.mark.parametrize("entity", ["V-1", "a/b/c", "x:y", "a:b/c:d", "ü 1"])
def test_any_entity_id_round_trips_through_the_text(kind: KeyKind, entity: str) -> None:
    """Identifiers are any text of 1 to 64 characters: ``/`` and ``:`` included."""
    key = EntityKey(kind, "PECLL", entity)
    assert EntityKey.parse(key.text) == key
    assert key.text == f"{kind.value}:PECLL/{entity}"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "port_call",
        "port_call:",
        "port_call:BRSSZ",  # no entity
        "port_call:BRSSZ/",  # an empty entity
        "port_call:/V-1",  # no port
        "port_call/BRSSZ/V-1",  # no ":" before the port
        "BRSSZ/V-1",
        "berth_hour:BRSSZ/V-1",  # a KPI row kind, not a key kind
        "container_visit:BRSSZ/X/1",
        "deps:BRSSZ/V-1",
        "deps:move:BRSSZ/V-1",
        "deps:port_call:BRSSZ/V-1",  # the marks of dependents the KPI flusher kept, gone
        "ref_declaration:BRSSZ/D-1",
        "PORT_CALL:BRSSZ/V-1",
        "windows:BRSSZ",  # an advisory lock's name, no key
        "certificate:CERT-1",  # a certificate key has no port
    ],
)
def test_malformed_text_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not an entity key"):
        EntityKey.parse(text)


@pytest.mark.parametrize(("port", "entity"), [("", "V-1"), ("BR/SZ", "V-1"), ("BR:SZ", "V-1"),
                                              ("BRSSZ", "")])  # fmt: skip
def test_a_key_needs_a_port_without_separators_and_an_entity(port: str, entity: str) -> None:
    with pytest.raises(ValueError):
        EntityKey.port_call(port, entity)


def test_references_name_their_call_or_container() -> None:
    call, box = EntityKey.port_call("BRSSZ", "V-1"), EntityKey.container("BRSSZ", "X")
    for key in (call, box):
        assert key.reference().subject() == key
        assert key.reference().port == "BRSSZ"
    assert EntityKey.parse("ref_container:BRSSZ/X").subject().text == "container:BRSSZ/X"
    for kind in (KeyKind.TRUCK_VISIT, KeyKind.DECLARATION, KeyKind.MOVE):
        key = EntityKey(kind, "BRSSZ", "1")
        with pytest.raises(ValueError):
            key.reference()
        with pytest.raises(ValueError):
            key.subject()


def test_the_groups_are_the_entities_the_stage_recomputes() -> None:
    assert {kind for kind in KeyKind if kind.is_group} == {
        KeyKind.PORT_CALL,
        KeyKind.CONTAINER,
        KeyKind.TRUCK_VISIT,
        KeyKind.DECLARATION,
        KeyKind.MOVE,
    }


def test_the_pair_is_how_the_batch_reference_names_a_group() -> None:
    disc = cargo(Move.DISC, 1)
    assert entity_keys_of(disc) == [
        ("port_call", f"{PORT}/{CALL}"),
        ("container", f"{PORT}/{BOX}"),
        ("move", f"{PORT}/{disc.event_id}"),
    ]
    assert EntityKey.port_call(PORT, CALL).pair == ("port_call", f"{PORT}/{CALL}")
    assert EntityKey.port_call(PORT, CALL).entity_id == f"{PORT}/{CALL}"


def test_what_the_stage_stores_for_each_kind_of_event() -> None:
    """The texts written to PostgreSQL by the intake, literally."""
    lodged = customs(CustomsKind.LODGED, 1, boxes=(BOX, BOX2), call=CALL)
    assert stored_keys(lodged) == (
        f"declaration:{PORT}/DEC-1",
        f"ref_call:{PORT}/{CALL}",
        f"ref_container:{PORT}/{BOX}",
        f"ref_container:{PORT}/{BOX2}",
    )
    gate_out = cargo(Move.GTOT, 2, truck="TV-9")
    assert stored_keys(gate_out) == (f"container:{PORT}/{BOX}", f"truck_visit:{PORT}/TV-9")
    arrival = vessel(Operation.ARRI, Facility.PORT, 0)
    assert stored_keys(arrival) == (f"port_call:{PORT}/{CALL}",)


def test_a_certificate_key_has_no_port() -> None:
    key = CertificateKey("CERT-2026/001:a")
    assert key.text == str(key) == "certificate:CERT-2026/001:a"
    assert CertificateKey.parse(key.text) == key
    document = submission()
    assert certificate_keys(document) == (f"certificate:{document.certificate_id}",)
    invoking = declaration(certificate_id=document.certificate_id)
    assert certificate_keys(invoking) == (f"certificate:{document.certificate_id}",)


@pytest.mark.parametrize(
    "text", ["", "certificate:", "certificate", "CERTIFICATE:X", "port_call:BRSSZ/V-1"]
)
def test_malformed_certificate_keys_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a certificate key"):
        CertificateKey.parse(text)
