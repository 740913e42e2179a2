"""Verdicts: every rule listed, each reason code failed on purpose, and the package's surface."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

import hub.domain.certificates
from hub.domain.certificates.issuer_registry import IssuerRegistry, fingerprint
from hub.domain.certificates.rules import (
    RULES,
    Outcome,
    ReasonCode,
    RuleStatus,
    Verdict,
    evaluate,
)
from schemas.models import CertificateSubmission, CustomsEvent, CustomsKind
from schemas.validation import check
from tests.unit.certificates.builders import (
    AGREEMENTS,
    AVOCADOS,
    BANANAS,
    CERTIFICATE,
    CERTIFICATE_DATE,
    ENTITY,
    IMPORTER_TAX_ID,
    LODGED_AT,
    OFFICIAL,
    PKI,
    PORT,
    certificate,
    declaration,
    line,
    official_record,
    registry,
    signed,
    submission,
)

R = ReasonCode
SIGNER_DEPENDENTS = (R.SIGNER_NOT_VALID_AT_SIGNING, R.SIGNER_REVOKED)
DECLARATION_RULES = (R.EXPIRED, R.DECLARATION_MISMATCH, R.QUANTITY_EXCEEDED, R.ALREADY_USED)
CONTENT_RULES = (
    R.SIGNER_UNKNOWN,
    *SIGNER_DEPENDENTS,
    R.ISSUER_NOT_AUTHORISED,
    R.EXPIRED,
    R.GOODS_NOT_COVERED,
    *DECLARATION_RULES[1:],
)


def _evaluate(
    document: bytes | None = None,
    *,
    reg: IssuerRegistry | None = None,
    declarations: Sequence[CustomsEvent] | None = None,
    days: int = 180,
    **changes: object,
) -> Verdict:
    """The verdict on ``document`` (default: the valid certificate), with the one matching
    declaration unless told otherwise."""
    return evaluate(
        submission(document, **changes),
        registry() if reg is None else reg,
        [declaration()] if declarations is None else declarations,
        default_validity_days=days,
    )


def _status(verdict: Verdict, code: ReasonCode) -> RuleStatus:
    return next(rule.status for rule in verdict.rules if rule.code is code)


def _detail(verdict: Verdict, code: ReasonCode) -> str:
    return next(rule.detail for rule in verdict.rules if rule.code is code)


def _flip_official_signature_value(document: bytes) -> bytes:
    values = list(re.finditer(rb"<ds:SignatureValue>([^<]+)</ds:SignatureValue>", document))
    start = values[1].start(1)
    flipped = b"B" if document[start : start + 1] == b"A" else b"A"
    return document[:start] + flipped + document[start + 1 :]


# --- whole verdicts ---------------------------------------------------------------------------


def test_a_valid_certificate_with_its_declaration_is_valid_with_every_rule_passing() -> None:
    sub = submission()
    verdict = evaluate(sub, registry(), [declaration()])
    assert verdict.outcome is Outcome.VALID
    assert [(rule.code, rule.status, rule.detail) for rule in verdict.rules] == [
        (code, RuleStatus.PASS, "") for code in ReasonCode
    ]
    assert verdict.failed == ()
    assert verdict.certificate_id == CERTIFICATE.certificate_id
    assert (verdict.importing_country, verdict.exporting_country) == ("BR", "PE")
    assert verdict.declarations == (f"{PORT}/DEC-9",)
    assert verdict.submission_event_id == str(sub.event_id)
    assert verdict.document_sha256 == hashlib.sha256(sub.document).hexdigest()


def test_without_a_declaration_the_declaration_rules_are_pending() -> None:
    verdict = _evaluate(declarations=[])
    assert verdict.outcome is Outcome.PENDING
    assert verdict.failed == ()
    pending = tuple(rule.code for rule in verdict.rules if rule.status is RuleStatus.PENDING)
    assert pending == DECLARATION_RULES
    assert all(rule.status is RuleStatus.PASS for rule in verdict.rules if rule.code not in pending)
    assert verdict.declarations == ()


def test_every_rule_is_listed_once_in_reason_code_order() -> None:
    assert list(RULES) == list(ReasonCode)
    assert tuple(rule.code for rule in _evaluate().rules) == tuple(ReasonCode)


def test_the_reason_codes_are_specs_twelve_in_specs_order_each_documented() -> None:
    assert [code.value for code in ReasonCode] == [
        "SCHEMA_INVALID", "DIGEST_MISMATCH", "SIGNATURE_INVALID", "SIGNER_UNKNOWN",
        "SIGNER_NOT_VALID_AT_SIGNING", "SIGNER_REVOKED", "ISSUER_NOT_AUTHORISED", "EXPIRED",
        "GOODS_NOT_COVERED", "DECLARATION_MISMATCH", "QUANTITY_EXCEEDED", "ALREADY_USED",
    ]  # fmt: skip
    source = hub.domain.certificates.rules.__doc__ or ""
    for code in ReasonCode:
        assert f"``{code.value}``" in source, code  # the module docstring states each choice
        assert RULES[code].__doc__, code


def test_the_verdict_as_json_is_plain_data() -> None:
    verdict = _evaluate(declarations=[declaration(importer_id="99999999000199")])
    data = verdict.as_json()
    assert json.loads(json.dumps(data)) == data
    assert data["outcome"] == "INVALID"
    assert data["failed"] == ["DECLARATION_MISMATCH"]
    assert data["declarations"] == [f"{PORT}/DEC-9"]
    rules = data["rules"]
    assert isinstance(rules, list) and len(rules) == len(ReasonCode)
    assert rules[9] == {
        "code": "DECLARATION_MISMATCH",
        "status": "FAIL",
        "detail": f"DEC-9 at {PORT}: importer 99999999000199, certified {IMPORTER_TAX_ID}",
    }


# --- one case per reason code -----------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """A certificate, registry and declarations built to fail ``failed[0]``; the other codes of
    ``failed`` are the rules that necessarily ERROR with it."""

    failed: tuple[ReasonCode, ...]
    detail: str
    """The start of the failed rule's detail."""
    document: Callable[[], bytes] = signed
    reg: Callable[[], IssuerRegistry] = registry
    declarations: Callable[[], list[CustomsEvent]] = lambda: [declaration()]
    changes: dict[str, object] = field(default_factory=dict)


