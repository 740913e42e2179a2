"""The arrival predictability indicators: the ETA KPIs' means and the share of calls within 1 h."""

from __future__ import annotations

import pytest

from hub.db.indicator_store import INDICATOR_KPIS
from hub.domain.indicators.aggregates import AGGREGATED_KPIS, kpi_aggregates
from hub.domain.kpis.model import KpiName, KpiValue
from tests.unit.indicators.builders import NETWORK, kpi, one, pick

SIGNED = (-3.0, 0.5, 1.0, 2.0)
"""Four calls' eta_error_h (estimate - arrival): |e| = 3, 0.5, 1, 2."""


def eta_values(port: str = "PECLL") -> list[KpiValue]:
    return [
        value
        for i, error in enumerate(SIGNED)
        for value in (
            kpi(KpiName.ETA_ERROR_H, error, port=port, entity=f"{port}/C{i}"),
            kpi(KpiName.ETA_ABS_ERROR_H, abs(error), port=port, entity=f"{port}/C{i}"),
        )
    ]


def test_the_mean_signed_and_absolute_error_and_the_share_within_an_hour() -> None:
    rows = kpi_aggregates(eta_values(), NETWORK, "month")
    signed = one(rows, "eta_error_h", "port", "PECLL")
    assert (signed.count, signed.value, signed.unit) == (4, 0.125, "h")  # (-3 + .5 + 1 + 2) / 4
    absolute = one(rows, "eta_abs_error_h", "port", "PECLL")
    # |e| sorted 0.5, 1, 2, 3: mean 6.5 / 4, median 1.5, p90 at 2.7: 2 + 0.7 * 1
    assert (absolute.count, absolute.value, absolute.median) == (4, 1.625, 1.5)
    assert absolute.p90 == pytest.approx(2.7)
    within = one(rows, "eta_within_1h_pct", "port", "PECLL")
    # 0.5 and exactly 1.0 are within the hour: 2 of 4 calls.
    assert (within.count, within.value, within.unit) == (4, 50.0, "%")
    assert (within.median, within.p90) == (None, None)


def test_every_level_has_them() -> None:
    rows = kpi_aggregates([*eta_values("PECLL"), *eta_values("COCTG")], NETWORK, "day")
    for level, entity in [("country", "CO"), ("mechanism", "PA"), ("region", "LAC")]:
        assert one(rows, "eta_within_1h_pct", level, entity).value == 50.0
    assert one(rows, "eta_abs_error_h", "region", "LAC").count == 8


def test_each_horizon_is_its_own_indicator() -> None:
    values = [
        kpi(KpiName.ETA_ABS_ERROR_24H_H, 4.0),
        kpi(KpiName.ETA_ERROR_24H_H, -4.0),
        kpi(KpiName.ETA_ABS_ERROR_72H_H, 10.0),
        kpi(KpiName.ETA_ERROR_72H_H, 10.0),
    ]
    rows = kpi_aggregates(values, NETWORK, "month")
    assert one(rows, "eta_error_24h_h", "port", "PECLL").value == -4.0
    assert one(rows, "eta_abs_error_72h_h", "port", "PECLL").value == 10.0
    # Only the last estimate's absolute error gives the share within an hour.
    assert not pick(rows, "eta_within_1h_pct", "port", "PECLL")
    assert not pick(rows, "eta_error_h", "port", "PECLL")


def test_open_or_flagged_values_do_not_count() -> None:
    values = [
        kpi(KpiName.ETA_ABS_ERROR_H, 0.2),
        kpi(KpiName.ETA_ABS_ERROR_H, None, None, flag="OPEN"),
        kpi(KpiName.ETA_ABS_ERROR_H, 5.0, flag="NEGATIVE_INTERVAL"),
    ]
    within = one(kpi_aggregates(values, NETWORK, "day"), "eta_within_1h_pct", "port", "PECLL")
    assert (within.count, within.value) == (1, 100.0)


def test_the_indicator_job_reads_every_kpi_the_aggregates_use() -> None:
    assert set(AGGREGATED_KPIS) <= set(INDICATOR_KPIS)
