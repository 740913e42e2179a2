"""Emissions of a call at anchorage and at berth (IMO Fourth GHG Study 2020, activity-based)."""

from __future__ import annotations

from typing import Any

import pytest

from hub.domain.kpis.emissions import (
    ASSUMED_BIN,
    AVOIDABLE_AFTER,
    CONTAINER_BINS,
    MDO,
    SizeBasis,
    berth_emissions,
    phase_emissions,
    ship_size,
)
from hub.domain.kpis.model import KpiValue
from hub.domain.kpis.port_calls import port_call_kpis
from schemas.models import Classifier, Facility, Operation, VesselEvent
from tests.unit.kpis.builders import at, by_kpi, vessel

ARRI, DEPA = Operation.ARRI, Operation.DEPA
PORT, ANCH, PBPL, BRTH = Facility.PORT, Facility.ANCH, Facility.PBPL, Facility.BRTH
EMISSIONS = ("co2_anchorage_t", "co2_avoidable_t", "co2_berth_t", "co2_t", "co2_size_assumed_flag",
             "sox_t")  # fmt: skip


def emissions_of(events: list[VesselEvent]) -> dict[str, KpiValue]:
    values = by_kpi(port_call_kpis(events, []))
    return {name: values[name] for name in EMISSIONS if name in values}


def a_call(**particulars: Any) -> list[VesselEvent]:
    """Arrives at 0 h, anchors 1 h → 7 h (6 h), all fast 8 h, leaves the berth at 32 h (24 h)."""
    return [
        vessel(ARRI, PORT, 0, **particulars),
        vessel(ARRI, ANCH, 1),
        vessel(DEPA, ANCH, 7),
        vessel(ARRI, PBPL, 7.5),
        vessel(ARRI, BRTH, 8),
        vessel(DEPA, BRTH, 32),
    ]


def test_a_hand_computed_call() -> None:
    values = emissions_of(a_call(teu_capacity=4_000, loa_m=294.0))
    # 4,000 TEU: bin 3000-4999 (Table 17): anchorage aux 1,350 kW, boiler 480 kW; berth aux
    # 1,100 kW, boiler 480 kW. HFO: SFC aux 195, boiler 340 g/kWh; Cf 3.114; S 0.50 %.
    # Anchorage, 6 h: (1,350 * 195 + 480 * 340) = 263,250 + 163,200 = 426,450 g/h
    #   = 0.42645 t/h * 6 h = 2.5587 t fuel; * 3.114 = 7.9677918 t CO2.
    # Avoidable: 6 h - 2 h = 4 h: 0.42645 * 4 = 1.7058 t fuel; * 3.114 = 5.3118612 t CO2.
    # Berth, 24 h: (1,100 * 195 + 480 * 340) = 214,500 + 163,200 = 377,700 g/h
    #   = 0.3777 t/h * 24 h = 9.0648 t fuel; * 3.114 = 28.2277872 t CO2.
    # Total 7.9677918 + 28.2277872 = 36.195579 t CO2.
    # SOx: (2.5587 + 9.0648) t fuel * 2 * 0.97753 * 0.005 = 11.6235 * 0.0097753 = 0.11362320 t.
    assert values["co2_anchorage_t"].value == pytest.approx(7.9677918)
    assert values["co2_avoidable_t"].value == pytest.approx(5.3118612)
    assert values["co2_berth_t"].value == pytest.approx(28.2277872)
    assert values["co2_t"].value == pytest.approx(36.195579)
    assert values["sox_t"].value == pytest.approx(0.1136232, rel=1e-6)
    assert values["co2_size_assumed_flag"].value == 0.0
    for value in values.values():
        assert value.anchor_time == at(32) and value.flag is None  # T_dep
        assert value.unit == ("flag" if value.kpi == "co2_size_assumed_flag" else "t")
        assert value.entity_kind == "port_call"


def test_the_size_bins_follow_the_teu_capacity() -> None:
    def label(teu: int) -> str:
        return ship_size(teu, None).bin.label

    assert label(1) == "0-999" and label(999) == "0-999" and label(1_000) == "1000-1999"
    assert label(2_999) == "2000-2999" and label(3_000) == "3000-4999"
    assert label(14_499) == "12000-14499" and label(14_500) == "14500-19999"
    assert label(20_000) == "20000+" and label(24_000) == "20000+"
    assert [b.min_teu for b in CONTAINER_BINS] == sorted(b.min_teu for b in CONTAINER_BINS)


def test_without_teu_capacity_the_size_comes_from_the_length_and_is_marked() -> None:
    size = ship_size(None, 300.0)  # 280 m <= LOA < 320 m: 5000-7999
    assert (size.bin.label, size.basis, size.assumed) == ("5000-7999", SizeBasis.LOA, True)
    assert ship_size(None, 140.0).bin.label == "0-999"
    assert ship_size(None, 399.9).bin.label == "14500-19999"
    values = emissions_of(a_call(loa_m=300.0))
    # 5000-7999 at berth: (1,100 * 195 + 590 * 340) = 214,500 + 200,600 = 415,100 g/h
    #   * 24 h = 9.9624 t fuel * 3.114 = 31.0229136 t CO2.
    assert values["co2_berth_t"].value == pytest.approx(31.0229136)
    assert values["co2_size_assumed_flag"].value == 1.0


