"""The Avro contracts and the pydantic models mirroring them: parse, document, agree, round-trip."""

from __future__ import annotations

import base64
import io
import json
import types
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from enum import Enum
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import avro.schema
import fastavro
import pytest
from pydantic import AwareDatetime, BaseModel, ValidationError

from schemas.avro_schemas import (
    DOMAINS,
    event_type_of,
    parsed_schema,
    schema_path,
    schema_text,
    subject_for,
)
from schemas.models import (
    MODELS,
    CargoEvent,
    CertificateSubmission,
    Classifier,
    Facility,
    GoodsLine,
    Operation,
    VesselEvent,
    from_avro_datum,
    to_avro_datum,
)
from tests.samples import T0, XML, envelope, samples

ENVELOPE = (
    "event_id",
    "event_type",
    "occurred_at",
    "published_at",
    "port",
    "publisher",
    "schema_version",
    "retracts_event_id",
    "source",
)


def avro_json(domain: str) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(schema_text(domain))
    return schema


def write(domain: str, datum: dict[str, Any]) -> bytes:
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, parsed_schema(domain), datum)
    return buffer.getvalue()


def read(domain: str, payload: bytes) -> dict[str, Any]:
    datum = fastavro.schemaless_reader(io.BytesIO(payload), parsed_schema(domain))
    assert isinstance(datum, dict)
    return datum


# --- the files ------------------------------------------------------------------------------


@pytest.mark.parametrize("domain", DOMAINS)
def test_every_schema_parses_with_fastavro_and_the_reference_library(domain: str) -> None:
    record_name = {
        "vessel": "VesselEvent",
        "cargo": "CargoEvent",
        "customs": "CustomsEvent",
        "certificate": "CertificateSubmission",
    }[domain]
    assert schema_path(domain).name == f"{domain}.avsc"
    assert parsed_schema(domain)["name"] == f"org.lacports.hub.v1.{record_name}"
    reference = avro.schema.parse(schema_text(domain))
    assert isinstance(reference, avro.schema.RecordSchema)
    assert reference.fullname == f"org.lacports.hub.v1.{record_name}"


def test_the_envelope_is_the_same_first_fields_in_every_schema() -> None:
    def shape(domain: str) -> list[tuple[str, Any, Any]]:
        fields = avro_json(domain)["fields"][: len(ENVELOPE)]
        return [(f["name"], f["type"], f.get("default", "<none>")) for f in fields]

    assert [name for name, _, _ in shape("vessel")] == list(ENVELOPE)
    for domain in DOMAINS:
        assert shape(domain) == shape("vessel"), domain
        event_type_doc = avro_json(domain)["fields"][1]["doc"]
        assert f"'{event_type_of(domain)}'" in event_type_doc


def documented_parts(schema: Any, where: str = "") -> Iterator[tuple[str, str, Any]]:
    """(kind, where, doc) of every record, enum and field reachable from ``schema``."""
    if isinstance(schema, list):
        for branch in schema:
            yield from documented_parts(branch, where)
    elif isinstance(schema, dict):
        if schema["type"] in ("record", "enum"):
            yield schema["type"], f"{where}{schema['name']}", schema.get("doc")
        if schema["type"] == "record":
            for field in schema["fields"]:
                path = f"{where}{schema['name']}.{field['name']}"
                yield "field", path, field.get("doc")
                yield from documented_parts(field["type"], f"{path}: ")
        if schema["type"] == "array":
            yield from documented_parts(schema["items"], where)


@pytest.mark.parametrize("domain", DOMAINS)
def test_every_record_enum_and_field_is_documented(domain: str) -> None:
    parts = list(documented_parts(avro_json(domain)))
    kinds = {kind for kind, _, _ in parts}
    assert {"record", "field"} <= kinds
    assert domain == "certificate" or "enum" in kinds
    undocumented = [f"{kind} {where}" for kind, where, doc in parts if not str(doc or "").strip()]
    assert undocumented == []


def test_the_lookups_of_the_loader() -> None:
    assert subject_for("ingest.vessel") == "ingest.vessel-value"
    assert [event_type_of(domain) for domain in DOMAINS] == [
        "vessel.timestamp",
        "cargo.move",
        "customs.status",
        "certificate.submission",
    ]
    assert parsed_schema("cargo") is parsed_schema("cargo")
    assert schema_text("customs") == schema_path("customs").read_text(encoding="utf-8")
    for lookup in (schema_path, event_type_of):
        with pytest.raises(ValueError, match="unknown event domain 'berth'"):
            lookup("berth")


# --- models and schemas agree (drift guard) ---------------------------------------------------

_AVRO_TO_PYTHON: dict[str, type] = {
    "string": str,
    "int": int,
    "long": int,
    "double": float,
    "boolean": bool,
    "bytes": bytes,
}
# Avro times are instants: the models take only timezone-aware datetimes.
_LOGICAL_TO_PYTHON: dict[str, type] = {"uuid": uuid.UUID, "timestamp-millis": AwareDatetime}


