"""KPIs of one port call (SPEC §2), from its actual vessel timestamps and its vessel moves.

SPEC §2: "Use actual (``ACT``) timestamps. T_arr = earliest of ACT ARRI at PORT, ANCH or PBPL;
T_af = ACT ARRI at BRTH (all fast); T_fl / T_ll = ACT STRT / CMPL at BRTH; T_dep = ACT DEPA at
BRTH (last berth)." Planned, estimated and requested timestamps (PLN, EST, REQ) never count
in these times; the estimated arrivals are only compared with T_arr (:mod:`hub.domain.kpis.eta`).

A call's time at berth is a sequence of :class:`Stay`\\ s (one per berth when the vessel shifts),
built by :func:`stays_at`; T_af is the start of the first stay and T_dep the end of the last one,
so a call that has left its first berth for a second one has not departed yet.

Which value each KPI takes while the call is under way (SPEC §2: "a duration is emitted once its
two ends are known"; "Calls … still open … are reported as open"):

- a KPI appears once its *start* is known (waiting time once T_arr is, gross berth hours once
  T_af is, call size once the call has begun); until its end is known it is open (value None,
  flag ``OPEN``). A KPI whose start was never reported (a call first seen at the berth has no
  T_arr) is not emitted: it is not right-censored, it is unknown, and a late start brings it;
- the cargo KPIs (call size, crane and berth productivity, crane intensity) are final when the
  vessel leaves the berth, so they are open until T_dep and anchored at T_dep, like port hours:
  all of a call's productivity figures fall in the window of its departure;
- a ratio whose denominator is zero or cannot be measured is not emitted.

Timestamps with ``source = "AIS"`` (derived by the AIS connector from the ship's transponder) are
not the terminal's declaration and never enter the times above; they only check them: once a
call has both a declared and an AIS-derived ACT ARRI at PORT (the earliest of each),
``ais_arrival_gap_min`` = declared - AIS (signed, minutes) and ``arrival_mismatch_flag`` = 1.0
when its absolute value exceeds the tolerance (``HUB_AIS_ARRIVAL_TOLERANCE_MIN``), else 0.0; both
anchored at the AIS arrival. The window mean of the flag * 100 is the share of calls whose
declared arrival is off.

A call also has ``berth_hour`` values (:func:`call_berth_hours`): the hours it occupied a berth in
each UTC hour, which the port windows sum into berth occupancy. A stay still open counts up to
the call's latest actual event (the vessel was at the berth at least that long), so occupancy
grows while the vessel works and becomes exact when it leaves.

A call's emissions at anchorage and at berth: :mod:`hub.domain.kpis.emissions`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from hub.domain.kpis.emissions import call_emission_kpis
from hub.domain.kpis.eta import eta_kpis
from hub.domain.kpis.events import effective_events
from hub.domain.kpis.measure import Entity, hours
from hub.domain.kpis.model import EntityKind, KpiName, KpiValue
from schemas.models import CargoEvent, Classifier, Facility, Move, Operation, VesselEvent

__all__ = [
    "AIS_SOURCE",
    "CALL_MOVES",
    "DEFAULT_ARRIVAL_TOLERANCE",
    "CallCargo",
    "CallTimeline",
    "CraneWork",
    "Stay",
    "berth_hours",
    "call_berth_hours",
    "call_cargo",
    "call_timeline",
    "call_values",
    "crane_hours",
    "crane_hours_of",
    "port_call_kpis",
    "stays_at",
]

CALL_MOVES: Final = frozenset({Move.DISC, Move.LOAD, Move.RSTW})
"""Moves that belong to a port call (SPEC §2 "call size": DISC + LOAD + RSTW)."""

AIS_SOURCE: Final = "AIS"
"""``source`` of the vessel events the AIS connector derives (checks, not declarations)."""
DEFAULT_ARRIVAL_TOLERANCE: Final = timedelta(minutes=30)
"""How far a declared arrival may be from the AIS-derived one before the call is flagged."""

_ARRIVAL_FACILITIES: Final = frozenset({Facility.PORT, Facility.ANCH, Facility.PBPL})
_ONE_HOUR: Final = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class Stay:
    """One uninterrupted stay at a facility, from an actual arrival to the departure ending it."""

    start: datetime
    end: datetime | None
    """None: the vessel is still there."""
    berth_id: str | None

    @property
    def negative(self) -> bool:
        """The stay ends before it starts (a wrong timestamp)."""
        return self.end is not None and self.end < self.start


def stays_at(events: Iterable[VesselEvent], facility: Facility) -> list[Stay]:
    """The stays at ``facility`` (BRTH or ANCH) that the ACT ARRI and DEPA there describe.

    Walking the events in time order (at equal times an arrival before a departure):

    - an arrival starts a stay; another arrival while a stay is open is a repeated report of the
      same arrival (another source) and is ignored, unless it is at another berth: then the
      vessel has shifted without its departure being reported, and the open stay ends at that
      arrival (the shifting time counts as on berth: an upper bound);
    - a departure ends the open stay; a departure with no open stay repeats an earlier one and
      is ignored;
    - a departure earlier than every arrival, when nothing departs after the last arrival, is
      taken as the departure of the last stay: a wrong timestamp, which makes the stay negative
      (flagged ``NEGATIVE_INTERVAL``) rather than the call open for ever.

    Events of other classifiers, operations or facilities are ignored.
    """
    relevant = sorted(
        (
            event
            for event in events
            if event.classifier is Classifier.ACT
            and event.facility is facility
            and event.operation in (Operation.ARRI, Operation.DEPA)
        ),
        key=lambda e: (e.occurred_at, e.operation is Operation.DEPA, str(e.event_id)),
    )
    stays: list[Stay] = []
    start: datetime | None = None
    berth: str | None = None
    early_departure: datetime | None = None
    for event in relevant:
        if event.operation is Operation.ARRI:
            if start is None:
                start, berth = event.occurred_at, event.berth_id
            elif event.berth_id and berth and event.berth_id != berth:
                stays.append(Stay(start, event.occurred_at, berth))
                start, berth = event.occurred_at, event.berth_id
        elif start is not None:
            stays.append(Stay(start, event.occurred_at, berth))
            start = None
        elif not stays:
            early_departure = event.occurred_at
    if start is not None:
        stays.append(Stay(start, early_departure, berth))
    return stays


@dataclass(frozen=True, slots=True)
class CallTimeline:
    """The SPEC §2 times of one call (None: not reported yet)."""

    arrival: datetime | None
    """T_arr: earliest ACT ARRI at PORT, ANCH or PBPL."""
    all_fast: datetime | None
    """T_af: ACT ARRI at the first berth."""
    first_lift: datetime | None
    """T_fl: earliest ACT STRT at BRTH."""
    last_lift: datetime | None
    """T_ll: latest ACT CMPL at BRTH."""
    departure: datetime | None
    """T_dep: ACT DEPA from the last berth; None while the vessel is at a berth."""
    berth_stays: tuple[Stay, ...]
    anchorage_stays: tuple[Stay, ...]
    has_actuals: bool
    """At least one ACT timestamp: the call has begun."""


def call_timeline(vessel_events: Iterable[VesselEvent]) -> CallTimeline:
    """The timeline of one call from its declared vessel events (duplicates and retractions
    applied; AIS-derived events left out)."""
    actual = [
        e
        for e in effective_events(vessel_events)
        if e.classifier is Classifier.ACT and e.source != AIS_SOURCE
    ]
    berth = stays_at(actual, Facility.BRTH)
    return CallTimeline(
        arrival=min(
            (
                e.occurred_at
                for e in actual
                if e.operation is Operation.ARRI and e.facility in _ARRIVAL_FACILITIES
            ),
            default=None,
        ),
        all_fast=berth[0].start if berth else None,
        first_lift=min(_times(actual, Operation.STRT), default=None),
        last_lift=max(_times(actual, Operation.CMPL), default=None),
        departure=berth[-1].end if berth else None,
        berth_stays=tuple(berth),
        anchorage_stays=tuple(stays_at(actual, Facility.ANCH)),
        has_actuals=bool(actual),
    )


@dataclass(frozen=True, slots=True)
class CraneWork:
    """What the crane KPIs read of one crane's moves in a call."""

    moves: int
    first: datetime
    """The time of its first move."""
    last: datetime
    """The time of its last move."""


