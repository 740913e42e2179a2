"""Hourly and daily windows kept in memory from the entity values that change (issue 18, item 2).

The worker that owns a port keeps each of its windows as the members themselves: the value of
every entity KPI whose anchor falls in it, in a sorted list (median and p90 are then read off by
position, :func:`~hub.domain.kpis.windows.percentile_cont`), with a map from the entity to its
value so that a replaced value leaves the list by :mod:`bisect`, never by a re-sort.

The total is kept as Shewchuk's non-overlapping partials, the same exact running sum
:func:`math.fsum` keeps inside: adding a value and adding its negation are both exact, so the
partials always sum exactly to the members, and ``fsum(partials)`` is the correctly rounded sum
of the members, i.e. ``fsum(sorted values)``, the total of
:func:`~hub.domain.kpis.windows.window_aggregates`, bit for bit. Reading an aggregate therefore
costs O(1) plus the few partials, whatever the window's size. (A sum that overflows a float
falls back to ``fsum`` over the members.)

Every aggregate this module produces is identical (``==``, floats included) to
:func:`~hub.domain.kpis.windows.window_aggregates` over the same entity values, the definition;
``tests/unit/kpis/test_window_state.py`` holds them equal under any sequence of changes.

The protocol of the worker (the store queries are ``hub.db.kpi_windows``):

1. for a batch of entity value changes, :meth:`WindowState.missing` names the windows they fall
   in that are not in memory; the worker reads their members from the store
   (``window_members``) and hands each to :meth:`WindowState.load`;
2. :meth:`WindowState.change` applies each (before, after) pair;
3. on its cadence, :meth:`WindowState.take_dirty` returns the windows whose aggregate differs
   from what was last taken, and the worker writes them (``write_windows``);
4. :meth:`WindowState.evict` and :meth:`WindowState.drop_port` let windows go (old ones, a port
   handed to another worker); a window needed again is loaded again.

A change is applied by entity: the entity leaves the window of ``before`` whatever value it had
there, and takes ``after``'s value in the window of ``after``. So loading a window before or
after the same change was written to the store gives the same members.
"""

from __future__ import annotations

import math
from bisect import bisect_left, insort
from collections.abc import Iterable
from datetime import datetime
from enum import Enum
from typing import Final, NamedTuple, TypeGuard

from hub.domain.kpis.model import Granularity, KpiValue, WindowAggregate
from hub.domain.kpis.windows import percentile_cont, window_start

__all__ = ["GRANULARITIES", "DirtyWindows", "WindowKey", "WindowMember", "WindowState"]

GRANULARITIES: Final[tuple[Granularity, ...]] = ("hour", "day")


class WindowKey(NamedTuple):
    """One window: a KPI at a port over one UTC hour or day (``kpi_windows``' primary key)."""

    port: str
    granularity: Granularity
    window_start: datetime
    """UTC start of the hour or day (:func:`~hub.domain.kpis.windows.window_start`)."""
    kpi: str


class WindowMember(NamedTuple):
    """One aggregated entity value of a window, as the store holds it."""

    entity_kind: str
    entity_id: str
    value: float
    unit: str


class DirtyWindows(NamedTuple):
    """What :meth:`WindowState.take_dirty` found changed, sorted by key."""

    written: list[WindowAggregate]
    """The new aggregate of each window that changed and has members: to upsert."""
    emptied: list[WindowKey]
    """The windows left without members: to delete."""


class _Taken(Enum):
    """What was last taken of a window that has no aggregate to compare against."""

    UNKNOWN = "unknown"
    """Loaded from the store: the stored row may be anything, so it is written once."""


_MemberId = tuple[str, str]
"""(entity_kind, entity_id): unique among a window's members (the window fixes the KPI)."""


