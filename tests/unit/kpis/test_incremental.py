"""The incremental KPI state equals the batch reference: any order, batches, duplicates,
retractions (chains, moves to another entity, before or after their target), evictions."""

from __future__ import annotations

import itertools
from collections.abc import Collection, Iterable, Iterator, Sequence
from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.domain.keys import EntityKey, KeyKind
from hub.domain.kpis.incremental import KpiState, groups_of
from hub.domain.kpis.model import KpiValue
from hub.domain.kpis.reference import all_kpis, dependency_keys, keys_of
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
from tests.unit.kpis.builders import BOX, BOX2, BOX3, CALL, PORT, at, cargo, customs, vessel

OTHER_PORT = "CLVAP"
CALLS = (CALL, "CALL-2")
BOXES = (BOX, BOX2, BOX3)
_MEMBER_OF = {"container_visit": "container", "berth_hour": "port_call"}

Group = tuple[str, str]


def group_of(value: KpiValue) -> Group:
    """The entity group that owns a value (as ``streams.kpi_stage._group_of``)."""
    if (group := _MEMBER_OF.get(value.entity_kind)) is not None:
        return (group, value.entity_id.rsplit("/", 1)[0])
    return (value.entity_kind, value.entity_id)


def by_group(values: Iterable[KpiValue]) -> dict[Group, list[KpiValue]]:
    grouped: dict[Group, list[KpiValue]] = {}
    for value in values:
        grouped.setdefault(group_of(value), []).append(value)
    return grouped


class Store:
    """The event store as the state sees it: the first copy of each id, filed under the keys
    ``streams.kpi_stage.stored_keys`` gives (entity keys, and a customs event's references)."""

    def __init__(self) -> None:
        self.by_id: dict[UUID, Envelope] = {}
        self.by_key: dict[str, list[Envelope]] = {}
        self.retractors: dict[UUID, list[Envelope]] = {}

    def record(self, event: Envelope) -> None:
        if event.event_id in self.by_id:
            return
        self.by_id[event.event_id] = event
        keys = keys_of(event)
        if isinstance(event, CustomsEvent):
            keys += [dependency.reference() for dependency in dependency_keys(event)]
        for text in dict.fromkeys(key.text for key in keys):
            self.by_key.setdefault(text, []).append(event)
        if event.retracts_event_id is not None:
            self.retractors.setdefault(event.retracts_event_id, []).append(event)

    def under(self, keys: Collection[str]) -> list[Envelope]:
        """The events filed under ``keys``, and the stored retractors of those (what the state
        asks of the store after a start)."""
        found = {e.event_id: e for key in keys for e in self.by_key.get(key, ())}
        for event in list(found.values()):
            for retractor in self.retractors.get(event.event_id, ()):
                found.setdefault(retractor.event_id, retractor)
        return list(found.values())


def settle(state: KpiState, store: Store, events: Sequence[Envelope]) -> None:
    """What the worker does before applying ``events``: load what ``missing`` names."""
    asking = list(events)
    while missing := state.missing(asking):
        if missing.keys:
            state.load(missing.keys, store.under(missing.keys))
        asking += [store.by_id[i] for i in missing.event_ids if i in store.by_id]


class Worker:
    """A worker over the state: records, settles, applies, publishes what changed."""

    def __init__(self) -> None:
        self.state = KpiState()
        self.store = Store()
        self.published: dict[Group, list[KpiValue]] = {}

    def take(self, batch: Sequence[Envelope]) -> None:
        for event in batch:
            self.store.record(event)
        settle(self.state, self.store, batch)
        self.state.apply(batch)
        self.publish()

    def publish(self) -> None:
        changed = self.state.take_changed()
        references = self.state.take_changed_references()
        # Declarations filed under a changed reference but not in memory: load them too.
        readers = [e for e in self.store.under(references) if isinstance(e, CustomsEvent)]
        if readers:
            settle(self.state, self.store, readers)
            changed |= {
                pair
                for e in readers
                if (pair := EntityKey.declaration(e.port, e.declaration_id).pair) in self.state
            }
            changed |= self.state.take_changed()
        values = by_group(self.state.values(changed))
        for group in changed:
            self.published[group] = values.get(group, [])

    def evict(self, idle: timedelta) -> int:
        return self.state.evict_closed(at(10_000), idle)