@dataclass(frozen=True, slots=True)
class CallCargo:
    """What a call's KPIs read of its moves: the batch reference builds it from the moves
    (:func:`call_cargo`), the incremental state (:mod:`hub.domain.kpis.incremental`) keeps it
    up to date move by move; the formulas are the same."""

    size: int
    """Number of moves (DISC + LOAD + RSTW)."""
    cranes: tuple[CraneWork, ...]
    """One entry per crane that moved a box (moves without ``crane_id`` are not crane moves)."""
    last_move: datetime | None
    """The time of the latest move (None without moves)."""

    @property
    def crane_moves(self) -> int:
        """Σ moves of the cranes."""
        return sum(crane.moves for crane in self.cranes)


def call_cargo(moves: Iterable[CargoEvent]) -> CallCargo:
    """The :class:`CallCargo` of ``moves`` (all of them count: the caller filters)."""
    size = 0
    last_move: datetime | None = None
    cranes: dict[str, tuple[int, datetime, datetime]] = {}
    for move in moves:
        size += 1
        at = move.occurred_at
        last_move = at if last_move is None else max(last_move, at)
        if move.crane_id:
            n, first, last = cranes.get(move.crane_id, (0, at, at))
            cranes[move.crane_id] = (n + 1, min(first, at), max(last, at))
    works = tuple(CraneWork(n, first, last) for n, first, last in cranes.values())
    return CallCargo(size, works, last_move)


