"""Registry exports (:mod:`hub.domain.certificates.registry_import`): every row checked with a
message naming the file, the row and the problem; the plan says what would change."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from hub.domain.certificates.registry_import import (
    CSV_COLUMNS,
    ExportError,
    parse_export,
    plan_import,
)
from tests.unit.certificates.builders import OFFICIAL, PKI, official_record, registry

NEW_OFFICIAL = PKI.official("PE", name="new one")
REVOKED_AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
OFFICIAL_FP = official_record().fingerprint


def _pem(key: Any) -> str:
    return str(key.certificate.public_bytes(serialization.Encoding.PEM).decode())


def entity_row(**changes: str) -> dict[str, str]:
    row = dict.fromkeys(CSV_COLUMNS, "")
    row |= {"type": "entity", "country": "PE", "eh_id": "TST", "name": "TEST issuing entity",
            "agreements": "A58 CA01"}  # fmt: skip
    return row | changes


def official_row(key: Any = OFFICIAL, **changes: str) -> dict[str, str]:
    row = dict.fromkeys(CSV_COLUMNS, "")
    row |= {"type": "official", "country": "PE", "eh_id": "TST", "certificate_pem": _pem(key)}
    return row | changes


def as_csv(*rows: dict[str, str]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def test_a_file_equal_to_the_registry_changes_nothing() -> None:
    export = parse_export("same.csv", as_csv(entity_row(), official_row()))
    plan = plan_import(export, registry())
    assert plan.changes == ()
    assert plan.counts() == {"added": 0, "changed": 0, "revoked": 0, "unchanged": 2}


def test_added_changed_and_revoked_rows_are_told_apart() -> None:
    text = as_csv(
        entity_row(agreements="A58"),  # CA01 withdrawn
        entity_row(country="BO", eh_id="CNB", name="CANEB", agreements="A18"),
        official_row(revoked_at=REVOKED_AT.isoformat(), revocation_reason="key lost"),
        official_row(NEW_OFFICIAL, enabled_from="2026-01-01"),
    )
    plan = plan_import(parse_export("export.csv", text), registry())
    assert plan.counts() == {"added": 2, "changed": 1, "revoked": 1, "unchanged": 0}
    by_action = {(c.action, c.row.where) for c in plan.changes}
    assert by_action == {("changed", "row 2"), ("added", "row 3"), ("revoked", "row 4"),
                         ("added", "row 5")}  # fmt: skip
    revoked = next(c for c in plan.changes if c.action == "revoked")
    assert revoked.revocation and not revoked.enablement
    assert OFFICIAL_FP[:16] in revoked.detail and "key lost" in revoked.detail
    added = next(c for c in plan.changes if c.row.where == "row 5")
    assert added.enablement and not added.revocation


def test_an_enablement_change_is_a_change_and_the_same_revocation_is_none() -> None:
    current = registry(officials=(official_record(revoked_at=REVOKED_AT,
                                                  revocation_reason="key lost"),))  # fmt: skip
    same_revocation = official_row(
        revoked_at="2026-03-01T12:00:00", revocation_reason="key lost", enabled_to="2026-12-31"
    )
    plan = plan_import(parse_export("x.csv", as_csv(same_revocation)), current)
    assert [(c.action, c.enablement, c.revocation) for c in plan.changes] == [
        ("changed", True, False)
    ]


def test_json_reads_like_csv() -> None:
    document = {
        "entities": [{"country": "PE", "eh_id": "TST", "name": "TEST issuing entity",
                      "agreements": ["CA01", "A58"]}],
        "officials": [{"country": "PE", "eh_id": "TST", "certificate_pem": _pem(OFFICIAL),
                       "revoked_at": "2026-03-01T12:00:00+00:00"}],
    }  # fmt: skip
    export = parse_export("export.JSON", json.dumps(document))
    assert export.entities[0].agreements == ("A58", "CA01")
    assert export.officials[0].revoked_at == REVOKED_AT
    plan = plan_import(export, registry())
    assert [(c.action, c.row.where) for c in plan.changes] == [("revoked", "officials[0]")]


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        (official_row(enabled_from="2026-02-30"),
         "bad.csv: row 3: enabled_from '2026-02-30' is not a date YYYY-MM-DD"),
        (official_row(certificate_pem="-----BEGIN CERTIFICATE-----\nxx\n"),
         "bad.csv: row 3: certificate_pem is not a PEM X.509 certificate"),
        (official_row(enabled_from="2026-05-01", enabled_to="2026-04-30"),
         "bad.csv: row 3: enabled_to 2026-04-30 is before enabled_from 2026-05-01"),
        (official_row(revoked_at="yesterday"),
         "bad.csv: row 3: revoked_at 'yesterday' is not an ISO 8601 time"),
        (official_row(revocation_reason="why"),
         "bad.csv: row 3: revocation_reason without revoked_at"),
        (entity_row(country="Peru"),
         "bad.csv: row 3: country 'Peru' is not an ISO 3166 alpha-2 code"),
        (entity_row(type="person"), "bad.csv: row 3: type 'person' is neither entity nor official"),
        (entity_row(), "bad.csv: row 3: the same entity as row 2"),
    ],
)  # fmt: skip
def test_a_bad_row_is_named_with_its_file_and_problem(row: dict[str, str], problem: str) -> None:
    with pytest.raises(ExportError) as refused:
        parse_export("bad.csv", as_csv(entity_row(), row))
    assert str(refused.value).startswith(problem)


@pytest.mark.parametrize(
    ("rows", "problem"),
    [
        ((entity_row(agreements="A58 Z99"),),
         "r.csv: row 2: agreement Z99 is not configured"),
        ((official_row(PKI.official("CL", "SFA"), country="CL", eh_id="SFA"),),
         "r.csv: row 2: issuing entity CL/SFA is neither in the file nor registered"),
        ((entity_row(country="BO", eh_id="CNB"),
          official_row(country="BO", eh_id="CNB")),
         f"r.csv: row 3: certificate {OFFICIAL_FP[:16]}… is registered for PE/TST"),
    ],
)  # fmt: skip
def test_rows_the_registry_refuses_are_named(
    rows: tuple[dict[str, str], ...], problem: str
) -> None:
    with pytest.raises(ExportError) as refused:
        plan_import(parse_export("r.csv", as_csv(*rows)), registry())
    assert str(refused.value).startswith(problem)


def test_a_revocation_cannot_be_taken_back_by_a_file() -> None:
    current = registry(officials=(official_record(revoked_at=REVOKED_AT),))
    with pytest.raises(ExportError, match=r"x\.csv: row 2: .* a revocation cannot be taken back"):
        plan_import(parse_export("x.csv", as_csv(official_row())), current)


def test_a_file_is_csv_or_json_with_the_documented_header() -> None:
    with pytest.raises(ExportError, match=r"^r\.txt: the file must end in \.csv or \.json$"):
        parse_export("r.txt", "")
    with pytest.raises(ExportError, match=r"^r\.csv: row 1: the header must be type,country,"):
        parse_export("r.csv", "country,eh_id\nPE,TST\n")
    with pytest.raises(ExportError, match=r"^r\.json: entities\[0\]: unknown field 'agreement'"):
        parse_export("r.json", json.dumps({"entities": [{"agreement": ["A58"]}]}))
    assert parse_export("r.csv", as_csv()).entities == ()
    assert (
        date(2026, 1, 1)
        == parse_export("r.csv", as_csv(official_row(enabled_from="2026-01-01")))
        .officials[0]
        .enabled_from
    )


def test_a_file_the_readers_cannot_take_is_an_export_error_not_a_crash() -> None:
    header = ",".join(CSV_COLUMNS)
    with pytest.raises(ExportError, match=r"^h\.csv: line 1: not CSV: field larger than"):
        parse_export("h.csv", "[" * 200_000)
    with pytest.raises(ExportError, match=r"^h\.csv: line \d+: not CSV: field larger than"):
        parse_export("h.csv", header + "\nentity," + "x" * 200_000 + "\n")
    with pytest.raises(ExportError, match=r"^d\.json: not JSON: nested too deep$"):
        parse_export("d.json", "[" * 100_000 + "]" * 100_000)
