"""Hourly and daily windows kept in memory from the entity values that change (issue 18, item 2).

The worker that owns a port keeps each of its windows as the members themselves: the value of
every entity KPI whose anchor falls in it, kept ascending (median and p90 are then read off by
position, :func:`~hub.domain.kpis.windows.percentile_cont`), with a map from the entity to its
value so that a replaced value leaves by :mod:`bisect`, never by a re-sort. The ascending values
are held in chunks of 256 to 512, so a change moves at most a chunk whatever the window's size.

The total must be ``fsum`` of the members, bit for bit. A window of up to 64 members is simply
summed when it is taken (``math.fsum``, ~1 µs). A larger one keeps Shewchuk's partials, floats
whose exact sum is the exact sum of its members (the running sum :func:`math.fsum` keeps
inside): a change only appends the added value and the removed one negated to a pending list;
when the window is taken they are added to the partials exactly (~1.2 µs each), or, when there
are many, the partials are worked out again from the members with three ``fsum`` passes (C
speed, ~0.1 µs a member). ``fsum(partials)`` is then the correctly rounded exact sum, i.e.
``fsum(sorted values)``, the total of :func:`~hub.domain.kpis.windows.window_aggregates`. So
taking a window costs O(min(changes since, members / 12)), never a re-sort: a change or two in
a window of 10,000 members, ~12 µs to take it.

Every aggregate this module produces is identical (``==``, floats included) to
:func:`~hub.domain.kpis.windows.window_aggregates` over the same entity values, the definition;
``tests/unit/kpis/test_window_state.py`` holds them equal under any sequence of changes.

The protocol of the worker (the store queries are ``hub.db.kpi_windows``):

1. for a batch of entity value changes, :meth:`WindowState.missing` names the windows they fall
   in that are not in memory; the worker reads their members from the store
   (``window_members``) and hands each to :meth:`WindowState.load`;
2. :meth:`WindowState.change` applies each (before, after) pair;
3. on its cadence, :meth:`WindowState.take_dirty` returns the windows whose aggregate differs
   from what was last taken, and the worker writes them (``write_windows``); if that write
   does not commit, :meth:`WindowState.retake` has them taken again next time;
4. :meth:`WindowState.evict` and :meth:`WindowState.drop_port` let windows go (old ones, a port
   handed to another worker); a window needed again is loaded again.

A change is applied by entity: the entity leaves the window of ``before`` whatever value it had
there, and takes ``after``'s value in the window of ``after``. So loading a window before or
after the same change was written to the store gives the same members.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right, insort
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from enum import Enum
from itertools import accumulate, chain
from typing import Final, NamedTuple, TypeGuard, overload

from hub.domain.kpis.model import Granularity, KpiValue, WindowAggregate
from hub.domain.kpis.windows import percentile_cont, window_start

__all__ = [
    "GRANULARITIES",
    "DirtyWindows",
    "WindowKey",
    "WindowMember",
    "WindowNotLoaded",
    "WindowState",
]

GRANULARITIES: Final[tuple[Granularity, ...]] = ("hour", "day")
_FSUM_PASSES_PER_ADD: Final = 12
"""A window's total is brought up to date by adding its pending changes to the partials in
Python (~1.2 µs each) while they are fewer than its members ÷ this; beyond, by working the
partials out again from the members with ``math.fsum`` (3 passes, ~0.1 µs a member in all)."""
_CHUNK: Final = 256
"""A window's sorted values are kept in chunks of _CHUNK to 2 * _CHUNK values."""
_SUMMED_OUTRIGHT: Final = 64
"""Up to this many members, a window's total is ``math.fsum`` of them (~1 µs), no partials."""
_KEYS_REMEMBERED: Final = 16_384
"""Window keys remembered per (port, kpi, anchor): a value's keys are needed by missing() and
again by change(), and a call's KPIs share anchors; working them out costs ~3.5 µs."""


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


