"""Typed models of the four event domains, mirroring the Avro records in ``schemas/avro``.

The same field names, order and optionality as the ``.avsc`` files (a unit test guards the
drift), for the HTTP API edge and the Python publisher client. The models check *forms* only:
types, patterns, enums, ranges that the Avro types need (decimal scale, int width). Check
digits, reference data and which fields a kind of event must carry are checked once, in
``schemas.validation``.

Two normalisations make an event survive the Avro wire unchanged:

- times are converted to UTC and truncated to milliseconds (``timestamp-millis``);
- ``document`` keeps raw bytes as they are; a ``str`` (how JSON carries bytes) is base64.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from enum import Enum, StrEnum
from typing import Annotated, Any, Final, Literal, Self
from uuid import UUID

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StrictBool,
    WithJsonSchema,
    model_validator,
)

__all__ = [
    "AGREEMENT_PATTERN",
    "CARGO_HS_PATTERN",
    "CONTAINER_PATTERN",
    "COUNTRY_PATTERN",
    "GOODS_HS_PATTERN",
    "IMO_PATTERN",
    "MODELS",
    "UNLOCODE_PATTERN",
    "CargoEvent",
    "CertificateSubmission",
    "Channel",
    "Classifier",
    "CustomsEvent",
    "CustomsKind",
    "Envelope",
    "Facility",
    "GoodsLine",
    "Move",
    "Operation",
    "Regime",
    "Trade",
    "VesselEvent",
    "from_avro_datum",
    "to_avro_datum",
]

# Digits are spelled [0-9]: in pydantic's (Rust) and Python's regexes \d also matches other
# scripts' digits, which would pass the form check and then fail the check-digit library.
UNLOCODE_PATTERN: Final = r"^[A-Z]{2}[A-Z2-9]{3}$"
COUNTRY_PATTERN: Final = r"^[A-Z]{2}$"
IMO_PATTERN: Final = r"^[0-9]{7}$"
CONTAINER_PATTERN: Final = r"^[A-Z]{3}[UJZR][0-9]{7}$"
CARGO_HS_PATTERN: Final = r"^[0-9]{6,10}$"
GOODS_HS_PATTERN: Final = r"^[0-9]{4}(\.?[0-9]{2}){1,3}$|^[0-9]{6,10}$"
AGREEMENT_PATTERN: Final = r"^[A-Z0-9]{3,4}$"

_AVRO_INT_MAX: Final = 2**31 - 1
_ISO_DATE_TIME: Final = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ]")
# A signed certificate of origin is tens of kilobytes; the cap keeps any event under Kafka's
# 1 MiB record limit with room to spare.
MAX_DOCUMENT_BYTES: Final = 512 * 1024
MAX_GOODS_LINES: Final = 500
MAX_CONTAINERS: Final = 1000


# --- enums (symbols in the order of the Avro enums) -----------------------------------------


class Classifier(StrEnum):
    """How certain a vessel timestamp is."""

    PLN = "PLN"
    """Planned."""
    EST = "EST"
    """Estimated."""
    ACT = "ACT"
    """Actual: the only classifier KPIs use."""
    REQ = "REQ"
    """Requested: accepted and stored, never used for KPIs."""


class Operation(StrEnum):
    """What happened at a facility."""

    ARRI = "ARRI"
    """Arrival (at BRTH, the actual one is "all fast")."""
    DEPA = "DEPA"
    """Departure."""
    STRT = "STRT"
    """Start (at BRTH: first container lift)."""
    CMPL = "CMPL"
    """Complete (at BRTH: last container lift)."""


class Facility(StrEnum):
    """Where a vessel timestamp happened."""

    PORT = "PORT"
    """Port limits (end of sea passage)."""
    ANCH = "ANCH"
    """Anchorage."""
    PBPL = "PBPL"
    """Pilot boarding place."""
    BRTH = "BRTH"
    """Berth (with ``berth_id``)."""


class Move(StrEnum):
    """What a container did."""

    DISC = "DISC"
    """Discharged from a vessel."""
    LOAD = "LOAD"
    """Loaded onto a vessel."""
    GTIN = "GTIN"
    """Gate in (by truck)."""
    GTOT = "GTOT"
    """Gate out (by truck)."""
    YARD = "YARD"
    """Moved within the yard."""
    RSTW = "RSTW"
    """Restowed on the vessel."""


class Trade(StrEnum):
    """Trade of a container seen from the port; decides how its dwell is measured."""

    IMPORT = "IMPORT"
    EXPORT = "EXPORT"
    TRANSSHIPMENT = "TRANSSHIPMENT"


class CustomsKind(StrEnum):
    """Step in the life of a customs declaration."""

    LODGED = "LODGED"
    CHANNEL = "CHANNEL"
    """A risk channel was assigned (see ``channel``)."""
    INSPECTION_STARTED = "INSPECTION_STARTED"
    INSPECTION_FINISHED = "INSPECTION_FINISHED"
    RELEASED = "RELEASED"
    HELD = "HELD"


class Channel(StrEnum):
    """Risk channel of a declaration."""

    GREEN = "GREEN"
    """No inspection."""
    YELLOW = "YELLOW"
    """Documentary inspection."""
    RED = "RED"
    """Physical inspection."""


class Regime(StrEnum):
    """Customs regime of a declaration."""

    IMPORT = "IMPORT"
    EXPORT = "EXPORT"
    TRANSIT = "TRANSIT"


# --- field types ------------------------------------------------------------------------------


def _utc_millis(value: datetime) -> datetime:
    """The same instant in UTC, truncated to the millisecond as ``timestamp-millis`` stores it."""
    try:
        utc = value.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:30+01:00 is in year 0 in UTC
        raise ValueError("the time falls outside years 1-9999 in UTC") from None
    return utc.replace(microsecond=value.microsecond // 1000 * 1000)


def _iso_time(value: object) -> object:
    """Refuse what pydantic's lax mode would take for a time: epoch numbers, numeric strings."""
    if isinstance(value, datetime) or (isinstance(value, str) and _ISO_DATE_TIME.match(value)):
        return value
    raise ValueError("a time is an ISO 8601 date-time with its UTC offset (2026-03-01T08:30:00Z)")


