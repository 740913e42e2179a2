"""Builders of indicator inputs for the tests: a few real ports, the bundled mechanisms."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hub.domain.indicators.mechanisms import BUNDLED_MECHANISMS_FILE, load_mechanisms
from hub.domain.indicators.model import (
    CallInfo,
    CertificateOutcome,
    Indicator,
    Mechanism,
    Network,
    PortInfo,
    TradeFlow,
)
from hub.domain.kpis.model import UNITS, KpiName, KpiValue

T0 = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
"""A Tuesday in March 2026 (a month of 31 days)."""

PORTS = [
    PortInfo("PECLL", "PE"),
    PortInfo("PEPAI", "PE"),
    PortInfo("CLVAP", "CL"),
    PortInfo("COCTG", "CO"),
    PortInfo("ECGYE", "EC"),
]
MECHANISMS: dict[str, Mechanism] = load_mechanisms(BUNDLED_MECHANISMS_FILE)
NETWORK = Network(PORTS, MECHANISMS)


_KINDS = {
    KpiName.DWELL_DAYS: "container_visit",
    KpiName.TRUCK_TURNAROUND_MIN: "truck_visit",
    KpiName.RELEASE_TIME_H: "declaration",
    KpiName.PHYSICAL_INSPECTION_FLAG: "declaration",
    KpiName.THROUGHPUT_TEU: "move",
    KpiName.THROUGHPUT_T: "move",
}


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def kpi(
    name: KpiName,
    value: float | None,
    anchor: datetime | None = T0,
    *,
    port: str = "PECLL",
    entity: str | None = None,
    flag: str | None = None,
) -> KpiValue:
    """A KPI value; each one its own entity unless ``entity`` says otherwise."""
    kind = _KINDS.get(name, "port_call")
    entity_id = entity if entity is not None else f"{port}/{name}/{value}/{anchor}"
    return KpiValue(kind, entity_id, port, name.value, value, UNITS[name].value, anchor, flag)


def call_kpis(
    port: str, call: str, port_hours: float, moves: float, anchor: datetime = T0
) -> list[KpiValue]:
    """The port hours and call size of one departed call."""
    entity = f"{port}/{call}"
    return [
        kpi(KpiName.PORT_HOURS_H, port_hours, anchor, port=port, entity=entity),
        kpi(KpiName.CALL_SIZE_MOVES, moves, anchor, port=port, entity=entity),
    ]


def flow(
    origin: str | None,
    destination: str | None,
    value: float | None,
    teu: float = 1.0,
    *,
    port: str = "PECLL",
    move: str = "LOAD",
    trade: str | None = "EXPORT",
    when: datetime = T0,
    hs_code: str | None = None,
) -> TradeFlow:
    return TradeFlow(
        port=port,
        occurred_at=when,
        move=move,
        trade=trade,
        origin_country=origin,
        destination_country=destination,
        value_usd=None if value is None else Decimal(str(value)),
        teu=teu,
        hs_code=hs_code,
    )


def call(
    call_id: str,
    *,
    port: str = "PECLL",
    when: datetime = T0,
    service: str | None = None,
    previous: str | None = None,
    following: str | None = None,
    teu: int | None = None,
) -> CallInfo:
    return CallInfo(port, call_id, when, service, previous, following, teu)


def certificate(
    certificate_id: str,
    outcome: str,
    *,
    country: str = "PE",
    failed: tuple[str, ...] = (),
    verdict_after_h: float | None = None,
    when: datetime = T0,
) -> CertificateOutcome:
    final = None if verdict_after_h is None else when + timedelta(hours=verdict_after_h)
    return CertificateOutcome(certificate_id, country, when, outcome, failed, final)


def pick(rows: list[Indicator], indicator: str, level: str, entity: str) -> list[Indicator]:
    """The rows of one indicator of one entity (every period)."""
    return [r for r in rows if r.indicator == indicator and r.level == level and r.entity == entity]


def one(rows: list[Indicator], indicator: str, level: str, entity: str) -> Indicator:
    """The single row of one indicator of one entity."""
    found = pick(rows, indicator, level, entity)
    assert len(found) == 1, found
    return found[0]
