"""KPI coverage: which KPIs a feed allows, for how many entities, and why not the others.

The batch reference (:func:`hub.domain.kpis.all_kpis`, the hub's one definition of its KPIs)
runs on the events the hub would accept; each KPI is *allowed* when at least one entity has a
value that is neither open nor flagged. A KPI the feed does not allow is explained by the kinds
of event it needs that the feed has none of (:data:`NEEDS`), or, when the feed has them all, by
its entities being open (an end beyond the feed) or flagged.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Final

from hub.domain.conformance.model import KpiCoverage
from hub.domain.kpis import UNITS, KpiFlag, KpiName, KpiValue, all_kpis
from hub.domain.kpis.port_calls import AIS_SOURCE
from schemas.models import (
    CargoEvent,
    Classifier,
    CustomsEvent,
    CustomsKind,
    Envelope,
    Facility,
    Move,
    Operation,
    VesselEvent,
)

__all__ = ["NEEDS", "event_kinds", "kpi_coverage"]

ARRIVAL = "vessel ACT ARRI at PORT, PBPL or ANCH"
ALL_FAST = "vessel ACT ARRI at BRTH"
FIRST_LIFT = "vessel ACT STRT at BRTH"
LAST_LIFT = "vessel ACT CMPL at BRTH"
DEPARTURE = "vessel ACT DEPA at BRTH"
ANCHORED = "vessel ACT ARRI at ANCH"
WEIGHED = "vessel ACT DEPA at ANCH"
AIS_ARRIVAL = "vessel ACT ARRI at PORT with source AIS (the hub's AIS connector derives it)"
DECLARED_PORT_ARRIVAL = "vessel ACT ARRI at PORT (declared)"
ESTIMATED_ARRIVAL = "vessel EST ARRI at PORT, PBPL or ANCH (declared, published before the arrival)"
CALL_MOVE = "cargo DISC, LOAD or RSTW with port_call_id"
CRANE_MOVE = "cargo DISC, LOAD or RSTW with crane_id"
THROUGHPUT_MOVE = "cargo DISC or LOAD"
DISCHARGE = "cargo DISC"
LOADING = "cargo LOAD"
GATE_IN = "cargo GTIN with truck_visit_id"
GATE_OUT = "cargo GTOT with truck_visit_id"
LODGED = "customs LODGED"
CHANNEL = "customs CHANNEL"
INSPECTED = "customs INSPECTION_FINISHED"
RELEASED = "customs RELEASED"
LINKED = "customs event with port_call_id or containers"

NEEDS: Final[Mapping[KpiName, tuple[str, ...]]] = {
    KpiName.WAITING_TIME_H: (ARRIVAL, ALL_FAST),
    KpiName.ANCHORAGE_TIME_H: (ANCHORED, WEIGHED),
    KpiName.PORT_HOURS_H: (ARRIVAL, DEPARTURE),
    KpiName.PORT_TO_BERTH_H: (ARRIVAL, ALL_FAST),
    KpiName.ON_BERTH_H: (ALL_FAST, DEPARTURE),
    KpiName.GROSS_BERTH_H: (ALL_FAST, DEPARTURE),
    KpiName.CALL_SIZE_MOVES: (CALL_MOVE, ALL_FAST, DEPARTURE),
    KpiName.GROSS_CRANE_PRODUCTIVITY_MOVES_PER_H: (CRANE_MOVE, ALL_FAST, DEPARTURE),
    KpiName.BERTH_PRODUCTIVITY_MOVES_PER_H: (CALL_MOVE, ALL_FAST, DEPARTURE),
    KpiName.CRANE_INTENSITY_CRANES: (CRANE_MOVE, FIRST_LIFT, LAST_LIFT, DEPARTURE),
    KpiName.BERTH_HOURS_H: (ALL_FAST,),
    KpiName.AIS_ARRIVAL_GAP_MIN: (DECLARED_PORT_ARRIVAL, AIS_ARRIVAL),
    KpiName.ARRIVAL_MISMATCH_FLAG: (DECLARED_PORT_ARRIVAL, AIS_ARRIVAL),
    # Emissions: the berth stays (the anchorage ones are 0 t when there are none).
    KpiName.CO2_ANCHORAGE_T: (ALL_FAST, DEPARTURE),
    KpiName.CO2_BERTH_T: (ALL_FAST, DEPARTURE),
    KpiName.CO2_T: (ALL_FAST, DEPARTURE),
    KpiName.CO2_AVOIDABLE_T: (ALL_FAST, DEPARTURE),
    KpiName.SOX_T: (ALL_FAST, DEPARTURE),
    KpiName.CO2_SIZE_ASSUMED_FLAG: (ALL_FAST, DEPARTURE),
    KpiName.ETA_ERROR_H: (ESTIMATED_ARRIVAL, ARRIVAL),
    KpiName.ETA_ABS_ERROR_H: (ESTIMATED_ARRIVAL, ARRIVAL),
    KpiName.ETA_ERROR_24H_H: (ESTIMATED_ARRIVAL, ARRIVAL),
    KpiName.ETA_ABS_ERROR_24H_H: (ESTIMATED_ARRIVAL, ARRIVAL),
    KpiName.ETA_ERROR_72H_H: (ESTIMATED_ARRIVAL, ARRIVAL),
    KpiName.ETA_ABS_ERROR_72H_H: (ESTIMATED_ARRIVAL, ARRIVAL),
    KpiName.DWELL_DAYS: (DISCHARGE, GATE_OUT, GATE_IN, LOADING),
    KpiName.TRUCK_TURNAROUND_MIN: (GATE_IN, GATE_OUT),
    KpiName.THROUGHPUT_TEU: (THROUGHPUT_MOVE,),
    KpiName.THROUGHPUT_T: (THROUGHPUT_MOVE,),
    KpiName.RELEASE_TIME_H: (ALL_FAST, LINKED, RELEASED),
    KpiName.ARRIVAL_TO_LODGEMENT_H: (ALL_FAST, LINKED, LODGED),
    KpiName.LODGEMENT_TO_RELEASE_H: (LODGED, RELEASED),
    KpiName.RELEASE_TO_GATE_OUT_H: (RELEASED, LINKED, GATE_OUT),
    KpiName.INSPECTIONS_COUNT: (INSPECTED, RELEASED),
    KpiName.PHYSICAL_INSPECTION_FLAG: (CHANNEL,),
}
"""The kinds of event each per-entity KPI needs (SPEC §2). Dwell needs one of its trades' pairs
(DISC→GTOT, GTIN→LOAD, DISC→LOAD); it is explained by the pairs the feed lacks."""

_DWELL_PAIRS: Final = ((DISCHARGE, GATE_OUT), (GATE_IN, LOADING), (DISCHARGE, LOADING))
_WINDOW_ONLY: Final = {KpiName.BERTH_OCCUPANCY_PCT: KpiName.BERTH_HOURS_H}
"""KPIs computed only for port windows, from another KPI's values."""