def _storable_text(model: BaseModel) -> None:
    """Refuse text PostgreSQL cannot store or UTF-8 cannot carry: NUL, lone surrogates."""
    for name, value in model.__dict__.items():
        if isinstance(value, str) and not (value.isascii() and "\x00" not in value):
            if "\x00" in value:
                raise ValueError(f"{name} contains a NUL character (U+0000)")
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise ValueError(
                    f"{name} contains a lone surrogate (not a Unicode character)"
                ) from None


def _raw_or_base64(value: object) -> object:
    """Keep bytes as they are; decode a ``str``, the base64 form bytes take in JSON."""
    if isinstance(value, str):
        try:
            return base64.b64decode(value, validate=True)
        except ValueError as error:  # binascii.Error, or a str that is not ASCII
            raise ValueError(f"not base64: {error}") from None
    return value


def _to_base64(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


UtcMillis = Annotated[AwareDatetime, BeforeValidator(_iso_time), AfterValidator(_utc_millis)]
UnLocode = Annotated[str, Field(pattern=UNLOCODE_PATTERN)]
CountryCode = Annotated[str, Field(pattern=COUNTRY_PATTERN)]
ContainerNumber = Annotated[str, Field(pattern=CONTAINER_PATTERN)]
AgreementCode = Annotated[str, Field(pattern=AGREEMENT_PATTERN)]
Identifier = Annotated[str, Field(min_length=1, max_length=64)]
UsdAmount = Annotated[Decimal, Field(ge=0, max_digits=18, decimal_places=2)]
# Not pydantic's Base64Bytes: that one base64-decodes raw bytes too, silently turning an Avro
# datum's document (or a Python caller's) into garbage.
Base64Document = Annotated[
    bytes,
    BeforeValidator(_raw_or_base64),
    PlainSerializer(_to_base64, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "contentEncoding": "base64"}),
    Field(max_length=MAX_DOCUMENT_BYTES),
]


# --- records ----------------------------------------------------------------------------------