UNREGISTERED = PKI.official("PE", name="Unregistered")
EXPIRED_KEY = PKI.official("PE", name="Old", not_after=datetime(2025, 12, 31, 23, 59, tzinfo=UTC))

CASES: dict[str, Case] = {
    "envelope-disagrees": Case(
        (R.SCHEMA_INVALID,),
        "submission issuing_entity 'T01', document EHId 'TST'",
        changes={"issuing_entity": "T01"},
    ),
    "altered-one-byte": Case(
        (R.DIGEST_MISMATCH,),
        "exporter signature: digest mismatch for #COD; official signature: digest mismatch for #CODEH",
        document=lambda: signed().replace(b"<Quantity>10000<", b"<Quantity>10001<"),
    ),
    "signature-value-altered": Case(
        (R.SIGNATURE_INVALID,),
        "official signature: signature value over #CODEH does not verify",
        document=lambda: _flip_official_signature_value(signed()),
    ),
    "unregistered-key": Case(
        (R.SIGNER_UNKNOWN, *SIGNER_DEPENDENTS),
        f"official certificate {fingerprint(UNREGISTERED.certificate)[:16]}… is not registered",
        document=lambda: signed(official=UNREGISTERED),
    ),
    "registered-elsewhere": Case(
        (R.SIGNER_UNKNOWN, *SIGNER_DEPENDENTS),
        f"official certificate {fingerprint(OFFICIAL.certificate)[:16]}… is registered for "
        "CO/M01, not PE/TST",
        reg=lambda: registry(officials=(official_record(country="CO", eh_id="M01"),)),
    ),
    "certificate-expired-before-signing": Case(
        (R.SIGNER_NOT_VALID_AT_SIGNING,),
        "certificate valid 2020-01-01..2025-12-31, CertificateDate 2026-03-02",
        document=lambda: signed(official=EXPIRED_KEY),
        reg=lambda: registry(officials=(official_record(EXPIRED_KEY),)),
    ),
    "official-not-yet-enabled": Case(
        (R.SIGNER_NOT_VALID_AT_SIGNING,),
        "official enabled 2026-03-03..open, CertificateDate 2026-03-02",
        reg=lambda: registry(officials=(official_record(enabled_from=date(2026, 3, 3)),)),
    ),
    "official-no-longer-enabled": Case(
        (R.SIGNER_NOT_VALID_AT_SIGNING,),
        "official enabled open..2026-03-01, CertificateDate 2026-03-02",
        reg=lambda: registry(officials=(official_record(enabled_to=date(2026, 3, 1)),)),
    ),
    "revoked-before": Case(
        (R.SIGNER_REVOKED,),
        "certificate revoked 2026-02-28 (key compromise), CertificateDate 2026-03-02",
        reg=lambda: registry(
            officials=(
                official_record(
                    revoked_at=datetime(2026, 2, 28, 9, tzinfo=UTC),
                    revocation_reason="key compromise",
                ),
            )
        ),
    ),
    "revoked-the-same-day": Case(
        (R.SIGNER_REVOKED,),
        "certificate revoked 2026-03-02, CertificateDate 2026-03-02",
        reg=lambda: registry(
            officials=(official_record(revoked_at=datetime(2026, 3, 2, 23, 59, tzinfo=UTC)),)
        ),
    ),
    "agreement-not-authorised": Case(
        (R.ISSUER_NOT_AUTHORISED,),
        "PE/TST may not certify under A18 (authorised: A58, CA01)",
        document=lambda: signed(certificate(agreement="A18")),
        declarations=lambda: [declaration(agreement="A18")],
        changes={"agreement": "A18"},
    ),
    "entity-not-registered": Case(
        (R.ISSUER_NOT_AUTHORISED,),
        "issuing entity PE/TST is not registered",
        reg=lambda: registry(entities=()),
    ),
    "lodged-after-validity": Case(
        (R.EXPIRED,),
        f"DEC-9 at {PORT} lodged 2026-08-30, after 2026-08-29 (180 days after CertificateDate)",
        declarations=lambda: [declaration(at=datetime(2026, 8, 30, 0, 30, tzinfo=UTC))],
    ),
    "lodged-after-final-date": Case(
        (R.EXPIRED,),
        f"DEC-9 at {PORT} lodged 2026-03-20, after 2026-03-19 (CertificateFinalDate)",
        document=lambda: signed(certificate(final_date=date(2026, 3, 19))),
    ),
    "lodged-before-initial-date": Case(
        (R.EXPIRED,),
        f"DEC-9 at {PORT} lodged 2026-03-20, before CertificateInitialDate 2026-03-21",
        document=lambda: signed(certificate(initial_date=date(2026, 3, 21))),
    ),
    "goods-not-in-schedule": Case(
        (R.GOODS_NOT_COVERED,),
        "0803.90 not in the schedule of A58",
        reg=lambda: registry(
            agreements=tuple(
                replace(a, schedule=("0804", "09")) if a.code == "A58" else a for a in AGREEMENTS
            )
        ),
    ),
    "agreement-not-configured": Case(
        (R.GOODS_NOT_COVERED,),
        "agreement A58 not configured",
        reg=lambda: registry(agreements=tuple(a for a in AGREEMENTS if a.code != "A58")),
    ),
    "importer-differs": Case(
        (R.DECLARATION_MISMATCH,),
        f"DEC-9 at {PORT}: importer 99999999000199, certified {IMPORTER_TAX_ID}",
        declarations=lambda: [declaration(importer_id="99999999000199")],
    ),
    "exporter-differs": Case(
        (R.DECLARATION_MISMATCH,),
        f"DEC-9 at {PORT}: exporter None, certified 20100047218",
        declarations=lambda: [declaration(exporter_id=None)],
    ),
    "invoice-not-certified": Case(
        (R.DECLARATION_MISMATCH,),
        f"DEC-9 at {PORT}: invoice F001-09999 not certified (F001-00042, F001-00043)",
        declarations=lambda: [declaration(invoice_number="F001-09999")],
    ),
    "agreement-differs": Case(
        (R.DECLARATION_MISMATCH,),
        f"DEC-9 at {PORT}: agreement CA01, certified A58",
        declarations=lambda: [declaration(agreement="CA01")],
    ),
    "goods-not-certified": Case(
        (R.DECLARATION_MISMATCH,),
        f"DEC-9 at {PORT}: goods 0901.11.00 not certified",
        declarations=lambda: [declaration(goods=(line("08039011", 10), line("0901.11.00", 5)))],
    ),
    "port-in-another-country": Case(
        (R.DECLARATION_MISMATCH,),
        "DEC-9 at ARBUE: port ARBUE is not in BR",
        declarations=lambda: [declaration(port="ARBUE")],
    ),
    "one-declaration-over": Case(
        (R.QUANTITY_EXCEEDED,),
        f"DEC-9 at {PORT} declares 12000 KGM of 080390, certified 10000",
        declarations=lambda: [declaration(goods=(line("080390", 12000), line("080440", 5000)))],
    ),
    "lines-summed-over": Case(
        (R.QUANTITY_EXCEEDED,),
        f"DEC-9 at {PORT} declares 5000.6 KGM of 08044000, certified 5000.5",
        declarations=lambda: [declaration(goods=(line("080440", 5000), line("0804.40", "0.6")))],
    ),
    "two-declarations-over": Case(
        (R.ALREADY_USED,),
        f"DEC-10 at {PORT} brings 080390 to 11000 KGM, certified 10000 "
        f"(already declared by DEC-9 at {PORT})",
        declarations=lambda: [
            declaration(
                declaration_id="DEC-10",
                at=LODGED_AT + timedelta(days=3),
                goods=(line("080390", 5000),),
            ),
            declaration(goods=(line("080390", 6000), line("080440", 5000))),
        ],
    ),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_each_reason_code_fails_on_its_own(case: Case) -> None:
    verdict = evaluate(submission(case.document(), **case.changes), case.reg(), case.declarations())
    assert verdict.outcome is Outcome.INVALID
    assert verdict.failed == case.failed
    code, *dependents = case.failed
    assert _status(verdict, code) is RuleStatus.FAIL
    assert _detail(verdict, code).startswith(case.detail), _detail(verdict, code)
    for dependent in dependents:
        assert _status(verdict, dependent) is RuleStatus.ERROR
        assert _detail(verdict, dependent) == "signer unknown (see SIGNER_UNKNOWN)"


def test_every_reason_code_has_a_case_that_fails_it() -> None:
    assert {case.failed[0] for case in CASES.values()} == set(ReasonCode)


# --- the document -----------------------------------------------------------------------------


def test_an_unreadable_document_makes_every_other_rule_error() -> None:
    verdict = _evaluate(b"<Envelope>")
    assert _status(verdict, R.SCHEMA_INVALID) is RuleStatus.FAIL
    assert _detail(verdict, R.SCHEMA_INVALID).startswith("document: not well-formed XML")
    assert [(rule.status, rule.detail) for rule in verdict.rules[1:]] == [
        (RuleStatus.ERROR, "document unreadable")
    ] * 11
    assert verdict.outcome is Outcome.INVALID


def test_missing_content_still_checks_the_signatures() -> None:
    bad = certificate(goods=(replace(BANANAS, code="0803"), AVOCADOS))
    verdict = _evaluate(signed(bad))
    assert _detail(verdict, R.SCHEMA_INVALID) == (
        "COD/Goods/GoodsItem[1]/GoodsItemCode: not an HS code dddd.dd[.dd[.dd]]: '0803'"
    )
    assert verdict.failed == (R.SCHEMA_INVALID, *CONTENT_RULES)
    assert {_status(verdict, code) for code in CONTENT_RULES} == {RuleStatus.ERROR}
    assert _status(verdict, R.DIGEST_MISMATCH) is RuleStatus.PASS
    assert _status(verdict, R.SIGNATURE_INVALID) is RuleStatus.PASS
    tampered = _evaluate(signed(bad).replace(b"Organic", b"Organix"))
    assert _status(tampered, R.DIGEST_MISMATCH) is RuleStatus.FAIL


def test_a_missing_official_signature_leaves_the_signer_unknown() -> None:
    document = re.sub(
        rb"</CODExporter><ds:Signature.*</ds:Signature>", b"</CODExporter>", signed(), flags=re.S
    )
    verdict = _evaluate(document)
    assert verdict.failed == (R.SIGNATURE_INVALID, R.SIGNER_UNKNOWN, *SIGNER_DEPENDENTS)
    assert _detail(verdict, R.SIGNATURE_INVALID) == "official signature: no ds:Signature in CODEH"
    assert _status(verdict, R.SIGNER_UNKNOWN) is RuleStatus.ERROR


def test_a_submission_for_another_certificate_id_is_schema_invalid() -> None:
    verdict = _evaluate(
        certificate_id="PE-A58-2026-999999",
        declarations=[declaration(certificate_id="PE-A58-2026-999999")],
    )
    assert verdict.failed == (R.SCHEMA_INVALID,)
    assert _detail(verdict, R.SCHEMA_INVALID) == (
        "submission certificate_id 'PE-A58-2026-999999', "
        "document CertificateID 'PE-A58-2026-000123'"
    )


def test_an_rsa_official_gives_a_valid_verdict() -> None:
    official = PKI.rsa_official("PE")
    verdict = _evaluate(
        signed(official=official), reg=registry(officials=(official_record(official),))
    )
    assert verdict.outcome is Outcome.VALID


# --- the signer -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "revoked_at",
    [
        datetime(2026, 3, 3, 0, 0, tzinfo=UTC),
        datetime(2026, 3, 2, 23, 0, tzinfo=timezone(-timedelta(hours=5))),
    ],
    ids=["next-day", "same-local-day-next-utc-day"],
)
def test_a_revocation_after_the_certificate_date_does_not_invalidate_it(
    revoked_at: datetime,
) -> None:
    reg = registry(officials=(official_record(revoked_at=revoked_at, revocation_reason="left"),))
    assert _evaluate(reg=reg).outcome is Outcome.VALID


