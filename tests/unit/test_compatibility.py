"""Avro compatibility rules of the registry and of the schema-evolution check."""

from __future__ import annotations

import json
from typing import Any

import pytest

from schemas.compatibility import (
    CompatibilityLevel,
    UnparsableSchema,
    canonical_form,
    check,
    parse_avro,
)


def record(*fields: dict[str, Any], name: str = "PortCall") -> str:
    return json.dumps(
        {"type": "record", "name": name, "namespace": "hub.test", "fields": list(fields)}
    )


IMO = {"name": "imo", "type": "string"}
BERTH = {"name": "berth", "type": "string"}
OPTIONAL_BERTH = {"name": "berth", "type": ["null", "string"], "default": None}
STAGE = {
    "name": "stage",
    "type": {"type": "enum", "name": "Stage", "symbols": ["ARRIVAL", "BERTH", "DEPARTURE"]},
}
STAGE_WITHOUT_BERTH = {
    "name": "stage",
    "type": {"type": "enum", "name": "Stage", "symbols": ["ARRIVAL", "DEPARTURE"]},
}

V1 = record(IMO)
V1_WITH_OPTIONAL_BERTH = record(IMO, OPTIONAL_BERTH)
V1_WITH_REQUIRED_BERTH = record(IMO, BERTH)


def test_adding_an_optional_field_with_a_default_is_backward_compatible() -> None:
    assert check(V1_WITH_OPTIONAL_BERTH, [V1], CompatibilityLevel.BACKWARD) == []


def test_adding_a_required_field_is_not_backward_compatible_and_the_message_names_it() -> None:
    messages = check(V1_WITH_REQUIRED_BERTH, [V1], CompatibilityLevel.BACKWARD)
    assert len(messages) == 1
    message = messages[0]
    assert "READER_FIELD_MISSING_DEFAULT_VALUE" in message
    assert "'berth'" in message
    assert "/fields/1" in message
    assert "the new schema cannot read data written with the latest existing schema" in message


def test_removing_an_enum_symbol_the_writer_used_is_not_backward_compatible() -> None:
    messages = check(record(IMO, STAGE_WITHOUT_BERTH), [record(IMO, STAGE)], "BACKWARD")
    assert len(messages) == 1
    assert "MISSING_ENUM_SYMBOLS" in messages[0]
    assert "BERTH" in messages[0]
    assert "field 'stage'" in messages[0]
    assert "/fields/1/type/symbols" in messages[0]


def test_adding_an_enum_symbol_is_backward_but_not_forward_compatible() -> None:
    old, new = record(IMO, STAGE_WITHOUT_BERTH), record(IMO, STAGE)
    assert check(new, [old], CompatibilityLevel.BACKWARD) == []
    messages = check(new, [old], CompatibilityLevel.FORWARD)
    assert len(messages) == 1
    assert (
        "the latest existing schema cannot read data written with the new schema" in (messages[0])
    )
    assert "BERTH" in messages[0]


def test_a_changed_type_names_the_field_and_both_types() -> None:
    messages = check(record({"name": "imo", "type": "int"}), [V1], "BACKWARD")
    assert messages == [
        "the new schema cannot read data written with the latest existing schema: "
        "TYPE_MISMATCH at /fields/0/type (field 'imo'): "
        "reader type: int not compatible with writer type: string"
    ]


def test_a_problem_in_a_nested_record_names_the_dotted_field_path() -> None:
    def with_position(*fields: dict[str, Any]) -> str:
        position = {"type": "record", "name": "Position", "fields": list(fields)}
        return record(IMO, {"name": "position", "type": position})

    old = with_position({"name": "lat", "type": "double"})
    new = with_position({"name": "lat", "type": "double"}, {"name": "lon", "type": "double"})
    (message,) = check(new, [old], "BACKWARD")
    assert "field 'position.lon'" in message
    assert "/fields/1/type/fields/1" in message


def test_several_problems_are_each_reported_with_their_own_field() -> None:
    new = record({"name": "imo", "type": "int"}, BERTH, {"name": "draught", "type": "float"})
    messages = check(new, [V1], "BACKWARD")
    assert len(messages) == 3
    assert any("field 'imo'" in m and "TYPE_MISMATCH" in m for m in messages)
    assert any("field 'berth'" in m and "/fields/1" in m for m in messages)
    assert any("field 'draught'" in m and "/fields/2" in m for m in messages)


def test_removing_a_field_without_default_is_backward_but_not_forward_compatible() -> None:
    assert check(V1, [V1_WITH_REQUIRED_BERTH], "BACKWARD") == []
    (message,) = check(V1, [V1_WITH_REQUIRED_BERTH], "FORWARD")
    assert "'berth'" in message


def test_full_requires_both_directions() -> None:
    assert check(V1_WITH_OPTIONAL_BERTH, [V1], "FULL") == []
    # Removing a field without default breaks old readers; adding one breaks new readers.
    assert check(V1, [V1_WITH_REQUIRED_BERTH], "FULL") != []
    assert check(V1_WITH_REQUIRED_BERTH, [V1], "FULL") != []