def event_kinds(event: Envelope) -> set[str]:
    """The kinds of :data:`NEEDS` that ``event`` is."""
    kinds: set[str] = set()
    if isinstance(event, VesselEvent):
        at, what = event.facility, event.operation
        if event.classifier is Classifier.EST:
            # The ETA KPIs' estimates (hub.domain.kpis.eta); whether one was published early
            # enough for a horizon is the values' question.
            arriving = at in (Facility.PORT, Facility.PBPL, Facility.ANCH)
            if what is Operation.ARRI and arriving and event.source != AIS_SOURCE:
                kinds.add(ESTIMATED_ARRIVAL)
            return kinds
        if event.classifier is not Classifier.ACT:
            return kinds
        if event.source == AIS_SOURCE:
            if what is Operation.ARRI and at is Facility.PORT:
                kinds.add(AIS_ARRIVAL)
            return kinds
        if what is Operation.ARRI:
            if at is Facility.BRTH:
                kinds.add(ALL_FAST)
            else:
                kinds.add(ARRIVAL)
            if at is Facility.ANCH:
                kinds.add(ANCHORED)
            if at is Facility.PORT:
                kinds.add(DECLARED_PORT_ARRIVAL)
        elif what is Operation.DEPA:
            kinds.add(DEPARTURE if at is Facility.BRTH else WEIGHED if at is Facility.ANCH else "")
        elif at is Facility.BRTH:
            kinds.add(FIRST_LIFT if what is Operation.STRT else LAST_LIFT)
        kinds.discard("")
    elif isinstance(event, CargoEvent):
        move = event.move
        if move in (Move.DISC, Move.LOAD, Move.RSTW):
            if event.port_call_id:
                kinds.add(CALL_MOVE)
            if event.crane_id:
                kinds.add(CRANE_MOVE)
        if move in (Move.DISC, Move.LOAD):
            kinds.add(THROUGHPUT_MOVE)
            kinds.add(DISCHARGE if move is Move.DISC else LOADING)
        if move is Move.GTIN and event.truck_visit_id:
            kinds.add(GATE_IN)
        if move is Move.GTOT and event.truck_visit_id:
            kinds.add(GATE_OUT)
    elif isinstance(event, CustomsEvent):
        kinds.add(f"customs {event.kind.value}")
        if event.kind is CustomsKind.CHANNEL and event.channel is None:
            kinds.discard(CHANNEL)
        if event.port_call_id or event.containers:
            kinds.add(LINKED)
    return kinds


def kpi_coverage(events: Sequence[Envelope]) -> list[KpiCoverage]:
    """Each KPI's coverage by ``events`` (accepted ones), in :class:`KpiName` order."""
    values = all_kpis(events)
    present: set[str] = set()
    for event in events:
        present |= event_kinds(event)
    rows = []
    for kpi in KpiName:
        source = _WINDOW_ONLY.get(kpi, kpi)
        counted = _count(v for v in values if v.kpi == source.value)
        entities, open_, flagged = counted
        missing = _missing(source, present)
        why = ""
        if entities == 0:
            why = _why(kpi, source, missing, open_, flagged)
        rows.append(
            KpiCoverage(kpi.value, UNITS[kpi].value, entities, open_, flagged, missing, why)
        )
    return rows


def _count(values: Iterable[KpiValue]) -> tuple[int, int, int]:
    entities = open_ = flagged = 0
    for value in values:
        if value.flag == KpiFlag.OPEN.value or value.value is None:
            open_ += 1
        elif value.flag is not None:
            flagged += 1
        else:
            entities += 1
    return entities, open_, flagged


def _missing(kpi: KpiName, present: set[str]) -> tuple[str, ...]:
    if kpi is KpiName.DWELL_DAYS:
        if any(all(kind in present for kind in pair) for pair in _DWELL_PAIRS):
            return ()
        return tuple(k for k in NEEDS[kpi] if k not in present)
    return tuple(k for k in NEEDS[kpi] if k not in present)


def _why(kpi: KpiName, source: KpiName, missing: tuple[str, ...], open_: int, flagged: int) -> str:
    prefix = f"computed from {source.value} (port windows only); " if kpi is not source else ""
    if missing:
        return prefix + "the feed has no " + "; no ".join(missing)
    parts = []
    if open_:
        parts.append(f"{open_} entities are open (an end lies beyond the feed)")
    if flagged:
        parts.append(f"{flagged} values are flagged (negative interval)")
    if not parts:
        parts.append("no entity of the feed has both ends of it (e.g. events not linked)")
    return prefix + "; ".join(parts)
