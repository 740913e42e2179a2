"""Generated traffic written as EDIFACT interchanges and an AIS log (connectors.traffic_files)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from connectors.ais import load_port_areas
from connectors.edifact import read_interchange
from connectors.simulator import PortTrafficGenerator
from connectors.traffic_files import ais_log, edifact_interchanges
from hub.domain.reference import BUNDLED_PORTS_FILE, load_ports
from schemas.models import CargoEvent, CertificateSubmission, Envelope, Move, VesselEvent

END = datetime(2026, 3, 10, tzinfo=UTC)


def tag_times(lines: list[str]) -> list[int]:
    """The ``c:`` time (Unix seconds) of each line of an AIS log."""
    times = []
    for line in lines:
        tag = re.search(r"c:(\d+)", line)
        assert tag is not None, line
        times.append(int(tag.group(1)))
    return times


@pytest.fixture(scope="module")
def two_days() -> list[Envelope]:
    ports = [p for p in load_ports(BUNDLED_PORTS_FILE) if p.unlocode in {"PECLL", "CLSAI"}]
    generator = PortTrafficGenerator(ports, seed=8, start=END - timedelta(days=3), scale=0.03)
    return list(generator.events_between(END - timedelta(days=2), END))


def test_interchanges_carry_every_writable_event_per_port_in_files_of_at_most_n(
    two_days: list[Envelope],
) -> None:
    files = list(edifact_interchanges(two_days, prepared_at=END, per_file=300))

    read = []
    for file in files:
        port = file.name.split("-")[0]
        result = read_interchange(file.text, published_at=END)
        assert result.problems == () and result.sender == f"{port}TERMINAL"
        events = [event for message in result.messages for event in message.events]
        assert len(events) == file.events <= 300
        assert {event.port for event in events} == {port}
        read += events
    skipped = [
        e
        for e in two_days
        if isinstance(e, CertificateSubmission)
        or (isinstance(e, CargoEvent) and e.move is Move.YARD)
    ]
    assert skipped, "the generated days should have yard moves or certificates to leave out"
    assert len(read) == len(two_days) - len(skipped)
    assert len({f.name for f in files}) == len(files)


def test_the_ais_log_is_in_time_order_and_has_one_track_per_vessel_at_a_time(
    two_days: list[Envelope],
) -> None:
    log = ais_log(two_days, load_port_areas(), seed=1)

    times = tag_times(log.lines)
    assert times == sorted(times)
    assert log.calls, "no complete call in two days"
    by_vessel: dict[str, list[tuple[datetime, datetime]]] = {}
    vessels = {(e.port, e.port_call_id): e.mmsi for e in two_days if isinstance(e, VesselEvent)}
    for key, track in log.calls.items():
        spans = by_vessel.setdefault(vessels[key] or "", [])
        start, end = track.arrival - timedelta(hours=2), track.departure + timedelta(hours=2)
        assert all(end < s or e < start for s, e in spans), key
        spans.append((start, end))
    # Every call written has its arrival at the port limits as the generator's truth says.
    for (port, call), track in log.calls.items():
        declared = [
            e.occurred_at
            for e in two_days
            if isinstance(e, VesselEvent)
            and (e.port, e.port_call_id) == (port, call)
            and (e.classifier.value, e.operation.value, e.facility.value) == ("ACT", "ARRI", "PORT")
        ]
        assert track.arrival == min(declared)


def test_the_ais_log_can_stop_at_a_time(two_days: list[Envelope]) -> None:
    full = ais_log(two_days, load_port_areas(), seed=1)
    last_departure = max(track.departure for track in full.calls.values())
    until = last_departure - timedelta(minutes=30)

    cut = ais_log(two_days, load_port_areas(), seed=1, until=until)

    times = tag_times(cut.lines)
    assert max(times) <= until.timestamp()
    assert len(cut.lines) < len(full.lines)
    assert cut.lines == full.lines[: len(cut.lines)]
