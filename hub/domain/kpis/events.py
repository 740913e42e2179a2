"""The events that count for KPIs: each event once, retracted events removed, in event-time order.

SPEC §1.1: ``event_id`` is the de-duplication key, and an event naming another in
``retracts_event_id`` is a correction: "the named event stops counting and this one replaces it"
(an event of the same port only).
Every KPI function starts here, so that duplicates, retractions and arrival order cannot change a
result: the same set of events always gives the same KPIs.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TypeVar
from uuid import UUID

from schemas.models import Envelope

__all__ = ["effective_events", "event_order"]

E = TypeVar("E", bound=Envelope)


def event_order(event: Envelope) -> tuple[datetime, int]:
    """Sort key of events in time: ``occurred_at``, ties broken by ``event_id``.

    The tie-break makes the order total, so that the result never depends on arrival order. The
    id's 128-bit number sorts as its text form does, and costs far less to get.
    """
    return (event.occurred_at, event.event_id.int)


def effective_events(events: Iterable[E]) -> list[E]:
    """The events that count, sorted by :func:`event_order`.

    - Duplicates (the same ``event_id`` more than once) count once. Copies are normally equal;
      if they are not, the one published first is kept (then the smallest JSON, so that the
      choice does not depend on order).
    - An event whose ``event_id`` is named by another event's ``retracts_event_id`` is dropped;
      the retracting event itself counts (it is the replacement). A chain A ← B ← C leaves C.
      A retraction whose target is absent changes nothing, nor does one of another ``port``
      than its target's: a port retracts only its own events (the worker refuses the others as
      ``PORT_NOT_OWNED``; this keeps any stored before that from counting).
    """
    by_id: dict[UUID, E] = {}
    for event in events:
        kept = by_id.get(event.event_id)
        if kept is None or (kept != event and _preference(event) < _preference(kept)):
            by_id[event.event_id] = event
    retracted = {
        e.retracts_event_id
        for e in by_id.values()
        if e.retracts_event_id is not None
        and (target := by_id.get(e.retracts_event_id)) is not None
        and target.port == e.port
    }
    return sorted(
        (event for event in by_id.values() if event.event_id not in retracted), key=event_order
    )


def _preference(event: Envelope) -> tuple[datetime, str]:
    return (event.published_at, event.model_dump_json())
