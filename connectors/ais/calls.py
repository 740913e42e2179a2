"""Attaching AIS sightings to the port calls the hub already knows, and making them events.

AIS knows nothing of ``port_call_id``: a call is the publisher's id. :class:`CallBook` learns
each call's vessel and times from the hub's own vessel events (every classifier: planned,
estimated, actual, requested; the times themselves, ``occurred_at``) and gives a sighting the
call of the same vessel (IMO) at the same port that fits it best in time. Choices:

- **Which times a sighting is compared with.** An inbound sighting (``ARRI PORT``,
  ``ARRI ANCH``, ``DEPA ANCH``) is compared with the call's timestamps of the same kind (its
  declared or estimated arrival, its anchorage times), else with its first ``ARRI BRTH``;
  the outbound ``DEPA PORT`` with its last ``DEPA BRTH``; with none of those, with the call's
  nearest timestamp of any kind. The distance must be within ``window`` (48 h).
- **Order.** Among the calls within the window, one the sighting fits in order wins over one
  it contradicts: an inbound sighting more than :data:`ORDER_TOLERANCE` after the call's all
  fast, or a ``DEPA PORT`` more than that before its berth departure (or, that not known yet,
  before its all fast, or with no all fast at all), contradicts the call.
  Then the nearest wins (ties: the call that started first). So a vessel's back-to-back
  calls at one port, even overlapping ones in generated data, are told apart.
- **Resolve an hour late.** The hub learns a call's times as they happen; resolving a
  sighting once the events of that hour are in (a delay of event time in the caller) avoids
  choosing a call only because the right one's latest times are not known yet.
- A sighting at a port where the vessel has no call (a neighbouring port whose limits overlap,
  a vessel passing by) resolves to None: it is not an event of any call.
- **Deterministic ids**: :func:`to_vessel_event`'s ``event_id`` is a ``uuid5`` of the port, the
  call, the IMO number, the operation, the facility and the time (to the millisecond the event
  keeps), so a replay of the same AIS log gives the same ids and the hub de-duplicates it.
- Memory: calls whose last timestamp is more than ``retention`` behind the newest learnt are
  forgotten.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final

from connectors.ais.tracker import Sighting
from schemas.models import Classifier, Facility, Operation, VesselEvent

__all__ = ["AIS_NAMESPACE", "AIS_SOURCE", "ORDER_TOLERANCE", "CallBook", "to_vessel_event"]

AIS_SOURCE: Final = "AIS"
AIS_NAMESPACE: Final = uuid.uuid5(uuid.NAMESPACE_URL, "urn:port-hub:connectors:ais")
"""The namespace of AIS-derived event ids (fixed: changing it changes every id)."""


ORDER_TOLERANCE: Final = timedelta(minutes=30)
"""How far declared berth times may be off before a sighting contradicts the call's order."""

_SWEEP_EVERY: Final = timedelta(hours=1)
_Kind = tuple[Operation, Facility]
_INBOUND: Final = frozenset(
    {
        (Operation.ARRI, Facility.PORT),
        (Operation.ARRI, Facility.ANCH),
        (Operation.DEPA, Facility.ANCH),
    }
)
_ALL_FAST: Final = (Operation.ARRI, Facility.BRTH)
_BERTH_DEPARTURE: Final = (Operation.DEPA, Facility.BRTH)
_DEPA_PORT: Final = (Operation.DEPA, Facility.PORT)


