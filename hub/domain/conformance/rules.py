"""The feed-level rules: what each event can pass alone but the feed as a whole gets wrong.

They run on the events that pass every per-event check (the ones the hub would accept), each
once (an exact copy of an earlier event counts once, as in the hub; a retracted event is
replaced by its correction), in event time.

A sample feed is a window of a live stream: a call may have begun before its first event (a
vessel already at berth) or still be under way at its last; a declaration may be lodged days
before its ship arrives. So the rules judge what the feed shows and never what lies beyond its
edges:

- a call's lifecycle (arrival, all fast, first lift, last lift, departure from berth: the SPEC §2
  times) must have no milestone missing *between* two it has, and they must be in that order;
  milestones missing only before the first one seen (began before the feed) or only after the
  last one seen (still open at the feed's end) are reported as pending, not as problems;
- a discharge, load or restow must lie inside its call's berth window (first all fast to last
  departure from berth), each bound checked when the feed has it;
- a gate-out must not come before the same box's first discharge in the feed unless the box was
  already in the terminal (a discharge or gate-in before it);
- a declaration must name a call or containers; a call it names must be in the feed unless the
  declaration lies within :data:`REFERENCE_HORIZON` of the feed's start or end (then pending);
  a container it names must be moved in the feed when the declaration's call is complete in the
  feed (arrival to departure), else pending.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from hub.domain.conformance.model import CheckCode, Pending, Problem
from hub.domain.kpis.port_calls import AIS_SOURCE, CALL_MOVES, call_timeline
from schemas.models import (
    CargoEvent,
    Classifier,
    CustomsEvent,
    Envelope,
    Facility,
    Move,
    Operation,
    VesselEvent,
)

__all__ = ["MILESTONES", "REFERENCE_HORIZON", "feed_problems"]

REFERENCE_HORIZON: Final = timedelta(hours=48)
"""How far a declaration's call may lie beyond the feed's edge: an import is lodged up to two
days before its ship is all fast (and so before the call's first event)."""

_ARRIVAL_FACILITIES: Final = frozenset({Facility.PORT, Facility.ANCH, Facility.PBPL})


@dataclass(frozen=True, slots=True)
class Milestone:
    """One of a call's SPEC §2 times, and which actual vessel events give it."""

    name: str
    description: str
    operation: Operation
    facilities: frozenset[Facility]


MILESTONES: Final[tuple[Milestone, ...]] = (
    Milestone("arrival", "ACT ARRI at PORT, PBPL or ANCH", Operation.ARRI, _ARRIVAL_FACILITIES),
    Milestone("all fast", "ACT ARRI at BRTH", Operation.ARRI, frozenset({Facility.BRTH})),
    Milestone("first lift", "ACT STRT at BRTH", Operation.STRT, frozenset({Facility.BRTH})),
    Milestone("last lift", "ACT CMPL at BRTH", Operation.CMPL, frozenset({Facility.BRTH})),
    Milestone("departure", "ACT DEPA at BRTH", Operation.DEPA, frozenset({Facility.BRTH})),
)  # fmt: skip
"""A call's lifecycle, in the order its actual timestamps must come (SPEC §2)."""


@dataclass(slots=True)
class _Call:
    milestones: dict[str, VesselEvent]
    moves: list[CargoEvent]

    def time(self, name: str) -> datetime | None:
        event = self.milestones.get(name)
        return event.occurred_at if event is not None else None

    @property
    def complete(self) -> bool:
        return all(m.name in self.milestones for m in MILESTONES)


def feed_problems(
    events: Sequence[Envelope], where: Mapping[str, str]
) -> tuple[list[Problem], list[Pending]]:
    """The feed-level problems of ``events`` (accepted, counted once, in event order) and what
    the feed's edges leave pending. ``where``: an event id's place in the feed."""
    problems: list[Problem] = []
    pending: list[Pending] = []
    if not events:
        return problems, pending

    def problem(code: CheckCode, event: Envelope, detail: str) -> None:
        key = str(event.event_id)
        problems.append(Problem(code, where.get(key, "?"), key, detail))

    calls = _calls(events)
    for call_id, call in calls.items():
        _lifecycle(call_id, call, problem, pending)
        _berth_window(call_id, call, problem)
    _gate_outs(events, problem)
    _declarations(events, calls, problem, pending)
    return problems, pending


def _calls(events: Sequence[Envelope]) -> dict[str, _Call]:
    """Each call's milestones, as the KPIs see them (:func:`call_timeline`: actual, declared
    timestamps; the departure is from the *last* berth, so a call that shifted berth and works
    on is not departed), with the event that gives each time, and its moves."""
    vessel: dict[str, list[VesselEvent]] = {}
    calls: dict[str, _Call] = {}
    for event in events:
        if isinstance(event, VesselEvent):
            vessel.setdefault(event.port_call_id, []).append(event)
            calls.setdefault(event.port_call_id, _Call({}, []))
        elif isinstance(event, CargoEvent) and event.move in CALL_MOVES and event.port_call_id:
            calls.setdefault(event.port_call_id, _Call({}, [])).moves.append(event)
    for call_id, timestamps in vessel.items():
        timeline = call_timeline(timestamps)
        all_fast, departure = timeline.all_fast, timeline.departure
        berth_departures = [
            e.occurred_at
            for e in timestamps
            if e.classifier is Classifier.ACT
            and e.source != AIS_SOURCE
            and e.operation is Operation.DEPA
            and e.facility is Facility.BRTH
        ]
        if (
            timeline.arrival is None
            and all_fast is not None
            and min(berth_departures, default=all_fast) < all_fast
        ):
            # Began before the feed at another berth: the first berth arrival in the feed is a
            # shift, not the call's all fast.
            all_fast = None
        if timeline.all_fast is None:
            # At berth before the feed began: no berth arrival to pair with, so its (last)
            # departure from berth, which the KPIs' stays would not take without one.
            departure = max(berth_departures, default=None)
        times = (timeline.arrival, all_fast, timeline.first_lift, timeline.last_lift, departure)
        for milestone, at in zip(MILESTONES, times, strict=True):
            giving = next(
                (
                    e
                    for e in timestamps
                    if at is not None
                    and e.occurred_at == at
                    and e.classifier is Classifier.ACT
                    and e.source != AIS_SOURCE
                    and e.operation is milestone.operation
                    and e.facility in milestone.facilities
                ),
                None,
            )
            if giving is not None:
                calls[call_id].milestones[milestone.name] = giving
    return calls


_Report = Callable[[CheckCode, Envelope, str], None]
"""Records one problem: its code, the event and what is wrong."""


def _lifecycle(call_id: str, call: _Call, problem: _Report, pending: list[Pending]) -> None:
    seen = [i for i, m in enumerate(MILESTONES) if m.name in call.milestones]
    if not seen:
        if call.moves:
            pending.append(
                Pending("call without milestones", call_id,
                        f"{len(call.moves)} moves but no actual berth timestamp in the feed: "
                        "its berth window lies beyond the feed's edges"),
            )  # fmt: skip
        return
    first, last = seen[0], seen[-1]
    for index in range(first + 1, last):
        missing = MILESTONES[index]
        if missing.name in call.milestones:
            continue
        after = next(MILESTONES[i] for i in seen if i > index)
        problem(
            CheckCode.CALL_MILESTONE_MISSING,
            call.milestones[after.name],
            f"call {call_id} has its {after.name} but no {missing.name} ({missing.description}) "
            "before it",
        )
    for earlier, later in itertools.pairwise(seen):
        before, after = MILESTONES[earlier], MILESTONES[later]
        if call.milestones[after.name].occurred_at < call.milestones[before.name].occurred_at:
            problem(
                CheckCode.CALL_MILESTONE_ORDER,
                call.milestones[after.name],
                f"call {call_id}: {after.name} "
                f"{call.milestones[after.name].occurred_at.isoformat()} is before its "
                f"{before.name} {call.milestones[before.name].occurred_at.isoformat()}",
            )
    if first > 0:
        pending.append(
            Pending("began before the feed", call_id,
                    f"first milestone in the feed is {MILESTONES[first].name}"),
        )  # fmt: skip
    if last < len(MILESTONES) - 1:
        pending.append(
            Pending("open at the end of the feed", call_id,
                    f"last milestone in the feed is {MILESTONES[last].name}"),
        )  # fmt: skip


def _berth_window(call_id: str, call: _Call, problem: _Report) -> None:
    opened, closed = call.time("all fast"), call.time("departure")
    for move in call.moves:
        at = move.occurred_at
        if opened is not None and at < opened:
            problem(
                CheckCode.MOVE_OUTSIDE_BERTH_WINDOW,
                move,
                f"{move.move.value} of {move.container} at {at.isoformat()} is before call "
                f"{call_id} was all fast ({opened.isoformat()})",
            )
        elif closed is not None and at > closed:
            problem(
                CheckCode.MOVE_OUTSIDE_BERTH_WINDOW,
                move,
                f"{move.move.value} of {move.container} at {at.isoformat()} is after call "
                f"{call_id} left its berth ({closed.isoformat()})",
            )


def _gate_outs(events: Sequence[Envelope], problem: _Report) -> None:
    by_box: dict[str, list[CargoEvent]] = {}
    for event in events:
        if isinstance(event, CargoEvent):
            by_box.setdefault(event.container, []).append(event)
    for box, moves in by_box.items():
        discharges = [m for m in moves if m.move is Move.DISC]
        if not discharges:
            continue  # discharged before the feed: nothing to compare with
        first_discharge = discharges[0]
        for move in moves:
            if move.move in (Move.DISC, Move.GTIN):
                break  # in the terminal from here on
            if move.move is Move.GTOT:
                problem(
                    CheckCode.GATE_OUT_BEFORE_DISCHARGE,
                    move,
                    f"gate-out of {box} at {move.occurred_at.isoformat()} is before its "
                    f"discharge at {first_discharge.occurred_at.isoformat()}",
                )


def _declarations(
    events: Sequence[Envelope],
    calls: Mapping[str, _Call],
    problem: _Report,
    pending: list[Pending],
) -> None:
    feed_start, feed_end = events[0].occurred_at, events[-1].occurred_at
    boxes = {event.container for event in events if isinstance(event, CargoEvent)}
    declarations: dict[str, list[CustomsEvent]] = {}
    for event in events:
        if isinstance(event, CustomsEvent):
            declarations.setdefault(event.declaration_id, []).append(event)
    for declaration, steps in declarations.items():
        call_ids = [s.port_call_id for s in steps if s.port_call_id]
        containers = [c for s in steps for c in s.containers]
        if not call_ids and not containers:
            problem(
                CheckCode.DECLARATION_UNLINKED,
                steps[0],
                f"declaration {declaration} names neither a port_call_id nor containers",
            )
            continue
        call_id = call_ids[-1] if call_ids else None
        call = calls.get(call_id) if call_id else None
        if call_id and call is None:
            naming = next(s for s in reversed(steps) if s.port_call_id)
            near_edge = (
                steps[0].occurred_at - feed_start < REFERENCE_HORIZON
                or feed_end - steps[-1].occurred_at < REFERENCE_HORIZON
            )
            if near_edge:
                pending.append(
                    Pending("declaration's call beyond the feed", declaration,
                            f"call {call_id} is not in the feed, which ends or starts within "
                            f"{REFERENCE_HORIZON.total_seconds() / 3600:g} h of it"),
                )  # fmt: skip
            else:
                problem(
                    CheckCode.DECLARATION_CALL_UNKNOWN,
                    naming,
                    f"declaration {declaration} names call {call_id}, of which the feed has no "
                    "event",
                )
        unknown = list(dict.fromkeys(c for c in containers if c not in boxes))
        if not unknown:
            continue
        if call is not None and call.complete:
            for container in unknown:
                naming = next(s for s in steps if container in s.containers)
                problem(
                    CheckCode.DECLARATION_CONTAINER_UNKNOWN,
                    naming,
                    f"declaration {declaration} lists container {container}, which no cargo "
                    f"event of the feed moves (its call {call_id} is complete in the feed)",
                )
        else:
            pending.append(
                Pending("declaration's containers beyond the feed", declaration,
                        f"{len(unknown)} of its containers are not moved in the feed and its "
                        "call is not complete in it"),
            )  # fmt: skip
