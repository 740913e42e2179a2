"""AIS into the hub: ``hub ais replay FILE…`` and ``hub ais listen HOST:PORT``.

The NMEA lines go through ``connectors.ais`` (decoder → tracker → call book) and come out as
vessel events with ``source = AIS``: port-limit entry (ACT ARRI PORT), anchorage stop and
departure (ACT ARRI / DEPA ANCH), port departure (ACT DEPA PORT), each attached to the call the
terminal declared for that vessel at that port. The worker keeps them out of every declared
time and compares them with the declared arrival (``ais_arrival_gap_min``,
``arrival_mismatch_flag``; ``docs/kpis.md``).

The port calls and the vessels' MMSI → IMO come from the vessel events the hub has taken in
(table ``ingested_events``), read again at every look, so a call the terminal declares after
the ship was seen still gets its AIS events: a sighting no call accounts for is held
(``HOLD``, behind the newest position) and counted as unmatched when given up. The AIS events go
through the hub's own checks like any event; a refused one is dead-lettered with its reason
(domain ``ais``). Lines that decode to nothing are counted by reason, not dead-lettered: a feed
carries every ship in range, most of them nothing to the hub.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

from connectors.ais import (
    AIS_SOURCE,
    CallBook,
    NmeaDecoder,
    PortArea,
    Position,
    Sighting,
    VesselTracker,
    to_vessel_event,
)
from hub.db.events import vessel_events_ingested_after
from hub.ingest.core import IngestContext, check_item, send_dead_letters, send_event
from schemas.models import VesselEvent
from schemas.rejections import Rejected

__all__ = ["HOLD", "AisBridge", "AisReport"]

log = logging.getLogger(__name__)

HOLD: Final = timedelta(hours=12)
"""How long (behind the newest position) a sighting waits for its call to be declared."""
_DOMAIN: Final = "vessel"
_LEARN_BATCH: Final = 20_000
# Rows committed a little after a later one was read are read again (observing is idempotent).
_LEARN_OVERLAP: Final = timedelta(minutes=2)
_LEARN_HISTORY: Final = timedelta(days=30)


@dataclass(frozen=True, slots=True)
class AisReport:
    lines: int
    positions: int
    static: int
    lines_refused: dict[str, int]
    sightings: int
    published: int
    refused: dict[str, int]
    unmatched: int
    waiting: int
    calls_known: int

    def summary(self) -> str:
        refused_lines = sum(self.lines_refused.values())
        text = (
            f"{self.lines} lines: {self.positions} positions, {self.static} static reports, "
            f"{refused_lines} refused; {self.sightings} sightings: {self.published} published as "
            f"AIS events, {sum(self.refused.values())} refused by the hub, {self.unmatched} "
            f"matched no call, {self.waiting} waiting; {self.calls_known} calls known"
        )
        details = [f"{reason} {count}" for reason, count in sorted(self.lines_refused.items())]
        details += [f"{reason} {count}" for reason, count in sorted(self.refused.items())]
        return text + (f" ({', '.join(details)})" if details else "")


class AisBridge:
    """One AIS feed into the hub."""

    def __init__(self, context: IngestContext, areas: dict[str, PortArea]) -> None:
        self.context = context
        self.decoder = NmeaDecoder()
        self.tracker = VesselTracker(areas)
        self.book = CallBook()
        self._waiting: list[Sighting] = []
        self._learnt_up_to = datetime.now(UTC) - _LEARN_HISTORY
        self._newest_position: datetime | None = None
        self.lines = self.positions = self.static = self.sightings = 0
        self.published = self.unmatched = 0
        self.refused: Counter[str] = Counter()

    async def learn(self) -> int:
        """Read the vessel events taken in since the last look; returns how many."""
        learnt = 0
        while True:
            rows = await vessel_events_ingested_after(
                self.context.pool, self._learnt_up_to - _LEARN_OVERLAP, _LEARN_BATCH
            )
            for row in rows:
                event = VesselEvent.model_validate_json(row["payload"])
                if event.source == AIS_SOURCE:
                    continue
                self.book.observe(event)
                if event.mmsi:
                    self._waiting += self.tracker.know(event.mmsi, event.imo)
            learnt += len(rows)
            if rows:
                self._learnt_up_to = max(self._learnt_up_to, rows[-1]["ingested_at"])
            if len(rows) < _LEARN_BATCH:
                return learnt

    def take(self, line: str, received_at: datetime | None = None) -> None:
        """One line of the feed."""
        self.lines += 1
        for item in self.decoder.feed(line, received_at):
            if isinstance(item, Position):
                self.positions += 1
                if self._newest_position is None or item.at > self._newest_position:
                    self._newest_position = item.at
            else:
                self.static += 1
            found = self.tracker.observe(item)
            self.sightings += len(found)
            self._waiting += found

    async def publish(self, *, final: bool = False) -> int:
        """Publish the sightings whose call is known; give up those waiting too long (all of
        them when ``final``). Returns how many events were published."""
        events: list[VesselEvent] = []
        still: list[Sighting] = []
        now = datetime.now(UTC)
        for sighting in self._waiting:
            call = self.book.resolve(sighting) if sighting.imo else None
            if call is not None:
                events.append(to_vessel_event(sighting, call, published_at=now))
            elif not final and not self._given_up(sighting):
                still.append(sighting)
            else:
                self.unmatched += 1
                log.info("AIS: no call of %s at %s around %s", sighting.imo or sighting.mmsi,
                         sighting.port, sighting.at.isoformat())  # fmt: skip
        self._waiting = still
        sent = await self._send(events, now)
        self.published += sent
        return sent

    def report(self) -> AisReport:
        return AisReport(
            lines=self.lines,
            positions=self.positions,
            static=self.static,
            lines_refused=dict(self.decoder.rejected),
            sightings=self.sightings,
            published=self.published,
            refused=dict(self.refused),
            unmatched=self.unmatched,
            waiting=len(self._waiting),
            calls_known=len(self.book),
        )

    def finish_feed(self) -> None:
        """The feed ended: multipart messages still open will not complete."""
        self.decoder.flush()

    def _given_up(self, sighting: Sighting) -> bool:
        newest = self._newest_position or sighting.at
        return newest - sighting.at > HOLD

    async def _send(self, events: Iterable[VesselEvent], now: datetime) -> int:
        context = self.context
        late_grace = timedelta(hours=context.settings.rules.late_grace_hours)
        deliveries: list[asyncio.Future[Any]] = []
        refused: list[tuple[bytes, Rejected]] = []
        for event in events:
            item = event.model_dump(mode="json")
            outcome = check_item(_DOMAIN, item, None, context.known_ports, now, late_grace)
            if isinstance(outcome, Rejected):
                refused.append((event.model_dump_json().encode(), outcome))
                self.refused[outcome.reason.value] += 1
                continue
            deliveries.append(await send_event(context, _DOMAIN, event))
        await asyncio.gather(*deliveries)
        if refused:
            # Not a publisher's: the hub's own AIS feed.
            await send_dead_letters(context, "ais", refused, source="ais", publisher="")
        return len(deliveries)


def read_lines(path: Path) -> Iterable[str]:
    """The lines of an AIS log (NMEA is ASCII; anything else is kept and refused by the
    decoder, not a reason to stop)."""
    with path.open(encoding="ascii", errors="replace") as lines:
        yield from lines