def non_null(avro_type: Any) -> tuple[bool, Any]:
    """(nullable, the type without null) of an Avro field type."""
    if isinstance(avro_type, list):
        branches = [branch for branch in avro_type if branch != "null"]
        assert len(branches) == 1, avro_type
        return len(branches) < len(avro_type), branches[0]
    return False, avro_type


def split_optional(annotation: Any) -> tuple[bool, Any]:
    """(nullable, the annotation without None) of a model field's annotation."""
    if get_origin(annotation) in (Union, types.UnionType):
        rest = [arg for arg in get_args(annotation) if arg is not type(None)]
        assert len(rest) == 1, annotation
        return len(rest) < len(get_args(annotation)), rest[0]
    return False, annotation


def python_type(annotation: Any) -> Any:
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    if get_origin(annotation) is Literal:
        return type(get_args(annotation)[0])
    return annotation


def decimal_bounds(precision: int, scale: int) -> tuple[Decimal, list[Decimal]]:
    """The widest value an Avro decimal holds, and values one digit too wide or too fine."""
    widest = Decimal("9" * (precision - scale) + "." + "9" * scale)
    return widest, [Decimal("9" * (precision - scale + 1)), Decimal("0." + "0" * scale + "1")]


def assert_mirrors(model: type[BaseModel], record: dict[str, Any], sample: dict[str, Any]) -> None:
    """``model`` has the fields of the Avro ``record``; ``sample`` is a valid datum of both."""
    avro_fields = record["fields"]
    assert list(model.model_fields) == [field["name"] for field in avro_fields]
    for avro_field in avro_fields:
        name = avro_field["name"]
        model_field = model.model_fields[name]
        avro_nullable, avro_type = non_null(avro_field["type"])
        model_nullable, annotation = split_optional(model_field.annotation)
        assert model_nullable == avro_nullable, f"{record['name']}.{name}: optionality differs"

        if name != "event_type":  # the models give event_type its one possible value
            assert model_field.is_required() == ("default" not in avro_field), name
        if "default" in avro_field:
            default = model_field.get_default(call_default_factory=True)
            default = list(default) if isinstance(default, tuple) else default
            assert default == avro_field["default"], name

        python = python_type(annotation)
        if isinstance(avro_type, dict) and avro_type["type"] == "enum":
            assert isinstance(python, type) and issubclass(python, Enum), name
            assert [member.value for member in python] == avro_type["symbols"], name
        elif isinstance(avro_type, dict) and avro_type["type"] == "array":
            assert get_origin(python) is tuple, name
            item = python_type(get_args(python)[0])
            if isinstance(avro_type["items"], dict):
                assert sample[name], f"{name}: the sample needs an item to check"
                assert_mirrors(item, avro_type["items"], sample[name][0])
            else:
                assert item is _AVRO_TO_PYTHON[avro_type["items"]], name
        elif isinstance(avro_type, dict) and avro_type.get("logicalType") == "decimal":
            assert python is Decimal, name
            widest, refused = decimal_bounds(avro_type["precision"], avro_type["scale"])
            assert getattr(model.model_validate(sample | {name: widest}), name) == widest
            for value in refused:
                with pytest.raises(ValidationError):
                    model.model_validate(sample | {name: value})
        elif isinstance(avro_type, dict):
            assert python is _LOGICAL_TO_PYTHON[avro_type["logicalType"]], name
        else:
            assert python is _AVRO_TO_PYTHON[avro_type], name


@pytest.mark.parametrize("domain", DOMAINS)
def test_each_model_has_exactly_the_fields_of_its_avro_record(domain: str) -> None:
    assert_mirrors(MODELS[domain], avro_json(domain), to_avro_datum(samples(domain)[1]))


@pytest.mark.parametrize("domain", DOMAINS)
def test_each_model_defaults_event_type_to_its_domain(domain: str) -> None:
    model = MODELS[domain]
    assert model.model_fields["event_type"].default == event_type_of(domain)
    with pytest.raises(ValidationError, match="event_type"):
        model.model_validate(to_avro_datum(samples(domain)[0]) | {"event_type": "vessel"})


# --- round trips ------------------------------------------------------------------------------


@pytest.mark.parametrize("domain", DOMAINS)
@pytest.mark.parametrize("which", ["minimal", "full"])
def test_an_event_survives_the_avro_wire(domain: str, which: str) -> None:
    event = samples(domain)[which == "full"]
    datum = to_avro_datum(event)
    assert list(datum) == [field["name"] for field in avro_json(domain)["fields"]]

    payload = write(domain, datum)
    back = read(domain, payload)
    assert isinstance(back["event_id"], uuid.UUID)  # fastavro gives uuid.UUID ...
    restored = from_avro_datum(domain, back)
    assert type(restored) is type(event)
    assert restored == event
    as_strings = back | {"event_id": str(back["event_id"])}  # ... or a str, as other readers do
    assert from_avro_datum(domain, as_strings) == event
    assert write(domain, to_avro_datum(restored)) == payload


