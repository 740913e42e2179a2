"""Intra-regional trade share and Iapadre's RTI against hand-computed examples (SPEC §4)."""

from __future__ import annotations

import json
from fractions import Fraction

import pytest

from hub.domain.indicators.model import Mechanism, Network, PortInfo
from hub.domain.indicators.trade import introversion, trade_indicators
from tests.unit.indicators.builders import T0, at, flow, one, pick

# Two hub ports, PECLL (PE) and CLVAP (CL), and one mechanism DUO = {PE, CL}; CN is outside the
# region, BR inside it (a LAC country) but outside DUO.
PORTS = [PortInfo("PECLL", "PE"), PortInfo("CLVAP", "CL"), PortInfo("ECGYE", "EC")]
MECHANISMS = {
    "DUO": Mechanism("DUO", "Duo", frozenset({"PE", "CL"})),
    "SOLO": Mechanism("SOLO", "Solo", frozenset({"EC"})),  # a hub port, but no trade
    "NONE": Mechanism("NONE", "No hub port", frozenset({"PY"})),
}
NETWORK = Network(PORTS, MECHANISMS)

# The moves (origin → destination, declared value in USD; TEU = value / 50, so the TEU indices
# equal the value ones):
#   1. PE → CL 100  LOAD at PECLL      4. CN → CL 150  DISC at CLVAP
#   2. CL → PE  50  DISC at PECLL      5. BR → PE 100  DISC at PECLL
#   3. PE → CN 200  LOAD at PECLL
# and two moves that are not counted: a transshipment PE → US of 1,000 at CLVAP, and a move
# whose origin is unknown.
#
# A move of size x is x of trade of its origin and x of its destination; T_w = Σ 2x = 2 * 600
# = 1,200.
#
# DUO (G = {PE, CL}):
#   T_i  = 1: 2*100 + 2: 2*50 + 3: 200 + 4: 150 + 5: 100 = 750
#   T_ii = 2 * (100 + 50) = 300
#   S = 300/750 = 0.4 · W = 750/1200 = 0.625 · HI = 0.4/0.625 = 0.64 · HE = 0.6/0.375 = 1.6
#   RTI = (0.64 - 1.6) / (0.64 + 1.6) = -0.96/2.24 = -3/7
# LAC (G = the region: PE, CL, BR in; CN out):
#   T_i  = 200 + 100 + 200 + 150 + 2*100 = 850 · T_ii = 2 * (100 + 50 + 100) = 500
#   S = 500/850 = 10/17 · W = 850/1200 = 17/24 · HI = 240/289 · HE = (7/17)/(7/24) = 408/289
#   RTI = (240 - 408) / (240 + 408) = -168/648 = -7/27
# PE (country: its trade with the region, against the region's W = 17/24):
#   T_PE = 100 + 50 + 200 + 100 = 450 · with the region: 100 (to CL) + 50 + 100 (from CL, BR) = 250
#   S = 5/9 · HI = (5/9)/(17/24) = 40/51 · HE = (4/9)/(7/24) = 32/21
#   RTI = (40/51 - 32/21) / (40/51 + 32/21) = (280 - 544) / (280 + 544) = -33/103
# CL: T_CL = 100 + 50 + 150 = 300 · with the region 150 · S = 1/2
#   RTI = (12/17 - 12/7) / (12/17 + 12/7) = (7 - 17) / (7 + 17) = -5/12
FLOWS = [
    flow("PE", "CL", 100, 2.0, port="PECLL", move="LOAD", trade="EXPORT"),
    flow("CL", "PE", 50, 1.0, port="PECLL", move="DISC", trade="IMPORT"),
    flow("PE", "CN", 200, 4.0, port="PECLL", move="LOAD", trade="EXPORT"),
    flow("CN", "CL", 150, 3.0, port="CLVAP", move="DISC", trade="IMPORT"),
    flow("BR", "PE", 100, 2.0, port="PECLL", move="DISC", trade="IMPORT"),
    flow("PE", "US", 1000, 2.0, port="CLVAP", move="DISC", trade="TRANSSHIPMENT"),
    flow(None, "PE", 1000, 2.0, port="PECLL", move="DISC", trade="IMPORT"),
]

