"""The KPI stage: the KPIs of the entities a batch touches, kept incrementally in memory.

Each worker owns whole ports (the port is the partition key of every ingest topic), so the
state of a port's entities and windows lives in one process and nothing is coordinated
between workers. For every batch the stage

1. brings into memory the entities the batch touches or reads that are not there yet (after a
   start, a rebalance or an eviction): their stored events, and their stored KPI rows
   (:meth:`KpiStage._load_missing`);
2. applies the batch's events to the incremental state
   (:class:`hub.domain.kpis.incremental.KpiState`; an event applied before changes nothing);
3. compares the changed entities' values with their stored rows, and writes only the
   differences, with the windows they change
   (:class:`hub.domain.kpis.window_state.WindowState`: exact count, sum, mean, median and p90
   without ``percentile_cont`` over stored rows), in one transaction;
4. returns what changed, for the KPI and window topics.

Streaming equals batch: the incremental state is property-tested against the batch reference
(:func:`hub.domain.kpis.reference.all_kpis`), and the windows against
:func:`hub.domain.kpis.windows.window_aggregates`. Nothing here is durable by itself: the
events are stored before this stage runs and offsets are committed after it has written, so a
crash leaves the stored rows behind the events at most, and the next time an entity is loaded
its values are compared with its stored rows again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID

import asyncpg

from hub.db.kpi_store import (
    EntityGroup,
    events_of,
    keys_referring_to,
    payloads_of,
    stored_group_kpis,
    write_entity_kpis,
)
from hub.db.kpi_windows import window_members, write_windows
from hub.domain.keys import EntityKey, KeyKind
from hub.domain.kpis.incremental import KpiState
from hub.domain.kpis.model import KpiValue, WindowAggregate
from hub.domain.kpis.port_calls import DEFAULT_ARRIVAL_TOLERANCE
from hub.domain.kpis.reference import dependency_keys, keys_of
from hub.domain.kpis.window_state import WindowState
from hub.domain.kpis.windows import berth_occupancy
from schemas.models import MODELS, CustomsEvent, Envelope
from streams import metrics

log = logging.getLogger(__name__)

# This often (wall clock), closed entities and old windows leave memory (a pass computes the
# values of an idle entity once, and again only after something changed it).
_EVICT_EVERY_S = 60.0
# An entity whose values are all final leaves memory once its latest event is this much older
# (event time) than the latest event taken in; a later event loads it again from the store.
_ENTITY_IDLE = timedelta(hours=6)
# Windows starting this long before the latest event time are let go (a late event loads its
# window again from the stored entity values).
_WINDOWS_KEPT = timedelta(days=1)

GroupPair = tuple[str, str]
"""An entity group as (kind, id): ``("port_call", "PECLL/C1")``."""
RowKey = tuple[str, str, str]
"""A stored KPI row: (entity_kind, entity_id, kpi)."""
_Change = tuple[KpiValue | None, KpiValue | None]
_MOVE = KeyKind.MOVE.value
"""A value before and after (None: absent)."""

# Entity groups → the kinds of KPI rows they own. A container's group owns all its visits
# ("PORT/CONTAINER/n"), because a new event can split or merge visits; a port call owns its
# berth hours ("PORT/CALL/YYYY-MM-DDTHH").
_ROW_KINDS = {
    KeyKind.PORT_CALL.value: ("port_call", "berth_hour"),
    KeyKind.CONTAINER.value: ("container_visit",),
    KeyKind.TRUCK_VISIT.value: ("truck_visit",),
    KeyKind.DECLARATION.value: ("declaration",),
    KeyKind.MOVE.value: ("move",),
}
# KPI rows whose entity id is their group's id plus one last "/…" part.
_MEMBER_OF = {"container_visit": "container", "berth_hour": "port_call"}


@dataclass(frozen=True, slots=True)
class KpiUpdate:
    """What one batch changed: the entity KPIs that are new or differ, and the window rows."""

    values: list[KpiValue]
    windows: list[WindowAggregate]
    """The changed windows, and the berth occupancy of those that hold berth hours."""
    groups: list[GroupPair] = field(default_factory=list)
    """The entity groups whose values were compared."""


def stored_keys(event: Envelope) -> tuple[str, ...]:
    """The keys an event is stored under: its entities, and what a declaration depends on."""
    keys = keys_of(event)
    if isinstance(event, CustomsEvent):
        keys += [dependency.reference() for dependency in dependency_keys(event)]
    return tuple(dict.fromkeys(key.text for key in keys))


def group_of(value: KpiValue) -> GroupPair:
    """The entity group a KPI value belongs to."""
    if (group := _MEMBER_OF.get(value.entity_kind)) is not None:
        return (group, value.entity_id.rsplit("/", 1)[0])
    return (value.entity_kind, value.entity_id)


def _row_key(value: KpiValue) -> RowKey:
    return (value.entity_kind, value.entity_id, value.kpi)


class KpiStage:
    """The incremental KPIs and windows of the ports this worker owns."""

    def __init__(
        self,
        berths: Mapping[str, int | None],
        arrival_tolerance: timedelta = DEFAULT_ARRIVAL_TOLERANCE,
    ) -> None:
        self.berths = berths
        self.arrival_tolerance = arrival_tolerance
        self.entities = KpiState(arrival_tolerance)
        self.windows = WindowState()
        # The stored rows of every group in memory: what a new value is compared with.
        self._stored: dict[GroupPair, dict[RowKey, KpiValue]] = {}
        # Kept across a failed write, so that its retry writes them still.
        self._unwritten: set[GroupPair] = set()
        self._references: set[str] = set()
        # Each port's latest event time: its own clock for eviction (ports run apart in a replay).
        self._latest: dict[str, datetime] = {}
        self._evicted_at = time.monotonic()

    def forget(self) -> None:
        """Drop every entity and window (partitions revoked): the next owner reloads them, and
        so does this worker if it gets them back."""
        self.entities = KpiState(self.arrival_tolerance)
        self.windows = WindowState()
        self._stored.clear()
        self._unwritten.clear()
        self._references.clear()
        self._latest.clear()

    async def update(
        self,
        pool: asyncpg.Pool,
        events: Sequence[Envelope],
        recorded: Collection[UUID] = frozenset(),
    ) -> KpiUpdate:
        """Apply a batch's stored events (new or delivered again) and write what changed.
        ``recorded``: the ids of those the batch recorded (stored as they are here), which
        loading their entities leaves to :meth:`KpiState.apply` instead of reading them back."""
        async with pool.acquire() as connection:
            await self._bring_in(connection, list(events), recorded)
            self.entities.apply(events)
            self._unwritten |= self.entities.take_changed()
            self._references |= self.entities.take_changed_references()
            self._unwritten |= await self._readers_of(connection, self._references)
            self._references.clear()
            groups = sorted(self._unwritten)
            await self._load_rows(connection, [g for g in groups if g not in self._stored])
            written, removed, changes = self._compare(groups)
            missing = self.windows.missing(changes)
            if missing:
                members = await window_members(connection, missing)
                for window in missing:
                    self.windows.load(window, members[window])
            for before, after in changes:
                self.windows.change(before, after)
            dirty = self.windows.take_dirty()
            try:
                async with connection.transaction():
                    await write_entity_kpis(connection, written, [_row_key(v) for v in removed])
                    await write_windows(connection, dirty.written, dirty.emptied)
            except BaseException:
                self.windows.retake(dirty)
                raise
        # Written: the stored rows are the new values now.
        for value, _ in written:
            self._stored.setdefault(group_of(value), {})[_row_key(value)] = value
        for value in removed:
            self._stored.get(group_of(value), {}).pop(_row_key(value), None)
        self._unwritten.clear()
        self._forget_closed(events)
        windows = dirty.written
        return KpiUpdate(
            [value for value, _ in written], windows + berth_occupancy(windows, self.berths), groups
        )

    def _compare(
        self, groups: Sequence[GroupPair]
    ) -> tuple[list[tuple[KpiValue, str]], list[KpiValue], list[_Change]]:
        """The rows to write (new or changed), the rows to delete, and every (before, after)."""
        now: dict[GroupPair, dict[RowKey, KpiValue]] = {group: {} for group in groups}
        for value in self.entities.values(groups):
            now[group_of(value)][_row_key(value)] = value
        written: list[tuple[KpiValue, str]] = []
        removed: list[KpiValue] = []
        changes: list[_Change] = []
        for group, values in now.items():
            stored = self._stored.get(group, {})
            for key, value in values.items():
                before = stored.get(key)
                if before != value:
                    written.append((value, group[1]))
                    changes.append((before, value))
            for key, before in stored.items():
                if key not in values:
                    removed.append(before)
                    changes.append((before, None))
        return written, removed, changes

    async def _bring_in(
        self,
        connection: asyncpg.Connection,
        asking: list[Envelope],
        recorded: Collection[UUID] = frozenset(),
    ) -> None:
        """Load what ``asking`` touches or reads and is not in memory (the loading protocol of
        :mod:`hub.domain.kpis.incremental`), with the loaded groups' stored rows. The events
        ``recorded`` are not read back (in a replay they are most of what a new entity has
        stored: parsing them again cost ~80 µs an event)."""
        loaded: set[str] = set()
        while missing := self.entities.missing(asking):
            if missing.keys:
                stored = _parsed(await events_of(connection, missing.keys, recorded))
                self.entities.load(missing.keys, stored)
                loaded |= missing.keys
            if missing.event_ids:
                asking = asking + _parsed(
                    (domain, payload)
                    for _, domain, payload in await payloads_of(connection, missing.event_ids)
                )
        await self._load_rows(connection, [EntityKey.parse(key).pair for key in loaded])

    async def _readers_of(
        self, connection: asyncpg.Connection, references: Collection[str]
    ) -> set[GroupPair]:
        """The declarations not in memory that read the calls and containers whose all-fast
        and gate-outs changed (``references``): loaded, to be compared like the others."""
        if not references:
            return set()
        keys = {
            key
            for key in await keys_referring_to(connection, references, KeyKind.DECLARATION)
            if EntityKey.parse(key).pair not in self.entities
        }
        if not keys:
            return set()
        stored = _parsed(await events_of(connection, keys))
        self.entities.load(keys, stored)
        await self._bring_in(connection, stored)  # what those declarations read
        readers = {EntityKey.parse(key).pair for key in keys}
        await self._load_rows(connection, readers)
        return readers

    async def _load_rows(self, connection: asyncpg.Connection, pairs: Iterable[GroupPair]) -> None:
        """The stored KPI rows of the entity groups ``pairs`` not known yet."""
        groups = [pair for pair in set(pairs) if pair[0] in _ROW_KINDS and pair not in self._stored]
        if not groups:
            return
        rows = await stored_group_kpis(
            connection,
            [
                EntityGroup(kind, group_id)
                for group_kind, group_id in groups
                for kind in _ROW_KINDS[group_kind]
            ],
        )
        for group in groups:
            self._stored[group] = {}
        for value, _ in rows:
            self._stored.setdefault(group_of(value), {})[_row_key(value)] = value

    def _forget_closed(self, events: Sequence[Envelope]) -> None:
        """Every few seconds, let closed entities and old windows go (memory is sized by
        open entities, not by history); they are loaded again if an event comes for them."""
        latest = self._latest
        for event in events:
            seen = latest.get(event.port)
            if seen is None or event.occurred_at > seen:
                latest[event.port] = event.occurred_at
        if not latest or time.monotonic() - self._evicted_at < _EVICT_EVERY_S:
            return
        self._evicted_at = time.monotonic()
        self.entities.evict_closed(latest, _ENTITY_IDLE)
        for group in self.entities.take_evicted():
            self._stored.pop(group, None)
        # A move's rows are final once written; read again should a retraction come.
        for group in [group for group in self._stored if group[0] == _MOVE]:
            del self._stored[group]
        self.windows.evict({port: at - _WINDOWS_KEPT for port, at in latest.items()})
        metrics.KPI_ENTITIES.set(len(self.entities))


def _parsed(payloads: Iterable[tuple[str, str]]) -> list[Envelope]:
    return [MODELS[domain].model_validate_json(payload) for domain, payload in payloads]