def crane_hours(moves: Iterable[CargoEvent]) -> float | None:
    """Σ crane working hours of a call's moves: :func:`crane_hours_of` their cranes."""
    return crane_hours_of(call_cargo(moves).cranes)


def crane_hours_of(cranes: Iterable[CraneWork]) -> float | None:
    """Σ crane working hours of a call's cranes (SPEC §2: "per crane: its last move - its first
    move in the call, plus one average cycle").

    A crane's average cycle is its (last - first) ÷ (moves - 1), so a crane with n ≥ 2 moves
    works (last - first) * n ÷ (n - 1) hours. A crane with a single move has no cycle of its
    own: it counts one average cycle of the call's other cranes (their Σ (last - first) ÷
    Σ (moves - 1)), so that its move is neither lost nor free. None when no crane made two
    moves (no cycle can be measured). The sums are exact (``math.fsum``), so the order of the
    cranes does not matter.
    """
    works = list(cranes)
    spans = [(w.moves, hours(w.last - w.first)) for w in works if w.moves > 1]
    if not spans:
        return None
    single_move_cranes = len(works) - len(spans)
    average_cycle = math.fsum(span for _, span in spans) / sum(n - 1 for n, _ in spans)
    return math.fsum(
        [*(span * n / (n - 1) for n, span in spans), single_move_cranes * average_cycle]
    )


def port_call_kpis(
    vessel_events: Sequence[VesselEvent],
    moves: Sequence[CargoEvent],
    arrival_tolerance: timedelta = DEFAULT_ARRIVAL_TOLERANCE,
) -> list[KpiValue]:
    """Every KPI of ONE port call, sorted by name (see the module docstring for open values).

    Args:
        vessel_events: the call's vessel events (any classifier; only ACT counts).
        moves: the call's cargo moves; DISC, LOAD and RSTW count, other moves are ignored.
        arrival_tolerance: the gap between declared and AIS arrival that flags the call.

    Duplicates count once and retracted events are removed first (:func:`effective_events`).
    A call that has neither an ACT timestamp nor a move has not begun: no KPI.

    Raises:
        ValueError: the events belong to more than one (port, port_call_id).
    """
    call = _begun_call(vessel_events, moves)
    if call is None:
        return []
    return _call_kpis(call, arrival_tolerance)


def call_berth_hours(
    vessel_events: Sequence[VesselEvent], moves: Sequence[CargoEvent]
) -> list[KpiValue]:
    """The :func:`berth_hours` of ONE port call, from the same events as :func:`port_call_kpis`
    (its latest actual event or move bounds a stay still open)."""
    call = _begun_call(vessel_events, moves)
    if call is None:
        return []
    return berth_hours(call.entity, call.timeline.berth_stays, call.last_seen)


def call_values(
    port: str,
    port_call_id: str,
    vessel_events: Sequence[VesselEvent],
    cargo: CallCargo,
    arrival_tolerance: timedelta = DEFAULT_ARRIVAL_TOLERANCE,
) -> list[KpiValue]:
    """:func:`port_call_kpis` then :func:`call_berth_hours` of ONE call, from its counted vessel
    events (duplicates and retractions already applied) and its moves' :class:`CallCargo`.

    What the incremental state computes a call with, without going over its moves.
    """
    call = _begun(port, port_call_id, vessel_events, cargo)
    if call is None:
        return []
    return _call_kpis(call, arrival_tolerance) + berth_hours(
        call.entity, call.timeline.berth_stays, call.last_seen
    )


