"""Incremental KPI state: the entities of the ports one worker owns, updated event by event.

The batch reference (:func:`hub.domain.kpis.reference.all_kpis`) stays the definition: for the
events it has seen (applied or loaded), :meth:`KpiState.values` gives exactly what ``all_kpis``
gives for the same groups. What changes is the cost: an event updates the entities it belongs to
instead of re-running over their history.

- A port call keeps its vessel events (a few dozen) and, for its moves (thousands), only a
  :class:`~hub.domain.kpis.port_calls.CallCargo` kept up to date — the size, per crane its number
  of moves, first and last, the latest move — plus each move's ``(crane, time)`` so that a
  retraction can take it back out (a removed first or last move rescans that crane's times, a
  removed latest move the call's). Its values never go over its moves.
- A container, a truck visit and a declaration keep their few events and recompute from them
  with the batch functions (:func:`~hub.domain.kpis.containers.counted_visits`, …); a
  container keeps compact records of its events, not the models.
- A DISC or LOAD keeps ``(time, gross kg, size type)`` for its throughput values.

Counting (SPEC §1.1, as :func:`~hub.domain.kpis.events.effective_events`): an event id counts
once (a copy of an id already seen changes nothing: the store keeps the first recorded copy, so
the stored events never hold two); an event named by a ``retracts_event_id`` of an event *of the
same port* stops counting wherever it was placed, whether the retraction comes before or after
it; the retracting event counts unless it is retracted in turn (A ← B ← C leaves C).

Loading protocol (no I/O here; the worker does it): before :meth:`KpiState.apply`, ask
:meth:`KpiState.missing`; load from the store the events filed under the keys it names
(``streams.kpi_stage.stored_keys``) with :meth:`KpiState.load`; fetch the events it names by id
(retraction targets not wholly in memory), add them to what is asked of ``missing`` (their
keys), and repeat until ``missing`` reports nothing (a declaration loaded from the store may
name a call or a container that must then be loaded too; a retraction met in a load may name a
target whose other entities must be loaded and recomputed)::

    asking = list(batch)
    while missing := state.missing(asking):
        if missing.keys:
            state.load(missing.keys, store_events_under(missing.keys))
        asking += store_events_by_id(missing.event_ids)
    state.apply(batch)

Every id ``missing`` reports is reported once: one not found in the store is not asked for
again, and counts as absent (a retraction that came before its target). After ``apply``,
:meth:`KpiState.take_changed` names the groups to recompute (:meth:`KpiState.values`) and
:meth:`KpiState.take_changed_references` the calls and containers whose declarations not in
memory must be loaded and recomputed too.

What the state relies on from the store:

- an entity's stored events are exactly those filed under its key (``stored_keys``), and every
  event passed to ``apply`` is stored (or about to be) under its keys;
- retractions: the state keeps, per port, the set of retracted event ids it has seen a
  retraction of (one id per retraction, never evicted: it is what keeps an evicted and reloaded
  entity exact when the retraction is filed elsewhere, e.g. a vessel event moved to another call).
  After a start or :meth:`KpiState.drop_port` that set is empty, so ``load`` should be given, with
  the events under the keys, the stored events retracting any of them (a query on
  ``retracts_event_id``): those may belong to entities not loaded, and only their retraction is
  used. Without them, a correction filed under other keys than its target is missed until the
  correction itself is loaded. A retraction stored before a restart whose target arrives after
  it is not seen unless the worker loads it (the target's move key ``move:{port}/{id}`` holds a
  cargo correction; a vessel or customs one is filed under its own entity only).

Eviction (:meth:`KpiState.evict_closed`): an entity leaves memory when none of its values is
open, it has no change not yet taken, and its latest event is older than the idle time before
``now`` (event time). A call or a container stays while a declaration in memory reads it. An
evicted entity is simply not in memory any more: a later event makes it ``missing`` and the
worker reloads it from the store, so eviction can never change a value.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import ClassVar, Final
from uuid import UUID

from hub.domain.keys import EntityKey, KeyKind
from hub.domain.kpis.containers import (
    THROUGHPUT_MOVES,
    counted_visit_kpis,
    counted_visits,
    throughput_values,
    truck_visit_kpis,
)
from hub.domain.kpis.declarations import (
    declaration_containers,
    declaration_kpis,
    declaration_port_call,
    gate_out_of,
)
from hub.domain.kpis.events import event_order
from hub.domain.kpis.model import KpiFlag, KpiValue
from hub.domain.kpis.port_calls import (
    AIS_SOURCE,
    CALL_MOVES,
    DEFAULT_ARRIVAL_TOLERANCE,
    CallCargo,
    CraneWork,
    call_timeline,
    call_values,
)
from hub.domain.kpis.reference import dependency_keys
from schemas.models import (
    CargoEvent,
    Classifier,
    CustomsEvent,
    Envelope,
    Facility,
    Move,
    Operation,
    Trade,
    VesselEvent,
)

__all__ = ["DEFAULT_IDLE", "KpiState", "Missing", "groups_of"]

DEFAULT_IDLE: Final = timedelta(days=2)
"""How long (event time) a closed entity stays in memory after its latest event."""

GroupPair = tuple[str, str]
"""An entity group as ``all_kpis``'s ``only`` names it: ``("port_call", "PECLL/C1")``."""