def test_without_teu_capacity_or_length_the_middle_bin_is_assumed() -> None:
    size = ship_size(None, None)
    assert (size.bin, size.basis) == (ASSUMED_BIN, SizeBasis.ASSUMED)
    assert ship_size(0, None).basis is SizeBasis.ASSUMED  # a capacity of 0 is not a size
    values = emissions_of(a_call())
    assert values["co2_berth_t"].value == pytest.approx(28.2277872)  # 3000-4999, as above
    assert values["co2_size_assumed_flag"].value == 1.0


def test_the_particulars_of_the_first_event_giving_them_count_whatever_its_classifier() -> None:
    events = a_call()
    events.insert(0, vessel(ARRI, PORT, -20, classifier=Classifier.EST, teu_capacity=900))
    events.append(vessel(ARRI, BRTH, 8, teu_capacity=20_000))  # a later report: not used
    values = emissions_of(events)
    # 0-999 at berth: (370 * 195 + 250 * 340) = 72,150 + 85,000 = 157,150 g/h * 24 h
    #   = 3.7716 t fuel * 3.114 = 11.7447624 t CO2.
    assert values["co2_berth_t"].value == pytest.approx(11.7447624)
    assert values["co2_size_assumed_flag"].value == 0.0


def test_the_values_are_open_until_the_vessel_has_left_its_last_berth() -> None:
    call = a_call(teu_capacity=4_000)
    assert emissions_of(call[:1]).keys() == set(EMISSIONS)  # arrived: emitted, open
    for cut in (1, 2, 3, 5):  # arrived, at anchorage, anchorage left, at berth
        values = emissions_of(call[:cut])
        assert all(v.value is None and v.flag == "OPEN" and v.anchor_time is None
                   for v in values.values()), cut  # fmt: skip
    assert emissions_of(call)["co2_t"].value is not None
    # Anchored again after leaving the berth and still there: open again.
    reopened = emissions_of([*call, vessel(ARRI, ANCH, 33)])
    assert all(v.flag == "OPEN" for v in reopened.values())
    left = emissions_of([*call, vessel(ARRI, ANCH, 33), vessel(DEPA, ANCH, 35)])
    assert left["co2_t"].anchor_time == at(35)  # the end of the last stay
    assert left["co2_anchorage_t"].value == pytest.approx(0.42645 * 8 * 3.114)  # 6 h + 2 h


def test_planned_times_make_no_emissions_and_a_call_seen_first_at_berth_has_no_anchorage() -> None:
    planned = [vessel(ARRI, BRTH, 8, classifier=Classifier.PLN, teu_capacity=4_000)]
    assert emissions_of(planned) == {}
    values = emissions_of([vessel(ARRI, BRTH, 8, teu_capacity=4_000), vessel(DEPA, BRTH, 32)])
    assert values["co2_anchorage_t"].value == 0.0 and values["co2_avoidable_t"].value == 0.0
    assert values["co2_t"].value == pytest.approx(28.2277872)


def test_anchorage_within_the_allowance_is_not_avoidable() -> None:
    assert AVOIDABLE_AFTER.total_seconds() == 2 * 3600
    events = [
        vessel(ARRI, PORT, 0, teu_capacity=4_000),
        vessel(ARRI, ANCH, 1),
        vessel(DEPA, ANCH, 2.5),  # 1.5 h at anchor
        vessel(ARRI, BRTH, 4),
        vessel(DEPA, BRTH, 28),
    ]
    values = emissions_of(events)
    assert values["co2_anchorage_t"].value == pytest.approx(0.42645 * 1.5 * 3.114)
    assert values["co2_avoidable_t"].value == 0.0


def test_a_negative_berth_stay_flags_what_it_enters() -> None:
    events = [
        vessel(ARRI, PORT, 0, teu_capacity=4_000),
        vessel(ARRI, ANCH, 1),
        vessel(DEPA, ANCH, 7),
        vessel(ARRI, BRTH, 8),
        vessel(DEPA, BRTH, 6),  # before the all fast: a wrong timestamp
    ]
    values = emissions_of(events)
    flags = {name: value.flag for name, value in values.items()}
    assert flags == {"co2_anchorage_t": None, "co2_avoidable_t": None,
                     "co2_berth_t": "NEGATIVE_INTERVAL", "co2_t": "NEGATIVE_INTERVAL",
                     "sox_t": "NEGATIVE_INTERVAL", "co2_size_assumed_flag": None}  # fmt: skip
    assert values["co2_berth_t"].value == pytest.approx(-0.3777 * 2 * 3.114)


def test_the_fuel_changes_the_factors() -> None:
    # MDO at berth, 3000-4999, 10 h: (1,100 * 185 + 480 * 320) = 203,500 + 153,600 = 357,100 g/h
    #   = 3.571 t fuel; CO2 3.571 * 3.206 = 11.448626 t; SOx 3.571 * 2 * 0.97753 * 0.001.
    at_berth = berth_emissions(ASSUMED_BIN, 10, MDO)
    assert at_berth.fuel_t == pytest.approx(3.571)
    assert at_berth.co2_t == pytest.approx(11.448626)
    assert at_berth.sox_t == pytest.approx(3.571 * 0.00195506)
    assert phase_emissions(0, 0, 100).co2_t == 0.0
