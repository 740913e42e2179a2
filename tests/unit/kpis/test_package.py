"""The package's public surface, its purity, and its documentation."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import hub.domain.kpis
from hub.domain.kpis.model import UNITS, KpiName
from schemas.models import Channel, CustomsKind, Facility, Move, Operation
from schemas.validation import check
from tests.unit.kpis.builders import PORT, cargo, customs, vessel

DOCS = Path(__file__).parents[3] / "docs" / "kpis.md"


def test_public_api() -> None:
    assert sorted(hub.domain.kpis.__all__) == sorted(
        [
            "UNITS",
            "EntityKind",
            "Granularity",
            "KpiFlag",
            "KpiName",
            "KpiValue",
            "Unit",
            "WindowAggregate",
            "all_kpis",
            "container_visit_kpis",
            "container_visits",
            "declaration_dependencies",
            "declaration_kpis",
            "declarations_depending_on",
            "effective_events",
            "entity_keys_of",
            "move_kpis",
            "percentile_cont",
            "port_call_kpis",
            "teu",
            "truck_visit_kpis",
            "window_aggregates",
        ]
    )


def test_no_streaming_http_or_database_imports() -> None:
    """Pure functions: importing the package loads none of faust, HTTP or PostgreSQL."""
    forbidden = ["faust", "mode", "aiokafka", "asyncpg", "fastapi", "httpx", "uvicorn"]
    code = (
        "import sys, hub.domain.kpis\n"
        f"loaded = sorted({{m.split('.')[0] for m in sys.modules}} & set({forbidden!r}))\n"
        "print(','.join(loaded))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""


def test_every_kpi_name_ends_with_its_unit_and_has_one() -> None:
    suffixes = {"h": "_h", "min": "_min", "days": "_days", "moves": "_moves", "moves/h":
                "_moves_per_h", "cranes": "_cranes", "TEU": "_teu", "t": "_t", "count": "_count",
                "flag": "_flag", "%": "_pct"}  # fmt: skip
    assert set(UNITS) == set(KpiName)
    for name, unit in UNITS.items():
        assert name.endswith(suffixes[unit]), name


def test_the_docs_have_a_section_for_every_kpi_with_its_unit() -> None:
    text = DOCS.read_text(encoding="utf-8")
    sections = dict(re.findall(r"^## `([a-z0-9_]+)`\n(.*?)(?=^## |\Z)", text, re.M | re.S))
    assert set(sections) == {name.value for name in KpiName}
    for name, unit in UNITS.items():
        assert f"`{unit.value}`" in sections[name.value], name
        assert "Anchor" in sections[name.value], name


def test_the_test_builders_make_events_that_pass_validation() -> None:
    events = [
        vessel(Operation.ARRI, Facility.BRTH, 1),
        *(cargo(move, 1) for move in Move),
        *(customs(kind, 1) for kind in CustomsKind if kind is not CustomsKind.CHANNEL),
        customs(CustomsKind.CHANNEL, 1, channel=Channel.RED),
    ]
    for event in events:
        assert check(event, {PORT}, now=event.published_at) is None, event
