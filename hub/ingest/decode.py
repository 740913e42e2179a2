"""Intake of raw ingest records: decode, validate, decide. The pure part, without faust."""

from __future__ import annotations

import logging
from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from schemas.codec import (
    AvroCodec,
    PayloadError,
    SchemaMismatchError,
    UnknownSchemaError,
    WireFormatError,
)
from schemas.models import Envelope
from schemas.rejections import Rejected, RejectReason
from schemas.validation import validate

log = logging.getLogger(__name__)


async def take_in(
    raw: bytes | None,
    domain: str,
    codec: AvroCodec,
    reader_schema: Any,
    known_ports: Collection[str],
    now: datetime,
    late_grace: timedelta,
) -> Envelope | Rejected:
    """Decode one record of ``ingest.<domain>`` and check it.

    Returns the event, or why it is refused. Never raises on bad input; a registry that cannot
    be reached raises (the record is not at fault and must be retried, not dead-lettered).
    """
    datum = await decode_record(raw, codec, reader_schema)
    if isinstance(datum, Rejected):
        return datum
    try:
        return validate(domain, datum, known_ports, now, late_grace)
    except Exception as error:  # a check that trips on odd data must not stop the worker
        log.exception("validation of a %s record failed unexpectedly", domain)
        return Rejected(
            RejectReason.SCHEMA_INVALID, f"could not be checked: {type(error).__name__}: {error}"
        )


async def decode_record(
    raw: bytes | None, codec: AvroCodec, reader_schema: Any
) -> dict[str, Any] | Rejected:
    """The Avro datum of one Confluent-framed record, or why it cannot be read. A registry that
    cannot be reached raises."""
    if not raw:
        return Rejected(RejectReason.UNDECODABLE, "empty record (no value)")
    try:
        return await codec.decode(raw, reader_schema)
    except WireFormatError as error:
        return Rejected(RejectReason.UNDECODABLE, str(error))
    except UnknownSchemaError as error:
        return Rejected(RejectReason.UNKNOWN_SCHEMA, str(error))
    except SchemaMismatchError as error:
        return Rejected(RejectReason.SCHEMA_MISMATCH, str(error))
    except PayloadError as error:
        return Rejected(RejectReason.UNDECODABLE, str(error))
    except (asyncpg.DataError, ValueError, OverflowError) as error:
        # The registry tripped on this record's schema id (not on being away): the record's fault.
        log.warning("schema lookup failed for a record: %s: %s", type(error).__name__, error)
        return Rejected(
            RejectReason.UNKNOWN_SCHEMA,
            f"its schema id cannot be looked up ({type(error).__name__})",
        )
