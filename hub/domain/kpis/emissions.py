"""Emissions of a container ship in port, estimated from its call times (activity-based method).

The method is the bottom-up one of the Fourth IMO GHG Study 2020 (Faber et al., IMO 2021) for a
ship that is not under way: at anchorage and at berth the main engine is stopped and the ship
burns fuel in its auxiliary engines (electricity: hotel load, reefers, cranes of its own) and its
auxiliary boiler (steam: fuel heating, accommodation). For each phase p (anchorage, berth)::

    fuel_p [t] = (P_aux,p [kW] * SFC_aux + P_boiler,p [kW] * SFC_boiler) [g/kWh] * hours_p ÷ 10⁶
    CO2_p  [t] = fuel_p * Cf
    SOx_p  [t] = fuel_p * 2 * 0.97753 * S

with P the study's power demand of the ship's type and size bin in that phase (its Table 17),
SFC the specific fuel oil consumption, Cf the CO2 emitted per tonne of fuel, S the fuel's
sulphur mass fraction. Every constant is below with its source.

**The values were transcribed, not re-checked against the published tables in this
environment** (no access to the study here): the power table is as two independent open-source
reproductions of the study's Table 17 give it (they agree value for value), the SFC and the
SOx formula as those reproductions give the study's, Cf as the IMO EEDI guidelines
(MEPC.308(73)) give it. Check them against the study before quoting a figure.

Assumptions (``docs/indicators.md``, "Emissions at anchorage and at berth"):

- ship type: **container ship** for every call (the hub's calls are container calls; the events
  carry no ship type);
- size: the bin of ``teu_capacity``; without it, the bin whose typical length holds ``loa_m``
  (:data:`LOA_BINS`); without either, :data:`ASSUMED_BIN`. :class:`ShipSize` says which;
- engines built after 2000 (the SFC of the newest age group), fuel :data:`IN_PORT_FUEL`;
- NOx is not estimated: its factor depends on the engine's tier (build year) and rated speed,
  which the call's particulars do not give.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Final

from hub.domain.kpis.events import event_order
from hub.domain.kpis.measure import Entity, hours
from hub.domain.kpis.model import KpiName, KpiValue

if TYPE_CHECKING:  # port_calls imports this module
    from hub.domain.kpis.port_calls import CallTimeline
    from schemas.models import VesselEvent

__all__ = [
    "ASSUMED_BIN",
    "AVOIDABLE_AFTER",
    "CONTAINER_BINS",
    "EMISSION_KPIS",
    "IN_PORT_FUEL",
    "LOA_BINS",
    "MDO",
    "SO2_PER_SULPHUR",
    "Fuel",
    "PhaseEmissions",
    "ShipSize",
    "SizeBasis",
    "SizeBin",
    "anchorage_emissions",
    "avoidable_hours",
    "berth_emissions",
    "call_emission_kpis",
    "call_ship_size",
    "phase_emissions",
    "ship_size",
]


@dataclass(frozen=True, slots=True)
class SizeBin:
    """One container-ship size bin of the Fourth IMO GHG Study 2020 and its power demand in the
    two phases of a ship in port (kW)."""

    label: str
    """``"3000-4999"`` (TEU)."""
    min_teu: int
    """The smallest capacity in the bin (TEU); the bin ends where the next one starts."""
    anchorage_aux_kw: float
    anchorage_boiler_kw: float
    berth_aux_kw: float
    berth_boiler_kw: float


# Fourth IMO GHG Study 2020, Table 17 ("auxiliary engine and auxiliary boiler power demand by
# ship type, size bin and operational phase", p. 68 of the full report), rows "Container":
# (bin, min TEU, aux at anchorage, boiler at anchorage, aux at berth, boiler at berth), kW.
# Transcribed from two open-source reproductions of the table (not re-checked here).
CONTAINER_BINS: Final[tuple[SizeBin, ...]] = (
    SizeBin("0-999", 0, 450, 250, 370, 250),
    SizeBin("1000-1999", 1_000, 910, 340, 820, 340),
    SizeBin("2000-2999", 2_000, 910, 450, 610, 460),
    SizeBin("3000-4999", 3_000, 1_350, 480, 1_100, 480),
    SizeBin("5000-7999", 5_000, 1_400, 580, 1_100, 590),
    SizeBin("8000-11999", 8_000, 1_600, 620, 1_150, 620),
    SizeBin("12000-14499", 12_000, 1_800, 630, 1_300, 630),
    SizeBin("14500-19999", 14_500, 1_950, 630, 1_400, 630),
    SizeBin("20000+", 20_000, 1_950, 700, 1_400, 700),
)
"""The container-ship bins, smallest first."""

_BY_LABEL: Final = {size_bin.label: size_bin for size_bin in CONTAINER_BINS}

# The hub's own choice, not from the study: the length (LOA, m) below which a container ship is
# taken to be in each bin, from the typical lengths of container ships of those capacities
# (feeders under 150 m, Panamax up to 294 m, the 366 m neo-Panamax locks, 400 m for the
# largest). Lengths overlap between bins near each bound and say nothing above 366 m: an
# estimate, marked as such on every call it is used for.
LOA_BINS: Final[tuple[tuple[float, str], ...]] = (
    (150.0, "0-999"),
    (190.0, "1000-1999"),
    (215.0, "2000-2999"),
    (280.0, "3000-4999"),
    (320.0, "5000-7999"),
    (355.0, "8000-11999"),
    (380.0, "12000-14499"),
    (float("inf"), "14500-19999"),
)
"""(LOA upper bound in metres, exclusive; bin label), in order."""

ASSUMED_BIN: Final = _BY_LABEL["3000-4999"]
"""The bin of a call with neither ``teu_capacity`` nor ``loa_m`` (the hub's choice: a middle
bin, so the error is bounded both ways)."""


class SizeBasis(StrEnum):
    """Where a call's size bin comes from."""

    TEU_CAPACITY = "teu_capacity"
    """The call's ``teu_capacity``: the study's own size measure."""
    LOA = "loa_m"
    """Estimated from the call's ``loa_m`` (:data:`LOA_BINS`)."""
    ASSUMED = "assumed"
    """Neither given: :data:`ASSUMED_BIN`."""