def _call_kpis(call: _BegunCall, arrival_tolerance: timedelta) -> list[KpiValue]:
    values = _time_kpis(call.entity, call.timeline)
    values += _cargo_kpis(call.entity, call.timeline, call.cargo)
    values += _arrival_check(call.entity, call.vessel_events, arrival_tolerance)
    values += call_emission_kpis(call.entity, call.timeline, call.vessel_events)
    values += eta_kpis(call.entity, call.timeline.arrival, call.vessel_events)
    return sorted(values, key=lambda v: v.kpi)


@dataclass(frozen=True, slots=True)
class _BegunCall:
    entity: Entity
    timeline: CallTimeline
    vessel_events: Sequence[VesselEvent]
    """Declared and AIS-derived, duplicates and retractions applied."""
    cargo: CallCargo
    last_seen: datetime | None
    """The latest ACT vessel event or move."""


def _begun_call(
    vessel_events: Sequence[VesselEvent], moves: Sequence[CargoEvent]
) -> _BegunCall | None:
    # Retractions first, filter after: a correction may turn a DISC into a move of no call.
    given: list[VesselEvent | CargoEvent] = [*vessel_events, *moves]
    counted = [
        e for e in effective_events(given) if isinstance(e, VesselEvent) or e.move in CALL_MOVES
    ]
    calls = {(e.port, e.port_call_id) for e in counted}
    if len(calls) > 1:
        raise ValueError(f"events of more than one port call: {sorted(map(str, calls))}")
    if not calls:
        return None
    port, call_id = next(iter(calls))
    vessel = [e for e in counted if isinstance(e, VesselEvent)]
    cargo = call_cargo(e for e in counted if isinstance(e, CargoEvent))
    return _begun(port, call_id, vessel, cargo)


def _begun(
    port: str, call_id: str | None, vessel: Sequence[VesselEvent], cargo: CallCargo
) -> _BegunCall | None:
    timeline = call_timeline(vessel)
    if not timeline.has_actuals and not cargo.size:
        return None
    declared = [
        e.occurred_at for e in vessel if e.classifier is Classifier.ACT and e.source != AIS_SOURCE
    ]
    if cargo.last_move is not None:
        declared.append(cargo.last_move)
    last_seen = max(declared, default=None)
    entity = Entity(EntityKind.PORT_CALL, f"{port}/{call_id}", port)
    return _BegunCall(entity, timeline, vessel, cargo, last_seen)


def berth_hours(call: Entity, stays: Iterable[Stay], last_seen: datetime | None) -> list[KpiValue]:
    """The hours ``call`` occupied a berth in each UTC hour: one ``berth_hours_h`` value per hour
    (entity kind ``berth_hour``, id ``"{call id}/{YYYY-MM-DDTHH}"``, anchored at the hour's
    start), the sum over the call's berth stays (SPEC §2 berth occupancy: "Σ hours berths were
    occupied").

    A stay still open counts up to ``last_seen``, the call's latest actual event or move (a
    lower bound: the vessel was at the berth at least until then); a negative stay (a wrong
    timestamp) counts nothing. Hours with no time at a berth have no value.
    """
    occupied: dict[datetime, float] = {}
    for stay in stays:
        end = stay.end if stay.end is not None else last_seen
        if end is None or stay.negative:
            continue
        hour = stay.start.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        while hour < end:
            following = hour + _ONE_HOUR
            overlap = min(end, following) - max(stay.start, hour)
            if overlap > timedelta(0):
                occupied[hour] = occupied.get(hour, 0.0) + hours(overlap)
            hour = following
    return [
        Entity(EntityKind.BERTH_HOUR, f"{call.id}/{hour:%Y-%m-%dT%H}", call.port).value(
            KpiName.BERTH_HOURS_H, value, hour
        )
        for hour, value in sorted(occupied.items())
    ]


