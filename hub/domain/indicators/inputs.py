"""The indicators' inputs from the hub's events: trade flows, port calls, import declarations.

One conversion, used by the indicator stage (on the stored events of a period) and by the batch
reference in the tests (on every event), so that both feed :func:`all_indicators` the same.
Duplicates count once and retractions apply first (:func:`hub.domain.kpis.events.effective_events`).
"""

from __future__ import annotations

from collections.abc import Iterable

from hub.domain.indicators.model import CallInfo, DeclarationInfo, TradeFlow
from hub.domain.kpis.containers import teu
from hub.domain.kpis.events import effective_events, event_order
from schemas.models import (
    CargoEvent,
    CustomsEvent,
    CustomsKind,
    Envelope,
    Move,
    Regime,
    VesselEvent,
)

__all__ = ["call_infos", "declaration_infos", "trade_flows"]

_TRADE_MOVES = frozenset({Move.DISC, Move.LOAD})


def trade_flows(events: Iterable[Envelope]) -> list[TradeFlow]:
    """One flow per effective DISC or LOAD move, with its cargo's trade data."""
    return [
        TradeFlow(
            port=event.port,
            occurred_at=event.occurred_at,
            move=event.move.value,
            trade=event.trade.value if event.trade else None,
            origin_country=event.origin_country,
            destination_country=event.destination_country,
            value_usd=event.declared_value_usd,
            teu=teu(event.iso_size_type),
        )
        for event in effective_events(e for e in events if isinstance(e, CargoEvent))
        if event.move in _TRADE_MOVES
    ]


def call_infos(events: Iterable[Envelope]) -> list[CallInfo]:
    """One entry per port call: placed at its first vessel event (by event time), with the
    particulars (service, previous and next port, TEU capacity) of the first event giving each."""
    calls: dict[tuple[str, str], list[VesselEvent]] = {}
    for event in effective_events(e for e in events if isinstance(e, VesselEvent)):
        calls.setdefault((event.port, event.port_call_id), []).append(event)
    infos = []
    for (port, call_id), call_events in sorted(calls.items()):
        ordered = sorted(call_events, key=event_order)
        infos.append(
            CallInfo(
                port=port,
                port_call_id=call_id,
                arrived_at=ordered[0].occurred_at,
                service=next((e.service for e in ordered if e.service is not None), None),
                previous_port=next((e.previous_port for e in ordered if e.previous_port), None),
                next_port=next((e.next_port for e in ordered if e.next_port), None),
                teu_capacity=next(
                    (e.teu_capacity for e in ordered if e.teu_capacity is not None), None
                ),
            )
        )
    return infos


def declaration_infos(events: Iterable[Envelope]) -> list[DeclarationInfo]:
    """One entry per import declaration lodged: the latest LODGED event of each (port,
    declaration_id) in event order, placed at its first lodgement."""
    lodged: dict[tuple[str, str], list[CustomsEvent]] = {}
    for event in effective_events(e for e in events if isinstance(e, CustomsEvent)):
        if event.kind is CustomsKind.LODGED and event.regime is Regime.IMPORT:
            lodged.setdefault((event.port, event.declaration_id), []).append(event)
    return [
        DeclarationInfo(
            port=port,
            declaration_id=declaration_id,
            lodged_at=versions[0].occurred_at,
            agreement=versions[-1].agreement,
            invokes_certificate=versions[-1].certificate_id is not None,
        )
        for (port, declaration_id), versions in sorted(lodged.items())
    ]
