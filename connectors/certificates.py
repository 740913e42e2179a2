"""Certificates of origin for generated traffic: signed with test keys, a few built to fail.

The traffic generator submits a certificate for each import declaration that invokes one. Its
issuing entities are test entities (EHId ``TST``, named as tests) of each exporting country,
whose officials' keys :class:`~connectors.dev_pki.TestPki` derives at run time from a fixed
seed: the same keys on every run, nothing secret in the repository, and nothing that could pass
for a real authority's key. :func:`test_issuers` lists what the hub must register for those
certificates to validate.

A small share of generated certificates is deliberately wrong, as real ones sometimes are
(:class:`CertificateFault`), so that verdicts of every outcome flow through the hub.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Final

from cryptography.hazmat.primitives import serialization

from connectors.dev_pki import TEST_ENTITY_ID, TestPki
from connectors.traffic_profiles import AGREEMENTS
from hub.domain.certificates.document import (
    CertificateOfOrigin,
    CertifiedGoods,
    Invoice,
    Party,
)
from hub.domain.certificates.signing import SigningKey, sign_document
from schemas.models import CertificateSubmission, GoodsLine

__all__ = [
    "GENERATOR_PKI_SEED",
    "CertificateFault",
    "CertificateIssuer",
    "CertifiedShipment",
    "TestIssuer",
    "test_issuers",
]

GENERATOR_PKI_SEED: Final = "port-hub traffic generator test PKI"
"""Seed of the generator's test keys: fixed, so that a restarted hub recognises its officials."""

_UNREGISTERED_ENTITY: Final = "TSU"
"""An entity whose official's certificate is never registered (for SIGNER_UNKNOWN)."""


class CertificateFault(StrEnum):
    """What is deliberately wrong with a generated certificate (NONE: nothing)."""

    NONE = "NONE"
    QUANTITY_EXCEEDED = "QUANTITY_EXCEEDED"
    """Certifies 20% less than the declaration declares."""
    DECLARATION_MISMATCH = "DECLARATION_MISMATCH"
    """Certifies another invoice than the one the declaration names."""
    EXPIRED = "EXPIRED"
    """Issued 200 to 400 days before the declaration is lodged."""
    SIGNER_UNKNOWN = "SIGNER_UNKNOWN"
    """Signed by an official whose certificate is not registered."""


@dataclass(frozen=True, slots=True)
class CertifiedShipment:
    """What a generated certificate certifies: the declaration's goods and parties."""

    certificate_id: str
    agreement: str
    exporting_country: str
    importing_country: str
    exporter_id: str
    importer_id: str
    invoice_number: str
    goods: GoodsLine
    lodged_at: datetime
    """When the declaration invoking it is lodged (the certificate is dated before)."""
    fault: CertificateFault = CertificateFault.NONE


@dataclass(frozen=True, slots=True)
class TestIssuer:
    """A test issuing entity and its official, as the hub's registry must hold them."""

    __test__ = False  # not a pytest test class

    country: str
    eh_id: str
    name: str
    agreements: tuple[str, ...]
    certificate_pem: str


def test_issuers(countries: Iterable[str], seed: str = GENERATOR_PKI_SEED) -> list[TestIssuer]:
    """The test entity (EHId ``TST``) of each of ``countries`` that has an agreement, with the
    agreements it certifies for and its official's certificate."""
    pki = TestPki(seed)
    issuers = []
    for country in sorted(set(countries)):
        agreements = sorted({code for pair, code in AGREEMENTS.items() if country in pair})
        if not agreements:
            continue
        official = pki.official(country)
        issuers.append(
            TestIssuer(
                country=country,
                eh_id=TEST_ENTITY_ID,
                name=f"TEST issuing entity of {country} (traffic generator; not real)",
                agreements=tuple(agreements),
                certificate_pem=official.certificate.public_bytes(
                    serialization.Encoding.PEM
                ).decode(),
            )
        )
    return issuers


class CertificateIssuer:
    """Builds and signs the generator's certificate submissions."""

    def __init__(self, seed: str = GENERATOR_PKI_SEED) -> None:
        self._pki = TestPki(seed)

    def submission(
        self,
        shipment: CertifiedShipment,
        *,
        event_id: uuid.UUID,
        occurred_at: datetime,
        port: str,
        publisher: str | None = None,
    ) -> CertificateSubmission:
        """The signed certificate of ``shipment``, submitted at ``occurred_at`` by ``port``."""
        document = sign_document(
            self._document(shipment),
            self._exporter(shipment.exporter_id),
            self._official(
                shipment.exporting_country,
                _UNREGISTERED_ENTITY
                if shipment.fault is CertificateFault.SIGNER_UNKNOWN
                else TEST_ENTITY_ID,
            ),
        )
        return CertificateSubmission(
            event_id=event_id,
            occurred_at=occurred_at,
            published_at=occurred_at,
            port=port,
            publisher=publisher,
            source="GENERATOR",
            certificate_id=shipment.certificate_id,
            agreement=shipment.agreement,
            exporting_country=shipment.exporting_country,
            importing_country=shipment.importing_country,
            issuing_entity=TEST_ENTITY_ID,
            document=document,
        )

    @functools.lru_cache(maxsize=64)  # noqa: B019 — one issuer per generator, kept for its life
    def _official(self, country: str, eh_id: str) -> SigningKey:
        return self._pki.official(country, eh_id)

    @functools.lru_cache(maxsize=4096)  # noqa: B019 — as above; a few thousand regular traders
    def _exporter(self, tax_id: str) -> SigningKey:
        return self._pki.exporter(tax_id)

    @staticmethod
    def _document(shipment: CertifiedShipment) -> CertificateOfOrigin:
        goods = shipment.goods
        lodged = shipment.lodged_at.date()
        # Dated days before lodgement (an expired one: long before the agreement's 180 days).
        days_before = 200 + _spread(shipment.certificate_id, 200)
        if shipment.fault is not CertificateFault.EXPIRED:
            days_before = 1 + _spread(shipment.certificate_id, 20)
        certificate_date = lodged - timedelta(days=days_before)
        quantity = goods.quantity
        if shipment.fault is CertificateFault.QUANTITY_EXCEEDED:
            quantity = (quantity * Decimal("0.8")).quantize(Decimal("0.001"))
        invoice = shipment.invoice_number
        if shipment.fault is CertificateFault.DECLARATION_MISMATCH:
            invoice += "-A"
        hs = goods.hs_code
        return CertificateOfOrigin(
            certificate_id=shipment.certificate_id,
            agreement=shipment.agreement,
            exporter=Party(
                f"Exporter {shipment.exporter_id}", shipment.exporter_id, shipment.exporting_country
            ),
            importer=Party(
                f"Importer {shipment.importer_id}", shipment.importer_id, shipment.importing_country
            ),
            invoices=(Invoice(invoice, certificate_date - timedelta(days=2)),),
            goods=(
                CertifiedGoods(
                    code=f"{hs[:4]}.{hs[4:6]}",
                    description=goods.description or hs,
                    quantity=quantity,
                    unit=goods.unit,
                    value_usd=goods.value_usd,
                    origin_rule="Wholly obtained or produced (general regime)",
                ),
            ),
            country_of_origin=shipment.exporting_country,
            certificate_date=certificate_date,
            issuing_entity=TEST_ENTITY_ID,
            issuing_country=shipment.exporting_country,
        )


def _spread(text: str, span: int) -> int:
    """A number in [0, span) that is the same for the same text (no random state needed)."""
    return int(uuid.uuid5(uuid.NAMESPACE_OID, text).int % span)
