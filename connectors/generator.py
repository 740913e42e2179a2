"""Traffic generator: whole, plausible port calls at the reference ports, in every event domain.

Each port receives vessels as a Poisson process (its :class:`~connectors.traffic_profiles.
TrafficProfile`). A call is planned when the stream reaches :data:`LOOKAHEAD` before the vessel's
arrival, because some of its events come days earlier (its vessel timeline and its exports then,
the rest of its cargo two days before arrival):

- **vessel**: the actual (ACT) DCSA timestamps — port limits, anchorage in and out when the
  vessel waits (for a free berth, or held by congestion), pilot boarding, all fast, first and last
  lift, departure — plus, for some calls, an estimated arrival published a day ahead, and
  occasionally a berth shift (departure from one berth, all fast at another, mid-operations);
- **cargo**: 2-5 ship-to-shore cranes (by ship size) discharge, restow and load the call's
  containers between first and last lift. Imports leave by truck days later (gate in of the
  truck, then gate out within the hour); exports come in by truck days before they are loaded;
  transshipment boxes wait in the yard for a later call at the same port. Some boxes are moved
  within the yard;
- **customs**: imports (and some exports) are declared — lodged, a risk channel, inspections for
  the red channel, sometimes a hold — and released before they leave the terminal; declarations
  between countries with an ALADI agreement sometimes invoke a certificate of origin;
- **certificate**: each certificate a declaration invokes is submitted hours before lodgement,
  signed with test keys (:mod:`connectors.certificates`); about 6% are deliberately wrong.

Ports, calls and boxes are interleaved in one stream ordered by the time each event becomes
known: its ``published_at`` as generated, which is its ``occurred_at`` for every event except
an estimated (EST) arrival, published about a day before the time it estimates.

Reproducible: the same ports, seed, start, scale and profiles give the same events, ids included,
so a replay is de-duplicated rather than double-counted. Vessel events use their own random
streams, so ``scale`` (which thins or thickens the cargo) leaves them unchanged. The simulation
starts ``warmup`` before ``start`` and yields from ``start`` on, so the ports are already busy:
calls at berth, boxes in the yard. Memory stays bounded on an endless stream: what is held is
the calls of the next :data:`LOOKAHEAD` and the boxes and declarations still open.

:func:`publish` sends the events to the ingest topic of their domain at a given rate, never an
event before it is due by the wall clock; :func:`write_jsonl` and :func:`read_jsonl` keep a
stream in a file, so a batch reference can run on exactly what was streamed.
"""

from __future__ import annotations

import asyncio
import bisect
import collections
import heapq
import itertools
import json
import logging
import math
import random
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Final, Generic, TypeVar

from aiokafka import AIOKafkaProducer
from stdnum import imo as stdnum_imo
from stdnum import iso6346

from connectors.certificates import CertificateFault, CertificateIssuer, CertifiedShipment
from connectors.traffic_profiles import (
    INTRA_REGIONAL_SHARE,
    OUTSIDE_PARTNERS,
    OUTSIDE_PORTS,
    Goods,
    PortSize,
    TrafficProfile,
    agreement_between,
    goods_of,
    profile_for,
)
from hub.reference import Port
from schemas.avro_schemas import schema_text, subject_for
from schemas.codec import AvroCodec
from schemas.models import (
    MODELS,
    CargoEvent,
    CertificateSubmission,
    Channel,
    Classifier,
    CustomsEvent,
    CustomsKind,
    Envelope,
    Facility,
    GoodsLine,
    Move,
    Operation,
    Regime,
    Trade,
    VesselEvent,
    to_avro_datum,
)

__all__ = [
    "DEFAULT_WARMUP",
    "LOOKAHEAD",
    "PortTrafficGenerator",
    "domain_of",
    "key_of",
    "publish",
    "read_jsonl",
    "write_jsonl",
]

log = logging.getLogger(__name__)

LOOKAHEAD: Final = timedelta(days=7)
"""How long before its arrival a call is generated: longer than its earliest event precedes the
arrival (an export lodged and gated in days ahead, an estimated arrival a day ahead)."""

DEFAULT_WARMUP: Final = timedelta(days=3)
"""How long the simulation runs before ``start`` so that the ports are busy from the first event."""

_PUBLISHER: Final = "traffic-generator"

# Shares of the generated traffic (documented here, used once each below).
_EST_SHARE: Final = 0.5  # calls whose agent publishes an estimated arrival a day ahead
_BERTH_SHIFT_SHARE: Final = 0.05  # calls that shift berth mid-operations (when another is free)
_EMPTY_SHARE: Final = {Trade.IMPORT: 0.12, Trade.EXPORT: 0.15, Trade.TRANSSHIPMENT: 0.10}
_SECOND_INSPECTION_SHARE: Final = 0.2  # of red-channel declarations
_HELD_SHARE: Final = 0.04  # declarations held before release
_EXPORT_DECLARED_SHARE: Final = 0.35  # full export consignments with a declaration the hub sees
_CERTIFICATE_SHARE: Final = 0.45  # imports under an agreement that invoke a certificate
_YARD_MOVE_SHARE: Final = {Trade.IMPORT: 0.15, Trade.EXPORT: 0.10, Trade.TRANSSHIPMENT: 0.30}
# A box waits at least this long in the yard between two calls (transshipment).
_TRANSSHIPMENT_MIN_MS: Final = 6 * 3_600_000
# A transshipment box no call loaded within this time is given up (it stays open). Calls ask
# for more boxes than their share (_RELAY_DEMAND), oldest first, so this hardly ever happens.
_TRANSSHIPMENT_MAX_MS: Final = 21 * 86_400_000
_RELAY_DEMAND: Final = 1.1
_TRADERS_PER_COUNTRY: Final = 400

_REEFER_TYPE: Final = "22R1"
_TARE_KG: Final = {"22G1": 2_200, "42G1": 3_750, "45G1": 3_900, "22R1": 3_050}
_MAX_CARGO_KG: Final = {"2": 28_000, "4": 26_500}  # by length code
_OWNERS: Final = (
    "MSCU", "MAEU", "CMAU", "HLXU", "ONEU", "EGHU", "COSU", "ZIMU", "HDMU", "TGHU", "TCNU",
    "SUDU", "CAIU", "TRHU", "SEGU", "FCIU", "GESU", "TEMU", "BMOU", "TRIU",
)  # fmt: skip
_VESSEL_WORDS: Final = (
    ("Pacific", "Andes", "Caribe", "Atlantic", "Sierra", "Costa", "Rio", "Mar", "Isla", "Cabo",
     "Santa", "Bahia", "Aurora", "Austral", "Tierra"),
    ("Condor", "Trader", "Express", "Jaguar", "Star", "Spirit", "Pride", "Bridge", "Voyager",
     "Navigator", "Horizon", "Breeze"),
)  # fmt: skip
_FLAGS: Final = (("352", "3E"), ("636", "D5"), ("538", "V7"), ("248", "9H"), ("563", "9V"))
_SERVICE_NAMES: Final = (
    "WCSA", "ECSA", "CARIB", "GULF", "AMEX", "ANDES", "PACIF", "MEDSA", "ASIA", "EURSA",
    "CENAM", "MERCO",
)  # fmt: skip

_MINUTE: Final = 60_000
_HOUR: Final = 3_600_000
_DAY: Final = 86_400_000
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_ID_LOW_BITS: Final = 0xFF  # an entity's events: its random id base | the step number


# --- public helpers ---------------------------------------------------------------------------

_DOMAINS: Final[dict[type[Envelope], str]] = {model: domain for domain, model in MODELS.items()}


