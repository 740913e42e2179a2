"""KPIs of cargo: container visits (dwell), truck visits (turnaround) and moves (throughput).

A container's events at a port are split into *visits* (:func:`container_visits`): one stay of
the box at the terminal, from its arrival (discharge or gate in) to its departure (load or gate
out). SPEC §2 measures each visit's dwell by trade, each truck visit's turnaround between its
gate transactions, and throughput from every discharge and load.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Final, Protocol, TypeVar

from hub.domain.kpis.events import effective_events
from hub.domain.kpis.measure import Entity
from hub.domain.kpis.model import EntityKind, KpiName, KpiValue
from schemas.models import CargoEvent, Move, Trade

__all__ = [
    "THROUGHPUT_MOVES",
    "CargoMove",
    "container_visit_kpis",
    "container_visits",
    "counted_visit_kpis",
    "counted_visits",
    "move_kpis",
    "teu",
    "throughput_values",
    "truck_visit_kpis",
]

THROUGHPUT_MOVES: Final = frozenset({Move.DISC, Move.LOAD})
"""SPEC §2 throughput: "DISC + LOAD (laden and empty; transshipment counts twice; restows
excluded)"."""

_ARRIVALS: Final = frozenset({Move.DISC, Move.GTIN})
_DEPARTURES: Final = frozenset({Move.LOAD, Move.GTOT})
# SPEC §2 container dwell: "import: GTOT - DISC · export: LOAD - GTIN · transshipment: LOAD - DISC".
_DWELL_MOVES: Final = {
    Trade.IMPORT: (Move.DISC, Move.GTOT),
    Trade.EXPORT: (Move.GTIN, Move.LOAD),
    Trade.TRANSSHIPMENT: (Move.DISC, Move.LOAD),
}

# SPEC §1.3: "TEU = 1 for length code 2, 2 for 4/L". The other ISO 6346 length codes are the
# hub's choice: a length over 20 ft, by twenty feet (10 ft 0.5, 30 ft 1.5), and every box of
# 40 ft or longer 2 TEU as SPEC counts 45 ft (and as UNCTAD's port statistics do); the 7.15-8.10 m
# swap-body lengths (A-F) count as one 20 ft slot.
_TEU_BY_LENGTH_CODE: Final = {
    "1": 0.5,  # 10 ft (2,991 mm)
    "2": 1.0,  # 20 ft (6,068 mm) — SPEC
    "3": 1.5,  # 30 ft (9,125 mm)
    "4": 2.0,  # 40 ft (12,192 mm) — SPEC
    **dict.fromkeys("ABCDEF", 1.0),  # 7,150-8,100 mm
    **dict.fromkeys("GHK", 2.0),  # 41 ft, 43 ft, 13,600 mm
    "L": 2.0,  # 45 ft (13,716 mm) — SPEC
    **dict.fromkeys("MNP", 2.0),  # 48 ft, 49 ft, 53 ft
}
UNKNOWN_LENGTH_TEU: Final = 1.0
"""TEU of a length code ISO 6346 does not assign: one slot, so the move is not lost from
throughput (the model only checks the size type's form)."""


def teu(iso_size_type: str) -> float:
    """Twenty-foot equivalent units of a box, from the length code (first character) of its ISO
    6346 size-type code (``22G1`` → 1, ``45G1`` → 2, ``L5G1`` → 2; see the table above)."""
    return _TEU_BY_LENGTH_CODE.get(iso_size_type[:1], UNKNOWN_LENGTH_TEU)


class CargoMove(Protocol):
    """What the container-visit functions read of a cargo event: a :class:`CargoEvent`, or the
    compact record the incremental state keeps of one (:mod:`hub.domain.kpis.incremental`)."""

    @property
    def occurred_at(self) -> datetime: ...
    @property
    def port(self) -> str: ...
    @property
    def container(self) -> str: ...
    @property
    def move(self) -> Move: ...
    @property
    def trade(self) -> Trade | None: ...


_M = TypeVar("_M", bound=CargoMove)


def container_visits(events: Iterable[CargoEvent]) -> list[list[CargoEvent]]:
    """The visits of one container at one port, in time order (visit n is ``[n - 1]``).

    The events (duplicates and retractions applied) are sorted by ``occurred_at``, ties by
    ``event_id``. A visit starts at its first event; a new visit starts at a DISC or GTIN that
    comes after a LOAD or GTOT of the current visit. Other events (YARD, RSTW, a second
    departure report) stay in the visit they follow. Hence, within a visit, every arrival
    precedes every departure, and a dwell can never be negative.

    Raises:
        ValueError: the events are of more than one (port, container).
    """
    counted = effective_events(events)
    pairs = {(e.port, e.container) for e in counted}
    if len(pairs) > 1:
        raise ValueError(f"events of more than one (port, container): {sorted(pairs)}")
    return counted_visits(counted)


def counted_visits(counted: Sequence[_M]) -> list[list[_M]]:
    """:func:`container_visits` of events already counted (duplicates and retractions applied)
    and in event order (:func:`~hub.domain.kpis.events.event_order`)."""
    visits: list[list[_M]] = []
    departed = False
    for event in counted:
        if not visits or (departed and event.move in _ARRIVALS):
            visits.append([])
            departed = False
        visits[-1].append(event)
        departed = departed or event.move in _DEPARTURES
    return visits


