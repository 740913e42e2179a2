"""Intra-regional trade share and Iapadre's regional trade introversion index (SPEC §4).

SPEC §4: "intra-regional trade share — S = T_ii ÷ T_i, trade by declared value (and by TEU) of
cargo whose origin and destination countries are both in the group, over all trade of the group's
countries seen by the hub", and "regional trade introversion index (Iapadre) — W = T_i ÷ T_w (T_w
= all trade seen by the hub), HI = S ÷ W, HE = (1 - S) ÷ (1 - W), RTI = (HI - HE) ÷ (HI + HE), in
[-1, 1]; undefined (null, with reason) when W is 0 or 1".

Each index comes twice: by declared value (``*_value_*``, US dollars) and by TEU (``*_teu_*``).

**What a country's trade is** (Iapadre 2006, and every trade statistic the index is computed on):
a country's trade is its exports plus its imports, so a move from origin o to destination d of
size x (US dollars or TEU) is x of trade of o and x of trade of d. For a group G:

- T_i = Σ x·([o ∈ G] + [d ∈ G]) — the members' exports plus imports;
- T_ii = Σ x·2·[o ∈ G and d ∈ G] — trade between members, counted for both (as exports of one
  and imports of the other), so that S = T_ii ÷ T_i is a share of T_i and S = 1 when all of
  the group's trade is internal;
- T_w = Σ 2x over every move seen — world trade is every country's exports plus imports, which
  also counts the partner outside the region: the region's W = T_i ÷ T_w is below 1 as soon as
  a hub port handles trade with a country outside it.

This makes T_i additive over the members (T_PA = T_CL + T_CO + T_MX + T_PE) and W a share of a
partition of T_w, which HI = S ÷ W needs: the geographically neutral benchmark of an
intra-group share is the group's weight in world trade.

**Choice: every move is counted once where the hub saw it — double counting kept, not
guessed away.** A shipment between two hub ports is seen twice: LOADed at the origin's port and
DISCharged at the destination's. Both moves count, each with its own origin and destination, as
the port's throughput counts them. Why not count only exports (LOAD) plus imports from outside
the hub:

- the hub has no shipment identity linking a LOAD to a DISC at another port (containers are
  reused, origin and destination are countries, not ports), so any de-duplication is a guess
  about which move is the other's twin;
- "imports from outside" would have to be decided by the origin *country*, and a country with a
  hub port also has ports outside the hub (Brazil, Mexico): every import loaded at one of those
  would be dropped, and a port community publishing only its imports would vanish from the
  index; nor do the hub's ports report symmetrically (the traffic generator draws each port's
  imports and exports independently);
- counted where seen, T is additive over ports and periods, exactly like throughput: the stream
  can recompute it from the moves of one period alone, and a port joining the hub adds its moves
  without changing how anybody else's are counted.

The cost: trade between two hub ports weighs twice as much as trade with one end outside the
hub. S and W are both measured on this one counting, and the index compares S with W, so it
compares like with like; but S alone overstates intra-hub trade against official statistics.
The rule is applied identically to every level and both measures.

**Choice: what counts as trade.** Transshipment moves (``trade`` = ``TRANSSHIPMENT``) are not
trade of the port's country — the box only changes ships there — and are left out; a move
without a ``trade`` is counted (the field only decides how dwell is measured). A move whose
origin or destination country is unknown cannot be placed and is left out; a move without a
declared value is left out of the value measure only. Empty boxes count by TEU (they carry no
declared value): the container trade a port handles includes its empties, as throughput does.
Moves at a port not in the hub are left out of everything, T_w included.

**Choice: the levels.** Mechanism and region: G is the mechanism's member countries (with or
without a hub port: Bolivia's trade through Arica is CAN's) or the region's
(:attr:`~hub.domain.indicators.model.Network.region_countries`). Country c: a group of one would
only measure cabotage, so the country level measures c's trade *with the region*: S = c's trade
with the region ÷ c's trade (T_ii = Σ x·([o = c][d ∈ R] + [d = c][o ∈ R])), against the region's
W. That is Iapadre's intensity of c's trade towards the region, in the same homogeneous form, so
the country and region indices read alike. Every hub country, hub mechanism and the region gets
the four indicators in each period with at least one counted move; ``count`` is the moves with
an end in the group (for the value measure: with a declared value), and the reason of an
undefined value is in ``detail``.

**By HS section and chapter** (docs/indicators.md, "Trade by HS section and chapter"): for a
month and longer periods, the same four indicators are computed again on the moves of each HS
section (:mod:`~hub.domain.indicators.hs`, the 21 sections of HS 2022) and of each chapter (the
code's first two digits) of the goods, named by
:func:`~hub.domain.indicators.model.hs_trade_indicator`
(``intra_regional_share_value_hs_section_xvi_pct``, ``trade_introversion_teu_hs_chapter_08_index``).
Every total is the sector's: S_s = T_ii,s ÷ T_i,s and W_s = T_i,s ÷ T_w,s, T_w,s being all trade
of that sector seen (Iapadre's sectoral index measures a group's bias in a product's trade
against the group's weight in that product's trade, not in all trade). Rows exist only for the
sectors with a counted move in the period and, within a sector, only for the groups with a move
in it (``count`` > 0), which keeps the table to the trade there is. A move without an HS code
(an empty box, a code not given) or with a code outside the HS's chapters (00, 77, 98, 99)
counts in the totals but in no section or chapter, so the sectors need not add up to the total.
Days are not split: a day's trade per chapter rests on a handful of moves and would multiply
the daily rows by up to 118.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from hub.domain.indicators.hs import hs_chapter, hs_section
from hub.domain.indicators.model import (
    INDICATOR_UNITS,
    HsLevel,
    Indicator,
    IndicatorName,
    Network,
    Period,
    TradeFlow,
    detail_json,
    hs_trade_indicator,
    period_start,
)

__all__ = ["TRADE_MOVES", "Introversion", "counted_flows", "introversion", "trade_indicators"]

TRADE_MOVES: Final = frozenset({"DISC", "LOAD"})
_Sector = tuple[HsLevel, str] | None
"""An HS section (its Roman numeral) or chapter (two digits); None: all goods."""
_TRANSSHIPMENT: Final = "TRANSSHIPMENT"


@dataclass(frozen=True, slots=True)
class Introversion:
    """S, W, HI, HE and the RTI of one group; None where undefined, with the reason."""

    share: float | None
    """S = T_ii ÷ T_i (0 to 1); None when T_i is 0."""
    weight: float
    """W = T_i ÷ T_w (0 to 1)."""
    hi: float | None
    he: float | None
    rti: float | None
    """(HI - HE) ÷ (HI + HE), in [-1, 1]; None when W is 0 or 1, or S is undefined."""
    reason: str | None
    """Why the RTI is None (None when it is defined)."""


def introversion(
    t_ii: float, t_i: float, t_w: float, *, partner_trade: float | None = None
) -> Introversion:
    """Iapadre's indices from the trade totals.

    Args:
        t_ii: trade within the group (for a country: with the region).
        t_i: the group's trade.
        t_w: all trade seen, greater than 0.
        partner_trade: the trade that W is measured on, when it is not ``t_i`` (a country's
            index uses the region's weight); default ``t_i``.

    Raises:
        ValueError: ``t_w`` is not positive.
    """
    if t_w <= 0:
        raise ValueError("no trade seen: T_w must be positive")
    weight = (t_i if partner_trade is None else partner_trade) / t_w
    share = t_ii / t_i if t_i > 0 else None
    if weight == 0:
        return Introversion(share, weight, None, None, None, "W is 0: no trade of the group seen")
    if weight == 1:
        return Introversion(
            share, weight, None, None, None, "W is 1: all trade seen is the group's, HE undefined"
        )
    if share is None:
        return Introversion(share, weight, None, None, None, "T_i is 0: no trade of it seen")
    hi, he = share / weight, (1.0 - share) / (1.0 - weight)
    return Introversion(share, weight, hi, he, (hi - he) / (hi + he), None)


@dataclass(frozen=True, slots=True)
class _Pair:
    """The moves of one period from one origin to one destination country, summed: the sums
    over groups run over the few country pairs, not over every move."""

    origin: str
    destination: str
    size: float
    """Σ x of the moves (``math.fsum``: exact, whatever their order)."""
    moves: int


def counted_flows(flows: Iterable[TradeFlow], network: Network) -> list[TradeFlow]:
    """The flows that are trade (see the module docstring): a DISC or LOAD at a hub port, not
    a transshipment, with both countries known."""
    return [
        flow
        for flow in flows
        if flow.port in network.ports
        and flow.move in TRADE_MOVES
        and flow.trade != _TRANSSHIPMENT
        and flow.origin_country is not None
        and flow.destination_country is not None
    ]


def trade_indicators(
    flows: Iterable[TradeFlow], network: Network, period: Period
) -> list[Indicator]:
    """The intra-regional shares and introversion indices, by value and by TEU, of every hub
    country, hub mechanism and the region, per period of the moves' ``occurred_at``; for
    periods longer than a day, also per HS section and chapter of the goods (see the module
    docstring). Unsorted."""
    split = period != "day"
    by_value: dict[tuple[datetime, _Sector], dict[tuple[str, str], list[float]]] = {}
    by_teu: dict[tuple[datetime, _Sector], dict[tuple[str, str], list[float]]] = {}
    for flow in counted_flows(flows, network):
        assert flow.origin_country is not None and flow.destination_country is not None
        start = period_start(flow.occurred_at, period)
        pair = (flow.origin_country, flow.destination_country)
        chapter = hs_chapter(flow.hs_code) if split else None
        sectors: tuple[_Sector, ...] = (
            (None,)
            if chapter is None
            else (None, ("section", hs_section(chapter).number), ("chapter", chapter))
        )
        for sector in sectors:
            by_teu.setdefault((start, sector), {}).setdefault(pair, []).append(flow.teu)
            if flow.value_usd is not None:
                by_value.setdefault((start, sector), {}).setdefault(pair, []).append(
                    float(flow.value_usd)
                )
    rows: list[Indicator] = []
    measures = (
        (
            by_value,
            IndicatorName.INTRA_REGIONAL_SHARE_VALUE_PCT,
            IndicatorName.TRADE_INTROVERSION_VALUE_INDEX,
        ),
        (
            by_teu,
            IndicatorName.INTRA_REGIONAL_SHARE_TEU_PCT,
            IndicatorName.TRADE_INTROVERSION_TEU_INDEX,
        ),
    )
    for periods, share_name, index_name in measures:
        for (start, sector), pairs in periods.items():
            summed = [_Pair(o, d, math.fsum(xs), len(xs)) for (o, d), xs in pairs.items()]
            names = (
                (share_name.value, index_name.value)
                if sector is None
                else (
                    hs_trade_indicator(share_name, *sector),
                    hs_trade_indicator(index_name, *sector),
                )
            )
            rows += _period_rows(
                summed,
                network,
                period,
                start,
                (share_name, names[0]),
                (index_name, names[1]),
                every_group=sector is None,
            )
    return rows


def _trade_of(moves: Sequence[_Pair], group: frozenset[str]) -> float:
    """Σ x·([o ∈ G] + [d ∈ G]): the group's exports plus imports."""
    return math.fsum(m.size * ((m.origin in group) + (m.destination in group)) for m in moves)


def _period_rows(
    moves: Sequence[_Pair],
    network: Network,
    period: Period,
    start: datetime,
    share_name: tuple[IndicatorName, str],
    index_name: tuple[IndicatorName, str],
    *,
    every_group: bool,
) -> list[Indicator]:
    """The rows of every group in one period (and sector: then ``every_group`` is False and
    only the groups that trade in it get rows). A name is (the indicator it is, or is a sector
    of; the name of the row)."""
    t_w = math.fsum(m.size * 2 for m in moves)
    if t_w <= 0:  # only moves of size 0 (declared value 0): nothing to measure
        return []
    region = network.region_countries
    t_region = _trade_of(moves, region)
    rows = []
    for level, entity in network.groups():
        group = network.group_countries(level, entity)
        # A country's partner is the region; a mechanism's or the region's, itself.
        partners = region if level == "country" else group
        t_i = _trade_of(moves, group)
        t_ii = math.fsum(
            m.size
            * (
                (m.origin in group and m.destination in partners)
                + (m.destination in group and m.origin in partners)
            )
            for m in moves
        )
        count = sum(m.moves for m in moves if m.origin in group or m.destination in group)
        if not every_group and count == 0:
            continue
        result = introversion(
            t_ii, t_i, t_w, partner_trade=t_region if level == "country" else None
        )
        share_detail: dict[str, object] = {"T_i": t_i, "T_ii": t_ii}
        if result.share is None:
            share_detail["reason"] = "T_i is 0: no trade of the group seen"
        index_detail: dict[str, object] = {
            "S": result.share,
            "W": result.weight,
            "HI": result.hi,
            "HE": result.he,
        }
        if result.reason is not None:
            index_detail["reason"] = result.reason
        for (name, row_name), value, detail in (
            (share_name, None if result.share is None else result.share * 100.0, share_detail),
            (index_name, result.rti, index_detail),
        ):
            rows.append(
                Indicator(
                    level=level,
                    entity=entity,
                    period=period,
                    period_start=start,
                    indicator=row_name,
                    unit=INDICATOR_UNITS[name].value,
                    count=count,
                    value=value,
                    detail=detail_json(detail),
                )
            )
    return rows
