"""The batch reference: grouping, entity keys, and independence from order and duplicates."""

from __future__ import annotations

import random

import pytest

from hub.domain.kpis.model import KpiValue
from hub.domain.kpis.reference import (
    all_kpis,
    declaration_dependencies,
    declarations_depending_on,
    entity_keys_of,
)
from schemas.models import (
    CargoEvent,
    Channel,
    Classifier,
    CustomsEvent,
    CustomsKind,
    Envelope,
    Facility,
    Move,
    Operation,
    Regime,
    Trade,
)
from tests.samples import samples
from tests.unit.kpis.builders import (
    BOX,
    BOX2,
    BOX3,
    CALL,
    PORT,
    at,
    cargo,
    customs,
    retraction,
    vessel,
)

ARRI, DEPA, STRT, CMPL = Operation.ARRI, Operation.DEPA, Operation.STRT, Operation.CMPL


def _a_day() -> list[Envelope]:
    """A call with an anchorage, cargo of three boxes, two trucks, a declaration, a
    certificate, a duplicate, a retraction and a planned timestamp."""
    late_all_fast = vessel(ARRI, Facility.BRTH, 9.0)
    import_disc = cargo(Move.DISC, 8.5, crane="STS-1", trade=Trade.IMPORT)
    events: list[Envelope] = [
        vessel(ARRI, Facility.PORT, 0),
        vessel(ARRI, Facility.ANCH, 0.5),
        vessel(DEPA, Facility.ANCH, 5.5),
        vessel(ARRI, Facility.BRTH, 7, classifier=Classifier.PLN),
        late_all_fast,
        retraction(late_all_fast, occurred_at=at(7.0)),
        vessel(STRT, Facility.BRTH, 8),
        import_disc,
        import_disc,  # duplicate
        cargo(Move.DISC, 9.0, box=BOX2, crane="STS-2", trade=Trade.TRANSSHIPMENT),
        cargo(Move.LOAD, 9.5, box=BOX3, crane="STS-1", size="45G1"),
        cargo(Move.RSTW, 10.0, box=BOX3, crane="STS-2"),
        vessel(CMPL, Facility.BRTH, 11),
        vessel(DEPA, Facility.BRTH, 12),
        cargo(Move.GTIN, 2.0, box=BOX3, truck="TV-1"),
        cargo(Move.GTOT, 30.0, truck="TV-2", trade=Trade.IMPORT),
        customs(CustomsKind.LODGED, -20, regime=Regime.IMPORT, boxes=(BOX,), call=CALL),
        customs(CustomsKind.CHANNEL, 10, channel=Channel.GREEN),
        customs(CustomsKind.RELEASED, 20),
        *samples("certificate", at(3)),
    ]
    return events


def test_every_entity_of_a_day_and_its_key() -> None:
    day = _a_day()
    values = all_kpis(day)
    entities = {(v.entity_kind, v.entity_id) for v in values}

    assert entities == {
        ("port_call", f"{PORT}/{CALL}"),
        ("container_visit", f"{PORT}/{BOX}/1"),
        ("container_visit", f"{PORT}/{BOX2}/1"),
        ("container_visit", f"{PORT}/{BOX3}/1"),
        ("truck_visit", f"{PORT}/TV-1"),
        ("declaration", f"{PORT}/DEC-1"),
        # At the berth from 07:00 (the corrected all fast) to 12:00: five whole hours.
        *(("berth_hour", f"{PORT}/{CALL}/2026-03-02T{hour:02}") for hour in range(7, 12)),
        *(
            ("move", f"{PORT}/{e.event_id}")
            for e in day
            if isinstance(e, CargoEvent) and e.move in (Move.DISC, Move.LOAD)
        ),
    }
    assert len([v for v in values if v.entity_kind == "move"]) == 2 * 3  # DISC, DISC, LOAD
    assert values == sorted(values, key=lambda v: (v.entity_kind, v.entity_id, v.kpi))
    got = {(v.entity_kind, v.entity_id.split("/", 1)[1], v.kpi): v.value for v in values}
    assert got["port_call", CALL, "waiting_time_h"] == 7.0  # the corrected all fast
    assert got["port_call", CALL, "anchorage_time_h"] == 5.0
    assert got["port_call", CALL, "port_hours_h"] == 12.0
    assert got["port_call", CALL, "call_size_moves"] == 4.0  # the duplicate counts once
    assert got["container_visit", f"{BOX}/1", "dwell_days"] == pytest.approx(21.5 / 24)
    assert got["container_visit", f"{BOX2}/1", "dwell_days"] is None  # not loaded yet
    assert got["container_visit", f"{BOX3}/1", "dwell_days"] == pytest.approx(7.5 / 24)
    assert got["declaration", "DEC-1", "release_time_h"] == 13.0  # all fast 7 h → 20 h
    assert got["declaration", "DEC-1", "release_to_gate_out_h"] == 10.0
    assert got["truck_visit", "TV-1", "truck_turnaround_min"] is None  # TV-1 only dropped


