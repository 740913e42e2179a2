"""The batch reference: every logistics KPI of a set of events, and which entities an event affects.

:func:`all_kpis` is THE definition of the hub's KPIs over a set of events: the streaming stage
(``streams/kpi_stage.py``) runs it on the stored events of the entities a batch touched, the
integration tests compare the stage with it, and ``docs/kpis.md`` describes it. Streaming equals
batch because each entity's KPIs depend only on events that carry that entity's key
(:func:`entity_keys_of`) plus the declared cross-entity dependencies below.

Entity keys (``(kind, id)``, the kinds the stage groups by; :class:`hub.domain.keys.EntityKey` is
their one definition, its :attr:`~hub.domain.keys.EntityKey.pair` the ``(kind, id)`` below):

====================  ==================================  ================================
kind                  id                                  events carrying it
====================  ==================================  ================================
``port_call``         ``{port}/{port_call_id}``           vessel events; DISC, LOAD, RSTW
                                                          (also owns the call's
                                                          ``berth_hour`` values
                                                          ``{port}/{port_call_id}/{hour}``)
``container``         ``{port}/{container}``              every cargo event of that box;
                                                          the group of all its visits
                                                          (``container_visit`` values
                                                          ``{port}/{container}/{n}``)
``truck_visit``       ``{port}/{truck_visit_id}``         GTIN, GTOT
``declaration``       ``{port}/{declaration_id}``         customs events
``move``              ``{port}/{event_id}``               DISC, LOAD (and a cargo event
                                                          that retracts that event)
====================  ==================================  ================================

Cross-entity dependencies — a declaration's KPIs read two other entities:

- ``port_call`` ``{port}/{port_call_id}`` of the call its events name: its T_af is the
  declaration's arrival;
- ``container`` ``{port}/{container}`` of each container its events list: their GTOTs give the
  gate-out.

So when a port call or a container changes, the declarations depending on it
(:func:`declaration_dependencies`, :func:`declarations_depending_on`) must be recomputed, with
those entities' events loaded.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime, timedelta
from typing import Final

from hub.domain.keys import EntityKey, KeyKind
from hub.domain.kpis.containers import (
    THROUGHPUT_MOVES,
    container_visit_kpis,
    container_visits,
    move_kpis,
    truck_visit_kpis,
)
from hub.domain.kpis.declarations import (
    declaration_containers,
    declaration_kpis,
    declaration_port_call,
    gate_out_of,
)
from hub.domain.kpis.events import effective_events
from hub.domain.kpis.model import KpiValue
from hub.domain.kpis.port_calls import (
    CALL_MOVES,
    DEFAULT_ARRIVAL_TOLERANCE,
    call_berth_hours,
    call_timeline,
    port_call_kpis,
)
from schemas.models import CargoEvent, CustomsEvent, Envelope, Move, VesselEvent

__all__ = [
    "CONTAINER",
    "KeyPair",
    "all_kpis",
    "declaration_dependencies",
    "declarations_depending_on",
    "dependency_keys",
    "entity_keys_of",
    "keys_of",
]

KeyPair = tuple[str, str]
"""(kind, id) of an entity, as :func:`entity_keys_of` gives it (:attr:`EntityKey.pair`)."""

CONTAINER: Final = KeyKind.CONTAINER.value
"""Key kind of all visits of one container at one port (``{port}/{container}``): an event can
move a visit boundary, so a container's visits are always recomputed together."""

_GATE_MOVES: Final = frozenset({Move.GTIN, Move.GTOT})

_Call = tuple[str, str]  # (port, port_call_id)
_PortAnd = tuple[str, str]  # (port, container | truck_visit_id | declaration_id)


def entity_keys_of(event: Envelope) -> list[KeyPair]:
    """:func:`keys_of` as ``(kind, id)`` pairs."""
    return [key.pair for key in keys_of(event)]


def keys_of(event: Envelope) -> list[EntityKey]:
    """The entities whose KPIs ``event`` can change, i.e. what to recompute when it arrives.

    - a vessel event → its port call;
    - a DISC, LOAD or RSTW → its port call, its container (all visits), and, for DISC and LOAD,
      its move; a GTIN or GTOT → its container and its truck visit; a YARD → its container;
    - a cargo event that retracts another also affects the retracted event's move
      (``{port}/{retracts_event_id}``): that move's KPIs must disappear, and storing the
      correction under that key lets the stage see the retraction when it recomputes the move;
    - a customs event → its declaration; a certificate submission → nothing.

    Declarations that depend on a port call or a container are not listed here (see
    :func:`declarations_depending_on`). Other retractions that move an event to another entity
    (a corrected ``port_call_id`` or container) cannot be seen from the correction alone: the
    stage must also recompute the retracted event's stored keys.
    """
    if isinstance(event, VesselEvent):
        return [EntityKey.port_call(event.port, event.port_call_id)]
    if isinstance(event, CargoEvent):
        keys: list[EntityKey] = []
        if event.move in CALL_MOVES and event.port_call_id:
            keys.append(EntityKey.port_call(event.port, event.port_call_id))
        keys.append(EntityKey.container(event.port, event.container))
        if event.move in _GATE_MOVES and event.truck_visit_id:
            keys.append(EntityKey.truck_visit(event.port, event.truck_visit_id))
        if event.move in THROUGHPUT_MOVES:
            keys.append(EntityKey.move(event.port, event.event_id))
        if event.retracts_event_id is not None:
            keys.append(EntityKey.move(event.port, event.retracts_event_id))
        return keys
    if isinstance(event, CustomsEvent):
        return [EntityKey.declaration(event.port, event.declaration_id)]
    return []