def _time_kpis(entity: Entity, t: CallTimeline) -> list[KpiValue]:
    values: list[KpiValue] = []
    if t.arrival is not None:
        # SPEC: waiting time (pre-berthing) = T_af - T_arr; port-to-berth = T_af - T_arr too.
        values.append(entity.duration(KpiName.WAITING_TIME_H, t.arrival, t.all_fast))
        values.append(entity.duration(KpiName.PORT_TO_BERTH_H, t.arrival, t.all_fast))
        # SPEC: port hours per call (CPPI) = T_dep - T_arr ("steaming out excluded").
        values.append(entity.duration(KpiName.PORT_HOURS_H, t.arrival, t.departure))
    if t.all_fast is not None:
        # SPEC: gross berth hours = T_dep - T_af, "no delays deducted".
        values.append(entity.duration(KpiName.GROSS_BERTH_H, t.all_fast, t.departure))
        # SPEC: on-berth = T_dep - T_af; "berth shifts: sum each berth segment".
        values.append(_stays_total(entity, KpiName.ON_BERTH_H, t.berth_stays))
    if t.anchorage_stays:
        # SPEC: anchorage time = ACT DEPA ANCH - ACT ARRI ANCH "when both exist"; each stay at
        # anchorage counts (a vessel may anchor again, e.g. between two berths).
        values.append(_stays_total(entity, KpiName.ANCHORAGE_TIME_H, t.anchorage_stays))
    return values


def _arrival_check(
    entity: Entity, vessel_events: Sequence[VesselEvent], tolerance: timedelta
) -> list[KpiValue]:
    declared: list[datetime] = []
    observed: list[datetime] = []
    for event in vessel_events:
        if (event.classifier, event.operation, event.facility) == (
            Classifier.ACT,
            Operation.ARRI,
            Facility.PORT,
        ):
            (observed if event.source == AIS_SOURCE else declared).append(event.occurred_at)
    if not declared or not observed:
        return []
    ais_arrival = min(observed)
    gap = min(declared) - ais_arrival
    return [
        entity.value(KpiName.AIS_ARRIVAL_GAP_MIN, gap.total_seconds() / 60, ais_arrival),
        entity.value(KpiName.ARRIVAL_MISMATCH_FLAG, float(abs(gap) > tolerance), ais_arrival),
    ]


def _stays_total(entity: Entity, kpi: KpiName, stays: Sequence[Stay]) -> KpiValue:
    """Σ of the stays' durations, anchored at the end of the last; open while one is open."""
    if not stays or any(stay.end is None for stay in stays):
        return entity.open(kpi)
    total = math.fsum(hours(stay.end - stay.start) for stay in stays if stay.end is not None)
    return entity.value(kpi, total, stays[-1].end, negative=any(s.negative for s in stays))


def _cargo_kpis(entity: Entity, t: CallTimeline, cargo: CallCargo) -> list[KpiValue]:
    departed = t.departure
    # SPEC: call size = number of DISC + LOAD + RSTW moves of the call.
    size = cargo.size
    values = [
        entity.value(
            KpiName.CALL_SIZE_MOVES, float(size) if departed is not None else None, departed
        )
    ]
    if t.all_fast is not None:
        # SPEC: berth productivity = call size ÷ gross berth hours.
        if departed is None:
            values.append(entity.open(KpiName.BERTH_PRODUCTIVITY_MOVES_PER_H))
        elif (berth_h := hours(departed - t.all_fast)) != 0:
            values.append(
                entity.value(
                    KpiName.BERTH_PRODUCTIVITY_MOVES_PER_H,
                    size / berth_h,
                    departed,
                    negative=berth_h < 0,
                )
            )
    crane_moves = cargo.crane_moves
    if not crane_moves:
        return values
    if departed is None:
        values.append(entity.open(KpiName.GROSS_CRANE_PRODUCTIVITY_MOVES_PER_H))
        values.append(entity.open(KpiName.CRANE_INTENSITY_CRANES))
        return values
    work_h = crane_hours_of(cargo.cranes)
    if work_h:
        # SPEC: gross crane productivity = Σ moves of STS cranes ÷ Σ crane working hours.
        values.append(
            entity.value(
                KpiName.GROSS_CRANE_PRODUCTIVITY_MOVES_PER_H, crane_moves / work_h, departed
            )
        )
    # SPEC: crane intensity = Σ crane working hours ÷ (T_ll - T_fl).
    if t.first_lift is None or t.last_lift is None:
        values.append(entity.open(KpiName.CRANE_INTENSITY_CRANES))
    elif work_h and (operations_h := hours(t.last_lift - t.first_lift)) != 0:
        values.append(
            entity.value(
                KpiName.CRANE_INTENSITY_CRANES,
                work_h / operations_h,
                departed,
                negative=operations_h < 0,
            )
        )
    return values


def _times(events: Iterable[VesselEvent], operation: Operation) -> list[datetime]:
    return [
        e.occurred_at for e in events if e.operation is operation and e.facility is Facility.BRTH
    ]
