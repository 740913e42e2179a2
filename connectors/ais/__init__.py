"""AIS connector core: NMEA lines in, the hub's AIS-derived vessel events out.

The layers, each its own module and usable alone (no Kafka, database or network here)::

    nmea.NmeaDecoder      lines  -> Position | StaticData   (rejects counted by reason)
    tracker.VesselTracker items  -> Sighting                (limits, anchorage; hysteresis)
    calls.CallBook        Sighting -> port_call_id          (learnt from the hub's events)
    calls.to_vessel_event Sighting + call -> VesselEvent    (source "AIS", ACT, stable id)

``areas`` reads the port areas the tracker measures against (GeoJSON; bundled approximations
in ``hub/domain/reference/port_areas.json``), ``geo`` does the small-scale geodesy, and ``tracks``
writes synthetic AIS logs of generated calls, for tests and the traffic generator.
See ``docs/ais.md``.
"""

from connectors.ais.areas import BUNDLED_AREAS_FILE, Polygon, PortArea, load_port_areas
from connectors.ais.calls import AIS_SOURCE, CallBook, to_vessel_event
from connectors.ais.nmea import NmeaDecoder, Partial, Position, Reject, StaticData
from connectors.ais.tracker import Ignored, Sighting, VesselTracker
from connectors.ais.tracks import CallTrack, nmea_for_call

__all__ = [
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
