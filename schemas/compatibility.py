"""Avro schema evolution rules: parsing, the canonical form, and compatibility checks.

One definition of "may this schema replace that one", used by the hub's schema registry when a
schema is registered and by the CI check that keeps ``schemas/avro/*.avsc`` evolvable. Pure:
no database, no HTTP, no faust.

The checks are those of the Confluent Schema Registry, computed by Apache Avro's own
``ReaderWriterCompatibilityChecker``:

- ``BACKWARD``: the new schema can read data written with the latest existing schema, so
  consumers can upgrade first;
- ``FORWARD``: the latest existing schema can read data written with the new one, so producers
  can upgrade first;
- ``FULL``: both;
- ``*_TRANSITIVE``: the same against every existing schema, not only the latest;
- ``NONE``: no check.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from enum import StrEnum

import avro.errors
import avro.schema
from avro.compatibility import (
    ReaderWriterCompatibilityChecker,
    SchemaCompatibilityResult,
    SchemaCompatibilityType,
    SchemaIncompatibilityType,
)

__all__ = [
    "CompatibilityLevel",
    "UnparsableSchema",
    "canonical_form",
    "check",
    "parse_avro",
]


class CompatibilityLevel(StrEnum):
    """How a new schema of a subject must relate to the schemas registered before it."""

    NONE = "NONE"
    BACKWARD = "BACKWARD"
    BACKWARD_TRANSITIVE = "BACKWARD_TRANSITIVE"
    FORWARD = "FORWARD"
    FORWARD_TRANSITIVE = "FORWARD_TRANSITIVE"
    FULL = "FULL"
    FULL_TRANSITIVE = "FULL_TRANSITIVE"

    @property
    def checks_backward(self) -> bool:
        """Whether the new schema must read what the existing ones wrote."""
        return self in _BACKWARD_LEVELS

    @property
    def checks_forward(self) -> bool:
        """Whether the existing schemas must read what the new one writes."""
        return self in _FORWARD_LEVELS

    @property
    def is_transitive(self) -> bool:
        """Whether the check covers every existing schema rather than only the latest."""
        return self.name.endswith("_TRANSITIVE")


_BACKWARD_LEVELS = frozenset(
    {
        CompatibilityLevel.BACKWARD,
        CompatibilityLevel.BACKWARD_TRANSITIVE,
        CompatibilityLevel.FULL,
        CompatibilityLevel.FULL_TRANSITIVE,
    }
)
_FORWARD_LEVELS = frozenset(
    {
        CompatibilityLevel.FORWARD,
        CompatibilityLevel.FORWARD_TRANSITIVE,
        CompatibilityLevel.FULL,
        CompatibilityLevel.FULL_TRANSITIVE,
    }
)


class UnparsableSchema(ValueError):
    """The text is not JSON, or not an Avro schema; the message says why in one line."""


def parse_avro(schema_text: str) -> avro.schema.Schema:
    """Parse an Avro schema (JSON text), with names and enum symbols validated.

    Raises:
        UnparsableSchema: not JSON, or JSON that is not a valid Avro schema.
    """
    try:
        json.loads(schema_text)
    except ValueError as error:
        raise UnparsableSchema(f"schema is not valid JSON: {error}") from None
    try:
        return avro.schema.parse(schema_text)
    # Avro raises AvroException for most bad schemas, but a few shapes it does not expect
    # (a number where a list belongs, say) escape as plain Python errors.
    except (avro.errors.AvroException, TypeError, ValueError, AttributeError, KeyError) as error:
        raise UnparsableSchema(f"not a valid Avro schema: {_one_line(str(error))}") from None


def canonical_form(schema_text: str) -> str:
    """The JSON of ``schema_text`` with sorted keys and no whitespace.

    Two texts with the same canonical form are the same schema to the registry, whatever their
    layout or key order. Unlike Avro's Parsing Canonical Form it keeps ``doc``, ``default`` and
    ``aliases``, because a schema that changes only those is a new schema version (as in the
    Confluent registry): defaults and aliases change how data is read.

    Raises:
        UnparsableSchema: the text is not JSON.
    """
    try:
        parsed = json.loads(schema_text)
    except ValueError as error:
        raise UnparsableSchema(f"schema is not valid JSON: {error}") from None
    return json.dumps(parsed, sort_keys=True, separators=(",", ":"))


def check(
    new_text: str,
    existing_texts_newest_last: Sequence[str],
    level: CompatibilityLevel | str,
    *,
    names: Sequence[str] | None = None,
) -> list[str]:
    """Why ``new_text`` may not follow ``existing_texts_newest_last`` under ``level``.

    Args:
        new_text: the candidate schema.
        existing_texts_newest_last: the schemas already registered, oldest first.
        level: the compatibility level to enforce.
        names: how to call each existing schema in the messages (e.g. ``"version 3"``),
            parallel to ``existing_texts_newest_last``; default ``"existing schema i of n"``.

    Returns:
        One human-readable line per incompatibility, naming the direction, the kind, the
        location in the schema (``/fields/2/type``) and the field or type at fault; an empty
        list means compatible.

    Raises:
        UnparsableSchema: the new schema (or an existing one) is not a valid Avro schema.
        ValueError: ``level`` is not a compatibility level, or ``names`` has the wrong length.
    """
    level = CompatibilityLevel(level)
    new = parse_avro(new_text)
    if names is not None and len(names) != len(existing_texts_newest_last):
        raise ValueError("names must name every existing schema")
    labels = list(names) if names is not None else _default_names(len(existing_texts_newest_last))
    pairs = list(zip(existing_texts_newest_last, labels, strict=True))
    if level is CompatibilityLevel.NONE or not pairs:
        return []
    if not level.is_transitive:
        pairs = pairs[-1:]
    messages: list[str] = []
    for old_text, label in pairs:
        old = parse_avro(old_text)
        if level.checks_backward:
            result = _compatibility(reader=new, writer=old)
            messages += _describe(
                result, new, f"the new schema cannot read data written with {label}"
            )
        if level.checks_forward:
            result = _compatibility(reader=old, writer=new)
            messages += _describe(
                result, old, f"{label} cannot read data written with the new schema"
            )
    return messages


def _compatibility(
    *, reader: avro.schema.Schema, writer: avro.schema.Schema
) -> SchemaCompatibilityResult:
    """Whether ``reader`` can read all that ``writer`` writes, by Avro's own checker."""
    # A fresh checker per pair: it memoizes results by schema identity for its lifetime.
    checker = ReaderWriterCompatibilityChecker()  # type: ignore[no-untyped-call]  # untyped __init__
    return checker.get_compatibility(reader, writer)