EXPECTED = [
    # level, entity, S, W, RTI, moves with an end in the group
    ("mechanism", "DUO", Fraction(2, 5), Fraction(5, 8), Fraction(-3, 7), 5),
    ("region", "LAC", Fraction(10, 17), Fraction(17, 24), Fraction(-7, 27), 5),
    ("country", "PE", Fraction(5, 9), Fraction(17, 24), Fraction(-33, 103), 4),
    ("country", "CL", Fraction(1, 2), Fraction(17, 24), Fraction(-5, 12), 3),
]


@pytest.mark.parametrize(("level", "entity", "share", "weight", "rti", "count"), EXPECTED)
@pytest.mark.parametrize("measure", ["value", "teu"])
def test_share_and_rti_equal_the_hand_computation(
    measure: str, level: str, entity: str, share: Fraction, weight: Fraction, rti: Fraction,
    count: int,
) -> None:  # fmt: skip
    rows = trade_indicators(FLOWS, NETWORK, "month")
    s = one(rows, f"intra_regional_share_{measure}_pct", level, entity)
    index = one(rows, f"trade_introversion_{measure}_index", level, entity)
    assert s.value == pytest.approx(float(share) * 100, rel=1e-12)
    assert s.unit == "%" and index.unit == "index"
    assert index.value == pytest.approx(float(rti), rel=1e-12)
    assert s.count == index.count == count
    detail = json.loads(index.detail or "")
    assert detail["S"] == pytest.approx(float(share), rel=1e-12)
    assert detail["W"] == pytest.approx(float(weight), rel=1e-12)
    assert detail["HI"] == pytest.approx(float(share / weight), rel=1e-12)
    assert detail["HE"] == pytest.approx(float((1 - share) / (1 - weight)), rel=1e-12)
    assert s.period_start == T0.replace(day=1, hour=0)


def test_the_duo_totals_are_the_hand_ones() -> None:
    rows = trade_indicators(FLOWS, NETWORK, "month")
    detail = json.loads(
        one(rows, "intra_regional_share_value_pct", "mechanism", "DUO").detail or ""
    )
    assert detail == {"T_i": 750.0, "T_ii": 300.0}


def test_w_0_a_group_without_trade_is_undefined_with_the_reason() -> None:
    rows = trade_indicators(FLOWS, NETWORK, "month")
    index = one(rows, "trade_introversion_value_index", "mechanism", "SOLO")
    share = one(rows, "intra_regional_share_value_pct", "mechanism", "SOLO")
    assert index.value is None and share.value is None
    assert index.count == share.count == 0
    assert json.loads(index.detail or "")["reason"].startswith("W is 0")
    assert json.loads(share.detail or "")["reason"].startswith("T_i is 0")
    # A mechanism without a hub port produces nothing.
    assert not [r for r in rows if r.entity == "NONE"]


def test_w_1_a_group_with_all_the_trade_is_undefined_with_the_reason() -> None:
    # Every move is between DUO's members: T_i = T_w = 2 * 150 = 300, W = 1, S = 1.
    flows = [flow("PE", "CL", 100), flow("CL", "PE", 50, move="DISC", trade="IMPORT")]
    rows = trade_indicators(flows, NETWORK, "month")
    index = one(rows, "trade_introversion_value_index", "mechanism", "DUO")
    assert index.value is None
    assert json.loads(index.detail or "")["reason"].startswith("W is 1")
    assert one(rows, "intra_regional_share_value_pct", "mechanism", "DUO").value == 100.0


@pytest.mark.parametrize(
    ("t_ii", "t_i", "t_w", "rti", "reason"),
    [
        (300.0, 750.0, 1200.0, -3 / 7, None),
        (0.0, 0.0, 1200.0, None, "W is 0"),
        (300.0, 300.0, 300.0, None, "W is 1"),
        (100.0, 100.0, 1000.0, 1.0, None),  # all of a small group's trade is internal
        (0.0, 500.0, 1000.0, -1.0, None),  # none is
    ],
)
def test_introversion_formula(
    t_ii: float, t_i: float, t_w: float, rti: float | None, reason: str | None
) -> None:
    result = introversion(t_ii, t_i, t_w)
    assert result.rti == (None if rti is None else pytest.approx(rti, rel=1e-12))
    assert (result.reason or "").startswith(reason or "")
    if reason is None:
        assert result.reason is None