# --- strategies ---------------------------------------------------------------------------

HOURS = st.integers(0, 4 * 60).map(lambda quarter: quarter / 4)


@st.composite
def base_event(draw: st.DrawFn, event_id: UUID) -> Envelope:
    kind = draw(st.sampled_from(["vessel", "vessel", "cargo", "cargo", "cargo", "customs"]))
    hours = draw(HOURS)
    ids: dict[str, Any] = {"event_id": event_id}
    if draw(st.integers(0, 9)) == 0:
        ids["port"] = OTHER_PORT
    if kind == "vessel":
        facility = draw(st.sampled_from(list(Facility)))
        classifier = draw(st.sampled_from([Classifier.ACT] * 4 + [Classifier.PLN, Classifier.EST]))
        if classifier is not Classifier.ACT:
            # An estimate is published ahead of the time it names: the ETA KPIs read both.
            ahead = draw(st.sampled_from([0.0, 6.0, 24.0, 30.0, 72.0, 80.0]))
            ids["published_at"] = at(hours - ahead)
        return vessel(
            draw(st.sampled_from(list(Operation))),
            facility,
            hours,
            berth=draw(st.sampled_from(["B1", "B2"])) if facility is Facility.BRTH else None,
            classifier=classifier,
            call=draw(st.sampled_from(CALLS)),
            source=draw(st.sampled_from([None, None, None, "AIS"])),
            # Particulars (the emissions' size bin): the first event giving each counts.
            teu_capacity=draw(st.sampled_from([None, None, 900, 4_000, 20_000])),
            loa_m=draw(st.sampled_from([None, None, 150.0, 300.0])),
            **ids,
        )
    if kind == "cargo":
        return cargo(
            draw(st.sampled_from(list(Move))),
            hours,
            box=draw(st.sampled_from(BOXES)),
            call=draw(st.sampled_from([*CALLS, None])),
            crane=draw(st.sampled_from(["STS-1", "STS-2", "STS-3", None])),
            truck=draw(st.sampled_from(["TV-1", "TV-2", None])),
            size=draw(st.sampled_from(["22G1", "45G1"])),
            kg=draw(st.integers(0, 30_000)),
            trade=draw(st.sampled_from([None, *Trade])),
            **ids,
        )
    customs_kind = draw(st.sampled_from(list(CustomsKind)))
    return customs(
        customs_kind,
        hours,
        declaration=draw(st.sampled_from(["DEC-1", "DEC-2"])),
        channel=draw(st.sampled_from(list(Channel)))
        if customs_kind is CustomsKind.CHANNEL
        else None,
        regime=draw(st.sampled_from([None, Regime.IMPORT, Regime.EXPORT])),
        boxes=tuple(draw(st.lists(st.sampled_from(BOXES), max_size=2, unique=True))),
        call=draw(st.sampled_from([*CALLS, None])),
        **ids,
    )


@st.composite
def correction(draw: st.DrawFn, target: Envelope, event_id: UUID) -> Envelope:
    """A retraction of ``target``: the same event with a change (another time, entity or
    kind), sometimes from another port (which retracts nothing)."""
    update: dict[str, Any] = {"event_id": event_id, "retracts_event_id": target.event_id}
    change = draw(st.sampled_from(["time", "entity", "kind", "same"]))
    if change == "time":
        update["occurred_at"] = at(draw(HOURS))
    elif change == "entity":
        if isinstance(target, CargoEvent):
            update[draw(st.sampled_from(["container", "port_call_id", "crane_id"]))] = draw(
                st.sampled_from([*BOXES, *CALLS])
            )
        elif isinstance(target, CustomsEvent):
            update["declaration_id"] = draw(st.sampled_from(["DEC-1", "DEC-2"]))
        else:
            update["port_call_id"] = draw(st.sampled_from(CALLS))
    elif change == "kind":
        if isinstance(target, CargoEvent):
            update["move"] = draw(st.sampled_from(list(Move)))
        elif isinstance(target, CustomsEvent):
            update["kind"] = draw(st.sampled_from(list(CustomsKind)))
        else:
            update["operation"] = draw(st.sampled_from(list(Operation)))
    if draw(st.integers(0, 9)) == 0:
        update["port"] = OTHER_PORT if target.port == PORT else PORT
    fixed = target.model_copy(update=update)
    if isinstance(fixed, CargoEvent) and fixed.container not in BOXES:
        fixed = fixed.model_copy(update={"container": BOX})
    return fixed