@dataclass(slots=True)
class _Call:
    port_call_id: str
    first: datetime
    last: datetime
    times: dict[_Kind, list[datetime]] = field(default_factory=dict)

    def fit(self, sighting: Sighting) -> tuple[bool, timedelta]:
        """Whether the sighting contradicts the call's order, and how far it is from it."""
        at, kind = sighting.at, (sighting.operation, sighting.facility)
        if kind == _DEPA_PORT:
            if departures := self.times.get(_BERTH_DEPARTURE):
                left = max(departures)
                return at < left - ORDER_TOLERANCE, abs(at - left)
            # Its berth departure not known (yet): it cannot leave before it was all fast.
            fast = self.times.get(_ALL_FAST)
            berthed = fast is not None and min(fast) <= at + ORDER_TOLERANCE
            return not berthed, self.nearest(at)
        if kind in _INBOUND:
            fast = self.times.get(_ALL_FAST)
            late = fast is not None and at > min(fast) + ORDER_TOLERANCE
            if same := self.times.get(kind):
                return late, min(abs(at - t) for t in same)
            if fast:
                return late, abs(min(fast) - at)
        return False, self.nearest(at)

    def nearest(self, at: datetime) -> timedelta:
        return min(abs(at - t) for times in self.times.values() for t in times)


class CallBook:
    """The port calls the hub knows, by port and vessel, to resolve sightings to.

    Args:
        window: how far in time from a call's timestamps a sighting may be and still belong
            to it.
        retention: how long after its last timestamp a call is kept (behind the newest one).
    """

    def __init__(
        self, *, window: timedelta = timedelta(hours=48), retention: timedelta = timedelta(days=30)
    ) -> None:
        self.window = window
        self.retention = retention
        self._calls: dict[tuple[str, str], dict[str, _Call]] = {}
        self._newest: datetime | None = None

    def observe(self, event: VesselEvent) -> None:
        """Learn from one of the hub's vessel events (any classifier or source)."""
        at = event.occurred_at
        calls = self._calls.setdefault((event.port, event.imo), {})
        call = calls.get(event.port_call_id)
        if call is None:
            call = calls[event.port_call_id] = _Call(event.port_call_id, at, at)
        else:
            call.first, call.last = min(call.first, at), max(call.last, at)
        call.times.setdefault((event.operation, event.facility), []).append(at)
        if self._newest is None or at - self._newest > _SWEEP_EVERY:  # not a scan per event
            self._newest = at
            self._forget(at - self.retention)

    def resolve(self, sighting: Sighting) -> str | None:
        """The ``port_call_id`` of the sighting's call, or None when no call of the vessel at
        the port is within the window."""
        candidates: list[tuple[bool, timedelta, datetime, str]] = []
        for call in self._calls.get((sighting.port, sighting.imo), {}).values():
            contradicts, distance = call.fit(sighting)
            if distance <= self.window:
                candidates.append((contradicts, distance, call.first, call.port_call_id))
        return min(candidates)[3] if candidates else None

    def __len__(self) -> int:
        return sum(len(calls) for calls in self._calls.values())

    def _forget(self, before: datetime) -> None:
        for key in list(self._calls):
            calls = self._calls[key]
            for call_id in [i for i, call in calls.items() if call.last < before]:
                del calls[call_id]
            if not calls:
                del self._calls[key]


def to_vessel_event(
    sighting: Sighting, port_call_id: str, *, published_at: datetime
) -> VesselEvent:
    """The hub's vessel event of a resolved sighting: an actual (ACT) timestamp from AIS."""
    # The id is taken over the time as the event will keep it (UTC, milliseconds).
    event = VesselEvent(
        event_id=uuid.UUID(int=0),
        occurred_at=sighting.at,
        published_at=published_at,
        port=sighting.port,
        source=AIS_SOURCE,
        port_call_id=port_call_id,
        imo=sighting.imo,
        mmsi=sighting.mmsi,
        classifier=Classifier.ACT,
        operation=sighting.operation,
        facility=sighting.facility,
    )
    name = "|".join(
        (
            sighting.port,
            port_call_id,
            sighting.imo,
            sighting.operation.value,
            sighting.facility.value,
            event.occurred_at.isoformat(timespec="milliseconds"),
        )
    )
    return event.model_copy(update={"event_id": uuid.uuid5(AIS_NAMESPACE, name)})
