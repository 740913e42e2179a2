"""The KPI stage: recompute the KPIs of every entity whose events changed.

Streaming equals batch by construction: for each entity group (port call, container, truck visit,
declaration, cargo move) the stage loads *all* of that group's stored events and runs the batch
reference (:func:`hub.domain.kpis.reference.all_kpis`) on them, then replaces the group's KPI rows
and rebuilds the hourly and daily windows those rows fall in. Arrival order, duplicates and late
events therefore cannot change a result: the same events give the same KPIs.

It works in two halves, so that a port call's thousands of moves are not reloaded for every
batch of them:

- the intake, in the batch that records events, **marks** the groups they touch
  (:func:`dirty_keys`, table ``kpi_dirty``);
- the **flusher** (:class:`KpiFlusher`), a loop of every worker, claims the oldest marks,
  recomputes those groups, publishes what changed and only then clears each mark it saw
  unchanged. However many events a group receives between two flushes, it is recomputed once;
  the busier the stream, the more each flush coalesces.

A worker that dies between recording and publishing leaves its marks for the next flush, by any
worker. Two workers' flushers never take the same group (a session advisory lock per claimed
group); windows are serialised per port. The entity state lives in PostgreSQL (the event store,
keyed by entity), not in faust tables: one durable copy, nothing to rebuild from changelogs after a
restart, and the cross-entity KPIs (a declaration's release time needs its call's all-fast and its
containers' gate-outs) are a query instead of a join topology. Parsed events are cached in memory
(:class:`EventCache`): a call's events are read at every flush while it works.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID

import asyncpg

from hub.db.kpi_store import (
    DirtyMark,
    EntityGroup,
    claim_marks,
    clear_marks,
    dependency_marks,
    event_ids_of,
    keys_referring_to,
    mark_dirty,
    payloads_of,
    recompute_windows,
    release_claims,
    replace_entity_kpis,
)
from hub.db.server import lock_keys
from hub.domain.keys import EntityKey, KeyKind
from hub.domain.kpis.model import KpiValue, WindowAggregate
from hub.domain.kpis.port_calls import DEFAULT_ARRIVAL_TOLERANCE
from hub.domain.kpis.reference import all_kpis, dependency_keys, keys_of
from hub.domain.kpis.windows import berth_occupancy
from schemas.models import MODELS, CargoEvent, CustomsEvent, Envelope, Move, VesselEvent

# Entity groups of keys_of → the kinds of KPI rows they own. A container's group owns all
# its visits ("PORT/CONTAINER/n"), because a new event can split or merge visits; a port call
# owns its berth hours ("PORT/CALL/YYYY-MM-DDTHH").
_ROW_KINDS = {
    KeyKind.PORT_CALL: ("port_call", "berth_hour"),
    KeyKind.CONTAINER: ("container_visit",),
    KeyKind.TRUCK_VISIT: ("truck_visit",),
    KeyKind.DECLARATION: ("declaration",),
    KeyKind.MOVE: ("move",),
}
# KPI rows whose entity id is their group's id plus one last "/…" part.
_MEMBER_OF = {"container_visit": "container", "berth_hour": "port_call"}

DEFAULT_CACHE_EVENTS = 200_000
DEFAULT_FLUSH_GROUPS = 5_000


@dataclass(frozen=True, slots=True)
class KpiUpdate:
    """What one flush changed: the entity KPIs that are new or differ, and the window rows."""

    values: list[KpiValue]
    windows: list[WindowAggregate]
    """The recomputed windows, and the berth occupancy of those that hold berth hours."""
    groups: list[str] = field(default_factory=list)
    """The groups recomputed ("<kind>:<entity>"), changed or not."""


def stored_keys(event: Envelope) -> tuple[str, ...]:
    """The keys an event is stored under: its entities, and what a declaration depends on."""
    keys = keys_of(event)
    if isinstance(event, CustomsEvent):
        keys += [dependency.reference() for dependency in dependency_keys(event)]
    return tuple(dict.fromkeys(key.text for key in keys))


def dirty_keys(event: Envelope) -> tuple[str, ...]:
    """The marks an event sets: its entity groups, and the declarations depending on it.

    Only a vessel event can move a call's all-fast, and only a gate-out (or a retraction, which
    may retract one) a container's gate-out: a discharge does not mark the call's declarations.
    """
    keys = [key for key in keys_of(event) if key.kind in _ROW_KINDS]
    # The marks of dependents are expanded into the declarations' own marks when flushed, by
    # whichever worker flushes (:meth:`KpiFlusher._expand_dependents`).
    if isinstance(event, VesselEvent):
        keys.append(EntityKey.port_call(event.port, event.port_call_id).dependents())
    elif isinstance(event, CargoEvent) and (
        event.move is Move.GTOT or event.retracts_event_id is not None
    ):
        keys.append(EntityKey.container(event.port, event.container).dependents())
    return tuple(dict.fromkeys(key.text for key in keys))


class EventCache:
    """Parsed events by id, the most recently used ``capacity`` of them."""

    def __init__(self, capacity: int = DEFAULT_CACHE_EVENTS) -> None:
        self.capacity = capacity
        self._events: OrderedDict[UUID, Envelope] = OrderedDict()

    def __len__(self) -> int:
        return len(self._events)

    def __contains__(self, event_id: object) -> bool:
        return event_id in self._events

    def put(self, event: Envelope) -> None:
        """Keep ``event``, exactly as stored (so: only an event recorded now, not a duplicate)."""
        self._events[event.event_id] = event
        self._events.move_to_end(event.event_id)
        while len(self._events) > self.capacity:
            self._events.popitem(last=False)

    async def load(self, connection: asyncpg.Connection, keys: Collection[str]) -> list[Envelope]:
        """Every stored event concerning any of ``keys``."""
        found: list[Envelope] = []
        missing: list[UUID] = []
        for event_id in await event_ids_of(connection, keys):
            event = self._events.get(event_id)
            if event is None:
                missing.append(event_id)
            else:
                self._events.move_to_end(event_id)
                found.append(event)
        for _, domain, payload in await payloads_of(connection, missing):
            event = MODELS[domain].model_validate_json(payload)
            self.put(event)
            found.append(event)
        return found


class KpiFlusher:
    """Recomputes the marked groups, a claim of at most ``limit`` at a time."""

    def __init__(
        self,
        berths: Mapping[str, int | None],
        publish: Callable[[KpiUpdate], Awaitable[None]],
        cache: EventCache,
        limit: int = DEFAULT_FLUSH_GROUPS,
        arrival_tolerance: timedelta = DEFAULT_ARRIVAL_TOLERANCE,
    ) -> None:
        self.berths, self.publish, self.cache, self.limit = berths, publish, cache, limit
        self.arrival_tolerance = arrival_tolerance

    async def flush(self, pool: asyncpg.Pool) -> int:
        """One round: returns how many groups it recomputed (0: nothing was marked)."""
        async with pool.acquire() as connection:
            await self._expand_dependents(connection)
            marks = await claim_marks(connection, self.limit)
            try:
                if marks:
                    update = await self._recompute(connection, marks)
                    await self.publish(update)
                    await clear_marks(connection, marks)
            finally:
                await release_claims(connection)
        return len(marks)

    async def _expand_dependents(self, connection: asyncpg.Connection) -> None:
        marks = await dependency_marks(connection, self.limit)
        if not marks:
            return
        # deps:port_call:P/C → the declarations on events stored under ref_call:P/C.
        references = {EntityKey.parse(mark.key).subject().reference().text for mark in marks}
        declarations = await keys_referring_to(connection, references, KeyKind.DECLARATION)
        await mark_dirty(connection, declarations)
        await clear_marks(connection, marks)

    async def _recompute(
        self, connection: asyncpg.Connection, marks: Sequence[DirtyMark]
    ) -> KpiUpdate:
        keys = sorted({mark.key for mark in marks})
        groups = {EntityKey.parse(key) for key in keys}
        pairs = {group.pair for group in groups}
        loaded = await self._load(connection, keys, groups)
        computed = all_kpis(loaded, only=pairs, arrival_tolerance=self.arrival_tolerance)
        values = [value for value in computed if _group_of(value) in pairs]
        async with connection.transaction():
            replaced = await replace_entity_kpis(
                connection,
                [
                    EntityGroup(row_kind, group.entity_id)
                    for group in groups
                    for row_kind in _ROW_KINDS[group.kind]
                ],
                [(value, _group_of(value)[1]) for value in values],
            )
        async with connection.transaction():
            await lock_keys(connection, {f"windows:{port}" for port, _, _ in replaced.touched})
            windows = await recompute_windows(connection, replaced.touched)
        return KpiUpdate(replaced.changed, windows + berth_occupancy(windows, self.berths), keys)

    async def _load(
        self,
        connection: asyncpg.Connection,
        keys: Collection[str],
        groups: Collection[EntityKey],
    ) -> list[Envelope]:
        events = await self.cache.load(connection, keys)
        # A declaration's KPIs need its call's vessel events (all fast) and its containers'
        # events (gate-out), complete.
        needed: set[EntityKey] = set()
        for event in events:
            if (
                isinstance(event, CustomsEvent)
                and EntityKey.declaration(event.port, event.declaration_id) in groups
            ):
                needed.update(dependency_keys(event))
        needed -= set(groups)
        if needed:
            seen = {event.event_id for event in events}
            for event in await self.cache.load(connection, {key.text for key in needed}):
                if event.event_id in seen:
                    continue
                seen.add(event.event_id)
                # Another call's moves would only cost time: its own KPIs are not kept here.
                if isinstance(event, CargoEvent) and (
                    EntityKey.container(event.port, event.container) not in needed
                ):
                    continue
                events.append(event)
        return events


@dataclass(slots=True)
class _Waiting:
    occurred_at: datetime
    arrived: float
    groups_left: int
    since: float


class PendingLatency:
    """Events taken in whose KPI groups are not all published yet: when the last one is, the
    event's latencies are known. Entries another worker's flusher completed are dropped after
    ``forget_after_s``."""

    def __init__(self, forget_after_s: float = 600.0) -> None:
        self.forget_after_s = forget_after_s
        self._by_group: dict[str, list[_Waiting]] = {}
        self._swept = time.monotonic()

    def add(self, event: Envelope, marks: Iterable[str], arrived: float) -> None:
        """``marks``: the event's :func:`dirty_keys`."""
        groups = [key for key in marks if EntityKey.parse(key).kind.is_group]
        if groups:
            waiting = _Waiting(event.occurred_at, arrived, len(groups), time.monotonic())
            for group in groups:
                self._by_group.setdefault(group, []).append(waiting)

    def published(self, groups: Iterable[str]) -> list[tuple[datetime, float]]:
        """(occurred_at, arrived) of the events whose every group is now published."""
        complete = []
        for group in groups:
            for waiting in self._by_group.pop(group, ()):
                waiting.groups_left -= 1
                if waiting.groups_left == 0:
                    complete.append((waiting.occurred_at, waiting.arrived))
        now = time.monotonic()
        if now - self._swept > self.forget_after_s / 10:
            self._swept = now
            horizon = now - self.forget_after_s
            self._by_group = {
                group: kept
                for group, waiting in self._by_group.items()
                if (kept := [w for w in waiting if w.since >= horizon])
            }
        return complete


def _group_of(value: KpiValue) -> tuple[str, str]:
    if (group := _MEMBER_OF.get(value.entity_kind)) is not None:
        return (group, value.entity_id.rsplit("/", 1)[0])
    return (value.entity_kind, value.entity_id)
