"""The common envelope and the vessel (port-call) event, after SPEC §1.1 and §1.2.

First version of the contract: JSON on ``ingest.vessel``. The Avro schemas and the schema
registry replace the wire format, not these field names.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field
from stdnum import imo as stdnum_imo

UNLOCODE_PATTERN = r"^[A-Z]{2}[A-Z2-9]{3}$"


class Classifier(StrEnum):
    PLN = "PLN"
    EST = "EST"
    ACT = "ACT"
    REQ = "REQ"


class Operation(StrEnum):
    ARRI = "ARRI"
    DEPA = "DEPA"
    STRT = "STRT"
    CMPL = "CMPL"


class Facility(StrEnum):
    PORT = "PORT"
    ANCH = "ANCH"
    PBPL = "PBPL"
    BRTH = "BRTH"


def _valid_imo(value: str) -> str:
    if not stdnum_imo.is_valid(value):
        raise ValueError(f"IMO number {value!r} fails its check digit")
    return stdnum_imo.compact(value)


ImoNumber = Annotated[str, Field(pattern=r"^(IMO ?)?\d{7}$"), AfterValidator(_valid_imo)]


class Envelope(BaseModel):
    """Fields every event carries (SPEC §1.1)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_id: UUID
    event_type: str = Field(min_length=1, max_length=64)
    occurred_at: AwareDatetime
    published_at: AwareDatetime
    port: str = Field(pattern=UNLOCODE_PATTERN)
    publisher: str | None = None
    schema_version: int = Field(default=1, ge=1)
    retracts_event_id: UUID | None = None
    source: str | None = Field(default=None, max_length=16)


class VesselEvent(Envelope):
    """One DCSA-style port-call timestamp (SPEC §1.2)."""

    event_type: Literal["vessel"] = "vessel"
    port_call_id: str = Field(min_length=1, max_length=64)
    imo: ImoNumber
    classifier: Classifier
    operation: Operation
    facility: Facility
    berth_id: str | None = Field(default=None, max_length=32)
    call_sign: str | None = Field(default=None, max_length=16)
    mmsi: str | None = Field(default=None, pattern=r"^\d{9}$")
    vessel_name: str | None = Field(default=None, max_length=128)
    teu_capacity: int | None = Field(default=None, ge=0, le=40_000)
    loa_m: float | None = Field(default=None, gt=0, le=500)
    service: str | None = Field(default=None, max_length=32)
    previous_port: str | None = Field(default=None, pattern=UNLOCODE_PATTERN)
    next_port: str | None = Field(default=None, pattern=UNLOCODE_PATTERN)


def encode(event: BaseModel) -> bytes:
    return event.model_dump_json(exclude_none=True).encode()
