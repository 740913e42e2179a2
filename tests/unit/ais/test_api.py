"""The AIS connector's public surface: what the CLI and the generator may import."""

from __future__ import annotations

import connectors.ais


def test_the_public_api_is_pinned() -> None:
    assert sorted(connectors.ais.__all__) == [
        "AIS_SOURCE",
        "BUNDLED_AREAS_FILE",
        "CallBook",
        "CallTrack",
        "Ignored",
        "NmeaDecoder",
        "Partial",
        "Polygon",
        "PortArea",
        "Position",
        "Reject",
        "Sighting",
        "StaticData",
        "VesselTracker",
        "load_port_areas",
        "nmea_for_call",
        "to_vessel_event",
    ]
    assert all(hasattr(connectors.ais, name) for name in connectors.ais.__all__)
