"""Avro in the Confluent wire format: magic byte 0, 4-byte big-endian schema id, Avro binary.

The writer's schema is fetched once per id from a schema registry (any Confluent-compatible one,
or the hub's embedded registry read straight from PostgreSQL) and cached; records are decoded
into the hub's current reader schema for their domain, so older writers stay readable.
"""

from __future__ import annotations

import io
import json
import struct
from collections.abc import Mapping
from typing import Any, Protocol

import fastavro
from fastavro.read import SchemaResolutionError

MAGIC_BYTE = 0
_HEADER = struct.Struct(">bI")


class WireFormatError(ValueError):
    """The bytes are not a Confluent-framed Avro record."""


class UnknownSchemaError(LookupError):
    """The record names a schema id the registry does not know."""


class PayloadError(ValueError):
    """The Avro payload cannot be read with the schema its header names."""


class SchemaMismatchError(ValueError):
    """The record's (writer) schema cannot be resolved into the reader's, e.g. another domain's."""


class SchemaSource(Protocol):
    """What the codec needs of a schema registry."""

    async def schema_by_id(self, schema_id: int) -> str | None: ...

    async def register(self, subject: str, schema_text: str) -> int: ...


def frame(schema_id: int, payload: bytes) -> bytes:
    return _HEADER.pack(MAGIC_BYTE, schema_id) + payload


def unframe(raw: bytes) -> tuple[int, memoryview]:
    """Split a record into its schema id and Avro payload."""
    if len(raw) < _HEADER.size:
        raise WireFormatError(f"{len(raw)} bytes: too short for the 5-byte Confluent header")
    magic, schema_id = _HEADER.unpack_from(raw)
    if magic != MAGIC_BYTE:
        raise WireFormatError(f"magic byte {magic}, expected {MAGIC_BYTE} (not Confluent Avro)")
    return schema_id, memoryview(raw)[_HEADER.size :]


def parse(schema_text: str) -> Any:
    return fastavro.parse_schema(json.loads(schema_text))


def write(parsed_schema: Any, datum: Mapping[str, Any]) -> bytes:
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, parsed_schema, datum)
    return buffer.getvalue()


class AvroCodec:
    """Encodes with registered schema ids and decodes any registered writer schema.

    One instance per process: its caches make the per-record cost a dict lookup.
    """

    def __init__(self, registry: SchemaSource) -> None:
        self._registry = registry
        self._writers: dict[int, Any] = {}
        self._subject_ids: dict[tuple[str, str], int] = {}
        # (schema id, id(reader)) → (reader, whether the writer differs): the reader is kept so
        # that its id cannot be reused by another object.
        self._resolves: dict[tuple[int, int], tuple[Any, bool]] = {}

    async def register(self, subject: str, schema_text: str) -> int:
        key = (subject, schema_text)
        if key not in self._subject_ids:
            schema_id = await self._registry.register(subject, schema_text)
            self._subject_ids[key] = schema_id
            self._writers.setdefault(schema_id, parse(schema_text))
        return self._subject_ids[key]

    async def encode(self, subject: str, schema_text: str, datum: Mapping[str, Any]) -> bytes:
        schema_id = await self.register(subject, schema_text)
        return frame(schema_id, write(self._writers[schema_id], datum))

    async def decode(self, raw: bytes, reader_schema: Any | None = None) -> dict[str, Any]:
        """Decode one record; with ``reader_schema``, resolve it into that schema.

        Raises:
            WireFormatError: not Confluent-framed.
            UnknownSchemaError: the schema id is not in the registry.
            SchemaMismatchError: the writer's schema does not resolve into ``reader_schema``.
            PayloadError: the payload cannot be read with its schema.
            Anything the registry raises while fetching a schema (the record is not at fault).
        """
        schema_id, payload = unframe(raw)
        writer = await self._writer(schema_id)
        if reader_schema is not None and not self._needs_resolution(schema_id, reader_schema):
            reader_schema = None  # resolving a schema into itself costs as much as reading
        buffer = io.BytesIO(payload)
        try:
            record = fastavro.schemaless_reader(buffer, writer, reader_schema)
        except SchemaResolutionError as error:
            raise SchemaMismatchError(
                f"schema {schema_id} ({_name(writer)}) does not resolve into {_name(reader_schema)}"
            ) from error
        except Exception as error:  # fastavro raises many kinds on a corrupt payload
            raise PayloadError(
                f"payload does not match schema {schema_id}: {type(error).__name__}: {error}"[:300]
            ) from error
        if not isinstance(record, dict):
            raise PayloadError(f"schema {schema_id} does not describe a record")
        if (extra := len(payload) - buffer.tell()) > 0:
            # Bytes the schema does not account for: a framing error or smuggled data.
            raise PayloadError(f"{extra} bytes after the record of schema {schema_id}")
        return record

    def _needs_resolution(self, schema_id: int, reader_schema: Any) -> bool:
        key = (schema_id, id(reader_schema))
        known = self._resolves.get(key)
        if known is None:
            known = self._resolves[key] = (reader_schema, self._writers[schema_id] != reader_schema)
        return known[1]

    async def _writer(self, schema_id: int) -> Any:
        writer = self._writers.get(schema_id)
        if writer is None:
            text = await self._registry.schema_by_id(schema_id)
            if text is None:
                raise UnknownSchemaError(f"schema id {schema_id} is not in the registry")
            writer = self._writers[schema_id] = parse(text)
        return writer


def _name(schema: Any) -> str:
    return str(schema.get("name", "?")) if isinstance(schema, dict) else str(schema)
