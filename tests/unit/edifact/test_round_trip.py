"""Events written as EDIFACT and read back are the same events, field for field.

This is how the hub shows that the same traffic as EDIFACT gives the same KPIs as Avro: every
field survives except the envelope's own (event_id, published_at, publisher, source,
schema_version, retracts_event_id), which the reading side sets.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from connectors.edifact import read_interchange, writable, write_interchange
from connectors.simulator import PortTrafficGenerator
from hub.domain.reference import BUNDLED_PORTS_FILE, load_ports
from schemas.models import (
    CargoEvent,
    Channel,
    Classifier,
    CustomsEvent,
    CustomsKind,
    Envelope,
    Facility,
    GoodsLine,
    Move,
    Operation,
    Regime,
    Trade,
    VesselEvent,
)
from tests.unit.edifact import PUBLISHED, by_identity

T0 = datetime(2026, 3, 1, 6, 0, tzinfo=UTC)
_IDS = (uuid.UUID(int=n) for n in itertools.count(1))


def envelope(port: str, offset: timedelta) -> dict[str, Any]:
    return {
        "event_id": next(_IDS),
        "occurred_at": T0 + offset,
        "published_at": T0,
        "port": port,
        "publisher": "someone-else",
        "source": "AIS",
    }


def round_trip(events: Sequence[Envelope]) -> list[Envelope]:
    text = write_interchange(
        events, sender="PORTHUBLAC", recipient="TERMINAL01", reference="R0001", prepared_at=T0
    )
    result = read_interchange(text, published_at=PUBLISHED, source="EDI")
    assert result.problem_lines() == []
    return list(result.events)


def assert_same(original: Sequence[Envelope], read: Sequence[Envelope]) -> None:
    assert len(read) == len(original)
    assert by_identity(read) == by_identity(original)


# --- hand-built -------------------------------------------------------------------------------


def cargo_events() -> list[CargoEvent]:
    events: list[CargoEvent] = []
    for n, move in enumerate((Move.DISC, Move.LOAD, Move.RSTW, Move.GTIN, Move.GTOT)):
        every_field = CargoEvent(
            **envelope("PECLL", timedelta(minutes=n, seconds=n, milliseconds=7 * n)),
            container="MSCU7130450",
            iso_size_type="45G1",
            full=True,
            gross_kg=2_147_483_647,
            move=move,
            port_call_id="CALL+1:'?x",
            crane_id="STS 04 'A'",
            truck_visit_id="TV:9+?",
            hs_code="8471300000",
            origin_country="CN",
            destination_country="PE",
            declared_value_usd=Decimal("9999999999999999.99"),
            trade=Trade.IMPORT,
        )
        bare = CargoEvent(
            **envelope("BRSSZ", timedelta(hours=1, minutes=n)),
            container="CMAU5032181",
            iso_size_type="22R1",
            full=False,
            gross_kg=0,
            move=move,
        )
        events += [every_field, bare]
    for n, (trade, value) in enumerate(zip(Trade, ("0.01", "100", "1E+2"), strict=True)):
        events.append(
            CargoEvent(
                **envelope("COCTG", timedelta(days=1, minutes=n, milliseconds=999)),
                container="SUDU6223171",
                iso_size_type="L5G1",
                full=True,
                gross_kg=12345,
                move=Move.LOAD,
                port_call_id="COCTG-1",
                declared_value_usd=Decimal(value),
                trade=trade,
            )
        )
    return events


def vessel_events() -> list[VesselEvent]:
    events: list[VesselEvent] = []
    combinations = itertools.product(Classifier, Operation, Facility)
    for n, (classifier, operation, facility) in enumerate(combinations):
        particulars = n % 5 == 0
        events.append(
            VesselEvent(
                **envelope("COCTG", timedelta(minutes=17 * n, milliseconds=n)),
                port_call_id="COCTG-2026-0211",
                imo="9345673",
                call_sign="V7HK4" if n % 2 else None,
                mmsi="538003412" if n % 3 else None,
                classifier=classifier,
                operation=operation,
                facility=facility,
                berth_id="CT-4" if facility is Facility.BRTH or n % 7 == 0 else None,
                vessel_name="CAP D'ANTIFER + SONS: ?" if particulars else None,
                teu_capacity=40_000 if particulars else None,
                loa_m=0.1 + n if particulars else None,
                service="CARIB" if particulars else None,
                previous_port="PAMIT" if particulars else None,
                next_port="USHOU" if particulars else None,
            )
        )
    events.append(
        VesselEvent(
            **envelope("PECLL", timedelta(days=2)),
            port_call_id="PECLL-9",
            imo="9321483",
            classifier=Classifier.ACT,
            operation=Operation.DEPA,
            facility=Facility.BRTH,
            loa_m=499.999999,
            teu_capacity=0,
        )
    )
    return events


def customs_events() -> list[CustomsEvent]:
    goods = (
        GoodsLine(
            hs_code="1701.14.00",
            description="AZUCAR + CAFE: 'SOLUBLE' ?",
            quantity=Decimal("0.001"),
            unit="KGM",
            value_usd=Decimal("0"),
            origin_country="BR",
        ),
        GoodsLine(hs_code="210111", quantity=Decimal("120"), unit="NAR", value_usd=Decimal("15.5")),
    )
    events: list[CustomsEvent] = []
    for n, kind in enumerate(CustomsKind):
        channel = list(Channel)[n % 3] if n % 2 == 0 else None
        regime = list(Regime)[n % 3] if n != 5 else None
        events.append(
            CustomsEvent(
                **envelope("PECLL", timedelta(hours=n, seconds=n)),
                declaration_id="118-2026-10-004512",
                kind=kind,
                channel=channel,
                regime=regime,
                importer_id="20100047218" if n == 0 else None,
                exporter_id="33041260000152" if n == 0 else None,
                goods=goods if n == 0 else (),
                containers=("MSCU7130450", "CMAU5032181") if n < 4 else (),
                port_call_id="PECLL-2026-0317" if n < 5 else None,
                certificate_id="CO-BR-PE-2026-000781" if n == 0 else None,
                agreement="A58" if n == 0 else None,
                invoice_number="F001-00028841" if n == 0 else None,
            )
        )
    return events


def test_cargo_round_trip() -> None:
    events = cargo_events()
    assert_same(events, round_trip(events))


def test_vessel_round_trip() -> None:
    events = vessel_events()
    assert_same(events, round_trip(events))


def test_customs_round_trip() -> None:
    events = customs_events()
    assert_same(events, round_trip(events))


def test_mixed_interchange_round_trip() -> None:
    events: list[Envelope] = [*customs_events(), *cargo_events(), *vessel_events()]
    assert_same(events, round_trip(events))


def test_decimals_round_trip_exactly() -> None:
    read = round_trip(customs_events())
    lodged = next(e for e in read if isinstance(e, CustomsEvent) and e.goods)
    assert [str(line.quantity) for line in lodged.goods] == ["0.001", "120"]
    assert [str(line.value_usd) for line in lodged.goods] == ["0", "15.5"]


def test_milliseconds_survive() -> None:
    event = cargo_events()[2]
    assert event.occurred_at.microsecond == 7000
    (read,) = round_trip([event])
    assert read.occurred_at == event.occurred_at


# --- generated traffic ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def generated() -> list[Envelope]:
    ports = [p for p in load_ports(BUNDLED_PORTS_FILE) if p.unlocode in {"PECLL", "BRSSZ"}]
    generator = PortTrafficGenerator(ports, seed=3, start=datetime(2026, 3, 1, tzinfo=UTC))
    return list(itertools.islice(generator.events(), 3000))


def test_generated_traffic_round_trip(generated: list[Envelope]) -> None:
    events = [event for event in generated if writable(event)]
    kinds = {type(e).__name__ for e in events}
    moves = {e.move for e in events if isinstance(e, CargoEvent)}
    assert kinds == {"CargoEvent", "VesselEvent", "CustomsEvent"}
    # This stretch of traffic has no restow; the hand-built events cover RSTW.
    assert moves >= {Move.DISC, Move.LOAD, Move.GTIN, Move.GTOT}

    assert_same(events, round_trip(events))


def test_generated_traffic_is_not_all_writable(generated: list[Envelope]) -> None:
    refused = [event for event in generated if not writable(event)]
    assert refused, "the generator makes YARD moves and certificate submissions"
    with pytest.raises(ValueError, match="YARD"):
        write_interchange(generated, sender="HUB", recipient="X", reference="R1", prepared_at=T0)