def domain_of(event: Envelope) -> str:
    """The domain of ``event`` (``vessel``, ``cargo``, ``customs`` or ``certificate``).

    Raises:
        ValueError: ``event`` is an envelope of no domain.
    """
    domain = _DOMAINS.get(type(event))
    if domain is None:
        domain = next((d for m, d in _DOMAINS.items() if isinstance(event, m)), None)
        if domain is None:
            raise ValueError(f"{type(event).__name__} is not an event of any domain")
    return domain


def key_of(event: Envelope) -> bytes:
    """The Kafka key of ``event``: the entity it belongs to, so that its events stay in order.

    A port call for vessel events, a container for cargo, a declaration for customs, a
    certificate for certificate submissions.
    """
    if isinstance(event, VesselEvent):
        return event.port_call_id.encode()
    if isinstance(event, CargoEvent):
        return event.container.encode()
    if isinstance(event, CustomsEvent):
        return event.declaration_id.encode()
    if isinstance(event, CertificateSubmission):
        return event.certificate_id.encode()
    raise ValueError(f"{type(event).__name__} is not an event of any domain")


def jsonl_line(event: Envelope) -> str:
    """One line of the JSONL event file: ``{"domain": ..., "event": <model JSON>}``."""
    return f'{{"domain": "{domain_of(event)}", "event": {event.model_dump_json()}}}\n'


def write_jsonl(path: Path | str, events: Iterable[Envelope]) -> int:
    """Write ``events`` to ``path``, one ``{"domain": ..., "event": ...}`` object a line.

    Returns the number of events written.
    """
    written = 0
    with Path(path).open("w", encoding="utf-8") as handle:
        for event in events:
            handle.write(jsonl_line(event))
            written += 1
    return written


def read_jsonl(path: Path | str) -> list[Envelope]:
    """The events of a file that :func:`write_jsonl` wrote, in its order.

    Raises:
        ValueError: a line is not such an object (the message names the line).
        pydantic.ValidationError: an event breaks its model.
    """
    events: list[Envelope] = []
    with Path(path).open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                model = MODELS[record["domain"]]
                event = record["event"]
            except (ValueError, KeyError, TypeError) as error:
                raise ValueError(f"{path}:{number}: not a domain and event: {error}") from None
            events.append(model.model_validate(event))
    return events


# --- the generator ----------------------------------------------------------------------------


class PortTrafficGenerator:
    """An endless, reproducible stream of the vessel, cargo and customs events of port calls.

    Args:
        ports: the ports that see traffic (at least one).
        seed: seed of every random draw; None draws one (then ``seed`` tells which).
        start: time of the first event the stream yields (aware); default a day ago.
        mean_hours_between_calls: if given, replaces every port's mean gap between calls.
        scale: multiplies the container moves of each call (and so the cargo and customs
            events); vessel timelines, and so port times and berth occupancy, do not change,
            crane and berth productivity scale with it.
        profiles: traffic profile of a port by UN/LOCODE, replacing
            :func:`~connectors.traffic_profiles.profile_for`'s with the port's configured
            ``berths``.
        warmup: how long the simulation runs before ``start``.
        certifiable: whether goods of an HS code (6 digits) may be certified under an agreement
            (its schedule); an import invokes a certificate only then, as an exporter would.
            Default: every agreement covers every code.
    """

    def __init__(
        self,
        ports: Sequence[Port],
        seed: int | None = None,
        start: datetime | None = None,
        mean_hours_between_calls: float | None = None,
        *,
        scale: float = 1.0,
        profiles: Mapping[str, TrafficProfile] | None = None,
        warmup: timedelta = DEFAULT_WARMUP,
        certifiable: Callable[[str, str], bool] | None = None,
    ) -> None:
        if not ports:
            raise ValueError("the generator needs at least one port")
        if not (scale > 0 and math.isfinite(scale)):
            raise ValueError(f"scale must be a positive number, not {scale}")
        if warmup < timedelta(0):
            raise ValueError("warmup must not be negative")
        start = start or datetime.now(UTC) - timedelta(days=1)
        if start.tzinfo is None:
            raise ValueError("start must be an aware datetime")
        self.ports = list(ports)
        self.seed = seed if seed is not None else random.randrange(2**64)
        self.start = start
        self.scale = scale
        self.warmup = warmup
        self.certifiable = certifiable or _any_goods
        chosen = profiles or {}
        self.profiles = {
            port.unlocode: chosen.get(port.unlocode) or _profile(port) for port in ports
        }
        if mean_hours_between_calls is not None:
            self.profiles = {
                code: replace(profile, mean_hours_between_calls=mean_hours_between_calls)
                for code, profile in self.profiles.items()
            }

    def events(self) -> Iterator[Envelope]:
        """Every event from ``start`` on, in the order they become known, without end.

        Each call starts the stream afresh: the same events every time.
        """
        return _Simulation(self).run(_ms(self.start))

    def events_between(self, start: datetime, end: datetime) -> Iterator[Envelope]:
        """The events with ``start <= occurred_at < end``, in stream order.

        For an estimated arrival the time compared is when it is published (a day ahead of
        what it estimates), as for every other event: the window is what the stream carried.

        Raises:
            ValueError: ``start`` is before the generator's ``start``.
        """
        if start < self.start:
            raise ValueError(f"the stream starts at {self.start.isoformat()}")
        end_ms = _ms(end)
        for event in _Simulation(self).run(_ms(start)):
            if _ms(event.published_at) >= end_ms:
                return
            yield event


# --- simulation state -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Vessel:
    imo: str
    name: str
    teu_capacity: int
    loa_m: float
    mmsi: str
    call_sign: str


@dataclass(frozen=True, slots=True)
class _Service:
    code: str
    route: tuple[str, ...]
    vessels: tuple[_Vessel, ...]

    def neighbours(self, unlocode: str) -> tuple[str, str]:
        """The ports the service calls before and after ``unlocode`` (a loop)."""
        at = self.route.index(unlocode)
        return self.route[at - 1], self.route[(at + 1) % len(self.route)]


@dataclass(frozen=True, slots=True, eq=False)  # each one is itself: hashed by identity
class _Consignment:
    """Boxes of one shipper and consignee, declared together."""

    origin: str | None
    destination: str | None
    goods: Goods | None  # None: empty boxes
    importer_id: str | None = None
    exporter_id: str | None = None


@dataclass(slots=True)
class _CallPlan:
    """What planning a call's cargo needs: its times, and how its moves are split."""

    state: _PortState
    call_id: str
    all_fast: int
    first_lift: int
    segments: list[tuple[int, int, tuple[str, ...]]]  # working spans at each berth, cranes
    nominal_moves: int  # at scale 1: sets how long the cranes work
    moves: int = 0
    discharges: int = 0
    restows: int = 0
    exports: int = 0  # of the loads; the others are transshipment boxes
    lift_seed: int = 0  # the lift times are drawn from it, alike in both planning phases


class _PortState:
    """What the simulation keeps per port between calls."""

    __slots__ = (
        "berth_free",
        "calls",
        "cargo_rng",
        "counters",
        "cranes",
        "next_arrival",
        "port",
        "profile",
        "services",
        "transshipments",
        "vessel_rng",
    )

    def __init__(
        self,
        port: Port,
        profile: TrafficProfile,
        services: list[_Service],
        vessel_rng: random.Random,
        cargo_rng: random.Random,
    ) -> None:
        self.port = port
        self.profile = profile
        self.services = services
        self.vessel_rng = vessel_rng
        self.cargo_rng = cargo_rng
        self.berth_free = [0] * profile.berths
        self.cranes = max(6, 3 * profile.berths + 2)
        self.calls = 0
        self.counters = {"truck": 0, "declaration": 0, "certificate": 0, "invoice": 0}
        self.next_arrival = 0
        # Transshipment boxes discharged here and waiting for a call to load them, oldest first.
        self.transshipments: list[_Box] = []

    def next(self, counter: str) -> int:
        self.counters[counter] += 1
        return self.counters[counter]


