"""The KPI stage: after a batch is recorded, recompute the KPIs of every entity it touched.

Streaming equals batch by construction: for each touched entity (port call, container, truck
visit, declaration, cargo move) the stage loads *all* of that entity's stored events and runs the
batch reference (:func:`streams.kpis.reference.all_kpis`) on them, then replaces the entity's KPI
rows and rebuilds the hourly and daily windows those rows fall in. Arrival order, duplicates and
late events therefore cannot change a result: the same events give the same KPIs.

The entity state lives in PostgreSQL (the event store, keyed by entity), not in faust tables:
one durable copy, nothing to rebuild from changelogs after a restart, and the cross-entity KPIs
(a declaration's release time needs its call's all-fast and its containers' gate-outs) are a
query instead of a join topology. Concurrent workers are serialised per entity and per port by
advisory locks taken *before* the events are read, so the last writer always saw every event.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

import asyncpg

from hub.db.kpi_store import (
    EntityGroup,
    events_of,
    keys_referring_to,
    recompute_windows,
    replace_entity_kpis,
)
from hub.db.store import lock_keys
from schemas.models import MODELS, CustomsEvent, Envelope
from streams.kpis.model import KpiValue, WindowAggregate
from streams.kpis.reference import all_kpis, entity_keys_of
from streams.kpis.windows import berth_occupancy

# Entity groups of entity_keys_of → the kinds of KPI rows they own. A container's group owns all
# its visits ("PORT/CONTAINER/n"), because a new event can split or merge visits; a port call
# owns its berth hours ("PORT/CALL/YYYY-MM-DDTHH").
_ROW_KINDS = {
    "port_call": ("port_call", "berth_hour"),
    "container": ("container_visit",),
    "truck_visit": ("truck_visit",),
    "declaration": ("declaration",),
    "move": ("move",),
}
# KPI rows whose entity id is their group's id plus one last "/…" part.
_MEMBER_OF = {"container_visit": "container", "berth_hour": "port_call"}


@dataclass(frozen=True, slots=True)
class KpiUpdate:
    """What one batch changed: the recomputed entity KPIs and window rows."""

    values: list[KpiValue]
    windows: list[WindowAggregate]
    """The recomputed windows, and the berth occupancy of those that hold berth hours."""


def stored_keys(event: Envelope) -> tuple[str, ...]:
    """The keys an event is stored under: its entities, and what a declaration depends on."""
    keys = [f"{kind}:{entity}" for kind, entity in entity_keys_of(event)]
    if isinstance(event, CustomsEvent):
        if event.port_call_id:
            keys.append(f"ref_call:{event.port}/{event.port_call_id}")
        keys += [f"ref_container:{event.port}/{container}" for container in event.containers]
    return tuple(dict.fromkeys(keys))


async def update_kpis(
    pool: asyncpg.Pool, events: Sequence[Envelope], berths: Mapping[str, int | None]
) -> KpiUpdate:
    """Recompute and store the KPIs of every entity ``events`` touch (events already stored).

    ``berths`` (per port) gives the occupancy of the berth-hours windows that changed; it is
    derived, not stored (the API derives it the same way when it reads).
    """
    groups = {
        group for event in events for group in entity_keys_of(event) if group[0] in _ROW_KINDS
    }
    if not groups:
        return KpiUpdate([], [])
    async with pool.acquire() as connection:
        groups |= await _dependent_declarations(connection, groups)
        keys = sorted(f"{kind}:{entity}" for kind, entity in groups)
        async with connection.transaction():
            await lock_keys(connection, keys)
            loaded = await _load(connection, keys, groups)
            values = [value for value in all_kpis(loaded) if _group_of(value) in groups]
            touched = await replace_entity_kpis(
                connection,
                [
                    EntityGroup(row_kind, entity)
                    for kind, entity in groups
                    for row_kind in _ROW_KINDS[kind]
                ],
                [(value, _group_of(value)[1]) for value in values],
            )
        async with connection.transaction():
            await lock_keys(connection, {f"windows:{port}" for port, _, _ in touched})
            windows = await recompute_windows(connection, touched)
    return KpiUpdate(values, windows + berth_occupancy(windows, berths))


async def _dependent_declarations(
    connection: asyncpg.Connection, groups: Collection[tuple[str, str]]
) -> set[tuple[str, str]]:
    references = {f"ref_call:{entity}" for kind, entity in groups if kind == "port_call"}
    references |= {f"ref_container:{entity}" for kind, entity in groups if kind == "container"}
    found = await keys_referring_to(connection, references, "declaration")
    return {("declaration", key.split(":", 1)[1]) for key in found}


async def _load(
    connection: asyncpg.Connection, keys: Collection[str], groups: Collection[tuple[str, str]]
) -> list[Envelope]:
    events = _parse(await events_of(connection, keys))
    # A declaration's KPIs need its call (all fast) and its containers (gate-out), complete.
    needed = set()
    for event in events:
        if isinstance(event, CustomsEvent) and ("declaration", _declaration(event)) in groups:
            if event.port_call_id:
                needed.add(f"port_call:{event.port}/{event.port_call_id}")
            needed |= {f"container:{event.port}/{c}" for c in event.containers}
    needed -= set(keys)
    if needed:
        seen = {event.event_id for event in events}
        events += [e for e in _parse(await events_of(connection, needed)) if e.event_id not in seen]
    return events


def _parse(rows: Iterable[tuple[str, str]]) -> list[Envelope]:
    return [MODELS[domain].model_validate_json(payload) for domain, payload in rows]


def _declaration(event: CustomsEvent) -> str:
    return f"{event.port}/{event.declaration_id}"


def _group_of(value: KpiValue) -> tuple[str, str]:
    if (group := _MEMBER_OF.get(value.entity_kind)) is not None:
        return (group, value.entity_id.rsplit("/", 1)[0])
    return (value.entity_kind, value.entity_id)