_OPEN: Final = KpiFlag.OPEN.value
_LOADABLE: Final = frozenset(
    {KeyKind.PORT_CALL, KeyKind.CONTAINER, KeyKind.TRUCK_VISIT, KeyKind.DECLARATION}
)
_MOVE: Final = KeyKind.MOVE.value
_GATE_MOVES: Final = frozenset({Move.GTIN, Move.GTOT})


def groups_of(event: Envelope) -> list[tuple[KeyKind, str]]:
    """The entity groups of :func:`~hub.domain.kpis.reference.keys_of` but its ``move`` keys,
    as ``(kind, entity)``: the same rules (a test holds them equal), without building and
    validating keys — the state asks it several times per event."""
    if isinstance(event, VesselEvent):
        return [(KeyKind.PORT_CALL, event.port_call_id)]
    if isinstance(event, CargoEvent):
        groups: list[tuple[KeyKind, str]] = []
        if event.move in CALL_MOVES and event.port_call_id:
            groups.append((KeyKind.PORT_CALL, event.port_call_id))
        groups.append((KeyKind.CONTAINER, event.container))
        if event.move in _GATE_MOVES and event.truck_visit_id:
            groups.append((KeyKind.TRUCK_VISIT, event.truck_visit_id))
        return groups
    if isinstance(event, CustomsEvent):
        return [(KeyKind.DECLARATION, event.declaration_id)]
    return []


@dataclass(frozen=True, slots=True)
class Missing:
    """What must be loaded before :meth:`KpiState.apply` is exact."""

    keys: set[str] = field(default_factory=set)
    """Entity key texts (``"port_call:PECLL/C1"``) to load with :meth:`KpiState.load`."""
    event_ids: set[UUID] = field(default_factory=set)
    """Retraction targets not in memory: fetch them, ask ``missing`` their keys, load those."""

    def __bool__(self) -> bool:
        return bool(self.keys or self.event_ids)


class _Group:
    """One entity group in memory (its events are those that count)."""

    __slots__ = ("entity", "key", "latest", "open", "pair", "port")
    kind: ClassVar[KeyKind]

    def __init__(self, port: str, entity: str) -> None:
        self.port, self.entity = port, entity
        self.key = (self.kind, entity)
        self.pair: GroupPair = (self.kind.value, f"{port}/{entity}")
        self.latest: datetime | None = None
        """The latest ``occurred_at`` placed here: the idle clock of eviction."""
        self.open = False
        """An eviction pass found an open value and nothing changed the group since: no event
        of its own, nor (a declaration) a change of the all-fast or gate-outs it reads."""

    @property
    def text(self) -> str:
        return f"{self.kind.prefix}{self.port}/{self.entity}"

    def touch(self, at: datetime) -> None:
        if self.latest is None or at > self.latest:
            self.latest = at

    def add(self, event: Envelope) -> None:
        raise NotImplementedError

    def remove(self, event_id: UUID) -> object:
        """Take an event out; returns what the group kept of it (None for a call's move)."""
        raise NotImplementedError

    def event_ids(self) -> Iterator[UUID]:
        raise NotImplementedError


