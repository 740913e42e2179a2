"""From AIS positions to port-call sightings: port limits crossed, anchorage stops and departures.

Each vessel (by MMSI) has, per port it comes near, a small state machine; nothing else is kept.
Choices:

- **Hysteresis on the port limits.** A crossing counts only once the vessel is more than
  ``margin_m`` beyond the boundary on the new side; its time is the time of the first position
  on the new side of the boundary line itself (reset whenever the vessel comes back to the old
  side). A vessel drifting along the boundary gives no events, and the time reported is still
  that of the crossing, not of reaching the margin.
- **Anchorage stop**: speed below ``stop_speed_kn`` inside an anchorage polygon for at least
  ``stop_minutes``; its time is the first report below. **Anchorage departure**: speed back
  above the threshold or leaving the polygon, confirmed when the vessel is more than
  ``swing_m`` from where it stopped or more than ``margin_m`` outside the polygon (a ship
  swinging round its anchor, or reporting a knot for a minute, has not left); its time is the
  first report of that move. A report without speed neither starts nor ends a stop.
- **First sight.** A vessel's first position sets its state without events: first seen inside
  the limits it gives no arrival, first seen slow in an anchorage it is at anchor (no ARRI
  ANCH, but its DEPA ANCH will come). Near a port it was not seen near before, it starts outside.
- **Out of order**: a position older than the vessel's last one is ignored and counted
  (``ignored["out_of_order"]``); an equal time is used (two receivers heard the same report).
- **Unknown vessels.** Sightings need an IMO number. The MMSI → IMO map comes from
  :meth:`VesselTracker.know` (fed from the hub's own vessel events, which win) or from AIS static
  data. Sightings of a vessel not yet known are held, at most ``max_held`` per vessel and no
  longer than ``hold_unknown`` behind the vessel's latest position, and released (in order) by
  whichever call makes the vessel known; the ones dropped are counted
  (``ignored["unknown_vessel"]``). :meth:`VesselTracker.prune` forgets vessels gone silent.
- Positions are trusted as they come: no filter for jumps (a GPS glitch far away can cross a
  boundary, and will then cross back).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final

from connectors.ais.areas import Polygon, PortArea
from connectors.ais.geo import LatLon, distance_m
from connectors.ais.nmea import Position, StaticData
from schemas.models import IMO_PATTERN, Facility, Operation

__all__ = ["Ignored", "Sighting", "VesselTracker"]

_IMO: Final = re.compile(IMO_PATTERN)


class Ignored(StrEnum):
    """What the tracker ignored; the keys of :attr:`VesselTracker.ignored`."""

    OUT_OF_ORDER = "out_of_order"
    """A position older than the vessel's last one."""
    UNKNOWN_VESSEL = "unknown_vessel"
    """A sighting dropped because its vessel's IMO number did not become known in time."""


@dataclass(frozen=True, slots=True)
class Sighting:
    """Something a vessel did at a port, seen by AIS (always for a vessel with a known IMO)."""

    mmsi: str
    imo: str
    port: str
    operation: Operation
    facility: Facility
    at: datetime


@dataclass(frozen=True, slots=True)
class _Seen:
    """A sighting before its vessel's IMO number is attached."""

    port: str
    operation: Operation
    facility: Facility
    at: datetime


@dataclass(slots=True)
class _PortState:
    inside: bool
    crossing_at: datetime | None = None  # first position on the other side of the limits
    stop_since: datetime | None = None  # slow inside an anchorage since (not yet at anchor)
    stop_point: LatLon | None = None
    anchorage: Polygon | None = None  # at anchor in it
    anchor_point: LatLon | None = None
    leaving_at: datetime | None = None  # first report moving off while at anchor

    @property
    def idle(self) -> bool:
        """Outside, with nothing under way: the same as having no state."""
        return (
            not self.inside
            and self.crossing_at is None
            and self.stop_since is None
            and self.anchorage is None
        )


@dataclass(slots=True)
class _Vessel:
    last_at: datetime | None = None
    ports: dict[str, _PortState] = field(default_factory=dict)
    held: list[_Seen] = field(default_factory=list)


