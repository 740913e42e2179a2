"""Each hand-written interchange reads into exactly the events a person reads in it."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from connectors.edifact import Problem, read_interchange
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
from tests.unit.edifact import PUBLISHED, contents, fixture

_ANY_ID = uuid.UUID(int=1)


def at(day: int, hour: int, minute: int, second: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, second, tzinfo=UTC)


def boxes(events: Sequence[Envelope]) -> list[str]:
    return [event.container for event in events if isinstance(event, CargoEvent)]


def cargo(**fields: Any) -> CargoEvent:
    return CargoEvent(event_id=_ANY_ID, published_at=PUBLISHED, **fields)


def vessel(**fields: Any) -> VesselEvent:
    return VesselEvent(event_id=_ANY_ID, published_at=PUBLISHED, **fields)


def customs(**fields: Any) -> CustomsEvent:
    return CustomsEvent(event_id=_ANY_ID, published_at=PUBLISHED, **fields)


# --- COARRI -----------------------------------------------------------------------------------


def test_coarri_callao_discharge_and_loading_reports() -> None:
    result = read_interchange(fixture("coarri_callao.edi"), published_at=PUBLISHED)

    assert result.accepted and result.problem_lines() == []
    assert (result.reference, result.sender, result.recipient) == (
        "CLL0302001",
        "DPWCALLAO",
        "PORTHUBLAC",
    )
    assert [(m.message_ref, m.message_type, m.line) for m in result.messages] == [
        ("CLL00017", "COARRI", 3),
        ("CLL00018", "COARRI", 34),
    ]
    call = {"port": "PECLL", "port_call_id": "PECLL-2026-0317"}
    assert contents(result.events) == contents(
        [
            cargo(
                **call,
                occurred_at=at(2, 2, 14),
                container="MSCU7130450",
                iso_size_type="45G1",
                full=True,
                gross_kg=26480,
                move=Move.DISC,
                crane_id="STS03",
                hs_code="847130",
                origin_country="CN",
                destination_country="PE",
                declared_value_usd=Decimal("48250.00"),
                trade=Trade.IMPORT,
            ),
            cargo(
                **call,
                occurred_at=at(2, 2, 27, 31),
                container="MAEU4127789",
                iso_size_type="22G1",
                full=True,
                gross_kg=18320,
                move=Move.DISC,
                crane_id="STS03",
                trade=Trade.TRANSSHIPMENT,
            ),
            cargo(
                **call,
                occurred_at=at(2, 2, 39),
                container="CMAU5032181",
                iso_size_type="22G1",
                full=False,
                gross_kg=2210,
                move=Move.DISC,
                crane_id="STS05",
                trade=Trade.IMPORT,
            ),
            cargo(
                **call,
                occurred_at=at(2, 9, 55),
                container="HLXU8721047",
                iso_size_type="45G1",
                full=True,
                gross_kg=24100,
                move=Move.LOAD,
                crane_id="STS05",
                truck_visit_id="B5V764",
                hs_code="080610",
                origin_country="PE",
                destination_country="NL",
                declared_value_usd=Decimal("61300.50"),  # written 61300,50: a comma decimal mark
                trade=Trade.EXPORT,
            ),
            cargo(
                **call,
                occurred_at=at(2, 10, 3),
                container="SUDU6223171",
                iso_size_type="22G1",
                full=True,
                gross_kg=21050,
                move=Move.RSTW,
                crane_id="STS05",
            ),
            cargo(
                **call,
                occurred_at=at(2, 10, 16),
                container="TGHU9083410",
                iso_size_type="22G1",
                full=False,
                gross_kg=2200,
                move=Move.LOAD,
                crane_id="STS03",
                trade=Trade.TRANSSHIPMENT,
            ),
        ]
    )
    for event in result.events:
        assert (event.publisher, event.source, event.published_at) == (
            "DPWCALLAO",
            "TERMINAL",
            PUBLISHED,
        )


def test_message_text_is_the_message_as_sent() -> None:
    text = fixture("coarri_callao.edi")
    first = read_interchange(text, published_at=PUBLISHED).messages[0]

    lines = text.splitlines()
    assert first.text == "\n".join(lines[2:33])
    assert first.text.startswith("UNH+CLL00017+COARRI") and first.text.endswith("UNT+31+CLL00017'")


def test_the_same_file_gives_the_same_ids() -> None:
    text = fixture("coarri_callao.edi")
    once = read_interchange(text, published_at=PUBLISHED).events
    again = read_interchange(text, published_at=at(21, 8, 0), source="PCS").events

    assert [e.event_id for e in once] == [e.event_id for e in again]
    assert len({e.event_id for e in once}) == len(once) == 6
    assert all(e.event_id.version == 5 for e in once)


# --- CODECO -----------------------------------------------------------------------------------


def test_codeco_santos_gate_in_and_out_on_one_line() -> None:
    text = fixture("codeco_santos.edi")
    assert "\n" not in text
    result = read_interchange(text, published_at=PUBLISHED, source="PCS")

    assert result.accepted and result.problem_lines() == []
    assert [(m.message_ref, m.line) for m in result.messages] == [("1", 1), ("2", 1)]
    assert result.messages[1].text.startswith("UNH+2+CODECO:D:95B:UN:ITG14'BGM+36")
    assert result.messages[1].text.endswith("CNT+16:2'UNT+18+2'")
    port = {"port": "BRSSZ", "source": "PCS", "publisher": "TECONSANTOS"}
    assert contents(result.events) == contents(
        [
            cargo(
                **port,
                occurred_at=at(5, 13, 12),
                container="ONEU1556201",
                iso_size_type="45G1",
                full=True,
                gross_kg=27950,
                move=Move.GTIN,
                port_call_id="BRSSZ-2026-0088",
                truck_visit_id="GATE-0305-0412",
                hs_code="020130",
                origin_country="BR",
                destination_country="JP",
                declared_value_usd=Decimal("88120.00"),
                trade=Trade.EXPORT,
            ),
            cargo(
                **port,
                occurred_at=at(5, 13, 26, 4),
                container="MSCU9044665",
                iso_size_type="22G1",
                full=False,
                gross_kg=2230,
                move=Move.GTIN,
                truck_visit_id="GATE-0305-0415",
                trade=Trade.EXPORT,
            ),
            cargo(
                **port,
                occurred_at=at(5, 13, 41),
                container="EGHU3319020",
                iso_size_type="22G1",
                full=True,
                gross_kg=19800,
                move=Move.GTOT,
                truck_visit_id="GATE-0305-0398",
                hs_code="847989",
                origin_country="DE",
                destination_country="BR",
                trade=Trade.IMPORT,
            ),
            cargo(
                **port,
                occurred_at=at(5, 13, 49),
                container="TCNU4802756",
                iso_size_type="45G1",
                full=True,
                gross_kg=25400,
                move=Move.GTOT,
                truck_visit_id="GATE-0305-0401",
                trade=Trade.IMPORT,
            ),
        ]
    )
    assert {e.source for e in result.events} == {"PCS"}


# --- BERMAN -----------------------------------------------------------------------------------


def test_berman_cartagena_one_event_per_time() -> None:
    result = read_interchange(fixture("berman_cartagena.edi"), published_at=PUBLISHED)

    assert result.accepted and result.problem_lines() == []
    assert [len(m.events) for m in result.messages] == [1, 4]
    ship = {
        "port": "COCTG",
        "port_call_id": "COCTG-2026-0211",
        "imo": "9345673",
        "call_sign": "V7HK4",
        "mmsi": "538003412",
        "vessel_name": "CAP D'ANTIFER",  # written CAP D?'ANTIFER
    }
    assert contents(result.events) == contents(
        [
            vessel(
                **ship,
                occurred_at=at(7, 18, 0),
                classifier=Classifier.EST,
                operation=Operation.ARRI,
                facility=Facility.PORT,
                teu_capacity=5100,
                loa_m=255.4,
                service="CARIB",
                previous_port="PAMIT",
                next_port="USHOU",
            ),
            vessel(
                **ship,
                occurred_at=at(7, 17, 42),
                classifier=Classifier.ACT,
                operation=Operation.ARRI,
                facility=Facility.PORT,
            ),
            vessel(
                **ship,
                occurred_at=at(7, 18, 6),
                classifier=Classifier.ACT,
                operation=Operation.ARRI,
                facility=Facility.PBPL,
            ),
            vessel(
                **ship,
                occurred_at=at(7, 19, 31),
                classifier=Classifier.ACT,
                operation=Operation.ARRI,
                facility=Facility.BRTH,
                berth_id="CT-4",
            ),
            vessel(
                **ship,
                occurred_at=at(7, 20, 18),
                classifier=Classifier.ACT,
                operation=Operation.STRT,
                facility=Facility.BRTH,
                berth_id="CT-4",
            ),
        ]
    )


# --- CUSRES -----------------------------------------------------------------------------------


def test_cusres_callao_lodged_channel_released() -> None:
    result = read_interchange(fixture("cusres_callao.edi"), published_at=PUBLISHED)

    assert result.accepted and result.problem_lines() == []
    declaration = {
        "port": "PECLL",
        "declaration_id": "118-2026-10-004512",
        "regime": Regime.IMPORT,
        "containers": ("MSCU7130450", "CMAU5032181"),
        "port_call_id": "PECLL-2026-0317",
    }
    assert contents(result.events) == contents(
        [
            customs(
                **declaration,
                occurred_at=at(3, 9, 12),
                kind=CustomsKind.LODGED,
                importer_id="20100047218",
                exporter_id="33041260000152",
                goods=(
                    GoodsLine(
                        hs_code="1701.14.00",
                        description="AZUCAR DE CANA EN BRUTO",
                        quantity=Decimal("52000.000"),
                        unit="KGM",
                        value_usd=Decimal("23400.00"),
                        origin_country="BR",
                    ),
                    GoodsLine(
                        hs_code="2101.11.00",
                        description="CAFE SOLUBLE + EXTRACTOS: 25 KG",
                        quantity=Decimal("1850.5"),
                        unit="KGM",
                        value_usd=Decimal("15720.25"),
                        origin_country="BR",
                    ),
                ),
                certificate_id="CO-BR-PE-2026-000781",
                agreement="A58",
                invoice_number="F001-00028841",
            ),
            customs(
                **declaration,
                occurred_at=at(3, 10, 15, 7),
                kind=CustomsKind.CHANNEL,
                channel=Channel.RED,
            ),
            customs(**declaration, occurred_at=at(4, 16, 45), kind=CustomsKind.RELEASED),
        ]
    )


# --- malformed --------------------------------------------------------------------------------


def test_bad_unt_count_rejects_only_that_message() -> None:
    result = read_interchange(fixture("bad_unt_count.edi"), published_at=PUBLISHED)

    assert result.accepted
    good, bad = result.messages
    assert good.problems == () and boxes(good.events) == ["HDMU6033770"]
    assert bad.message_ref == "2" and bad.events == ()
    assert bad.problems == (
        Problem(20, "UNT", "segment count '8' but the message has 9 segments (UNH to UNT)"),
    )
    assert result.problem_lines() == [
        "interchange SSZ000990, message 2, line 20, segment UNT: "
        "segment count '8' but the message has 9 segments (UNH to UNT)"
    ]


def test_unknown_qualifiers_are_all_reported() -> None:
    result = read_interchange(fixture("unknown_qualifier.edi"), published_at=PUBLISHED)

    assert result.accepted
    good, bad = result.messages
    assert boxes(good.events) == ["CAIU7301184"]
    assert bad.message_ref == "CLL00032" and bad.events == ()
    assert bad.problems == (
        Problem(18, "EQD", "unknown full/empty indicator (8169) '7' for EQD in this profile"),
        Problem(19, "DTM", "unknown date/time qualifier (2005) '999' for DTM in this profile"),
    )


def test_truncated_file_rejects_everything() -> None:
    result = read_interchange(fixture("truncated.edi"), published_at=PUBLISHED)

    assert not result.accepted
    assert result.messages == () and result.events == ()
    assert Problem(15, "RFF", "truncated: the text ends inside this segment") in result.problems
    assert Problem(10, "UNH", "truncated: message CR8 has no UNT") in result.problems
    assert any(p.segment == "UNZ" and "no UNZ" in p.reason for p in result.problems)


def test_unz_count_wrong_rejects_everything() -> None:
    result = read_interchange(fixture("bad_unz_count.edi"), published_at=PUBLISHED)

    assert not result.accepted and result.messages == () and result.events == ()
    assert result.problems == (
        Problem(
            11,
            "UNZ",
            "interchange control count '2' but the interchange has 1 message(s)",
        ),
    )
    assert result.problem_lines() == [
        "interchange CTG260311001, line 11, segment UNZ: "
        "interchange control count '2' but the interchange has 1 message(s)"
    ]


def test_unmappable_segment_among_good_messages() -> None:
    result = read_interchange(fixture("unmappable_segment.edi"), published_at=PUBLISHED)

    assert result.accepted
    first, bad, third = result.messages
    assert boxes(first.events) == ["MSCU7130450"]
    assert boxes(third.events) == ["ONEU1556201"]
    assert isinstance(third.events[0], CargoEvent) and third.events[0].move is Move.LOAD
    assert bad.events == ()
    assert bad.problems == (
        Problem(20, "IMD", "segment that cannot be mapped: IMD has no place here"),
    )
    assert result.describe(bad.problems[0], bad) == (
        "interchange CLL0312004, message CLL00052, line 20, segment IMD: "
        "segment that cannot be mapped: IMD has no place here"
    )