class _Crane:
    __slots__ = ("first", "last", "moves")

    def __init__(self, at: datetime) -> None:
        self.moves, self.first, self.last = 0, at, at


class _Call(_Group):
    """A port call: its vessel events, and its moves as aggregates."""

    __slots__ = ("cranes", "last_move", "moves", "vessel")
    kind = KeyKind.PORT_CALL

    def __init__(self, port: str, entity: str) -> None:
        super().__init__(port, entity)
        self.vessel: dict[UUID, VesselEvent] = {}
        self.moves: dict[UUID, tuple[str | None, datetime]] = {}
        """Each move's contribution: (crane, time)."""
        self.cranes: dict[str, _Crane] = {}
        self.last_move: datetime | None = None

    def add(self, event: Envelope) -> None:
        if isinstance(event, VesselEvent):
            self.vessel[event.event_id] = event
            return
        assert isinstance(event, CargoEvent)
        at, crane_id = event.occurred_at, event.crane_id or None
        self.moves[event.event_id] = (crane_id, at)
        if self.last_move is None or at > self.last_move:
            self.last_move = at
        if crane_id is not None:
            crane = self.cranes.get(crane_id)
            if crane is None:
                crane = self.cranes[crane_id] = _Crane(at)
            crane.moves += 1
            crane.first, crane.last = min(crane.first, at), max(crane.last, at)

    def remove(self, event_id: UUID) -> Envelope | None:
        if (vessel := self.vessel.pop(event_id, None)) is not None:
            return vessel
        crane_id, at = self.moves.pop(event_id)
        if at == self.last_move:
            self.last_move = max((t for _, t in self.moves.values()), default=None)
        if crane_id is not None:
            crane = self.cranes[crane_id]
            crane.moves -= 1
            if not crane.moves:
                del self.cranes[crane_id]
            elif at in (crane.first, crane.last):  # rare: rescan this crane's times
                times = [t for c, t in self.moves.values() if c == crane_id]
                crane.first, crane.last = min(times), max(times)
        return None

    def event_ids(self) -> Iterator[UUID]:
        yield from self.vessel
        yield from self.moves

    def cargo(self) -> CallCargo:
        cranes = tuple(CraneWork(c.moves, c.first, c.last) for c in self.cranes.values())
        return CallCargo(len(self.moves), cranes, self.last_move)

    def vessel_events(self) -> list[VesselEvent]:
        return sorted(self.vessel.values(), key=event_order)


class _Events(_Group):
    """A group that keeps its few events (container, truck visit, declaration)."""

    __slots__ = ("events",)

    def __init__(self, port: str, entity: str) -> None:
        super().__init__(port, entity)
        self.events: dict[UUID, Envelope] = {}

    def add(self, event: Envelope) -> None:
        self.events[event.event_id] = event

    def remove(self, event_id: UUID) -> Envelope | None:
        return self.events.pop(event_id)

    def event_ids(self) -> Iterator[UUID]:
        yield from self.events

    def sorted_events(self) -> list[Envelope]:
        return sorted(self.events.values(), key=event_order)


@dataclass(frozen=True, slots=True)
class _Box:
    """What a container's values and its declarations read of one cargo event
    (a :class:`~hub.domain.kpis.containers.CargoMove`), and the other groups it is in."""

    event_id: UUID
    occurred_at: datetime
    port: str
    container: str
    move: Move
    trade: Trade | None
    call: str | None
    """The call it is a move of, if any."""
    truck_visit: str | None
    """The truck visit it is a gate move of, if any."""

    @classmethod
    def of(cls, event: CargoEvent) -> _Box:
        groups = dict(groups_of(event))
        return cls(
            event.event_id,
            event.occurred_at,
            event.port,
            event.container,
            event.move,
            event.trade,
            groups.get(KeyKind.PORT_CALL),
            groups.get(KeyKind.TRUCK_VISIT),
        )

    def groups(self) -> list[tuple[KeyKind, str]]:
        """:func:`groups_of` its event."""
        groups = [(KeyKind.PORT_CALL, self.call)] if self.call is not None else []
        groups.append((KeyKind.CONTAINER, self.container))
        if self.truck_visit is not None:
            groups.append((KeyKind.TRUCK_VISIT, self.truck_visit))
        return groups