_VesselStep = tuple[int, int, Classifier, Operation, Facility, str | None, bool]
_BoxStep = tuple[int, Move, str | None, str | None, str | None]  # at, move, call, crane, truck
_CustomsStep = tuple[int, CustomsKind, Channel | None]
_CertificateStep = tuple[int]  # at (submitted)
_Step = TypeVar("_Step", _VesselStep, _BoxStep, _CustomsStep, _CertificateStep)


class _Entity(ABC, Generic[_Step]):
    """A call, box or declaration whose events are still to come.

    ``steps`` are its events' plans, each starting with the time the event is due; ``cursor``
    is the next one to emit, ``queued`` whether the entity is in the simulation's heap.
    """

    __slots__ = ("cursor", "id_base", "queued", "steps")

    def __init__(self, id_base: int) -> None:
        self.cursor = 0
        self.id_base = id_base & ~_ID_LOW_BITS
        self.queued = False
        self.steps: list[_Step] = []

    def event_id(self, index: int) -> uuid.UUID:
        """The id of the event of step ``index``: random, and the same on every run."""
        return uuid.UUID(int=self.id_base | index, version=4)

    @abstractmethod
    def build(self, index: int) -> Envelope:
        """The event of step ``index``."""


class _Call(_Entity[_VesselStep]):
    __slots__ = ("call_id", "next_port", "port", "previous_port", "service", "vessel")

    def __init__(
        self,
        id_base: int,
        port: str,
        call_id: str,
        vessel: _Vessel,
        service: _Service,
        previous_port: str,
        next_port: str,
    ) -> None:
        super().__init__(id_base)
        self.port = port
        self.call_id = call_id
        self.vessel = vessel
        self.service = service
        self.previous_port = previous_port
        self.next_port = next_port

    def build(self, index: int) -> Envelope:
        published, occurred, classifier, operation, facility, berth, particulars = self.steps[index]
        vessel = self.vessel
        return VesselEvent(
            event_id=self.event_id(index),
            occurred_at=_at(occurred),
            published_at=_at(published),  # replaced by the real time when published
            port=self.port,
            publisher=_PUBLISHER,
            source="AGENT" if classifier is Classifier.EST else "TERMINAL",
            port_call_id=self.call_id,
            imo=vessel.imo,
            call_sign=vessel.call_sign,
            mmsi=vessel.mmsi,
            classifier=classifier,
            operation=operation,
            facility=facility,
            berth_id=berth,
            vessel_name=vessel.name if particulars else None,
            teu_capacity=vessel.teu_capacity if particulars else None,
            loa_m=vessel.loa_m if particulars else None,
            service=self.service.code if particulars else None,
            previous_port=self.previous_port if particulars else None,
            next_port=self.next_port if particulars else None,
        )


class _Box(_Entity[_BoxStep]):
    __slots__ = (
        "destination",
        "full",
        "gross_kg",
        "hs_code",
        "number",
        "origin",
        "port",
        "ready_ms",
        "size_type",
        "trade",
        "value_cents",
    )

    def __init__(
        self,
        id_base: int,
        port: str,
        number: str,
        size_type: str,
        gross_kg: int,
        trade: Trade | None,
        consignment: _Consignment,
        value_cents: int | None,
    ) -> None:
        super().__init__(id_base)
        self.port = port
        self.number = number
        self.size_type = size_type
        self.gross_kg = gross_kg
        self.trade = trade
        self.full = consignment.goods is not None
        self.hs_code = consignment.goods.hs_code if consignment.goods else None
        self.origin = consignment.origin
        self.destination = consignment.destination
        self.value_cents = value_cents
        self.ready_ms = 0  # a transshipment box: when its connection may load it

    @property
    def cargo_kg(self) -> int:
        return self.gross_kg - _TARE_KG[self.size_type]

    def build(self, index: int) -> Envelope:
        at, move, call_id, crane_id, truck_id = self.steps[index]
        return CargoEvent(
            event_id=self.event_id(index),
            occurred_at=_at(at),
            published_at=_at(at),
            port=self.port,
            publisher=_PUBLISHER,
            source="TERMINAL",
            container=self.number,
            iso_size_type=self.size_type,
            full=self.full,
            gross_kg=self.gross_kg,
            move=move,
            port_call_id=call_id,
            crane_id=crane_id,
            truck_visit_id=truck_id,
            hs_code=self.hs_code,
            origin_country=self.origin,
            destination_country=self.destination,
            declared_value_usd=_usd(self.value_cents),
            trade=self.trade,
        )


class _Declaration(_Entity[_CustomsStep]):
    __slots__ = (
        "agreement",
        "certificate_id",
        "containers",
        "declaration_id",
        "exporter_id",
        "goods",
        "importer_id",
        "invoice_number",
        "kilograms",
        "origin",
        "port",
        "port_call_id",
        "regime",
        "value_cents",
    )

    def __init__(
        self,
        id_base: int,
        port: str,
        declaration_id: str,
        regime: Regime,
        consignment: _Consignment,
        boxes: Sequence[_Box],
        port_call_id: str,
    ) -> None:
        super().__init__(id_base)
        self.port = port
        self.declaration_id = declaration_id
        self.regime = regime
        self.importer_id = consignment.importer_id
        self.exporter_id = consignment.exporter_id
        self.containers = tuple(box.number for box in boxes)
        self.port_call_id = port_call_id
        # The goods line is built with the LODGED event: a pydantic model per open declaration
        # would be most of the memory the generator holds.
        self.goods = consignment.goods
        self.origin = consignment.origin
        self.kilograms = sum(box.cargo_kg for box in boxes)
        self.value_cents = sum(box.value_cents or 0 for box in boxes)
        self.certificate_id: str | None = None
        self.agreement: str | None = None
        self.invoice_number: str | None = None

    def goods_line(self) -> GoodsLine:
        goods = self.goods
        assert goods is not None, "only full boxes are declared"
        quantity = self.kilograms / goods.kg_per_unit
        return GoodsLine(
            hs_code=goods.hs_code,
            description=goods.description,
            quantity=Decimal(round(quantity))
            if goods.unit == "NAR"
            else Decimal(f"{quantity:.3f}"),
            unit=goods.unit,
            value_usd=Decimal(self.value_cents).scaleb(-2),
            origin_country=self.origin,
        )

    def build(self, index: int) -> Envelope:
        at, kind, channel = self.steps[index]
        lodged = kind is CustomsKind.LODGED
        return CustomsEvent(
            event_id=self.event_id(index),
            occurred_at=_at(at),
            published_at=_at(at),
            port=self.port,
            publisher=_PUBLISHER,
            source="CUSTOMS",
            declaration_id=self.declaration_id,
            kind=kind,
            channel=channel,
            regime=self.regime,
            importer_id=self.importer_id if lodged else None,
            exporter_id=self.exporter_id if lodged else None,
            goods=(self.goods_line(),) if lodged else (),
            containers=self.containers,
            port_call_id=self.port_call_id,
            certificate_id=self.certificate_id if lodged else None,
            agreement=self.agreement if lodged else None,
            invoice_number=self.invoice_number if lodged else None,
        )


