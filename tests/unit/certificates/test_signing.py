"""The exporter's and the official's XML-DSig signatures: made, checked, and broken on purpose."""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives import serialization
from lxml import etree
from signxml.algorithms import SignatureConstructionMethod
from signxml.signer import XMLSigner

from hub.domain.certificates.document import unsigned_document
from hub.domain.certificates.signing import (
    DocumentSignatures,
    SignatureStatus,
    check_signatures,
    sign_document,
)
from tests.unit.certificates.builders import CERTIFICATE, EXPORTER, OFFICIAL, PKI, signed

DS = "http://www.w3.org/2000/09/xmldsig#"
NS = {"ds": DS}
VALID = SignatureStatus.VALID


def _statuses(signatures: DocumentSignatures) -> tuple[SignatureStatus, SignatureStatus]:
    return signatures.exporter.status, signatures.official.status


def _removed(document: bytes, path: str) -> bytes:
    """``document`` with the element at ``path`` (from ``Envelope``) removed."""
    root = etree.fromstring(document)
    element = root.find(path, NS)
    assert element is not None, path
    parent = element.getparent()
    assert parent is not None
    parent.remove(element)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _flip_signature_value(document: bytes, which: int) -> bytes:
    """``document`` with one base64 character of the ``which``-th SignatureValue changed."""
    values = list(re.finditer(rb"<ds:SignatureValue>([^<]+)</ds:SignatureValue>", document))
    start = values[which].start(1)
    flipped = b"B" if document[start : start + 1] == b"A" else b"A"
    return document[:start] + flipped + document[start + 1 :]


def test_a_signed_document_has_both_signatures_valid_with_their_certificates() -> None:
    document = signed()
    signatures = check_signatures(document)
    assert _statuses(signatures) == (VALID, VALID)
    assert signatures.exporter.certificate == EXPORTER.certificate
    assert signatures.official.certificate == OFFICIAL.certificate
    assert signatures.exporter.detail == signatures.official.detail == ""


def test_signatures_are_the_last_children_of_codexporter_and_codeh() -> None:
    document = signed()
    assert document.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    root = etree.fromstring(document)
    exporter, codeh = root.find("CertOrigin/CODEH/CODExporter"), root.find("CertOrigin/CODEH")
    assert exporter is not None and codeh is not None
    assert [child.tag for child in exporter] == ["COD", f"{{{DS}}}Signature"]
    assert [child.tag for child in codeh] == ["CODExporter", f"{{{DS}}}Signature"]
    uris = [ref.get("URI") for ref in root.iterfind(".//ds:Reference", NS)]
    assert uris == ["#COD", "#CODEH"]


def test_one_byte_of_cod_content_altered_breaks_both_digests() -> None:
    document = signed().replace(b"<Quantity>10000</Quantity>", b"<Quantity>10001</Quantity>")
    signatures = check_signatures(document)
    assert _statuses(signatures) == (SignatureStatus.DIGEST_MISMATCH,) * 2
    assert signatures.exporter.detail == "digest mismatch for #COD"
    assert signatures.official.detail == "digest mismatch for #CODEH"
    assert signatures.official.certificate == OFFICIAL.certificate


def test_the_exporters_signature_is_covered_by_the_officials() -> None:
    signatures = check_signatures(_flip_signature_value(signed(), 0))
    assert _statuses(signatures) == (
        SignatureStatus.SIGNATURE_INVALID,
        SignatureStatus.DIGEST_MISMATCH,
    )
    assert signatures.exporter.detail == "signature value over #COD does not verify"


def test_an_altered_official_signature_value_is_signature_invalid() -> None:
    signatures = check_signatures(_flip_signature_value(signed(), 1))
    assert _statuses(signatures) == (VALID, SignatureStatus.SIGNATURE_INVALID)
    assert signatures.official.certificate == OFFICIAL.certificate


def test_a_certificate_swapped_into_keyinfo_does_not_verify() -> None:
    document = signed()
    theirs = base64.b64encode(OFFICIAL.certificate.public_bytes(serialization.Encoding.DER))
    other = PKI.official("PE", name="Impostor").certificate
    ours = base64.b64encode(other.public_bytes(serialization.Encoding.DER))
    root = etree.fromstring(document)
    official_certificate = root.find("CertOrigin/CODEH/ds:Signature//ds:X509Certificate", NS)
    assert official_certificate is not None
    assert "".join((official_certificate.text or "").split()).encode() == theirs
    official_certificate.text = ours.decode()
    signatures = check_signatures(etree.tostring(root))
    assert _statuses(signatures) == (VALID, SignatureStatus.SIGNATURE_INVALID)
    assert signatures.official.certificate == other


def test_an_rsa_official_works_too() -> None:
    official = PKI.rsa_official("PE")
    document = sign_document(CERTIFICATE, EXPORTER, official)
    assert b"rsa-sha256" in document
    signatures = check_signatures(document)
    assert _statuses(signatures) == (VALID, VALID)
    assert signatures.official.certificate == official.certificate


def test_an_expired_certificate_still_verifies_validity_is_the_rules_business() -> None:
    expired = PKI.official(
        "PE",
        not_before=datetime(2019, 1, 1, tzinfo=UTC),
        not_after=datetime(2021, 1, 1, tzinfo=UTC),
    )
    signatures = check_signatures(sign_document(CERTIFICATE, EXPORTER, expired))
    assert _statuses(signatures) == (VALID, VALID)


