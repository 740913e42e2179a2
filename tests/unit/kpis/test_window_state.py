"""Windows kept in memory from changed entity values = window_aggregates over all of them.

The windows taken from :class:`WindowState` are applied to a dict as the worker applies them to
``kpi_windows`` (upsert the written, delete the emptied); after each take, that dict must equal
:func:`window_aggregates` of the current entity values, hourly and daily, floats compared with
``==``, under any sequence of new, replaced and removed values, evictions and reloads.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from unittest.mock import patch

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.domain.kpis import window_state
from hub.domain.kpis.model import KpiValue, WindowAggregate
from hub.domain.kpis.window_state import (
    GRANULARITIES,
    WindowKey,
    WindowMember,
    WindowNotLoaded,
    WindowState,
)
from hub.domain.kpis.windows import berth_occupancy, window_aggregates, window_start

DAY = datetime(2026, 3, 2, tzinfo=UTC)
# Anchors over two days, on and around hour and day boundaries.
ANCHORS = [
    DAY + timedelta(hours=hours, seconds=seconds)
    for hours in (0, 1, 5, 23, 24, 25)
    for seconds in (0, 1, 3599)
] + [DAY - timedelta(microseconds=1)]
ENTITIES = [
    # (entity_kind, entity_id, port, kpi): entity_id names the port, as the hub's keys do.
    (kind, f"{port}/{n}", port, kpi)
    for kind, kpi in (("port_call", "waiting_time_h"), ("berth_hour", "berth_hours_h"))
    for port in ("PECLL", "BRSSZ")
    for n in range(3)
]
# Two entity kinds with the same id and KPI are two members of the same window.
ENTITIES.append(("truck_visit", "PECLL/0", "PECLL", "waiting_time_h"))

values = st.one_of(
    st.sampled_from([0.0, -0.0, 1.0, 2.5, 0.1, 0.2, 0.3, -7.25, 1e-300, 1e15]),
    st.floats(min_value=-1e12, max_value=1e12, allow_nan=False, allow_infinity=False),
)


@st.composite
def kpi_values(draw: st.DrawFn, entity: int) -> KpiValue:
    kind, entity_id, port, kpi = ENTITIES[entity]
    shape = draw(st.sampled_from(["aggregated", "aggregated", "aggregated", "flagged", "open"]))
    unit = draw(st.sampled_from(["h", "h", "min"]))  # max() of the units, as the SQL
    if shape == "open":
        return KpiValue(kind, entity_id, port, kpi, None, unit, None, "OPEN")
    value = draw(values)
    anchor = draw(st.one_of(st.none(), st.sampled_from(ANCHORS)))
    flag = "NEGATIVE_INTERVAL" if shape == "flagged" else None
    return KpiValue(kind, entity_id, port, kpi, value, unit, anchor, flag)


@st.composite
def operations(draw: st.DrawFn) -> tuple[object, ...]:
    operation = draw(
        st.sampled_from(["set", "set", "set", "set", "remove", "take", "failed", "evict", "drop"])
    )
    if operation == "set":
        entity = draw(st.integers(0, len(ENTITIES) - 1))
        return ("set", entity, draw(kpi_values(entity)), draw(st.booleans()))
    if operation == "remove":
        return ("remove", draw(st.integers(0, len(ENTITIES) - 1)), draw(st.booleans()))
    if operation == "evict":
        return ("evict", draw(st.sampled_from(ANCHORS)))
    if operation == "drop":
        return ("drop", draw(st.sampled_from(["PECLL", "BRSSZ"])))
    return (operation,)


def _expected(current: dict[int, KpiValue]) -> dict[WindowKey, WindowAggregate]:
    return {
        WindowKey(w.port, w.granularity, w.window_start, w.kpi): w
        for granularity in GRANULARITIES
        for w in window_aggregates(current.values(), granularity)
    }


def _members(current: dict[int, KpiValue], key: WindowKey) -> list[WindowMember]:
    """What the store's window_members returns for ``key``."""
    return [
        WindowMember(v.entity_kind, v.entity_id, v.value, v.unit)
        for v in current.values()
        if v.value is not None
        and v.flag is None
        and v.anchor_time is not None
        and (v.port, v.kpi) == (key.port, key.kpi)
        and window_start(v.anchor_time, key.granularity) == key.window_start
    ]


