"""Digital certificates of origin (SPEC §3) as pure functions: no faust, HTTP or database here.

The certificate stage, the API and the docs rest on these definitions. Modules:

- :mod:`~hub.domain.certificates.document` — the ALADI COD as XML: :class:`CertificateOfOrigin`,
  :func:`unsigned_document`, and :func:`parse_document`, which reads untrusted input safely;
- :mod:`~hub.domain.certificates.signing` — the exporter's and the official's XML-DSig signatures:
  :func:`sign_document` and :func:`check_signatures`;
- :mod:`~hub.domain.certificates.issuer_registry` — a snapshot of the issuer registry: agreements,
  issuing entities, officials' certificates by :func:`fingerprint`;
- :mod:`~hub.domain.certificates.rules` — :func:`evaluate`: one :class:`Verdict` per certificate,
  every :class:`ReasonCode` listed with its :class:`RuleStatus`.
"""

from hub.domain.certificates.document import (
    MAX_DOCUMENT_BYTES,
    CertificateOfOrigin,
    CertifiedGoods,
    DocumentError,
    Invoice,
    Party,
    UnreadableDocument,
    parse_document,
    unsigned_document,
)
from hub.domain.certificates.issuer_registry import (
    Agreement,
    IssuerRegistry,
    IssuingEntity,
    Official,
    fingerprint,
)
from hub.domain.certificates.rules import (
    DEFAULT_VALIDITY_DAYS,
    RULES,
    Evidence,
    Outcome,
    ReasonCode,
    RuleResult,
    RuleStatus,
    Verdict,
    evaluate,
)
from hub.domain.certificates.signing import (
    DocumentSignatures,
    SignatureCheck,
    SignatureStatus,
    SigningKey,
    check_signatures,
    sign_document,
)

__all__ = [
    "DEFAULT_VALIDITY_DAYS",
    "MAX_DOCUMENT_BYTES",
    "RULES",
    "Agreement",
    "CertificateOfOrigin",
    "CertifiedGoods",
    "DocumentError",
    "DocumentSignatures",
    "Evidence",
    "Invoice",
    "IssuerRegistry",
    "IssuingEntity",
    "Official",
    "Outcome",
    "Party",
    "ReasonCode",
    "RuleResult",
    "RuleStatus",
    "SignatureCheck",
    "SignatureStatus",
    "SigningKey",
    "UnreadableDocument",
    "Verdict",
    "check_signatures",
    "evaluate",
    "fingerprint",
    "parse_document",
    "sign_document",
    "unsigned_document",
]