def test_validity_and_enablement_include_their_last_day() -> None:
    last_day = PKI.official("PE", name="Last", not_after=datetime(2026, 3, 2, 0, 0, 1, tzinfo=UTC))
    reg = registry(
        officials=(
            official_record(last_day, enabled_from=CERTIFICATE_DATE, enabled_to=CERTIFICATE_DATE),
        )
    )
    assert _evaluate(signed(official=last_day), reg=reg).outcome is Outcome.VALID


# --- validity ---------------------------------------------------------------------------------


def test_the_last_day_of_validity_is_included() -> None:
    last = datetime(2026, 8, 29, 23, 59, tzinfo=UTC)
    assert _evaluate(declarations=[declaration(at=last)]).outcome is Outcome.VALID


def test_the_lodgement_date_is_the_utc_date() -> None:
    lima_evening = datetime(2026, 8, 29, 20, 0, tzinfo=timezone(-timedelta(hours=5)))
    verdict = _evaluate(declarations=[declaration(at=lima_evening)])
    assert verdict.failed == (R.EXPIRED,)


def test_validity_days_come_from_the_agreement_else_the_setting() -> None:
    late = [declaration(at=datetime(2026, 4, 10, tzinfo=UTC))]  # 39 days after
    assert _evaluate(declarations=late, days=30).failed == (R.EXPIRED,)
    assert _evaluate(declarations=late, days=40).outcome is Outcome.VALID
    andean = certificate(agreement="CA01")  # 365 days in the registry
    year_later = [declaration(at=datetime(2027, 3, 1, tzinfo=UTC), agreement="CA01")]
    verdict = _evaluate(signed(andean), declarations=year_later, agreement="CA01", days=30)
    assert verdict.outcome is Outcome.VALID


