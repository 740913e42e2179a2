"""Valid sample events of every domain, shared by the unit and integration tests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from stdnum import iso6346

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

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
XML = '<?xml version="1.0" encoding="UTF-8"?><Envelope><CertOrigin>Perú</CertOrigin></Envelope>'


def container(owner_and_category: str, serial: str) -> str:
    """A container number with its correct ISO 6346 check digit."""
    return owner_and_category + serial + iso6346.calc_check_digit(owner_and_category + serial)


def envelope(at: datetime = T0, **changes: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "event_id": uuid.uuid4(),
        "occurred_at": at,
        "published_at": at + timedelta(seconds=5, milliseconds=250),
        "port": "PECLL",
    }
    return fields | changes


def full_envelope(at: datetime = T0) -> dict[str, Any]:
    return envelope(
        at,
        publisher="pecll-pcs",
        schema_version=1,
        retracts_event_id=uuid.uuid4(),
        source="TERMINAL",
    )


def samples(domain: str, at: datetime = T0) -> list[Envelope]:
    """A minimal event (optional fields absent) and a full one (every field set) of ``domain``,
    both valid for every check (forms and semantics), happening at ``at``."""
    if domain == "vessel":
        return [
            VesselEvent(
                **envelope(at),
                port_call_id="PECLL-0001",
                imo="9074729",
                classifier=Classifier.EST,
                operation=Operation.ARRI,
                facility=Facility.PORT,
            ),
            VesselEvent(
                **full_envelope(at),
                port_call_id="PECLL-0002",
                imo="9074729",
                call_sign="9HA2954",
                mmsi="248123000",
                classifier=Classifier.ACT,
                operation=Operation.ARRI,
                facility=Facility.BRTH,
                berth_id="B2",
                vessel_name="MSC ANNA",
                teu_capacity=19_200,
                loa_m=399.9,
                service="AC3",
                previous_port="CLSAI",
                next_port="PAMIT",
            ),
        ]
    if domain == "cargo":
        return [
            CargoEvent(
                **envelope(at),
                container=container("CSQU", "305438"),
                iso_size_type="45G1",
                full=False,
                gross_kg=3_900,
                move=Move.YARD,
            ),
            CargoEvent(
                **full_envelope(at),
                container=container("MSCU", "123456"),
                iso_size_type="22G1",
                full=True,
                gross_kg=24_350,
                move=Move.DISC,
                port_call_id="PECLL-0002",
                crane_id="STS-04",
                truck_visit_id="TV-778",
                hs_code="09011100",
                origin_country="BR",
                destination_country="PE",
                declared_value_usd=Decimal("123456789012.35"),
                trade=Trade.TRANSSHIPMENT,
            ),
        ]
    if domain == "customs":
        return [
            CustomsEvent(
                **envelope(at), declaration_id="118-2026-10-000123", kind=CustomsKind.HELD
            ),
            CustomsEvent(
                **full_envelope(at),
                declaration_id="118-2026-10-000124",
                kind=CustomsKind.CHANNEL,
                channel=Channel.RED,
                regime=Regime.IMPORT,
                importer_id="20100047218",
                exporter_id="BR-12345678000190",
                goods=(
                    GoodsLine(
                        hs_code="0901.11.00",
                        description="Green coffee, not decaffeinated",
                        quantity=Decimal("19200.125"),
                        unit="KGM",
                        value_usd=Decimal("84480.50"),
                        origin_country="BR",
                    ),
                    GoodsLine(
                        hs_code="090111", quantity=Decimal(3), unit="UNI", value_usd=Decimal(0)
                    ),
                ),
                containers=(container("MSCU", "123456"), container("CSQU", "305438")),
                port_call_id="PECLL-0002",
                certificate_id="BR-A18-2026-000042",
                agreement="A18",
                invoice_number="INV-2026-0042",
            ),
        ]
    assert domain == "certificate"
    return [
        CertificateSubmission(
            **envelope(at),
            certificate_id="BR-A18-2026-000042",
            agreement="A18",
            exporting_country="BR",
            importing_country="PE",
            issuing_entity="F01",
            document=XML.encode(),
        ),
        CertificateSubmission(
            **full_envelope(at),
            certificate_id="CO-CA1-2026-000001",
            agreement="CA01",
            exporting_country="CO",
            importing_country="EC",
            issuing_entity="M01",
            document=XML.encode() + b"\x00\xff",  # bytes, not text: any octet survives
            document_format="ALADI-COD-XML",
        ),
    ]