class VesselTracker:
    """Derives :class:`Sighting` s from positions, per vessel and port.

    Args:
        areas: the ports' areas by UN/LOCODE (:func:`~connectors.ais.areas.load_port_areas`).
        stop_speed_kn: below this speed a vessel is stopped.
        stop_minutes: how long a vessel must stay stopped in an anchorage to be at anchor.
        margin_m: how far beyond a boundary a vessel must get for the crossing to count.
        swing_m: how far from where it stopped a vessel at anchor may swing and still be there.
        hold_unknown: how long sightings of a vessel whose IMO is unknown are held.
        max_held: how many such sightings are held per vessel (the oldest go first).
    """

    def __init__(
        self,
        areas: Mapping[str, PortArea],
        *,
        stop_speed_kn: float = 0.5,
        stop_minutes: float = 10,
        margin_m: float = 300,
        swing_m: float = 500,
        hold_unknown: timedelta = timedelta(hours=24),
        max_held: int = 16,
    ) -> None:
        if stop_speed_kn <= 0 or stop_minutes < 0 or margin_m < 0 or swing_m < 0 or max_held < 0:
            raise ValueError("thresholds must not be negative (stop_speed_kn positive)")
        self.areas = dict(areas)
        self.stop_speed_kn = stop_speed_kn
        self.stop_time = timedelta(minutes=stop_minutes)
        self.margin_m = margin_m
        self.swing_m = swing_m
        self.hold_unknown = hold_unknown
        self.max_held = max_held
        self.ignored: Counter[str] = Counter()
        self._vessels: dict[str, _Vessel] = {}
        self._imo_from_hub: dict[str, str] = {}
        self._imo_from_ais: dict[str, str] = {}

    def imo_of(self, mmsi: str) -> str | None:
        """The IMO number the vessel is known by, if any."""
        return self._imo_from_hub.get(mmsi) or self._imo_from_ais.get(mmsi)

    def know(self, mmsi: str, imo: str) -> list[Sighting]:
        """Learn a vessel's IMO number from the hub's vessel events (which win over AIS static
        data); returns the vessel's held sightings, now released."""
        if not _IMO.match(imo):
            raise ValueError(f"not an IMO number: {imo!r}")
        self._imo_from_hub[mmsi] = imo
        return self._release(mmsi)

    def observe(self, item: Position | StaticData) -> list[Sighting]:
        """The sightings an item gives: a position's crossings and stops, or the held sightings
        static data releases by making a vessel known."""
        if isinstance(item, StaticData):
            if item.imo is None:
                return []
            self._imo_from_ais[item.mmsi] = item.imo
            return self._release(item.mmsi)

        vessel = self._vessels.get(item.mmsi)
        if vessel is None:
            vessel = self._vessels[item.mmsi] = _Vessel()
        if vessel.last_at is not None and item.at < vessel.last_at:
            self.ignored[Ignored.OUT_OF_ORDER] += 1
            return []
        first = vessel.last_at is None
        vessel.last_at = item.at
        seen: list[_Seen] = []
        for port, area in self.areas.items():
            state = vessel.ports.get(port)
            if state is None:
                if not self._near(area, item):
                    continue
                inside = first and area.limits.contains(item.lat, item.lon)
                state = vessel.ports[port] = _PortState(inside=inside)
                if first:
                    self._first_anchorage(state, area, item)
            self._limits(state, area, item, seen)
            self._anchorage(state, area, item, seen)
            if state.idle and not self._near(area, item):
                del vessel.ports[port]  # far outside: no state is the same state
        return self._emit(item.mmsi, vessel, seen)

    def prune(self, before: datetime) -> int:
        """Forget the vessels whose last position is older than ``before`` (their held
        sightings are dropped and counted); returns how many were forgotten."""
        gone = [
            mmsi
            for mmsi, vessel in self._vessels.items()
            if vessel.last_at is None or vessel.last_at < before
        ]
        for mmsi in gone:
            self.ignored[Ignored.UNKNOWN_VESSEL] += len(self._vessels.pop(mmsi).held)
        return len(gone)

    # --- the state machines -------------------------------------------------------------------

    def _near(self, area: PortArea, item: Position) -> bool:
        margin = max(self.margin_m, self.swing_m)
        return area.limits.near(item.lat, item.lon, margin) or any(
            anchorage.near(item.lat, item.lon, margin) for anchorage in area.anchorages
        )

    def _limits(self, state: _PortState, area: PortArea, item: Position, seen: list[_Seen]) -> None:
        depth = area.limits.depth_m(item.lat, item.lon)
        if (depth > 0) == state.inside:
            state.crossing_at = None  # back on its side: that crossing did not happen
            return
        if state.crossing_at is None:
            state.crossing_at = item.at
        if abs(depth) > self.margin_m:
            state.inside = not state.inside
            operation = Operation.ARRI if state.inside else Operation.DEPA
            seen.append(_Seen(area.port, operation, Facility.PORT, state.crossing_at))
            state.crossing_at = None

    def _first_anchorage(self, state: _PortState, area: PortArea, item: Position) -> None:
        """A vessel first seen slow in an anchorage is at anchor since before we saw it."""
        anchorage = area.anchorage_at(item.lat, item.lon)
        if anchorage is not None and item.sog_kn is not None and item.sog_kn < self.stop_speed_kn:
            state.anchorage, state.anchor_point = anchorage, (item.lat, item.lon)

    def _anchorage(
        self, state: _PortState, area: PortArea, item: Position, seen: list[_Seen]
    ) -> None:
        sog, point = item.sog_kn, (item.lat, item.lon)
        if state.anchorage is None or state.anchor_point is None:
            anchorage = area.anchorage_at(*point)
            if anchorage is None or (sog is not None and sog >= self.stop_speed_kn):
                state.stop_since = state.stop_point = None
            elif sog is None:
                return  # no speed: neither starts nor ends a stop
            elif state.stop_since is None:
                state.stop_since, state.stop_point = item.at, point
            if state.stop_since is not None and item.at - state.stop_since >= self.stop_time:
                seen.append(_Seen(area.port, Operation.ARRI, Facility.ANCH, state.stop_since))
                state.anchorage, state.anchor_point = anchorage, state.stop_point
                state.stop_since = state.stop_point = None
            return

        inside = state.anchorage.contains(*point)
        if inside and sog is not None and sog <= self.stop_speed_kn:
            state.leaving_at = None  # swinging at anchor, or a moment's speed
            return
        moving = not inside or (sog is not None and sog > self.stop_speed_kn)
        if moving and state.leaving_at is None:
            state.leaving_at = item.at
        if state.leaving_at is not None and (
            distance_m(state.anchor_point, point) > self.swing_m
            or state.anchorage.depth_m(*point) < -self.margin_m
        ):
            seen.append(_Seen(area.port, Operation.DEPA, Facility.ANCH, state.leaving_at))
            state.anchorage = state.anchor_point = state.leaving_at = None

    # --- known and unknown vessels ------------------------------------------------------------

    def _emit(self, mmsi: str, vessel: _Vessel, seen: list[_Seen]) -> list[Sighting]:
        imo = self.imo_of(mmsi)
        if imo is not None:
            return [_sighting(mmsi, imo, s) for s in seen]
        vessel.held.extend(seen)
        if vessel.held and vessel.last_at is not None:
            horizon = vessel.last_at - self.hold_unknown
            kept = [s for s in vessel.held if s.at >= horizon]
            kept = kept[max(0, len(kept) - self.max_held) :]
            self.ignored[Ignored.UNKNOWN_VESSEL] += len(vessel.held) - len(kept)
            vessel.held = kept
        return []

    def _release(self, mmsi: str) -> list[Sighting]:
        vessel = self._vessels.get(mmsi)
        imo = self.imo_of(mmsi)
        if vessel is None or imo is None or not vessel.held:
            return []
        held, vessel.held = vessel.held, []
        return [_sighting(mmsi, imo, s) for s in held]


def _sighting(mmsi: str, imo: str, seen: _Seen) -> Sighting:
    return Sighting(mmsi, imo, seen.port, seen.operation, seen.facility, seen.at)