def declaration_dependencies(event: CustomsEvent) -> list[KeyPair]:
    """:func:`dependency_keys` as ``(kind, id)`` pairs."""
    return [key.pair for key in dependency_keys(event)]


def dependency_keys(event: CustomsEvent) -> list[EntityKey]:
    """The entities whose events a declaration's KPIs read, as named by one of its events: the
    port call of its ``port_call_id`` and the container of each of its ``containers``."""
    keys: list[EntityKey] = []
    if event.port_call_id:
        keys.append(EntityKey.port_call(event.port, event.port_call_id))
    keys += [EntityKey.container(event.port, container) for container in event.containers]
    return keys


def declarations_depending_on(
    keys: Iterable[KeyPair], customs_events: Iterable[CustomsEvent]
) -> list[KeyPair]:
    """The declarations among ``customs_events`` whose KPIs read any entity of ``keys``
    (sorted, each once): what to recompute when those port calls or containers change."""
    wanted = set(keys)
    return sorted(
        {
            EntityKey.declaration(event.port, event.declaration_id).pair
            for event in customs_events
            if wanted.intersection(declaration_dependencies(event))
        }
    )


def all_kpis(
    events: Iterable[Envelope],
    only: Collection[KeyPair] | None = None,
    *,
    arrival_tolerance: timedelta = DEFAULT_ARRIVAL_TOLERANCE,
) -> list[KpiValue]:
    """Every KPI value of every entity in ``events``, sorted by (entity_kind, entity_id, kpi).

    Duplicates count once and retracted events are removed, over the whole set; then the events
    are grouped by entity (see the module docstring) and each group goes to its function:
    :func:`~hub.domain.kpis.port_calls.port_call_kpis` and
    :func:`~hub.domain.kpis.port_calls.call_berth_hours`,
    :func:`~hub.domain.kpis.containers.container_visit_kpis` for each visit of
    :func:`~hub.domain.kpis.containers.container_visits`,
    :func:`~hub.domain.kpis.containers.truck_visit_kpis`,
    :func:`~hub.domain.kpis.containers.move_kpis` and
    :func:`~hub.domain.kpis.declarations.declaration_kpis`. A declaration's arrival is the T_af of
    the call its latest event naming one names, at its port (None if that call is unknown or
    not berthed); its gate-out is :func:`~hub.domain.kpis.declarations.gate_out_of` its containers
    at its port, since that arrival (else since its first event). Certificate submissions have
    no KPI.

    ``only``: compute just these entity groups (as :func:`entity_keys_of` names them), the
    others' events serving as context (a declaration's call and containers); the values of a
    group are the same as without it. Default: every entity.

    ``arrival_tolerance``: how far a declared arrival may be from the AIS-derived one before
    the call's ``arrival_mismatch_flag`` is set.
    """

    def wanted(kind: KeyKind, port: str, entity: str) -> bool:
        return only is None or EntityKey(kind, port, entity).pair in only

    vessel: dict[_Call, list[VesselEvent]] = {}
    call_moves: dict[_Call, list[CargoEvent]] = {}
    by_container: dict[_PortAnd, list[CargoEvent]] = {}
    by_truck_visit: dict[_PortAnd, list[CargoEvent]] = {}
    by_declaration: dict[_PortAnd, list[CustomsEvent]] = {}
    values: list[KpiValue] = []
    for event in effective_events(events):
        if isinstance(event, VesselEvent):
            vessel.setdefault((event.port, event.port_call_id), []).append(event)
        elif isinstance(event, CargoEvent):
            by_container.setdefault((event.port, event.container), []).append(event)
            if event.move in CALL_MOVES and event.port_call_id:
                call_moves.setdefault((event.port, event.port_call_id), []).append(event)
            if event.move in _GATE_MOVES and event.truck_visit_id:
                by_truck_visit.setdefault((event.port, event.truck_visit_id), []).append(event)
            if wanted(KeyKind.MOVE, event.port, str(event.event_id)):
                values += move_kpis(event)
        elif isinstance(event, CustomsEvent):
            by_declaration.setdefault((event.port, event.declaration_id), []).append(event)

    for call in vessel.keys() | call_moves.keys():
        if not wanted(KeyKind.PORT_CALL, *call):
            continue
        values += port_call_kpis(vessel.get(call, []), call_moves.get(call, []), arrival_tolerance)
        values += call_berth_hours(vessel.get(call, []), call_moves.get(call, []))
    for (port, container), cargo in by_container.items():
        if not wanted(KeyKind.CONTAINER, port, container):
            continue
        for ordinal, visit in enumerate(container_visits(cargo), start=1):
            values += container_visit_kpis(visit, ordinal=ordinal)
    for (port, truck_visit), cargo in by_truck_visit.items():
        if wanted(KeyKind.TRUCK_VISIT, port, truck_visit):
            values += truck_visit_kpis(cargo)
    gate_outs: dict[str, dict[str, list[datetime]]] = {}  # port → container → GTOT times
    for (port, container), cargo in by_container.items():
        gate_outs.setdefault(port, {})[container] = [
            e.occurred_at for e in cargo if e.move is Move.GTOT
        ]
    for (port, declaration), customs in by_declaration.items():
        if not wanted(KeyKind.DECLARATION, port, declaration):
            continue
        call_id = declaration_port_call(customs)
        arrival = call_timeline(vessel.get((port, call_id), [])).all_fast if call_id else None
        since = arrival if arrival is not None else customs[0].occurred_at
        gate_out = gate_out_of(declaration_containers(customs), gate_outs.get(port, {}), since)
        values += declaration_kpis(customs, arrival, gate_out)
    return sorted(values, key=lambda v: (v.entity_kind, v.entity_id, v.kpi))