@dataclass
class _Worker:
    """A worker's use of WindowState, with dicts as entity_kpis and kpi_windows."""

    state: WindowState = field(default_factory=WindowState)
    entity_kpis: dict[int, KpiValue] = field(default_factory=dict)
    kpi_windows: dict[WindowKey, WindowAggregate] = field(default_factory=dict)
    loaded_since_take: set[WindowKey] = field(default_factory=set)

    def replace(self, entity: int, after: KpiValue | None, stored_first: bool) -> None:
        before = self.entity_kpis.get(entity)
        if stored_first:  # the store already holds the change when the windows are read
            self._store(entity, after)
        for key in self.state.missing([(before, after)]):
            self.state.load(key, _members(self.entity_kpis, key))
            self.loaded_since_take.add(key)
        assert not self.state.missing([(before, after)])
        self.state.change(before, after)
        if not stored_first:
            self._store(entity, after)

    def _store(self, entity: int, after: KpiValue | None) -> None:
        if after is None:
            self.entity_kpis.pop(entity, None)
        else:
            self.entity_kpis[entity] = after

    def take(self) -> None:
        written, emptied = self.state.take_dirty()
        for window in written:
            key = WindowKey(window.port, window.granularity, window.window_start, window.kpi)
            # Written only when it differs from the row (or the row is not known: loaded).
            assert self.kpi_windows.get(key) != window or key in self.loaded_since_take
            self.kpi_windows[key] = window
        for key in emptied:
            assert key in self.kpi_windows or key in self.loaded_since_take
            self.kpi_windows.pop(key, None)
        self.loaded_since_take.clear()
        assert self.kpi_windows == _expected(self.entity_kpis)
        assert self.state.take_dirty() == ([], [])  # nothing changed since


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    steps=st.lists(operations(), max_size=60),
    total_by=st.sampled_from(["fsum of the members", "pending adds", "fsum passes"]),
    chunk=st.sampled_from([1, 2, 256]),
)
def test_windows_taken_equal_window_aggregates_of_the_current_values(
    steps: list[tuple[object, ...]], total_by: str, chunk: int
) -> None:
    # A total is fsum of a small window's members, or brought up to date from the partials
    # (adding the pending changes, or fsum passes over the members): each way on every window.
    outright, passes = {
        "fsum of the members": (10**9, 0),
        "pending adds": (0, 0),
        "fsum passes": (0, 10**9),
    }[total_by]
    with (
        patch.object(window_state, "_SUMMED_OUTRIGHT", outright),
        patch.object(window_state, "_FSUM_PASSES_PER_ADD", passes),
        patch.object(window_state, "_CHUNK", chunk),  # sorted values split into many chunks
    ):
        _run(steps)


def _run(steps: list[tuple[object, ...]]) -> None:
    worker = _Worker()
    for step in steps:
        match step:
            case ("set", int(entity), KpiValue() as value, bool(stored_first)):
                worker.replace(entity, value, stored_first)
            case ("remove", int(entity), bool(stored_first)):
                worker.replace(entity, None, stored_first)
            case ("take",):
                worker.take()
            case ("failed",):  # taken, but the write rolled back
                taken = worker.state.take_dirty()
                worker.state.retake(taken)
                # The state no longer knows these rows (as if loaded): writing one again with
                # the value it already holds is right, not a redundant write.
                worker.loaded_since_take.update(
                    WindowKey(w.port, w.granularity, w.window_start, w.kpi) for w in taken.written
                )
                worker.loaded_since_take.update(taken.emptied)
            case ("evict", datetime() as before):
                worker.take()  # evict() keeps what is not taken yet; the worker takes first
                worker.state.evict(before)
                assert all(key.window_start >= before for key in worker.state._windows)
            case ("drop", str(port)):
                worker.take()
                worker.state.drop_port(port)
    worker.take()


def test_large_windows_stay_exact_under_random_replacements() -> None:
    rng = random.Random(18)
    worker = _Worker()
    anchors = [DAY + timedelta(minutes=rng.randrange(0, 48 * 60)) for _ in range(200)]
    for step in range(6000):
        entity = rng.randrange(1500)
        value = rng.choice([rng.uniform(-1e6, 1e6), round(rng.uniform(0, 48), 2), 0.1, 1e16])
        after = KpiValue(
            "move", f"PECLL/{entity}", "PECLL", "throughput_teu", value, "TEU", rng.choice(anchors)
        )
        # Reuse the replace() protocol with the entity number as the key of entity_kpis.
        worker.replace(entity, None if step % 13 == 0 else after, stored_first=step % 2 == 0)
        if step % (50 if step < 3000 else 997) == 0:  # few changes a take, then many
            worker.take()
    worker.take()
    assert max(w.count for w in worker.kpi_windows.values()) > 500


def _waiting(entity: str, value: float | None, anchor: datetime | None) -> KpiValue:
    return KpiValue("port_call", entity, "PECLL", "waiting_time_h", value, "h", anchor)