@st.composite
def closed_entities(draw: st.DrawFn, ids: Iterator[UUID]) -> list[Envelope]:
    """A call that berths, works and leaves, a box discharged and gated out, its declaration
    lodged, channelled and released: entities that close, so that eviction has work."""
    call = draw(st.sampled_from(CALLS))
    box = draw(st.sampled_from(BOXES))
    start = draw(HOURS)
    steps = [
        (Operation.ARRI, Facility.PORT, 0.0),
        (Operation.ARRI, Facility.BRTH, 1.0),
        (Operation.STRT, Facility.BRTH, 1.5),
        (Operation.CMPL, Facility.BRTH, 4.0),
        (Operation.DEPA, Facility.BRTH, 5.0),
    ]
    events: list[Envelope] = [
        vessel(op, facility, start + h, call=call, event_id=next(ids)) for op, facility, h in steps
    ]
    # Estimated arrivals published a few hours to days ahead: the ETA accuracy KPIs.
    events += [
        vessel(
            Operation.ARRI,
            Facility.PORT,
            start + draw(st.sampled_from([-2.0, 0.5, 3.0])),
            classifier=Classifier.EST,
            call=call,
            event_id=next(ids),
            published_at=at(start - draw(st.sampled_from([1.0, 24.0, 25.0, 72.0, 80.0]))),
        )
        for _ in range(draw(st.integers(0, 3)))
    ]
    events += [
        cargo(
            Move.DISC,
            start + 2 + i / 4,
            box=BOXES[i % 3],
            call=call,
            crane=f"STS-{i % 2}",
            event_id=next(ids),
        )
        for i in range(draw(st.integers(0, 6)))
    ]
    events += [
        cargo(Move.GTOT, start + 9, box=box, truck="TV-1", event_id=next(ids)),
        cargo(Move.GTIN, start + 8, box=box, truck="TV-1", event_id=next(ids)),
        customs(CustomsKind.LODGED, start, boxes=(box,), call=call, event_id=next(ids)),
        customs(CustomsKind.CHANNEL, start + 1, channel=Channel.RED, event_id=next(ids)),
        customs(CustomsKind.RELEASED, start + 7, event_id=next(ids)),
    ]
    return events


@st.composite
def histories(draw: st.DrawFn) -> list[Envelope]:
    """Events with retractions (chains included) and their ids unique; a target may be left
    out (a retraction of an event never received)."""
    ids = (UUID(int=n) for n in itertools.count(1))
    events = [draw(base_event(next(ids))) for _ in range(draw(st.integers(1, 24)))]
    if draw(st.booleans()):
        events += draw(closed_entities(ids))
    for _ in range(draw(st.integers(0, 8))):
        target = draw(st.sampled_from(events))
        events.append(draw(correction(target, next(ids))))
    lost = {draw(st.sampled_from(events))} if len(events) > 1 and draw(st.booleans()) else set()
    return [e for e in events if e not in lost]


@st.composite
def deliveries(draw: st.DrawFn) -> tuple[list[Envelope], list[list[Envelope]], list[bool]]:
    """A history, and its delivery: shuffled, with copies, cut into batches, with an eviction
    (or not) after each batch."""
    events = draw(histories())
    delivered = draw(st.permutations(events))
    copies = draw(st.lists(st.sampled_from(events), max_size=4))
    delivered = list(delivered)
    for copy in copies:
        delivered.insert(draw(st.integers(0, len(delivered))), copy)
    cuts = sorted(draw(st.sets(st.integers(1, len(delivered)), max_size=6)) | {len(delivered)})
    batches = [delivered[a:b] for a, b in itertools.pairwise([0, *cuts]) if b > a]
    evictions = draw(st.lists(st.booleans(), min_size=len(batches), max_size=len(batches)))
    return events, batches, evictions