class _Window:
    """The members of one window and what was last taken of it."""

    __slots__ = ("members", "ordered", "partials", "taken", "units")

    def __init__(self) -> None:
        self.members: dict[_MemberId, tuple[float, str]] = {}
        self.ordered: list[float] = []
        """Every member's value, ascending."""
        self.units: dict[str, int] = {}
        """How many members have each unit (one unit per KPI in practice; max() as the SQL)."""
        self.partials: list[float] | None = []
        """Exact running sum of the values (see the module docstring); None after an overflow."""
        self.taken: WindowAggregate | _Taken | None = _Taken.UNKNOWN
        """The aggregate last returned by take_dirty (None: the window was empty)."""

    def put(self, member: _MemberId, value: float, unit: str) -> bool:
        """Set ``member``'s value; False when it already had that value and unit."""
        old = self.members.get(member)
        if old is not None:
            if old == (value, unit):
                return False
            self.remove(member)
        self.members[member] = (value, unit)
        insort(self.ordered, value)
        self.units[unit] = self.units.get(unit, 0) + 1
        self._add_to_total(value)
        return True

    def remove(self, member: _MemberId) -> bool:
        """Take ``member`` out; False when it was not a member."""
        old = self.members.pop(member, None)
        if old is None:
            return False
        value, unit = old
        del self.ordered[bisect_left(self.ordered, value)]
        left = self.units[unit] - 1
        if left:
            self.units[unit] = left
        else:
            del self.units[unit]
        self._add_to_total(-value)
        return True

    def _add_to_total(self, value: float) -> None:
        # Shewchuk's exact addition (the msum of math.fsum): hi + lo == x + y exactly, and the
        # partials stay non-overlapping; zero remainders are dropped.
        partials = self.partials
        if partials is None:
            return
        i = 0
        x = value
        for y in partials:
            if abs(x) < abs(y):
                x, y = y, x
            hi = x + y
            lo = y - (hi - x)
            if lo:
                partials[i] = lo
                i += 1
            x = hi
        partials[i:] = [x]
        if not math.isfinite(x):  # an intermediate overflow: exactness lost, fsum the members
            self.partials = None

    def total(self) -> float:
        if self.partials is None:
            total = math.fsum(self.ordered)
            partials: list[float] = []
            self.partials = partials
            for value in self.ordered:
                self._add_to_total(value)
            return total
        return math.fsum(self.partials)

    def aggregate(self, key: WindowKey) -> WindowAggregate | None:
        """The window's aggregate, exactly as window_aggregates computes it; None when empty."""
        ordered = self.ordered
        if not ordered:
            return None
        total = self.total()
        return WindowAggregate(
            port=key.port,
            granularity=key.granularity,
            window_start=key.window_start,
            kpi=key.kpi,
            unit=max(self.units),
            count=len(ordered),
            total=total,
            mean=total / len(ordered),
            median=percentile_cont(ordered, 0.5),
            p90=percentile_cont(ordered, 0.9),
        )


def _aggregates(value: KpiValue | None) -> TypeGuard[KpiValue]:
    """Whether ``value`` enters window aggregates: anchored, with a value, not flagged."""
    return (
        value is not None
        and value.anchor_time is not None
        and value.value is not None
        and value.flag is None
    )


def _keys_of(value: KpiValue) -> tuple[WindowKey, WindowKey]:
    """The hourly and daily window of an aggregated ``value``."""
    assert value.anchor_time is not None
    hour = window_start(value.anchor_time, "hour")
    return (
        WindowKey(value.port, "hour", hour, value.kpi),
        WindowKey(value.port, "day", hour.replace(hour=0), value.kpi),
    )


class WindowNotLoaded(LookupError):
    """A change falls in a window whose members were not loaded (see WindowState.missing)."""


