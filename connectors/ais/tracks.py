"""Synthetic AIS logs of port calls, whose truth is known: for tests and the traffic generator.

:func:`nmea_for_call` sails a vessel through a call's actual (ACT) timeline at a port's area and
writes what a shore receiver would log: AIVDM lines (pyais' encoder) each behind an NMEA 4.10
tag block with its time (``c:``). Choices:

- The vessel comes from sea along a line from the berth, ``40°`` off the port's seaward bearing
  (``10°`` when it will anchor, so that it heads for the anchorage), and crosses the port limits
  exactly at the timeline's ACT ARRI PORT. The seaward bearing is the direction of the port's
  first anchorage from its berth point.
- With ACT ARRI ANCH / DEPA ANCH it steams to a spot in the anchorage, arriving at ARRI ANCH,
  swings there below 0.3 kn until DEPA ANCH; then it makes for the berth, passing the pilot
  boarding point (on the way in, at a pilotage speed of about 3 kn) at ACT ARRI PBPL, and is
  all fast at the first ACT ARRI BRTH. At the berth it stays below 0.1 kn until the last ACT
  DEPA BRTH (a berth shift is not sailed: the berth point is the port's), then steams out
  ``40°`` off the seaward bearing on the other side at 6-8 kn, and on at sea at 10-14 kn.
  Speeds between timeline points are distance over time, so they are what the timeline makes
  them (a short pilotage is fast); the time of crossing the limits outbound is returned as the
  truth.
- Reports come every ``report_every_s`` while under way and every 3 minutes at anchor or
  moored (as class A transponders do), and a few seconds after each change of speed or course
  (not at the limits: crossing them changes nothing on board, so the crossing falls anywhere
  between two reports), with about 3 m of GPS noise. Static
  data (type 5, two sentences) is sent at the start and an hour after all fast.
- ``drift_at_boundary``: the vessel first waits an hour at the limits, drifting back and forth
  across the boundary line (within ±90 m, three times), before crossing at ARRI PORT for good.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final, Literal

from pyais import encode_dict

from connectors.ais.areas import PortArea
from connectors.ais.geo import (
    NAUTICAL_MILE_M,
    LatLon,
    bearing_deg,
    destination,
    distance_m,
    knots,
    m_per_s,
)
from schemas.models import Classifier, Facility, Operation, VesselEvent

__all__ = ["CallTrack", "nmea_for_call", "tag_block"]

_STATIONARY_REPORT_S: Final = 180  # class A at anchor or moored, below 3 kn
_SEA_MINUTES: Final = 90  # sailed before the limits, and after them outbound
_DRIFT: Final = timedelta(hours=1)
_DRIFT_AMPLITUDE_M: Final = 90.0
_DRIFT_CYCLES: Final = 3
_PILOTAGE_KN: Final = 3.0
_GPS_NOISE_M: Final = 3.0
_ANCHOR_SWING_M: Final = 40.0
_SHIP_TYPE_CARGO: Final = 70
_M_PER_DEG: Final = 111_195.0

_Kind = Literal["move", "anchor", "berth", "drift"]
_STATUS: Final[dict[_Kind, int]] = {"move": 0, "drift": 0, "anchor": 1, "berth": 5}


@dataclass(frozen=True, slots=True)
class CallTrack:
    """An AIS log of one call and the truth it was made from (times of the vessel's moves)."""

    lines: tuple[str, ...]
    arrival: datetime
    """Crossing of the port limits inbound: the timeline's ACT ARRI PORT."""
    anchored: datetime | None
    """Stopped in the anchorage: ACT ARRI ANCH (None: the call did not anchor)."""
    weighed: datetime | None
    """Under way from the anchorage: ACT DEPA ANCH."""
    departure: datetime
    """Crossing of the port limits outbound (the timeline has no such event)."""


def _phase_rate(duration_s: float) -> float:
    """How fast the drift's phase turns, in radians a second."""
    return 2 * math.pi * _DRIFT_CYCLES / duration_s


@dataclass(frozen=True, slots=True)
class _Leg:
    start: float  # unix seconds
    end: float
    a: LatLon
    b: LatLon
    kind: _Kind
    report_after: bool = True  # a change of speed or course at its end makes a report

    def at(self, t: float, rng: random.Random, outward: float) -> tuple[LatLon, float, float]:
        """Position, speed (kn) and course at ``t``, before GPS noise."""
        if self.kind == "move":
            share = (t - self.start) / (self.end - self.start)
            point = (
                self.a[0] + share * (self.b[0] - self.a[0]),
                self.a[1] + share * (self.b[1] - self.a[1]),
            )
            speed = knots(distance_m(self.a, self.b), self.end - self.start)
            return point, speed, bearing_deg(self.a, self.b)
        if self.kind == "drift":
            # Outward offset from the boundary point: 0 at both ends, out just before the end.
            phase = 2 * math.pi * _DRIFT_CYCLES * (self.end - t) / (self.end - self.start)
            offset = _DRIFT_AMPLITUDE_M * math.sin(phase)
            # d offset / dt in m/s, positive outwards
            rate = -_DRIFT_AMPLITUDE_M * math.cos(phase) * _phase_rate(self.end - self.start)
            point = destination(self.a, outward if offset >= 0 else outward + 180, abs(offset))
            course = outward if rate >= 0 else outward + 180
            return point, knots(abs(rate), 1.0), course % 360
        swing = _ANCHOR_SWING_M if self.kind == "anchor" else 0.0
        point = destination(self.a, rng.uniform(0, 360), rng.uniform(0, swing))
        speed = rng.uniform(0, 0.24) if self.kind == "anchor" else rng.uniform(0, 0.04)
        return point, speed, rng.uniform(0, 360)


def nmea_for_call(
    timeline: Sequence[VesselEvent],
    area: PortArea,
    *,
    mmsi: str,
    imo: str,
    name: str,
    call_sign: str,
    rng: random.Random,
    report_every_s: int = 30,
    drift_at_boundary: bool = False,
) -> CallTrack:
    """The AIS log of a call (see the module docstring), in time order.

    Args:
        timeline: the call's vessel events as the generator emits them (only ACT ones count).
        area: the port's area (with at least one anchorage: it gives the seaward bearing).
        mmsi, imo, name, call_sign: the vessel's identity in its reports.
        rng: every random draw (bearings, speeds, noise, report times).
        report_every_s: seconds between reports while under way.
        drift_at_boundary: wait an hour drifting across the limits before entering.

    Raises:
        ValueError: the timeline lacks ACT ARRI PORT, ARRI BRTH or DEPA BRTH, or they are out
            of order, or the area has no anchorage.
    """
    times = _timeline(timeline)
    arrival, all_fast, berth_departure = times["arrival"], times["all_fast"], times["departure"]
    anchored, weighed, boarding = times.get("anchored"), times.get("weighed"), times.get("boarding")
    if not area.anchorages:
        raise ValueError(f"{area.port}: the area has no anchorage to tell where the sea is")
    berth = area.berth
    seaward = bearing_deg(berth, area.anchorages[0].centre)
    side = rng.choice((-1, 1))
    inbound = (seaward + side * (10 if anchored else 40)) % 360
    outbound = (seaward - side * 40) % 360
    sea_speed, port_speed = rng.uniform(10, 14), rng.uniform(6, 8)
    sea_m = sea_speed * NAUTICAL_MILE_M * _SEA_MINUTES / 60

    t_arrival = arrival.timestamp()
    entry, entry_r = _boundary(area, inbound)
    legs: list[_Leg] = []
    approach_end = t_arrival - (_DRIFT.total_seconds() if drift_at_boundary else 0)
    sea = destination(berth, inbound, entry_r + sea_m)
    # Crossing a line on the chart changes nothing on board: no report is timed to it.
    legs.append(_Leg(approach_end - _SEA_MINUTES * 60, approach_end, sea, entry, "move", False))
    if drift_at_boundary:
        legs.append(_Leg(approach_end, t_arrival, entry, entry, "drift", False))

    here, now = entry, t_arrival
    if anchored is not None and weighed is not None:
        anchorage = area.anchorages[0]
        spot = destination(anchorage.centre, rng.uniform(0, 360), rng.uniform(0, 0.6) * 1852)
        legs.append(_Leg(now, anchored.timestamp(), here, spot, "move"))
        legs.append(_Leg(anchored.timestamp(), weighed.timestamp(), spot, spot, "anchor"))
        here, now = spot, weighed.timestamp()
    t_fast = all_fast.timestamp()
    if boarding is not None and now < boarding.timestamp() < t_fast:
        # The pilot boarding point: where, at pilotage speed, the vessel reaches the berth.
        pilotage_m = m_per_s(_PILOTAGE_KN) * (t_fast - boarding.timestamp())
        whole = distance_m(here, berth)
        share = 1 - min(0.8, max(0.5 * NAUTICAL_MILE_M / whole, pilotage_m / whole))
        pilot = (here[0] + share * (berth[0] - here[0]), here[1] + share * (berth[1] - here[1]))
        legs.append(_Leg(now, boarding.timestamp(), here, pilot, "move"))
        here, now = pilot, boarding.timestamp()
    legs.append(_Leg(now, t_fast, here, berth, "move"))
    t_leave = berth_departure.timestamp()
    legs.append(_Leg(t_fast, t_leave, berth, berth, "berth"))
    exit_point, exit_r = _boundary(area, outbound)
    t_exit = t_leave + exit_r / m_per_s(port_speed)
    legs.append(_Leg(t_leave, t_exit, berth, exit_point, "move", False))
    beyond = destination(berth, outbound, exit_r + sea_m)
    legs.append(_Leg(t_exit, t_exit + _SEA_MINUTES * 60, exit_point, beyond, "move"))

    legs = [leg for leg in legs if leg.end > leg.start]
    stamped: list[tuple[int, str]] = []
    static_times = (legs[0].start + 5, min(t_fast + 3_600, (t_fast + t_leave) / 2))
    for at in static_times:
        stamp = int(at)
        for line in _static_lines(mmsi, imo, name, call_sign, area.port, rng):
            stamped.append((stamp, tag_block(stamp) + line))
    for stamp, point, speed, course, kind in _reports(legs, rng, report_every_s, inbound):
        stamped.append(
            (stamp, tag_block(stamp) + _position_line(mmsi, point, speed, course, kind, rng))
        )
    stamped.sort(key=lambda item: item[0])  # stable: a message's sentences stay together
    return CallTrack(
        lines=tuple(line for _, line in stamped),
        arrival=arrival,
        anchored=anchored,
        weighed=weighed,
        departure=datetime.fromtimestamp(t_exit, UTC),
    )


def tag_block(unix_seconds: int) -> str:
    """The NMEA 4.10 tag block giving a sentence's time: ``\\c:<seconds>*hh\\``."""
    body = f"c:{unix_seconds}"
    checksum = 0
    for char in body.encode("ascii"):
        checksum ^= char
    return f"\\{body}*{checksum:02X}\\"


# --- helpers ----------------------------------------------------------------------------------


def _timeline(events: Sequence[VesselEvent]) -> dict[str, datetime]:
    """The actual times the track follows, by name."""
    times: dict[str, datetime] = {}
    for event in sorted(events, key=lambda e: e.occurred_at):
        if event.classifier is not Classifier.ACT:
            continue
        step = (event.operation, event.facility)
        if step == (Operation.ARRI, Facility.PORT):
            times.setdefault("arrival", event.occurred_at)
        elif step == (Operation.ARRI, Facility.ANCH):
            times.setdefault("anchored", event.occurred_at)
        elif step == (Operation.DEPA, Facility.ANCH):
            times["weighed"] = event.occurred_at
        elif step == (Operation.ARRI, Facility.PBPL):
            times.setdefault("boarding", event.occurred_at)
        elif step == (Operation.ARRI, Facility.BRTH):
            times.setdefault("all_fast", event.occurred_at)
        elif step == (Operation.DEPA, Facility.BRTH):
            times["departure"] = event.occurred_at  # the last berth's
    missing = [n for n in ("arrival", "all_fast", "departure") if n not in times]
    if missing:
        raise ValueError(f"the timeline lacks the ACT {', '.join(missing)} event(s)")
    if ("anchored" in times) != ("weighed" in times):
        times.pop("anchored", None)
        times.pop("weighed", None)
    order = [
        times[n] for n in ("arrival", "anchored", "weighed", "all_fast", "departure") if n in times
    ]
    if order != sorted(order) or len(set(order)) != len(order):
        raise ValueError("the timeline's ACT arrival, anchorage, berth times are out of order")
    return times


def _boundary(area: PortArea, bearing: float) -> tuple[LatLon, float]:
    """Where the line from the berth along ``bearing`` leaves the port limits, and how far."""
    inside, outside = 0.0, 100 * NAUTICAL_MILE_M
    limits = area.limits
    if limits.contains(*destination(area.berth, bearing, outside)):
        raise ValueError(f"{area.port}: the port limits reach 100 nm from the berth")
    for _ in range(60):  # to well under a millimetre
        middle = (inside + outside) / 2
        if limits.contains(*destination(area.berth, bearing, middle)):
            inside = middle
        else:
            outside = middle
    return destination(area.berth, bearing, outside), outside


def _reports(
    legs: list[_Leg], rng: random.Random, every_s: int, outward: float
) -> list[tuple[int, LatLon, float, float, _Kind]]:
    """Report times (whole seconds) and what each report says, over all legs."""
    reports: list[tuple[int, LatLon, float, float, _Kind]] = []
    t = math.ceil(legs[0].start)
    index = 0
    while t <= legs[-1].end:
        while legs[index].end < t:
            index += 1
        leg = legs[index]
        point, speed, course = leg.at(t, rng, outward)
        reports.append((t, _noisy(point, rng), speed, course, leg.kind))
        moving = leg.kind in ("move", "drift")
        step = every_s + rng.randint(-2, 2) if moving else _STATIONARY_REPORT_S
        change = math.ceil(leg.end)
        if leg.report_after and t < change < t + step:
            step = change - t + rng.randint(1, 4)  # soon after a change of leg
        t += max(1, step)
    return reports


def _noisy(point: LatLon, rng: random.Random) -> LatLon:
    north, east = rng.gauss(0, _GPS_NOISE_M), rng.gauss(0, _GPS_NOISE_M)
    return (
        point[0] + north / _M_PER_DEG,
        point[1] + east / (_M_PER_DEG * math.cos(math.radians(point[0]))),
    )


def _position_line(
    mmsi: str, point: LatLon, speed: float, course: float, kind: _Kind, rng: random.Random
) -> str:
    data: dict[str, str | int | float | bytes | bool] = {
        "type": 1,
        "mmsi": int(mmsi),
        "status": _STATUS[kind],
        "speed": round(min(speed, 102.2), 1),
        "lat": round(point[0], 6),
        "lon": round(point[1], 6),
        "course": round(course % 360, 1),
        "heading": round(course) % 360,
        "accuracy": True,
    }
    (line,) = encode_dict(data, talker_id="AI", sentence_type="VDM", radio_channel=_channel(rng))
    return line


def _static_lines(
    mmsi: str, imo: str, name: str, call_sign: str, port: str, rng: random.Random
) -> list[str]:
    data: dict[str, str | int | float | bytes | bool] = {
        "type": 5,
        "mmsi": int(mmsi),
        "imo": int(imo),
        "callsign": call_sign.upper()[:7],
        "shipname": name.upper()[:20],
        "ship_type": _SHIP_TYPE_CARGO,
        "destination": port,
    }
    return encode_dict(
        data,
        talker_id="AI",
        sentence_type="VDM",
        radio_channel=_channel(rng),
        seq_id=rng.randint(0, 9),
    )


def _channel(rng: random.Random) -> str:
    return rng.choice("AB")
