"""One verdict per certificate of origin: every rule of SPEC §3, each PASS, FAIL, ERROR or PENDING.

:data:`RULES` holds one function per :class:`ReasonCode`, in SPEC's order; they are the single
definition of the rules (the stream and the docs use them through :func:`evaluate`). Every rule
is listed in every verdict. The choices the SPEC leaves open:

- **Outcome.** ``VALID`` only when every rule passes; ``INVALID`` as soon as one fails or errs
  (fails closed: ERROR counts as FAIL); otherwise ``PENDING`` (rules wait for the declaration).
- **What is read.** The fields come from the signed ``COD`` only (``document.parse_document``).
  Where the submission's envelope and the document could disagree, the rules use the document:
  a mismatch is ``SCHEMA_INVALID``'s, and the other rules stay about what was signed.
- **An unreadable document** (too big, not XML, a DOCTYPE) fails ``SCHEMA_INVALID`` and makes
  every other rule ERROR "document unreadable". XML that parses but misses content fails
  ``SCHEMA_INVALID``; the signatures are still checked, the rules that need the content ERROR.
- ``SCHEMA_INVALID``: the document parses, and the envelope agrees with it: ``certificate_id``
  = ``CertificateID``, ``agreement`` = ``Agreement``, ``issuing_entity`` = ``EHId``,
  ``exporting_country`` = ``EHCountry``, ``importing_country`` = the importer's country.
- ``DIGEST_MISMATCH``: the exporter's or the official's signature verifies but the digest of
  what it signs does not match. A signature that is missing or does not verify has no digest
  worth comparing: that is ``SIGNATURE_INVALID``'s failure, not this rule's.
- ``SIGNATURE_INVALID``: either signature is missing, malformed, signs anything but exactly
  ``#COD`` (exporter) or ``#CODEH`` (official), or its value does not verify with the key of
  the certificate in its ``KeyInfo``.
- ``SIGNER_UNKNOWN``: the official's certificate (the one its signature carries) is registered,
  by SHA-256 fingerprint, for the document's ``EHCountry``/``EHId``. Registered for another
  entity: FAIL saying which. No official certificate in the document: ERROR.
- ``SIGNER_NOT_VALID_AT_SIGNING``: the registered certificate's validity (UTC dates of
  ``not_before``..``not_after``) and the official's enablement period (open ends allowed) both
  contain the ``CertificateDate`` — not today. ERROR while the signer is unknown.
- ``SIGNER_REVOKED``: revoked on or before the ``CertificateDate`` (UTC date of ``revoked_at``)
  fails; a revocation after it does not touch certificates signed before. ERROR while the
  signer is unknown.
- ``ISSUER_NOT_AUTHORISED``: the entity ``EHCountry``/``EHId`` is registered and may certify
  under the document's agreement; an unregistered entity fails.
- ``EXPIRED``: each declaration's lodgement date (UTC date of its ``occurred_at``) is not before
  ``CertificateInitialDate`` (when given) and not after ``CertificateFinalDate`` when given,
  else not after ``CertificateDate`` + the agreement's ``validity_days`` (else the hub's
  default), that last day included. PENDING without a declaration.
- ``GOODS_NOT_COVERED``: every certified goods code falls under the agreement's schedule (an
  empty schedule covers everything); an agreement the registry does not know fails.
- ``DECLARATION_MISMATCH``: for each declaration, its importer and exporter ids equal the
  certified tax ids, its invoice number (when it gives one) is a certified invoice, its
  agreement is the certificate's, each goods line matches a certified item on the first six HS
  digits, and its port is in the importing country. PENDING without a declaration.
- ``QUANTITY_EXCEEDED``: no single declaration declares more of a certified item than certified
  (its lines summed per matched item, in the item's unit; a line in another unit cannot be
  compared: ERROR). PENDING without a declaration.
- ``ALREADY_USED``: single use with partial shipments: the declarations, in lodgement order
  (ties by port, then declaration id), may share a certificate while together they declare no
  more of an item than certified. The one that goes over fails, named — unless it went over
  alone, which is ``QUANTITY_EXCEEDED``'s. PENDING without a declaration.
- **Declarations.** Only LODGED events invoking this certificate count; one declaration is one
  ``(port, declaration_id)``: a re-delivered or corrected LODGED event replaces the previous
  one (the latest published wins; an event another one retracts is dropped).
- Quantities are compared as Decimals, never floats.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType
from typing import Final

from hub.domain.certificates.document import (
    CertificateOfOrigin,
    CertifiedGoods,
    DocumentError,
    UnreadableDocument,
    parse_document,
)
from hub.domain.certificates.issuer_registry import IssuerRegistry, Official, fingerprint
from hub.domain.certificates.signing import (
    DocumentSignatures,
    SignatureCheck,
    SignatureStatus,
    check_signatures,
)
from schemas.models import CertificateSubmission, CustomsEvent, CustomsKind, Envelope, GoodsLine

__all__ = [
    "DEFAULT_VALIDITY_DAYS",
    "RULES",
    "Evidence",
    "Outcome",
    "ReasonCode",
    "Rule",
    "RuleResult",
    "RuleStatus",
    "Verdict",
    "declarations_invoking",
    "evaluate",
]

DEFAULT_VALIDITY_DAYS: Final = 180
"""SPEC §3: a certificate without an explicit period is valid this many days from its
``CertificateDate`` unless its agreement says otherwise (the hub's setting overrides it)."""

_UNREADABLE: Final = "document unreadable"
_NO_CONTENT: Final = "document content invalid (see SCHEMA_INVALID)"
_NO_DECLARATION: Final = "no declaration invokes the certificate yet"
_SIGNER_UNKNOWN: Final = "signer unknown (see SIGNER_UNKNOWN)"


class ReasonCode(StrEnum):
    """The rules of a verdict (SPEC §3), in SPEC's order."""

    SCHEMA_INVALID = "SCHEMA_INVALID"
    """The document does not parse or misses required content."""
    DIGEST_MISMATCH = "DIGEST_MISMATCH"
    """A signed reference's digest does not match (document altered)."""
    SIGNATURE_INVALID = "SIGNATURE_INVALID"
    """A signature value does not verify."""
    SIGNER_UNKNOWN = "SIGNER_UNKNOWN"
    """The official's certificate is not registered for that issuing entity and country."""
    SIGNER_NOT_VALID_AT_SIGNING = "SIGNER_NOT_VALID_AT_SIGNING"
    """The official's certificate or enablement is not valid at ``CertificateDate``."""
    SIGNER_REVOKED = "SIGNER_REVOKED"
    """The official's certificate was revoked before ``CertificateDate``."""
    ISSUER_NOT_AUTHORISED = "ISSUER_NOT_AUTHORISED"
    """The issuing entity may not certify under that agreement."""
    EXPIRED = "EXPIRED"
    """The certificate was no longer (or not yet) valid when the declaration was lodged."""
    GOODS_NOT_COVERED = "GOODS_NOT_COVERED"
    """An HS code is not covered by the agreement's schedule."""
    DECLARATION_MISMATCH = "DECLARATION_MISMATCH"
    """Importer, exporter, invoice, HS codes or agreement differ from the declaration."""
    QUANTITY_EXCEEDED = "QUANTITY_EXCEEDED"
    """A declaration declares more than the certified quantity."""
    ALREADY_USED = "ALREADY_USED"
    """Invoked by a second import operation (single use): partial shipments may share a
    certificate only within the certified quantities."""


class RuleStatus(StrEnum):
    """How one rule came out."""

    PASS = "PASS"
    FAIL = "FAIL"
    ERROR = "ERROR"
    """The rule could not be evaluated (it counts as FAIL)."""
    PENDING = "PENDING"
    """The rule waits for the declaration that invokes the certificate."""


class Outcome(StrEnum):
    """What a verdict says about the certificate."""

    VALID = "VALID"
    """Every rule passes."""
    INVALID = "INVALID"
    """Some rule fails or errs."""
    PENDING = "PENDING"
    """No rule fails, some wait for the declaration."""


@dataclass(frozen=True, slots=True)
class RuleResult:
    """One rule of a verdict."""

    code: ReasonCode
    status: RuleStatus
    detail: str
    """Empty on PASS; otherwise what failed, e.g.
    ``"DEC-9 at PECLL declares 12000 KGM of 080390, certified 10000"``."""


@dataclass(frozen=True, slots=True)
class Verdict:
    """Every rule's result for one certificate, as sent to the importing country's customs."""

    certificate_id: str
    importing_country: str
    exporting_country: str
    outcome: Outcome
    rules: tuple[RuleResult, ...]
    """One per :class:`ReasonCode`, in that order."""
    document_sha256: str
    """SHA-256 of the submitted document bytes, lowercase hex."""
    declarations: tuple[str, ...]
    """``"PORT/DECLARATION_ID"`` of the declarations considered, sorted."""
    submission_event_id: str

    @property
    def failed(self) -> tuple[ReasonCode, ...]:
        """The codes of the rules that FAIL or ERROR, in :class:`ReasonCode` order."""
        return tuple(
            rule.code for rule in self.rules if rule.status in (RuleStatus.FAIL, RuleStatus.ERROR)
        )

    def as_json(self) -> dict[str, object]:
        """The verdict as JSON-ready data: strings and lists only."""
        return {
            "certificate_id": self.certificate_id,
            "importing_country": self.importing_country,
            "exporting_country": self.exporting_country,
            "outcome": self.outcome.value,
            "failed": [code.value for code in self.failed],
            "rules": [
                {"code": rule.code.value, "status": rule.status.value, "detail": rule.detail}
                for rule in self.rules
            ],
            "document_sha256": self.document_sha256,
            "declarations": list(self.declarations),
            "submission_event_id": self.submission_event_id,
        }


@dataclass(frozen=True, slots=True)
class Evidence:
    """What the rules look at, gathered once per evaluation (see :meth:`gather`)."""

    submission: CertificateSubmission
    registry: IssuerRegistry
    certificate: CertificateOfOrigin | None
    """The document's content; None when it is unreadable or misses content."""
    document_problem: str
    """Why the document does not parse (``""`` when it does)."""
    unreadable: bool
    """The document is not XML the hub reads at all."""
    signatures: DocumentSignatures
    declarations: tuple[CustomsEvent, ...]
    """The current LODGED event of each declaration invoking the certificate, in lodgement
    order."""
    default_validity_days: int

    @classmethod
    def gather(
        cls,
        submission: CertificateSubmission,
        registry: IssuerRegistry,
        declarations: Iterable[CustomsEvent],
        default_validity_days: int = DEFAULT_VALIDITY_DAYS,
    ) -> Evidence:
        """Parse the document, check its signatures, and pick the declarations that count."""
        certificate: CertificateOfOrigin | None = None
        problem, unreadable = "", False
        try:
            certificate = parse_document(submission.document)
        except UnreadableDocument as error:
            problem, unreadable = str(error), True
        except DocumentError as error:
            problem = str(error)
        if unreadable:
            missing = SignatureCheck(SignatureStatus.MISSING, None, _UNREADABLE)
            signatures = DocumentSignatures(missing, missing)
        else:
            signatures = check_signatures(submission.document)
        return cls(
            submission=submission,
            registry=registry,
            certificate=certificate,
            document_problem=problem,
            unreadable=unreadable,
            signatures=signatures,
            declarations=_current_declarations(declarations, submission.certificate_id),
            default_validity_days=default_validity_days,
        )


Rule = Callable[[Evidence], tuple[RuleStatus, str]]
"""A rule: its status and, unless it passes, what is wrong."""

_Result = tuple[RuleStatus, str]
_PASS: Final[_Result] = (RuleStatus.PASS, "")


def evaluate(
    submission: CertificateSubmission,
    registry: IssuerRegistry,
    declarations: Sequence[CustomsEvent],
    *,
    default_validity_days: int = DEFAULT_VALIDITY_DAYS,
) -> Verdict:
    """The verdict on ``submission``'s certificate, given the registry and its declarations.

    Args:
        submission: the certificate as submitted (its ``document`` holds the signed bytes).
        registry: a snapshot of the issuer registry.
        declarations: LODGED customs events whose ``certificate_id`` is this certificate's, at
            any port; may be empty (the declaration rules are then PENDING). Other events are
            ignored.
        default_validity_days: the hub's validity for agreements that set none.
    """
    evidence = Evidence.gather(submission, registry, declarations, default_validity_days)
    results: list[RuleResult] = []
    for code, rule in RULES.items():
        if evidence.unreadable and code is not ReasonCode.SCHEMA_INVALID:
            status, detail = RuleStatus.ERROR, _UNREADABLE
        else:
            status, detail = rule(evidence)
        results.append(RuleResult(code, status, detail))
    statuses = {result.status for result in results}
    if statuses & {RuleStatus.FAIL, RuleStatus.ERROR}:
        outcome = Outcome.INVALID
    elif statuses == {RuleStatus.PASS}:
        outcome = Outcome.VALID
    else:
        outcome = Outcome.PENDING
    return Verdict(
        certificate_id=submission.certificate_id,
        importing_country=submission.importing_country,
        exporting_country=submission.exporting_country,
        outcome=outcome,
        rules=tuple(results),
        document_sha256=hashlib.sha256(submission.document).hexdigest(),
        declarations=tuple(sorted(_key(event) for event in evidence.declarations)),
        submission_event_id=str(submission.event_id),
    )


# --- the document and its signatures ----------------------------------------------------------


def schema_invalid(evidence: Evidence) -> _Result:
    """The document parses and the submission's envelope agrees with it."""
    certificate, submission = evidence.certificate, evidence.submission
    if certificate is None:
        return RuleStatus.FAIL, evidence.document_problem
    pairs = (
        ("certificate_id", submission.certificate_id, "CertificateID", certificate.certificate_id),
        ("agreement", submission.agreement, "Agreement", certificate.agreement),
        ("issuing_entity", submission.issuing_entity, "EHId", certificate.issuing_entity),
        ("exporting_country", submission.exporting_country, "EHCountry",
         certificate.issuing_country),
        ("importing_country", submission.importing_country, "Importer/Country",
         certificate.importer.country),
    )  # fmt: skip
    problems = [
        f"submission {field} {claimed!r}, document {element} {signed!r}"
        for field, claimed, element, signed in pairs
        if claimed != signed
    ]
    return _verdict_of(problems)


def digest_mismatch(evidence: Evidence) -> _Result:
    """No signature that verifies shows a digest mismatch (the document was not altered)."""
    return _verdict_of(
        f"{role}: {check.detail}"
        for role, check in _signature_checks(evidence)
        if check.status is SignatureStatus.DIGEST_MISMATCH
    )


def signature_invalid(evidence: Evidence) -> _Result:
    """Both signatures are there, sign exactly their element, and verify."""
    return _verdict_of(
        f"{role}: {check.detail}"
        for role, check in _signature_checks(evidence)
        if check.status in (SignatureStatus.SIGNATURE_INVALID, SignatureStatus.MISSING)
    )


def _signature_checks(evidence: Evidence) -> tuple[tuple[str, SignatureCheck], ...]:
    return (
        ("exporter signature", evidence.signatures.exporter),
        ("official signature", evidence.signatures.official),
    )


# --- the signer and the issuing entity --------------------------------------------------------


def signer_unknown(evidence: Evidence) -> _Result:
    """The official's certificate is registered for the document's issuing entity."""
    _, status, detail = _signer(evidence)
    return status, detail


def signer_not_valid_at_signing(evidence: Evidence) -> _Result:
    """The signer's certificate and enablement are valid at the ``CertificateDate``."""
    official, status, _ = _signer(evidence)
    if official is None or status is not RuleStatus.PASS or evidence.certificate is None:
        return RuleStatus.ERROR, _SIGNER_UNKNOWN
    signed = evidence.certificate.certificate_date
    problems = []
    first, last = _utc_date(official.not_before), _utc_date(official.not_after)
    if not first <= signed <= last:
        problems.append(f"certificate valid {first}..{last}, CertificateDate {signed}")
    start, end = official.enabled_from, official.enabled_to
    if (start is not None and signed < start) or (end is not None and signed > end):
        problems.append(
            f"official enabled {start or 'open'}..{end or 'open'}, CertificateDate {signed}"
        )
    return _verdict_of(problems)


def signer_revoked(evidence: Evidence) -> _Result:
    """The signer's certificate was not revoked on or before the ``CertificateDate``."""
    official, status, _ = _signer(evidence)
    if official is None or status is not RuleStatus.PASS or evidence.certificate is None:
        return RuleStatus.ERROR, _SIGNER_UNKNOWN
    signed = evidence.certificate.certificate_date
    if official.revoked_at is None or _utc_date(official.revoked_at) > signed:
        return _PASS
    reason = f" ({official.revocation_reason})" if official.revocation_reason else ""
    return (
        RuleStatus.FAIL,
        f"certificate revoked {_utc_date(official.revoked_at)}{reason}, CertificateDate {signed}",
    )


def issuer_not_authorised(evidence: Evidence) -> _Result:
    """The issuing entity is registered and may certify under the document's agreement."""
    certificate = evidence.certificate
    if certificate is None:
        return RuleStatus.ERROR, _NO_CONTENT
    key = (certificate.issuing_country, certificate.issuing_entity)
    entity = evidence.registry.entities.get(key)
    if entity is None:
        return RuleStatus.FAIL, f"issuing entity {key[0]}/{key[1]} is not registered"
    if certificate.agreement not in entity.agreements:
        allowed = ", ".join(sorted(entity.agreements)) or "none"
        return (
            RuleStatus.FAIL,
            f"{key[0]}/{key[1]} may not certify under {certificate.agreement} "
            f"(authorised: {allowed})",
        )
    return _PASS


def _signer(evidence: Evidence) -> tuple[Official | None, RuleStatus, str]:
    """The registered official who signed, and SIGNER_UNKNOWN's status and detail."""
    certificate = evidence.certificate
    if certificate is None:
        return None, RuleStatus.ERROR, _NO_CONTENT
    embedded = evidence.signatures.official.certificate
    if embedded is None:
        detail = evidence.signatures.official.detail
        return None, RuleStatus.ERROR, f"no official certificate in the document ({detail})"
    key = fingerprint(embedded)
    official = evidence.registry.officials.get(key)
    if official is None:
        return None, RuleStatus.FAIL, f"official certificate {key[:16]}… is not registered"
    wanted = (certificate.issuing_country, certificate.issuing_entity)
    if (official.country, official.eh_id) != wanted:
        return (
            official,
            RuleStatus.FAIL,
            f"official certificate {key[:16]}… is registered for "
            f"{official.country}/{official.eh_id}, not {wanted[0]}/{wanted[1]}",
        )
    return official, RuleStatus.PASS, ""


# --- the agreement ----------------------------------------------------------------------------


def expired(evidence: Evidence) -> _Result:
    """Each declaration was lodged within the certificate's validity."""
    certificate = evidence.certificate
    if certificate is None:
        return RuleStatus.ERROR, _NO_CONTENT
    if not evidence.declarations:
        return RuleStatus.PENDING, _NO_DECLARATION
    first = certificate.initial_date
    if certificate.final_date is not None:
        last, ending = certificate.final_date, "CertificateFinalDate"
    else:
        days = _validity_days(evidence, certificate)
        last = certificate.certificate_date + timedelta(days=days)
        ending = f"{days} days after CertificateDate"
    problems = []
    for declaration in evidence.declarations:
        lodged = _utc_date(declaration.occurred_at)
        if first is not None and lodged < first:
            problems.append(
                f"{_name(declaration)} lodged {lodged}, before CertificateInitialDate {first}"
            )
        elif lodged > last:
            problems.append(f"{_name(declaration)} lodged {lodged}, after {last} ({ending})")
    return _verdict_of(problems)


def goods_not_covered(evidence: Evidence) -> _Result:
    """Every certified goods code is covered by the agreement's schedule."""
    certificate = evidence.certificate
    if certificate is None:
        return RuleStatus.ERROR, _NO_CONTENT
    agreement = evidence.registry.agreements.get(certificate.agreement)
    if agreement is None:
        return RuleStatus.FAIL, f"agreement {certificate.agreement} not configured"
    uncovered = [item.code for item in certificate.goods if not agreement.covers(item.hs_digits)]
    if uncovered:
        return (
            RuleStatus.FAIL,
            f"{', '.join(uncovered)} not in the schedule of {agreement.code}",
        )
    return _PASS


def _validity_days(evidence: Evidence, certificate: CertificateOfOrigin) -> int:
    agreement = evidence.registry.agreements.get(certificate.agreement)
    if agreement is not None and agreement.validity_days is not None:
        return agreement.validity_days
    return evidence.default_validity_days


# --- the declarations -------------------------------------------------------------------------


def declaration_mismatch(evidence: Evidence) -> _Result:
    """Each declaration agrees with the certificate: parties, invoice, agreement, goods, country."""
    certificate = evidence.certificate
    if certificate is None:
        return RuleStatus.ERROR, _NO_CONTENT
    if not evidence.declarations:
        return RuleStatus.PENDING, _NO_DECLARATION
    invoices = [invoice.number for invoice in certificate.invoices]
    importing = evidence.submission.importing_country
    problems = []
    for declaration in evidence.declarations:
        name = _name(declaration)
        for party, declared, certified in (
            ("importer", declaration.importer_id, certificate.importer.tax_id),
            ("exporter", declaration.exporter_id, certificate.exporter.tax_id),
            ("agreement", declaration.agreement, certificate.agreement),
        ):
            if declared != certified:
                problems.append(f"{name}: {party} {declared}, certified {certified}")
        invoice = declaration.invoice_number
        if invoice is not None and invoice not in invoices:
            problems.append(f"{name}: invoice {invoice} not certified ({', '.join(invoices)})")
        for line in declaration.goods:
            if _match(line, certificate.goods) is None:
                problems.append(f"{name}: goods {line.hs_code} not certified")
        if declaration.port[:2] != importing:
            problems.append(f"{name}: port {declaration.port} is not in {importing}")
    return _verdict_of(problems)


def quantity_exceeded(evidence: Evidence) -> _Result:
    """No declaration declares more of a certified item than certified."""
    certificate = evidence.certificate
    if certificate is None:
        return RuleStatus.ERROR, _NO_CONTENT
    if not evidence.declarations:
        return RuleStatus.PENDING, _NO_DECLARATION
    over, units = [], []
    for declaration in evidence.declarations:
        declared, other_units = _declared(declaration, certificate.goods)
        units.extend(other_units)
        for index, quantity in declared.items():
            item = certificate.goods[index]
            if quantity > item.quantity:
                over.append(
                    f"{_name(declaration)} declares {_amount(quantity)} {item.unit} of "
                    f"{item.hs_digits}, certified {_amount(item.quantity)}"
                )
    if over:
        return RuleStatus.FAIL, "; ".join(over)
    if units:
        return RuleStatus.ERROR, "; ".join(units)
    return _PASS


def already_used(evidence: Evidence) -> _Result:
    """The declarations together, in lodgement order, stay within the certified quantities."""
    certificate = evidence.certificate
    if certificate is None:
        return RuleStatus.ERROR, _NO_CONTENT
    if not evidence.declarations:
        return RuleStatus.PENDING, _NO_DECLARATION
    declared = [_declared(event, certificate.goods)[0] for event in evidence.declarations]
    problems = []
    for index, item in enumerate(certificate.goods):
        if any(amounts.get(index, Decimal(0)) > item.quantity for amounts in declared):
            continue  # one declaration alone is over: QUANTITY_EXCEEDED says so
        total, before = Decimal(0), list[str]()
        for declaration, amounts in zip(evidence.declarations, declared, strict=True):
            if index not in amounts:
                continue
            total += amounts[index]
            if total > item.quantity:
                problems.append(
                    f"{_name(declaration)} brings {item.hs_digits} to {_amount(total)} "
                    f"{item.unit}, certified {_amount(item.quantity)} "
                    f"(already declared by {', '.join(before)})"
                )
                break
            before.append(_name(declaration))
    return _verdict_of(problems)


def _declared(
    declaration: CustomsEvent, goods: Sequence[CertifiedGoods]
) -> tuple[dict[int, Decimal], list[str]]:
    """The quantity ``declaration`` declares of each certified item (by index), summing its
    lines in the item's unit, and the lines in another unit, which cannot be compared."""
    amounts: dict[int, Decimal] = {}
    other_units = []
    for line in declaration.goods:
        index = _match(line, goods)
        if index is None:
            continue  # DECLARATION_MISMATCH's
        item = goods[index]
        if line.unit != item.unit:
            other_units.append(
                f"{_name(declaration)} declares {item.hs_digits} in {line.unit}, "
                f"certified in {item.unit}"
            )
            continue
        amounts[index] = amounts.get(index, Decimal(0)) + line.quantity
    return amounts, other_units


def _match(line: GoodsLine, goods: Sequence[CertifiedGoods]) -> int | None:
    """The certified item a goods line is of: same first six HS digits (national subheadings
    differ between countries); among several, the one in the line's unit, then the one sharing
    the most digits, then the first."""
    digits = line.hs_code.replace(".", "")
    candidates = [i for i, item in enumerate(goods) if item.hs_digits[:6] == digits[:6]]
    if not candidates:
        return None
    return min(
        candidates,
        key=lambda i: (goods[i].unit != line.unit, -_shared_prefix(goods[i].hs_digits, digits), i),
    )


def _shared_prefix(left: str, right: str) -> int:
    length = 0
    for a, b in zip(left, right, strict=False):
        if a != b:
            break
        length += 1
    return length


def declarations_invoking(events: Iterable[Envelope], certificate_id: str) -> list[CustomsEvent]:
    """The LODGED customs events among ``events`` that invoke ``certificate_id``: the
    ``declarations`` :func:`evaluate` takes (the certificate stage's and the on-demand check's)."""
    return [
        event
        for event in events
        if isinstance(event, CustomsEvent)
        and event.certificate_id == certificate_id
        and event.kind is CustomsKind.LODGED
    ]


def _current_declarations(
    events: Iterable[CustomsEvent], certificate_id: str
) -> tuple[CustomsEvent, ...]:
    """The current LODGED event of each declaration invoking ``certificate_id``, in lodgement
    order (ties by port, then declaration id)."""
    lodged = [
        event
        for event in events
        if event.kind is CustomsKind.LODGED and event.certificate_id == certificate_id
    ]
    retracted = {event.retracts_event_id for event in lodged if event.retracts_event_id}
    latest: dict[tuple[str, str], CustomsEvent] = {}
    for event in lodged:
        if event.event_id in retracted:
            continue
        key = (event.port, event.declaration_id)
        known = latest.get(key)
        if known is None or _version(event) > _version(known):
            latest[key] = event
    return tuple(sorted(latest.values(), key=lambda e: (e.occurred_at, e.port, e.declaration_id)))


def _version(event: CustomsEvent) -> tuple[datetime, datetime, str]:
    return event.published_at, event.occurred_at, str(event.event_id)


# --- helpers ----------------------------------------------------------------------------------


def _verdict_of(problems: Iterable[str]) -> _Result:
    """PASS without problems, else FAIL listing them."""
    listed = list(problems)
    return (RuleStatus.FAIL, "; ".join(listed)) if listed else _PASS


def _key(declaration: CustomsEvent) -> str:
    return f"{declaration.port}/{declaration.declaration_id}"


def _name(declaration: CustomsEvent) -> str:
    return f"{declaration.declaration_id} at {declaration.port}"


def _utc_date(moment: datetime) -> date:
    """The UTC calendar date of ``moment`` (a naive time is taken as UTC)."""
    if moment.tzinfo is None:
        return moment.date()
    return moment.astimezone(UTC).date()


def _amount(value: Decimal) -> str:
    """``Decimal("12000.000")`` -> ``"12000"``: no exponent, no trailing zeros."""
    return f"{value.normalize():f}"


RULES: Final[Mapping[ReasonCode, Rule]] = MappingProxyType(
    {
        ReasonCode.SCHEMA_INVALID: schema_invalid,
        ReasonCode.DIGEST_MISMATCH: digest_mismatch,
        ReasonCode.SIGNATURE_INVALID: signature_invalid,
        ReasonCode.SIGNER_UNKNOWN: signer_unknown,
        ReasonCode.SIGNER_NOT_VALID_AT_SIGNING: signer_not_valid_at_signing,
        ReasonCode.SIGNER_REVOKED: signer_revoked,
        ReasonCode.ISSUER_NOT_AUTHORISED: issuer_not_authorised,
        ReasonCode.EXPIRED: expired,
        ReasonCode.GOODS_NOT_COVERED: goods_not_covered,
        ReasonCode.DECLARATION_MISMATCH: declaration_mismatch,
        ReasonCode.QUANTITY_EXCEEDED: quantity_exceeded,
        ReasonCode.ALREADY_USED: already_used,
    }
)
"""The rule of each reason code, in :class:`ReasonCode` order."""