class _Certificate(_Entity[_CertificateStep]):
    """The certificate of origin an import declaration invokes, submitted before lodgement."""

    __slots__ = ("declaration", "fault", "issuer", "lodged")

    def __init__(
        self,
        id_base: int,
        issuer: CertificateIssuer,
        declaration: _Declaration,
        lodged: int,
        fault: CertificateFault,
    ) -> None:
        super().__init__(id_base)
        self.issuer = issuer
        self.declaration = declaration
        self.lodged = lodged
        self.fault = fault

    def build(self, index: int) -> Envelope:
        (at,) = self.steps[index]
        declaration = self.declaration
        assert declaration.certificate_id and declaration.agreement and declaration.origin
        shipment = CertifiedShipment(
            certificate_id=declaration.certificate_id,
            agreement=declaration.agreement,
            exporting_country=declaration.origin,
            importing_country=declaration.port[:2],
            exporter_id=declaration.exporter_id or "",
            importer_id=declaration.importer_id or "",
            invoice_number=declaration.invoice_number or "",
            goods=declaration.goods_line(),
            lodged_at=_at(self.lodged),
            fault=self.fault,
        )
        return self.issuer.submission(
            shipment,
            event_id=self.event_id(index),
            occurred_at=_at(at),
            port=declaration.port,
            publisher=_PUBLISHER,
        )


def _usd(cents: int | None) -> Decimal | None:
    return None if cents is None else Decimal(cents).scaleb(-2)


# --- the simulation ---------------------------------------------------------------------------


