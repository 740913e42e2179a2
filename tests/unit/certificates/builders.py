"""Builders for the certificate tests: a valid certificate, its registry, submission and declaration.

Peru's test issuing entity ``PE/TST`` certifies bananas and avocados exported to Brazil under
ACE 58; the Brazilian importer declares them at Santos (``BRSSZ``). Every builder takes changes
as keyword arguments, so that a test states only what it breaks.
"""

from __future__ import annotations

import dataclasses
import functools
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from connectors.dev_pki import TEST_ENTITY_ID, TestPki
from hub.domain.certificates.document import (
    CertificateOfOrigin,
    CertifiedGoods,
    Invoice,
    Party,
)
from hub.domain.certificates.issuer_registry import (
    Agreement,
    IssuerRegistry,
    IssuingEntity,
    Official,
    fingerprint,
)
from hub.domain.certificates.signing import SigningKey, sign_document
from schemas.models import CertificateSubmission, CustomsEvent, CustomsKind, GoodsLine, Regime

PKI = TestPki(seed="unit-tests")
EXPORTING = "PE"
IMPORTING = "BR"
PORT = "BRSSZ"
EXPORTER_TAX_ID = "20100047218"
IMPORTER_TAX_ID = "12345678000190"
INVOICE = "F001-00042"
CERTIFICATE_DATE = date(2026, 3, 2)
LODGED_AT = datetime(2026, 3, 20, 14, 0, tzinfo=UTC)
SUBMITTED_AT = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)

OFFICIAL = PKI.official(EXPORTING)
EXPORTER = PKI.exporter(EXPORTER_TAX_ID)

BANANAS = CertifiedGoods(
    code="0803.90",
    description="Organic bananas, fresh",
    quantity=Decimal(10000),
    unit="KGM",
    value_usd=Decimal("6500.00"),
    origin_rule="Art. 3 lit. a",
)
AVOCADOS = CertifiedGoods(
    code="0804.40.00",
    description="Hass avocados, fresh",
    quantity=Decimal("5000.5"),
    unit="KGM",
    value_usd=Decimal("9800.00"),
    origin_rule="Art. 3 lit. a",
)

CERTIFICATE = CertificateOfOrigin(
    certificate_id="PE-A58-2026-000123",
    agreement="A58",
    exporter=Party("Frutas del Norte S.A.C.", EXPORTER_TAX_ID, EXPORTING),
    importer=Party("Hortifruti Importadora Ltda.", IMPORTER_TAX_ID, IMPORTING),
    invoices=(Invoice(INVOICE, date(2026, 2, 27)), Invoice("F001-00043", date(2026, 2, 28))),
    goods=(BANANAS, AVOCADOS),
    country_of_origin=EXPORTING,
    certificate_date=CERTIFICATE_DATE,
    issuing_entity=TEST_ENTITY_ID,
    issuing_country=EXPORTING,
)


def certificate(**changes: Any) -> CertificateOfOrigin:
    """:data:`CERTIFICATE` with ``changes``."""
    return dataclasses.replace(CERTIFICATE, **changes)


@functools.cache
def _signed_by_default_keys(cod: CertificateOfOrigin) -> bytes:
    return sign_document(cod, EXPORTER, OFFICIAL)


def signed(
    cod: CertificateOfOrigin = CERTIFICATE,
    *,
    exporter: SigningKey | None = None,
    official: SigningKey | None = None,
) -> bytes:
    """``cod`` signed by :data:`EXPORTER` and :data:`OFFICIAL` unless told otherwise."""
    if exporter is None and official is None:
        return _signed_by_default_keys(cod)
    return sign_document(cod, exporter or EXPORTER, official or OFFICIAL)