class _Container(_Group):
    """A container at a port: its cargo events as compact records (a box waits in the yard for
    days, so its events stay in memory that long; a model costs ~1.8 kB, a record ~0.1 kB)."""

    __slots__ = ("boxes",)
    kind = KeyKind.CONTAINER

    def __init__(self, port: str, entity: str) -> None:
        super().__init__(port, entity)
        self.boxes: dict[UUID, _Box] = {}

    def add(self, event: Envelope) -> None:
        assert isinstance(event, CargoEvent)
        self.boxes[event.event_id] = _Box.of(event)

    def remove(self, event_id: UUID) -> _Box:
        return self.boxes.pop(event_id)

    def event_ids(self) -> Iterator[UUID]:
        yield from self.boxes

    def gate_outs(self) -> list[datetime]:
        return [box.occurred_at for box in self.boxes.values() if box.move is Move.GTOT]

    def values(self) -> list[KpiValue]:
        counted = sorted(self.boxes.values(), key=lambda b: (b.occurred_at, b.event_id.int))
        values: list[KpiValue] = []
        for ordinal, visit in enumerate(counted_visits(counted), start=1):
            values += counted_visit_kpis(visit, ordinal=ordinal)
        return values


class _TruckVisit(_Events):
    __slots__ = ()
    kind = KeyKind.TRUCK_VISIT


class _Declaration(_Events):
    __slots__ = ()
    kind = KeyKind.DECLARATION


_GROUP_TYPES: Final[dict[KeyKind, type[_Group]]] = {
    KeyKind.PORT_CALL: _Call,
    KeyKind.CONTAINER: _Container,
    KeyKind.TRUCK_VISIT: _TruckVisit,
    KeyKind.DECLARATION: _Declaration,
}


class _Port:
    """The state of one port's entities."""

    __slots__ = (
        "groups",
        "placed",
        "readers",
        "retracted",
        "sought",
        "throughput",
        "to_fetch",
        "unplaced",
        "wanted",
    )

    def __init__(self) -> None:
        self.groups: dict[tuple[KeyKind, str], _Group] = {}
        self.placed: dict[UUID, list[_Group]] = {}
        """Every counting event in memory → the groups it is placed in (to undo it)."""
        self.throughput: dict[UUID, tuple[datetime, int, str]] = {}
        """Counting DISC and LOAD in memory → (time, gross kg, ISO size type)."""
        self.retracted: set[UUID] = set()
        """Ids some seen event of this port retracts (kept through eviction)."""
        self.sought: set[UUID] = set()
        """Retraction targets ``missing`` has reported once (not found yet)."""
        self.unplaced: set[UUID] = set()
        """Retracted ids that were not in memory in all their groups when their retraction
        came (it came with a load): the groups not in memory still hold them in their stored
        values, so they must be loaded and recomputed."""
        self.to_fetch: set[UUID] = set()
        """Those of :attr:`unplaced` ``missing`` has not reported yet."""
        self.readers: dict[tuple[KeyKind, str], set[str]] = {}
        """A call or container → the declarations whose events named it (maybe evicted)."""
        self.wanted: set[str] = set()
        """Keys a declaration in memory reads that were not loaded when it named them."""

    def group(self, kind: KeyKind, entity: str) -> _Group | None:
        return self.groups.get((kind, entity))

    def has_readers(self, group: _Group) -> bool:
        return any((KeyKind.DECLARATION, d) in self.groups for d in self.readers.get(group.key, ()))