class _Simulation:
    """One run of a generator's stream: its own random streams, heap and port states."""

    def __init__(self, generator: PortTrafficGenerator) -> None:
        master = random.Random(generator.seed)
        self.scale = generator.scale
        self.certifiable = generator.certifiable
        self.countries = sorted({port.country for port in generator.ports})
        self.partners = {
            country: [port.country for port in generator.ports if port.country != country]
            for country in self.countries
        }
        services = _services(
            random.Random(master.getrandbits(64)), generator.ports, generator.profiles
        )
        self.ports = [
            _PortState(
                port,
                generator.profiles[port.unlocode],
                [service for service in services if port.unlocode in service.route],
                random.Random(master.getrandbits(64)),
                random.Random(master.getrandbits(64)),
            )
            for port in generator.ports
        ]
        self.owner_serials = dict.fromkeys(_OWNERS, master.randrange(1_000_000))
        self.certificates = CertificateIssuer()
        self.goods: dict[str, tuple[Goods, ...]] = {}
        self.heap: list[tuple[int, int, _Entity[Any] | _PortState | _CallPlan]] = []
        self.order = itertools.count()
        # Vessels start arriving at start - warmup; their calls are planned LOOKAHEAD earlier.
        first_arrivals = _ms(generator.start - generator.warmup)
        self.clock = first_arrivals - _LOOKAHEAD_MS
        for state in self.ports:
            state.next_arrival = first_arrivals + self._gap(state)
            self._push(state.next_arrival - _LOOKAHEAD_MS, state)

    def run(self, from_ms: int) -> Iterator[Envelope]:
        """The events due at or after ``from_ms``, in order; earlier ones are only simulated."""
        heap = self.heap
        while True:
            due, _, item = heapq.heappop(heap)
            self.clock = due
            if isinstance(item, _PortState):
                self._next_call(item)
                continue
            if isinstance(item, _CallPlan):
                self._inbound(item)
                continue
            index = item.cursor
            item.cursor += 1
            if item.cursor < len(item.steps):
                self._push(item.steps[item.cursor][0], item)
            else:
                item.queued = False
            if due >= from_ms:
                yield item.build(index)

    def _push(self, due: int, item: _Entity[Any] | _PortState | _CallPlan) -> None:
        if due < self.clock:  # an event in the past would break the stream's order
            raise AssertionError(f"scheduled at {_at(due)}, before the clock {_at(self.clock)}")
        if isinstance(item, _Entity):
            item.queued = True
        heapq.heappush(self.heap, (due, next(self.order), item))

    def _enqueue(self, entity: _Entity[Any]) -> None:
        """Queue an entity that is not queued, at its next step (its steps sorted first)."""
        if entity.cursor == 0:
            entity.steps.sort(key=_due)
        self._push(entity.steps[entity.cursor][0], entity)

    def _gap(self, state: _PortState) -> int:
        mean_h = state.profile.mean_hours_between_calls
        return _hours(state.vessel_rng.expovariate(1 / mean_h))

    # --- a call ---------------------------------------------------------------------------

    def _next_call(self, state: _PortState) -> None:
        """Plan the call arriving next at the port (its vessel events and exports now, the rest
        of its cargo :data:`_CARGO_LEAD` before arrival), and schedule the one after."""
        arrival = state.next_arrival
        state.next_arrival = arrival + self._gap(state)
        self._push(state.next_arrival - _LOOKAHEAD_MS, state)
        plan = self._vessel_call(state, arrival)
        self._outbound(state, plan)
        self._push(arrival - _CARGO_LEAD_MS, plan)

    def _vessel_call(self, state: _PortState, arrival: int) -> _CallPlan:
        """Plan a call's vessel timeline, queue its events, and book its berths."""
        rng, profile, port = state.vessel_rng, state.profile, state.port.unlocode
        state.calls += 1
        service = rng.choice(state.services)
        vessel = rng.choice(service.vessels)
        previous_port, next_port = service.neighbours(port)
        call_id = f"{port}-{_at(arrival):%Y%m%d}-{state.calls:05d}"
        call = _Call(rng.getrandbits(128), port, call_id, vessel, service, previous_port, next_port)
        steps = call.steps
        if rng.random() < _EST_SHARE:
            estimate = arrival + _minutes(rng.gauss(0, 90))
            steps.append((arrival - _hours(rng.uniform(20, 28)), estimate, Classifier.EST,
                          Operation.ARRI, Facility.PORT, None, True))  # fmt: skip
        steps.append(_act(arrival, Operation.ARRI, Facility.PORT, particulars=True))

        approach, pilotage = _minutes(rng.uniform(40, 100)), _minutes(rng.uniform(45, 90))
        unhindered = arrival + approach + pilotage
        berth = min(range(profile.berths), key=state.berth_free.__getitem__)
        held = 0
        if profile.anchorage_mean_h and rng.random() < profile.anchorage_share:
            held = _hours(rng.expovariate(1 / profile.anchorage_mean_h))
        all_fast = max(unhindered + held, state.berth_free[berth])
        boarding = all_fast - pilotage
        if all_fast - unhindered > 45 * _MINUTE:
            anchored = arrival + _minutes(rng.uniform(15, 40))
            weighed = boarding - _minutes(rng.uniform(20, 45))
            if weighed > anchored + 15 * _MINUTE:
                steps.append(_act(anchored, Operation.ARRI, Facility.ANCH))
                steps.append(_act(weighed, Operation.DEPA, Facility.ANCH))
        steps.append(_act(boarding, Operation.ARRI, Facility.PBPL))
        berth_id = f"B{berth + 1}"
        steps.append(_act(all_fast, Operation.ARRI, Facility.BRTH, berth_id))

        low, high = profile.moves_per_call
        size = min(1.0, max(0.0, (vessel.teu_capacity - 1_000) / 14_000))
        nominal = round(low + (high - low) * (0.6 * size + 0.4 * rng.random()))
        cranes = _cranes_for(vessel.teu_capacity)
        rate = profile.crane_moves_per_hour * rng.uniform(0.8, 1.2)
        working = _hours(max(1.0, nominal / (cranes * rate)))
        first_lift = all_fast + _minutes(rng.uniform(30, 90))
        steps.append(_act(first_lift, Operation.STRT, Facility.BRTH, berth_id))
        segments = [(first_lift, first_lift + working, self._crane_ids(state, berth, cranes))]
        last_berth, last_berth_id = berth, berth_id
        if profile.berths > 1 and working > 6 * _HOUR and rng.random() < _BERTH_SHIFT_SHARE:
            stop = first_lift + round(working * rng.uniform(0.3, 0.7))
            leave = stop + _minutes(rng.uniform(20, 40))
            free = [b for b in range(profile.berths) if b != berth and state.berth_free[b] <= leave]
            if free:
                last_berth = rng.choice(free)
                last_berth_id = f"B{last_berth + 1}"
                moored = leave + _minutes(rng.uniform(40, 90))
                resume = moored + _minutes(rng.uniform(30, 60))
                # The cranes travel along the quay with the ship.
                cranes_working = segments[0][2]
                segments = [
                    (first_lift, stop, cranes_working),
                    (resume, resume + working - (stop - first_lift), cranes_working),
                ]
                steps.append(_act(leave, Operation.DEPA, Facility.BRTH, berth_id))
                steps.append(_act(moored, Operation.ARRI, Facility.BRTH, last_berth_id))
                state.berth_free[berth] = leave + _minutes(rng.uniform(30, 60))
        last_lift = segments[-1][1]
        departure = last_lift + _minutes(rng.uniform(45, 150))
        steps.append(_act(last_lift, Operation.CMPL, Facility.BRTH, last_berth_id))
        steps.append(_act(departure, Operation.DEPA, Facility.BRTH, last_berth_id))
        state.berth_free[last_berth] = departure + _minutes(rng.uniform(30, 60))
        self._enqueue(call)
        return _CallPlan(state, call_id, all_fast, first_lift, segments, nominal)

    def _crane_ids(self, state: _PortState, berth: int, count: int) -> tuple[str, ...]:
        """``count`` neighbouring cranes along the quay at ``berth`` (numbered from one end)."""
        first = min(3 * berth, state.cranes - count)
        return tuple(f"STS-{first + k + 1:02d}" for k in range(count))

    # --- its cargo ------------------------------------------------------------------------

    def _outbound(self, state: _PortState, plan: _CallPlan) -> None:
        """Size the call's cargo, and plan its exports (they come in by truck days ahead)."""
        rng, share = state.cargo_rng, state.profile.transshipment_share
        plan.moves = max(1, _round(rng, plan.nominal_moves * self.scale))
        plan.restows = _round(rng, plan.moves * rng.uniform(0.01, 0.03))
        plan.discharges = round((plan.moves - plan.restows) * rng.uniform(0.42, 0.58))
        loads = plan.moves - plan.restows - plan.discharges
        plan.exports = loads - min(loads, _round(rng, loads * share * _RELAY_DEMAND))
        plan.lift_seed = rng.getrandbits(64)
        exports = self._consignments(state, plan.exports, Trade.EXPORT)
        leaving = [box for boxes in exports.values() for box in boxes]
        rng.shuffle(leaving)
        loading, _ = _split(self._lifts(plan)[plan.discharges + plan.restows :], plan.exports)
        for box, (at, crane) in zip(leaving, loading, strict=True):
            box.steps.append((at, Move.LOAD, plan.call_id, crane, None))
        for consignment, boxes in exports.items():
            self._export(state, plan, consignment, boxes)
        for box in leaving:
            self._enqueue(box)

    def _inbound(self, plan: _CallPlan) -> None:
        """The rest of the call's cargo: imports (and their customs), transshipment, restows."""
        state = plan.state
        rng, share = state.cargo_rng, state.profile.transshipment_share
        lifts = self._lifts(plan)
        unloading = lifts[: plan.discharges]
        restowing = lifts[plan.discharges : plan.discharges + plan.restows]
        _, relaying = _split(lifts[plan.discharges + plan.restows :], plan.exports)
        relayed = self._take_transshipments(state, plan, len(relaying))
        rng.shuffle(relayed)
        imports = self._consignments(
            state, _round(rng, plan.discharges * (1 - share)), Trade.IMPORT
        )
        arriving = [box for boxes in imports.values() for box in boxes]
        arriving += [
            self._box(state, Trade.TRANSSHIPMENT, self._transit_consignment(state))
            for _ in range(plan.discharges - len(arriving))
        ]
        rng.shuffle(arriving)
        # Restowed boxes are other ports' cargo: no trade here.
        restowed = [self._box(state, None, self._transit_consignment(state)) for _ in restowing]
        for boxes, lifted, move in (
            (arriving, unloading, Move.DISC),
            (restowed, restowing, Move.RSTW),
            (relayed, relaying, Move.LOAD),  # fewer boxes than slots when too few are waiting
        ):
            for box, (at, crane) in zip(boxes, lifted, strict=False):
                box.steps.append((at, move, plan.call_id, crane, None))

        for consignment, boxes in imports.items():
            self._import(state, plan, consignment, boxes)
        for box in arriving:
            if box.trade is Trade.TRANSSHIPMENT:
                discharged = box.steps[0][0]
                connection = min(10.0, max(0.5, rng.lognormvariate(math.log(2.5), 0.6)))
                box.ready_ms = discharged + _days(connection)
                if rng.random() < _YARD_MOVE_SHARE[Trade.TRANSSHIPMENT]:
                    moved = discharged + _hours(rng.uniform(1, 24))
                    box.steps.append((moved, Move.YARD, *_NO_IDS))
                state.transshipments.append(box)
        for box in itertools.chain(arriving, restowed, relayed):
            if not box.queued:  # a relayed box may still be queued for its earlier moves
                self._enqueue(box)

    def _lifts(self, plan: _CallPlan) -> list[tuple[int, str]]:
        """The times and cranes of the call's lifts: the same in both phases of its planning."""
        return _lift_times(random.Random(plan.lift_seed), plan.segments, plan.moves)

    def _take_transshipments(self, state: _PortState, plan: _CallPlan, room: int) -> list[_Box]:
        """Up to ``room`` boxes discharged by earlier calls for this one to load, oldest first.

        A box is ready once its connection time has passed and its last move is
        :data:`_TRANSSHIPMENT_MIN_MS` behind it.
        """
        ready_by = plan.first_lift - _TRANSSHIPMENT_MIN_MS
        give_up_before = plan.first_lift - _TRANSSHIPMENT_MAX_MS
        taken: list[_Box] = []
        waiting: list[_Box] = []
        for box in state.transshipments:
            ready = box.steps[-1][0] <= ready_by and box.ready_ms <= plan.first_lift
            if ready and len(taken) < room:
                taken.append(box)
            elif box.steps[0][0] > give_up_before:
                waiting.append(box)
        state.transshipments = waiting
        return taken

    def _consignments(
        self, state: _PortState, count: int, trade: Trade
    ) -> dict[_Consignment, list[_Box]]:
        """``count`` boxes of ``trade`` in consignments of 1-3 boxes (empties 1 each)."""
        rng, country = state.cargo_rng, state.port.country
        result: dict[_Consignment, list[_Box]] = {}
        left = count
        while left > 0:
            if rng.random() < _EMPTY_SHARE[trade]:
                partner = self._partner(rng, country)
                origin, destination = (
                    (partner, country) if trade is Trade.IMPORT else (country, partner)
                )
                consignment = _Consignment(origin, destination, None)
                result[consignment] = [self._box(state, trade, consignment)]
                left -= 1
                continue
            boxes = min(left, _CONSIGNMENT_BOXES.draw(rng))
            partner = self._partner(rng, country)
            if trade is Trade.IMPORT:
                consignment = _Consignment(
                    partner,
                    country,
                    self._goods(rng, partner),
                    _trader(rng, country),
                    _trader(rng, partner),
                )
            else:
                consignment = _Consignment(
                    country,
                    partner,
                    self._goods(rng, country),
                    _trader(rng, partner),
                    _trader(rng, country),
                )
            result[consignment] = [self._box(state, trade, consignment) for _ in range(boxes)]
            left -= boxes
        return result

    def _transit_consignment(self, state: _PortState) -> _Consignment:
        """Origin and destination of a transshipment box: neither is this port's country."""
        rng, country = state.cargo_rng, state.port.country
        origin = self._partner(rng, country)
        destination = self._partner(rng, country)
        while destination == origin:
            destination = self._partner(rng, country, regional=rng.random() < 0.5)
        if rng.random() < _EMPTY_SHARE[Trade.TRANSSHIPMENT]:
            return _Consignment(origin, destination, None)
        return _Consignment(origin, destination, self._goods(rng, origin))

    def _partner(self, rng: random.Random, country: str, regional: bool | None = None) -> str:
        """A trade partner of ``country``: in the region (weighted by its ports) or outside."""
        if regional is None:
            regional = rng.random() < INTRA_REGIONAL_SHARE
        others = self.partners.get(country, [])
        if regional and others:
            return rng.choice(others)
        return _OUTSIDE.draw(rng)

    def _goods(self, rng: random.Random, origin: str) -> Goods:
        """Goods that ``origin`` produces."""
        produced = self.goods.get(origin)
        if produced is None:
            produced = self.goods[origin] = goods_of(origin)
        return rng.choice(produced)

    def _box(self, state: _PortState, trade: Trade | None, consignment: _Consignment) -> _Box:
        rng = state.cargo_rng
        goods = consignment.goods
        if goods is not None and goods.reefer:
            size_type = _REEFER_TYPE
        else:
            size_type = _DRY_SIZE_TYPES.draw(rng)
        cargo_kg, value_cents = 0, None
        if goods is not None:
            per_teu = rng.uniform(*goods.tonnes_per_teu) * 1_000
            cargo_kg = round(min(per_teu * (1 if size_type[0] == "2" else 1.3),
                                 _MAX_CARGO_KG[size_type[0]]))  # fmt: skip
            value_cents = round(cargo_kg * rng.uniform(*goods.usd_per_kg) * 100)
        return _Box(
            rng.getrandbits(128),
            state.port.unlocode,
            self._container_number(rng),
            size_type,
            _TARE_KG[size_type] + cargo_kg,
            trade,
            consignment,
            value_cents,
        )

    def _container_number(self, rng: random.Random) -> str:
        """A valid ISO 6346 number, unique until its owner's million serials come round again."""
        owner = rng.choice(_OWNERS)
        self.owner_serials[owner] += 1
        serial = f"{owner}{self.owner_serials[owner] * 389_419 % 1_000_000:06d}"
        return serial + iso6346.calc_check_digit(serial)

    def _truck(self, state: _PortState) -> str:
        return f"{state.port.unlocode}-TV{state.next('truck'):08d}"

    # --- imports and exports ----------------------------------------------------------------

    def _import(
        self, state: _PortState, plan: _CallPlan, consignment: _Consignment, boxes: list[_Box]
    ) -> None:
        """Customs (for full boxes), yard moves and the truck that takes each box away."""
        rng = state.cargo_rng
        released = max(box.steps[0][0] for box in boxes)
        inspected_from: int | None = None
        if consignment.goods is not None:
            released, inspected_from = self._import_declaration(state, plan, consignment, boxes)
        for box in boxes:
            discharged = box.steps[0][0]
            dwell = _days(min(20.0, max(0.5, rng.lognormvariate(math.log(3.5), 0.5))))
            gate_out = max(discharged + dwell, released + _hours(rng.uniform(1, 24)))
            gate_in = gate_out - _minutes(rng.uniform(10, 60))
            if inspected_from is not None:  # to the inspection area
                moved = max(
                    discharged + 10 * _MINUTE, inspected_from - _minutes(rng.uniform(30, 180))
                )
                box.steps.append((moved, Move.YARD, *_NO_IDS))
            elif rng.random() < _YARD_MOVE_SHARE[Trade.IMPORT]:
                moved = discharged + round((gate_in - discharged) * rng.uniform(0.1, 0.5))
                box.steps.append((moved, Move.YARD, *_NO_IDS))
            truck = self._truck(state)
            box.steps.append((gate_in, Move.GTIN, None, None, truck))
            box.steps.append((gate_out, Move.GTOT, None, None, truck))

    def _import_declaration(
        self, state: _PortState, plan: _CallPlan, consignment: _Consignment, boxes: list[_Box]
    ) -> tuple[int, int | None]:
        """Queue the declaration of an import consignment.

        Returns when it is released, and when its first physical inspection starts (if any).
        """
        rng = state.cargo_rng
        declaration = self._declaration(state, plan, consignment, boxes, Regime.IMPORT)
        exporting, importing = consignment.origin, consignment.destination
        agreement = agreement_between(exporting, importing) if exporting and importing else None
        goods = consignment.goods
        if (
            agreement
            and goods is not None
            and rng.random() < _CERTIFICATE_SHARE
            and self.certifiable(agreement, goods.hs_code)
        ):
            year = _at(plan.all_fast).year
            number = state.next("certificate")
            declaration.agreement = agreement
            declaration.certificate_id = (
                f"{exporting}-{agreement}-{year}-{state.port.unlocode[2:]}{number:06d}"
            )
        if declaration.certificate_id or rng.random() < 0.5:
            declaration.invoice_number = (
                f"INV-{_at(plan.all_fast).year}-{state.next('invoice'):07d}"
            )

        last_discharge = max(box.steps[0][0] for box in boxes)
        lodged = max(self.clock, plan.all_fast + _hours(rng.uniform(-48, 24)))
        if declaration.certificate_id:
            certificate = _Certificate(
                rng.getrandbits(128),
                self.certificates,
                declaration,
                lodged,
                _CERTIFICATE_FAULTS.draw(rng),
            )
            certificate.steps.append((max(self.clock, lodged - _hours(rng.uniform(2, 72))),))
            self._enqueue(certificate)
        assigned = max(lodged, plan.all_fast) + _minutes(rng.uniform(5, 180))
        channel = _IMPORT_CHANNELS.draw(rng)
        steps = declaration.steps
        steps += [(lodged, CustomsKind.LODGED, None), (assigned, CustomsKind.CHANNEL, channel)]
        inspected_from = None
        if channel is Channel.GREEN:
            released = assigned + _minutes(rng.uniform(5, 120))
        elif channel is Channel.YELLOW:
            released = assigned + _hours(rng.uniform(4, 36))
        else:
            start = inspected_from = max(assigned, last_discharge) + _hours(rng.uniform(3, 36))
            for _ in range(2 if rng.random() < _SECOND_INSPECTION_SHARE else 1):
                finish = start + _hours(rng.uniform(1, 5))
                steps.append((start, CustomsKind.INSPECTION_STARTED, None))
                steps.append((finish, CustomsKind.INSPECTION_FINISHED, None))
                start = finish + _hours(rng.uniform(6, 48))
            released = finish + _hours(rng.uniform(1, 12))
        if rng.random() < _HELD_SHARE:
            steps.append((released, CustomsKind.HELD, None))
            released += _hours(rng.uniform(24, 144))
        steps.append((released, CustomsKind.RELEASED, None))
        self._enqueue(declaration)
        return released, inspected_from

    def _export(
        self, state: _PortState, plan: _CallPlan, consignment: _Consignment, boxes: list[_Box]
    ) -> None:
        """The truck that brings each box days before it is loaded; some are declared."""
        rng = state.cargo_rng
        for box in boxes:
            loaded = box.steps[0][0]
            dwell = _days(min(5.0, max(0.4, rng.lognormvariate(math.log(2.5), 0.45))))
            gate_in = loaded - dwell
            box.steps.append((gate_in, Move.GTIN, None, None, self._truck(state)))
            if rng.random() < _YARD_MOVE_SHARE[Trade.EXPORT]:
                moved = gate_in + round(dwell * rng.uniform(0.2, 0.8))
                box.steps.append((moved, Move.YARD, *_NO_IDS))
        if consignment.goods is None or rng.random() >= _EXPORT_DECLARED_SHARE:
            return
        declaration = self._declaration(state, plan, consignment, boxes, Regime.EXPORT)
        gate_ins = [step[0] for box in boxes for step in box.steps if step[1] is Move.GTIN]
        first_in, last_in = min(gate_ins), max(gate_ins)
        first_load = min(box.steps[0][0] for box in boxes)
        lodged = max(self.clock, first_in - _hours(rng.uniform(2, 30)))
        assigned = lodged + _minutes(rng.uniform(5, 60))
        channel = _EXPORT_CHANNELS.draw(rng)
        steps: list[_CustomsStep] = [
            (lodged, CustomsKind.LODGED, None),
            (assigned, CustomsKind.CHANNEL, channel),
        ]
        if channel is Channel.GREEN:
            released = assigned + _minutes(rng.uniform(5, 60))
        elif channel is Channel.YELLOW:
            released = assigned + _hours(rng.uniform(2, 12))
        else:
            start = max(assigned, last_in) + _hours(rng.uniform(1, 8))
            finish = start + _hours(rng.uniform(1, 3))
            steps.append((start, CustomsKind.INSPECTION_STARTED, None))
            steps.append((finish, CustomsKind.INSPECTION_FINISHED, None))
            released = finish + _hours(rng.uniform(0.5, 3))
        if released > first_load - _HOUR:  # no time for that before the ship: waved through
            steps = [(lodged, CustomsKind.LODGED, None),
                     (assigned, CustomsKind.CHANNEL, Channel.GREEN)]  # fmt: skip
            released = assigned + _minutes(rng.uniform(5, 30))
        steps.append((released, CustomsKind.RELEASED, None))
        declaration.steps = steps
        self._enqueue(declaration)

    def _declaration(
        self,
        state: _PortState,
        plan: _CallPlan,
        consignment: _Consignment,
        boxes: list[_Box],
        regime: Regime,
    ) -> _Declaration:
        letter = "IM" if regime is Regime.IMPORT else "EX"
        number = f"{state.port.unlocode}-{_at(plan.all_fast).year}-{letter}"
        number += f"{state.next('declaration'):07d}"
        return _Declaration(
            state.cargo_rng.getrandbits(128),
            state.port.unlocode,
            number,
            regime,
            consignment,
            boxes,
            plan.call_id,
        )


