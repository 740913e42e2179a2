"""Who certifies the sample certificate of origin (``hub samples``, the API's examples): the
traffic generator's test entity of a partner country, signing with its test keys.

The keys are :class:`~connectors.dev_pki.TestPki`'s of the generator's seed, so a hub that
registered the generator's test issuers (``hub run`` does) recognises the official.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

from connectors.certificates import GENERATOR_PKI_SEED
from connectors.dev_pki import TEST_ENTITY_ID, TestPki
from connectors.traffic_profiles import agreement_between
from hub.domain.certificates.document import CertificateOfOrigin
from hub.domain.certificates.signing import sign_document
from hub.domain.samples import SampleIssuer

__all__ = ["FALLBACK_PARTNER", "sample_issuer"]

FALLBACK_PARTNER = ("BR", "A18")
"""Exporting country and agreement when the port's country has no agreement with another
country of the hub (its certificate is accepted, and its verdict says ISSUER_NOT_AUTHORISED)."""


def sample_issuer(port_country: str, countries: Iterable[str]) -> SampleIssuer:
    """The test entity of the first of ``countries`` (alphabetically) that has an agreement
    with ``port_country``, signing with the generator's test keys."""
    partners = sorted(
        (country, agreement)
        for country in set(countries)
        if (agreement := agreement_between(country, port_country)) is not None
    )
    exporting, agreement = partners[0] if partners else FALLBACK_PARTNER
    return SampleIssuer(exporting, agreement, TEST_ENTITY_ID, _sign)


@functools.cache
def _pki() -> TestPki:
    return TestPki(GENERATOR_PKI_SEED)


def _sign(document: CertificateOfOrigin) -> bytes:
    pki = _pki()
    return sign_document(
        document,
        pki.exporter(document.exporter.tax_id),
        pki.official(document.issuing_country, document.issuing_entity),
    )
