"""The two enveloped XML-DSig signatures of a COD, made and checked with signxml.

The exporter signs ``#COD`` and the official of the issuing entity signs ``#CODEH`` (which
holds the exporter's signature), each with its X.509 certificate in ``KeyInfo``.

:func:`check_signatures` answers one question per signature: does it verify, with the key of
the certificate it carries, over exactly the element it must sign? Whether that certificate
belongs to a registered official, and was valid and enabled at the ``CertificateDate``, is the
rules' business (``rules``): here a certificate's own validity period is deliberately ignored,
because "valid at signing", not "valid today", is what counts.
"""

from __future__ import annotations

import base64
import hashlib
from collections import OrderedDict
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from lxml import etree
from signxml.algorithms import DigestAlgorithm, SignatureConstructionMethod, SignatureMethod
from signxml.exceptions import InvalidCertificate, InvalidDigest, InvalidInput, InvalidSignature
from signxml.signer import XMLSigner
from signxml.verifier import SignatureConfiguration, XMLVerifier

from hub.domain.certificates.document import (
    CODEH_PATH,
    EXPORTER_PATH,
    CertificateOfOrigin,
    DocumentError,
    read_xml,
    signed_elements,
    unsigned_document,
)

__all__ = [
    "DocumentSignatures",
    "SignatureCheck",
    "SignatureStatus",
    "SigningKey",
    "check_signatures",
    "sign_document",
]

DS_NAMESPACE: Final = "http://www.w3.org/2000/09/xmldsig#"
_DS: Final = {"ds": DS_NAMESPACE}

# Asymmetric algorithms with SHA-2 only: no SHA-1, and no HMAC (a shared secret proves nothing
# about who signed).
_SIGNATURE_METHODS: Final = frozenset(
    {
        SignatureMethod.ECDSA_SHA256,
        SignatureMethod.ECDSA_SHA384,
        SignatureMethod.ECDSA_SHA512,
        SignatureMethod.RSA_SHA256,
        SignatureMethod.RSA_SHA384,
        SignatureMethod.RSA_SHA512,
        SignatureMethod.SHA256_RSA_MGF1,
        SignatureMethod.SHA384_RSA_MGF1,
        SignatureMethod.SHA512_RSA_MGF1,
    }
)
_DIGEST_ALGORITHMS: Final = frozenset(
    {DigestAlgorithm.SHA256, DigestAlgorithm.SHA384, DigestAlgorithm.SHA512}
)


@dataclass(frozen=True, slots=True)
class SigningKey:
    """A private key and the X.509 certificate of its public key."""

    key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
    certificate: x509.Certificate


class SignatureStatus(StrEnum):
    """What checking one signature found."""

    VALID = "VALID"
    """The signature value verifies and the signed element's digest matches."""
    DIGEST_MISMATCH = "DIGEST_MISMATCH"
    """The signature value verifies, the signed element's digest does not: altered content."""
    SIGNATURE_INVALID = "SIGNATURE_INVALID"
    """The signature value does not verify, or the signature signs the wrong element."""
    MISSING = "MISSING"
    """No signature, no certificate in its ``KeyInfo``, or a malformed signature."""


@dataclass(frozen=True, slots=True)
class SignatureCheck:
    """The result of checking one signature."""

    status: SignatureStatus
    certificate: x509.Certificate | None
    """The X.509 certificate in the signature's ``KeyInfo`` (None if there is none)."""
    detail: str
    """Human-readable, e.g. ``"digest mismatch for #COD"``."""


@dataclass(frozen=True, slots=True)
class DocumentSignatures:
    """Both signatures of a COD."""

    exporter: SignatureCheck
    """The ``ds:Signature`` in ``CODExporter``, reference exactly ``#COD``."""
    official: SignatureCheck
    """The ``ds:Signature`` in ``CODEH``, reference exactly ``#CODEH``."""


@dataclass(frozen=True, slots=True)
class _Role:
    parent_path: str
    reference: str
    signed_tag: str


_EXPORTER: Final = _Role(EXPORTER_PATH, "#COD", "COD")
_OFFICIAL: Final = _Role(CODEH_PATH, "#CODEH", "CODEH")


# --- signing ----------------------------------------------------------------------------------


def sign_document(cod: CertificateOfOrigin, exporter: SigningKey, official: SigningKey) -> bytes:
    """``cod`` as a COD signed by ``exporter`` (``#COD``), then by ``official`` (``#CODEH``).

    Returns the UTF-8 XML bytes exactly as signed: any change, even of whitespace inside the
    signed elements, breaks a digest.
    """
    root = unsigned_document(cod)
    # signxml signs one placeholder at a time, so the exporter's signature is made first and
    # is then part of what the official signs.
    root = _sign(root, EXPORTER_PATH, exporter, _EXPORTER.reference)
    root = _sign(root, CODEH_PATH, official, _OFFICIAL.reference)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _sign(
    root: etree._Element, parent_path: str, signer: SigningKey, reference: str
) -> etree._Element:
    parent = root.find(parent_path)
    assert parent is not None  # unsigned_document always builds the full path
    etree.SubElement(parent, f"{{{DS_NAMESPACE}}}Signature", Id="placeholder", nsmap=_DS)
    algorithm = (
        "ecdsa-sha256" if isinstance(signer.key, ec.EllipticCurvePrivateKey) else "rsa-sha256"
    )
    pem = signer.certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")
    signed: etree._Element = XMLSigner(
        method=SignatureConstructionMethod.enveloped,
        signature_algorithm=algorithm,
        digest_algorithm="sha256",
    ).sign(root, key=signer.key, cert=[pem], reference_uri=reference, id_attribute="id")
    return signed