# --- liner services ---------------------------------------------------------------------------


def _services(
    rng: random.Random, ports: Sequence[Port], profiles: Mapping[str, TrafficProfile]
) -> list[_Service]:
    """Liner services calling the ports (larger ports in more services), with their fleets.

    Every port is in at least one service; services that call a small port use smaller ships.
    """
    weight = {PortSize.SMALL: 1.0, PortSize.MEDIUM: 2.0, PortSize.LARGE: 5.0}
    codes = [port.unlocode for port in ports]
    routes: list[list[str]] = []
    for _ in range(max(3, round(len(codes) * 0.7))):
        stops = _weighted_sample(
            rng, codes, [weight[profiles[code].size] for code in codes], rng.randint(3, 6)
        )
        routes.append(stops + rng.sample(OUTSIDE_PORTS, rng.randint(0, 2)))
    for code in codes:
        if not any(code in route for route in routes):
            rng.choice(routes).insert(0, code)
    names = [f"{a} {b}" for a in _VESSEL_WORDS[0] for b in _VESSEL_WORDS[1]]
    rng.shuffle(names)
    named = itertools.count()
    services: list[_Service] = []
    for number, route in enumerate(routes):
        feeder = any(profiles[code].size is PortSize.SMALL for code in route if code in codes)
        low, high = (1_000, 4_500) if feeder else (3_500, 15_000)
        vessels = []
        for _ in range(rng.randint(3, 7)):
            teu = round(rng.uniform(low, high), -2)
            digits = f"{rng.randint(900_000, 999_999)}"
            mid, prefix = rng.choice(_FLAGS)
            vessels.append(
                _Vessel(
                    imo=digits + stdnum_imo.calc_check_digit(digits),
                    name=_name(names, next(named)),
                    teu_capacity=int(teu),
                    loa_m=round(70 + 2.6 * math.sqrt(teu), 1),
                    mmsi=f"{mid}{rng.randint(0, 999_999):06d}",
                    call_sign=prefix
                    + "".join(rng.choices("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789", k=4)),
                )
            )
        code = f"{_SERVICE_NAMES[number % len(_SERVICE_NAMES)]}{number // len(_SERVICE_NAMES) + 1}"
        services.append(_Service(code, tuple(route), tuple(vessels)))
    return services


