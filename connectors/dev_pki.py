"""The development PKI: keys and X.509 certificates for signing the sample certificates of origin
of the traffic generator and the tests; never for production.

Nothing secret is committed: every key is derived at run time from a seed, so the same seed gives
the same keys and byte-identical certificates in every process. That matters because the issuer
registry matches officials by certificate fingerprint, across restarts of the traffic generator.

- EC P-256 keys come from ``ec.derive_private_key`` on a SHA-256 of ``"{seed}:{purpose}:{name}"``;
- the test CA is Ed25519 (its key is such a hash), and Ed25519 signatures are deterministic, so
  the certificates it issues come out the same every time;
- every name says ``TEST`` and ``not for production use``; a real registry must never hold them.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import ClassVar, Final

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.x509.oid import NameOID

from hub.domain.certificates.signing import SigningKey

__all__ = ["TEST_ENTITY_ID", "TestPki"]

TEST_ENTITY_ID: Final = "TST"
"""The ``EHId`` of the test issuing entities, one per country."""

TEST_ORGANISATION: Final = "LACPorts hub test PKI"
DEFAULT_NOT_BEFORE: Final = datetime(2020, 1, 1, tzinfo=UTC)
DEFAULT_NOT_AFTER: Final = datetime(2035, 12, 31, 23, 59, 59, tzinfo=UTC)

# The order of the P-256 group: a private scalar lies in 1..order-1.
_P256_ORDER: Final = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
_RSA_EXPONENT: Final = 65537
_RSA_BITS: Final = 2048


class TestPki:
    """Deterministic test keys and certificates, all issued by one test CA per seed.

    Args:
        seed: the same seed gives the same keys and certificates, in any process.
    """

    __test__: ClassVar[bool] = False  # not a pytest test class, despite its name

    def __init__(self, seed: int | str = 0) -> None:
        self._seed = str(seed)
        self._ca_key = Ed25519PrivateKey.from_private_bytes(self._digest("ca", "root"))
        # The seed may be long; X.509 caps a common name at 64 characters.
        label = hashlib.sha256(self._seed.encode()).hexdigest()[:12]
        self._ca_name = _name(f"TEST CA {label} - not for production use")
        self._rsa_keys: dict[tuple[str, str], rsa.RSAPrivateKey] = {}

    @property
    def ca_certificate(self) -> x509.Certificate:
        """The self-signed certificate of the test CA (Ed25519), for tests of chains."""
        builder = (
            x509.CertificateBuilder()
            .subject_name(self._ca_name)
            .issuer_name(self._ca_name)
            .public_key(self._ca_key.public_key())
            .serial_number(self._serial("ca", "root", DEFAULT_NOT_BEFORE, DEFAULT_NOT_AFTER))
            .not_valid_before(DEFAULT_NOT_BEFORE)
            .not_valid_after(DEFAULT_NOT_AFTER)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        )
        return builder.sign(self._ca_key, None)

    def official(
        self,
        country: str,
        eh_id: str = TEST_ENTITY_ID,
        *,
        name: str = "",
        not_before: datetime | None = None,
        not_after: datetime | None = None,
    ) -> SigningKey:
        """The key and certificate of an official of issuing entity ``country``/``eh_id``.

        Args:
            country: ``EHCountry`` of the entity.
            eh_id: ``EHId`` of the entity.
            name: tells officials of one entity apart (each has its own key).
            not_before: start of the certificate's validity (default 2020-01-01 UTC); other
                dates give another certificate of the same key.
            not_after: end of the certificate's validity (default 2035-12-31 UTC).
        """
        who = f"{country}/{eh_id}" + (f"/{name}" if name else "")
        label = f"TEST official {who} - not for production use"
        return self._issue("official", who, label, country, not_before, not_after)

    def exporter(self, tax_id: str) -> SigningKey:
        """The key and certificate of the exporter with ``tax_id``."""
        label = f"TEST exporter {tax_id} - not for production use"
        return self._issue("exporter", tax_id, label, None, None, None)

    def rsa_official(self, country: str, eh_id: str = TEST_ENTITY_ID) -> SigningKey:
        """An RSA 2048 official of ``country``/``eh_id``, for tests that RSA signatures work.

        Not deterministic: an RSA key cannot be derived from a seed with ``cryptography``, so
        the key is generated once per instance and per entity, and cached. Its certificate's
        fingerprint therefore changes between processes: do not register it across restarts.
        """
        key = self._rsa_keys.get((country, eh_id))
        if key is None:
            key = rsa.generate_private_key(public_exponent=_RSA_EXPONENT, key_size=_RSA_BITS)
            self._rsa_keys[(country, eh_id)] = key
        who = f"{country}/{eh_id}/rsa"
        label = f"TEST official {who} - not for production use"
        return SigningKey(key, self._certificate(key, "rsa-official", who, label, country))

    def _issue(
        self,
        purpose: str,
        who: str,
        label: str,
        country: str | None,
        not_before: datetime | None,
        not_after: datetime | None,
    ) -> SigningKey:
        scalar = int.from_bytes(self._digest(purpose, who)) % (_P256_ORDER - 1) + 1
        key = ec.derive_private_key(scalar, ec.SECP256R1())
        certificate = self._certificate(key, purpose, who, label, country, not_before, not_after)
        return SigningKey(key, certificate)

    def _certificate(
        self,
        key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey,
        purpose: str,
        who: str,
        label: str,
        country: str | None,
        not_before: datetime | None = None,
        not_after: datetime | None = None,
    ) -> x509.Certificate:
        start = not_before or DEFAULT_NOT_BEFORE
        end = not_after or DEFAULT_NOT_AFTER
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(label, country))
            .issuer_name(self._ca_name)
            .public_key(key.public_key())
            .serial_number(self._serial(purpose, who, start, end))
            .not_valid_before(start)
            .not_valid_after(end)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=True,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
        )
        return builder.sign(self._ca_key, None)  # Ed25519: no hash algorithm, deterministic

    def _digest(self, purpose: str, name: str) -> bytes:
        return hashlib.sha256(f"{self._seed}:{purpose}:{name}".encode()).digest()

    def _serial(self, purpose: str, who: str, start: datetime, end: datetime) -> int:
        # 16 bytes, shifted to stay positive and under X.509's 20-octet limit.
        digest = self._digest(f"serial:{purpose}", f"{who}:{start.isoformat()}:{end.isoformat()}")
        return (int.from_bytes(digest[:16]) >> 1) + 1


def _name(common_name: str, country: str | None = None) -> x509.Name:
    attributes = [
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, TEST_ORGANISATION),
    ]
    if country:
        attributes.append(x509.NameAttribute(NameOID.COUNTRY_NAME, country))
    return x509.Name(attributes)