# --- checking ---------------------------------------------------------------------------------


_CHECKED_DOCUMENTS: Final = 4_096
"""How many documents' signature checks are remembered (by SHA-256 of the bytes)."""
_checked: OrderedDict[bytes, DocumentSignatures] = OrderedDict()


def check_signatures(document: bytes) -> DocumentSignatures:
    """Check the exporter's and the official's signature of ``document``.

    The result depends on the bytes alone, and a certificate is judged again each time a
    declaration invokes it: the results of the last :data:`_CHECKED_DOCUMENTS` documents are
    remembered, by their SHA-256 (verifying an XML signature costs milliseconds).

    Each must be the only ``ds:Signature`` child of its element, carry an X.509 certificate in
    ``KeyInfo``, have exactly one reference, to exactly ``#COD`` (exporter) or ``#CODEH``
    (official) — a valid signature over another element must not count — and verify with the
    key of that certificate. A document that is not readable, or whose structure is ambiguous
    (two ``COD`` elements, a repeated ``id``: see ``document.signed_elements``), has both
    signatures ``MISSING``. Never raises for bad input.
    """
    digest = hashlib.sha256(document).digest()
    checked = _checked.get(digest)
    if checked is None:
        checked = _checked[digest] = _check_signatures(document)
        if len(_checked) > _CHECKED_DOCUMENTS:
            _checked.popitem(last=False)
    else:
        _checked.move_to_end(digest)
    return checked


def _check_signatures(document: bytes) -> DocumentSignatures:
    try:
        root = read_xml(document)
        signed_elements(root)
    except DocumentError as error:
        missing = SignatureCheck(SignatureStatus.MISSING, None, str(error))
        return DocumentSignatures(missing, missing)
    return DocumentSignatures(
        exporter=_check(document, root, _EXPORTER), official=_check(document, root, _OFFICIAL)
    )


def _check(document: bytes, root: etree._Element, role: _Role) -> SignatureCheck:
    parent = root.find(role.parent_path)
    assert parent is not None  # signed_elements checked the structure
    signatures = parent.findall("ds:Signature", namespaces=_DS)
    if len(signatures) != 1:
        where = role.parent_path.rpartition("/")[2]
        detail = (
            f"no ds:Signature in {where}"
            if not signatures
            else f"{len(signatures)} ds:Signature elements in {where}; one only"
        )
        return SignatureCheck(SignatureStatus.MISSING, None, detail)
    signature = signatures[0]
    certificate, problem = _embedded_certificate(signature)
    if certificate is None:
        return SignatureCheck(SignatureStatus.MISSING, None, problem)
    uris = [ref.get("URI") for ref in signature.findall("ds:SignedInfo/ds:Reference", _DS)]
    if uris != [role.reference]:
        signed = ", ".join(repr(uri) for uri in uris) or "nothing"
        return _fail(certificate, f"signs {signed}, not {role.reference}")
    return _verify(document, certificate, role)


def _embedded_certificate(signature: etree._Element) -> tuple[x509.Certificate | None, str]:
    """The first certificate in ``KeyInfo/X509Data`` (the signer's, by convention), or a problem."""
    found = signature.find("ds:KeyInfo/ds:X509Data/ds:X509Certificate", _DS)
    if found is None or not (found.text or "").strip():
        return None, "no X.509 certificate in KeyInfo"
    try:
        der = base64.b64decode("".join((found.text or "").split()), validate=True)
        return x509.load_der_x509_certificate(der), ""
    except ValueError as error:  # binascii.Error is a ValueError
        return None, f"the X.509 certificate in KeyInfo is unreadable: {error}"


def _verify(document: bytes, certificate: x509.Certificate, role: _Role) -> SignatureCheck:
    config = SignatureConfiguration(
        location=f"./{role.parent_path}/",
        expect_references=1,
        signature_methods=_SIGNATURE_METHODS,
        digest_algorithms=_DIGEST_ALGORITHMS,
        # Validity at the CertificateDate is the rules' check; signxml would check "now".
        verification_time=certificate.not_valid_before_utc,
    )
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, huge_tree=False, remove_comments=False
    )
    try:
        result = XMLVerifier().verify(
            document, x509_cert=certificate, id_attribute="id", parser=parser, expect_config=config
        )
    except InvalidDigest:
        return SignatureCheck(
            SignatureStatus.DIGEST_MISMATCH, certificate, f"digest mismatch for {role.reference}"
        )
    except InvalidCertificate as error:  # before InvalidSignature: it is a subclass
        return _fail(certificate, f"certificate not usable: {error}")
    except InvalidSignature:
        return _fail(certificate, f"signature value over {role.reference} does not verify")
    except InvalidInput as error:
        return _fail(certificate, f"signature not acceptable: {error}")
    # Untrusted input reaches deep into signxml (base64, enums of algorithm URIs, the XML-DSig
    # schema); whatever else it raises, the signature is not shown valid: fail closed.
    except Exception as error:
        return SignatureCheck(
            SignatureStatus.MISSING,
            certificate,
            f"malformed signature: {type(error).__name__}: {error}",
        )
    signed = result.signed_xml if not isinstance(result, list) else None
    if signed is None or signed.tag != role.signed_tag:
        return _fail(certificate, f"does not sign {role.signed_tag}")
    return SignatureCheck(SignatureStatus.VALID, certificate, "")


def _fail(certificate: x509.Certificate, detail: str) -> SignatureCheck:
    return SignatureCheck(SignatureStatus.SIGNATURE_INVALID, certificate, detail)