def test_an_explicit_period_replaces_the_validity_days() -> None:
    period = certificate(initial_date=date(2026, 3, 1), final_date=date(2027, 3, 1))
    year_later = [declaration(at=datetime(2027, 3, 1, 12, tzinfo=UTC))]
    assert _evaluate(signed(period), declarations=year_later).outcome is Outcome.VALID


# --- declarations and quantities --------------------------------------------------------------


def test_partial_shipments_within_the_quantity_pass() -> None:
    declarations = [
        declaration(goods=(line("080390", 6000),)),
        declaration(
            declaration_id="DEC-10",
            at=LODGED_AT + timedelta(days=2),
            goods=(line("080390", 4000), line("080440", "5000.5")),
            invoice_number=None,
        ),
    ]
    verdict = _evaluate(declarations=declarations)
    assert verdict.outcome is Outcome.VALID
    assert verdict.declarations == (f"{PORT}/DEC-10", f"{PORT}/DEC-9")


def test_the_declaration_going_over_is_the_later_lodged_one() -> None:
    first = declaration(declaration_id="DEC-2", goods=(line("080390", 7000),))
    # Lodged later but published (and passed) first.
    second = declaration(
        declaration_id="DEC-1",
        at=LODGED_AT + timedelta(hours=1),
        goods=(line("080390", 7000),),
        published_at=LODGED_AT - timedelta(hours=1),
    )
    verdict = _evaluate(declarations=[second, first])
    assert verdict.failed == (R.ALREADY_USED,)
    assert _detail(verdict, R.ALREADY_USED).startswith(f"DEC-1 at {PORT} brings 080390 to 14000")


