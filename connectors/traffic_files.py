"""Generated traffic as the files ports already exchange: EDIFACT interchanges and an AIS log.

The same events the generator publishes as Avro, written so that the connectors can be checked
against the same truth:

- :func:`edifact_interchanges`: per port, interchanges of up to ``per_file`` events (BERMAN,
  COARRI, CODECO, CUSRES; ``docs/edifact.md``), in the order the events became known. Yard moves
  and certificate submissions have no EDIFACT message in the profile and are left out (no KPI
  depends on them).
- :func:`ais_log`: for every call whose actual timeline is complete (arrival at the port limits,
  all fast, departure from the berth), the AIS reports its vessel would have sent
  (``connectors.ais.tracks``), merged in time order, and each call's truth. The generator draws
  each call's vessel from its service without sailing it between ports, so one vessel may have
  two calls at once: the later of two overlapping tracks of one vessel is left out (a ship
  cannot be in two places).
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime

from connectors.ais import CallTrack, PortArea, nmea_for_call
from connectors.edifact import writable, write_interchange
from schemas.models import Classifier, Envelope, Facility, Operation, VesselEvent

__all__ = ["AisLog", "EdifactFile", "ais_log", "edifact_interchanges"]

_TAG_TIME = re.compile(r"c:(\d+)")


@dataclass(frozen=True, slots=True)
class EdifactFile:
    name: str
    text: str
    events: int


def edifact_interchanges(
    events: Iterable[Envelope], *, prepared_at: datetime, per_file: int = 500
) -> Iterator[EdifactFile]:
    """The writable ``events`` as interchanges, per port (sender ``{port}TERMINAL``, recipient
    ``PORTHUB``), named ``{port}-{n:06d}.edi``; the last of each port when ``events`` ends."""
    if per_file < 1:
        raise ValueError("per_file must be at least 1")
    waiting: dict[str, list[Envelope]] = {}
    written: Counter[str] = Counter()

    def interchange(port: str) -> EdifactFile:
        batch = waiting.pop(port)
        written[port] += 1
        reference = f"{port}{written[port]:06d}"
        text = write_interchange(
            batch,
            sender=f"{port}TERMINAL",
            recipient="PORTHUB",
            reference=reference,
            prepared_at=prepared_at,
        )
        return EdifactFile(f"{port}-{written[port]:06d}.edi", text, len(batch))

    for event in events:
        if not writable(event):
            continue
        batch = waiting.setdefault(event.port, [])
        batch.append(event)
        if len(batch) >= per_file:
            yield interchange(event.port)
    for port in list(waiting):
        yield interchange(port)


@dataclass(frozen=True, slots=True)
class AisLog:
    lines: list[str]
    """Every call's reports, in time order (a multi-sentence message stays together)."""
    calls: dict[tuple[str, str], CallTrack]
    """The truth of each call written, by (port, port_call_id)."""
    overlapping: int
    """Complete calls left out: their vessel was on another call's track at the time."""


def ais_log(
    events: Iterable[Envelope],
    areas: Mapping[str, PortArea],
    *,
    seed: int = 0,
    until: datetime | None = None,
) -> AisLog:
    """The AIS log of the calls in ``events`` whose actual timeline is complete, at ports that
    have an area; with ``until``, only the reports sent by then (a ship that left its berth
    just before is still inside the limits)."""
    timelines: dict[tuple[str, str], list[VesselEvent]] = {}
    for event in events:
        if isinstance(event, VesselEvent) and event.port in areas:
            timelines.setdefault((event.port, event.port_call_id), []).append(event)
    rng = random.Random(seed)
    tracks: dict[tuple[str, str], CallTrack] = {}
    timed: list[tuple[int, int, int, str]] = []
    busy: dict[str, list[tuple[int, int]]] = {}  # MMSI → spans of its tracks (unix s)
    overlapping = 0
    complete = [(key, t) for key, t in timelines.items() if _complete(t)]
    complete.sort(key=lambda item: (min(e.occurred_at for e in item[1]), item[0]))
    for number, (key, timeline) in enumerate(complete):
        vessel = timeline[0]
        track = nmea_for_call(
            timeline,
            areas[key[0]],
            mmsi=vessel.mmsi or "",
            imo=vessel.imo,
            name=next((e.vessel_name for e in timeline if e.vessel_name), "") or "",
            call_sign=next((e.call_sign for e in timeline if e.call_sign), "") or "",
            rng=rng,
        )
        times = [_tag_time(line) for line in track.lines]
        span = (min(times), max(times))
        spans = busy.setdefault(vessel.mmsi or "", [])
        if any(start <= span[1] and span[0] <= end for start, end in spans):
            overlapping += 1
            continue
        spans.append(span)
        tracks[key] = track
        lines = zip(times, track.lines, strict=True)
        timed += [(t, number, index, line) for index, (t, line) in enumerate(lines)]
    if until is not None:
        timed = [entry for entry in timed if entry[0] <= until.timestamp()]
    timed.sort()
    return AisLog([line for *_, line in timed], tracks, overlapping)


def _tag_time(line: str) -> int:
    found = _TAG_TIME.search(line)
    return int(found.group(1)) if found else 0


def _complete(timeline: list[VesselEvent]) -> bool:
    seen = {
        (e.operation, e.facility) for e in timeline if e.classifier is Classifier.ACT and e.mmsi
    }
    return {
        (Operation.ARRI, Facility.PORT),
        (Operation.ARRI, Facility.BRTH),
        (Operation.DEPA, Facility.BRTH),
    } <= seen
