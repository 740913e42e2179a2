"""A snapshot of the issuer registry, as plain data: agreements, issuing entities, officials.

The registry itself lives in PostgreSQL (``hub.db.issuers``); the rules read a snapshot of it, so
that a verdict depends only on its arguments. Officials are keyed by the SHA-256 fingerprint of
their certificate, which is what a signature carries.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes

__all__ = ["Agreement", "IssuerRegistry", "IssuingEntity", "Official", "fingerprint"]


def fingerprint(certificate: x509.Certificate) -> str:
    """SHA-256 of the certificate's DER encoding, lowercase hex (64 characters)."""
    return certificate.fingerprint(hashes.SHA256()).hex()


@dataclass(frozen=True, slots=True)
class Agreement:
    """A trade agreement certificates of origin are issued under."""

    code: str
    """E.g. ``"A58"``, ``"CA01"``."""
    name: str
    validity_days: int | None
    """Days a certificate stays valid after its ``CertificateDate`` when it gives no explicit
    period; None: the hub's default (180, configurable)."""
    schedule: tuple[str, ...]
    """HS prefixes covered (digits only, 2 to 8 digits); empty: every HS code."""

    def covers(self, hs_digits: str) -> bool:
        """Whether the goods code ``hs_digits`` (digits only) falls under the schedule."""
        return not self.schedule or any(hs_digits.startswith(prefix) for prefix in self.schedule)


@dataclass(frozen=True, slots=True)
class IssuingEntity:
    """An entity of an exporting country authorised to issue certificates of origin."""

    country: str
    """``EHCountry``: ISO 3166 alpha-2."""
    eh_id: str
    """``EHId``: 3 letters or digits."""
    name: str
    agreements: frozenset[str]
    """Codes of the agreements it may certify for."""


@dataclass(frozen=True, slots=True)
class Official:
    """A registered X.509 certificate of an official who signs for an issuing entity."""

    fingerprint: str
    """:func:`fingerprint` of the certificate."""
    country: str
    eh_id: str
    name: str
    not_before: datetime
    """From the certificate (aware, UTC)."""
    not_after: datetime
    """From the certificate (aware, UTC)."""
    enabled_from: date | None
    """Start of the official's enablement period (None: open)."""
    enabled_to: date | None
    """End of the official's enablement period, inclusive (None: open)."""
    revoked_at: datetime | None
    """When the certificate was revoked (aware); None: not revoked."""
    revocation_reason: str | None = None


@dataclass(frozen=True, slots=True)
class IssuerRegistry:
    """Everything the rules look up."""

    entities: Mapping[tuple[str, str], IssuingEntity]
    """By ``(country, eh_id)``."""
    officials: Mapping[str, Official]
    """By certificate fingerprint."""
    agreements: Mapping[str, Agreement]
    """By code."""