class WindowState:
    """The hourly and daily windows of the ports one worker owns, from their entity values.

    A change costs two dictionary look-ups and a :func:`bisect.insort` / ``del`` in each of the
    two windows (O(log n) compares plus a memmove of the list); :meth:`take_dirty` costs O(1)
    per changed window plus the handful of partials of its total.
    """

    def __init__(self) -> None:
        self._windows: dict[WindowKey, _Window] = {}
        self._dirty: set[WindowKey] = set()

    def __len__(self) -> int:
        """How many windows are in memory."""
        return len(self._windows)

    def missing(self, changes: Iterable[tuple[KpiValue | None, KpiValue | None]]) -> set[WindowKey]:
        """The windows that ``changes`` fall in whose members are not in memory yet."""
        windows = self._windows
        missing: set[WindowKey] = set()
        for before, after in changes:
            for value in (before, after):
                if _aggregates(value):
                    missing.update(key for key in _keys_of(value) if key not in windows)
        return missing

    def load(self, window: WindowKey, members: Iterable[WindowMember]) -> None:
        """Take ``window`` into memory with ``members``: every aggregated value the store holds
        in it (none: the window is empty). It replaces a window already in memory.

        What the store holds in ``kpi_windows`` for it is not known, so the window is written
        at the next :meth:`take_dirty` (once per load), which also repairs a stale row.
        """
        loaded = _Window()
        for member in members:
            loaded.put((member.entity_kind, member.entity_id), member.value, member.unit)
        self._windows[window] = loaded
        self._dirty.add(window)

    def change(self, before: KpiValue | None, after: KpiValue | None) -> None:
        """Apply one entity KPI value replaced: ``before`` None when new, ``after`` None when
        gone. The two may fall in different windows (the anchor moved); a value that does not
        aggregate (no anchor, no value, flagged) is in no window.

        Raises:
            WindowNotLoaded: a window of ``before`` or ``after`` is not in memory.
        """
        entering = [self._loaded(key) for key in _keys_of(after)] if _aggregates(after) else []
        leaving = [self._loaded(key) for key in _keys_of(before)] if _aggregates(before) else []
        if after is not None and after.value is not None:
            member = (after.entity_kind, after.entity_id)
            for key, window in entering:
                if window.put(member, after.value, after.unit):
                    self._dirty.add(key)
        if before is not None:
            member = (before.entity_kind, before.entity_id)
            if after is not None and member == (after.entity_kind, after.entity_id):
                # put() above replaced the entity's value in the windows it stays in.
                stays = {key for key, _ in entering}
                leaving = [(key, window) for key, window in leaving if key not in stays]
            for key, window in leaving:
                if window.remove(member):
                    self._dirty.add(key)

    def _loaded(self, key: WindowKey) -> tuple[WindowKey, _Window]:
        window = self._windows.get(key)
        if window is None:
            raise WindowNotLoaded(f"window {key} is not loaded")
        return key, window

    def take_dirty(self) -> DirtyWindows:
        """The windows whose aggregate differs from what the last call returned (or that were
        loaded since): their new aggregate, or their key when they were left empty."""
        written: list[WindowAggregate] = []
        emptied: list[WindowKey] = []
        for key in sorted(self._dirty):
            window = self._windows[key]
            aggregate = window.aggregate(key)
            if aggregate == window.taken:
                continue
            if aggregate is not None:
                written.append(aggregate)
            elif window.taken is not None:  # loaded empty (UNKNOWN) or emptied since
                emptied.append(key)
            window.taken = aggregate
        self._dirty.clear()
        return DirtyWindows(written, emptied)

    def evict(self, before: datetime) -> int:
        """Let the windows starting before ``before`` go from memory; returns how many.

        Windows changed since the last :meth:`take_dirty` stay (their change is not written
        yet): call it after taking and writing them.
        """
        old = [key for key in self._windows if key.window_start < before and key not in self._dirty]
        for key in old:
            del self._windows[key]
        return len(old)

    def drop_port(self, port: str) -> None:
        """Let every window of ``port`` go (the port was handed to another worker), changes not
        yet taken included: take and write them first."""
        for key in [key for key in self._windows if key.port == port]:
            del self._windows[key]
            self._dirty.discard(key)
