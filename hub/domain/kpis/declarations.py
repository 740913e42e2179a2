"""KPIs of one customs declaration: the WCO Time Release Study segments and inspections.

SPEC §2: "customs release time (WCO TRS): arrival → release, where arrival = the call's T_af for
the declaration's containers or ``port_call_id``; segments: arrival → lodgement (negative when
lodged before arrival: keep the sign), lodgement → release, release → gate out", and "physical
inspection rate (window): declarations with channel ``RED`` ÷ declarations with any channel *
100".

The declaration's own events give lodgement, channel, inspections and release; arrival and gate
out belong to other entities (the call, the containers), so the caller passes them in — the batch
reference (:func:`hub.domain.kpis.reference.all_kpis`) computes them with :func:`gate_out_of` and
the call's T_af.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from hub.domain.kpis.events import effective_events
from hub.domain.kpis.measure import Entity
from hub.domain.kpis.model import EntityKind, KpiName, KpiValue
from schemas.models import Channel, CustomsEvent, CustomsKind, Regime

__all__ = [
    "declaration_containers",
    "declaration_kpis",
    "declaration_port_call",
    "gate_out_of",
    "release_of",
]


def release_of(events: Iterable[CustomsEvent]) -> datetime | None:
    """When the goods were released: the first RELEASED at or after the last HELD (the first
    RELEASED when never held). None while not released, or held again after the release."""
    counted = list(events)
    held = max((e.occurred_at for e in counted if e.kind is CustomsKind.HELD), default=None)
    return min(
        (
            e.occurred_at
            for e in counted
            if e.kind is CustomsKind.RELEASED and (held is None or e.occurred_at >= held)
        ),
        default=None,
    )


def declaration_port_call(events: Iterable[CustomsEvent]) -> str | None:
    """The ``port_call_id`` the declaration names: that of its latest event carrying one (a
    later event amends an earlier one)."""
    named = [e for e in effective_events(events) if e.port_call_id]
    return named[-1].port_call_id if named else None


def declaration_containers(events: Iterable[CustomsEvent]) -> list[str]:
    """Every container any event of the declaration lists, sorted."""
    return sorted({c for event in effective_events(events) for c in event.containers})


def gate_out_of(
    containers: Iterable[str], gate_outs: Mapping[str, Sequence[datetime]], since: datetime
) -> datetime | None:
    """When the declaration's goods left the terminal: the latest of its containers' gate-outs.

    For each container, its first GTOT at or after ``since`` (the declaration's arrival, else its
    first event), so that a gate-out of an earlier or a later visit of the same box at the port
    does not count. None until every container has gated out (the goods have left when the
    last box has), and None for a declaration without containers.

    Args:
        containers: the declaration's containers.
        gate_outs: GTOT times at the declaration's port, by container.
        since: the earliest time a gate-out of this declaration can have.
    """
    latest: datetime | None = None
    for container in containers:
        first = min((t for t in gate_outs.get(container, ()) if t >= since), default=None)
        if first is None:
            return None
        latest = first if latest is None else max(latest, first)
    return latest


def declaration_kpis(
    events: Sequence[CustomsEvent], arrival: datetime | None, gate_out: datetime | None
) -> list[KpiValue]:
    """Every KPI of ONE declaration (entity ``"{port}/{declaration_id}"``), sorted by name.

    Args:
        events: the declaration's customs events (duplicates and retractions applied here).
        arrival: the call's T_af (all fast), None if unknown.
        gate_out: when its goods left the terminal (:func:`gate_out_of`), None if not yet.

    KPIs (hours unless said otherwise; lodgement = the first LODGED, release = :func:`release_of`):

    - ``release_time_h`` = release - arrival, anchored at the release; emitted once the arrival
      is known, open until the release;
    - ``arrival_to_lodgement_h`` = lodgement - arrival, signed and never flagged (a lodgement
      before arrival is normal pre-arrival processing), anchored at the later of the two;
      emitted once lodged, open until the arrival is known;
    - ``lodgement_to_release_h`` = release - lodgement, anchored at the release;
    - ``release_to_gate_out_h`` = gate out - release, anchored at the gate out; emitted once
      released, for a declaration listing containers;
    - ``inspections_count`` = number of INSPECTION_FINISHED (unit ``count``), final at the
      release: open until then, anchored at the release;
    - ``physical_inspection_flag`` = 1.0 if any CHANNEL event says RED, 0.0 if a channel was
      assigned and none says RED, open while no channel; anchored at the last channel decision.
      The window mean * 100 is SPEC's physical inspection rate in %.

    An export declaration's goods arrive by road and leave on the vessel, so the vessel's T_af
    is not their arrival and the gate-out not their exit: for regime EXPORT only
    ``lodgement_to_release_h``, ``inspections_count`` and ``physical_inspection_flag`` are
    emitted. The regime is that of the latest event carrying one; unknown counts as import.

    Raises:
        ValueError: the events are of more than one (port, declaration_id).
    """
    counted = effective_events(events)
    declarations = {(e.port, e.declaration_id) for e in counted}
    if len(declarations) > 1:
        raise ValueError(f"events of more than one declaration: {sorted(declarations)}")
    if not counted:
        return []
    port, declaration_id = counted[0].port, counted[0].declaration_id
    entity = Entity(EntityKind.DECLARATION, f"{port}/{declaration_id}", port)
    regime = next((e.regime for e in reversed(counted) if e.regime is not None), None)
    by_road = regime is Regime.EXPORT
    lodged = min((e.occurred_at for e in counted if e.kind is CustomsKind.LODGED), default=None)
    release = release_of(counted)
    values: list[KpiValue] = []
    if arrival is not None and not by_road:
        values.append(entity.duration(KpiName.RELEASE_TIME_H, arrival, release))
    if lodged is not None:
        if not by_road:
            values.append(
                entity.duration(
                    KpiName.ARRIVAL_TO_LODGEMENT_H,
                    arrival,
                    lodged,
                    anchor=max(arrival, lodged) if arrival is not None else None,
                    signed=True,
                )
            )
        values.append(entity.duration(KpiName.LODGEMENT_TO_RELEASE_H, lodged, release))
    if release is not None and not by_road and any(e.containers for e in counted):
        values.append(entity.duration(KpiName.RELEASE_TO_GATE_OUT_H, release, gate_out))
    inspections = sum(1 for e in counted if e.kind is CustomsKind.INSPECTION_FINISHED)
    values.append(
        entity.value(
            KpiName.INSPECTIONS_COUNT, float(inspections) if release is not None else None, release
        )
    )
    channels = [e for e in counted if e.kind is CustomsKind.CHANNEL and e.channel is not None]
    red = any(e.channel is Channel.RED for e in channels)
    values.append(
        entity.value(
            KpiName.PHYSICAL_INSPECTION_FLAG,
            (1.0 if red else 0.0) if channels else None,
            channels[-1].occurred_at if channels else None,
        )
    )
    return sorted(values, key=lambda v: v.kpi)