# --- properties ---------------------------------------------------------------------------


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(deliveries())
def test_incremental_equals_batch_under_any_delivery(
    delivery: tuple[list[Envelope], list[list[Envelope]], list[bool]],
) -> None:
    events, batches, evictions = delivery
    worker = Worker()
    for batch, evict in zip(batches, evictions, strict=True):
        worker.take(batch)
        if evict:
            worker.evict(timedelta(0))
        # What has been published so far is the batch reference of what was recorded.
        expected = by_group(all_kpis(worker.store.by_id.values()))
        for group in expected.keys() | worker.published.keys():
            assert worker.published.get(group, []) == expected.get(group, []), group

    # Everything back in memory: values() of every group is all_kpis.
    expected_values = all_kpis(events)
    settle(worker.state, worker.store, events)
    groups = {group_of(v) for v in expected_values}
    assert worker.state.values(groups) == expected_values


@settings(max_examples=100, deadline=None)
@given(deliveries())
def test_a_lost_port_is_rebuilt_from_the_store(
    delivery: tuple[list[Envelope], list[list[Envelope]], list[bool]],
) -> None:
    events, batches, _ = delivery
    worker = Worker()
    for batch in batches:
        worker.take(batch)
    for port in (PORT, OTHER_PORT):
        worker.state.drop_port(port)
    assert len(worker.state) == 0
    settle(worker.state, worker.store, events)
    expected_values = all_kpis(events)
    assert worker.state.values({group_of(v) for v in expected_values}) == expected_values


@given(histories())
def test_groups_of_is_keys_of_without_moves(events: list[Envelope]) -> None:
    for event in events:
        assert groups_of(event) == [
            (key.kind, key.entity) for key in keys_of(event) if key.kind is not KeyKind.MOVE
        ]


# --- examples -----------------------------------------------------------------------------


def _call_with_moves(call: str, count: int, start: float = 1.0) -> list[Envelope]:
    events: list[Envelope] = [
        vessel(Operation.ARRI, Facility.PORT, 0, call=call),
        vessel(Operation.ARRI, Facility.BRTH, 0.5, call=call),
        vessel(Operation.STRT, Facility.BRTH, start, call=call),
    ]
    events += [
        cargo(Move.DISC, start + i / 60, call=call, crane=f"STS-{i % 3}", box=BOXES[i % 3])
        for i in range(count)
    ]
    events += [
        vessel(Operation.CMPL, Facility.BRTH, start + count / 60, call=call),
        vessel(Operation.DEPA, Facility.BRTH, start + count / 60 + 1, call=call),
    ]
    return events


def test_a_retracted_move_moved_to_another_call() -> None:
    first, second = _call_with_moves(CALL, 12), _call_with_moves("CALL-2", 6)
    last_move = next(e for e in reversed(first) if isinstance(e, CargoEvent))
    moved = last_move.model_copy(
        update={"event_id": UUID(int=7), "retracts_event_id": last_move.event_id}
    )
    moved = moved.model_copy(update={"port_call_id": "CALL-2", "crane_id": "STS-9"})
    worker = Worker()
    worker.take(first + second)
    worker.evict(timedelta(0))  # both calls are closed: they leave memory
    assert ("port_call", f"{PORT}/{CALL}") not in worker.state

    worker.take([moved])

    expected = by_group(all_kpis([*first, *second, moved]))
    call_1, call_2 = ("port_call", f"{PORT}/{CALL}"), ("port_call", f"{PORT}/CALL-2")
    retracted_move = ("move", f"{PORT}/{last_move.event_id}")
    assert worker.published[call_1] == expected[call_1]
    assert worker.published[call_2] == expected[call_2]
    assert worker.published[retracted_move] == []
    assert _kpi(worker.published[call_1], "call_size_moves") == 11.0
    assert _kpi(worker.published[call_2], "call_size_moves") == 7.0


def test_a_declaration_whose_call_berths_after_it_is_lodged() -> None:
    lodged = customs(CustomsKind.LODGED, 1, boxes=(BOX,), call=CALL)
    released = customs(CustomsKind.RELEASED, 5)
    worker = Worker()
    worker.take([lodged, released])
    declaration = ("declaration", f"{PORT}/DEC-1")
    assert "release_time_h" not in {v.kpi for v in worker.published[declaration]}

    worker.take([vessel(Operation.ARRI, Facility.BRTH, 3)])  # all fast at 3 h

    assert _kpi(worker.published[declaration], "release_time_h") == 2.0
    assert _kpi(worker.published[declaration], "arrival_to_lodgement_h") == -2.0