def test_simultaneous_lodgements_are_ordered_by_port_then_declaration_id() -> None:
    goods = (line("080390", 6000),)
    at_rio = declaration(declaration_id="DEC-1", port="BRRIG", goods=goods)
    at_santos = declaration(declaration_id="DEC-0", goods=goods)
    verdict = _evaluate(declarations=[at_santos, at_rio])
    assert _detail(verdict, R.ALREADY_USED).startswith(f"DEC-0 at {PORT} brings")
    assert verdict.declarations == ("BRRIG/DEC-1", f"{PORT}/DEC-0")


def test_the_same_declaration_id_at_another_port_is_another_declaration() -> None:
    goods = (line("080390", 6000),)
    declarations = [declaration(goods=goods), declaration(port="BRRIG", goods=goods)]
    assert _evaluate(declarations=declarations).failed == (R.ALREADY_USED,)


def test_a_redelivered_or_corrected_lodgement_is_the_same_declaration() -> None:
    original = declaration()
    redelivered = original.model_copy()
    corrected = declaration(
        published_at=original.published_at + timedelta(hours=2),
        goods=(line("080390", 9000),),
        retracts_event_id=original.event_id,
    )
    verdict = _evaluate(declarations=[original, redelivered, corrected])
    assert verdict.outcome is Outcome.VALID
    assert verdict.declarations == (f"{PORT}/DEC-9",)
    over = declaration(published_at=original.published_at + timedelta(hours=3),
                       goods=(line("080390", 10001),))  # fmt: skip
    assert _evaluate(declarations=[original, corrected, over]).failed == (R.QUANTITY_EXCEEDED,)