@dataclass(frozen=True, slots=True)
class ShipSize:
    """The size bin a call is computed with, and where it comes from."""

    bin: SizeBin
    basis: SizeBasis

    @property
    def assumed(self) -> bool:
        """The bin is not the one of a declared ``teu_capacity``."""
        return self.basis is not SizeBasis.TEU_CAPACITY


def ship_size(teu_capacity: int | None, loa_m: float | None) -> ShipSize:
    """The container-ship size bin of a call from its particulars (see :class:`SizeBasis`).

    A ``teu_capacity`` of 0 is taken as not given (no container ship has none)."""
    if teu_capacity:
        chosen = next(b for b in reversed(CONTAINER_BINS) if teu_capacity >= b.min_teu)
        return ShipSize(chosen, SizeBasis.TEU_CAPACITY)
    if loa_m is not None and loa_m > 0:
        label = next(label for upper, label in LOA_BINS if loa_m < upper)
        return ShipSize(_BY_LABEL[label], SizeBasis.LOA)
    return ShipSize(ASSUMED_BIN, SizeBasis.ASSUMED)


@dataclass(frozen=True, slots=True)
class Fuel:
    """A fuel burnt in port and what the study's method needs of it."""

    name: str
    co2_per_fuel: float
    """Cf: tonnes of CO2 per tonne of fuel."""
    sulphur: float
    """S: sulphur mass fraction (0.005 = 0.50 % m/m)."""
    aux_sfc_g_per_kwh: float
    """SFC of the auxiliary engines."""
    boiler_sfc_g_per_kwh: float
    """SFC of the auxiliary boiler."""


