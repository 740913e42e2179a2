"""The pure parts the streaming KPI stage relies on: recomputing only some entities, and the
order of events at one time."""

from __future__ import annotations

import random

from hub.domain.kpis.events import effective_events
from hub.domain.kpis.model import KpiValue
from hub.domain.kpis.reference import all_kpis, entity_keys_of
from schemas.models import (
    CargoEvent,
    CustomsEvent,
    Move,
    VesselEvent,
)
from tests.unit.kpis.builders import PORT, cargo
from tests.unit.kpis.test_reference import _a_day, _owned


def _group(value: KpiValue) -> tuple[str, str]:
    if value.entity_kind == "container_visit":
        return ("container", value.entity_id.rsplit("/", 1)[0])
    if value.entity_kind == "berth_hour":
        return ("port_call", value.entity_id.rsplit("/", 1)[0])
    return (value.entity_kind, value.entity_id)


def test_only_some_groups_gives_exactly_their_values() -> None:
    day = _a_day()
    expected = all_kpis(day)
    groups = sorted({key for event in day for key in entity_keys_of(event)})
    rng = random.Random(3)
    for size in (1, 2, len(groups) // 2, len(groups)):
        only = set(rng.sample(groups, k=size))
        assert all_kpis(day, only=only) == [v for v in expected if _group(v) in only], only


def test_a_declaration_needs_only_its_calls_vessel_events() -> None:
    """The stage loads a declaration's own events, its containers' events and only the vessel
    events of its call (not the call's moves): the declaration's values do not change."""
    day = _a_day()
    expected = [v for v in all_kpis(day) if v.entity_kind == "declaration"]
    assert expected
    declaration = next(e for e in day if isinstance(e, CustomsEvent))
    loaded = [
        e
        for e in day
        if isinstance(e, (CustomsEvent, VesselEvent))
        or (isinstance(e, CargoEvent) and e.container in declaration.containers)
    ]
    only = {("declaration", f"{PORT}/{declaration.declaration_id}")}
    assert [v for v in all_kpis(loaded, only=only) if _owned(v, *next(iter(only)))] == expected


def test_events_at_the_same_time_sort_by_their_ids_text() -> None:
    """The tie-break compares ids as numbers, which is the order of their text form."""
    same_time = [cargo(Move.YARD, 1) for _ in range(200)]
    assert [e.event_id for e in effective_events(same_time)] == sorted(
        (e.event_id for e in same_time), key=str
    )
