"""The publishers' data-quality scorecard per port and period (issue 20, item 4).

What a port's feed is worth for the KPIs, as indicators like the others (names end with their
unit; every row carries the count behind it). For every entity with inputs in the period:

- ``publish_delay_min`` — timeliness: ``published_at - occurred_at`` of each event, in minutes;
  ``value`` and ``median`` the median, ``p90``, ``count`` the events. **Choice:** the envelope's
  ``published_at`` (when the publisher sent it), not the hub's ``ingested_at``: it measures the
  publisher, not the hub's own backlog, and the batch reference can compute it from the events
  alone. Only *actual* events count: vessel timestamps classified PLN, EST or REQ are forecasts,
  published before they happen by design; cargo and customs events always report what
  happened. Events derived by the hub's AIS bridge (``source = "AIS"``) are not the port's and
  never count. The delay is signed: a publisher whose clock runs ahead shows a negative one.
  Every event stored counts (a retraction, and the event it retracts, were each published).
- ``calls_complete_pct`` — the port's calls with every ACT timestamp SPEC §2's KPIs need ÷ its
  calls * 100: T_arr (ACT ARRI at PORT, ANCH or PBPL), T_af (ACT ARRI BRTH), T_fl (ACT STRT BRTH),
  T_ll (ACT CMPL BRTH), T_dep (ACT DEPA BRTH), each declared (not ``source = "AIS"``). A call
  counts in the period of its first vessel event, as ``vessel_calls_per_week`` does; ``detail``
  how many calls miss each timestamp (``{"missing": {"T_dep": 2}}``). A call still under way
  misses its later timestamps: the most recent days rise as calls finish.
- ``moves_with_crane_and_call_pct`` — DISC and LOAD moves naming both ``crane_id`` and
  ``port_call_id`` ÷ DISC and LOAD moves * 100 (crane productivity and call size need both), in
  the period of the move; ``detail`` the moves without a crane and without a call.
- ``declarations_linked_pct`` — declarations whose lodgement names a port call or lists at least
  one container ÷ declarations lodged * 100 (the release time needs the arrival that either
  gives). **Choice:** judged on the lodgement (the LODGED event; a lodgement sent again counts
  once, its latest version), in the period of the first lodgement, every regime; a link is what
  the declaration names (whether that call or box is known is the conformance check's question).
  ``detail`` how many name a call and how many list containers.
- ``refusal_rate_pct`` — refused ÷ (refused + accepted) * 100; ``count`` = refused + accepted;
  ``detail`` the refusals per reason. Refused: the rows of ``publisher_rejection_counts`` whose
  publisher is the port (its UN/LOCODE); accepted: the port's events stored (AIS-derived ones
  excepted). **The two are counted by different clocks:** a refusal falls on the UTC day the
  hub refused it (a refused record may have no readable event time), an accepted event in the
  period of its ``occurred_at``; a day's rate mixes the refusals of that day with the events
  that happened that day, which for a feed published as it happens is the same traffic.
- ``refusal_rate_<reason>_pct`` (:func:`~hub.domain.indicators.model.refusal_indicator`) — the
  same for each reason that occurs: refused for that reason ÷ (refused + accepted) * 100, so
  the reasons add up to ``refusal_rate_pct``.
- ``arrivals_off_ais_pct`` — the mean of the calls' ``arrival_mismatch_flag`` * 100 (SPEC §2's
  rules: flagged and open values out), in the period of the AIS arrival: the share of the calls
  seen by AIS whose declared arrival differs by more than the tolerance (``docs/ais.md``).

**Levels — Choice:** every measure is pooled over the entity's ports, as the §2 aggregates are (a
country's completeness is its calls together; its median delay the median of all its ports'
events): a busy port weighs by its traffic. A country's refusals add those of its single window
(publisher = the country's ISO code), whose accepted customs events already count at their
ports; refusals of an unknown publisher ('') count nowhere.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Final

from hub.domain.indicators.aggregates import aggregatable, describe
from hub.domain.indicators.model import (
    INDICATOR_UNITS,
    EntityRef,
    Indicator,
    IndicatorName,
    Network,
    Period,
    detail_json,
    period_start,
    refusal_indicator,
)
from hub.domain.kpis.model import KpiName, KpiValue
from hub.domain.kpis.port_calls import AIS_SOURCE

__all__ = [
    "CALL_TIMESTAMPS",
    "CallActuals",
    "FeedEvent",
    "LodgedDeclaration",
    "MoveLinks",
    "QualityInputs",
    "RefusalCount",
    "quality_indicators",
]

CALL_TIMESTAMPS: Final[Mapping[str, frozenset[str]]] = {
    "T_arr": frozenset({"ARRI PORT", "ARRI ANCH", "ARRI PBPL"}),
    "T_af": frozenset({"ARRI BRTH"}),
    "T_fl": frozenset({"STRT BRTH"}),
    "T_ll": frozenset({"CMPL BRTH"}),
    "T_dep": frozenset({"DEPA BRTH"}),
}
"""SPEC §2's timestamps of a call and the ACT ``"{operation} {facility}"`` that give each."""

