"""The test PKI: deterministic from its seed, visibly not for production, usable for signing."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.x509.oid import NameOID

from connectors.dev_pki import TEST_ENTITY_ID, TestPki
from hub.domain.certificates.issuer_registry import fingerprint
from hub.domain.certificates.signing import SigningKey


def _der(key: SigningKey) -> bytes:
    return key.certificate.public_bytes(serialization.Encoding.DER)


def _private(key: SigningKey) -> bytes:
    return key.key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def test_the_same_seed_gives_the_same_keys_and_certificate_bytes() -> None:
    first, second = TestPki(seed=7), TestPki(seed="7")
    makers: list[Callable[[TestPki], SigningKey]] = [
        lambda pki: pki.official("PE"),
        lambda pki: pki.official("CO", "M01", name="Ana"),
        lambda pki: pki.exporter("20100047218"),
    ]
    for make in makers:
        a, b = make(first), make(second)
        assert _der(a) == _der(b)
        assert _private(a) == _private(b)
        assert fingerprint(a.certificate) == fingerprint(b.certificate)
    assert first.ca_certificate.public_bytes(serialization.Encoding.DER) == (
        second.ca_certificate.public_bytes(serialization.Encoding.DER)
    )


def test_the_same_seed_gives_the_same_fingerprint_in_another_process() -> None:
    """The registry matches officials by fingerprint across restarts of the generator."""
    code = (
        "from connectors.dev_pki import TestPki\n"
        "from hub.domain.certificates.issuer_registry import fingerprint\n"
        "print(fingerprint(TestPki('restart').official('PE').certificate))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == fingerprint(TestPki("restart").official("PE").certificate)


def test_another_seed_entity_name_or_party_gives_other_keys() -> None:
    pki = TestPki(0)
    keys = [
        pki.official("PE"),
        TestPki(1).official("PE"),
        pki.official("PE", "M01"),
        pki.official("CO"),
        pki.official("PE", name="Ana"),
        pki.exporter("20100047218"),
        pki.exporter("20100047219"),
    ]
    assert len({fingerprint(key.certificate) for key in keys}) == len(keys)
    assert len({_private(key) for key in keys}) == len(keys)


def test_other_validity_dates_give_another_certificate_of_the_same_key() -> None:
    pki = TestPki(0)
    usual = pki.official("PE")
    expired = pki.official(
        "PE",
        not_before=datetime(2019, 1, 1, tzinfo=UTC),
        not_after=datetime(2021, 1, 1, tzinfo=UTC),
    )
    assert _private(usual) == _private(expired)
    assert fingerprint(usual.certificate) != fingerprint(expired.certificate)
    assert expired.certificate.not_valid_after_utc == datetime(2021, 1, 1, tzinfo=UTC)
    assert usual.certificate.serial_number != expired.certificate.serial_number


def test_certificates_say_test_and_are_issued_by_the_test_ca() -> None:
    pki = TestPki(0)
    official = pki.official("PE")
    certificate = official.certificate
    (common_name,) = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    (organisation,) = certificate.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    assert common_name.value == f"TEST official PE/{TEST_ENTITY_ID} - not for production use"
    assert organisation.value == "LACPorts hub test PKI"
    assert certificate.not_valid_before_utc == datetime(2020, 1, 1, tzinfo=UTC)
    assert certificate.not_valid_after_utc.date().isoformat() == "2035-12-31"
    assert certificate.issuer == pki.ca_certificate.subject
    ca_key = pki.ca_certificate.public_key()
    assert isinstance(ca_key, Ed25519PublicKey)
    ca_key.verify(certificate.signature, certificate.tbs_certificate_bytes)  # raises if not
    assert isinstance(official.key, ec.EllipticCurvePrivateKey)
    assert official.key.curve.name == "secp256r1"
    assert official.key.public_key() == certificate.public_key()


def test_rsa_officials_are_cached_per_instance() -> None:
    pki = TestPki(0)
    first, again = pki.rsa_official("PE"), pki.rsa_official("PE")
    assert isinstance(first.key, rsa.RSAPrivateKey)
    assert first.key.key_size == 2048
    assert _private(first) == _private(again)
    assert first.certificate.public_key() == first.key.public_key()


def test_pytest_does_not_collect_it() -> None:
    assert TestPki.__test__ is False
