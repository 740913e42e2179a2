"""What every KPI function returns: one value of one KPI of one entity, and window aggregates.

The names, units, flags and entity kinds are enums here and nowhere else, so that the streaming
stage, the database rows, the API and ``docs/kpis.md`` all spell them the same way (SPEC §2).
A KPI's name ends with its unit (``waiting_time_h``, ``dwell_days``), and :data:`UNITS` says
which unit each name has; the functions take the unit from there, never from a literal.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Final, Literal

__all__ = [
    "UNITS",
    "EntityKind",
    "Granularity",
    "KpiFlag",
    "KpiName",
    "KpiValue",
    "Unit",
    "WindowAggregate",
]

Granularity = Literal["hour", "day"]
"""Window sizes (SPEC §2: "windows per port by event time"); windows are UTC-aligned."""


class EntityKind(StrEnum):
    """What a KPI value is about (``KpiValue.entity_kind``)."""

    PORT_CALL = "port_call"
    """One call of a vessel at a port: ``"{port}/{port_call_id}"``."""
    CONTAINER_VISIT = "container_visit"
    """One stay of a container at a port: ``"{port}/{container}/{n}"``, n counting from 1."""
    TRUCK_VISIT = "truck_visit"
    """One visit of a truck to the terminal: ``"{port}/{truck_visit_id}"``."""
    DECLARATION = "declaration"
    """One customs declaration: ``"{port}/{declaration_id}"``."""
    MOVE = "move"
    """One DISC or LOAD move, for throughput: ``"{port}/{event_id}"``."""
    BERTH_HOUR = "berth_hour"
    """The time one call spent at a berth within one UTC hour, for berth occupancy:
    ``"{port}/{port_call_id}/{YYYY-MM-DDTHH}"``."""


class KpiFlag(StrEnum):
    """Why a KPI value does not enter window aggregates (``KpiValue.flag``)."""

    NEGATIVE_INTERVAL = "NEGATIVE_INTERVAL"
    """SPEC §2: a negative duration is an anomaly: the value is kept, flagged, not aggregated."""
    OPEN = "OPEN"
    """SPEC §2: right-censored: the start is known, an end is not yet; the value is None."""


class Unit(StrEnum):
    """Units of the KPIs (``KpiValue.unit``)."""

    HOURS = "h"
    MINUTES = "min"
    DAYS = "days"
    MOVES = "moves"
    MOVES_PER_HOUR = "moves/h"
    CRANES = "cranes"
    """Crane intensity: average number of cranes working during cargo operations."""
    TEU = "TEU"
    TONNES = "t"
    PERCENT = "%"
    COUNT = "count"
    """A number of occurrences (inspections)."""
    FLAG = "flag"
    """1.0 yes, 0.0 no: the window mean times 100 is a rate in %."""


class KpiName(StrEnum):
    """Every KPI an entity can have; ``docs/kpis.md`` has one section for each."""

    # Port call (SPEC §2, after DCSA JIT timestamps and the CPPI's port hours).
    WAITING_TIME_H = "waiting_time_h"
    ANCHORAGE_TIME_H = "anchorage_time_h"
    PORT_HOURS_H = "port_hours_h"
    PORT_TO_BERTH_H = "port_to_berth_h"
    ON_BERTH_H = "on_berth_h"
    GROSS_BERTH_H = "gross_berth_h"
    CALL_SIZE_MOVES = "call_size_moves"
    GROSS_CRANE_PRODUCTIVITY_MOVES_PER_H = "gross_crane_productivity_moves_per_h"
    BERTH_PRODUCTIVITY_MOVES_PER_H = "berth_productivity_moves_per_h"
    CRANE_INTENSITY_CRANES = "crane_intensity_cranes"
    BERTH_HOURS_H = "berth_hours_h"
    # Port call data quality: the terminal's declared arrival against the AIS-derived one.
    AIS_ARRIVAL_GAP_MIN = "ais_arrival_gap_min"
    ARRIVAL_MISMATCH_FLAG = "arrival_mismatch_flag"
    # Port call emissions at anchorage and at berth (emissions.py, IMO Fourth GHG Study 2020).
    CO2_ANCHORAGE_T = "co2_anchorage_t"
    CO2_BERTH_T = "co2_berth_t"
    CO2_T = "co2_t"
    CO2_AVOIDABLE_T = "co2_avoidable_t"
    SOX_T = "sox_t"
    CO2_SIZE_ASSUMED_FLAG = "co2_size_assumed_flag"
    # Port call arrival predictability: the published estimated arrival against T_arr (eta.py).
    ETA_ERROR_H = "eta_error_h"
    ETA_ABS_ERROR_H = "eta_abs_error_h"
    ETA_ERROR_24H_H = "eta_error_24h_h"
    ETA_ABS_ERROR_24H_H = "eta_abs_error_24h_h"
    ETA_ERROR_72H_H = "eta_error_72h_h"
    ETA_ABS_ERROR_72H_H = "eta_abs_error_72h_h"
    # Port windows only: derived from the berth hours and the port's berth count.
    BERTH_OCCUPANCY_PCT = "berth_occupancy_pct"
    # Container visit, truck visit, move.
    DWELL_DAYS = "dwell_days"
    TRUCK_TURNAROUND_MIN = "truck_turnaround_min"
    THROUGHPUT_TEU = "throughput_teu"
    THROUGHPUT_T = "throughput_t"
    # Customs declaration (WCO Time Release Study).
    RELEASE_TIME_H = "release_time_h"
    ARRIVAL_TO_LODGEMENT_H = "arrival_to_lodgement_h"
    LODGEMENT_TO_RELEASE_H = "lodgement_to_release_h"
    RELEASE_TO_GATE_OUT_H = "release_to_gate_out_h"
    INSPECTIONS_COUNT = "inspections_count"
    PHYSICAL_INSPECTION_FLAG = "physical_inspection_flag"


UNITS: Final[Mapping[KpiName, Unit]] = MappingProxyType(
    {
        KpiName.WAITING_TIME_H: Unit.HOURS,
        KpiName.ANCHORAGE_TIME_H: Unit.HOURS,
        KpiName.PORT_HOURS_H: Unit.HOURS,
        KpiName.PORT_TO_BERTH_H: Unit.HOURS,
        KpiName.ON_BERTH_H: Unit.HOURS,
        KpiName.GROSS_BERTH_H: Unit.HOURS,
        KpiName.CALL_SIZE_MOVES: Unit.MOVES,
        KpiName.GROSS_CRANE_PRODUCTIVITY_MOVES_PER_H: Unit.MOVES_PER_HOUR,
        KpiName.BERTH_PRODUCTIVITY_MOVES_PER_H: Unit.MOVES_PER_HOUR,
        KpiName.CRANE_INTENSITY_CRANES: Unit.CRANES,
        KpiName.BERTH_HOURS_H: Unit.HOURS,
        KpiName.AIS_ARRIVAL_GAP_MIN: Unit.MINUTES,
        KpiName.ARRIVAL_MISMATCH_FLAG: Unit.FLAG,
        KpiName.CO2_ANCHORAGE_T: Unit.TONNES,
        KpiName.CO2_BERTH_T: Unit.TONNES,
        KpiName.CO2_T: Unit.TONNES,
        KpiName.CO2_AVOIDABLE_T: Unit.TONNES,
        KpiName.SOX_T: Unit.TONNES,
        KpiName.CO2_SIZE_ASSUMED_FLAG: Unit.FLAG,
        KpiName.ETA_ERROR_H: Unit.HOURS,
        KpiName.ETA_ABS_ERROR_H: Unit.HOURS,
        KpiName.ETA_ERROR_24H_H: Unit.HOURS,
        KpiName.ETA_ABS_ERROR_24H_H: Unit.HOURS,
        KpiName.ETA_ERROR_72H_H: Unit.HOURS,
        KpiName.ETA_ABS_ERROR_72H_H: Unit.HOURS,
        KpiName.BERTH_OCCUPANCY_PCT: Unit.PERCENT,
        KpiName.DWELL_DAYS: Unit.DAYS,
        KpiName.TRUCK_TURNAROUND_MIN: Unit.MINUTES,
        KpiName.THROUGHPUT_TEU: Unit.TEU,
        KpiName.THROUGHPUT_T: Unit.TONNES,
        KpiName.RELEASE_TIME_H: Unit.HOURS,
        KpiName.ARRIVAL_TO_LODGEMENT_H: Unit.HOURS,
        KpiName.LODGEMENT_TO_RELEASE_H: Unit.HOURS,
        KpiName.RELEASE_TO_GATE_OUT_H: Unit.HOURS,
        KpiName.INSPECTIONS_COUNT: Unit.COUNT,
        KpiName.PHYSICAL_INSPECTION_FLAG: Unit.FLAG,
    }
)
"""The unit of each KPI (the suffix of its name says the same)."""


@dataclass(frozen=True, slots=True)
class KpiValue:
    """One KPI of one entity, as the batch reference computes it and the stage stores it.

    The string fields hold plain values of :class:`EntityKind`, :class:`KpiName`, :class:`Unit`
    and :class:`KpiFlag` (``"port_call"``, ``"waiting_time_h"``, ``"h"``, ``"OPEN"``).
    """

    entity_kind: str
    """``"port_call"`` | ``"container_visit"`` | ``"truck_visit"`` | ``"declaration"`` |
    ``"move"`` | ``"berth_hour"``."""
    entity_id: str
    """The entity key (see :class:`EntityKind`)."""
    port: str
    """UN/LOCODE of the port."""
    kpi: str
    """snake_case name ending with the unit, e.g. ``"waiting_time_h"``."""
    value: float | None
    """None: open (right-censored: an end is not known yet)."""
    unit: str
    anchor_time: datetime | None
    """The event time that places the value in a window (UTC); None while open."""
    flag: str | None = None
    """``"NEGATIVE_INTERVAL"`` (value kept, excluded from aggregates), ``"OPEN"`` or None."""

    def as_json(self) -> dict[str, object]:
        """The value as the KPI topics and ``hub kpis reference`` publish it."""
        return {
            "entity_kind": self.entity_kind,
            "entity_id": self.entity_id,
            "port": self.port,
            "kpi": self.kpi,
            "value": self.value,
            "unit": self.unit,
            "anchor_time": self.anchor_time.isoformat() if self.anchor_time else None,
            "flag": self.flag,
        }


@dataclass(frozen=True, slots=True)
class WindowAggregate:
    """The values of one KPI at one port whose anchor falls in one window.

    ``count``, ``total``, ``mean``, ``median`` and ``p90`` are over the values that are neither
    open nor flagged (SPEC §2: "Aggregates publish count, mean, median and p90"); the median and
    p90 are PostgreSQL's ``percentile_cont(0.5)`` and ``percentile_cont(0.9)``.
    """

    port: str
    granularity: Granularity
    window_start: datetime
    """UTC start of the window (the anchor truncated to the hour or the day)."""
    kpi: str
    unit: str
    count: int
    total: float
    """Sum of the values: the window's throughput for ``throughput_teu`` and ``throughput_t``."""
    mean: float
    median: float
    p90: float
    open_count: int = 0
    """Always 0: open values have no anchor, so they belong to no window; open entities are
    reported per entity only (see ``docs/kpis.md``)."""

    def as_json(self) -> dict[str, object]:
        """The window as the ``kpi.windows`` topic publishes it."""
        return {
            "port": self.port,
            "granularity": self.granularity,
            "window_start": self.window_start.isoformat(),
            "kpi": self.kpi,
            "unit": self.unit,
            "count": self.count,
            "total": self.total,
            "mean": self.mean,
            "median": self.median,
            "p90": self.p90,
        }
