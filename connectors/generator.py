"""Traffic generator: plausible port calls at the reference ports, published as vessel events.

First version: each call is the sequence of actual (ACT) DCSA timestamps of a container vessel —
arrival at port limits, anchorage in and out, pilot boarding, all fast, first and last lift,
departure — with waiting and berth times drawn per call. Calls arrive at each port as a Poisson
process and overlap; all ports are interleaved in event-time order. The same seed and start give
the same events, ids included, so a replay is de-duplicated rather than double-counted.

The simulation starts a day in the past: that history is published at the configured rate, then
the generator follows the wall clock, never publishing an actual event before it happened.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import random
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from aiokafka import AIOKafkaProducer
from stdnum import imo as stdnum_imo

from hub.reference import Port
from schemas.avro_schemas import schema_text, subject_for
from schemas.codec import AvroCodec
from schemas.models import Classifier, Facility, Operation, VesselEvent, to_avro_datum

log = logging.getLogger(__name__)

_VESSEL_NAMES = (
    "Pacific Condor", "Andes Trader", "Caribe Express", "Rio Plata", "Sierra Madre",
    "Atlantic Jaguar", "Cabo Verde", "Mar del Sur", "Isla Bonita", "Costa Azul",
)  # fmt: skip
_SERVICES = ("WCSA1", "ECSA2", "CARIB3", "GULF4", "TPX5", "AMX6")
_PUBLISHER = "traffic-generator"


@dataclass(frozen=True, slots=True)
class _Vessel:
    imo: str
    name: str
    teu_capacity: int
    loa_m: float
    service: str


class VesselTrafficGenerator:
    """An endless, reproducible stream of port-call events at ``ports``."""

    def __init__(
        self,
        ports: Sequence[Port],
        seed: int | None = None,
        start: datetime | None = None,
        mean_hours_between_calls: float = 4.0,
    ) -> None:
        if not ports:
            raise ValueError("the generator needs at least one port")
        self.ports = list(ports)
        self.random = random.Random(seed)
        self.start = start or datetime.now(UTC) - timedelta(days=1)
        self.mean_hours_between_calls = mean_hours_between_calls
        self._call_number = 0

    def events(self) -> Iterator[VesselEvent]:
        """Events of overlapping calls at every port, in event-time order, without end."""
        pending: list[tuple[datetime, int, VesselEvent]] = []
        order = itertools.count()

        def schedule_call(port: Port, arrival: datetime) -> None:
            for event in self._one_call(port, arrival):
                heapq.heappush(pending, (event.occurred_at, next(order), event))

        ports = {port.unlocode: port for port in self.ports}
        for port in self.ports:
            schedule_call(port, self.start + self._gap())
        while True:
            _, _, event = heapq.heappop(pending)
            if event.operation is Operation.ARRI and event.facility is Facility.PORT:
                # The next call at this port is drawn when this one arrives: an endless
                # Poisson process per port, only a few calls ahead in memory.
                schedule_call(ports[event.port], event.occurred_at + self._gap())
            yield event

    def _gap(self) -> timedelta:
        return timedelta(hours=self.random.expovariate(1 / self.mean_hours_between_calls))

    def _one_call(self, port: Port, arrived: datetime) -> Iterator[VesselEvent]:
        self._call_number += 1
        vessel = self._vessel()
        call_id = f"{port.unlocode}-{arrived:%Y%m%d}-{self._call_number:06d}"
        anchorage_h = self.random.choice((0.0, 0.0, self.random.uniform(1, 30)))
        berth_h = self.random.uniform(8, 36)
        berth = f"B{self.random.randint(1, 6)}"
        timeline: list[tuple[Operation, Facility, datetime]] = [
            (Operation.ARRI, Facility.PORT, arrived)
        ]
        clock = arrived + timedelta(minutes=20)
        if anchorage_h:
            timeline.append((Operation.ARRI, Facility.ANCH, clock))
            clock += timedelta(hours=anchorage_h)
            timeline.append((Operation.DEPA, Facility.ANCH, clock))
        clock += timedelta(minutes=self.random.uniform(20, 60))
        timeline.append((Operation.ARRI, Facility.PBPL, clock))
        all_fast = clock + timedelta(minutes=self.random.uniform(45, 90))
        departure = all_fast + timedelta(hours=berth_h)
        timeline += [
            (Operation.ARRI, Facility.BRTH, all_fast),
            (Operation.STRT, Facility.BRTH, all_fast + timedelta(minutes=40)),
            (Operation.CMPL, Facility.BRTH, departure - timedelta(minutes=50)),
            (Operation.DEPA, Facility.BRTH, departure),
        ]
        for position, (operation, facility, occurred) in enumerate(timeline):
            particulars = position == 0
            yield VesselEvent(
                event_id=uuid.UUID(int=self.random.getrandbits(128), version=4),
                occurred_at=occurred,
                published_at=occurred,  # replaced by the real time when published
                port=port.unlocode,
                publisher=_PUBLISHER,
                source="TERMINAL",
                port_call_id=call_id,
                imo=vessel.imo,
                classifier=Classifier.ACT,
                operation=operation,
                facility=facility,
                berth_id=berth if facility is Facility.BRTH else None,
                vessel_name=vessel.name if particulars else None,
                teu_capacity=vessel.teu_capacity if particulars else None,
                loa_m=vessel.loa_m if particulars else None,
                service=vessel.service if particulars else None,
            )

    def _vessel(self) -> _Vessel:
        digits = f"{self.random.randint(900_000, 999_999)}"
        teu = self.random.choice((1_700, 2_500, 4_250, 6_500, 8_500, 11_000, 14_000))
        return _Vessel(
            imo=digits + stdnum_imo.calc_check_digit(digits),
            name=self.random.choice(_VESSEL_NAMES),
            teu_capacity=teu,
            loa_m=round(120 + teu / 60, 1),
            service=self.random.choice(_SERVICES),
        )


async def publish(
    bootstrap: str,
    topic: str,
    generator: VesselTrafficGenerator,
    rate_per_s: float,
    stop: asyncio.Event,
    codec: AvroCodec,
    limit: int | None = None,
) -> int:
    """Publish the generator's events to ``topic`` (Confluent Avro, schema registered through
    ``codec``) at ``rate_per_s`` until ``stop`` is set.

    Returns the number of events published.
    """
    subject, schema = subject_for(topic), schema_text("vessel")
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=20)
    await producer.start()
    published = 0
    events = generator.events()
    tick_s = 0.1
    per_tick = max(rate_per_s * tick_s, 1.0)
    budget = 0.0
    upcoming: VesselEvent | None = None
    next_tick = time.monotonic()
    try:
        while not stop.is_set() and (limit is None or published < limit):
            budget = min(budget + per_tick, 2 * per_tick)  # no burst after a wait
            batch: list[asyncio.Future[object]] = []
            while budget >= 1.0 and (limit is None or published + len(batch) < limit):
                event = upcoming or next(events)
                upcoming = None
                now = datetime.now(UTC)
                if event.occurred_at > now:
                    upcoming = event  # caught up with the wall clock: hold it until it happens
                    break
                event = event.model_copy(update={"published_at": now})
                value = await codec.encode(subject, schema, to_avro_datum(event))
                batch.append(await producer.send(topic, value, key=event.port_call_id.encode()))
                budget -= 1.0
            for delivery in batch:
                await delivery
            published += len(batch)
            next_tick += tick_s if rate_per_s * tick_s >= 1 else 1.0 / rate_per_s
            await asyncio.sleep(max(0.0, next_tick - time.monotonic()))
    finally:
        await producer.stop()
    log.info("traffic generator published %d events to %s", published, topic)
    return published