def container_visit_kpis(visit: Sequence[CargoEvent], *, ordinal: int = 1) -> list[KpiValue]:
    """``dwell_days`` of one container visit (entity ``"{port}/{container}/{ordinal}"``).

    SPEC §2: container dwell = "import: GTOT - DISC · export: LOAD - GTIN · transshipment:
    LOAD - DISC", in days, anchored at the end event (the time the box left).

    The trade is the ``trade`` of the visit's latest event that carries one (later knowledge
    wins); the start is the visit's first event of the trade's start move, the end its first
    event of the trade's end move.
    Without a ``trade``, it is inferred from the ends that exist: DISC then GTOT import, GTIN
    then LOAD export, DISC then LOAD transshipment; a visit that so far only began (a DISC or a
    GTIN) is open. Nothing is emitted when the start move is missing (a visit first seen at its
    departure, or a stray YARD move) or for a GTIN then GTOT visit (in and out by road: none of
    SPEC's three trades).

    Args:
        visit: the events of one visit (from :func:`container_visits`).
        ordinal: the visit's 1-based position among the container's visits at the port.
    """
    return counted_visit_kpis(effective_events(visit), ordinal=ordinal)


def counted_visit_kpis(visit: Sequence[CargoMove], *, ordinal: int = 1) -> list[KpiValue]:
    """:func:`container_visit_kpis` of a visit from :func:`counted_visits`."""
    ends = _dwell_ends(visit)
    if ends is None:
        return []
    start, end = ends
    port, container = start.port, start.container
    entity = Entity(EntityKind.CONTAINER_VISIT, f"{port}/{container}/{ordinal}", port)
    return [
        entity.duration(
            KpiName.DWELL_DAYS, start.occurred_at, end.occurred_at if end is not None else None
        )
    ]


def _dwell_ends(visit: Sequence[_M]) -> tuple[_M, _M | None] | None:
    """The start and end (None: not yet) of a visit's dwell; None if it has no dwell."""
    trade = next((e.trade for e in reversed(visit) if e.trade is not None), None)
    if trade is None:
        start = next((e for e in visit if e.move in _ARRIVALS), None)
        end = next((e for e in visit if e.move in _DEPARTURES), None)
        if start is None or (start.move is Move.GTIN and end is not None and end.move is Move.GTOT):
            return None
        return start, end
    start_move, end_move = _DWELL_MOVES[trade]
    start = next((e for e in visit if e.move is start_move), None)
    if start is None:
        return None
    return start, next((e for e in visit if e.move is end_move), None)


def truck_visit_kpis(events: Sequence[CargoEvent]) -> list[KpiValue]:
    """``truck_turnaround_min`` of one truck visit (entity ``"{port}/{truck_visit_id}"``).

    SPEC §2: truck turnaround = "GTOT - GTIN of the same ``truck_visit_id`` (inside the terminal
    only)", in minutes. With several containers (a dual transaction): the earliest GTIN to the
    latest GTOT, anchored at that GTOT. Open while the visit has a GTIN and no GTOT yet — a truck
    that only drops a box stays open, since its own exit is not a container event. Not emitted
    without a GTIN (a truck that came in empty: its entry time is unknown). Other moves are
    ignored.

    Raises:
        ValueError: the events are of more than one (port, truck_visit_id).
    """
    counted = [e for e in effective_events(events) if e.move in (Move.GTIN, Move.GTOT)]
    visits = {(e.port, e.truck_visit_id) for e in counted}
    if len(visits) > 1:
        raise ValueError(f"events of more than one truck visit: {sorted(map(str, visits))}")
    gate_in = min(_times(counted, Move.GTIN), default=None)
    if gate_in is None:
        return []
    port, truck_visit_id = counted[0].port, counted[0].truck_visit_id
    entity = Entity(EntityKind.TRUCK_VISIT, f"{port}/{truck_visit_id}", port)
    gate_out = max(_times(counted, Move.GTOT), default=None)
    return [entity.duration(KpiName.TRUCK_TURNAROUND_MIN, gate_in, gate_out)]


def move_kpis(move: CargoEvent) -> list[KpiValue]:
    """Throughput of one move (entity ``"{port}/{event_id}"``): ``throughput_teu`` and
    ``throughput_t`` (``gross_kg`` ÷ 1000, the box's gross mass: tare included, so an empty
    counts its tare), anchored at ``occurred_at``; the window ``total`` is the throughput.

    SPEC §2: "Σ TEU and tonnes of DISC + LOAD (laden and empty; transshipment counts twice;
    restows excluded)" — a transshipped box has a DISC and a LOAD, so it counts twice by
    itself. Any other move has no throughput KPI.
    """
    if move.move not in THROUGHPUT_MOVES:
        return []
    return throughput_values(
        move.port, str(move.event_id), move.occurred_at, move.gross_kg, move.iso_size_type
    )


def throughput_values(
    port: str, event_id: str, occurred_at: datetime, gross_kg: int, iso_size_type: str
) -> list[KpiValue]:
    """:func:`move_kpis` of a DISC or LOAD from the few fields it reads (the incremental state
    keeps only those of a move)."""
    entity = Entity(EntityKind.MOVE, f"{port}/{event_id}", port)
    return [
        entity.value(KpiName.THROUGHPUT_T, gross_kg / 1000, occurred_at),
        entity.value(KpiName.THROUGHPUT_TEU, teu(iso_size_type), occurred_at),
    ]


def _times(events: Iterable[CargoEvent], move: Move) -> list[datetime]:
    return [event.occurred_at for event in events if event.move is move]
