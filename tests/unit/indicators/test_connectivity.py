"""Connectivity per port and period: calls per week, services, connections, largest ship."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from hub.domain.indicators.connectivity import connectivity_indicators
from tests.unit.indicators.builders import NETWORK, T0, call, one, pick

# Five calls at Callao in March 2026 (31 days), one at Paita, one next month:
#   calls per week = 5 / (31 / 7) = 35/31
#   services: AC1, AC1, WSA, -, AC2 → 3 (4 calls name one)
#   previous: CLVAP, CLVAP, -, CNSHA, MXZLO → {CLVAP, CNSHA, MXZLO}
#   next:     COBUN, PEPAI, -, PECLL (itself, not a connection), CLVAP → {COBUN, PEPAI, CLVAP}
#   connected ports: {CLVAP, CNSHA, MXZLO, COBUN, PEPAI} = 5 (4 calls name one)
#   largest ship: 8,000, -, 14,000, 2,500, - → 14,000 (3 calls give one)
CALLS = [
    call("C1", service="AC1", previous="CLVAP", following="COBUN", teu=8000),
    call("C2", service="AC1", previous="CLVAP", following="PEPAI"),
    call("C3", service="WSA", teu=14000),
    call("C4", previous="CNSHA", following="PECLL", teu=2500),
    call("C5", service="AC2", previous="MXZLO", following="CLVAP"),
    call("P1", port="PEPAI", service="AC1", previous="PECLL", following="ECGYE", teu=3000),
    call("C6", when=T0 + timedelta(days=30), service="XYZ", teu=20000),  # April 9
]


def test_a_port_in_a_month() -> None:
    rows = [
        r for r in connectivity_indicators(CALLS, NETWORK, "month") if r.period_start.month == 3
    ]
    per_week = one(rows, "vessel_calls_per_week", "port", "PECLL")
    assert per_week.value == pytest.approx(35 / 31, rel=1e-12)
    assert (per_week.count, per_week.unit) == (5, "calls/week")
    services = one(rows, "distinct_services_count", "port", "PECLL")
    assert (services.value, services.count) == (3.0, 4)
    ports = one(rows, "connected_ports_count", "port", "PECLL")
    assert (ports.value, ports.count) == (5.0, 4)
    assert json.loads(ports.detail or "") == {"next": 3, "previous": 3}
    largest = one(rows, "largest_ship_teu", "port", "PECLL")
    assert (largest.value, largest.count, largest.unit) == (14000.0, 3, "TEU")


def test_a_country_pools_its_ports_and_counts_only_connections_leaving_it() -> None:
    rows = [
        r for r in connectivity_indicators(CALLS, NETWORK, "month") if r.period_start.month == 3
    ]
    assert one(rows, "vessel_calls_per_week", "country", "PE").value == pytest.approx(6 * 7 / 31)
    assert one(rows, "distinct_services_count", "country", "PE").value == 3.0  # AC1 once
    # {CLVAP, CNSHA, MXZLO, COBUN, ECGYE}: PEPAI and PECLL are Peru's own.
    assert one(rows, "connected_ports_count", "country", "PE").value == 5.0
    # The region counts only ports outside the hub: CNSHA, MXZLO, COBUN (not hub ports here).
    assert one(rows, "connected_ports_count", "region", "LAC").value == 3.0
    assert one(rows, "largest_ship_teu", "mechanism", "CAN").value == 14000.0


def test_a_day_is_a_seventh_of_a_week() -> None:
    rows = connectivity_indicators(CALLS, NETWORK, "day")
    march_10 = [
        r for r in pick(rows, "vessel_calls_per_week", "port", "PECLL") if r.period_start.day == 10
    ]
    assert march_10[0].value == 35.0


def test_no_ship_capacity_is_none_with_the_reason() -> None:
    rows = connectivity_indicators([call("C1")], NETWORK, "month")
    largest = one(rows, "largest_ship_teu", "port", "PECLL")
    assert (largest.value, largest.count) == (None, 0)
    assert "reason" in json.loads(largest.detail or "")
    assert one(rows, "distinct_services_count", "port", "PECLL").value == 0.0


def test_a_call_given_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="twice"):
        connectivity_indicators([call("C1"), call("C1")], NETWORK, "month")


def test_calls_at_ports_outside_the_hub_count_nowhere() -> None:
    assert connectivity_indicators([call("X", port="ARBUE")], NETWORK, "month") == []