class _SortedValues(Sequence[float]):
    """Floats kept ascending in chunks of at most 2 * _CHUNK, so that adding or removing one
    moves at most a chunk, not the whole window (a plain list of 50,000: ~25 µs a change)."""

    __slots__ = ("_chunks", "_ends", "_len", "_maxes")

    def __init__(self) -> None:
        self._chunks: list[list[float]] = []
        self._maxes: list[float] = []
        """The last (largest) value of each chunk."""
        self._len = 0
        self._ends: list[int] | None = None
        """Where each chunk ends (cumulative lengths), worked out when indexed after a change."""

    def as_sequence(self) -> Sequence[float]:
        """The values, as a plain list when they fit in one chunk (cheaper to index)."""
        return self._chunks[0] if len(self._chunks) == 1 else self

    def add(self, value: float) -> None:
        chunks, maxes = self._chunks, self._maxes
        self._len += 1
        self._ends = None
        if not chunks:
            chunks.append([value])
            maxes.append(value)
            return
        i = min(bisect_left(maxes, value), len(maxes) - 1)
        chunk = chunks[i]
        insort(chunk, value)
        maxes[i] = chunk[-1]
        if len(chunk) > 2 * _CHUNK:
            chunks.insert(i + 1, chunk[_CHUNK:])
            del chunk[_CHUNK:]
            maxes.insert(i, chunk[-1])

    def remove(self, value: float) -> None:
        """Take out one value equal to ``value``, which must be there."""
        chunks, maxes = self._chunks, self._maxes
        i = bisect_left(maxes, value)
        chunk = chunks[i]
        del chunk[bisect_left(chunk, value)]
        self._len -= 1
        self._ends = None
        if chunk:
            maxes[i] = chunk[-1]
        else:
            del chunks[i], maxes[i]

    def __len__(self) -> int:
        return self._len

    def __iter__(self) -> Iterator[float]:
        return chain.from_iterable(self._chunks)

    @overload
    def __getitem__(self, index: int) -> float: ...

    @overload
    def __getitem__(self, index: slice) -> list[float]: ...

    def __getitem__(self, index: int | slice) -> float | list[float]:
        if isinstance(index, slice):
            return list(self)[index]
        if index < 0:
            index += self._len
        if not 0 <= index < self._len:
            raise IndexError(index)
        ends = self._ends
        if ends is None:
            self._ends = ends = list(accumulate(map(len, self._chunks)))
        i = bisect_right(ends, index)
        return self._chunks[i][index - ends[i - 1] if i else index]


class _Window:
    """The members of one window and what was last taken of it."""

    __slots__ = ("members", "ordered", "partials", "pending", "taken", "units")

    def __init__(self) -> None:
        self.members: dict[_MemberId, tuple[float, str]] = {}
        self.ordered = _SortedValues()
        """Every member's value, ascending."""
        self.units: dict[str, int] = {}
        """How many members have each unit (one unit per KPI in practice; max() as the SQL)."""
        self.partials: list[float] | None = []
        """Floats whose exact sum is the members' sum before ``pending`` (None: to be worked
        out again from ``ordered``: a small window, or after an overflow)."""
        self.pending: list[float] = []
        """Values added (negated: removed) since ``partials``: a change only appends."""
        self.taken: WindowAggregate | _Taken | None = _Taken.UNKNOWN
        """The aggregate last returned by take_dirty (None: the window was empty)."""

    def put(self, member: _MemberId, value: float, unit: str) -> bool:
        """Set ``member``'s value; False when it already had that value and unit."""
        members = self.members
        old = members.get(member)
        members[member] = (value, unit)
        if old is None:
            self.units[unit] = self.units.get(unit, 0) + 1
            self.pending.append(value)
        else:
            old_value, old_unit = old
            if old_value == value and old_unit == unit:
                return False
            if old_unit != unit:
                self._count_unit(old_unit, -1)
                self._count_unit(unit, 1)
            self.ordered.remove(old_value)
            self.pending += (value, -old_value)
        self.ordered.add(value)
        return True

    def remove(self, member: _MemberId) -> bool:
        """Take ``member`` out; False when it was not a member."""
        old = self.members.pop(member, None)
        if old is None:
            return False
        value, unit = old
        self.ordered.remove(value)
        self._count_unit(unit, -1)
        self.pending.append(-value)
        return True

    def _count_unit(self, unit: str, step: int) -> None:
        count = self.units.get(unit, 0) + step
        if count:
            self.units[unit] = count
        else:
            del self.units[unit]

    def total(self) -> float:
        """``math.fsum`` of the members: outright for a small window; else from the partials,
        in O(changes since the last call) or, when that is dearer, O(members) at C speed."""
        ordered, pending, partials = self.ordered, self.pending, self.partials
        if len(ordered) <= _SUMMED_OUTRIGHT:
            pending.clear()
            self.partials = None
            return math.fsum(ordered)
        if partials is not None and len(pending) * _FSUM_PASSES_PER_ADD <= len(ordered):
            for value in pending:
                _add_exactly(partials, value)
            pending.clear()
            if not partials or math.isfinite(partials[-1]):  # else an intermediate overflow
                return math.fsum(partials)
        pending.clear()
        self.partials = partials = _exact_partials(ordered)
        return math.fsum(partials)

    def aggregate(self, key: WindowKey) -> WindowAggregate | None:
        """The window's aggregate, exactly as window_aggregates computes it; None when empty."""
        ordered = self.ordered.as_sequence()
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


def _add_exactly(partials: list[float], value: float) -> None:
    """Add ``value`` to ``partials`` exactly: Shewchuk's addition, the msum of math.fsum
    (hi + lo == x + y exactly; the partials stay non-overlapping; zero remainders are dropped).
    """
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