@pytest.mark.parametrize("seed", range(12))
def test_any_order_and_duplicates_give_the_same_result(seed: int) -> None:
    day = _a_day()
    expected = all_kpis(day)
    rng = random.Random(seed)
    shuffled = day + rng.sample(day, k=len(day) // 3)
    rng.shuffle(shuffled)

    assert all_kpis(shuffled) == expected


def test_entity_keys_of_each_kind_of_event() -> None:
    disc = cargo(Move.DISC, 1)
    rstw = cargo(Move.RSTW, 1)
    gate_in = cargo(Move.GTIN, 1, truck="TV-7")
    correction = retraction(disc, move=Move.LOAD)
    declaration = customs(CustomsKind.LODGED, 1, boxes=(BOX, BOX2), call=CALL)

    assert entity_keys_of(vessel(ARRI, Facility.PORT, 0)) == [("port_call", f"{PORT}/{CALL}")]
    assert entity_keys_of(disc) == [
        ("port_call", f"{PORT}/{CALL}"),
        ("container", f"{PORT}/{BOX}"),
        ("move", f"{PORT}/{disc.event_id}"),
    ]
    assert entity_keys_of(rstw) == [("port_call", f"{PORT}/{CALL}"), ("container", f"{PORT}/{BOX}")]
    assert entity_keys_of(gate_in) == [
        ("container", f"{PORT}/{BOX}"),
        ("truck_visit", f"{PORT}/TV-7"),
    ]
    assert entity_keys_of(cargo(Move.YARD, 1)) == [("container", f"{PORT}/{BOX}")]
    assert entity_keys_of(correction)[-2:] == [
        ("move", f"{PORT}/{correction.event_id}"),
        ("move", f"{PORT}/{disc.event_id}"),  # the retracted move's KPIs must go
    ]
    assert entity_keys_of(declaration) == [("declaration", f"{PORT}/DEC-1")]
    for certificate in samples("certificate"):
        assert entity_keys_of(certificate) == []


def test_every_value_belongs_to_a_key_of_its_events() -> None:
    """What the streaming stage relies on: recomputing an entity from the events stored under
    its key (plus a declaration's dependencies) gives the batch reference's values."""
    day = _a_day()
    expected = all_kpis(day)
    for kind, entity in {key for event in day for key in entity_keys_of(event)}:
        mine = [e for e in day if (kind, entity) in entity_keys_of(e)]
        if kind == "declaration":
            needed = {
                d for e in mine if isinstance(e, CustomsEvent) for d in declaration_dependencies(e)
            }
            mine += [e for e in day if needed.intersection(entity_keys_of(e))]
        assert [v for v in all_kpis(mine) if _owned(v, kind, entity)] == [
            v for v in expected if _owned(v, kind, entity)
        ], (kind, entity)


def _owned(value: KpiValue, kind: str, entity: str) -> bool:
    """Whether the stage's group (kind, entity) owns ``value`` (a container owns its visits)."""
    if kind == "container":
        return (
            value.entity_kind == "container_visit" and value.entity_id.rsplit("/", 1)[0] == entity
        )
    return (value.entity_kind, value.entity_id) == (kind, entity)


def test_declarations_depending_on_a_call_or_a_container() -> None:
    first = customs(CustomsKind.LODGED, 1, boxes=(BOX,), call=CALL)
    second = customs(CustomsKind.LODGED, 1, declaration="DEC-2", boxes=(BOX2,))

    assert declaration_dependencies(first) == [
        ("port_call", f"{PORT}/{CALL}"),
        ("container", f"{PORT}/{BOX}"),
    ]
    assert declarations_depending_on([("port_call", f"{PORT}/{CALL}")], [first, second]) == [
        ("declaration", f"{PORT}/DEC-1")
    ]
    assert declarations_depending_on(
        [("container", f"{PORT}/{BOX2}"), ("container", f"{PORT}/{BOX}")], [first, second]
    ) == [("declaration", f"{PORT}/DEC-1"), ("declaration", f"{PORT}/DEC-2")]
    assert declarations_depending_on([("port_call", f"{PORT}/OTHER")], [first, second]) == []


def test_no_events_no_kpis() -> None:
    assert all_kpis([]) == []
    assert all_kpis(samples("certificate")) == []