def test_a_declaration_is_recomputed_when_its_container_gates_out() -> None:
    lodged = customs(CustomsKind.LODGED, 1, boxes=(BOX,), call=CALL)
    channel = customs(CustomsKind.CHANNEL, 2, channel=Channel.GREEN)
    released = customs(CustomsKind.RELEASED, 5)
    worker = Worker()
    worker.take(
        [vessel(Operation.ARRI, Facility.BRTH, 0), lodged, channel, released, cargo(Move.DISC, 1)]
    )
    declaration = ("declaration", f"{PORT}/DEC-1")
    assert _kpi(worker.published[declaration], "release_to_gate_out_h") is None  # open
    # The call and the box are open, the declaration too (its gate-out): nothing leaves.
    assert worker.evict(timedelta(0)) == 0

    worker.take([cargo(Move.GTOT, 9)])

    assert _kpi(worker.published[declaration], "release_to_gate_out_h") == 4.0


def test_applying_before_loading_is_refused() -> None:
    with pytest.raises(ValueError, match="not loaded"):
        KpiState().apply([vessel(Operation.ARRI, Facility.PORT, 0)])


class _Untouchable(dict[UUID, Any]):
    """A call's moves that may be looked up, but not gone over."""

    def __iter__(self) -> Any:
        raise AssertionError("went over the moves")

    def values(self) -> Any:
        raise AssertionError("went over the moves")

    def items(self) -> Any:
        raise AssertionError("went over the moves")


def test_values_of_a_call_do_not_go_over_its_moves() -> None:
    events = _call_with_moves(CALL, 50)
    worker = Worker()
    worker.take(events)
    call = worker.state._ports[PORT].groups[(KeyKind.PORT_CALL, CALL)]
    call.moves = _Untouchable(call.moves)  # type: ignore[attr-defined]
    more: list[Envelope] = [cargo(Move.LOAD, 1.5, crane="STS-7", call=CALL)]
    worker.take(more)  # a move more: the aggregates follow, the moves are not gone over

    pair = ("port_call", f"{PORT}/{CALL}")
    assert worker.published[pair] == [v for v in all_kpis(events + more) if group_of(v) == pair]


def _kpi(values: Iterable[KpiValue], name: str) -> float | None:
    (value,) = [v for v in values if v.kpi == name and v.entity_kind != "berth_hour"]
    return value.value


def test_eviction_keeps_open_entities_and_drops_closed_ones() -> None:
    worker = Worker()
    closed, still_open = _call_with_moves(CALL, 3), _call_with_moves("CALL-2", 3)[:-1]
    worker.take(closed + still_open)
    in_memory = len(worker.state)
    assert worker.evict(timedelta(0)) > 0
    assert len(worker.state) < in_memory
    assert worker.state.values([("port_call", f"{PORT}/CALL-2")])  # still there
    with pytest.raises(ValueError, match="not in memory"):
        worker.state.values([("port_call", f"{PORT}/{CALL}")])
    assert worker.evict(timedelta(0)) == 0  # nothing changed: the open ones stay

    worker.take([vessel(Operation.DEPA, Facility.BRTH, 6, call="CALL-2")])  # it leaves
    assert ("port_call", f"{PORT}/CALL-2") in worker.state
    assert worker.evict(timedelta(0)) == 1
    assert ("port_call", f"{PORT}/CALL-2") not in worker.state


def test_eviction_waits_for_the_idle_time() -> None:
    worker = Worker()
    worker.take(_call_with_moves(CALL, 3))  # departs at 4.05 h
    call = ("port_call", f"{PORT}/{CALL}")
    assert worker.state.evict_closed(at(20), idle=timedelta(hours=24)) == 0
    assert call in worker.state
    assert worker.state.evict_closed(at(30), idle=timedelta(hours=24)) > 0
    assert call not in worker.state


def test_eviction_by_each_ports_own_clock() -> None:
    # A replay reads the ports' partitions hours apart: a port's entities are idle by its own
    # latest event time, not by another port's.
    worker = Worker()
    worker.take(_call_with_moves(CALL, 3))  # closed, its latest event at ~4 h
    call = ("port_call", f"{PORT}/{CALL}")
    assert worker.state.evict_closed({"ZZOTH": at(10_000)}, timedelta(hours=1)) == 0
    assert call in worker.state  # its port's clock is not that far yet
    assert worker.state.evict_closed({PORT: at(10_000)}, timedelta(hours=1)) == 1
    assert call not in worker.state