# Cf: 2018 Guidelines on the method of calculation of the attained EEDI (resolution
# MEPC.308(73)), paragraph 2.2.1 table (the same in MEPC.364(79)): HFO 3.114, diesel/gas oil
# 3.206 t CO2 per t fuel; the Fourth Study's CO2 factors for HFO and MDO are these.
# SFC: Fourth IMO GHG Study 2020, baseline SFC by engine type, fuel and engine age (Table 19 of
# the report as one reproduction numbers it; another gives Annex B, Table 4): auxiliary engine
# HFO 195 / MDO 185 g/kWh for engines built after 2000, boiler HFO 340 / MDO 320 g/kWh; the
# study takes both as independent of load.
# S: MARPOL Annex VI, regulation 14.1.3: 0.50 % m/m outside emission control areas since
# 1 January 2020 (none of the bundled ports is in an ECA in force, as far as known when this
# was written: not re-checked here); 0.10 % inside an ECA (regulation 14.4.3).
IN_PORT_FUEL: Final = Fuel("HFO (compliant 0.50 % S)", 3.114, 0.005, 195.0, 340.0)
"""What every call is computed with: residual fuel at the global sulphur limit (the hub's
choice; a very-low-sulphur fuel oil counts as HFO for Cf and SFC)."""
MDO: Final = Fuel("MDO/MGO (0.10 % S)", 3.206, 0.001, 185.0, 320.0)
"""Distillate at the ECA limit (not used by the KPIs; for comparison and tests)."""

SO2_PER_SULPHUR: Final = 2 * 0.97753
"""SOx (as SO2) per unit of fuel sulphur: 2 = 64 ÷ 32, the mass of SO2 per mass of S; 0.97753 =
the share of the sulphur emitted as SO2 (the rest as sulphate particles). Fourth IMO GHG Study
2020, Annex B (SOx emission factor EF = SFC * 2 * 0.97753 * S, after the Third Study)."""

AVOIDABLE_AFTER: Final = timedelta(hours=2)
"""Anchorage time per call taken as not avoidable (the hub's choice, no published figure): a
short stay at anchor for the tide, daylight, the pilot or clearance happens even when the
berth is ready; beyond it the ship waits for the berth, which Just-In-Time arrival (arriving at
the pilot boarding place when berth and services are ready) would avoid."""


@dataclass(frozen=True, slots=True)
class PhaseEmissions:
    """What a ship emits in one phase (tonnes)."""

    fuel_t: float
    co2_t: float
    sox_t: float


def phase_emissions(
    aux_kw: float, boiler_kw: float, hours: float, fuel: Fuel = IN_PORT_FUEL
) -> PhaseEmissions:
    """Fuel, CO2 and SOx of ``hours`` with auxiliary engines at ``aux_kw`` and the boiler at
    ``boiler_kw`` (the module's formulas; negative hours give negative tonnes)."""
    fuel_t = (aux_kw * fuel.aux_sfc_g_per_kwh + boiler_kw * fuel.boiler_sfc_g_per_kwh) * hours / 1e6
    return PhaseEmissions(
        fuel_t, fuel_t * fuel.co2_per_fuel, fuel_t * SO2_PER_SULPHUR * fuel.sulphur
    )


def anchorage_emissions(size: SizeBin, hours: float, fuel: Fuel = IN_PORT_FUEL) -> PhaseEmissions:
    """:func:`phase_emissions` of ``hours`` at anchorage for a ship of ``size``."""
    return phase_emissions(size.anchorage_aux_kw, size.anchorage_boiler_kw, hours, fuel)


def berth_emissions(size: SizeBin, hours: float, fuel: Fuel = IN_PORT_FUEL) -> PhaseEmissions:
    """:func:`phase_emissions` of ``hours`` at berth for a ship of ``size``."""
    return phase_emissions(size.berth_aux_kw, size.berth_boiler_kw, hours, fuel)


def avoidable_hours(anchorage_hours: float) -> float:
    """The anchorage hours beyond :data:`AVOIDABLE_AFTER` (0 when there are fewer)."""
    return max(0.0, anchorage_hours - AVOIDABLE_AFTER.total_seconds() / 3600.0)


# --- the KPIs of a call -------------------------------------------------------------------------

