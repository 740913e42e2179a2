"""Port areas: inside and outside, distances to the boundary, the bundled file, broken files."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from connectors.ais.areas import (
    ANCHORAGE_OFFSET_NM,
    BUNDLED_AREAS_FILE,
    LIMITS_RADIUS_NM,
    SEAWARD_BEARINGS,
    Polygon,
    approximate_area,
    load_port_areas,
    to_geojson,
)
from connectors.ais.geo import NAUTICAL_MILE_M, bearing_deg, destination, distance_m
from hub.domain.reference import BUNDLED_PORTS_FILE, load_ports

PORTS = load_ports(BUNDLED_PORTS_FILE)
# A square about 1.1 km a side on the equator: 0.01 degrees is 1,111.95 m.
SQUARE = Polygon(((0.0, 0.0), (0.0, 0.01), (0.01, 0.01), (0.01, 0.0)))


@pytest.mark.parametrize(
    ("lat", "lon", "inside", "distance"),
    [
        (0.005, 0.005, True, 555.97),  # the centre
        (0.005, 0.009, True, 111.19),  # 0.001 degrees from the east side
        (0.005, 0.011, False, 111.19),  # as far outside
        (0.012, 0.012, False, 314.50),  # past the corner: to the corner itself
        (-0.003, 0.005, False, 333.58),
    ],
)
def test_inside_and_distance_to_the_boundary(
    lat: float, lon: float, inside: bool, distance: float
) -> None:
    assert SQUARE.contains(lat, lon) is inside
    assert SQUARE.distance_to_boundary_m(lat, lon) == pytest.approx(distance, abs=0.5)
    assert SQUARE.depth_m(lat, lon) == pytest.approx(distance if inside else -distance, abs=0.5)


def test_a_concave_polygon_is_handled() -> None:
    # A U: the notch between its arms is outside.
    u_shape = Polygon(((0, 0), (0, 3), (3, 3), (3, 2), (1, 2), (1, 1), (3, 1), (3, 0)))
    assert u_shape.contains(0.5, 1.5)
    assert not u_shape.contains(2.0, 1.5)
    assert u_shape.contains(2.5, 2.5)


def test_near_is_a_safe_first_test() -> None:
    assert SQUARE.near(0.005, 0.0125, margin_m=300)
    assert not SQUARE.near(0.005, 0.0135, margin_m=300)  # 389 m east


def test_the_bundled_file_has_an_area_for_every_reference_port() -> None:
    areas = load_port_areas()
    assert set(areas) == {port.unlocode for port in PORTS} == set(SEAWARD_BEARINGS)
    for port in PORTS:
        area = areas[port.unlocode]
        assert area.berth == (port.lat, port.lon)
        assert len(area.limits.vertices) == 24
        (anchorage,) = area.anchorages
        # 8 nm limits, a 1.5 nm anchorage 5 nm seaward: wholly inside the limits.
        assert all(area.limits.contains(*vertex) for vertex in anchorage.vertices)
        assert distance_m(area.berth, anchorage.centre) == pytest.approx(
            ANCHORAGE_OFFSET_NM * NAUTICAL_MILE_M, rel=1e-3
        )
        seaward = bearing_deg(area.berth, anchorage.centre)
        assert abs((seaward - SEAWARD_BEARINGS[port.unlocode] + 180) % 360 - 180) < 0.5
        limit = destination(area.berth, 123, LIMITS_RADIUS_NM * NAUTICAL_MILE_M * 0.99)
        assert area.limits.contains(*limit)
        assert area.limits.distance_to_boundary_m(*area.berth) == pytest.approx(
            LIMITS_RADIUS_NM * NAUTICAL_MILE_M * math.cos(math.pi / 24), rel=1e-3
        )


def test_the_bundled_file_is_what_approximate_area_draws() -> None:
    drawn = to_geojson(approximate_area(p, SEAWARD_BEARINGS[p.unlocode]) for p in PORTS)
    assert json.loads(BUNDLED_AREAS_FILE.read_text(encoding="utf-8")) == drawn


def test_an_area_round_trips_through_geojson(tmp_path: Path) -> None:
    area = approximate_area(PORTS[0], 45)
    path = tmp_path / "areas.json"
    path.write_text(json.dumps(to_geojson([area])))
    assert load_port_areas(path) == {area.port: area}


# --- broken files -----------------------------------------------------------------------------


def features() -> list[dict[str, Any]]:
    document = to_geojson([approximate_area(PORTS[9], 285)])  # PECLL: limits, anchorage, berth
    return list(document["features"])


def broken(change: str) -> object:
    """A document with one thing wrong."""
    items = features()
    if change == "not json":
        return "{"
    if change == "not a collection":
        return {"type": "Feature"}
    if change == "bad kind":
        items[1]["properties"]["kind"] = "anchor"
    elif change == "bad port":
        items[0]["properties"]["port"] = "Callao"
    elif change == "wrong geometry":
        items[2]["geometry"] = items[0]["geometry"]
    elif change == "open ring":
        items[1]["geometry"]["coordinates"][0].pop()
    elif change == "out of range":
        items[0]["geometry"]["coordinates"][0][3] = [-77.1, -95.0]
    elif change == "hole":
        ring = items[0]["geometry"]["coordinates"][0]
        items[0]["geometry"]["coordinates"].append(ring)
    elif change == "two limits":
        items.append(items[0])
    elif change == "no berth":
        items.pop(2)
    elif change == "berth outside":
        items[2]["geometry"]["coordinates"] = [-78.5, -12.0]
    return {"type": "FeatureCollection", "features": items}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("not json", "cannot read port areas: Expecting"),
        ("not a collection", "not a GeoJSON FeatureCollection"),
        (
            "bad kind",
            "feature 1 (port PECLL): property 'kind' must be one of limits, anchorage, berth, not 'anchor'",
        ),
        ("bad port", "feature 0: property 'port' must be a UN/LOCODE, not 'Callao'"),
        ("wrong geometry", "feature 2 (port PECLL, kind berth): geometry must be a Point"),
        ("open ring", "feature 1 (port PECLL, kind anchorage): the ring is not closed"),
        (
            "out of range",
            "feature 0 (port PECLL, kind limits): position [-77.1, -95.0] out of range",
        ),
        ("hole", "feature 0 (port PECLL, kind limits): polygons with holes are not supported"),
        ("two limits", "feature 3 (port PECLL, kind limits): a second limits polygon"),
        ("no berth", "port PECLL: no berth point"),
        ("berth outside", "feature 2 (port PECLL, kind berth): outside the port limits"),
    ],
)
def test_a_broken_file_gives_one_line_naming_file_feature_and_problem(
    tmp_path: Path, change: str, message: str
) -> None:
    path = tmp_path / "areas.json"
    document = broken(change)
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    with pytest.raises(ValueError) as raised:
        load_port_areas(path)
    text = str(raised.value)
    assert text.startswith(f"{path}: ")
    assert message in text
    assert "\n" not in text