def test_other_events_and_other_certificates_are_ignored() -> None:
    others = [
        declaration(kind=CustomsKind.RELEASED, goods=()),
        declaration(declaration_id="DEC-X", certificate_id="PE-A58-2026-000999"),
    ]
    verdict = _evaluate(declarations=others)
    assert verdict.outcome is Outcome.PENDING
    assert verdict.declarations == ()


def test_national_subheadings_match_on_six_digits_and_units_must_agree() -> None:
    assert _evaluate(declarations=[declaration(goods=(line("0803.90.19", 10000),))]).failed == ()
    verdict = _evaluate(declarations=[declaration(goods=(line("080390", 100, unit="LBR"),))])
    assert verdict.failed == (R.QUANTITY_EXCEEDED,)
    assert _status(verdict, R.QUANTITY_EXCEEDED) is RuleStatus.ERROR
    assert _detail(verdict, R.QUANTITY_EXCEEDED) == (
        f"DEC-9 at {PORT} declares 080390 in LBR, certified in KGM"
    )


def test_a_line_is_matched_to_the_certified_item_in_its_unit_and_closest_code() -> None:
    by_count = replace(BANANAS, code="0803.90.11", unit="NAR", quantity=Decimal(50))
    by_weight = replace(BANANAS, code="0803.90.19")
    document = signed(certificate(goods=(by_count, by_weight)))
    fits = [declaration(goods=(line("08039011", 50, unit="NAR"), line("08039011", 10000)))]
    assert _evaluate(document, declarations=fits).outcome is Outcome.VALID
    over = [declaration(goods=(line("08039011", 51, unit="NAR"),))]
    assert _evaluate(document, declarations=over).failed == (R.QUANTITY_EXCEEDED,)


# --- the builders and the package -------------------------------------------------------------


def test_the_builders_make_events_that_pass_validation() -> None:
    events: list[CertificateSubmission | CustomsEvent] = [submission(), declaration()]
    for event in events:
        assert check(event, {PORT}, now=event.published_at) is None, event
    assert ENTITY.agreements == {"A58", "CA01"}


def test_public_api() -> None:
    assert sorted(hub.domain.certificates.__all__) == sorted(
        [
            "DEFAULT_VALIDITY_DAYS", "MAX_DOCUMENT_BYTES", "RULES", "Agreement",
            "CertificateOfOrigin", "CertifiedGoods", "DocumentError", "DocumentSignatures",
            "Evidence", "Invoice", "IssuerRegistry", "IssuingEntity", "Official", "Outcome",
            "Party", "ReasonCode", "RuleResult", "RuleStatus", "SignatureCheck",
            "SignatureStatus", "SigningKey", "UnreadableDocument", "Verdict",
            "check_signatures", "evaluate", "fingerprint", "parse_document", "sign_document",
            "unsigned_document",
        ]
    )  # fmt: skip


def test_no_streaming_http_or_database_imports() -> None:
    """Pure functions: importing the package loads none of faust, HTTP or PostgreSQL."""
    forbidden = ["faust", "mode", "aiokafka", "asyncpg", "fastapi", "httpx", "uvicorn"]
    code = (
        "import sys, hub.domain.certificates, connectors.dev_pki\n"
        f"loaded = sorted({{m.split('.')[0] for m in sys.modules}} & set({forbidden!r}))\n"
        "print(','.join(loaded))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""
