"""Small-scale geodesy for port areas: distances, bearings and offsets on a spherical Earth.

Port limits span tens of kilometres, so a sphere of the mean Earth radius (error < 0.5 %) and a
local flat projection for distances to polygon edges are accurate to metres, far below the
hundreds of metres the tracker's hysteresis works with. Coordinates are degrees, always in the
order ``(lat, lon)``; nothing here handles the antimeridian (no reference port is near it).
"""

from __future__ import annotations

import math
from typing import Final

__all__ = [
    "EARTH_RADIUS_M",
    "NAUTICAL_MILE_M",
    "LatLon",
    "bearing_deg",
    "destination",
    "distance_m",
    "knots",
    "m_per_s",
]

EARTH_RADIUS_M: Final = 6_371_008.8
NAUTICAL_MILE_M: Final = 1_852.0
_KNOT_M_S: Final = NAUTICAL_MILE_M / 3_600

LatLon = tuple[float, float]
"""A point as ``(lat, lon)`` in degrees."""


def distance_m(a: LatLon, b: LatLon) -> float:
    """Great-circle distance between two points in metres (haversine)."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def bearing_deg(a: LatLon, b: LatLon) -> float:
    """Initial bearing from ``a`` to ``b`` in degrees clockwise from north, in [0, 360)."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    y = math.sin(lon2 - lon1) * math.cos(lat2)
    x = math.cos(lat1) * math.sin(lat2) - math.sin(lat1) * math.cos(lat2) * math.cos(lon2 - lon1)
    return math.degrees(math.atan2(y, x)) % 360


def destination(start: LatLon, bearing: float, distance: float) -> LatLon:
    """The point ``distance`` metres from ``start`` along the initial ``bearing`` (degrees)."""
    lat1, lon1 = map(math.radians, start)
    theta, delta = math.radians(bearing), distance / EARTH_RADIUS_M
    lat2 = math.asin(
        math.sin(lat1) * math.cos(delta) + math.cos(lat1) * math.sin(delta) * math.cos(theta)
    )
    lon2 = lon1 + math.atan2(
        math.sin(theta) * math.sin(delta) * math.cos(lat1),
        math.cos(delta) - math.sin(lat1) * math.sin(lat2),
    )
    return math.degrees(lat2), (math.degrees(lon2) + 540) % 360 - 180


def knots(metres: float, seconds: float) -> float:
    """The speed in knots of covering ``metres`` in ``seconds``."""
    return metres / seconds / _KNOT_M_S


def m_per_s(speed_kn: float) -> float:
    """A speed in knots in metres a second."""
    return speed_kn * _KNOT_M_S