def test_none_accepts_anything_valid_but_still_refuses_an_invalid_schema() -> None:
    assert check(record({"name": "imo", "type": "int"}), [V1], "NONE") == []
    with pytest.raises(UnparsableSchema):
        check("{", [V1], "NONE")


def test_non_transitive_levels_check_only_the_latest_schema() -> None:
    history = [V1_WITH_REQUIRED_BERTH, V1]
    # Identical to version 1, yet it cannot read what version 2 (the latest) wrote: no berth.
    (message,) = check(V1_WITH_REQUIRED_BERTH, history, "BACKWARD")
    assert "the latest existing schema" in message
    # An int imo breaks both; only the latest is checked, so only one message.
    int_imo = record({"name": "imo", "type": "int"})
    assert len(check(int_imo, history, "BACKWARD")) == 1
    assert len(check(int_imo, history, "BACKWARD_TRANSITIVE")) == 2


def test_transitive_levels_check_every_existing_schema() -> None:
    # v1 wrote a string berth, v2 dropped berth; the new schema has an int berth with a
    # default: it reads v2's data (default) but not v1's (string is not int).
    v1 = record(IMO, BERTH)
    v2 = record(IMO)
    new = record(IMO, {"name": "berth", "type": "int", "default": 0})
    assert check(new, [v1, v2], "BACKWARD") == []
    messages = check(new, [v1, v2], "BACKWARD_TRANSITIVE")
    assert len(messages) == 1
    assert "existing schema 1 of 2" in messages[0]
    assert "field 'berth'" in messages[0]
    assert check(new, [v1, v2], "FULL") == []
    assert check(new, [v1, v2], "FULL_TRANSITIVE") != []


def test_forward_transitive_checks_every_existing_reader() -> None:
    v1 = record(IMO, BERTH)
    v2 = record(IMO, OPTIONAL_BERTH)
    new = record(IMO)
    assert check(new, [v1, v2], "FORWARD") == []
    (message,) = check(new, [v1, v2], "FORWARD_TRANSITIVE")
    assert message.startswith("existing schema 1 of 2 cannot read data written with the new")


def test_messages_use_the_names_given_for_existing_schemas() -> None:
    (message,) = check(V1_WITH_REQUIRED_BERTH, [V1], "BACKWARD", names=["version 7"])
    assert "written with version 7" in message
    with pytest.raises(ValueError, match="names"):
        check(V1, [V1], "BACKWARD", names=["a", "b"])


def test_no_existing_schema_means_compatible() -> None:
    assert check(V1, [], CompatibilityLevel.FULL_TRANSITIVE) == []


def test_an_unknown_level_is_refused() -> None:
    with pytest.raises(ValueError):
        check(V1, [V1], "SIDEWAYS")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("{", "not valid JSON"),
        ("", "not valid JSON"),
        ('"strin"', "not a valid Avro schema"),
        ('{"type": "record", "fields": []}', "not a valid Avro schema"),
        ('{"type": "record", "name": "R", "fields": [{"name": "a", "type": "strin"}]}', "strin"),
        ('{"type": "enum", "name": "E", "symbols": ["A", "A"]}', "Duplicate symbol"),
        ('{"type": "fixed", "name": "F", "size": "x"}', "not a valid Avro schema"),
    ],
)
def test_invalid_json_and_invalid_avro_raise_invalid_schema(text: str, reason: str) -> None:
    with pytest.raises(UnparsableSchema, match=reason) as raised:
        parse_avro(text)
    assert "\n" not in str(raised.value)
    assert isinstance(raised.value, ValueError)


def test_check_refuses_an_invalid_new_schema() -> None:
    with pytest.raises(UnparsableSchema):
        check('{"type": "nope"}', [V1], "BACKWARD")


def test_the_canonical_form_ignores_layout_and_key_order_but_not_docs() -> None:
    spaced = '{ "name": "PortCall",\n  "type": "record", "fields": [] }'
    compact = '{"fields":[],"name":"PortCall","type":"record"}'
    assert canonical_form(spaced) == canonical_form(compact) == compact
    documented = '{"type": "record", "name": "PortCall", "fields": [], "doc": "a call"}'
    assert canonical_form(documented) != canonical_form(compact)
    with pytest.raises(UnparsableSchema):
        canonical_form("not json")


def test_levels_know_their_directions() -> None:
    assert CompatibilityLevel("FULL_TRANSITIVE").checks_backward
    assert CompatibilityLevel.FULL_TRANSITIVE.checks_forward
    assert CompatibilityLevel.FULL_TRANSITIVE.is_transitive
    assert not CompatibilityLevel.FORWARD.checks_backward
    assert not CompatibilityLevel.NONE.checks_forward
    assert [level.value for level in CompatibilityLevel] == [
        "NONE",
        "BACKWARD",
        "BACKWARD_TRANSITIVE",
        "FORWARD",
        "FORWARD_TRANSITIVE",
        "FULL",
        "FULL_TRANSITIVE",
    ]