EMISSION_KPIS: Final = (
    KpiName.CO2_ANCHORAGE_T,
    KpiName.CO2_AVOIDABLE_T,
    KpiName.CO2_BERTH_T,
    KpiName.CO2_T,
    KpiName.CO2_SIZE_ASSUMED_FLAG,
    KpiName.SOX_T,
)
"""The KPIs :func:`call_emission_kpis` gives a call, sorted by name."""


def call_ship_size(vessel_events: Iterable[VesselEvent]) -> ShipSize:
    """:func:`ship_size` of a call from its vessel events: the ``teu_capacity`` and the
    ``loa_m`` of the first event (in event order, any classifier or source) that gives each."""
    ordered = sorted(vessel_events, key=event_order)
    teu = next((e.teu_capacity for e in ordered if e.teu_capacity), None)
    loa = next((e.loa_m for e in ordered if e.loa_m), None)
    return ship_size(teu, loa)


def call_emission_kpis(
    entity: Entity,
    timeline: CallTimeline,
    vessel_events: Iterable[VesselEvent],
    fuel: Fuel = IN_PORT_FUEL,
) -> list[KpiValue]:
    """The emission KPIs of one call (:data:`EMISSION_KPIS`), from its SPEC §2 stays.

    - at anchorage: the call's anchorage stays (ACT ARRI → DEPA at ANCH, as
      ``anchorage_time_h``); at berth: its berth stays (as ``on_berth_h``: time shifting between
      berths is manoeuvring, not at berth);
    - ``co2_avoidable_t``: the anchorage CO2 of the hours beyond :data:`AVOIDABLE_AFTER`;
    - ``co2_size_assumed_flag``: 1.0 when the size bin is not that of a declared
      ``teu_capacity`` (estimated from ``loa_m`` or assumed), else 0.0.

    Emitted once the call has a start (T_arr, or a stay at anchorage or berth); open until the
    vessel has left its last berth and no stay is open; then anchored at the end of the call's
    last stay (T_dep, unless it anchored after leaving the berth), so that a call's emissions
    fall in the window of its departure with its port hours. A negative stay flags the
    values it enters (``NEGATIVE_INTERVAL``); the size flag is never flagged.
    """
    t = timeline
    if t.arrival is None and not t.berth_stays and not t.anchorage_stays:
        return []
    ends = [stay.end for stay in (*t.berth_stays, *t.anchorage_stays)]
    if t.departure is None or None in ends:
        return [entity.open(kpi) for kpi in EMISSION_KPIS]
    anchor = max(end for end in ends if end is not None)
    size = call_ship_size(vessel_events)
    anchorage_h = math.fsum(hours(s.end - s.start) for s in t.anchorage_stays if s.end)
    berth_h = math.fsum(hours(s.end - s.start) for s in t.berth_stays if s.end)
    anchored_wrong = any(stay.negative for stay in t.anchorage_stays)
    berthed_wrong = any(stay.negative for stay in t.berth_stays)
    at_anchor = anchorage_emissions(size.bin, anchorage_h, fuel)
    at_berth = berth_emissions(size.bin, berth_h, fuel)
    avoidable = anchorage_emissions(size.bin, avoidable_hours(anchorage_h), fuel)
    wrong = anchored_wrong or berthed_wrong
    return [
        entity.value(KpiName.CO2_ANCHORAGE_T, at_anchor.co2_t, anchor, negative=anchored_wrong),
        entity.value(KpiName.CO2_AVOIDABLE_T, avoidable.co2_t, anchor, negative=anchored_wrong),
        entity.value(KpiName.CO2_BERTH_T, at_berth.co2_t, anchor, negative=berthed_wrong),
        entity.value(KpiName.CO2_T, at_anchor.co2_t + at_berth.co2_t, anchor, negative=wrong),
        entity.value(KpiName.CO2_SIZE_ASSUMED_FLAG, float(size.assumed), anchor),
        entity.value(KpiName.SOX_T, at_anchor.sox_t + at_berth.sox_t, anchor, negative=wrong),
    ]