_FORECASTS: Final = frozenset({"PLN", "EST", "REQ"})


# --- inputs -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FeedEvent:
    """One stored event as its publisher sent it: for timeliness and the accepted count."""

    event_id: str
    port: str
    occurred_at: datetime
    published_at: datetime
    classifier: str | None
    """A vessel timestamp's ``PLN``/``EST``/``ACT``/``REQ``; None for the other domains."""
    source: str | None


@dataclass(frozen=True, slots=True)
class CallActuals:
    """A port call, placed at its first vessel event, with its declared ACT timestamps."""

    port: str
    port_call_id: str
    first_at: datetime
    actuals: frozenset[str]
    """``"{operation} {facility}"`` of each declared (not AIS) ACT vessel event: ``"ARRI BRTH"``."""


@dataclass(frozen=True, slots=True)
class MoveLinks:
    """One DISC or LOAD move and whether it names its crane and its call."""

    port: str
    occurred_at: datetime
    has_crane: bool
    has_call: bool


@dataclass(frozen=True, slots=True)
class LodgedDeclaration:
    """A declaration's lodgement (its latest LODGED event, placed at the first)."""

    port: str
    declaration_id: str
    lodged_at: datetime
    names_call: bool
    lists_containers: bool


@dataclass(frozen=True, slots=True)
class RefusalCount:
    """Records of one publisher refused for one reason on one UTC day
    (``publisher_rejection_counts``, summed over domains)."""

    publisher: str
    """A port's UN/LOCODE, a single window's ISO country code, or '' (unknown)."""
    day: date
    reason: str
    events: int


@dataclass(frozen=True, slots=True)
class QualityInputs:
    """Everything the scorecard reads besides the KPI values (``hub.domain.indicators.inputs``
    builds them from events; the stream from PostgreSQL)."""

    feed: Sequence[FeedEvent] = ()
    calls: Sequence[CallActuals] = ()
    moves: Sequence[MoveLinks] = ()
    declarations: Sequence[LodgedDeclaration] = ()
    refusals: Sequence[RefusalCount] = ()


# --- the indicators ---------------------------------------------------------------------------

_Key = tuple[EntityRef, datetime]


def quality_indicators(
    kpis: Iterable[KpiValue], inputs: QualityInputs, network: Network, period: Period
) -> list[Indicator]:
    """The scorecard of every entity with inputs, per period (see the module docstring).
    Unsorted. Inputs of a port not in the hub count nowhere."""
    return [
        *_timeliness(inputs.feed, network, period),
        *_refusal_rates(inputs.feed, inputs.refusals, network, period),
        *_calls_complete(inputs.calls, network, period),
        *_moves_linked(inputs.moves, network, period),
        *_declarations_linked(inputs.declarations, network, period),
        *_arrivals_off_ais(kpis, network, period),
    ]


def _row(
    key: _Key,
    period: Period,
    name: IndicatorName | str,
    count: int,
    value: float | None,
    detail: Mapping[str, object] | None = None,
    median: float | None = None,
    p90: float | None = None,
) -> Indicator:
    (level, entity), start = key
    unit = INDICATOR_UNITS[name].value if isinstance(name, IndicatorName) else "%"
    return Indicator(
        level=level,
        entity=entity,
        period=period,
        period_start=start,
        indicator=str(name),
        unit=unit,
        count=count,
        value=value,
        median=median,
        p90=p90,
        detail=None if detail is None else detail_json(detail),
    )


def _unique(feed: Iterable[FeedEvent]) -> list[FeedEvent]:
    seen: set[str] = set()
    events = []
    for event in feed:
        if event.event_id not in seen and event.source != AIS_SOURCE:
            seen.add(event.event_id)
            events.append(event)
    return events


def _timeliness(feed: Iterable[FeedEvent], network: Network, period: Period) -> list[Indicator]:
    delays: dict[_Key, list[float]] = {}
    for event in _unique(feed):
        if event.classifier in _FORECASTS:
            continue
        minutes = (event.published_at - event.occurred_at).total_seconds() / 60.0
        start = period_start(event.occurred_at, period)
        for ref in network.of_port(event.port):
            delays.setdefault((ref, start), []).append(minutes)
    rows = []
    for key, values in delays.items():
        stats = describe(values)
        rows.append(
            _row(key, period, IndicatorName.PUBLISH_DELAY_MIN, stats.count, stats.median,
                 median=stats.median, p90=stats.p90)
        )  # fmt: skip
    return rows