def _any_goods(agreement: str, hs_code: str) -> bool:
    return True


def _profile(port: Port) -> TrafficProfile:
    """The port's traffic profile, with the berth count its ports file gives (if any)."""
    profile = profile_for(port.unlocode)
    return replace(profile, berths=port.berths) if port.berths else profile


def _name(names: Sequence[str], number: int) -> str:
    """The ``number``-th vessel name: the list, then the list again with II, III, ..."""
    rounds, at = divmod(number, len(names))
    return names[at] + (f" {'I' * (rounds + 1)}" if rounds else "")


def _weighted_sample(
    rng: random.Random, items: Sequence[str], weights: Sequence[float], count: int
) -> list[str]:
    pool, pool_weights = list(items), list(weights)
    chosen: list[str] = []
    for _ in range(min(count, len(pool))):
        at = rng.choices(range(len(pool)), pool_weights)[0]
        chosen.append(pool.pop(at))
        pool_weights.pop(at)
    return chosen


# --- small pieces -----------------------------------------------------------------------------

_LOOKAHEAD_MS: Final = LOOKAHEAD // timedelta(milliseconds=1)
# The rest of a call's cargo is planned this long before arrival: its earliest event, an import
# declaration lodged ahead of the ship, is at most 48 h before all fast.
_CARGO_LEAD_MS: Final = 2 * _DAY
_T = TypeVar("_T")

_NO_IDS: Final[tuple[None, None, None]] = (None, None, None)


def _lift_times(
    rng: random.Random, segments: Sequence[tuple[int, int, tuple[str, ...]]], count: int
) -> list[tuple[int, str]]:
    """Times and cranes of ``count`` lifts, in the order given (discharges first, then loads).

    Moves are dealt to the cranes in turn; each crane spreads its moves over its working span.
    The first crane works the whole of each segment, so the first lift is at its start and the
    last at the end of the last segment; the others start a little later and end earlier.
    """
    total = sum(end - start for start, end, _ in segments) or 1
    lifts: list[tuple[int, str]] = []
    for position, (start, end, cranes) in enumerate(segments):
        if position == len(segments) - 1:
            moves = count - len(lifts)
        else:
            moves = min(count - len(lifts), round(count * (end - start) / total))
        slots: list[tuple[int, str]] = [(start, cranes[0])] * moves
        span = end - start
        for k, crane in enumerate(cranes):
            mine = range(k, moves, len(cranes))
            if not mine:
                continue
            begin, finish = start, end
            if k:
                begin += round(span * rng.uniform(0, 0.08))
                finish -= round(span * rng.uniform(0, 0.12))
            step = (finish - begin) / (len(mine) - 1) if len(mine) > 1 else 0.0
            for j, index in enumerate(mine):
                jitter = rng.uniform(-0.3, 0.3) * step if 0 < j < len(mine) - 1 else 0.0
                slots[index] = (begin + round(step * j + jitter), crane)
        lifts += slots
    return lifts