def _default_names(count: int) -> list[str]:
    return [
        "the latest existing schema" if i == count else f"existing schema {i} of {count}"
        for i in range(1, count + 1)
    ]


# What each kind of incompatibility means, in the words of a reader and a writer. The checker's
# own message for each kind is one detail (a field name, a set of symbols, "expected: X").
_EXPLANATIONS: dict[SchemaIncompatibilityType, str] = {
    SchemaIncompatibilityType.reader_field_missing_default_value: (
        "field '{detail}' is missing from the writer's schema and has no default value"
    ),
    SchemaIncompatibilityType.missing_enum_symbols: (
        "enum symbols {detail} of the writer are missing from the reader, which has no default"
    ),
    SchemaIncompatibilityType.type_mismatch: "{detail}",
    SchemaIncompatibilityType.name_mismatch: "the named type differs from the writer's, {detail}",
    SchemaIncompatibilityType.fixed_size_mismatch: "the fixed size differs, {detail}",
    SchemaIncompatibilityType.missing_union_branch: "{detail}",
}
_TYPE_MISMATCH = re.compile(r"^reader type: (\S+) not compatible with writer type: \S+$")


def _describe(
    result: SchemaCompatibilityResult, reader: avro.schema.Schema, direction: str
) -> list[str]:
    """One message per incompatibility of one reader/writer check, with where it is.

    The checker keeps its messages and their locations as two unordered sets, so each message is
    paired back with its location here: by its kind (told by the shape of the message) and by
    what the reader's schema holds at each location. A location that cannot be told apart is
    given as "one of" the candidates; one the checker lost (inside a writer's union) is left out.
    """
    if result.compatibility is not SchemaCompatibilityType.incompatible:
        return []
    # "/" is the placeholder location of compatible sub-results merged into the result (and
    # of checks inside a writer's union, whose location the checker does not keep).
    located = {
        location: _resolve(reader, location) for location in result.locations if location != "/"
    }
    kinds = set(result.incompatibilities)
    lines = []
    for detail in sorted(result.messages):
        kind = next(iter(kinds)) if len(kinds) == 1 else _kind_of(detail)
        candidates = sorted(
            location
            for location, (node, path) in located.items()
            if _may_be_at(kind, detail, location, node, path)
        )
        if len(candidates) == 1:
            path = located[candidates[0]][1]
            where = f" at {candidates[0]}" + (f" (field '{path}')" if path else "")
        elif candidates:
            where = " at one of " + ", ".join(candidates)
        else:
            where = ""
        explanation = _EXPLANATIONS.get(kind, "{detail}").format(detail=detail)
        lines.append(f"{direction}: {kind.name.upper()}{where}: {explanation}")
    return lines


