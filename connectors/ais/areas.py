"""Port areas: the port limits, anchorages and berth point the AIS tracker measures against.

Choices:

- **File format: GeoJSON** (RFC 7946), a ``FeatureCollection`` with one Feature per shape and
  the properties ``port`` (UN/LOCODE) and ``kind``: ``limits`` (a Polygon, exactly one per port),
  ``anchorage`` (a Polygon, any number) and ``berth`` (a Point, exactly one, inside the limits).
  Any GIS tool reads and draws it, and a port authority's official polygons drop in unchanged.
  Polygons with holes are refused (no port limit needs one, and a hole would silently change
  what "inside" means).
- **In Python every point is** ``(lat, lon)`` like :class:`~connectors.ais.nmea.Position` and
  :class:`~hub.domain.reference.Port`; only the file uses GeoJSON's ``[lon, lat]``.
- **Inside** is an even-odd ray cast in the lon/lat plane; **distance to the boundary** is
  measured in a flat projection around the point (exact to metres at port scale).
- :data:`BUNDLED_AREAS_FILE` holds *approximations* for every reference port, written once by
  :func:`approximate_area` with :data:`SEAWARD_BEARINGS` (see ``docs/ais.md``): to be replaced by
  each port authority's official polygons.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import hub.domain.reference
from connectors.ais.geo import EARTH_RADIUS_M, NAUTICAL_MILE_M, LatLon, destination
from hub.domain.reference import Port

__all__ = [
    "ANCHORAGE_OFFSET_NM",
    "ANCHORAGE_RADIUS_NM",
    "BUNDLED_AREAS_FILE",
    "LIMITS_RADIUS_NM",
    "SEAWARD_BEARINGS",
    "Polygon",
    "PortArea",
    "approximate_area",
    "load_port_areas",
    "to_geojson",
]

BUNDLED_AREAS_FILE: Final = Path(hub.domain.reference.__file__).resolve().parent / "port_areas.json"

LIMITS_RADIUS_NM: Final = 8.0
ANCHORAGE_RADIUS_NM: Final = 1.5
ANCHORAGE_OFFSET_NM: Final = 5.0
"""Approximate areas: limits 8 nm around the port, an anchorage 1.5 nm across its centre 5 nm
seaward (6.5 nm at most from the port, so well inside the limits)."""

_VERTICES: Final = 24
_DECIMALS: Final = 6  # 0.1 m: more digits in the file would only be noise

SEAWARD_BEARINGS: Final[Mapping[str, float]] = {
    "MXVER": 45,  # Gulf of Mexico lies north-east of Veracruz
    "MXZLO": 240,  # Manzanillo bay opens to the south-west
    "MXLZC": 200,  # Pacific, south of the Balsas delta
    "PAMIT": 350,  # Limon Bay (Colon side of the canal) opens north
    "PABLB": 165,  # Gulf of Panama, south of the canal's Pacific entrance
    "PAONX": 340,  # Limon Bay, north
    "COCTG": 250,  # Caribbean west of Cartagena bay
    "COBUN": 260,  # Buenaventura bay opens west to the Pacific
    "COBAQ": 10,  # Magdalena mouth (Bocas de Ceniza) north of the river port
    "PECLL": 285,  # Pacific west-north-west of Callao, north of San Lorenzo island
    "PEPAI": 320,  # Paita bay opens north-west
    "CLSAI": 280,  # open Pacific west of San Antonio
    "CLVAP": 20,  # Valparaiso bay opens north
    "ECGYE": 180,  # river port: down the Guayas towards the estuary
    "ECPSJ": 230,  # Gulf of Guayaquil south-west of Posorja
    "ARBUE": 110,  # River Plate, along the access channel east-south-east
    "UYMVD": 160,  # River Plate south-south-east of Montevideo bay
    "BRSSZ": 170,  # Santos bay and the Atlantic south of the estuary
    "BRPNG": 90,  # Paranagua bay opens east to the Atlantic
    "DOCAU": 180,  # Caribbean south of Hispaniola
    "DOHAI": 180,  # Caribbean south of Hispaniola
    "JMKIN": 200,  # Kingston harbour opens south-south-west past Port Royal
    "TTPOS": 250,  # Gulf of Paria west-south-west of Port of Spain
    "TTPTS": 270,  # Gulf of Paria west of Point Lisas
    "CRMOB": 45,  # Caribbean north-east of Limon/Moin
    "CRCAL": 225,  # Gulf of Nicoya opening south-west to the Pacific
    "GTSTC": 30,  # Bahia de Amatique opens north-north-east
    "GTPRQ": 190,  # open Pacific south of Puerto Quetzal
}
"""The seaward bearing of each reference port (degrees from north) the bundled approximate
areas were drawn with; judged from a chart, not surveyed."""

_KINDS: Final = {"limits": "Polygon", "anchorage": "Polygon", "berth": "Point"}
_UNLOCODE: Final = re.compile(r"^[A-Z]{2}[A-Z2-9]{3}$")
_M_PER_DEG: Final = math.pi * EARTH_RADIUS_M / 180


@dataclass(frozen=True, slots=True)
class Polygon:
    """A simple polygon: its vertices ``(lat, lon)`` in order, the ring not closed (the last
    vertex joins the first)."""

    vertices: tuple[LatLon, ...]
    _box: tuple[float, float, float, float] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(self.vertices) < 3:
            raise ValueError(f"a polygon needs at least 3 vertices, not {len(self.vertices)}")
        lats = [lat for lat, _ in self.vertices]
        lons = [lon for _, lon in self.vertices]
        object.__setattr__(self, "_box", (min(lats), max(lats), min(lons), max(lons)))

    def contains(self, lat: float, lon: float) -> bool:
        """Whether the point is inside (even-odd ray cast towards east; edges count either way)."""
        inside = False
        vertices = self.vertices
        lat_j, lon_j = vertices[-1]
        for lat_i, lon_i in vertices:
            if (lat_i > lat) != (lat_j > lat):
                crossing = lon_i + (lat - lat_i) * (lon_j - lon_i) / (lat_j - lat_i)
                if lon < crossing:
                    inside = not inside
            lat_j, lon_j = lat_i, lon_i
        return inside

    def distance_to_boundary_m(self, lat: float, lon: float) -> float:
        """Distance in metres from the point to the nearest edge (inside or outside)."""
        scale = math.cos(math.radians(lat)) * _M_PER_DEG
        points = [
            ((v_lon - lon) * scale, (v_lat - lat) * _M_PER_DEG) for v_lat, v_lon in self.vertices
        ]
        best = math.inf
        x1, y1 = points[-1]
        for x2, y2 in points:
            best = min(best, _origin_to_segment(x1, y1, x2, y2))
            x1, y1 = x2, y2
        return best

    def depth_m(self, lat: float, lon: float) -> float:
        """Signed distance to the boundary: positive inside, negative outside."""
        distance = self.distance_to_boundary_m(lat, lon)
        return distance if self.contains(lat, lon) else -distance

    def near(self, lat: float, lon: float, margin_m: float) -> bool:
        """Whether the point is within ``margin_m`` of the bounding box (a cheap first test:
        False means outside and more than ``margin_m`` from the polygon)."""
        south, north, west, east = self._box
        dlat = margin_m / _M_PER_DEG
        dlon = dlat / max(0.01, math.cos(math.radians(max(abs(south), abs(north)) + dlat)))
        return south - dlat <= lat <= north + dlat and west - dlon <= lon <= east + dlon

    @property
    def centre(self) -> LatLon:
        """The mean of the vertices (the centre of a regular polygon)."""
        count = len(self.vertices)
        return (
            sum(lat for lat, _ in self.vertices) / count,
            sum(lon for _, lon in self.vertices) / count,
        )


@dataclass(frozen=True, slots=True)
class PortArea:
    """Where a port's events happen, for the AIS tracker.

    Args:
        port: UN/LOCODE.
        limits: the port limits: crossing them is arrival at (departure from) the port.
        anchorages: the anchorage areas: a stop inside one is "at anchor".
        berth: the reference berth point ``(lat, lon)`` (the port's position in ports.csv for
            the approximations).
    """

    port: str
    limits: Polygon
    anchorages: tuple[Polygon, ...]
    berth: LatLon

    def anchorage_at(self, lat: float, lon: float) -> Polygon | None:
        """The anchorage the point is in, if any."""
        for anchorage in self.anchorages:
            if anchorage.contains(lat, lon):
                return anchorage
        return None


def approximate_area(port: Port, seaward_bearing_deg: float) -> PortArea:
    """A rough stand-in for a port's real areas: limits a 24-gon of :data:`LIMITS_RADIUS_NM`
    around the port's position, the berth at that position, and one anchorage a 24-gon of
    :data:`ANCHORAGE_RADIUS_NM` centred :data:`ANCHORAGE_OFFSET_NM` towards the sea."""
    berth = (port.lat, port.lon)
    anchorage_centre = destination(
        berth, seaward_bearing_deg, ANCHORAGE_OFFSET_NM * NAUTICAL_MILE_M
    )
    return PortArea(
        port=port.unlocode,
        limits=_circle(berth, LIMITS_RADIUS_NM * NAUTICAL_MILE_M),
        anchorages=(_circle(anchorage_centre, ANCHORAGE_RADIUS_NM * NAUTICAL_MILE_M),),
        berth=berth,
    )


def to_geojson(areas: Iterable[PortArea]) -> dict[str, Any]:
    """The GeoJSON FeatureCollection :func:`load_port_areas` reads back as ``areas``."""
    features: list[dict[str, Any]] = []
    for area in areas:
        shapes = [("limits", area.limits)] + [("anchorage", a) for a in area.anchorages]
        for kind, polygon in shapes:
            ring = [[lon, lat] for lat, lon in polygon.vertices]
            features.append(
                {
                    "type": "Feature",
                    "properties": {"port": area.port, "kind": kind},
                    "geometry": {"type": "Polygon", "coordinates": [[*ring, ring[0]]]},
                }
            )
        features.append(
            {
                "type": "Feature",
                "properties": {"port": area.port, "kind": "berth"},
                "geometry": {"type": "Point", "coordinates": [area.berth[1], area.berth[0]]},
            }
        )
    return {"type": "FeatureCollection", "features": features}


def load_port_areas(path: Path | None = None) -> dict[str, PortArea]:
    """The port areas of a GeoJSON file (default: the bundled approximations), by UN/LOCODE.

    Raises:
        ValueError: the file cannot be read or breaks the format; the one-line message names
            the file, the feature (its index, port and kind) and what is wrong.
    """
    path = path or BUNDLED_AREAS_FILE
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise ValueError(f"{path}: cannot read port areas: {error}") from None
    if not isinstance(document, dict) or document.get("type") != "FeatureCollection":
        raise ValueError(f"{path}: not a GeoJSON FeatureCollection")
    features = document.get("features")
    if not isinstance(features, list):
        raise ValueError(f"{path}: 'features' must be a list")

    limits: dict[str, Polygon] = {}
    anchorages: dict[str, list[Polygon]] = {}
    berths: dict[str, tuple[int, LatLon]] = {}
    for index, feature in enumerate(features):
        where = f"{path}: feature {index}"
        port, kind, shape = _read_feature(feature, where)
        where = f"{where} (port {port}, kind {kind})"
        if kind == "limits":
            if port in limits:
                raise ValueError(f"{where}: a second limits polygon for the port")
            limits[port] = _polygon(shape, where)
        elif kind == "anchorage":
            anchorages.setdefault(port, []).append(_polygon(shape, where))
        else:
            if port in berths:
                raise ValueError(f"{where}: a second berth point for the port")
            berths[port] = (index, _point(shape, where))

    areas: dict[str, PortArea] = {}
    for port in sorted(limits.keys() | anchorages.keys() | berths.keys()):
        if port not in limits:
            raise ValueError(f"{path}: port {port}: no limits polygon")
        if port not in berths:
            raise ValueError(f"{path}: port {port}: no berth point")
        index, berth = berths[port]
        if not limits[port].contains(*berth):
            raise ValueError(
                f"{path}: feature {index} (port {port}, kind berth): outside the port limits"
            )
        areas[port] = PortArea(port, limits[port], tuple(anchorages.get(port, ())), berth)
    return areas


# --- helpers ----------------------------------------------------------------------------------


def _circle(centre: LatLon, radius_m: float) -> Polygon:
    return Polygon(
        tuple(
            _rounded(destination(centre, 360 * k / _VERTICES, radius_m)) for k in range(_VERTICES)
        )
    )


def _rounded(point: LatLon) -> LatLon:
    return round(point[0], _DECIMALS), round(point[1], _DECIMALS)


def _origin_to_segment(x1: float, y1: float, x2: float, y2: float) -> float:
    dx, dy = x2 - x1, y2 - y1
    length2 = dx * dx + dy * dy
    t = 0.0 if length2 == 0 else max(0.0, min(1.0, -(x1 * dx + y1 * dy) / length2))
    return math.hypot(x1 + t * dx, y1 + t * dy)


def _read_feature(feature: object, where: str) -> tuple[str, str, object]:
    """The port, kind and coordinates of a feature whose geometry type fits its kind."""
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        raise ValueError(f"{where}: not a GeoJSON Feature")
    properties = feature.get("properties")
    if not isinstance(properties, dict):
        raise ValueError(f"{where}: no properties")
    port, kind = properties.get("port"), properties.get("kind")
    if not isinstance(port, str) or not _UNLOCODE.match(port):
        raise ValueError(f"{where}: property 'port' must be a UN/LOCODE, not {port!r}")
    if kind not in _KINDS:
        raise ValueError(
            f"{where} (port {port}): property 'kind' must be one of {', '.join(_KINDS)}, "
            f"not {kind!r}"
        )
    geometry = feature.get("geometry")
    expected = _KINDS[kind]
    if not isinstance(geometry, dict) or geometry.get("type") != expected:
        raise ValueError(f"{where} (port {port}, kind {kind}): geometry must be a {expected}")
    return port, kind, geometry.get("coordinates")


def _point(coordinates: object, where: str) -> LatLon:
    """``(lat, lon)`` of a GeoJSON position ``[lon, lat]``."""
    if (
        not isinstance(coordinates, list)
        or len(coordinates) not in (2, 3)  # a third number, the altitude, is allowed
        or not all(isinstance(c, int | float) and not isinstance(c, bool) for c in coordinates)
    ):
        raise ValueError(f"{where}: a position must be [lon, lat], not {coordinates!r}")
    lon, lat = float(coordinates[0]), float(coordinates[1])
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ValueError(f"{where}: position [{lon}, {lat}] out of range (is it [lon, lat]?)")
    return lat, lon


def _polygon(coordinates: object, where: str) -> Polygon:
    if not isinstance(coordinates, list) or not coordinates:
        raise ValueError(f"{where}: a Polygon needs a list of rings")
    if len(coordinates) > 1:
        raise ValueError(f"{where}: polygons with holes are not supported")
    ring = coordinates[0]
    if not isinstance(ring, list) or len(ring) < 4:
        raise ValueError(f"{where}: a ring needs at least 4 positions (the first repeated last)")
    points = [_point(position, where) for position in ring]
    if points[0] != points[-1]:
        raise ValueError(f"{where}: the ring is not closed (its last position must be its first)")
    if len(set(points)) < 3:
        raise ValueError(f"{where}: the ring has fewer than 3 distinct positions")
    return Polygon(tuple(points[:-1]))
