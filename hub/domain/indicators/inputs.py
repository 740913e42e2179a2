"""The indicators' inputs from the hub's events: trade flows, port calls, import declarations,
and the data-quality scorecard's (:mod:`~hub.domain.indicators.quality`).

One conversion, used by the indicator stage (on the stored events of a period) and by the batch
reference in the tests (on every event), so that both feed :func:`all_indicators` the same.
Duplicates count once and retractions apply first (:func:`hub.domain.kpis.events.effective_events`).
"""

from __future__ import annotations

from collections.abc import Iterable

from hub.domain.indicators.model import CallInfo, DeclarationInfo, TradeFlow
from hub.domain.indicators.quality import CallActuals, FeedEvent, LodgedDeclaration, MoveLinks
from hub.domain.kpis.containers import teu
from hub.domain.kpis.events import effective_events, event_order
from hub.domain.kpis.port_calls import AIS_SOURCE
from schemas.models import (
    CargoEvent,
    Classifier,
    CustomsEvent,
    CustomsKind,
    Envelope,
    Move,
    Regime,
    VesselEvent,
)

__all__ = [
    "call_actuals",
    "call_infos",
    "declaration_infos",
    "feed_events",
    "lodged_declarations",
    "move_links",
    "trade_flows",
]

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
            hs_code=event.hs_code,
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
    """One entry per import declaration lodged: the agreement and certificate of the latest
    LODGED event of each (port, declaration_id) in event order, placed at its first lodgement."""
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
            certificate_id=versions[-1].certificate_id,
        )
        for (port, declaration_id), versions in sorted(lodged.items())
    ]


# --- the data-quality scorecard ---------------------------------------------------------------
# The scorecard judges the feed as it was sent: every stored event counts for timeliness and the
# accepted count (no de-duplication beyond the event id, no retraction applied); the calls, moves
# and declarations are the effective ones, as for the other indicators.


def feed_events(events: Iterable[Envelope]) -> list[FeedEvent]:
    """One entry per event: its times, classifier (vessel events) and source."""
    return [
        FeedEvent(
            event_id=str(event.event_id),
            port=event.port,
            occurred_at=event.occurred_at,
            published_at=event.published_at,
            classifier=event.classifier.value if isinstance(event, VesselEvent) else None,
            source=event.source,
        )
        for event in events
    ]


def call_actuals(events: Iterable[Envelope]) -> list[CallActuals]:
    """One entry per port call: placed at its first vessel event (as :func:`call_infos`), with
    the ``"{operation} {facility}"`` of its declared (not AIS) ACT vessel events."""
    calls: dict[tuple[str, str], list[VesselEvent]] = {}
    for event in effective_events(e for e in events if isinstance(e, VesselEvent)):
        calls.setdefault((event.port, event.port_call_id), []).append(event)
    return [
        CallActuals(
            port=port,
            port_call_id=call_id,
            first_at=min(e.occurred_at for e in call_events),
            actuals=frozenset(
                f"{e.operation.value} {e.facility.value}"
                for e in call_events
                if e.classifier is Classifier.ACT and e.source != AIS_SOURCE
            ),
        )
        for (port, call_id), call_events in sorted(calls.items())
    ]


def move_links(events: Iterable[Envelope]) -> list[MoveLinks]:
    """One entry per effective DISC or LOAD move: does it name its crane and its call."""
    return [
        MoveLinks(
            port=event.port,
            occurred_at=event.occurred_at,
            has_crane=bool(event.crane_id),
            has_call=bool(event.port_call_id),
        )
        for event in effective_events(e for e in events if isinstance(e, CargoEvent))
        if event.move in _TRADE_MOVES
    ]


def lodged_declarations(events: Iterable[Envelope]) -> list[LodgedDeclaration]:
    """One entry per declaration lodged (any regime): its latest LODGED event in event order,
    placed at its first lodgement."""
    lodged: dict[tuple[str, str], list[CustomsEvent]] = {}
    for event in effective_events(e for e in events if isinstance(e, CustomsEvent)):
        if event.kind is CustomsKind.LODGED:
            lodged.setdefault((event.port, event.declaration_id), []).append(event)
    return [
        LodgedDeclaration(
            port=port,
            declaration_id=declaration_id,
            lodged_at=versions[0].occurred_at,
            names_call=bool(versions[-1].port_call_id),
            lists_containers=bool(versions[-1].containers),
        )
        for (port, declaration_id), versions in sorted(lodged.items())
    ]