def _kind_of(detail: str) -> SchemaIncompatibilityType:
    """The kind of an incompatibility, from the shape of the checker's message (avro 1.12)."""
    if detail.startswith("reader type: "):
        return SchemaIncompatibilityType.type_mismatch
    if detail.startswith("reader union lacking writer type"):
        return SchemaIncompatibilityType.missing_union_branch
    if detail.startswith("expected: "):
        if ", found: " in detail:
            return SchemaIncompatibilityType.fixed_size_mismatch
        return SchemaIncompatibilityType.name_mismatch
    if detail.startswith("{"):
        return SchemaIncompatibilityType.missing_enum_symbols
    return SchemaIncompatibilityType.reader_field_missing_default_value


def _may_be_at(
    kind: SchemaIncompatibilityType, detail: str, location: str, node: object, path: str
) -> bool:
    """Whether an incompatibility of ``kind`` with message ``detail`` can be at ``location``."""
    last = location.rsplit("/", 2)
    if kind is SchemaIncompatibilityType.reader_field_missing_default_value:
        return last[-2:-1] == ["fields"] and path.rsplit(".", 1)[-1] == detail
    if kind is SchemaIncompatibilityType.missing_enum_symbols:
        return last[-1] == "symbols"
    if kind is SchemaIncompatibilityType.name_mismatch:
        return last[-1] == "name"
    if kind is SchemaIncompatibilityType.fixed_size_mismatch:
        return last[-1] == "size"
    if kind is SchemaIncompatibilityType.missing_union_branch:
        return isinstance(node, avro.schema.UnionSchema)
    match = _TYPE_MISMATCH.match(detail)
    return (
        isinstance(node, avro.schema.Schema)
        and match is not None
        and str(node.type) == match.group(1)
    )


def _resolve(schema: avro.schema.Schema, location: str) -> tuple[object, str]:
    """The part of ``schema`` at a checker location, and the dotted path of its field.

    A location is a path such as ``/fields/2/type/items``: ``fields/i`` steps into the i-th
    field of a record, ``type`` into a field's type, ``items`` and ``values`` into an array or
    map. A trailing ``symbols``, ``name`` or ``size`` (or a writer's union branch number) names
    a property of the part reached so far.
    """
    node: object = schema
    names: list[str] = []
    segments = [segment for segment in location.split("/") if segment]
    index = 0
    while index < len(segments):
        segment = segments[index]
        following = segments[index + 1] if index + 1 < len(segments) else ""
        if (
            segment == "fields"
            and isinstance(node, avro.schema.RecordSchema)
            and following.isdigit()
            and int(following) < len(node.fields)
        ):
            field = node.fields[int(following)]
            names.append(field.name)
            node = field
            index += 2
            continue
        if segment == "type" and isinstance(node, avro.schema.Field):
            node = node.type
        elif segment == "items" and isinstance(node, avro.schema.ArraySchema):
            node = node.items
        elif segment == "values" and isinstance(node, avro.schema.MapSchema):
            node = node.values
        else:
            break
        index += 1
    return node, ".".join(names)


def _one_line(text: str) -> str:
    return " ".join(text.split())