def test_introversion_needs_some_trade() -> None:
    with pytest.raises(ValueError, match="T_w"):
        introversion(0.0, 0.0, 0.0)


def test_a_shipment_between_two_hub_ports_counts_at_both() -> None:
    """The documented choice: every move where the hub saw it (LOAD at origin, DISC at
    destination), so a hub-to-hub shipment weighs twice."""
    once = [flow("PE", "CL", 100, port="PECLL", move="LOAD"), flow("PE", "CN", 100)]
    twice = [*once, flow("PE", "CL", 100, port="CLVAP", move="DISC", trade="IMPORT")]
    detail_once = json.loads(
        one(
            trade_indicators(once, NETWORK, "day"),
            "intra_regional_share_value_pct",
            "mechanism",
            "DUO",
        ).detail
        or ""
    )
    detail_twice = json.loads(
        one(
            trade_indicators(twice, NETWORK, "day"),
            "intra_regional_share_value_pct",
            "mechanism",
            "DUO",
        ).detail
        or ""
    )
    assert detail_once == {"T_i": 300.0, "T_ii": 200.0}
    assert detail_twice == {"T_i": 500.0, "T_ii": 400.0}


def test_transshipment_unknown_countries_and_other_ports_are_not_trade() -> None:
    flows = [
        flow("PE", "CL", 100),
        flow("PE", "CL", 900, trade="TRANSSHIPMENT"),
        flow("PE", None, 900),
        flow("PE", "CL", 900, port="ARBUE"),  # not a hub port of this network
    ]
    rows = trade_indicators(flows, NETWORK, "day")
    detail = json.loads(one(rows, "intra_regional_share_value_pct", "region", "LAC").detail or "")
    assert detail == {"T_i": 200.0, "T_ii": 200.0}


def test_a_move_without_a_declared_value_counts_by_teu_only() -> None:
    flows = [flow("PE", "CN", 100, 1.0), flow("PE", "CL", None, 2.0)]
    rows = trade_indicators(flows, NETWORK, "day")
    value = one(rows, "intra_regional_share_value_pct", "country", "PE")
    teu = one(rows, "intra_regional_share_teu_pct", "country", "PE")
    assert (value.value, value.count) == (0.0, 1)
    assert teu.value == pytest.approx(200 / 3) and teu.count == 2  # 2 TEU of 3 with the region


def test_each_period_has_its_own_trade() -> None:
    flows = [flow("PE", "CL", 100, when=at(0)), flow("PE", "CN", 100, when=at(24))]
    rows = pick(
        trade_indicators(flows, NETWORK, "day"), "intra_regional_share_value_pct", "country", "PE"
    )
    assert [r.value for r in sorted(rows, key=lambda r: r.period_start)] == [100.0, 0.0]
    monthly = trade_indicators(flows, NETWORK, "month")
    assert one(monthly, "intra_regional_share_value_pct", "country", "PE").value == 50.0