def test_a_change_back_to_the_taken_value_writes_nothing() -> None:
    state = WindowState()
    first = _waiting("PECLL/1", 2.0, DAY)
    for key in state.missing([(None, first)]):
        state.load(key, [])
    state.change(None, first)
    assert [w.total for w in state.take_dirty().written] == [2.0, 2.0]  # hour and day

    second = _waiting("PECLL/1", 3.0, DAY)
    state.change(first, second)
    state.change(second, first)
    assert state.take_dirty() == ([], [])


def test_an_anchor_moved_to_another_day_empties_the_first_windows() -> None:
    state = WindowState()
    first = _waiting("PECLL/1", 2.0, DAY + timedelta(hours=3))
    moved = _waiting("PECLL/1", 2.0, DAY + timedelta(days=1, hours=3))
    for key in state.missing([(None, first)]):
        state.load(key, [])
    state.change(None, first)
    state.take_dirty()

    missing = state.missing([(first, moved)])
    assert {(key.granularity, key.window_start) for key in missing} == {
        ("hour", DAY + timedelta(days=1, hours=3)),
        ("day", DAY + timedelta(days=1)),
    }
    for key in missing:
        state.load(key, [])
    state.change(first, moved)
    written, emptied = state.take_dirty()

    assert {(key.granularity, key.window_start) for key in emptied} == {
        ("hour", DAY + timedelta(hours=3)),
        ("day", DAY),
    }
    assert {w.window_start for w in written} == {
        DAY + timedelta(days=1, hours=3),
        DAY + timedelta(days=1),
    }


def test_a_change_in_a_window_not_loaded_is_refused() -> None:
    state = WindowState()
    with pytest.raises(WindowNotLoaded):
        state.change(None, _waiting("PECLL/1", 2.0, DAY))
    # Values that aggregate into no window need nothing loaded.
    assert not state.missing([(None, _waiting("PECLL/1", None, None))])
    state.change(None, _waiting("PECLL/1", None, None))
    assert state.take_dirty() == ([], [])


def test_evict_keeps_windows_not_taken_yet() -> None:
    state = WindowState()
    value = _waiting("PECLL/1", 2.0, DAY)
    for key in state.missing([(None, value)]):
        state.load(key, [])
    state.change(None, value)
    assert state.evict(DAY + timedelta(days=1)) == 0
    state.take_dirty()
    assert state.evict(DAY + timedelta(days=1)) == 2
    assert len(state) == 0


def test_berth_hours_windows_give_the_same_occupancy() -> None:
    hours = [
        KpiValue("berth_hour", f"PECLL/C{n}/h", "PECLL", "berth_hours_h", share, "h", DAY)
        for n, share in enumerate([1.0, 0.5, 0.25])
    ]
    state = WindowState()
    for key in state.missing((None, value) for value in hours):
        state.load(key, [])
    for value in hours:
        state.change(None, value)
    written, _ = state.take_dirty()

    expected = window_aggregates(hours, "hour") + window_aggregates(hours, "day")
    assert sorted(berth_occupancy(written, {"PECLL": 2}), key=str) == sorted(
        berth_occupancy(expected, {"PECLL": 2}), key=str
    )


@settings(max_examples=200, deadline=None)
@given(
    steps=st.lists(st.tuples(st.booleans(), st.integers(0, 30)), max_size=200),
    chunk=st.sampled_from([1, 2, 3, 256]),
)
def test_chunked_sorted_values_stay_a_sorted_list(
    steps: list[tuple[bool, int]], chunk: int
) -> None:
    model: list[float] = []
    with patch.object(window_state, "_CHUNK", chunk):
        values = window_state._SortedValues()
        for add, number in steps:
            value = number / 4
            if add or value not in model:
                values.add(value)
                model.append(value)
            else:
                values.remove(value)
                model.remove(value)
            model.sort()
            assert list(values) == model
            assert len(values) == len(model)
            assert [values[i] for i in range(len(model))] == model
            assert values[-1:] == model[-1:]
            assert all(len(c) <= 2 * chunk for c in values._chunks)


def test_evict_by_each_ports_own_clock() -> None:
    state = WindowState()
    value = _waiting("PECLL/1", 2.0, DAY)
    for key in state.missing([(None, value)]):
        state.load(key, [])
    state.change(None, value)
    state.take_dirty()
    assert state.evict({"BRSSZ": DAY + timedelta(days=1)}) == 0  # another port's clock
    assert state.evict({"PECLL": DAY + timedelta(days=1)}) == 2
    assert len(state) == 0
