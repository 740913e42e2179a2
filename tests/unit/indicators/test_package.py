"""The package's public surface, its purity, and the names and units of its indicators."""

from __future__ import annotations

import subprocess
import sys

import hub.domain.indicators
from hub.domain.indicators.model import (
    INDICATOR_UNITS,
    IndicatorName,
    adoption_indicator,
    refusal_indicator,
    rejection_indicator,
)


def test_public_api() -> None:
    assert sorted(hub.domain.indicators.__all__) == sorted(
        [
            "BUNDLED_MECHANISMS_FILE",
            "CALL_SIZE_BANDS",
            "INDICATOR_UNITS",
            "LAC_COUNTRIES",
            "REGION",
            "CallInfo",
            "CertificateOutcome",
            "Indicator",
            "IndicatorName",
            "IndicatorUnit",
            "Introversion",
            "Level",
            "Mechanism",
            "Network",
            "Period",
            "PortInfo",
            "QualityInputs",
            "TradeFlow",
            "all_indicators",
            "call_size_adjusted_port_hours",
            "call_size_band",
            "certificate_indicators",
            "connectivity_indicators",
            "emission_indicators",
            "introversion",
            "kpi_aggregates",
            "load_mechanisms",
            "period_start",
            "port_score",
            "quality_indicators",
            "refusal_indicator",
            "rejection_indicator",
            "score_indicators",
            "trade_indicators",
        ]
    )
    for name in hub.domain.indicators.__all__:
        assert hasattr(hub.domain.indicators, name), name


def test_no_streaming_http_or_database_imports() -> None:
    """Pure functions: importing the package loads none of faust, HTTP or PostgreSQL."""
    forbidden = ["faust", "mode", "aiokafka", "asyncpg", "fastapi", "httpx", "uvicorn"]
    code = (
        "import sys, hub.domain.indicators\n"
        f"loaded = sorted({{m.split('.')[0] for m in sys.modules}} & set({forbidden!r}))\n"
        "print(','.join(loaded))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""


def test_every_indicator_name_ends_with_its_unit_and_has_one() -> None:
    suffixes = {"h": "_h", "min": "_min", "days": "_days", "moves/h": "_moves_per_h", "TEU": "_teu",
                "t": "_t", "%": "_pct", "index": "_index", "score": "_score",
                "calls/week": "_per_week", "count": "_count"}  # fmt: skip
    assert set(INDICATOR_UNITS) == set(IndicatorName)
    for name, unit in INDICATOR_UNITS.items():
        assert name.endswith(suffixes[unit]), name
    assert rejection_indicator("ALREADY_USED") == "certificate_rejections_already_used_count"
    assert refusal_indicator("SCHEMA_INVALID") == "refusal_rate_schema_invalid_pct"
    assert refusal_indicator("odd reason/x") == "refusal_rate_odd_reason_x_pct"
    assert adoption_indicator("A58") == "certificate_adoption_a58_pct"
    assert adoption_indicator("CA-01") == "certificate_adoption_ca_01_pct"
