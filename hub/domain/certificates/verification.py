"""A certificate checked on demand, not submitted (``POST /v1/certificates/verify``).

The rules judge a :class:`~schemas.models.CertificateSubmission`: a signed document and the
envelope that names it (certificate id, agreement, countries, issuing entity). A customs officer
at the counter has only the document, so the envelope is built in memory from what the request
says and, for what it does not say, from what the document says of itself
(:func:`claimed_fields`). The verdict then comes from the one definition of the rules,
:func:`~hub.domain.certificates.rules.evaluate`, exactly as for a submission with that envelope.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Final

from hub.domain.certificates.document import (
    COD_PATH,
    DocumentError,
    parse_document,
    read_xml,
)
from schemas.models import AGREEMENT_PATTERN, COUNTRY_PATTERN, CertificateSubmission

__all__ = ["ENVELOPE_FIELDS", "UNKNOWN", "claimed_fields", "verification_submission"]

ENVELOPE_FIELDS: Final = (
    "certificate_id",
    "agreement",
    "exporting_country",
    "importing_country",
    "issuing_entity",
)
"""The submission's fields that name the certificate, and that a request may give."""

# Where each field is in the signed COD element, and the form the submission needs.
_CLAIMS: Final = {
    "certificate_id": ("CertificateID", re.compile(r"^[^\x00]{1,64}$")),
    "agreement": ("Agreement", re.compile(AGREEMENT_PATTERN)),
    "exporting_country": ("IssuingEntity/EHCountry", re.compile(COUNTRY_PATTERN)),
    "importing_country": ("Importer/Country", re.compile(COUNTRY_PATTERN)),
    "issuing_entity": ("IssuingEntity/EHId", re.compile(r"^[A-Za-z0-9]{3}$")),
}

UNKNOWN: Final[Mapping[str, str]] = {
    "agreement": "ZZZ",
    "exporting_country": "ZZ",
    "importing_country": "ZZ",
    "issuing_entity": "ZZZ",
}
"""Stand-ins for envelope fields neither the request nor the document gives. That happens only
when the document misses content: then every rule but the signatures' fails or errs on the
document itself, and none reads these (the report shows them as unknown)."""


def claimed_fields(document: bytes) -> dict[str, str]:
    """The envelope fields ``document`` gives: from the certificate when it parses; else, read
    leniently from the signed ``COD`` element, those present in the form a submission needs.

    Raises:
        UnreadableDocument: not XML the hub reads at all (too big, not well-formed, a DOCTYPE).
    """
    try:
        certificate = parse_document(document)
    except DocumentError:
        cod = read_xml(document).find(COD_PATH)  # raises UnreadableDocument as parse_document
        if cod is None:
            return {}
        claims = {}
        for field, (path, form) in _CLAIMS.items():
            element = cod.find(path)
            text = (element.text or "").strip() if element is not None else ""
            if element is not None and not len(element) and form.match(text):
                claims[field] = text
        return claims
    claims = {
        "certificate_id": certificate.certificate_id,
        "agreement": certificate.agreement,
        "exporting_country": certificate.issuing_country,
        "importing_country": certificate.importer.country,
        "issuing_entity": certificate.issuing_entity,
    }
    # A parsed CertificateID may still be longer than a submission's id allows.
    return {field: value for field, value in claims.items() if _CLAIMS[field][1].match(value)}


def verification_submission(
    document: bytes, fields: Mapping[str, str], now: datetime
) -> CertificateSubmission:
    """The in-memory submission of ``document`` under the envelope ``fields`` (``certificate_id``
    required; the others default to :data:`UNKNOWN`), submitted ``now``. It is never stored nor
    published: its event id is fresh and its port is the importing country's ``ZZZ`` (UN/LOCODE's
    "no specific location")."""
    envelope = {**UNKNOWN, **{field: fields[field] for field in ENVELOPE_FIELDS if field in fields}}
    return CertificateSubmission(
        event_id=uuid.uuid4(),
        occurred_at=now,
        published_at=now,
        port=f"{envelope['importing_country']}ZZZ",
        certificate_id=envelope["certificate_id"],
        agreement=envelope["agreement"],
        exporting_country=envelope["exporting_country"],
        importing_country=envelope["importing_country"],
        issuing_entity=envelope["issuing_entity"],
        document=document,
    )