@pytest.mark.parametrize(
    ("path", "expected", "detail"),
    [
        (
            "CertOrigin/CODEH/ds:Signature",
            (VALID, SignatureStatus.MISSING),
            "no ds:Signature in CODEH",
        ),
        (
            "CertOrigin/CODEH/CODExporter/ds:Signature",
            (SignatureStatus.MISSING, SignatureStatus.DIGEST_MISMATCH),
            "no ds:Signature in CODExporter",
        ),
        (
            "CertOrigin/CODEH/ds:Signature/ds:KeyInfo",
            (VALID, SignatureStatus.MISSING),
            "no X.509 certificate in KeyInfo",
        ),
    ],
)
def test_removed_signatures_or_certificates_are_missing(
    path: str, expected: tuple[SignatureStatus, SignatureStatus], detail: str
) -> None:
    signatures = check_signatures(_removed(signed(), path))
    assert _statuses(signatures) == expected
    missing = signatures.official if expected[1] is SignatureStatus.MISSING else signatures.exporter
    assert missing.detail == detail
    assert missing.certificate is None


def test_an_unsigned_document_has_no_signatures() -> None:
    document = etree.tostring(unsigned_document(CERTIFICATE))
    assert _statuses(check_signatures(document)) == (SignatureStatus.MISSING,) * 2


def test_a_valid_signature_over_another_element_does_not_count() -> None:
    """See what is signed: the official's signature must be over #CODEH, not over #COD."""
    root = unsigned_document(CERTIFICATE)
    for parent_path, signer in (
        ("CertOrigin/CODEH/CODExporter", EXPORTER),
        ("CertOrigin/CODEH", OFFICIAL),
    ):
        parent = root.find(parent_path)
        assert parent is not None
        etree.SubElement(parent, f"{{{DS}}}Signature", Id="placeholder", nsmap=NS)
        pem = signer.certificate.public_bytes(serialization.Encoding.PEM).decode()
        root = XMLSigner(
            method=SignatureConstructionMethod.enveloped,
            signature_algorithm="ecdsa-sha256",
            digest_algorithm="sha256",
        ).sign(root, key=signer.key, cert=[pem], reference_uri="#COD", id_attribute="id")
    signatures = check_signatures(etree.tostring(root))
    assert _statuses(signatures) == (VALID, SignatureStatus.SIGNATURE_INVALID)
    assert signatures.official.detail == "signs '#COD', not #CODEH"


def test_a_second_signature_in_the_same_place_is_refused() -> None:
    root = etree.fromstring(signed())
    codeh = root.find("CertOrigin/CODEH")
    assert codeh is not None
    codeh.append(copy_of(codeh[-1]))
    signatures = check_signatures(etree.tostring(root))
    assert signatures.official.status is SignatureStatus.MISSING
    assert signatures.official.detail == "2 ds:Signature elements in CODEH; one only"


def copy_of(element: etree._Element) -> etree._Element:
    return etree.fromstring(etree.tostring(element))


@pytest.mark.parametrize(
    "document",
    [b"", b"not xml", b"<Envelope/>", b"<!DOCTYPE Envelope><Envelope/>", b"\xff\xfe\x00<"],
)
def test_unreadable_documents_have_both_signatures_missing(document: bytes) -> None:
    signatures = check_signatures(document)
    assert _statuses(signatures) == (SignatureStatus.MISSING,) * 2
    assert signatures.exporter.certificate is None


def test_a_wrapped_document_has_both_signatures_missing() -> None:
    document = signed().replace(b"</CertOrigin>", b"</CertOrigin><COD id='X'/>")
    signatures = check_signatures(document)
    assert _statuses(signatures) == (SignatureStatus.MISSING,) * 2
    assert signatures.official.detail == "COD: appears 2 times; one signed element only"


@pytest.mark.parametrize(
    ("pattern", "replacement", "status", "detail"),
    [
        (rb"http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256", b"http://www.w3.org/2000/09/xmldsig#rsa-sha1",
         SignatureStatus.SIGNATURE_INVALID, "signature not acceptable: Signature method RSA_SHA1 forbidden"),
        (rb'<ds:CanonicalizationMethod Algorithm="[^"]+"/>', b"",
         SignatureStatus.MISSING, "malformed signature: DocumentInvalid"),
        (rb"<ds:SignatureValue>[^<]+", b"<ds:SignatureValue>!!!",
         SignatureStatus.SIGNATURE_INVALID, "signature value over #COD does not verify"),
        (rb"<ds:X509Certificate>[^<]+", b"<ds:X509Certificate>AAAA",
         SignatureStatus.MISSING, "the X.509 certificate in KeyInfo is unreadable"),
        (rb'URI="#COD"', b'URI="http://example.invalid/cod.xml"',
         SignatureStatus.SIGNATURE_INVALID, "signs 'http://example.invalid/cod.xml', not #COD"),
    ],
)  # fmt: skip
def test_garbage_in_a_signature_is_reported_not_raised(
    pattern: bytes, replacement: bytes, status: SignatureStatus, detail: str
) -> None:
    check = check_signatures(re.sub(pattern, replacement, signed(), count=1)).exporter
    assert check.status is status
    assert check.detail.startswith(detail)