def official_record(key: SigningKey = OFFICIAL, **changes: Any) -> Official:
    """The registry's entry for ``key``'s certificate, of ``PE/TST`` unless told otherwise."""
    fields: dict[str, Any] = {
        "fingerprint": fingerprint(key.certificate),
        "country": EXPORTING,
        "eh_id": TEST_ENTITY_ID,
        "name": "Test official",
        "not_before": key.certificate.not_valid_before_utc,
        "not_after": key.certificate.not_valid_after_utc,
        "enabled_from": None,
        "enabled_to": None,
        "revoked_at": None,
    }
    return Official(**(fields | changes))


AGREEMENTS = (
    Agreement("A18", "ACE 18 - MERCOSUR", None, ()),
    Agreement("A58", "ACE 58 - MERCOSUR with Peru", None, ()),
    Agreement("CA01", "Andean Community - Decision 416", 365, ()),
    Agreement("A08", "ACE 8 - Peru and Mexico (partial scope)", None, ("03", "0901", "18")),
)
ENTITY = IssuingEntity(EXPORTING, TEST_ENTITY_ID, "TEST issuing entity", frozenset({"A58", "CA01"}))


def registry(
    *,
    officials: tuple[Official, ...] | None = None,
    entities: tuple[IssuingEntity, ...] = (ENTITY,),
    agreements: tuple[Agreement, ...] = AGREEMENTS,
) -> IssuerRegistry:
    """One entity (PE/TST, authorised for A58 and CA01) and its official :data:`OFFICIAL`,
    unless told otherwise."""
    if officials is None:
        officials = (official_record(),)
    return IssuerRegistry(
        entities={(entity.country, entity.eh_id): entity for entity in entities},
        officials={official.fingerprint: official for official in officials},
        agreements={agreement.code: agreement for agreement in agreements},
    )


def submission(document: bytes | None = None, **changes: Any) -> CertificateSubmission:
    """The submission of ``document`` (default: :data:`CERTIFICATE` signed), its envelope
    matching :data:`CERTIFICATE`."""
    fields: dict[str, Any] = {
        "event_id": uuid.uuid4(),
        "occurred_at": SUBMITTED_AT,
        "published_at": SUBMITTED_AT + timedelta(seconds=2),
        "port": PORT,
        "certificate_id": CERTIFICATE.certificate_id,
        "agreement": CERTIFICATE.agreement,
        "exporting_country": EXPORTING,
        "importing_country": IMPORTING,
        "issuing_entity": TEST_ENTITY_ID,
        "document": signed() if document is None else document,
    }
    return CertificateSubmission(**(fields | changes))


def line(hs_code: str, quantity: Decimal | int | str, unit: str = "KGM") -> GoodsLine:
    """A declared goods line of Peruvian origin."""
    return GoodsLine(
        hs_code=hs_code,
        quantity=Decimal(quantity),
        unit=unit,
        value_usd=Decimal(100),
        origin_country=EXPORTING,
    )


GOODS = (line("08039011", 10000), line("080440", "5000.5"))
"""What the certificate certifies, declared in full (national 8-digit subheading for one)."""


def declaration(
    *,
    at: datetime = LODGED_AT,
    declaration_id: str = "DEC-9",
    goods: tuple[GoodsLine, ...] = GOODS,
    **changes: Any,
) -> CustomsEvent:
    """A LODGED import declaration at :data:`PORT` invoking :data:`CERTIFICATE`."""
    fields: dict[str, Any] = {
        "event_id": uuid.uuid4(),
        "occurred_at": at,
        "published_at": at + timedelta(seconds=3),
        "port": PORT,
        "declaration_id": declaration_id,
        "kind": CustomsKind.LODGED,
        "regime": Regime.IMPORT,
        "importer_id": IMPORTER_TAX_ID,
        "exporter_id": EXPORTER_TAX_ID,
        "goods": goods,
        "certificate_id": CERTIFICATE.certificate_id,
        "agreement": CERTIFICATE.agreement,
        "invoice_number": INVOICE,
    }
    return CustomsEvent(**(fields | changes))
