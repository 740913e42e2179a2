"""Liner connectivity per port and period, from the particulars of its calls (SPEC §4).

SPEC §4: "connectivity — per port and month: vessel calls per week, distinct services, distinct
previous/next ports, largest ship (TEU capacity) — the components of UNCTAD's liner shipping
connectivity index that the hub's own data can give".

The particulars are those of the first vessel event of each call (SPEC §1.2): ``service``,
``previous_port``, ``next_port``, ``teu_capacity``. A call falls in the period of its
``arrived_at``. For every entity with at least one call in the period:

- ``vessel_calls_per_week`` = calls ÷ (days in the period ÷ 7); ``count`` the calls;
- ``distinct_services_count`` = distinct service codes; ``count`` the calls that name one;
- ``connected_ports_count`` = distinct ports among the calls' previous and next ports, other
  than the entity's own hub ports; ``count`` the calls that name one; ``detail`` the distinct
  previous and next ports apart (``{"next": 3, "previous": 2}``);
- ``largest_ship_teu`` = the largest ``teu_capacity``; ``count`` the calls that give one; None,
  with the reason in ``detail``, when none does.

**Choice:** SPEC asks for ports and months; days are given too (the same definitions, a day
being 1/7 of a week), and the higher levels pool their ports' calls: the calls per week of a
country are its ports' together, its services and connections the union of its ports' (a
service calling at two ports of a country counts once), its largest ship the largest of any of
its ports. A connection counts only when it leaves the entity: a call at Paita coming from
Callao is a connection of the port of Paita, not of Peru, and the region counts only the ports
outside the hub. UNCTAD's index also counts carriers and ship deployment, which the hub's events
do not carry.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from hub.domain.indicators.model import (
    INDICATOR_UNITS,
    CallInfo,
    EntityRef,
    Indicator,
    IndicatorName,
    Network,
    Period,
    days_in,
    detail_json,
    period_start,
)

__all__ = ["connectivity_indicators"]


def connectivity_indicators(
    calls: Iterable[CallInfo], network: Network, period: Period
) -> list[Indicator]:
    """The four connectivity indicators of every entity with calls, per period. Unsorted.

    Calls at a port not in the hub count nowhere.

    Raises:
        ValueError: a (port, port_call_id) appears twice (the input must be one row per call).
    """
    seen: set[tuple[str, str]] = set()
    groups: dict[tuple[EntityRef, datetime], list[CallInfo]] = {}
    for call in calls:
        key = (call.port, call.port_call_id)
        if key in seen:
            raise ValueError(f"the call {call.port}/{call.port_call_id} appears twice")
        seen.add(key)
        start = period_start(call.arrived_at, period)
        for ref in network.of_port(call.port):
            groups.setdefault((ref, start), []).append(call)
    own_ports: dict[EntityRef, frozenset[str]] = {}
    for unlocode in network.ports:
        for ref in network.of_port(unlocode):
            own_ports[ref] = own_ports.get(ref, frozenset()) | {unlocode}
    rows: list[Indicator] = []
    for ((level, entity), start), entity_calls in groups.items():
        rows += _rows(entity_calls, own_ports[(level, entity)], (level, entity), period, start)
    return rows


def _rows(
    calls: Sequence[CallInfo],
    own_ports: frozenset[str],
    ref: EntityRef,
    period: Period,
    start: datetime,
) -> list[Indicator]:
    services = {call.service for call in calls if call.service}
    previous = {call.previous_port for call in calls if call.previous_port} - own_ports
    following = {call.next_port for call in calls if call.next_port} - own_ports
    capacities = [call.teu_capacity for call in calls if call.teu_capacity is not None]
    values: list[tuple[IndicatorName, int, float | None, dict[str, object] | None]] = [
        (
            IndicatorName.VESSEL_CALLS_PER_WEEK,
            len(calls),
            len(calls) / (days_in(start, period) / 7),
            None,
        ),
        (
            IndicatorName.DISTINCT_SERVICES_COUNT,
            sum(1 for c in calls if c.service),
            float(len(services)),
            None,
        ),
        (
            IndicatorName.CONNECTED_PORTS_COUNT,
            sum(1 for c in calls if c.previous_port or c.next_port),
            float(len(previous | following)),
            {"next": len(following), "previous": len(previous)},
        ),
        (
            IndicatorName.LARGEST_SHIP_TEU,
            len(capacities),
            float(max(capacities)) if capacities else None,
            None if capacities else {"reason": "no call gives the ship's TEU capacity"},
        ),
    ]
    level, entity = ref
    return [
        Indicator(
            level=level,
            entity=entity,
            period=period,
            period_start=start,
            indicator=name.value,
            unit=INDICATOR_UNITS[name].value,
            count=count,
            value=value,
            detail=None if detail is None else detail_json(detail),
        )
        for name, count, value, detail in values
    ]
