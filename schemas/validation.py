"""The checks every event passes before it counts, whichever way it came in (Kafka or HTTP).

Form checks (types, patterns, enums) are the pydantic models' (``schemas.models``); this module
adds what a form cannot say: check digits, reference data, plausible times, and the fields an
event of a given kind must carry. Pure functions: no faust, HTTP or database here.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from pydantic import ValidationError
from stdnum import imo as stdnum_imo
from stdnum import iso6346

from schemas.models import (
    MODELS,
    CargoEvent,
    CertificateSubmission,
    Classifier,
    CustomsEvent,
    CustomsKind,
    Envelope,
    Facility,
    Move,
    VesselEvent,
)
from schemas.rejections import Rejected, RejectReason

# Publishers' clocks drift; an "actual" event a few minutes in the future is a clock, not a lie.
MAX_CLOCK_SKEW = timedelta(minutes=10)
# Nothing the Network exchanges predates its digital systems; older times are typos (1970, 0001).
EARLIEST_EVENT_TIME = datetime(2000, 1, 1, tzinfo=UTC)
# Planned and estimated times may lie ahead, but not beyond a year of schedules.
PLANNING_HORIZON = timedelta(days=366)
# Terminals send corrections days late; a week keeps those while closing windows eventually.
DEFAULT_LATE_GRACE = timedelta(days=7)

_CARGO_ON_VESSEL = frozenset({Move.DISC, Move.LOAD, Move.RSTW})
_CARGO_AT_GATE = frozenset({Move.GTIN, Move.GTOT})
_FORWARD_LOOKING = frozenset({Classifier.PLN, Classifier.EST, Classifier.REQ})


def validate(
    domain: str,
    data: Mapping[str, Any],
    known_ports: Collection[str],
    now: datetime,
    late_grace: timedelta = DEFAULT_LATE_GRACE,
) -> Envelope | Rejected:
    """Build the event of ``domain`` from ``data`` (JSON or an Avro datum) and check it."""
    model = MODELS[domain]
    try:
        event = model.model_validate(data)
    except ValidationError as error:
        return schema_rejection(error)
    try:
        return check(event, known_ports, now, late_grace) or event
    except OverflowError:  # time arithmetic near year 1 or 9999
        return _implausible("a time too close to year 1 or 9999 to be checked")


def schema_rejection(error: ValidationError) -> Rejected:
    first = error.errors()[0]
    location = ".".join(str(part) for part in first["loc"]) or "event"
    if first["type"] == "json_invalid":
        return Rejected(RejectReason.UNDECODABLE, f"not JSON: {first['msg']}")
    return Rejected(RejectReason.SCHEMA_INVALID, f"{location}: {first['msg']}")


def check(
    event: Envelope,
    known_ports: Collection[str],
    now: datetime,
    late_grace: timedelta = DEFAULT_LATE_GRACE,
) -> Rejected | None:
    """The first semantic problem of ``event``, or None when it may count."""
    if event.port not in known_ports:
        return Rejected(RejectReason.UNKNOWN_PORT, f"port {event.port} is not a reference port")
    problem = _time_problem(event, now)
    if problem is None and event.occurred_at < now - late_grace:
        problem = Rejected(
            RejectReason.TOO_LATE,
            f"occurred_at {event.occurred_at.isoformat()} is older than the grace period "
            f"of {late_grace.total_seconds() / 3600:g} h",
        )
    if problem is None:
        if isinstance(event, VesselEvent):
            problem = _vessel_problem(event)
        elif isinstance(event, CargoEvent):
            problem = _cargo_problem(event)
        elif isinstance(event, CustomsEvent):
            problem = _customs_problem(event)
        elif isinstance(event, CertificateSubmission):
            problem = _certificate_problem(event, known_ports)
    return problem


def _time_problem(event: Envelope, now: datetime) -> Rejected | None:
    if event.occurred_at < EARLIEST_EVENT_TIME:
        return _implausible(f"occurred_at {event.occurred_at:%Y-%m-%d} is before 2000")
    if event.published_at > now + MAX_CLOCK_SKEW:
        return _implausible(f"published_at {event.published_at.isoformat()} is in the future")
    forward_looking = isinstance(event, VesselEvent) and event.classifier in _FORWARD_LOOKING
    if forward_looking:
        if event.occurred_at > now + PLANNING_HORIZON:
            return _implausible("a planned or estimated time more than a year ahead")
    elif event.occurred_at > event.published_at + MAX_CLOCK_SKEW:
        return _implausible(
            f"occurred_at {event.occurred_at.isoformat()} is after it was published"
        )
    return None


def _vessel_problem(event: VesselEvent) -> Rejected | None:
    if not _valid_imo(event.imo):
        return _bad_identifier(f"IMO number {event.imo} fails its check digit")
    if event.facility is Facility.BRTH and not event.berth_id:
        return _missing("berth_id", "a berth event")
    return None


def _cargo_problem(event: CargoEvent) -> Rejected | None:
    if not _valid_container(event.container):
        return _bad_identifier(f"container number {event.container} fails its check digit")
    if event.move in _CARGO_ON_VESSEL:
        for name in ("port_call_id", "crane_id"):
            if not getattr(event, name):
                return _missing(name, f"a {event.move.value} move")
    if event.move in _CARGO_AT_GATE and not event.truck_visit_id:
        return _missing("truck_visit_id", f"a {event.move.value} move")
    return None


def _customs_problem(event: CustomsEvent) -> Rejected | None:
    for container in event.containers:
        if not _valid_container(container):
            return _bad_identifier(f"container number {container} fails its check digit")
    if event.kind is CustomsKind.CHANNEL and event.channel is None:
        return _missing("channel", "a CHANNEL event")
    if event.kind is CustomsKind.LODGED:
        if event.regime is None:
            return _missing("regime", "a LODGED declaration")
        if not event.goods:
            return _missing("goods", "a LODGED declaration")
    if event.certificate_id and not event.agreement:
        return _missing("agreement", "a declaration that invokes a certificate of origin")
    return None


def _certificate_problem(
    event: CertificateSubmission, known_ports: Collection[str]
) -> Rejected | None:
    if not event.document:
        return _missing("document", "a certificate submission")
    if not any(port.startswith(event.importing_country) for port in known_ports):
        return Rejected(
            RejectReason.UNKNOWN_COUNTRY,
            f"importing_country {event.importing_country} has no port in this hub",
        )
    return None


def _implausible(detail: str) -> Rejected:
    return Rejected(RejectReason.IMPLAUSIBLE_TIME, detail)


def _bad_identifier(detail: str) -> Rejected:
    return Rejected(RejectReason.INVALID_IDENTIFIER, detail)


def _missing(field: str, what: str) -> Rejected:
    return Rejected(RejectReason.MISSING_FIELD, f"{field} is required for {what}")


# A box is seen about five times at a port and a vessel at every event of its call: remembering
# the answers saves most of the intake's identifier checks.
@lru_cache(maxsize=1 << 16)
def _valid_container(number: str) -> bool:
    return bool(iso6346.is_valid(number))


@lru_cache(maxsize=1 << 12)
def _valid_imo(number: str) -> bool:
    return bool(stdnum_imo.is_valid(number))
