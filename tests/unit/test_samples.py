"""The sample events (issue 20): every domain and kind, each valid at the time it is built, one
consistent story, fresh ids; `hub samples`; and docs/samples/ as the command writes it."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import pytest
from lxml import etree

from connectors.sample_issuer import sample_issuer
from hub.cli.main import main
from hub.cli.samples import DOCS_SAMPLES_AT, sample_text
from hub.domain.certificates.document import parse_document
from hub.domain.certificates.signing import SignatureStatus, check_signatures
from hub.domain.reference import BUNDLED_PORTS_FILE, load_ports
from hub.domain.samples import (
    OLDEST_SAMPLE,
    SAMPLES,
    Sample,
    SampleIssuer,
    as_json,
    build_sample,
    build_samples,
    reproducible_ids,
)
from hub.settings import PROJECT_ROOT
from schemas.models import (
    CargoEvent,
    CertificateSubmission,
    Classifier,
    CustomsEvent,
    CustomsKind,
    Envelope,
    Facility,
    Move,
    Operation,
    VesselEvent,
)
from schemas.rejections import Rejected, RejectReason
from schemas.validation import validate

PORTS = load_ports(BUNDLED_PORTS_FILE)
KNOWN = {port.unlocode for port in PORTS}
NOW = datetime(2026, 12, 3, 22, 30, 15, tzinfo=UTC)
DOCS = PROJECT_ROOT / "docs" / "samples"
E = TypeVar("E", bound=Envelope)


def issuer_of(port: str) -> SampleIssuer:
    return sample_issuer(port[:2], {known.country for known in PORTS})


def samples_at(now: datetime, port: str = "PECLL") -> dict[str, Sample]:
    return {sample.name: sample for sample in build_samples(port, now, issuer_of(port))}


def of_type(samples: dict[str, Sample], kind: type[E]) -> list[E]:
    return [sample.event for sample in samples.values() if isinstance(sample.event, kind)]


def test_every_domain_and_every_kind_the_schema_allows_has_a_sample() -> None:
    samples = samples_at(NOW)
    assert {sample.domain for sample in samples.values()} == {
        "vessel", "cargo", "customs", "certificate"
    }  # fmt: skip
    vessel = of_type(samples, VesselEvent)
    assert {event.classifier for event in vessel} == set(Classifier)
    assert {event.operation for event in vessel} == set(Operation)
    assert {event.facility for event in vessel} == set(Facility)
    # Every actual timestamp the KPIs use, each once.
    actual = [(e.operation, e.facility) for e in vessel if e.classifier is Classifier.ACT]
    assert sorted(actual) == sorted(
        [(Operation.ARRI, f) for f in Facility]
        + [(Operation.DEPA, Facility.ANCH), (Operation.DEPA, Facility.BRTH)]
        + [(Operation.STRT, Facility.BRTH), (Operation.CMPL, Facility.BRTH)]
    )
    assert sorted(event.move for event in of_type(samples, CargoEvent)) == sorted(Move)
    assert sorted(event.kind for event in of_type(samples, CustomsEvent)) == sorted(CustomsKind)
    assert len(of_type(samples, CertificateSubmission)) == 1
    for sample in samples.values():
        assert type(sample.event).model_fields["event_type"].default.startswith(sample.domain)


@pytest.mark.parametrize("port", sorted(KNOWN))
def test_each_sample_of_every_port_passes_every_check_at_the_time_it_is_built(port: str) -> None:
    now = datetime.now(UTC)
    for sample in samples_at(now, port).values():
        body = json.loads(json.dumps(as_json(sample.event)))  # as it travels over HTTP
        checked = validate(sample.domain, body, KNOWN, now)
        assert not isinstance(checked, Rejected), (sample.name, checked)
        assert checked == sample.event
        # (times are kept to the millisecond, as Avro's timestamp-millis)
        assert now - OLDEST_SAMPLE - timedelta(milliseconds=1) < checked.occurred_at <= now
        assert checked.published_at <= now
        assert "publisher" not in body


def test_a_sample_kept_longer_than_the_grace_period_is_refused_too_late() -> None:
    # Why `hub samples` builds them when asked: a file goes stale after a week.
    ata = as_json(build_sample("vessel.ata", "PECLL", NOW).event)
    assert not isinstance(validate("vessel", ata, KNOWN, NOW + timedelta(days=5)), Rejected)
    stale = validate("vessel", ata, KNOWN, NOW + timedelta(days=7))
    assert isinstance(stale, Rejected) and stale.reason is RejectReason.TOO_LATE


def test_event_ids_are_fresh_unless_asked_to_be_reproducible() -> None:
    first, second = samples_at(NOW), samples_at(NOW)
    ids = {s.event.event_id for s in first.values()} | {s.event.event_id for s in second.values()}
    assert len(ids) == 2 * len(SAMPLES)
    again = [
        build_sample(k.name, "PECLL", NOW, issuer_of("PECLL"), reproducible_ids("PECLL", NOW))
        for k in SAMPLES
    ]
    same = [
        build_sample(k.name, "PECLL", NOW, issuer_of("PECLL"), reproducible_ids("PECLL", NOW))
        for k in SAMPLES
    ]
    assert [s.event.event_id for s in again] == [s.event.event_id for s in same]
    assert len({s.event.event_id for s in again}) == len(SAMPLES)


def test_the_samples_tell_one_consistent_story() -> None:
    samples = samples_at(NOW)
    event = {name: sample.event for name, sample in samples.items()}
    call = event["vessel.ata"].port_call_id  # type: ignore[attr-defined]
    vessel = of_type(samples, VesselEvent)
    assert {e.port_call_id for e in vessel} == {call}
    assert {e.imo for e in vessel} == {"9074729"}
    assert {e.port for e in event.values()} == {"PECLL"}
    on_board = [e for e in of_type(samples, CargoEvent) if e.move in (Move.DISC, Move.LOAD)]
    assert {e.port_call_id for e in on_board} == {call}
    lodged = event["customs.lodged"]
    assert isinstance(lodged, CustomsEvent)
    assert lodged.containers == (event["cargo.disc"].container,)  # type: ignore[attr-defined]
    assert event["cargo.gtot"].container == event["cargo.disc"].container  # type: ignore[attr-defined]
    assert event["cargo.load"].container == event["cargo.gtin"].container  # type: ignore[attr-defined]
    assert {e.declaration_id for e in of_type(samples, CustomsEvent)} == {lodged.declaration_id}
    assert {e.port_call_id for e in of_type(samples, CustomsEvent)} == {call}
    # The call's actual timestamps in the order a call lives them; the box leaves after release.
    order = ["vessel.ata", "vessel.ata-anchorage", "vessel.atd-anchorage", "vessel.ata-pilot",
             "vessel.all-fast", "vessel.first-lift", "cargo.disc", "cargo.load",
             "vessel.last-lift", "vessel.atd"]  # fmt: skip
    times = [event[name].occurred_at for name in order]
    assert times == sorted(times)
    assert event["customs.released"].occurred_at < event["cargo.gtot"].occurred_at
    # The certificate is the one the declaration invokes, and says what the declaration says.
    certificate = event["certificate.submission"]
    assert isinstance(certificate, CertificateSubmission)
    assert (certificate.certificate_id, certificate.agreement) == (
        lodged.certificate_id,
        lodged.agreement,
    )
    cod = parse_document(certificate.document)
    assert cod.certificate_id == certificate.certificate_id
    assert (cod.importer.tax_id, cod.exporter.tax_id) == (lodged.importer_id, lodged.exporter_id)
    assert [invoice.number for invoice in cod.invoices] == [lodged.invoice_number]
    assert [(g.hs_digits, g.quantity) for g in cod.goods] == [
        (line.hs_code, line.quantity) for line in lodged.goods
    ]
    assert cod.certificate_date < lodged.occurred_at.date()
    signatures = check_signatures(certificate.document)
    assert signatures.exporter.status is SignatureStatus.VALID
    assert signatures.official.status is SignatureStatus.VALID


def test_an_unknown_sample_or_a_naive_time_is_refused() -> None:
    with pytest.raises(KeyError):
        build_sample("vessel.nope", "PECLL", NOW)
    with pytest.raises(ValueError, match="aware"):
        build_sample("vessel.ata", "PECLL", NOW.replace(tzinfo=None))
    with pytest.raises(ValueError, match="SampleIssuer"):
        build_sample("customs.lodged", "PECLL", NOW)


def _normalised(text: str) -> object:
    """A sample file with the certificate's signature and digest values blanked: ECDSA signs
    with a random nonce, so only those differ from one signing to the next."""
    body = json.loads(text)
    if isinstance(body, dict) and "document" in body:
        root = etree.fromstring(base64.b64decode(body["document"]))
        ds = "{http://www.w3.org/2000/09/xmldsig#}"
        for element in root.iter(f"{ds}SignatureValue", f"{ds}DigestValue"):
            element.text = ""
        body["document"] = etree.tostring(root).decode()
    return body


def test_docs_samples_are_what_hub_samples_write_writes_at_the_documented_time() -> None:
    files = sorted(path.name for path in (DOCS / "http").iterdir())
    assert files == sorted(f"{kind.name}.json" for kind in SAMPLES)
    for kind in SAMPLES:
        committed = (DOCS / "http" / f"{kind.name}.json").read_text(encoding="utf-8")
        written = sample_text(kind.name, "PECLL", DOCS_SAMPLES_AT, PORTS)
        assert _normalised(committed) == _normalised(written), kind.name
        if kind.domain != "certificate":
            assert committed == written, kind.name
    document = json.loads((DOCS / "http" / "certificate.submission.json").read_text())["document"]
    signatures = check_signatures(base64.b64decode(document))
    assert signatures.exporter.status is signatures.official.status is SignatureStatus.VALID
    readme = (DOCS / "README.md").read_text(encoding="utf-8")
    assert DOCS_SAMPLES_AT.strftime("%Y-%m-%dT%H:%M:%SZ") in readme


def test_hub_samples_prints_one_sample_valid_now_or_a_domain_as_a_batch(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["samples", "vessel.ata", "--port", "CLVAP"]) == 0
    printed = json.loads(capsys.readouterr().out)
    checked = validate("vessel", printed, KNOWN, datetime.now(UTC))
    assert isinstance(checked, VesselEvent) and checked.port == "CLVAP"
    assert main(["samples", "cargo"]) == 0
    batch = json.loads(capsys.readouterr().out)
    assert sorted(event["move"] for event in batch) == sorted(Move)
    assert main(["samples", "--list"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in listed] == [kind.name for kind in SAMPLES]


def test_hub_samples_write_writes_every_sample_and_refuses_bad_arguments(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["samples", "--write", str(tmp_path), "--at", "2026-12-01T12:00:00Z"]) == 0
    written = sorted(path.name for path in (tmp_path / "http").iterdir())
    assert written == sorted(path.name for path in (DOCS / "http").iterdir())
    for name in written:  # the command writes what docs/samples/ holds
        text = (tmp_path / "http" / name).read_text(encoding="utf-8")
        assert _normalised(text) == _normalised((DOCS / "http" / name).read_text()), name
    capsys.readouterr()
    assert main(["samples", "vessel.nope"]) == 2
    assert "no sample 'vessel.nope'" in capsys.readouterr().err
    assert main(["samples", "vessel.ata", "--port", "XXABC"]) == 2
    assert "not a reference port" in capsys.readouterr().err
    assert main(["samples", "vessel.ata", "--write", str(tmp_path)]) == 2
    blocked = tmp_path / "file"
    blocked.write_text("")
    assert main(["samples", "--write", str(blocked)]) == 2
    assert "cannot write" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["samples", "vessel.ata", "--at", "0001-01-01"])


def test_hub_samples_warns_when_the_grace_period_is_shorter_than_the_samples_span(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HUB_LATE_GRACE_HOURS", "12")
    assert main(["samples", "vessel.atd"]) == 0
    assert "HUB_LATE_GRACE_HOURS is 12" in capsys.readouterr().err
    monkeypatch.setenv("HUB_LATE_GRACE_HOURS", "168")
    assert main(["samples", "vessel.atd"]) == 0
    assert capsys.readouterr().err == ""
