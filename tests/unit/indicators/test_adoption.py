"""Digital certificate adoption: declarations invoking a certificate over those claiming an
agreement, from the customs events themselves."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hub.domain.indicators.inputs import declaration_infos
from hub.domain.indicators.model import Mechanism, PortInfo, adoption_indicator
from hub.domain.indicators.reference import all_indicators
from schemas.models import CustomsEvent, CustomsKind, GoodsLine, Regime

DAY = datetime(2026, 3, 2, tzinfo=UTC)
PORTS = [PortInfo("PECLL", "PE"), PortInfo("COCTG", "CO")]
MECHANISMS = {"PA": Mechanism("PA", "Pacific Alliance", frozenset({"CL", "CO", "MX", "PE"}))}


def lodged(
    port: str, declaration: str, hours: float, *, agreement: str | None, certificate: bool,
    regime: Regime = Regime.IMPORT,
) -> CustomsEvent:  # fmt: skip
    at = DAY + timedelta(hours=hours)
    return CustomsEvent(
        event_id=uuid.uuid4(), occurred_at=at, published_at=at, port=port,
        declaration_id=declaration, kind=CustomsKind.LODGED, regime=regime,
        goods=(GoodsLine(hs_code="080610", quantity=Decimal(1), unit="KGM",
                         value_usd=Decimal(1)),),
        agreement=agreement, certificate_id=f"C-{declaration}" if certificate else None,
    )  # fmt: skip


def test_adoption_is_certificates_over_declarations_claiming_an_agreement() -> None:
    events = [
        # Callao: 3 claim an agreement, 2 invoke a certificate; one claims none (not counted).
        lodged("PECLL", "D1", 1, agreement="A58", certificate=True),
        lodged("PECLL", "D2", 2, agreement="A58", certificate=True),
        lodged("PECLL", "D3", 3, agreement="A38", certificate=False),
        lodged("PECLL", "D4", 4, agreement=None, certificate=False),
        # Cartagena: 1 claims, without certificate; an export is not an import.
        lodged("COCTG", "D5", 5, agreement="A24", certificate=False),
        lodged("COCTG", "D6", 6, agreement="A24", certificate=True, regime=Regime.EXPORT),
        # D3 lodged again (an amendment) with its certificate: the latest version counts.
        lodged("PECLL", "D3", 7, agreement="A38", certificate=True),
    ]
    rows = all_indicators([], [], [], [], PORTS, MECHANISMS, "day", declaration_infos(events))
    adoption = {(r.level, r.entity): (r.value, r.count) for r in rows
                if r.indicator == "certificate_adoption_pct"}  # fmt: skip

    assert adoption[("port", "PECLL")] == (100.0, 3)  # D1, D2, D3 (amended)
    assert adoption[("port", "COCTG")] == (0.0, 1)
    assert adoption[("mechanism", "PA")] == (75.0, 4)
    assert adoption[("region", "LAC")] == (75.0, 4)
    assert {r.unit for r in rows if r.indicator == "certificate_adoption_pct"} == {"%"}


def test_adoption_by_agreement_is_the_same_share_among_one_agreements_claims() -> None:
    events = [
        # Callao: A58 claimed 3 times, 2 with a certificate; A38 once, without.
        lodged("PECLL", "D1", 1, agreement="A58", certificate=True),
        lodged("PECLL", "D2", 2, agreement="A58", certificate=True),
        lodged("PECLL", "D3", 3, agreement="A58", certificate=False),
        lodged("PECLL", "D4", 4, agreement="A38", certificate=False),
        # Cartagena: A58 once, with a certificate.
        lodged("COCTG", "D5", 5, agreement="A58", certificate=True),
    ]
    rows = all_indicators([], [], [], [], PORTS, MECHANISMS, "day", declaration_infos(events))
    by = {(r.level, r.entity, r.indicator): (r.value, r.count, r.unit) for r in rows}

    assert by[("port", "PECLL", adoption_indicator("A58"))] == (100.0 * 2 / 3, 3, "%")
    assert by[("port", "PECLL", "certificate_adoption_a38_pct")] == (0.0, 1, "%")
    assert ("port", "COCTG", "certificate_adoption_a38_pct") not in by  # not claimed there
    assert by[("port", "COCTG", "certificate_adoption_a58_pct")] == (100.0, 1, "%")
    # The region: A58 3 of 4 = 75 %; A38 0 of 1; in all 3 of 5 = 60 %.
    assert by[("region", "LAC", "certificate_adoption_a58_pct")] == (75.0, 4, "%")
    assert by[("region", "LAC", "certificate_adoption_a38_pct")] == (0.0, 1, "%")
    assert by[("region", "LAC", "certificate_adoption_pct")] == (60.0, 5, "%")
