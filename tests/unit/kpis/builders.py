"""Builders of valid events for the KPI tests: times in hours after :data:`T0`, at :data:`PORT`."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from hub.domain.kpis.model import KpiValue
from schemas.models import (
    CargoEvent,
    Channel,
    Classifier,
    CustomsEvent,
    CustomsKind,
    Facility,
    GoodsLine,
    Move,
    Operation,
    Regime,
    Trade,
    VesselEvent,
)
from tests.samples import container

T0 = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
PORT = "PECLL"
CALL = "CALL-1"
BOX = container("MSCU", "123456")
BOX2 = container("CSQU", "305438")
BOX3 = container("TGHU", "000001")
GOODS = GoodsLine(hs_code="0901.11.00", quantity=Decimal(100), unit="KGM", value_usd=Decimal(500))


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def _envelope(hours: float, changes: dict[str, Any]) -> dict[str, Any]:
    occurred = at(hours)
    return {
        "event_id": uuid.uuid4(),
        "occurred_at": occurred,
        "published_at": occurred + timedelta(minutes=1),
        "port": PORT,
    } | changes


def vessel(
    operation: Operation,
    facility: Facility,
    hours: float,
    *,
    berth: str | None = None,
    classifier: Classifier = Classifier.ACT,
    call: str = CALL,
    **changes: Any,
) -> VesselEvent:
    if facility is Facility.BRTH and berth is None:
        berth = "B1"
    return VesselEvent(
        **_envelope(hours, changes),
        port_call_id=call,
        imo="9074729",
        classifier=classifier,
        operation=operation,
        facility=facility,
        berth_id=berth,
    )


def call_events(
    steps: Sequence[tuple[Operation, Facility, float]], **changes: Any
) -> list[VesselEvent]:
    return [vessel(operation, facility, hours, **changes) for operation, facility, hours in steps]


def cargo(
    move: Move,
    hours: float,
    *,
    box: str = BOX,
    call: str | None = CALL,
    crane: str | None = "STS-01",
    truck: str | None = "TV-1",
    size: str = "22G1",
    kg: int = 20_000,
    trade: Trade | None = None,
    **changes: Any,
) -> CargoEvent:
    on_vessel = move in (Move.DISC, Move.LOAD, Move.RSTW)
    at_gate = move in (Move.GTIN, Move.GTOT)
    return CargoEvent(
        **_envelope(hours, changes),
        container=box,
        iso_size_type=size,
        full=True,
        gross_kg=kg,
        move=move,
        port_call_id=call if on_vessel else None,
        crane_id=crane if on_vessel else None,
        truck_visit_id=truck if at_gate else None,
        trade=trade,
    )


def customs(
    kind: CustomsKind,
    hours: float,
    *,
    declaration: str = "DEC-1",
    channel: Channel | None = None,
    regime: Regime | None = None,
    boxes: tuple[str, ...] = (),
    call: str | None = None,
    **changes: Any,
) -> CustomsEvent:
    if kind is CustomsKind.LODGED:  # what validation asks of a lodgement
        regime = regime or Regime.IMPORT
        changes.setdefault("goods", (GOODS,))
    return CustomsEvent(
        **_envelope(hours, changes),
        declaration_id=declaration,
        kind=kind,
        channel=channel,
        regime=regime,
        containers=boxes,
        port_call_id=call,
    )


def by_kpi(values: Sequence[KpiValue]) -> dict[str, KpiValue]:
    """The values by KPI name (of one entity)."""
    named = {value.kpi: value for value in values}
    assert len(named) == len(values), "a KPI appears twice"
    return named


def retraction(event: Any, **changes: Any) -> Any:
    """A correction of ``event``: a new event id, ``retracts_event_id`` naming it."""
    return event.model_copy(
        update={"event_id": uuid.uuid4(), "retracts_event_id": event.event_id} | changes
    )