def test_the_datum_holds_what_fastavro_expects() -> None:
    vessel, customs = samples("vessel")[1], samples("customs")[1]
    datum = to_avro_datum(vessel)
    assert type(datum["classifier"]) is str and datum["classifier"] == "ACT"
    assert type(datum["event_id"]) is str and uuid.UUID(datum["event_id"]) == vessel.event_id
    assert datum["occurred_at"] == T0 and isinstance(datum["occurred_at"], datetime)
    lines = to_avro_datum(customs)["goods"]
    assert isinstance(lines, list) and lines[0]["quantity"] == Decimal("19200.125")
    assert to_avro_datum(samples("certificate")[0])["document"] == XML.encode()


@pytest.mark.parametrize("domain", DOMAINS)
def test_an_event_survives_json(domain: str) -> None:
    for event in samples(domain):
        assert MODELS[domain].model_validate_json(event.model_dump_json()) == event
        assert MODELS[domain].model_validate(json.loads(event.model_dump_json())) == event


def test_from_avro_datum_refuses_an_unknown_domain() -> None:
    with pytest.raises(ValueError, match="unknown event domain"):
        from_avro_datum("berth", {})


# --- what the models normalise and refuse -----------------------------------------------------


def test_times_become_utc_milliseconds_as_the_wire_keeps_them() -> None:
    lima = timezone(timedelta(hours=-5))
    event = VesselEvent(
        **envelope(occurred_at=datetime(2026, 3, 1, 7, 0, 0, 123_999, tzinfo=lima)),
        port_call_id="PECLL-0001",
        imo="9074729",
        classifier=Classifier.ACT,
        operation=Operation.ARRI,
        facility=Facility.PORT,
    )
    assert event.occurred_at == datetime(2026, 3, 1, 12, 0, 0, 123_000, tzinfo=UTC)
    assert event.occurred_at.utcoffset() == timedelta(0)
    with pytest.raises(ValidationError, match="occurred_at"):
        VesselEvent.model_validate(to_avro_datum(event) | {"occurred_at": datetime(2026, 3, 1)})


def test_the_document_is_raw_bytes_in_python_and_base64_in_json() -> None:
    event = samples("certificate")[0]
    assert isinstance(event, CertificateSubmission) and event.document == XML.encode()
    encoded = json.loads(event.model_dump_json())["document"]
    assert base64.b64decode(encoded) == XML.encode()
    assert event.model_dump()["document"] == XML.encode()
    with pytest.raises(ValidationError, match="not base64"):
        CertificateSubmission.model_validate(to_avro_datum(event) | {"document": XML})


@pytest.mark.parametrize(
    ("domain", "field", "value"),
    [
        ("vessel", "port", "pecll"),
        ("vessel", "imo", "907472"),
        ("vessel", "imo", "٩٠٧٤٧٢٩"),  # Arabic-Indic digits are not digits of an IMO number
        ("vessel", "next_port", "PE-CLL"),
        ("cargo", "container", "CSQU305438"),
        ("cargo", "hs_code", "0901.11"),
        ("cargo", "origin_country", "BRA"),
        ("cargo", "declared_value_usd", Decimal("1.005")),  # more decimals than the Avro scale
        ("cargo", "gross_kg", 2**31),  # wider than an Avro int
        ("customs", "containers", ["CSQU 305438 3"]),
        ("customs", "agreement", "A-18"),
        ("certificate", "issuing_entity", "F0001"),
        ("certificate", "importing_country", "pe"),
    ],
)
def test_a_field_of_the_wrong_form_is_refused(domain: str, field: str, value: Any) -> None:
    datum = to_avro_datum(samples(domain)[1]) | {field: value}
    with pytest.raises(ValidationError) as refused:
        from_avro_datum(domain, datum)
    assert refused.value.errors()[0]["loc"][0] == field


@pytest.mark.parametrize(
    "hs_code", ["0901.11", "0901.11.00", "0901.11.00.10", "090111", "0901110010"]
)
def test_goods_lines_take_dotted_and_plain_hs_codes(hs_code: str) -> None:
    assert (
        GoodsLine(hs_code=hs_code, quantity=Decimal(1), unit="KGM", value_usd=Decimal(1)).hs_code
        == hs_code
    )


def test_check_digits_are_left_to_the_semantic_checks() -> None:
    """Forms only here: a wrong check digit is INVALID_IDENTIFIER later, not a schema error."""
    vessel = to_avro_datum(samples("vessel")[0]) | {"imo": "9074728"}
    assert from_avro_datum("vessel", vessel) == VesselEvent.model_validate(vessel)
    assert VesselEvent.model_validate(vessel).imo == "9074728"
    cargo = to_avro_datum(samples("cargo")[0]) | {"container": "CSQU3054384"}
    assert CargoEvent.model_validate(cargo).container == "CSQU3054384"
    assert from_avro_datum("cargo", cargo) == CargoEvent.model_validate(cargo)


def test_unknown_fields_are_refused() -> None:
    with pytest.raises(ValidationError, match="surprise"):
        from_avro_datum("cargo", to_avro_datum(samples("cargo")[0]) | {"surprise": 1})