def _split(items: Sequence[_T], count: int) -> tuple[list[_T], list[_T]]:
    """``count`` of ``items`` spread evenly over the sequence, and the others (both in order)."""
    chosen: list[_T] = []
    others: list[_T] = []
    total = len(items)
    for index, item in enumerate(items):
        if (index + 1) * count // total > index * count // total:
            chosen.append(item)
        else:
            others.append(item)
    return chosen, others


def _due(step: tuple[Any, ...]) -> int:
    due: int = step[0]
    return due


def _cranes_for(teu_capacity: int) -> int:
    """Ship-to-shore cranes working a ship: 2 for a feeder, up to 5 for the largest."""
    return (
        2
        if teu_capacity < 3_000
        else 3
        if teu_capacity < 6_000
        else (4 if teu_capacity < 10_000 else 5)
    )


def _trader(rng: random.Random, country: str) -> str:
    """The tax id of one of a country's regular traders (stable across runs)."""
    number = rng.randint(1, _TRADERS_PER_COUNTRY)
    return f"{country}{number * 2_654_435_761 % 10**10:010d}"


class _Weighted(Generic[_T]):
    """Items drawn with given weights (``random.choices`` without its per-call set-up)."""

    __slots__ = ("cumulative", "items", "total")

    def __init__(self, weighted: Iterable[tuple[_T, float]]) -> None:
        pairs = list(weighted)
        self.items = [item for item, _ in pairs]
        self.cumulative = list(itertools.accumulate(weight for _, weight in pairs))
        self.total = self.cumulative[-1]

    def draw(self, rng: random.Random) -> _T:
        return self.items[bisect.bisect(self.cumulative, rng.random() * self.total)]


_OUTSIDE: Final = _Weighted(OUTSIDE_PARTNERS)
_IMPORT_CHANNELS: Final = _Weighted(
    [(Channel.GREEN, 0.7), (Channel.YELLOW, 0.2), (Channel.RED, 0.1)]
)
_EXPORT_CHANNELS: Final = _Weighted(
    [(Channel.GREEN, 0.8), (Channel.YELLOW, 0.15), (Channel.RED, 0.05)]
)
_CONSIGNMENT_BOXES: Final = _Weighted([(1, 0.6), (2, 0.25), (3, 0.15)])
# Certificates deliberately wrong, as real ones sometimes are: ~6% in all.
_CERTIFICATE_FAULTS: Final = _Weighted(
    [
        (CertificateFault.NONE, 0.94),
        (CertificateFault.QUANTITY_EXCEEDED, 0.02),
        (CertificateFault.DECLARATION_MISMATCH, 0.015),
        (CertificateFault.EXPIRED, 0.015),
        (CertificateFault.SIGNER_UNKNOWN, 0.01),
    ]
)
_DRY_SIZE_TYPES: Final = _Weighted([("22G1", 0.35), ("42G1", 0.15), ("45G1", 0.50)])


def _round(rng: random.Random, value: float) -> int:
    """``value`` rounded up or down at random, so that sums keep their expectation."""
    whole = math.floor(value)
    return whole + (1 if rng.random() < value - whole else 0)


def _act(
    at: int,
    operation: Operation,
    facility: Facility,
    berth: str | None = None,
    particulars: bool = False,
) -> _VesselStep:
    return (at, at, Classifier.ACT, operation, facility, berth, particulars)


def _minutes(value: float) -> int:
    return round(value * _MINUTE)


def _hours(value: float) -> int:
    return round(value * _HOUR)


def _days(value: float) -> int:
    return round(value * _DAY)


def _ms(moment: datetime) -> int:
    """Milliseconds since the epoch (exact, unlike ``timestamp()``)."""
    return (moment - _EPOCH) // timedelta(milliseconds=1)


def _at(ms: int) -> datetime:
    return _EPOCH + timedelta(milliseconds=ms)


# --- publishing -------------------------------------------------------------------------------


def _take(events: Iterator[Envelope], count: int) -> list[Envelope]:
    return list(itertools.islice(events, count))


async def publish(
    bootstrap: str,
    topic_for: Callable[[str], str],
    generator: PortTrafficGenerator,
    rate_per_s: float,
    stop: asyncio.Event,
    codec: AvroCodec,
    limit: int | None = None,
    record: Callable[[Envelope], object] | None = None,
) -> int:
    """Publish the generator's events at ``rate_per_s`` until ``stop`` is set.

    Each event goes to the topic ``topic_for(domain)`` (Confluent Avro, the domain's schema
    registered through ``codec`` under the topic's subject), keyed by its entity
    (:func:`key_of`), with ``published_at`` set to the time it is sent. No event is sent before
    it is due by the wall clock (an actual event before it happened); history is sent at the
    rate, then the stream follows the clock.

    The events are generated in a worker thread, a chunk at a time: planning a large call, or
    the warm-up before the first event (about a minute at scale 1), would otherwise stall the
    event loop this runs on, and the HTTP API with it.

    Returns the number of events published.
    """
    routes: dict[str, tuple[str, str, str]] = {}

    def route(domain: str) -> tuple[str, str, str]:
        if domain not in routes:
            topic = topic_for(domain)
            routes[domain] = (topic, subject_for(topic), schema_text(domain))
        return routes[domain]

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=20)
    await producer.start()
    published: dict[str, int] = {}
    events = generator.events()
    tick_s = 0.1
    per_tick = max(rate_per_s * tick_s, 1.0)
    chunk = min(max(round(2 * per_tick), 1), 5_000)
    budget = 0.0
    upcoming: collections.deque[Envelope] = collections.deque()
    next_tick = time.monotonic()
    total = 0
    try:
        while not stop.is_set() and (limit is None or total < limit):
            budget = min(budget + per_tick, 2 * per_tick)  # no burst after a wait
            batch: list[asyncio.Future[object]] = []
            while budget >= 1.0 and (limit is None or total + len(batch) < limit):
                if not upcoming:
                    upcoming.extend(await asyncio.to_thread(_take, events, chunk))
                now = datetime.now(UTC)
                if upcoming[0].published_at > now:
                    break  # caught up with the wall clock: hold it until it is due
                event = upcoming.popleft()
                now = now.replace(microsecond=now.microsecond // 1000 * 1000)
                event = event.model_copy(update={"published_at": now})
                topic, subject, schema = route(domain_of(event))
                value = await codec.encode(subject, schema, to_avro_datum(event))
                batch.append(await producer.send(topic, value, key=key_of(event)))
                if record is not None:
                    record(event)  # exactly what was streamed, for the batch reference
                published[topic] = published.get(topic, 0) + 1
                budget -= 1.0
            for delivery in batch:
                await delivery
            total += len(batch)
            next_tick += tick_s if rate_per_s * tick_s >= 1 else 1.0 / rate_per_s
            await asyncio.sleep(max(0.0, next_tick - time.monotonic()))
    finally:
        await producer.stop()
    log.info(
        "traffic generator published %d events (%s)",
        total,
        ", ".join(f"{count} to {topic}" for topic, count in sorted(published.items())),
    )
    return total
