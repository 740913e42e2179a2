"""Digital certificate adoption: declarations invoking a certificate over those claiming an
agreement, from the customs events themselves."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hub.domain.indicators.inputs import declaration_infos
from hub.domain.indicators.model import Mechanism, PortInfo
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
