"""The publishers' data-quality scorecard on small cases computed by hand (issue 20, item 4).

Every expected value below is worked out from the definitions (hub/domain/indicators/quality.py,
docs/kpis.md "Data-quality scorecard"), with the arithmetic in the comments, not read off the
code's output. The events go through the same conversions as the stream's
(hub/domain/indicators/inputs.py) and through ``all_indicators``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

import pytest

from hub.domain.indicators.inputs import call_actuals, feed_events, lodged_declarations, move_links
from hub.domain.indicators.model import Indicator, Period, refusal_indicator
from hub.domain.indicators.quality import QualityInputs, RefusalCount
from hub.domain.indicators.reference import all_indicators
from hub.domain.kpis.model import KpiValue
from hub.domain.kpis.reference import all_kpis
from schemas.models import Classifier, CustomsKind, Envelope, Facility, Move, Operation, Regime
from tests.unit.indicators.builders import MECHANISMS, PORTS, one, pick
from tests.unit.kpis.builders import BOX, BOX2, at, cargo, customs, retraction, vessel

ARRI, DEPA, STRT, CMPL = Operation.ARRI, Operation.DEPA, Operation.STRT, Operation.CMPL
PORT_LIMITS, PBPL, BRTH = Facility.PORT, Facility.PBPL, Facility.BRTH
DAY = datetime(2026, 3, 2, tzinfo=UTC)  # T0 of the KPI builders: at(h) is DAY + h hours
NEXT_DAY = DAY + timedelta(days=1)


def scorecard(
    events: Sequence[Envelope],
    period: Period = "day",
    refusals: Sequence[RefusalCount] = (),
    kpis: Sequence[KpiValue] = (),
) -> list[Indicator]:
    quality = QualityInputs(
        feed=feed_events(events),
        calls=call_actuals(events),
        moves=move_links(events),
        declarations=lodged_declarations(events),
        refusals=refusals,
    )
    return all_indicators(kpis, [], [], [], PORTS, MECHANISMS, period, quality=quality)


def published(event: Envelope, minutes: float) -> Envelope:
    """``event`` published ``minutes`` after it occurred (negative: before)."""
    return event.model_copy(update={"published_at": event.occurred_at + timedelta(minutes=minutes)})


# Timeliness and refusals. Callao (PECLL):
#   a  DISC at 02:00, published 10 min later          delay 10
#   b  LOAD at 03:00, published 30 min later          delay 30
#   c  ACT ARRI PORT at 01:00, published 2 min later  delay 2
#   d  EST ARRI BRTH at 08:00, published at 00:00     a forecast: no delay; accepted
#   e  ACT ARRI PORT from AIS at 00:30                the hub's own: neither delay nor accepted
#   f  LODGED at 04:00, published 60 min later        delay 60
#   a  again (the same event id)                      counts once
# Paita (PEPAI): g  DISC at 05:00, published 5 min BEFORE it occurred   delay -5
A = published(cargo(Move.DISC, 2), 10)
FEED = [
    A,
    published(cargo(Move.LOAD, 3), 30),
    published(vessel(ARRI, PORT_LIMITS, 1), 2),
    vessel(ARRI, BRTH, 8, classifier=Classifier.EST, published_at=at(0)),
    vessel(ARRI, PORT_LIMITS, 0.5, source="AIS", mmsi="725001234"),
    published(customs(CustomsKind.LODGED, 4), 60),
    A,
    published(cargo(Move.DISC, 5, port="PEPAI"), -5),
]
# Refusals: Callao on the day SCHEMA_INVALID 2 (cargo) + 1 (vessel) = 3, TOO_LATE 2; Peru's
# single window PORT_NOT_OWNED 1; an unknown publisher 4 and a port not in the hub 7 (nowhere);
# Callao on the next day UNDECODABLE 1.
REFUSALS = [
    RefusalCount("PECLL", DAY.date(), "SCHEMA_INVALID", 2),
    RefusalCount("PECLL", DAY.date(), "SCHEMA_INVALID", 1),
    RefusalCount("PECLL", DAY.date(), "TOO_LATE", 2),
    RefusalCount("PE", DAY.date(), "PORT_NOT_OWNED", 1),
    RefusalCount("", DAY.date(), "UNDECODABLE", 4),
    RefusalCount("USNYC", DAY.date(), "UNKNOWN_PORT", 7),
    RefusalCount("PECLL", date(2026, 3, 3), "UNDECODABLE", 1),
]


def test_timeliness_is_the_median_delay_of_the_actual_events() -> None:
    rows = scorecard(FEED)
    callao = one(rows, "publish_delay_min", "port", "PECLL")
    # Callao's delays 2, 10, 30, 60: median (10 + 30) / 2 = 20; p90 at rank 0.9 * 3 = 2.7:
    # 30 + 0.7 * (60 - 30) = 51.
    assert (callao.value, callao.median, callao.count, callao.unit) == (20.0, 20.0, 4, "min")
    assert callao.p90 == pytest.approx(51.0)
    peru = one(rows, "publish_delay_min", "country", "PE")
    # Peru pools Callao's and Paita's: -5, 2, 10, 30, 60: median 10; p90 at rank 0.9 * 4 = 3.6:
    # 30 + 0.6 * 30 = 48.
    assert (peru.value, peru.count) == (10.0, 5)
    assert peru.p90 == pytest.approx(48.0)
    assert one(rows, "publish_delay_min", "port", "PEPAI").value == -5.0  # signed


def test_the_refusal_rate_is_refused_over_refused_and_accepted_by_reason() -> None:
    rows = scorecard(FEED, refusals=REFUSALS)
    day = [r for r in rows if r.period_start == DAY]
    callao = one(day, "refusal_rate_pct", "port", "PECLL")
    # Callao accepted a, b, c, d, f = 5 (e is AIS, a counts once); refused 3 + 2 = 5.
    # 5 / (5 + 5) * 100 = 50 %, count 10.
    assert (callao.value, callao.count, callao.unit) == (50.0, 10, "%")
    assert json.loads(callao.detail or "") == {"SCHEMA_INVALID": 3, "TOO_LATE": 2}
    schema = one(day, refusal_indicator("SCHEMA_INVALID"), "port", "PECLL")
    assert (schema.indicator, schema.value, schema.count) == (
        "refusal_rate_schema_invalid_pct", 30.0, 10,  # 3 / 10
    )  # fmt: skip
    assert one(day, "refusal_rate_too_late_pct", "port", "PECLL").value == 20.0  # 2 / 10
    # Paita: 1 accepted, nothing refused: 0 %, and no per-reason row.
    paita = one(day, "refusal_rate_pct", "port", "PEPAI")
    assert (paita.value, paita.count) == (0.0, 1)
    paita_names = {r.indicator for r in day if (r.level, r.entity) == ("port", "PEPAI")}
    assert {name for name in paita_names if name.startswith("refusal")} == {"refusal_rate_pct"}
    # Peru: refused Callao's 5 + its single window's 1 = 6; accepted 5 + 1 = 6: 6 / 12 = 50 %.
    peru = one(day, "refusal_rate_pct", "country", "PE")
    assert (peru.value, peru.count) == (50.0, 12)
    assert one(day, "refusal_rate_port_not_owned_pct", "country", "PE").value == pytest.approx(
        100 / 12  # 1 / 12
    )
    assert one(day, "refusal_rate_schema_invalid_pct", "country", "PE").value == 25.0  # 3 / 12
    # The region: Peru's, nothing else (the unknown publisher and USNYC count nowhere).
    region = one(day, "refusal_rate_pct", "region", "LAC")
    assert (region.value, region.count) == (50.0, 12)
    # The next day: 1 refused, nothing accepted: 100 %.
    next_day = one([r for r in rows if r.period_start == NEXT_DAY], "refusal_rate_pct", "port",
                   "PECLL")  # fmt: skip
    assert (next_day.value, next_day.count) == (100.0, 1)
    # Chile has neither events nor refusals: no row.
    assert pick(rows, "refusal_rate_pct", "port", "CLVAP") == []


def test_a_months_refusal_rate_sums_its_days() -> None:
    rows = scorecard(FEED, "month", REFUSALS)
    callao = one(rows, "refusal_rate_pct", "port", "PECLL")
    # March: refused 5 + 1 = 6, accepted 5: 6 / 11 * 100 = 54.5454...
    assert callao.count == 11
    assert callao.value == pytest.approx(600 / 11)
    assert one(rows, "refusal_rate_undecodable_pct", "port", "PECLL").value == pytest.approx(
        100 / 11
    )


# Calls at Callao, all first seen on the day:
#   C1  ACT ARRI PORT 01:00, ARRI PBPL 01:30, ARRI BRTH 03:00, STRT 04:00, CMPL 10:00,
#       DEPA 11:00; AIS saw it cross the port limits at 00:15 (45 min before: off, > 30 min)
#       → every timestamp: complete
#   C2  EST ARRI PORT 00:45 (a forecast), ACT ARRI PORT 02:00, ARRI BRTH 04:00, STRT 05:00,
#       CMPL 09:00, no departure; AIS at 01:54 (6 min before: not off)   → misses T_dep
#   C3  ACT ARRI BRTH 06:00, DEPA 20:00; AIS at 05:00 (no declared arrival: no comparison)
#       → misses T_arr (the AIS arrival does not count), T_fl, T_ll
CALLS = [
    vessel(ARRI, PORT_LIMITS, 1, call="C1"),
    vessel(ARRI, PBPL, 1.5, call="C1"),
    vessel(ARRI, BRTH, 3, call="C1"),
    vessel(STRT, BRTH, 4, call="C1"),
    vessel(CMPL, BRTH, 10, call="C1"),
    vessel(DEPA, BRTH, 11, call="C1"),
    vessel(ARRI, PORT_LIMITS, 0.25, call="C1", source="AIS", mmsi="725001234"),
    vessel(ARRI, PORT_LIMITS, 0.75, call="C2", classifier=Classifier.EST),
    vessel(ARRI, PORT_LIMITS, 2, call="C2"),
    vessel(ARRI, BRTH, 4, call="C2"),
    vessel(STRT, BRTH, 5, call="C2"),
    vessel(CMPL, BRTH, 9, call="C2"),
    vessel(ARRI, PORT_LIMITS, 1.9, call="C2", source="AIS", mmsi="725001235"),
    vessel(ARRI, BRTH, 6, call="C3"),
    vessel(DEPA, BRTH, 20, call="C3"),
    vessel(ARRI, PORT_LIMITS, 5, call="C3", source="AIS", mmsi="725001236"),
]


def test_a_call_is_complete_with_every_act_timestamp_the_kpis_need() -> None:
    rows = scorecard(CALLS, kpis=all_kpis(CALLS))
    complete = one(rows, "calls_complete_pct", "port", "PECLL")
    # 1 complete call of 3: 100 / 3 = 33.33 %; missing T_arr 1 (C3), T_dep 1 (C2), T_fl 1 and
    # T_ll 1 (C3).
    assert complete.count == 3
    assert complete.value == pytest.approx(100 / 3)
    assert json.loads(complete.detail or "") == {
        "missing": {"T_arr": 1, "T_dep": 1, "T_fl": 1, "T_ll": 1}
    }


def test_arrivals_off_ais_are_the_share_of_flagged_calls() -> None:
    rows = scorecard(CALLS, kpis=all_kpis(CALLS))
    off = one(rows, "arrivals_off_ais_pct", "port", "PECLL")
    # C1 off by 45 min (> 30: flag 1), C2 by 6 min (flag 0), C3 not comparable: 1 / 2 = 50 %.
    assert (off.value, off.count, off.unit) == (50.0, 2, "%")
    assert one(rows, "arrivals_off_ais_pct", "region", "LAC").value == 50.0


def test_moves_need_a_crane_and_a_call() -> None:
    wrong = cargo(Move.DISC, 5, box=BOX2, crane=None)
    events = [
        cargo(Move.DISC, 1),  # crane and call
        cargo(Move.LOAD, 2),  # crane and call
        cargo(Move.DISC, 3, crane=None),  # no crane
        cargo(Move.LOAD, 4, call=None),  # no call
        cargo(Move.DISC, 4.5, crane=None, call=None),  # neither
        wrong,
        retraction(wrong, crane_id="STS-02"),  # corrected: crane and call
        cargo(Move.GTIN, 0),  # not a vessel move
        cargo(Move.RSTW, 6),  # a restow: not DISC or LOAD
    ]
    moves = one(scorecard(events), "moves_with_crane_and_call_pct", "port", "PECLL")
    # Effective DISC/LOAD moves: at 1, 2, 3, 4, 4.5 and the corrected one = 6; with both: 1, 2
    # and the correction = 3: 3 / 6 = 50 %; without a call 2 (4, 4.5), without a crane 2 (3,
    # 4.5).
    assert (moves.value, moves.count) == (50.0, 6)
    assert json.loads(moves.detail or "") == {"without_call": 2, "without_crane": 2}


def test_a_declaration_is_linked_when_its_lodgement_names_a_call_or_containers() -> None:
    events = [
        customs(CustomsKind.LODGED, 1, declaration="D1", call="C1"),
        customs(CustomsKind.LODGED, 1, declaration="D2", boxes=(BOX,)),
        customs(CustomsKind.LODGED, 1, declaration="D3"),
        customs(CustomsKind.LODGED, 1, declaration="D4"),
        customs(CustomsKind.LODGED, 2, declaration="D4", call="C1"),  # lodged again, linked
        customs(CustomsKind.RELEASED, 3, declaration="D5", call="C1"),  # never lodged
        customs(CustomsKind.LODGED, 1, declaration="D6", call="C1", regime=Regime.EXPORT),
    ]
    linked = one(scorecard(events), "declarations_linked_pct", "port", "PECLL")
    # Lodged: D1, D2, D3, D4, D6 = 5; linked: D1 (call), D2 (boxes), D4 (its latest lodgement
    # names a call), D6 (call) = 4: 4 / 5 = 80 %; naming a call 3 (D1, D4, D6), boxes 1 (D2).
    assert (linked.value, linked.count) == (80.0, 5)
    assert json.loads(linked.detail or "") == {"lists_containers": 1, "names_call": 3}
