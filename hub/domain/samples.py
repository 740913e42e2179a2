"""Sample events that pass every check: one per domain and kind of event, for publishers' first try.

One port call of one day tells a consistent story: the vessel's timestamps (every classifier,
operation and facility the vessel schema allows, in the order a call lives them), a box
discharged, moved in the yard and gated out, another gated in and loaded, a restow, the customs
declaration of the imported box from lodgement to release, and the certificate of origin that
declaration invokes. Every time lies before ``now`` and within the hub's grace period
(:data:`schemas.validation.DEFAULT_LATE_GRACE`), so a sample built now is accepted now; built
over a week ago, it is refused ``TOO_LATE`` (hence ``hub samples``, which builds them at once).

Pure: the certificate's signature comes from the caller (:class:`SampleIssuer`), which holds
the keys. The identifiers (call, declaration, certificate) depend on the port and the day of
``now``, so samples built on one day belong to one call; event ids come from ``new_id``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Final

from stdnum import iso6346

from hub.domain.certificates.document import CertificateOfOrigin, CertifiedGoods, Invoice, Party
from schemas.models import (
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
)

__all__ = [
    "DEFAULT_SAMPLE_PORT",
    "OLDEST_SAMPLE",
    "SAMPLES",
    "Sample",
    "SampleIssuer",
    "SampleKind",
    "as_json",
    "build_sample",
    "build_samples",
    "fresh_id",
    "reproducible_ids",
]

DEFAULT_SAMPLE_PORT: Final = "PECLL"
OLDEST_SAMPLE: Final = timedelta(hours=30)
"""How long before ``now`` the earliest sample happens (the call's arrival): a hub whose grace
period is shorter refuses the earliest ones ``TOO_LATE``."""


@dataclass(frozen=True, slots=True)
class SampleIssuer:
    """Who certifies the sample certificate of origin, and how its document gets signed."""

    exporting_country: str
    """ISO 3166 alpha-2 of the exporter (another country than the port's)."""
    agreement: str
    """The agreement between the exporting country and the port's (e.g. ``A58``)."""
    entity: str
    """``EHId`` of the issuing entity."""
    sign: Callable[[CertificateOfOrigin], bytes]
    """The signed XML of a certificate (exporter and official), e.g. with the test keys."""


@dataclass(frozen=True, slots=True)
class SampleKind:
    """One sample: its name (``<domain>.<kind>``) and what it is."""

    name: str
    summary: str

    @property
    def domain(self) -> str:
        """The event domain, the ``{domain}`` of ``POST /v1/events/{domain}``."""
        return self.name.split(".", 1)[0]


@dataclass(frozen=True, slots=True)
class Sample:
    kind: SampleKind
    event: Envelope

    @property
    def name(self) -> str:
        return self.kind.name

    @property
    def domain(self) -> str:
        return self.kind.domain


def fresh_id(name: str) -> uuid.UUID:
    """A new random event id (the name is not used): each sample built is a new event."""
    return uuid.uuid4()


def reproducible_ids(port: str, now: datetime) -> Callable[[str], uuid.UUID]:
    """Event ids that are the same for the same sample, port and ``now`` (for files kept in
    the repository, which must come out byte for byte the same when written again)."""

    def event_id(name: str) -> uuid.UUID:
        return uuid.uuid5(uuid.NAMESPACE_URL, f"hub-sample:{port}:{name}:{now.isoformat()}")

    return event_id


def _container(owner_and_serial: str) -> str:
    return owner_and_serial + iso6346.calc_check_digit(owner_and_serial)


# The boxes of the story: one imported (discharged, yard, gate out), one exported (gate in,
# loaded), one restowed on board.
_IMPORT_BOX: Final = _container("MSCU305438")
_EXPORT_BOX: Final = _container("CSQU123456")
_RESTOW_BOX: Final = _container("TGHU774120")
_IMO: Final = "9074729"
_HS_CODE: Final = "090111"
_GOODS_QUANTITY: Final = Decimal("19200.000")
_GOODS_VALUE: Final = Decimal("84480.50")
_GOODS_DESCRIPTION: Final = "Green coffee, not roasted, not decaffeinated"
# Neighbouring calls of the sample's service (the port itself is skipped).
_ROTATION: Final = ("CLSAI", "PAMIT", "COBUN", "ECGYE")
_ACTUAL_PUBLISH_DELAY: Final = timedelta(seconds=5)


@dataclass(frozen=True, slots=True)
class _Scene:
    """The identifiers and clock every sample of one port and day shares."""

    port: str
    now: datetime
    issuer: SampleIssuer | None
    new_id: Callable[[str], uuid.UUID]

    @property
    def day(self) -> str:
        return f"{self.now:%Y%m%d}"

    @property
    def country(self) -> str:
        return self.port[:2]

    @property
    def port_call_id(self) -> str:
        return f"{self.port}-SAMPLE-{self.day}"

    @property
    def declaration_id(self) -> str:
        return f"{self.port}-SAMPLE-{self.day}-D1"

    @property
    def importer_id(self) -> str:
        return f"SAMPLE-IMPORTER-{self.country}"

    @property
    def exporter_id(self) -> str:
        return f"SAMPLE-EXPORTER-{self._issuer.exporting_country}"

    @property
    def invoice_number(self) -> str:
        return f"INV-SAMPLE-{self.day}"

    @property
    def certificate_id(self) -> str:
        issuer = self._issuer
        return f"{issuer.exporting_country}-{issuer.agreement}-SAMPLE-{self.day}"

    @property
    def _issuer(self) -> SampleIssuer:
        if self.issuer is None:
            raise ValueError("the customs and certificate samples need a SampleIssuer")
        return self.issuer

    def envelope(
        self, name: str, hours_ago: float, published_hours_ago: float | None = None
    ) -> dict[str, Any]:
        """The envelope of sample ``name``, happening ``hours_ago`` before now; published then
        (plus a few seconds) unless ``published_hours_ago`` says when (planned times)."""
        occurred = self.now - timedelta(hours=hours_ago)
        published = (
            occurred + _ACTUAL_PUBLISH_DELAY
            if published_hours_ago is None
            else self.now - timedelta(hours=published_hours_ago)
        )
        return {
            "event_id": self.new_id(name),
            "occurred_at": occurred,
            "published_at": min(published, self.now),
            "port": self.port,
        }


def _vessel(
    name: str,
    summary: str,
    classifier: Classifier,
    operation: Operation,
    facility: Facility,
    hours_ago: float,
    published_hours_ago: float | None = None,
    particulars: bool = False,
) -> tuple[SampleKind, Callable[[_Scene], Envelope]]:
    def build(scene: _Scene) -> Envelope:
        rotation = [port for port in _ROTATION if port != scene.port]
        details: dict[str, Any] = {}
        if particulars:  # SPEC 1.2: the vessel's particulars on the first events of a call
            details = {
                "vessel_name": "SAMPLE EXPRESS",
                "teu_capacity": 9_400,
                "loa_m": 299.9,
                "service": "SAMPLE1",
                "previous_port": rotation[0],
                "next_port": rotation[1],
            }
        return VesselEvent(
            **scene.envelope(name, hours_ago, published_hours_ago),
            source="TERMINAL",
            port_call_id=scene.port_call_id,
            imo=_IMO,
            call_sign="9HA2954",
            mmsi="248123000",
            classifier=classifier,
            operation=operation,
            facility=facility,
            berth_id="B1" if facility is Facility.BRTH else None,
            **details,
        )

    return SampleKind(name, summary), build


def _cargo(
    name: str, summary: str, move: Move, hours_ago: float
) -> tuple[SampleKind, Callable[[_Scene], Envelope]]:
    def build(scene: _Scene) -> Envelope:
        on_vessel = move in (Move.DISC, Move.LOAD, Move.RSTW)
        at_gate = move in (Move.GTIN, Move.GTOT)
        if move in (Move.GTIN, Move.LOAD):
            container, trade, kg = _EXPORT_BOX, Trade.EXPORT, 18_250
            crane, truck_visit = "STS-02", f"TV-{scene.day}-1"
            origin, destination = scene.country, (scene.issuer or _NO_ISSUER).exporting_country
        elif move is Move.RSTW:
            container, trade, kg = _RESTOW_BOX, Trade.TRANSSHIPMENT, 21_030
            crane, truck_visit, origin, destination = "STS-01", None, None, None
        else:  # the imported box: DISC, YARD, GTOT
            container, trade, kg = _IMPORT_BOX, Trade.IMPORT, 21_440
            crane, truck_visit = "STS-01", f"TV-{scene.day}-2"
            origin, destination = (scene.issuer or _NO_ISSUER).exporting_country, scene.country
        imported = container == _IMPORT_BOX
        return CargoEvent(
            **scene.envelope(name, hours_ago),
            source="TERMINAL",
            container=container,
            iso_size_type="22G1" if imported else "45G1",
            full=True,
            gross_kg=kg,
            move=move,
            port_call_id=scene.port_call_id if on_vessel else None,
            crane_id=crane if on_vessel else None,
            truck_visit_id=truck_visit if at_gate else None,
            hs_code=_HS_CODE if imported else None,
            origin_country=origin,
            destination_country=destination,
            declared_value_usd=_GOODS_VALUE if imported else None,
            trade=trade,
        )

    return SampleKind(name, summary), build


def _customs(
    name: str, summary: str, kind: CustomsKind, hours_ago: float
) -> tuple[SampleKind, Callable[[_Scene], Envelope]]:
    def build(scene: _Scene) -> Envelope:
        details: dict[str, Any] = {}
        if kind is CustomsKind.LODGED:
            issuer = scene._issuer
            details = {
                "regime": Regime.IMPORT,
                "importer_id": scene.importer_id,
                "exporter_id": scene.exporter_id,
                "goods": (
                    GoodsLine(
                        hs_code=_HS_CODE,
                        description=_GOODS_DESCRIPTION,
                        quantity=_GOODS_QUANTITY,
                        unit="KGM",
                        value_usd=_GOODS_VALUE,
                        origin_country=issuer.exporting_country,
                    ),
                ),
                "containers": (_IMPORT_BOX,),
                "certificate_id": scene.certificate_id,
                "agreement": issuer.agreement,
                "invoice_number": scene.invoice_number,
            }
        if kind is CustomsKind.CHANNEL:
            details = {"channel": Channel.RED}  # red: physical inspection, the steps below
        return CustomsEvent(
            **scene.envelope(name, hours_ago),
            source="PCS",
            declaration_id=scene.declaration_id,
            kind=kind,
            port_call_id=scene.port_call_id,
            **details,
        )

    return SampleKind(name, summary), build


def _certificate(name: str, summary: str) -> tuple[SampleKind, Callable[[_Scene], Envelope]]:
    def build(scene: _Scene) -> Envelope:
        issuer = scene._issuer
        certificate_date = (scene.now - timedelta(days=3)).date()
        document = CertificateOfOrigin(
            certificate_id=scene.certificate_id,
            agreement=issuer.agreement,
            exporter=Party(
                f"Sample exporter of {issuer.exporting_country}",
                scene.exporter_id,
                issuer.exporting_country,
            ),
            importer=Party(f"Sample importer of {scene.country}", scene.importer_id, scene.country),
            invoices=(Invoice(scene.invoice_number, certificate_date - timedelta(days=2)),),
            goods=(
                CertifiedGoods(
                    code=f"{_HS_CODE[:4]}.{_HS_CODE[4:]}",
                    description=_GOODS_DESCRIPTION,
                    quantity=_GOODS_QUANTITY,
                    unit="KGM",
                    value_usd=_GOODS_VALUE,
                    origin_rule="Wholly obtained or produced (general regime)",
                ),
            ),
            country_of_origin=issuer.exporting_country,
            certificate_date=certificate_date,
            issuing_entity=issuer.entity,
            issuing_country=issuer.exporting_country,
        )
        return CertificateSubmission(
            **scene.envelope(name, 25),  # submitted before the declaration invoking it
            source="PCS",
            certificate_id=scene.certificate_id,
            agreement=issuer.agreement,
            exporting_country=issuer.exporting_country,
            importing_country=scene.country,
            issuing_entity=issuer.entity,
            document=issuer.sign(document),
        )

    return SampleKind(name, summary), build


def _unsigned(document: CertificateOfOrigin) -> bytes:
    raise ValueError("no SampleIssuer: the certificate sample cannot be signed")


# Stands in for the issuer in the cargo samples when none is given (countries only).
_NO_ISSUER: Final = SampleIssuer("BR", "A58", "TST", _unsigned)

_C, _O, _F = Classifier, Operation, Facility
# Hours before now, in the order a call lives them: the call ends an hour before now.
_BUILDERS: Final[Mapping[str, tuple[SampleKind, Callable[[_Scene], Envelope]]]] = {
    kind.name: (kind, build)
    for kind, build in (
        _vessel("vessel.eta", "estimated arrival at the port limits (EST ARRI PORT), sent two "
                "days ahead, with the vessel's particulars", _C.EST, _O.ARRI, _F.PORT, 30, 48,
                particulars=True),
        _vessel("vessel.rta-pilot", "requested arrival at the pilot boarding place (REQ ARRI "
                "PBPL); stored, never used for KPIs", _C.REQ, _O.ARRI, _F.PBPL, 21.5, 40),
        _vessel("vessel.pta-berth", "planned arrival at berth B1 (PLN ARRI BRTH)", _C.PLN,
                _O.ARRI, _F.BRTH, 20, 36),
        _vessel("vessel.etd", "estimated departure from berth B1 (EST DEPA BRTH)", _C.EST,
                _O.DEPA, _F.BRTH, 1, 12),
        _vessel("vessel.ata", "actual arrival at the port limits, end of sea passage (ACT ARRI "
                "PORT), with the vessel's particulars", _C.ACT, _O.ARRI, _F.PORT, 30,
                particulars=True),
        _vessel("vessel.ata-anchorage", "actual arrival at the anchorage (ACT ARRI ANCH)",
                _C.ACT, _O.ARRI, _F.ANCH, 29.5),
        _vessel("vessel.atd-anchorage", "actual departure from the anchorage (ACT DEPA ANCH)",
                _C.ACT, _O.DEPA, _F.ANCH, 22),
        _vessel("vessel.ata-pilot", "actual arrival at the pilot boarding place (ACT ARRI PBPL)",
                _C.ACT, _O.ARRI, _F.PBPL, 21.5),
        _vessel("vessel.all-fast", "all fast at berth B1 (ACT ARRI BRTH)", _C.ACT, _O.ARRI,
                _F.BRTH, 20),
        _vessel("vessel.first-lift", "first container lift at berth B1 (ACT STRT BRTH)", _C.ACT,
                _O.STRT, _F.BRTH, 19),
        _vessel("vessel.last-lift", "last container lift at berth B1 (ACT CMPL BRTH)", _C.ACT,
                _O.CMPL, _F.BRTH, 3),
        _vessel("vessel.atd", "actual departure from berth B1 (ACT DEPA BRTH)", _C.ACT, _O.DEPA,
                _F.BRTH, 1),
        _cargo("cargo.gtin", "the export box gated in by truck (GTIN)", Move.GTIN, 26),
        _cargo("cargo.disc", "the import box discharged by crane STS-01 (DISC)", Move.DISC, 18),
        _cargo("cargo.yard", "the import box moved within the yard (YARD)", Move.YARD, 12),
        _cargo("cargo.rstw", "a transshipment box restowed on board (RSTW)", Move.RSTW, 10),
        _cargo("cargo.load", "the export box loaded by crane STS-02 (LOAD)", Move.LOAD, 5),
        _cargo("cargo.gtot", "the import box gated out by truck after release (GTOT)",
               Move.GTOT, 2),
        _customs("customs.lodged", "the import declaration of the import box, invoking the "
                 "certificate of origin (LODGED)", CustomsKind.LODGED, 24),
        _customs("customs.channel", "red channel assigned: physical inspection (CHANNEL)",
                 CustomsKind.CHANNEL, 17),
        _customs("customs.inspection-started", "physical inspection started "
                 "(INSPECTION_STARTED)", CustomsKind.INSPECTION_STARTED, 9),
        _customs("customs.held", "goods held pending the inspection's findings (HELD)",
                 CustomsKind.HELD, 8),
        _customs("customs.inspection-finished", "physical inspection finished "
                 "(INSPECTION_FINISHED)", CustomsKind.INSPECTION_FINISHED, 6),
        _customs("customs.released", "goods released (RELEASED)", CustomsKind.RELEASED, 4),
        _certificate("certificate.submission", "the signed certificate of origin the "
                     "declaration invokes (ALADI COD, XML-DSig, base64 in `document`)"),
    )
}  # fmt: skip

SAMPLES: Final[tuple[SampleKind, ...]] = tuple(kind for kind, _ in _BUILDERS.values())
"""Every sample, by domain then in the order of a call's life."""


def build_sample(
    name: str,
    port: str,
    now: datetime,
    issuer: SampleIssuer | None = None,
    new_id: Callable[[str], uuid.UUID] = fresh_id,
) -> Sample:
    """The sample ``name`` (one of :data:`SAMPLES`) of ``port`` at ``now``.

    Args:
        issuer: who certifies and signs; needed for the customs and certificate samples (the
            others only take its exporting country, default BR).
        new_id: the event id of a sample, given its name (default: a new random one).

    Raises:
        KeyError: no sample has that name.
        ValueError: ``now`` is naive, or a customs or certificate sample without ``issuer``.
    """
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime (UTC)")
    kind, build = _BUILDERS[name]
    return Sample(kind, build(_Scene(port, now.astimezone(UTC), issuer, new_id)))


def build_samples(
    port: str,
    now: datetime,
    issuer: SampleIssuer,
    new_id: Callable[[str], uuid.UUID] = fresh_id,
) -> list[Sample]:
    """Every sample of ``port`` at ``now``, in the order of :data:`SAMPLES`."""
    return [build_sample(kind.name, port, now, issuer, new_id) for kind in SAMPLES]


def as_json(event: Envelope) -> dict[str, object]:
    """``event`` as the JSON body of ``POST /v1/events/{domain}``: fields that are unset
    (None, or an empty list) are left out, ``publisher`` always (the hub sets it)."""
    document = event.model_dump(mode="json", exclude_none=True, exclude={"publisher"})
    return {name: value for name, value in document.items() if value != []}