class Envelope(BaseModel):
    """Fields every event carries, first and in this order (SPEC §1.1)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_id: UUID
    event_type: str = Field(min_length=1, max_length=64)
    occurred_at: UtcMillis
    published_at: UtcMillis
    port: UnLocode
    publisher: str | None = None
    schema_version: int = Field(default=1, ge=1, le=_AVRO_INT_MAX)
    retracts_event_id: UUID | None = None
    source: str | None = Field(default=None, max_length=16)

    @model_validator(mode="after")
    def _text_is_storable(self) -> Self:
        _storable_text(self)
        return self


class VesselEvent(Envelope):
    """One DCSA-style port-call timestamp (SPEC §1.2)."""

    event_type: Literal["vessel.timestamp"] = "vessel.timestamp"
    port_call_id: Identifier
    imo: str = Field(pattern=IMO_PATTERN)
    call_sign: str | None = Field(default=None, max_length=16)
    mmsi: str | None = Field(default=None, pattern=r"^[0-9]{9}$")
    classifier: Classifier
    operation: Operation
    facility: Facility
    berth_id: str | None = Field(default=None, max_length=32)
    vessel_name: str | None = Field(default=None, max_length=128)
    teu_capacity: int | None = Field(default=None, ge=0, le=40_000)
    loa_m: float | None = Field(default=None, gt=0, le=500)
    service: str | None = Field(default=None, max_length=32)
    previous_port: UnLocode | None = None
    next_port: UnLocode | None = None


class CargoEvent(Envelope):
    """One move of a container during its terminal visit (SPEC §1.3)."""

    event_type: Literal["cargo.move"] = "cargo.move"
    container: ContainerNumber
    iso_size_type: str = Field(pattern=r"^[0-9A-Z]{4}$")
    full: StrictBool
    gross_kg: int = Field(ge=0, le=_AVRO_INT_MAX)
    move: Move
    port_call_id: Identifier | None = None
    crane_id: Identifier | None = None
    truck_visit_id: Identifier | None = None
    hs_code: str | None = Field(default=None, pattern=CARGO_HS_PATTERN)
    origin_country: CountryCode | None = None
    destination_country: CountryCode | None = None
    declared_value_usd: UsdAmount | None = None
    trade: Trade | None = None


class GoodsLine(BaseModel):
    """One goods line of a customs declaration."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    hs_code: str = Field(pattern=GOODS_HS_PATTERN)
    description: str | None = Field(default=None, max_length=512)
    quantity: Decimal = Field(ge=0, max_digits=18, decimal_places=3)
    unit: str = Field(min_length=1, max_length=16)
    value_usd: UsdAmount
    origin_country: CountryCode | None = None

    @model_validator(mode="after")
    def _text_is_storable(self) -> Self:
        _storable_text(self)
        return self


class CustomsEvent(Envelope):
    """One step of a customs declaration (SPEC §1.4)."""

    event_type: Literal["customs.status"] = "customs.status"
    declaration_id: Identifier
    kind: CustomsKind
    channel: Channel | None = None
    regime: Regime | None = None
    importer_id: Identifier | None = None
    exporter_id: Identifier | None = None
    goods: tuple[GoodsLine, ...] = Field(default=(), max_length=MAX_GOODS_LINES)
    containers: tuple[ContainerNumber, ...] = Field(default=(), max_length=MAX_CONTAINERS)
    port_call_id: Identifier | None = None
    certificate_id: Identifier | None = None
    agreement: AgreementCode | None = None
    invoice_number: Identifier | None = None


class CertificateSubmission(Envelope):
    """A signed digital certificate of origin submitted for a verdict (SPEC §3)."""

    event_type: Literal["certificate.submission"] = "certificate.submission"
    certificate_id: Identifier
    agreement: AgreementCode
    exporting_country: CountryCode
    importing_country: CountryCode
    issuing_entity: str = Field(pattern=r"^[A-Za-z0-9]{3}$")
    document: Base64Document
    document_format: str = Field(default="ALADI-COD-XML", min_length=1, max_length=32)


MODELS: Final[dict[str, type[Envelope]]] = {
    "vessel": VesselEvent,
    "cargo": CargoEvent,
    "customs": CustomsEvent,
    "certificate": CertificateSubmission,
}
"""The model of each event domain (the keys are ``schemas.avro_schemas.DOMAINS``)."""


# --- Avro datums ------------------------------------------------------------------------------


def to_avro_datum(event: Envelope) -> dict[str, Any]:
    """The dict fastavro writes for ``event`` with its domain's schema.

    Every field is present, in schema order. Datetimes and Decimals stay as they are (fastavro
    applies the logical types), enums become their symbol, UUIDs their string, bytes stay bytes.
    """
    return _datum(event)


def from_avro_datum(domain: str, datum: Mapping[str, Any]) -> Envelope:
    """The event of ``domain`` that fastavro read as ``datum``.

    fastavro already gives datetimes and Decimals; a ``uuid`` may come as ``uuid.UUID`` or as a
    string, and both are accepted.

    Raises:
        ValueError: ``domain`` is unknown.
        pydantic.ValidationError: the datum breaks a form the Avro schema cannot express.
    """
    model = MODELS.get(domain)
    if model is None:
        raise ValueError(f"unknown event domain {domain!r}; known: {', '.join(MODELS)}")
    return model.model_validate(dict(datum))


def _datum(model: BaseModel) -> dict[str, Any]:
    return {name: _avro_value(getattr(model, name)) for name in type(model).model_fields}


def _avro_value(value: object) -> Any:
    if isinstance(value, Enum):  # before str: a StrEnum is a str
        return value.value
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, BaseModel):
        return _datum(value)
    if isinstance(value, list | tuple):
        return [_avro_value(item) for item in value]
    return value