def _exact_partials(values: Iterable[float]) -> list[float]:
    """Floats whose exact sum is the exact sum of ``values``, by repeated ``math.fsum`` (C
    speed; two or three passes for values of like magnitudes).

    Each pass adds the correctly rounded rest of the sum; the rest shrinks by 2**-53 or more
    each time and is a multiple of 2**-1074, so it reaches zero (at most ~40 passes).
    """
    partials: list[float] = []
    while True:
        rest = math.fsum(chain(values, [-part for part in partials]))
        if not rest:
            return partials
        partials.append(rest)


def _aggregates(value: KpiValue | None) -> TypeGuard[KpiValue]:
    """Whether ``value`` enters window aggregates: anchored, with a value, not flagged."""
    return (
        value is not None
        and value.anchor_time is not None
        and value.value is not None
        and value.flag is None
    )


class WindowNotLoaded(LookupError):
    """A change falls in a window whose members were not loaded (see WindowState.missing)."""


class WindowState:
    """The hourly and daily windows of the ports one worker owns, from their entity values.

    A change costs a few dictionary look-ups and a :func:`bisect.insort` / ``del`` in each of
    its two windows (O(log n) compares plus a memmove of the list); :meth:`take_dirty` costs,
    per changed window, a WindowAggregate and its total (see the module docstring).
    """

    def __init__(self) -> None:
        self._windows: dict[WindowKey, _Window] = {}
        self._dirty: set[WindowKey] = set()
        self._keys: dict[tuple[str, str, datetime], tuple[WindowKey, WindowKey]] = {}

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
                    missing.update(key for key in self._keys_of(value) if key not in windows)
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
        windows, dirty = self._windows, self._dirty
        enter = self._keys_of(after) if _aggregates(after) else ()
        leave = self._keys_of(before) if _aggregates(before) else ()
        entering = [windows.get(key) for key in enter]
        leaving = [windows.get(key) for key in leave]
        if None in entering or None in leaving:  # checked first: a refused change changes nothing
            raise WindowNotLoaded(f"a window of {after or before} is not loaded")
        if before is not None and leave:
            member = (before.entity_kind, before.entity_id)
            # put() below replaces the entity's value in the windows it stays in.
            stays = after is not None and member == (after.entity_kind, after.entity_id)
            for key, window in zip(leave, leaving, strict=True):
                if not (stays and key in enter) and window is not None and window.remove(member):
                    dirty.add(key)
        if after is not None and after.value is not None and enter:
            member = (after.entity_kind, after.entity_id)
            for key, window in zip(enter, entering, strict=True):
                if window is not None and window.put(member, after.value, after.unit):
                    dirty.add(key)

    def _keys_of(self, value: KpiValue) -> tuple[WindowKey, WindowKey]:
        """The hourly and daily window of an aggregated ``value``."""
        assert value.anchor_time is not None
        place = (value.port, value.kpi, value.anchor_time)
        keys = self._keys.get(place)
        if keys is None:
            if len(self._keys) >= _KEYS_REMEMBERED:
                self._keys.clear()
            hour = window_start(value.anchor_time, "hour")
            keys = (
                WindowKey(value.port, "hour", hour, value.kpi),
                WindowKey(value.port, "day", hour.replace(hour=0), value.kpi),
            )
            self._keys[place] = keys
        return keys

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

    def retake(self, taken: DirtyWindows) -> None:
        """Writing ``taken`` (what :meth:`take_dirty` returned) did not commit: the next
        :meth:`take_dirty` returns those windows again, as they are by then."""
        keys = [
            WindowKey(w.port, w.granularity, w.window_start, w.kpi) for w in taken.written
        ] + list(taken.emptied)
        for key in keys:
            window = self._windows.get(key)
            if window is not None:  # else let go since, and loaded (and written) again if needed
                window.taken = _Taken.UNKNOWN
                self._dirty.add(key)

    def evict(self, before: datetime | Mapping[str, datetime]) -> int:
        """Let the windows starting before ``before`` go from memory; returns how many.
        ``before`` may be per port (a port absent keeps its windows).

        Windows changed since the last :meth:`take_dirty` stay (their change is not written
        yet): call it after taking and writing them.
        """
        if isinstance(before, datetime):
            old = [k for k in self._windows if k.window_start < before and k not in self._dirty]
        else:
            old = [
                k
                for k in self._windows
                if k.port in before and k.window_start < before[k.port] and k not in self._dirty
            ]
        for key in old:
            del self._windows[key]
        return len(old)

    def drop_port(self, port: str) -> None:
        """Let every window of ``port`` go (the port was handed to another worker), changes not
        yet taken included: take and write them first."""
        for key in [key for key in self._windows if key.port == port]:
            del self._windows[key]
            self._dirty.discard(key)