class KpiState:
    """Incremental KPI state of the entities of the ports one worker owns."""

    def __init__(self, arrival_tolerance: timedelta = DEFAULT_ARRIVAL_TOLERANCE) -> None:
        self.arrival_tolerance = arrival_tolerance
        self._ports: dict[str, _Port] = {}
        self._changed: set[GroupPair] = set()
        self._changed_references: set[str] = set()
        self._evicted: list[GroupPair] = []

    def __len__(self) -> int:
        """Entities in memory (calls, containers, truck visits, declarations)."""
        return sum(len(port.groups) for port in self._ports.values())

    def __contains__(self, group: object) -> bool:
        """Whether a group (``("port_call", "PECLL/C1")``; not a move) is in memory."""
        if not isinstance(group, tuple) or len(group) != 2:
            return False
        kind, entity_id = group
        port_name, _, entity = str(entity_id).partition("/")
        port = self._ports.get(port_name)
        return port is not None and (KeyKind(kind), entity) in port.groups

    # --- loading ---------------------------------------------------------------------------

    def missing(self, events: Iterable[Envelope]) -> Missing:
        """What must be loaded before ``apply(events)`` is exact (see the module docstring):
        the entity groups the events touch or read that are not in memory, the retraction
        targets not in memory, and what the declarations in memory read but was not loaded."""
        keys: set[str] = set()
        event_ids: set[UUID] = set()
        for event in events:
            port = self._ports.get(event.port)
            target = event.retracts_event_id
            if target is not None and (
                port is None
                or not (
                    target in port.retracted
                    or target in port.sought
                    or self._wholly_placed(port, target)
                )
            ):
                event_ids.add(target)
                self._port(event.port).sought.add(target)
            if (
                port is not None
                and event.event_id in port.retracted
                and event.event_id not in port.unplaced
            ):
                continue  # it will not count: its entities need not be loaded for it
            retracted = port is not None and event.event_id in port.retracted
            keys.update(self._unloaded(event, dependencies=not retracted))
        for port in self._ports.values():
            port.wanted = {key for key in port.wanted if not self._loaded(key)}
            keys |= port.wanted
            event_ids |= port.to_fetch
            port.sought |= port.to_fetch
            port.to_fetch.clear()
        return Missing(keys, event_ids)

    def load(self, keys: Collection[str], stored: Iterable[Envelope]) -> None:
        """Mark ``keys`` loaded (a key with no stored event is loaded and empty) and place the
        stored events filed under them (events already seen change nothing).

        ``stored`` may hold other events: those of entities not in memory only bring their
        retraction (e.g. the stored retractors of the loaded events). Loading does not mark the
        new groups changed (their values are the stored ones) — except what a retraction
        among ``stored`` takes out of groups already in memory.
        """
        fresh: set[int] = set()
        for text in keys:
            key = EntityKey.parse(text)
            if key.kind not in _LOADABLE:
                continue
            port = self._port(key.port)
            if (key.kind, key.entity) not in port.groups:
                group = _GROUP_TYPES[key.kind](key.port, key.entity)
                port.groups[group.key] = group
                fresh.add(id(group))
            port.wanted.discard(text)
        for event in stored:
            self._see(event, fresh)

    def apply(self, events: Iterable[Envelope]) -> None:
        """Apply events just recorded (or delivered again: an id already seen changes nothing
        but marks its groups changed).

        Raises:
            ValueError: an event's entity is not in memory (``missing`` was not satisfied).
        """
        batch = list(events)
        for event in batch:
            port = self._ports.get(event.port)
            if port is not None and event.event_id in port.retracted:
                continue
            if unloaded := self._unloaded(event, dependencies=False):
                raise ValueError(f"not loaded (ask missing() first): {sorted(unloaded)}")
        for event in batch:
            self._see(event, None)

    def take_evicted(self) -> list[GroupPair]:
        """The groups :meth:`evict_closed` let go since the last call (a worker's copies of
        their stored rows can go too)."""
        evicted, self._evicted = self._evicted, []
        return evicted

    def drop_port(self, port: str) -> None:
        """Forget everything of ``port`` (the worker no longer owns it)."""
        self._ports.pop(port, None)
        prefix = f"{port}/"
        self._changed = {pair for pair in self._changed if not pair[1].startswith(prefix)}
        self._changed_references = {
            text for text in self._changed_references if EntityKey.parse(text).port != port
        }

    # --- reading ---------------------------------------------------------------------------

    def take_changed(self) -> set[GroupPair]:
        """The groups whose values may have changed since the last call (the declarations in
        memory reading a changed call's all-fast or a container's gate-outs included)."""
        changed, self._changed = self._changed, set()
        return changed

    def take_changed_references(self) -> set[str]:
        """Reference keys (``"ref_call:P/C"``, ``"ref_container:P/B"``) of the calls whose
        all-fast and the containers whose gate-outs may have changed since the last call.

        Declarations in memory that read them are in :meth:`take_changed` already; declarations
        not in memory (evicted, or never loaded since the start) that are filed under these keys
        must be loaded (ask ``missing`` for their ``declaration:`` keys via a customs event,
        or :meth:`load` them directly) and recomputed by the caller.
        """
        changed, self._changed_references = self._changed_references, set()
        return changed

    def values(self, groups: Collection[GroupPair]) -> list[KpiValue]:
        """The current values of ``groups``, as ``all_kpis`` gives them for the events seen
        (sorted by kind, id and KPI).

        Raises:
            ValueError: a group is not in memory (a move whose event is not in memory and was
                not retracted, or another group never loaded or evicted).
        """
        values: list[KpiValue] = []
        for kind, entity_id in groups:
            port_name, _, entity = entity_id.partition("/")
            port = self._ports.get(port_name)
            if kind == _MOVE:
                values += self._move_values(port, port_name, entity)
                continue
            group = None if port is None else port.group(KeyKind(kind), entity)
            if group is None:
                raise ValueError(f"not in memory: {kind}:{entity_id}")
            assert port is not None
            values += self._group_values(port, group)
        return sorted(values, key=lambda v: (v.entity_kind, v.entity_id, v.kpi))

    # --- memory ----------------------------------------------------------------------------

    def evict_closed(
        self, now: datetime | Mapping[str, datetime], idle: timedelta = DEFAULT_IDLE
    ) -> int:
        """Drop the entities whose values are final (none open), with no change not yet taken,
        whose latest event is before ``now - idle`` (event time), and — for a call or a
        container — that no declaration in memory reads. Returns how many left memory.

        Declarations go first, so that a call freed by its last declaration can go in the same
        pass. The per-port set of retracted ids stays. ``now`` may be each port's own clock
        (its latest event time): in a replay the partitions, hence the ports, run hours apart,
        and one clock for all would evict the entities of the ports behind while still active.
        """
        evicted = 0
        for name, port in self._ports.items():
            if isinstance(now, datetime):
                cutoff = now - idle
            elif name in now:
                cutoff = now[name] - idle
            else:
                continue
            idle_groups = [
                g
                for g in port.groups.values()
                if (g.latest is None or g.latest < cutoff) and g.pair not in self._changed
            ]
            idle_groups.sort(key=lambda g: g.kind is not KeyKind.DECLARATION)
            for group in idle_groups:
                if group.kind in (KeyKind.PORT_CALL, KeyKind.CONTAINER) and port.has_readers(group):
                    continue
                if group.open:
                    continue  # still open: nothing changed it, or what it reads, since
                if any(v.flag == _OPEN for v in self._group_values(port, group)):
                    group.open = True
                    continue
                self._evict(port, group)
                evicted += 1
        return evicted

    # --- inside ----------------------------------------------------------------------------

    def _port(self, name: str) -> _Port:
        port = self._ports.get(name)
        if port is None:
            port = self._ports[name] = _Port()
        return port

    def _loaded(self, text: str) -> bool:
        key = EntityKey.parse(text)
        port = self._ports.get(key.port)
        return port is not None and (key.kind, key.entity) in port.groups

    def _wholly_placed(self, port: _Port, event_id: UUID) -> bool:
        """Whether the event is in memory in every group it belongs to (so a retraction can
        take it out of all of them)."""
        groups = port.placed.get(event_id)
        if groups is None:
            return False
        for group in groups:
            if isinstance(group, _Container):
                return all(key in port.groups for key in group.boxes[event_id].groups())
            if isinstance(group, _Events):
                return not self._unloaded(group.events[event_id], dependencies=False)
            if isinstance(group, _Call) and (vessel := group.vessel.get(event_id)) is not None:
                return not self._unloaded(vessel, dependencies=False)
        return False  # a move kept by its call alone: its container is not in memory

    def _unloaded(self, event: Envelope, *, dependencies: bool = True) -> set[str]:
        port = self._ports.get(event.port)
        needed = groups_of(event)
        if dependencies and isinstance(event, CustomsEvent):
            needed += [(key.kind, key.entity) for key in dependency_keys(event)]
        return {
            f"{kind.prefix}{event.port}/{entity}"
            for kind, entity in needed
            if port is None or (kind, entity) not in port.groups
        }

    def _see(self, event: Envelope, fresh: set[int] | None) -> None:
        """Count ``event`` where it belongs. ``fresh``: None when applying (every group it
        touches is marked changed); when loading, the ids of the groups created by that load
        (not marked: their values are the stored ones)."""
        port = self._port(event.port)
        target = event.retracts_event_id
        if target is not None and target not in port.retracted:
            port.retracted.add(target)
            port.sought.discard(target)
            if not self._wholly_placed(port, target):
                port.unplaced.add(target)
                port.to_fetch.add(target)
            self._undo(port, event.port, target)
        event_id = event.event_id
        if event_id in port.retracted:
            if event_id in port.unplaced:
                if fresh is None:  # just recorded: it never counted anywhere
                    port.unplaced.discard(event_id)
                else:
                    self._recount_without(port, event)
            return
        placed = port.placed.get(event_id)
        for key in groups_of(event):
            group = port.groups.get(key)
            if group is None:
                continue
            if placed is None:
                placed = port.placed[event_id] = []
                port.sought.discard(event_id)
            if group not in placed:
                group.add(event)
                placed.append(group)
                if isinstance(event, CustomsEvent):
                    self._note_reader(port, event, key[1])
            elif fresh is not None:
                continue  # loaded again: nothing new
            group.touch(event.occurred_at)
            if fresh is None or id(group) not in fresh:
                self._mark(port, group, event)
        if (
            placed
            and isinstance(event, CargoEvent)
            and event.move in THROUGHPUT_MOVES
            and event_id not in port.throughput
        ):
            port.throughput[event_id] = (event.occurred_at, event.gross_kg, event.iso_size_type)
            if fresh is None:
                self._changed.add((_MOVE, f"{event.port}/{event_id}"))
        elif placed and fresh is None and event_id in port.throughput:
            self._changed.add((_MOVE, f"{event.port}/{event_id}"))

    def _recount_without(self, port: _Port, event: Envelope) -> None:
        """A retracted event met in the store: the groups it was stored under must be
        recomputed (their stored values may still count it)."""
        complete = True
        for key in groups_of(event):
            group = port.groups.get(key)
            if group is None:
                complete = False
            else:
                self._mark(port, group, event)
        if isinstance(event, CargoEvent) and event.move in THROUGHPUT_MOVES:
            self._changed.add((_MOVE, f"{event.port}/{event.event_id}"))
        if complete:
            port.unplaced.discard(event.event_id)

    def _undo(self, port: _Port, port_name: str, event_id: UUID) -> None:
        """Take a retracted event out of every group it counts in."""
        placed = port.placed.pop(event_id, None)
        if placed is None:
            return
        for group in placed:
            removed = group.remove(event_id)
            self._mark(port, group, removed)
        if port.throughput.pop(event_id, None) is not None:
            self._changed.add((_MOVE, f"{port_name}/{event_id}"))

    def _mark(self, port: _Port, group: _Group, event: object) -> None:
        self._changed.add(group.pair)
        group.open = False
        if _read_by_declarations(group, event):
            reference = EntityKey(group.kind, group.port, group.entity).reference()
            self._changed_references.add(reference.text)
            for declaration in port.readers.get(group.key, ()):
                reader = port.groups.get((KeyKind.DECLARATION, declaration))
                if reader is not None:
                    self._changed.add(reader.pair)
                    reader.open = False

    def _note_reader(self, port: _Port, event: CustomsEvent, declaration: str) -> None:
        for key in dependency_keys(event):
            port.readers.setdefault((key.kind, key.entity), set()).add(declaration)
            if (key.kind, key.entity) not in port.groups:
                port.wanted.add(key.text)

    def _evict(self, port: _Port, group: _Group) -> None:
        self._evicted.append(group.pair)
        if isinstance(group, _Declaration):
            for event in group.events.values():
                assert isinstance(event, CustomsEvent)
                for key in dependency_keys(event):
                    readers = port.readers.get((key.kind, key.entity))
                    if readers is not None:
                        readers.discard(group.entity)
                        if not readers:
                            del port.readers[(key.kind, key.entity)]
        for event_id in list(group.event_ids()):
            placed = port.placed[event_id]
            placed.remove(group)
            if not placed:
                del port.placed[event_id]
                port.throughput.pop(event_id, None)
        del port.groups[group.key]

    def _move_values(self, port: _Port | None, port_name: str, entity: str) -> list[KpiValue]:
        event_id = UUID(entity)
        if port is not None:
            if (facts := port.throughput.get(event_id)) is not None:
                return throughput_values(port_name, entity, *facts)
            if event_id in port.retracted or event_id in port.placed:
                return []
        raise ValueError(f"not in memory: move:{port_name}/{entity}")

    def _group_values(self, port: _Port, group: _Group) -> list[KpiValue]:
        if isinstance(group, _Call):
            if not group.vessel and not group.moves:
                return []
            return call_values(
                group.port,
                group.entity,
                group.vessel_events(),
                group.cargo(),
                self.arrival_tolerance,
            )
        if isinstance(group, _Container):
            return group.values()
        assert isinstance(group, _Events)
        if not group.events:
            return []
        if isinstance(group, _TruckVisit):
            return truck_visit_kpis([e for e in group.sorted_events() if isinstance(e, CargoEvent)])
        customs = [e for e in group.sorted_events() if isinstance(e, CustomsEvent)]
        return self._declaration_values(port, customs)

    def _declaration_values(self, port: _Port, customs: list[CustomsEvent]) -> list[KpiValue]:
        # As all_kpis: the arrival is the T_af of the call its latest event naming one names;
        # the gate-out, its containers' first GTOT since then (else since its first event).
        call_id = declaration_port_call(customs)
        call = None if call_id is None else port.group(KeyKind.PORT_CALL, call_id)
        arrival = call_timeline(call.vessel_events()).all_fast if isinstance(call, _Call) else None
        since = arrival if arrival is not None else customs[0].occurred_at
        containers = declaration_containers(customs)
        gate_outs: dict[str, list[datetime]] = {}
        for container in containers:
            group = port.group(KeyKind.CONTAINER, container)
            if isinstance(group, _Container):
                gate_outs[container] = group.gate_outs()
        return declaration_kpis(customs, arrival, gate_out_of(containers, gate_outs, since))


def _read_by_declarations(group: _Group, event: object) -> bool:
    """Whether ``event`` can change what a declaration reads of ``group``: a call's all-fast
    (its declared ACT arrivals and departures at a berth) or a container's gate-outs."""
    if isinstance(group, _Call):
        return (
            isinstance(event, VesselEvent)
            and event.classifier is Classifier.ACT
            and event.facility is Facility.BRTH
            and event.operation in (Operation.ARRI, Operation.DEPA)
            and event.source != AIS_SOURCE
        )
    if isinstance(group, _Container):
        return isinstance(event, CargoEvent | _Box) and event.move is Move.GTOT
    return False
