"""The indicator stage keeps quarters, half-years and years, at most every long interval, on
the real PostgreSQL (the stage's function, without a worker around it)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from connectors.simulator import PortTrafficGenerator
from hub.db.events import record_events
from hub.db.indicator_store import LONG_JOB_LOCK, indicator_job
from hub.db.migrations import migrate
from hub.domain.indicators.inputs import (
    call_actuals,
    call_infos,
    declaration_infos,
    feed_events,
    lodged_declarations,
    move_links,
    trade_flows,
)
from hub.domain.indicators.mechanisms import load_mechanisms
from hub.domain.indicators.model import Indicator, PortInfo
from hub.domain.indicators.quality import QualityInputs
from hub.domain.indicators.reference import all_indicators
from hub.domain.reference import BUNDLED_MECHANISMS_FILE, BUNDLED_PORTS_FILE, load_ports
from schemas.models import MODELS, Envelope
from streams.indicator_stage import update_indicators, update_long_indicators
from streams.intake import to_store

# Two days of the first quarter at one port, generated; the second day comes after a first run.
DAY_1 = datetime(2026, 2, 10, tzinfo=UTC)
DAY_2 = datetime(2026, 3, 20, tzinfo=UTC)
QUARTER = datetime(2026, 1, 1, tzinfo=UTC)
SHARE = "intra_regional_share_teu_pct"
_DOMAIN_OF = {model: domain for domain, model in MODELS.items()}


def _day(start: datetime, seed: int = 7) -> list[Envelope]:
    ports = [port for port in load_ports(BUNDLED_PORTS_FILE) if port.unlocode == "PECLL"]
    generator = PortTrafficGenerator(ports, seed=seed, start=start - timedelta(days=1), scale=0.01)
    return list(generator.events_between(start, start + timedelta(days=1)))


async def _store(pool: asyncpg.Pool, events: list[Envelope]) -> None:
    stored = [to_store(_DOMAIN_OF[type(e)], e, f"test/0/{n}") for n, e in enumerate(events)]
    await record_events(pool, stored)


async def _rows(
    pool: asyncpg.Pool, period: str, start: datetime
) -> dict[tuple[str, str, str], asyncpg.Record]:
    rows = await pool.fetch(
        "SELECT * FROM indicators WHERE period = $1 AND period_start = $2", period, start
    )
    return {(r["level"], r["entity"], r["indicator"]): r for r in rows}


def _reference(
    events: list[Envelope], period: str, start: datetime
) -> dict[tuple[str, str, str], Indicator]:
    network = [PortInfo(p.unlocode, p.country) for p in load_ports(BUNDLED_PORTS_FILE)]
    quality = QualityInputs(
        feed_events(events), call_actuals(events), move_links(events), lodged_declarations(events)
    )
    rows = all_indicators(
        [], trade_flows(events), call_infos(events), [], network,
        load_mechanisms(BUNDLED_MECHANISMS_FILE), period,  # type: ignore[arg-type]
        declaration_infos(events), quality,
    )  # fmt: skip
    return {(r.level, r.entity, r.indicator): r for r in rows if r.period_start == start}


async def test_long_periods_wait_for_their_interval_then_equal_the_reference(
    fresh_database: str,
) -> None:
    first, second = _day(DAY_1), _day(DAY_2, seed=9)
    assert not {e.event_id for e in first} & {e.event_id for e in second}
    ports = [PortInfo(p.unlocode, p.country) for p in load_ports(BUNDLED_PORTS_FILE)]
    mechanisms = load_mechanisms(BUNDLED_MECHANISMS_FILE)
    pool = await asyncpg.create_pool(fresh_database, min_size=1, max_size=3)
    try:
        async with pool.acquire() as connection:
            await migrate(connection)
        await _store(pool, first)
        hour = timedelta(hours=1)

        async def run(long_interval: timedelta) -> set[str]:
            """The periods the two jobs wrote, the days' and months' first."""
            days = await update_indicators(pool, ports, mechanisms, month_interval=timedelta(0))
            longer = await update_long_indicators(pool, ports, mechanisms, interval=long_interval)
            assert {row.period for row in days} <= {"day", "month"}
            return {row.period for row in days + longer}

        # The first run has no progress for the long periods: they are due, and computed.
        assert await run(hour) == {"day", "month", "quarter", "half-year", "year"}
        for period in ("quarter", "half-year", "year"):
            stored = await _rows(pool, period, QUARTER)
            expected = _reference(first, period, QUARTER)
            assert stored.keys() == expected.keys() and expected
            key = ("region", "LAC", SHARE)
            assert stored[key]["count"] == expected[key].count > 0
            assert stored[key]["value"] == pytest.approx(expected[key].value)

        # A day changes within the hour: its day and month follow, the quarter does not yet.
        await _store(pool, second)
        assert await run(hour) == {"day", "month"}
        quarter = (await _rows(pool, "quarter", QUARTER))[("region", "LAC", SHARE)]
        assert (
            quarter["count"]
            == _reference(first, "quarter", QUARTER)[("region", "LAC", SHARE)].count
        )

        # Once the interval has passed (0 here), the quarter, half-year and year hold both days.
        written = await update_long_indicators(pool, ports, mechanisms, interval=timedelta(0))
        assert {row.period for row in written} >= {"quarter", "half-year", "year"}
        both = first + second
        for period in ("quarter", "half-year", "year"):
            stored = await _rows(pool, period, QUARTER)
            expected = _reference(both, period, QUARTER)
            assert stored.keys() == expected.keys()
            for key, want in expected.items():
                assert stored[key]["count"] == want.count, key
                if want.value is None:
                    assert stored[key]["value"] is None, key
                else:
                    assert stored[key]["value"] == pytest.approx(want.value, rel=1e-9), key
        both_count = (await _rows(pool, "quarter", QUARTER))[("region", "LAC", SHARE)]["count"]
        assert both_count > quarter["count"]
        calls = (await _rows(pool, "year", QUARTER))[("port", "PECLL", "vessel_calls_per_week")]
        assert calls["value"] == pytest.approx(calls["count"] * 7 / 365)

        # While one worker recomputes a year, another's days go on; its long job skips its turn.
        await _store(pool, _day(DAY_2 + timedelta(days=1), seed=8))  # other event ids
        async with pool.acquire() as busy, indicator_job(busy, LONG_JOB_LOCK) as held:
            assert held
            assert (
                await update_long_indicators(pool, ports, mechanisms, interval=timedelta(0)) == []
            )
            days = await update_indicators(pool, ports, mechanisms, month_interval=hour)
            assert {row.period for row in days} == {"day"}

        # The table takes the five periods and nothing else (migration 0023).
        with pytest.raises(asyncpg.CheckViolationError):
            await pool.execute(
                "INSERT INTO indicators (level, entity, period, period_start, indicator, unit,"
                " count) VALUES ('region', 'LAC', 'week', $1, 'x', 'count', 0)",
                QUARTER,
            )
    finally:
        await pool.close()


async def test_a_long_period_with_more_events_than_the_limit_is_left_alone_and_named(
    fresh_database: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Recomputing a period holds its events in memory: past HUB_INDICATORS_LONG_MAX_EVENTS the
    job leaves it as it is and says so, while the days and months go on."""
    events = _day(DAY_1)
    ports = [PortInfo(p.unlocode, p.country) for p in load_ports(BUNDLED_PORTS_FILE)]
    mechanisms = load_mechanisms(BUNDLED_MECHANISMS_FILE)
    pool = await asyncpg.create_pool(fresh_database, min_size=1, max_size=2)
    try:
        async with pool.acquire() as connection:
            await migrate(connection)
        await _store(pool, events)
        limit = len(events) - 1  # the quarter holds every event of the day, one too many
        days = await update_indicators(pool, ports, mechanisms, month_interval=timedelta(0))
        assert {row.period for row in days} == {"day", "month"}
        with caplog.at_level("WARNING", logger="streams.indicator_stage"):
            longer = await update_long_indicators(
                pool, ports, mechanisms, interval=timedelta(0), max_events=limit
            )
        assert longer == []
        for period in ("quarter", "half-year", "year"):
            assert await _rows(pool, period, QUARTER) == {}
        warned = [
            r.getMessage() for r in caplog.records
            if "HUB_INDICATORS_LONG_MAX_EVENTS" in r.getMessage()
        ]  # fmt: skip
        assert [w.split(" is not")[0] for w in warned] == [
            "the quarter from 2026-01-01", "the half-year from 2026-01-01", "the year from 2026-01-01"
        ], warned  # fmt: skip
        assert all(f"HUB_INDICATORS_LONG_MAX_EVENTS={limit}" in w for w in warned)
    finally:
        await pool.close()