# --- by HS section and chapter ----------------------------------------------------------------
# The moves (TEU = value / 50 again), at the ports of DUO = {PE, CL}:
#   a. PE → CL 100  080390 (bananas: chapter 08, Section II)
#   b. CN → CL 300  080390
#   c. CN → PE 200  847130 (computers: chapter 84, Section XVI)
#   d. PE → CL  50  851713 (phones: chapter 85, Section XVI)
#   e. CL → PE  50  no HS code                  — in the totals only
#   f. PE → CL  10  980100 (chapter 98: national) — in the totals only
# Section II (a, b): T_w = 2 * 400 = 800
#   DUO: T_i = 2*100 + 300 = 500 · T_ii = 200 · S = 2/5 · W = 5/8 · RTI = -3/7 (as above)
#   PE:  T_i = 100, all with the region · S = 1 · HI = 8/5, HE = 0 · RTI = 1
#   CL:  T_i = 100 + 300 = 400, 100 with the region · S = 1/4 · HI = 2/5, HE = 2 · RTI = -2/3
# Section XVI (c, d): T_w = 2 * 250 = 500
#   DUO: T_i = 200 + 2*50 = 300 · T_ii = 100 · S = 1/3 · W = 3/5 · HI = 5/9, HE = 5/3 · RTI = -1/2
#   PE:  T_i = 250, 50 with the region · S = 1/5 · HI = 1/3, HE = 2 · RTI = -5/7
#   CL:  T_i = 50, all with the region · S = 1 · RTI = 1
# Chapter 84 (c): DUO T_i = 200 = T_w / 2, T_ii = 0 · S = 0 · RTI = -1; CL has no move in it.
# Chapter 85 (d): DUO has all the trade · W = 1 · RTI undefined; S = 1.
SECTOR_FLOWS = [
    flow("PE", "CL", 100, 2.0, hs_code="080390"),
    flow("CN", "CL", 300, 6.0, port="CLVAP", move="DISC", trade="IMPORT", hs_code="080390"),
    flow("CN", "PE", 200, 4.0, move="DISC", trade="IMPORT", hs_code="847130"),
    flow("PE", "CL", 50, 1.0, hs_code="851713"),
    flow("CL", "PE", 50, 1.0, move="DISC", trade="IMPORT"),
    flow("PE", "CL", 10, 0.2, hs_code="980100"),
]
SECTOR_EXPECTED = [
    # sector, level, entity, S, RTI (None: undefined), moves
    ("section_ii", "mechanism", "DUO", Fraction(2, 5), Fraction(-3, 7), 2),
    ("section_ii", "country", "PE", Fraction(1), Fraction(1), 1),
    ("section_ii", "country", "CL", Fraction(1, 4), Fraction(-2, 3), 2),
    ("chapter_08", "country", "CL", Fraction(1, 4), Fraction(-2, 3), 2),
    ("section_xvi", "mechanism", "DUO", Fraction(1, 3), Fraction(-1, 2), 2),
    ("section_xvi", "country", "PE", Fraction(1, 5), Fraction(-5, 7), 2),
    ("section_xvi", "country", "CL", Fraction(1), Fraction(1), 1),
    ("chapter_84", "mechanism", "DUO", Fraction(0), Fraction(-1), 1),
    ("chapter_84", "country", "PE", Fraction(0), Fraction(-1), 1),
    ("chapter_85", "mechanism", "DUO", Fraction(1), None, 1),
]


@pytest.mark.parametrize(("sector", "level", "entity", "share", "rti", "count"), SECTOR_EXPECTED)
@pytest.mark.parametrize("measure", ["value", "teu"])
def test_share_and_rti_by_hs_sector_equal_the_hand_computation(
    measure: str, sector: str, level: str, entity: str, share: Fraction, rti: Fraction | None,
    count: int,
) -> None:  # fmt: skip
    rows = trade_indicators(SECTOR_FLOWS, NETWORK, "month")
    s = one(rows, f"intra_regional_share_{measure}_hs_{sector}_pct", level, entity)
    index = one(rows, f"trade_introversion_{measure}_hs_{sector}_index", level, entity)
    assert s.value == pytest.approx(float(share) * 100, rel=1e-12, abs=1e-12)
    assert s.unit == "%" and index.unit == "index"
    assert s.count == index.count == count
    if rti is None:
        assert index.value is None
        assert json.loads(index.detail or "{}")["reason"].startswith("W is 1")
    else:
        assert index.value == pytest.approx(float(rti), rel=1e-12, abs=1e-12)


def test_only_the_sectors_and_groups_with_trade_get_rows() -> None:
    rows = trade_indicators(SECTOR_FLOWS, NETWORK, "quarter")
    sectors = {r.indicator for r in rows if "_hs_" in r.indicator}
    assert {name.split("_hs_")[1].rsplit("_", 1)[0] for name in sectors} == {
        "section_ii", "section_xvi", "chapter_08", "chapter_84", "chapter_85",
    }  # fmt: skip
    # CL has no move in chapter 84; EC (a hub country) and SOLO trade in no sector.
    assert not pick(rows, "intra_regional_share_value_hs_chapter_84_pct", "country", "CL")
    assert not [r for r in rows if "_hs_" in r.indicator and r.entity in ("EC", "SOLO")]
    # ...but the totals keep every group, and count the moves without a section (e, f).
    assert one(rows, "intra_regional_share_value_pct", "country", "EC").count == 0
    assert one(rows, "intra_regional_share_value_pct", "mechanism", "DUO").count == 6


def test_days_are_not_split_by_sector() -> None:
    rows = trade_indicators(SECTOR_FLOWS, NETWORK, "day")
    assert rows and not [r for r in rows if "_hs_" in r.indicator]