def _refusal_rates(
    feed: Iterable[FeedEvent],
    refusals: Iterable[RefusalCount],
    network: Network,
    period: Period,
) -> list[Indicator]:
    accepted: Counter[_Key] = Counter()
    for event in _unique(feed):
        start = period_start(event.occurred_at, period)
        for ref in network.of_port(event.port):
            accepted[(ref, start)] += 1
    refused: dict[_Key, Counter[str]] = {}
    for refusal in refusals:
        if refusal.events <= 0:
            continue
        day = datetime(refusal.day.year, refusal.day.month, refusal.day.day, tzinfo=UTC)
        start = period_start(day, period)
        refs = network.of_port(refusal.publisher) or network.of_country(refusal.publisher)
        for ref in refs:
            refused.setdefault((ref, start), Counter())[refusal.reason] += refusal.events
    rows = []
    for key in accepted.keys() | refused.keys():
        reasons = refused.get(key, Counter())
        total = sum(reasons.values()) + accepted[key]
        rows.append(
            _row(key, period, IndicatorName.REFUSAL_RATE_PCT, total,
                 100.0 * sum(reasons.values()) / total, dict(sorted(reasons.items())))
        )  # fmt: skip
        rows += [
            _row(key, period, refusal_indicator(reason), total, 100.0 * n / total)
            for reason, n in sorted(reasons.items())
        ]
    return rows


def _calls_complete(
    calls: Iterable[CallActuals], network: Network, period: Period
) -> list[Indicator]:
    seen: set[tuple[str, str]] = set()
    groups: dict[_Key, list[list[str]]] = {}
    for call in calls:
        if (call.port, call.port_call_id) in seen:
            raise ValueError(f"the call {call.port}/{call.port_call_id} appears twice")
        seen.add((call.port, call.port_call_id))
        missing = [name for name, ways in CALL_TIMESTAMPS.items() if not ways & call.actuals]
        start = period_start(call.first_at, period)
        for ref in network.of_port(call.port):
            groups.setdefault((ref, start), []).append(missing)
    rows = []
    for key, members in groups.items():
        complete = sum(1 for missing in members if not missing)
        misses = Counter(name for missing in members for name in missing)
        rows.append(
            _row(key, period, IndicatorName.CALLS_COMPLETE_PCT, len(members),
                 100.0 * complete / len(members), {"missing": dict(sorted(misses.items()))})
        )  # fmt: skip
    return rows


def _moves_linked(moves: Iterable[MoveLinks], network: Network, period: Period) -> list[Indicator]:
    groups: dict[_Key, list[MoveLinks]] = {}
    for move in moves:
        start = period_start(move.occurred_at, period)
        for ref in network.of_port(move.port):
            groups.setdefault((ref, start), []).append(move)
    rows = []
    for key, members in groups.items():
        linked = sum(1 for m in members if m.has_crane and m.has_call)
        detail = {
            "without_call": sum(1 for m in members if not m.has_call),
            "without_crane": sum(1 for m in members if not m.has_crane),
        }
        rows.append(
            _row(key, period, IndicatorName.MOVES_WITH_CRANE_AND_CALL_PCT, len(members),
                 100.0 * linked / len(members), detail)
        )  # fmt: skip
    return rows


def _declarations_linked(
    declarations: Iterable[LodgedDeclaration], network: Network, period: Period
) -> list[Indicator]:
    latest: dict[tuple[str, str], LodgedDeclaration] = {}
    for declaration in declarations:
        latest[(declaration.port, declaration.declaration_id)] = declaration
    groups: dict[_Key, list[LodgedDeclaration]] = {}
    for declaration in latest.values():
        start = period_start(declaration.lodged_at, period)
        for ref in network.of_port(declaration.port):
            groups.setdefault((ref, start), []).append(declaration)
    rows = []
    for key, members in groups.items():
        linked = sum(1 for d in members if d.names_call or d.lists_containers)
        detail = {
            "lists_containers": sum(1 for d in members if d.lists_containers),
            "names_call": sum(1 for d in members if d.names_call),
        }
        rows.append(
            _row(key, period, IndicatorName.DECLARATIONS_LINKED_PCT, len(members),
                 100.0 * linked / len(members), detail)
        )  # fmt: skip
    return rows


def _arrivals_off_ais(
    kpis: Iterable[KpiValue], network: Network, period: Period
) -> list[Indicator]:
    flags: dict[_Key, list[float]] = {}
    for kpi in kpis:
        if kpi.kpi != KpiName.ARRIVAL_MISMATCH_FLAG or not aggregatable(kpi):
            continue
        assert kpi.value is not None and kpi.anchor_time is not None  # aggregatable
        start = period_start(kpi.anchor_time, period)
        for ref in network.of_port(kpi.port):
            flags.setdefault((ref, start), []).append(kpi.value)
    return [
        _row(key, period, IndicatorName.ARRIVALS_OFF_AIS_PCT, len(values),
             100.0 * sum(values) / len(values))
        for key, values in flags.items()
    ]  # fmt: skip
