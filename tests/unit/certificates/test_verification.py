"""A document verified on demand: the envelope read from it, and the rules' verdict equal to that
of a submission with the same envelope (``hub/domain/certificates/verification.py``)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hub.domain.certificates.document import MAX_DOCUMENT_BYTES, UnreadableDocument
from hub.domain.certificates.rules import ReasonCode, RuleStatus, evaluate
from hub.domain.certificates.verification import (
    UNKNOWN,
    claimed_fields,
    verification_submission,
)
from tests.unit.certificates.builders import (
    CERTIFICATE,
    EXPORTING,
    IMPORTING,
    certificate,
    declaration,
    registry,
    signed,
    submission,
)

NOW = datetime(2026, 3, 21, 9, 0, tzinfo=UTC)
ENVELOPE = {
    "certificate_id": CERTIFICATE.certificate_id,
    "agreement": CERTIFICATE.agreement,
    "exporting_country": EXPORTING,
    "importing_country": IMPORTING,
    "issuing_entity": CERTIFICATE.issuing_entity,
}


def test_a_readable_document_names_its_own_envelope() -> None:
    assert claimed_fields(signed()) == ENVELOPE


def test_the_verdict_equals_the_submissions_with_the_same_envelope() -> None:
    declarations = [declaration()]
    submitted = evaluate(submission(), registry(), declarations)
    checked = evaluate(
        verification_submission(signed(), claimed_fields(signed()), NOW), registry(), declarations
    )
    assert checked.outcome.value == "VALID"
    assert checked.rules == submitted.rules
    assert checked.document_sha256 == submitted.document_sha256
    assert checked.declarations == submitted.declarations


def test_a_given_field_that_contradicts_the_document_fails_schema_invalid() -> None:
    fields = claimed_fields(signed()) | {"agreement": "A18"}
    verdict = evaluate(verification_submission(signed(), fields, NOW), registry(), [declaration()])
    assert verdict.failed == (ReasonCode.SCHEMA_INVALID,)
    schema = verdict.rules[0]
    assert "agreement 'A18'" in schema.detail and "'A58'" in schema.detail


def test_a_document_missing_content_still_names_what_it_can() -> None:
    broken = signed().replace(b"<CountryOfOrigin>PE</CountryOfOrigin>", b"", 1)
    assert broken != signed()
    claims = claimed_fields(broken)
    assert claims == ENVELOPE
    verdict = evaluate(verification_submission(broken, claims, NOW), registry(), [declaration()])
    by_code = {rule.code: rule for rule in verdict.rules}
    assert by_code[ReasonCode.SCHEMA_INVALID].status is RuleStatus.FAIL
    assert "CountryOfOrigin: missing" in by_code[ReasonCode.SCHEMA_INVALID].detail
    # The content changed under both signatures: the digests say so.
    assert by_code[ReasonCode.DIGEST_MISMATCH].status is RuleStatus.FAIL


def test_fields_a_broken_document_does_not_give_are_unknown_stand_ins() -> None:
    bare = b"<Envelope><CertOrigin><CODEH id='CODEH'><CODExporter><COD id='COD'>" + (
        b"<CertificateID>C-1</CertificateID><Agreement>not one</Agreement>"
        b"</COD></CODExporter></CODEH></CertOrigin></Envelope>"
    )
    claims = claimed_fields(bare)
    assert claims == {"certificate_id": "C-1"}
    built = verification_submission(bare, claims, NOW)
    assert built.certificate_id == "C-1"
    assert (built.agreement, built.importing_country) == (UNKNOWN["agreement"], "ZZ")
    verdict = evaluate(built, registry(), [])
    assert verdict.outcome.value == "INVALID"
    assert verdict.rules[0].status is RuleStatus.FAIL


def test_xml_that_is_no_certificate_names_nothing() -> None:
    assert claimed_fields(b"<html><body>hello</body></html>") == {}


@pytest.mark.parametrize(
    "document",
    [
        b"not xml at all",
        b"\x00\x01\x02",
        b"<Envelope><unclosed></Envelope>",
        # The billion laughs: refused at its DOCTYPE, never expanded.
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
        b"<Envelope>&lol2;</Envelope>",
        # An external entity (a local file).
        b'<?xml version="1.0"?><!DOCTYPE e [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b"<Envelope>&x;</Envelope>",
        b"<Envelope>" + b" " * MAX_DOCUMENT_BYTES + b"</Envelope>",
    ],
    ids=["text", "binary", "malformed", "entity-bomb", "external-entity", "huge"],
)
def test_what_is_not_xml_the_hub_reads_is_unreadable(document: bytes) -> None:
    with pytest.raises(UnreadableDocument):
        claimed_fields(document)


def test_an_id_longer_than_a_submission_allows_is_not_claimed() -> None:
    long_id = signed(certificate(certificate_id="X" * 65))
    assert "certificate_id" not in claimed_fields(long_id)
    assert claimed_fields(long_id)["agreement"] == "A58"
