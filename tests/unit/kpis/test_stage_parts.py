"""The pure parts the streaming KPI stage relies on: recomputing only some entities, what an event
marks for recomputation, and when an event's latency is known."""

from __future__ import annotations

import random

from hub.domain.kpis.events import effective_events
from hub.domain.kpis.model import KpiValue
from hub.domain.kpis.reference import all_kpis, entity_keys_of
from schemas.models import (
    CargoEvent,
    CustomsEvent,
    CustomsKind,
    Envelope,
    Facility,
    Move,
    VesselEvent,
)
from streams.kpi_stage import EventCache, PendingLatency, dirty_keys
from tests.unit.kpis.builders import BOX, BOX2, CALL, PORT, cargo, customs, retraction, vessel
from tests.unit.kpis.test_reference import ARRI, _a_day, _owned


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


def test_what_each_event_marks() -> None:
    disc = cargo(Move.DISC, 1)
    gate_out = cargo(Move.GTOT, 2, truck="TV-1")

    assert dirty_keys(vessel(ARRI, Facility.BRTH, 0)) == (
        f"port_call:{PORT}/{CALL}",
        f"deps:port_call:{PORT}/{CALL}",  # the all fast of the call's declarations may move
    )
    # A discharge changes no declaration: only a call's vessel events and gate-outs do.
    assert dirty_keys(disc) == (
        f"port_call:{PORT}/{CALL}",
        f"container:{PORT}/{BOX}",
        f"move:{PORT}/{disc.event_id}",
    )
    assert f"deps:container:{PORT}/{BOX}" in dirty_keys(gate_out)
    assert f"deps:container:{PORT}/{BOX}" in dirty_keys(retraction(disc, move=Move.LOAD))
    assert dirty_keys(customs(CustomsKind.LODGED, 1, boxes=(BOX, BOX2), call=CALL)) == (
        f"declaration:{PORT}/DEC-1",
    )


def test_an_events_latency_is_known_when_its_last_group_is_published() -> None:
    pending = PendingLatency()
    disc = cargo(Move.DISC, 1)
    pending.add(disc, dirty_keys(disc), arrived=100.0)
    groups = [key for key in dirty_keys(disc) if not key.startswith("deps:")]

    assert pending.published(groups[:1]) == []
    assert pending.published(groups[1:]) == [(disc.occurred_at, 100.0)]
    assert pending.published(groups) == []  # once only


def test_the_event_cache_keeps_the_most_recently_used() -> None:
    cache = EventCache(capacity=2)
    events: list[Envelope] = [cargo(Move.YARD, hour) for hour in (1, 2, 3)]
    for event in events:
        cache.put(event)
    assert len(cache) == 2
    assert events[0].event_id not in cache
    assert events[1].event_id in cache and events[2].event_id in cache


def test_events_at_the_same_time_sort_by_their_ids_text() -> None:
    """The tie-break compares ids as numbers, which is the order of their text form."""
    same_time = [cargo(Move.YARD, 1) for _ in range(200)]
    assert [e.event_id for e in effective_events(same_time)] == sorted(
        (e.event_id for e in same_time), key=str
    )
