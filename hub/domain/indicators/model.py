"""What the indicator functions read and return, the levels they roll up to, and the periods.

SPEC §4: "Levels: port → country → integration mechanism → region. Periods: day, month (by event
time). Every indicator row carries the count of entities behind it."

The inputs are plain dataclasses, not database rows or events: the stream builds them from
PostgreSQL, the tests by hand, and the functions of this package never know which. The output is
:class:`Indicator`, one row per (level, entity, period, indicator). The names of the indicators,
like the KPIs', end with their unit (``port_hours_h``, ``intra_regional_share_value_pct``);
:class:`IndicatorName` and :data:`INDICATOR_UNITS` spell them, and nothing else does (the one
exceptions, the per-reason certificate rejections and publisher refusals, the per-agreement
certificate adoption and the trade indices per HS section and chapter, are built by
:func:`rejection_indicator`, :func:`refusal_indicator`, :func:`adoption_indicator` and
:func:`hs_trade_indicator`).

:class:`Network` answers "which entities does this port (or country) count in": its country,
every mechanism containing that country (a country may be in several: CO is in PA and CAN), and
the region. A mechanism none of whose countries has a hub port produces nothing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType
from typing import Final, Literal, get_args

from hub.domain.kpis.model import KpiName

__all__ = [
    "INDICATOR_UNITS",
    "LAC_COUNTRIES",
    "PERIODS",
    "REGION",
    "CallInfo",
    "CertificateOutcome",
    "EntityRef",
    "HsLevel",
    "Indicator",
    "IndicatorName",
    "IndicatorUnit",
    "Level",
    "Mechanism",
    "Network",
    "Period",
    "PortInfo",
    "TradeFlow",
    "adoption_indicator",
    "days_in",
    "detail_json",
    "hs_trade_indicator",
    "period_end",
    "period_start",
    "refusal_indicator",
    "rejection_indicator",
]

Level = Literal["port", "country", "mechanism", "region"]
"""Where an indicator is about (SPEC §4 "Levels: port → country → integration mechanism →
region")."""

Period = Literal["day", "month", "quarter", "half-year", "year"]
"""UTC day, calendar month, quarter (from 1 January, April, July, October), half-year (from 1
January, July) or year of the event time (SPEC §4 "Periods: day, month (by event time)"; the
longer ones for the Network's quarterly, half-yearly and yearly reports)."""

PERIODS: Final[tuple[Period, ...]] = get_args(Period)
"""Every period, shortest first."""

_MONTHS_IN: Final[Mapping[Period, int]] = MappingProxyType(
    {"month": 1, "quarter": 3, "half-year": 6, "year": 12}
)
"""The months a period of more than a day spans."""

REGION: Final = "LAC"
"""The entity of the region level: Latin America and the Caribbean, i.e. every hub port."""

# fmt: off
LAC_COUNTRIES: Final = frozenset({
    "AG", "AR", "BB", "BO", "BR", "BS", "BZ", "CL", "CO", "CR", "CU", "DM",
    "DO", "EC", "GD", "GT", "GY", "HN", "HT", "JM", "KN", "LC", "MX", "NI",
    "PA", "PE", "PY", "SR", "SV", "TT", "UY", "VC", "VE",
})
# fmt: on
"""The 33 Latin American and Caribbean member states of ECLAC (ISO 3166-1 alpha-2).

**Choice:** SPEC does not list the region's countries. For trade, "the region" is these
countries plus every country of a hub port and every member of a mechanism
(:attr:`Network.region_countries`), so that a territory such as Montserrat (CARICOM) or a port
added in a new country is never counted as outside its own region."""


class IndicatorUnit(StrEnum):
    """Units of the indicators (``Indicator.unit``); the KPIs' units keep their spelling."""

    HOURS = "h"
    MINUTES = "min"
    DAYS = "days"
    MOVES_PER_HOUR = "moves/h"
    TEU = "TEU"
    TONNES = "t"
    PERCENT = "%"
    INDEX = "index"
    """A dimensionless index (the trade introversion index, in [-1, 1])."""
    SCORE = "score"
    """Points from 0 (worst) to 100 (best)."""
    CALLS_PER_WEEK = "calls/week"
    COUNT = "count"


class IndicatorName(StrEnum):
    """Every indicator of SPEC §4 (the per-reason rejections aside: :func:`rejection_indicator`)."""

    # Aggregates of SPEC §2 (aggregates.py): mean, median, p90 and count of the entity values.
    PORT_HOURS_H = KpiName.PORT_HOURS_H.value
    WAITING_TIME_H = KpiName.WAITING_TIME_H.value
    BERTH_PRODUCTIVITY_MOVES_PER_H = KpiName.BERTH_PRODUCTIVITY_MOVES_PER_H.value
    DWELL_DAYS = KpiName.DWELL_DAYS.value
    TRUCK_TURNAROUND_MIN = KpiName.TRUCK_TURNAROUND_MIN.value
    RELEASE_TIME_H = KpiName.RELEASE_TIME_H.value
    PHYSICAL_INSPECTION_RATE_PCT = "physical_inspection_rate_pct"
    THROUGHPUT_TEU = KpiName.THROUGHPUT_TEU.value
    THROUGHPUT_T = KpiName.THROUGHPUT_T.value
    CALL_SIZE_ADJUSTED_PORT_HOURS_H = "call_size_adjusted_port_hours_h"
    # emissions.py: totals over the calls (median and p90 per call), and the avoidable share.
    CO2_ANCHORAGE_T = KpiName.CO2_ANCHORAGE_T.value
    CO2_BERTH_T = KpiName.CO2_BERTH_T.value
    CO2_T = KpiName.CO2_T.value
    CO2_AVOIDABLE_T = KpiName.CO2_AVOIDABLE_T.value
    SOX_T = KpiName.SOX_T.value
    CO2_AVOIDABLE_PCT = "co2_avoidable_pct"
    # Arrival predictability (aggregates.py): means of the ETA accuracy KPIs, share within 1 h.
    ETA_ERROR_H = KpiName.ETA_ERROR_H.value
    ETA_ABS_ERROR_H = KpiName.ETA_ABS_ERROR_H.value
    ETA_ERROR_24H_H = KpiName.ETA_ERROR_24H_H.value
    ETA_ABS_ERROR_24H_H = KpiName.ETA_ABS_ERROR_24H_H.value
    ETA_ERROR_72H_H = KpiName.ETA_ERROR_72H_H.value
    ETA_ABS_ERROR_72H_H = KpiName.ETA_ABS_ERROR_72H_H.value
    ETA_WITHIN_1H_PCT = "eta_within_1h_pct"
    # score.py
    PORT_PERFORMANCE_SCORE = "port_performance_score"
    # trade.py: by declared value and by TEU.
    INTRA_REGIONAL_SHARE_VALUE_PCT = "intra_regional_share_value_pct"
    INTRA_REGIONAL_SHARE_TEU_PCT = "intra_regional_share_teu_pct"
    TRADE_INTROVERSION_VALUE_INDEX = "trade_introversion_value_index"
    TRADE_INTROVERSION_TEU_INDEX = "trade_introversion_teu_index"
    # connectivity.py
    VESSEL_CALLS_PER_WEEK = "vessel_calls_per_week"
    DISTINCT_SERVICES_COUNT = "distinct_services_count"
    CONNECTED_PORTS_COUNT = "connected_ports_count"
    LARGEST_SHIP_TEU = "largest_ship_teu"
    # certificates.py
    CERTIFICATES_COUNT = "certificates_count"
    CERTIFICATES_VALID_PCT = "certificates_valid_pct"
    CERTIFICATE_REJECTIONS_COUNT = "certificate_rejections_count"
    CERTIFICATE_VERDICT_TIME_H = "certificate_verdict_time_h"
    CERTIFICATE_ADOPTION_PCT = "certificate_adoption_pct"
    # certificate_effect.py: release times with a VALID digital certificate and without one.
    RELEASE_TIME_WITH_VALID_CERTIFICATE_H = "release_time_with_valid_certificate_h"
    RELEASE_TIME_WITHOUT_CERTIFICATE_H = "release_time_without_certificate_h"
    DIGITAL_CERTIFICATE_IMPACT_PCT = "digital_certificate_impact_pct"
    # quality.py: the publishers' data-quality scorecard (per-reason refusals:
    # :func:`refusal_indicator`).
    PUBLISH_DELAY_MIN = "publish_delay_min"
    CALLS_COMPLETE_PCT = "calls_complete_pct"
    MOVES_WITH_CRANE_AND_CALL_PCT = "moves_with_crane_and_call_pct"
    DECLARATIONS_LINKED_PCT = "declarations_linked_pct"
    REFUSAL_RATE_PCT = "refusal_rate_pct"
    ARRIVALS_OFF_AIS_PCT = "arrivals_off_ais_pct"


INDICATOR_UNITS: Final[Mapping[IndicatorName, IndicatorUnit]] = MappingProxyType(
    {
        IndicatorName.PORT_HOURS_H: IndicatorUnit.HOURS,
        IndicatorName.WAITING_TIME_H: IndicatorUnit.HOURS,
        IndicatorName.BERTH_PRODUCTIVITY_MOVES_PER_H: IndicatorUnit.MOVES_PER_HOUR,
        IndicatorName.DWELL_DAYS: IndicatorUnit.DAYS,
        IndicatorName.TRUCK_TURNAROUND_MIN: IndicatorUnit.MINUTES,
        IndicatorName.RELEASE_TIME_H: IndicatorUnit.HOURS,
        IndicatorName.PHYSICAL_INSPECTION_RATE_PCT: IndicatorUnit.PERCENT,
        IndicatorName.THROUGHPUT_TEU: IndicatorUnit.TEU,
        IndicatorName.THROUGHPUT_T: IndicatorUnit.TONNES,
        IndicatorName.CALL_SIZE_ADJUSTED_PORT_HOURS_H: IndicatorUnit.HOURS,
        IndicatorName.CO2_ANCHORAGE_T: IndicatorUnit.TONNES,
        IndicatorName.CO2_BERTH_T: IndicatorUnit.TONNES,
        IndicatorName.CO2_T: IndicatorUnit.TONNES,
        IndicatorName.CO2_AVOIDABLE_T: IndicatorUnit.TONNES,
        IndicatorName.SOX_T: IndicatorUnit.TONNES,
        IndicatorName.CO2_AVOIDABLE_PCT: IndicatorUnit.PERCENT,
        IndicatorName.ETA_ERROR_H: IndicatorUnit.HOURS,
        IndicatorName.ETA_ABS_ERROR_H: IndicatorUnit.HOURS,
        IndicatorName.ETA_ERROR_24H_H: IndicatorUnit.HOURS,
        IndicatorName.ETA_ABS_ERROR_24H_H: IndicatorUnit.HOURS,
        IndicatorName.ETA_ERROR_72H_H: IndicatorUnit.HOURS,
        IndicatorName.ETA_ABS_ERROR_72H_H: IndicatorUnit.HOURS,
        IndicatorName.ETA_WITHIN_1H_PCT: IndicatorUnit.PERCENT,
        IndicatorName.PORT_PERFORMANCE_SCORE: IndicatorUnit.SCORE,
        IndicatorName.INTRA_REGIONAL_SHARE_VALUE_PCT: IndicatorUnit.PERCENT,
        IndicatorName.INTRA_REGIONAL_SHARE_TEU_PCT: IndicatorUnit.PERCENT,
        IndicatorName.TRADE_INTROVERSION_VALUE_INDEX: IndicatorUnit.INDEX,
        IndicatorName.TRADE_INTROVERSION_TEU_INDEX: IndicatorUnit.INDEX,
        IndicatorName.VESSEL_CALLS_PER_WEEK: IndicatorUnit.CALLS_PER_WEEK,
        IndicatorName.DISTINCT_SERVICES_COUNT: IndicatorUnit.COUNT,
        IndicatorName.CONNECTED_PORTS_COUNT: IndicatorUnit.COUNT,
        IndicatorName.LARGEST_SHIP_TEU: IndicatorUnit.TEU,
        IndicatorName.CERTIFICATES_COUNT: IndicatorUnit.COUNT,
        IndicatorName.CERTIFICATES_VALID_PCT: IndicatorUnit.PERCENT,
        IndicatorName.CERTIFICATE_REJECTIONS_COUNT: IndicatorUnit.COUNT,
        IndicatorName.CERTIFICATE_VERDICT_TIME_H: IndicatorUnit.HOURS,
        IndicatorName.CERTIFICATE_ADOPTION_PCT: IndicatorUnit.PERCENT,
        IndicatorName.RELEASE_TIME_WITH_VALID_CERTIFICATE_H: IndicatorUnit.HOURS,
        IndicatorName.RELEASE_TIME_WITHOUT_CERTIFICATE_H: IndicatorUnit.HOURS,
        IndicatorName.DIGITAL_CERTIFICATE_IMPACT_PCT: IndicatorUnit.PERCENT,
        IndicatorName.PUBLISH_DELAY_MIN: IndicatorUnit.MINUTES,
        IndicatorName.CALLS_COMPLETE_PCT: IndicatorUnit.PERCENT,
        IndicatorName.MOVES_WITH_CRANE_AND_CALL_PCT: IndicatorUnit.PERCENT,
        IndicatorName.DECLARATIONS_LINKED_PCT: IndicatorUnit.PERCENT,
        IndicatorName.REFUSAL_RATE_PCT: IndicatorUnit.PERCENT,
        IndicatorName.ARRIVALS_OFF_AIS_PCT: IndicatorUnit.PERCENT,
    }
)
"""The unit of each indicator (the suffix of its name says the same)."""

_HS_TRADE_NAMES: Final = frozenset(
    {
        IndicatorName.INTRA_REGIONAL_SHARE_VALUE_PCT,
        IndicatorName.INTRA_REGIONAL_SHARE_TEU_PCT,
        IndicatorName.TRADE_INTROVERSION_VALUE_INDEX,
        IndicatorName.TRADE_INTROVERSION_TEU_INDEX,
    }
)


def _per_reason(family: str, reason_code: str, unit_suffix: str) -> str:
    """The one way a per-reason indicator is named: ``{family}_{reason}_{unit}``, the reason in
    lower case with anything but letters, digits and ``_`` made ``_`` (a name stays a name)."""
    reason = re.sub(r"[^a-z0-9_]", "_", reason_code.lower())
    return f"{family}_{reason}_{unit_suffix}"


def rejection_indicator(reason_code: str) -> str:
    """The indicator counting certificates rejected for ``reason_code``:
    ``EXPIRED`` → ``certificate_rejections_expired_count`` (unit ``count``)."""
    return _per_reason("certificate_rejections", reason_code, "count")


def refusal_indicator(reason_code: str) -> str:
    """The share of a publisher's records refused for ``reason_code`` (quality.py):
    ``SCHEMA_INVALID`` → ``refusal_rate_schema_invalid_pct`` (unit ``%``)."""
    return _per_reason("refusal_rate", reason_code, "pct")


def adoption_indicator(agreement: str) -> str:
    """Digital certificate adoption among the declarations claiming ``agreement``
    (certificates.py): ``A58`` → ``certificate_adoption_a58_pct`` (unit ``%``)."""
    return _per_reason("certificate_adoption", agreement, "pct")


HsLevel = Literal["section", "chapter"]
"""How finely trade is split by the Harmonized System (trade.py, hs.py)."""


def hs_trade_indicator(name: IndicatorName, by: HsLevel, code: str) -> str:
    """A trade indicator restricted to one HS section or chapter (trade.py): ``hs_{by}_{code}``
    inserted before the unit suffix, the section's Roman numeral in lower case, the chapter's
    two digits: (``INTRA_REGIONAL_SHARE_VALUE_PCT``, ``"section"``, ``"XVI"``) →
    ``intra_regional_share_value_hs_section_xvi_pct``; (``TRADE_INTROVERSION_TEU_INDEX``,
    ``"chapter"``, ``"08"``) → ``trade_introversion_teu_hs_chapter_08_index``. The unit is
    the one of ``name``.

    Raises:
        ValueError: ``name`` is not one of the four trade indicators, or ``code`` is not a
            Roman numeral (section) or two digits (chapter).
    """
    if name not in _HS_TRADE_NAMES:
        raise ValueError(f"{name.value} is not split by HS section or chapter")
    pattern = r"[IVXL]+" if by == "section" else r"[0-9]{2}"
    if not re.fullmatch(pattern, code):
        raise ValueError(f"not an HS {by}: {code!r}")
    stem, _, unit_suffix = name.value.rpartition("_")
    return f"{stem}_hs_{by}_{code.lower()}_{unit_suffix}"


# --- inputs -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PortInfo:
    """A hub port and its country (the ports file's ``unlocode`` and ``country``)."""

    unlocode: str
    country: str
    """ISO 3166-1 alpha-2."""


@dataclass(frozen=True, slots=True)
class Mechanism:
    """A regional integration mechanism (``hub/domain/reference/mechanisms.csv``)."""

    code: str
    """``PA``, ``CAN``, ``MERCOSUR``, …: the entity of the mechanism level."""
    name: str
    countries: frozenset[str]
    """Member countries, ISO 3166-1 alpha-2."""


@dataclass(frozen=True, slots=True)
class TradeFlow:
    """One DISC or LOAD move of a hub port with its cargo's trade data (trade.py)."""

    port: str
    """UN/LOCODE of the port that handled the move."""
    occurred_at: datetime
    """Event time of the move: what places it in a period."""
    move: str
    """``"DISC"`` | ``"LOAD"``."""
    trade: str | None
    """``"IMPORT"`` | ``"EXPORT"`` | ``"TRANSSHIPMENT"`` | None (not reported)."""
    origin_country: str | None
    destination_country: str | None
    value_usd: Decimal | None
    """Declared value of the cargo (None: not declared; an empty box has none)."""
    teu: float
    """TEU of the box (``hub.domain.kpis.containers.teu`` of its ISO size type)."""
    hs_code: str | None = None
    """HS code of the goods (6 to 10 digits; None: not given, as for an empty box)."""


@dataclass(frozen=True, slots=True)
class CallInfo:
    """One port call's particulars, from the first vessel event of the call (connectivity.py)."""

    port: str
    port_call_id: str
    arrived_at: datetime
    """Event time that places the call in a period (its first vessel event's)."""
    service: str | None
    """Liner service code."""
    previous_port: str | None
    next_port: str | None
    teu_capacity: int | None


@dataclass(frozen=True, slots=True)
class CertificateOutcome:
    """A certificate of origin's latest verdict (certificates.py)."""

    certificate_id: str
    importing_country: str
    submitted_at: datetime
    """Event time of the submission: what places the certificate in a period."""
    outcome: str
    """``"VALID"`` | ``"INVALID"`` | ``"PENDING"`` (of the latest verdict)."""
    failed: tuple[str, ...]
    """Reason codes of the rules that failed or erred in the latest verdict."""
    final_at: datetime | None
    """When its first non-PENDING verdict was issued (None while it has none)."""


@dataclass(frozen=True, slots=True)
class DeclarationInfo:
    """An import declaration lodged at a hub port, for digital certificate adoption and the
    certificate's effect on release time."""

    port: str
    declaration_id: str
    lodged_at: datetime
    """Event time of its lodgement: what places it in a period (for adoption)."""
    agreement: str | None
    """The trade agreement it claims preferences under (None: none)."""
    certificate_id: str | None
    """The certificate of origin it names (None: none)."""

    @property
    def invokes_certificate(self) -> bool:
        """It names a certificate of origin."""
        return self.certificate_id is not None


# --- output -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Indicator:
    """One indicator of one entity in one period.

    ``value`` is the headline (the mean for aggregates of entity values, the total for
    throughput, the index or share itself otherwise); None when it is undefined, and then
    ``detail`` says why (``{"reason": "W is 0: no trade of the group seen"}``). ``detail`` is
    None or a JSON object as text: a reason, or the breakdown behind the value (bands, reason
    codes, S and W).
    """

    level: Level
    entity: str
    """``"PECLL"`` (port), ``"PE"`` (country), ``"CAN"`` (mechanism), ``"LAC"`` (region)."""
    period: Period
    period_start: datetime
    """UTC: the day at 00:00, or the first day of the month, quarter, half-year or year at
    00:00 (:func:`period_start`)."""
    indicator: str
    unit: str
    count: int
    """The entities behind the value (calls, moves, certificates, ports: see each module)."""
    value: float | None
    median: float | None = None
    p90: float | None = None
    detail: str | None = None

    def as_json(self) -> dict[str, object]:
        """The row as the indicator topic and the API publish it."""
        return {
            "level": self.level,
            "entity": self.entity,
            "period": self.period,
            "period_start": self.period_start.isoformat(),
            "indicator": self.indicator,
            "unit": self.unit,
            "count": self.count,
            "value": self.value,
            "median": self.median,
            "p90": self.p90,
            "detail": self.detail,
        }


def detail_json(detail: Mapping[str, object]) -> str:
    """``detail`` as the JSON text of :attr:`Indicator.detail` (keys in order, compact)."""
    return json.dumps(detail, separators=(",", ":"), sort_keys=True)


# --- periods ----------------------------------------------------------------------------------


def period_start(moment: datetime, period: Period) -> datetime:
    """The UTC start of the day, calendar month, quarter, half-year or year ``moment`` falls in
    (a quarter starts on 1 January, April, July or October, a half-year on 1 January or July).

    Raises:
        ValueError: ``moment`` is naive (its period would depend on the machine's time zone),
            or ``period`` is not one of :data:`PERIODS`.
    """
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment.isoformat()}: give event times in UTC")
    day = moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "day":
        return day
    months = _MONTHS_IN.get(period)
    if months is None:
        raise ValueError(f"period must be one of {PERIODS}, not {period!r}")
    return day.replace(month=(day.month - 1) // months * months + 1, day=1)


def period_end(start: datetime, period: Period) -> datetime:
    """The start of the period after the one starting at ``start`` (a :func:`period_start`).

    Raises:
        ValueError: ``period`` is not one of :data:`PERIODS`.
    """
    if period == "day":
        return start + timedelta(days=1)
    months = _MONTHS_IN.get(period)
    if months is None:
        raise ValueError(f"period must be one of {PERIODS}, not {period!r}")
    index = start.year * 12 + start.month - 1 + months
    return start.replace(year=index // 12, month=index % 12 + 1, day=1)


def days_in(start: datetime, period: Period) -> int:
    """Days in the period starting at ``start``: 1 for a day, 28 to 31 for a month, 90 to 92
    for a quarter, 181 to 184 for a half-year, 365 or 366 for a year."""
    return (period_end(start, period) - start).days


# --- levels -----------------------------------------------------------------------------------

EntityRef = tuple[Level, str]
"""(level, entity) of an entity: ``("mechanism", "CAN")``."""


class Network:
    """The hub's ports and the entities each one counts in.

    Args:
        ports: the hub ports (their UN/LOCODEs must be unique).
        mechanisms: every mechanism by code; those without a hub port are dropped.

    Raises:
        ValueError: a UN/LOCODE appears twice in ``ports``.
    """

    __slots__ = ("_by_country", "countries", "mechanisms", "ports", "region_countries")

    def __init__(self, ports: Sequence[PortInfo], mechanisms: Mapping[str, Mechanism]) -> None:
        self.ports: Mapping[str, PortInfo] = {port.unlocode: port for port in ports}
        if len(self.ports) != len(ports):
            raise ValueError("a port appears twice in the ports")
        self.countries: frozenset[str] = frozenset(port.country for port in ports)
        """Countries with at least one hub port."""
        self.mechanisms: Mapping[str, Mechanism] = {
            code: mechanism
            for code, mechanism in sorted(mechanisms.items())
            if mechanism.countries & self.countries
        }
        """The mechanisms with at least one hub port, by code."""
        self.region_countries: frozenset[str] = LAC_COUNTRIES.union(
            self.countries, *(mechanism.countries for mechanism in mechanisms.values())
        )
        """The region's countries, for trade (see :data:`LAC_COUNTRIES`)."""
        self._by_country: dict[str, tuple[EntityRef, ...]] = {
            country: (
                ("country", country),
                *(
                    ("mechanism", code)
                    for code, mechanism in self.mechanisms.items()
                    if country in mechanism.countries
                ),
                ("region", REGION),
            )
            for country in self.countries
        }

    def of_country(self, country: str) -> tuple[EntityRef, ...]:
        """The country, each of its mechanisms and the region; nothing for a country without a
        hub port."""
        return self._by_country.get(country, ())

    def of_port(self, unlocode: str) -> tuple[EntityRef, ...]:
        """The port, then :meth:`of_country` of its country; nothing for a port not in the
        hub (its values count nowhere)."""
        port = self.ports.get(unlocode)
        if port is None:
            return ()
        return (("port", unlocode), *self.of_country(port.country))

    def group_countries(self, level: Level, entity: str) -> frozenset[str]:
        """The countries of a country, mechanism or region entity (for trade).

        Raises:
            ValueError: ``level`` is ``"port"``, or the entity is unknown.
        """
        if level == "country" and entity in self.countries:
            return frozenset({entity})
        if level == "mechanism" and entity in self.mechanisms:
            return self.mechanisms[entity].countries
        if level == "region" and entity == REGION:
            return self.region_countries
        raise ValueError(f"no group of countries for {level} {entity!r}")

    def groups(self) -> Iterable[EntityRef]:
        """Every country, mechanism and region entity, in that order."""
        yield from (("country", country) for country in sorted(self.countries))
        yield from (("mechanism", code) for code in self.mechanisms)
        yield ("region", REGION)
