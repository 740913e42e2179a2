"""The simulation's state: ports, services, consignments, and the entities whose events are
still to come (calls, boxes, declarations, certificates), each building its own events.
"""

from __future__ import annotations

import random
import uuid
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Final, Generic, TypeVar

from connectors.certificates import CertificateFault, CertificateIssuer, CertifiedShipment
from connectors.simulator.parameters import TARE_KG
from connectors.simulator.units import datetime_at
from connectors.traffic_profiles import Goods, TrafficProfile
from hub.domain.reference import Port
from schemas.models import (
    CargoEvent,
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
)

_PUBLISHER: Final = "traffic-generator"

_ID_LOW_BITS: Final = 0xFF  # an entity's events: its random id base | the step number


@dataclass(frozen=True, slots=True)
class Vessel:
    imo: str
    name: str
    teu_capacity: int
    loa_m: float
    mmsi: str
    call_sign: str


@dataclass(frozen=True, slots=True)
class Service:
    code: str
    route: tuple[str, ...]
    vessels: tuple[Vessel, ...]

    def neighbours(self, unlocode: str) -> tuple[str, str]:
        """The ports the service calls before and after ``unlocode`` (a loop)."""
        at = self.route.index(unlocode)
        return self.route[at - 1], self.route[(at + 1) % len(self.route)]


@dataclass(frozen=True, slots=True, eq=False)  # each one is itself: hashed by identity
class Consignment:
    """Boxes of one shipper and consignee, declared together."""

    origin: str | None
    destination: str | None
    goods: Goods | None  # None: empty boxes
    importer_id: str | None = None
    exporter_id: str | None = None


@dataclass(slots=True)
class CallPlan:
    """What planning a call's cargo needs: its times, and how its moves are split."""

    state: PortState
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


class PortState:
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
        services: list[Service],
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
        self.transshipments: list[Box] = []

    def next(self, counter: str) -> int:
        self.counters[counter] += 1
        return self.counters[counter]


VesselStep = tuple[int, int, Classifier, Operation, Facility, str | None, bool]
BoxStep = tuple[int, Move, str | None, str | None, str | None]  # at, move, call, crane, truck
CustomsStep = tuple[int, CustomsKind, Channel | None]
CertificateStep = tuple[int]  # at (submitted)
_Step = TypeVar("_Step", VesselStep, BoxStep, CustomsStep, CertificateStep)


class Entity(ABC, Generic[_Step]):
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


class Call(Entity[VesselStep]):
    __slots__ = ("call_id", "next_port", "port", "previous_port", "service", "vessel")

    def __init__(
        self,
        id_base: int,
        port: str,
        call_id: str,
        vessel: Vessel,
        service: Service,
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
            occurred_at=datetime_at(occurred),
            published_at=datetime_at(published),  # replaced by the real time when published
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


class Box(Entity[BoxStep]):
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
        consignment: Consignment,
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
        return self.gross_kg - TARE_KG[self.size_type]

    def build(self, index: int) -> Envelope:
        at, move, call_id, crane_id, truck_id = self.steps[index]
        return CargoEvent(
            event_id=self.event_id(index),
            occurred_at=datetime_at(at),
            published_at=datetime_at(at),
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


class Declaration(Entity[CustomsStep]):
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
        consignment: Consignment,
        boxes: Sequence[Box],
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
            occurred_at=datetime_at(at),
            published_at=datetime_at(at),
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


class Certificate(Entity[CertificateStep]):
    """The certificate of origin an import declaration invokes, submitted before lodgement."""

    __slots__ = ("declaration", "fault", "issuer", "lodged")

    def __init__(
        self,
        id_base: int,
        issuer: CertificateIssuer,
        declaration: Declaration,
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
            lodged_at=datetime_at(self.lodged),
            fault=self.fault,
        )
        return self.issuer.submission(
            shipment,
            event_id=self.event_id(index),
            occurred_at=datetime_at(at),
            port=declaration.port,
            publisher=_PUBLISHER,
        )


def _usd(cents: int | None) -> Decimal | None:
    return None if cents is None else Decimal(cents).scaleb(-2)


def act(
    at: int,
    operation: Operation,
    facility: Facility,
    berth: str | None = None,
    particulars: bool = False,
) -> VesselStep:
    return (at, at, Classifier.ACT, operation, facility, berth, particulars)
