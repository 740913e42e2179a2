"""The indicator stage: a worker's periodic job that keeps the regional indicators current.

Every ``HUB_INDICATORS_INTERVAL_S`` it finds the UTC days whose inputs changed since its last run
(KPI values recomputed, events taken in, verdicts issued, refusals counted), loads each such
day's inputs from PostgreSQL and runs the batch reference
(:func:`hub.domain.indicators.reference.all_indicators`, the single definition) on them,
replacing that day's rows; the months of those days are recomputed the same way at most every
``HUB_INDICATORS_MONTH_INTERVAL_S`` (a month's inputs are thirty times a day's). A second job
(:func:`update_long_indicators`) recomputes their quarters, half-years and years at most every
``HUB_INDICATORS_LONG_INTERVAL_S`` (a year's inputs are 365 times a day's: read once an hour by
default, not on every run, and apart from the days, which go on meanwhile). Streaming equals
batch by construction: the same function on the same inputs.

One worker at a time runs each job (a PostgreSQL advisory lock); the others skip their turn.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg

from hub.db.indicator_store import (
    LONG_JOB_LOCK,
    certificate_outcomes,
    certificate_outcomes_of,
    change_mark,
    changed_days,
    customs_events_of_declarations,
    events_between,
    events_count_between,
    feed_between,
    indicator_job,
    kpi_values,
    long_progress,
    progress,
    refusal_counts,
    replace_indicators,
    save_long_progress,
    save_progress,
    vessel_events_of_calls,
)
from hub.domain.indicators.inputs import (
    call_actuals,
    call_infos,
    declaration_infos,
    lodged_declarations,
    move_links,
    trade_flows,
)
from hub.domain.indicators.model import (
    CertificateOutcome,
    DeclarationInfo,
    Indicator,
    Mechanism,
    Period,
    PortInfo,
    period_end,
    period_start,
)
from hub.domain.indicators.quality import FeedEvent, QualityInputs, RefusalCount
from hub.domain.indicators.reference import all_indicators
from hub.domain.kpis.model import EntityKind, KpiName, KpiValue
from schemas.models import Envelope, VesselEvent

log = logging.getLogger(__name__)

_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
_LONG_PERIODS: tuple[Period, ...] = ("quarter", "half-year", "year")
# A call is placed at its first vessel event; an estimated arrival can come this much earlier.
_CALL_LOOKBACK = timedelta(days=7)
# The scorecard judges a call on all its timestamps: those up to this long after the period.
_CALL_LOOKAHEAD = timedelta(days=14)


async def update_indicators(
    pool: asyncpg.Pool,
    ports: Sequence[PortInfo],
    mechanisms: Mapping[str, Mechanism],
    *,
    month_interval: timedelta,
) -> list[Indicator]:
    """Recompute the indicators of the days (and, when due, months) whose inputs changed.
    Returns the rows written; empty when nothing changed or another worker holds the job."""
    async with pool.acquire() as connection, indicator_job(connection) as held:
        if not held:
            return []
        return await _run(connection, ports, mechanisms, month_interval)


async def update_long_indicators(
    pool: asyncpg.Pool,
    ports: Sequence[PortInfo],
    mechanisms: Mapping[str, Mechanism],
    *,
    interval: timedelta,
    max_events: int = 1_000_000,
) -> list[Indicator]:
    """When ``interval`` has passed since the last time, recompute the quarters, half-years and
    years of the days whose inputs changed since then. A job of its own (lock and progress),
    so that the days and months do not wait while a year is read. A period holding more than
    ``max_events`` stored events is left as it is, with a warning: its recomputation would hold
    them all in memory (``HUB_INDICATORS_LONG_MAX_EVENTS``). Returns the rows written; empty
    when not due, nothing changed or another worker holds the job."""
    async with pool.acquire() as connection, indicator_job(connection, LONG_JOB_LOCK) as held:
        if not held:
            return []
        since = await long_progress(connection) or _EPOCH
        mark = await change_mark(connection)  # before reading: nothing falls between
        if mark - since < interval:
            return []
        days = await changed_days(connection, since)
        written: list[Indicator] = []
        for period in _LONG_PERIODS:
            for start in sorted({period_start(day, period) for day in days}):
                end = period_end(start, period)
                stored = await events_count_between(connection, start, end)
                if stored > max_events:
                    log.warning(
                        "the %s from %s is not recomputed: it holds %d events, more than "
                        "HUB_INDICATORS_LONG_MAX_EVENTS=%d (about 4 KB of memory each)",
                        period, start.date(), stored, max_events,
                    )  # fmt: skip
                    continue
                written += await _recompute(connection, period, start, ports, mechanisms)
        await save_long_progress(connection, mark)
        return written


async def _run(
    connection: asyncpg.Connection,
    ports: Sequence[PortInfo],
    mechanisms: Mapping[str, Mechanism],
    month_interval: timedelta,
) -> list[Indicator]:
    day_since, month_since = await progress(connection) or (_EPOCH, _EPOCH)
    mark = await change_mark(connection)  # before reading: nothing falls between
    written: list[Indicator] = []
    for day in await changed_days(connection, day_since):
        written += await _recompute(connection, "day", day, ports, mechanisms)
    if mark - month_since >= month_interval:
        months = {period_start(day, "month") for day in await changed_days(connection, month_since)}
        for month in sorted(months):
            written += await _recompute(connection, "month", month, ports, mechanisms)
        month_since = mark
    await save_progress(connection, mark, month_since)
    return written


async def _recompute(
    connection: asyncpg.Connection,
    period: Period,
    start: datetime,
    ports: Sequence[PortInfo],
    mechanisms: Mapping[str, Mechanism],
) -> list[Indicator]:
    end = period_end(start, period)
    cargo = await events_between(connection, ["cargo"], start, end)
    customs = await events_between(connection, ["customs"], start, end)
    vessel = await events_between(connection, ["vessel"], start - _CALL_LOOKBACK, end)
    # The later timestamps of the calls seen in the period, read by their keys: reading every
    # vessel event of the two weeks after the period cost a day's recomputation 22 days' worth.
    calls = sorted(
        {
            (e.port, e.port_call_id)
            for e in vessel
            if isinstance(e, VesselEvent) and e.occurred_at >= start
        }
    )
    vessel += await vessel_events_of_calls(connection, calls, end, end + _CALL_LOOKAHEAD)
    kpis = await kpi_values(connection, start, end)
    # The certificate's effect on release time classes each declaration released in the period
    # by its lodgement and its certificate's verdict, which may lie in an earlier period: read
    # them by their keys (the extra rows they give other periods are dropped below).
    released = sorted(
        {
            (port, declaration)
            for k in kpis
            if k.kpi == KpiName.RELEASE_TIME_H and k.entity_kind == EntityKind.DECLARATION
            for port, _, declaration in [k.entity_id.partition("/")]
        }
    )
    lodgements = customs + await customs_events_of_declarations(connection, released)
    declarations = await asyncio.to_thread(declaration_infos, lodgements)
    certificates = {c.certificate_id: c for c in await certificate_outcomes(connection, start, end)}
    named = sorted(
        {d.certificate_id for d in declarations if d.certificate_id} - certificates.keys()
    )
    for outcome in await certificate_outcomes_of(connection, named):
        certificates[outcome.certificate_id] = outcome
    inputs = _Inputs(
        kpis=kpis,
        cargo=cargo,
        customs=customs,
        vessel=vessel,
        feed=await feed_between(connection, start, end),
        refusals=await refusal_counts(connection, start, end),
        certificates=list(certificates.values()),
        declarations=declarations,
    )
    # The batch reference is pure Python over a period's inputs (seconds for a month): run in
    # a thread, so that the worker's event loop goes on taking events in meanwhile.
    rows = await asyncio.to_thread(_indicators, inputs, ports, mechanisms, period, start)
    async with connection.transaction():
        await replace_indicators(connection, period, start, rows)
    return rows


@dataclass(frozen=True, slots=True)
class _Inputs:
    """What :func:`_recompute` read of a period, for :func:`all_indicators`."""

    kpis: list[KpiValue]
    cargo: list[Envelope]
    customs: list[Envelope]
    vessel: list[Envelope]
    feed: list[FeedEvent]
    refusals: list[RefusalCount]
    certificates: list[CertificateOutcome]
    """Those submitted in the period, and those its declarations name."""
    declarations: list[DeclarationInfo]
    """Those lodged in the period, and those released in it (:func:`declaration_infos`)."""


def _indicators(
    inputs: _Inputs,
    ports: Sequence[PortInfo],
    mechanisms: Mapping[str, Mechanism],
    period: Period,
    start: datetime,
) -> list[Indicator]:
    quality = QualityInputs(
        feed=inputs.feed,
        calls=call_actuals(inputs.vessel),
        moves=move_links(inputs.cargo),
        declarations=lodged_declarations(inputs.customs),
        refusals=inputs.refusals,
    )
    return [
        row
        for row in all_indicators(
            inputs.kpis,
            trade_flows(inputs.cargo),
            call_infos(inputs.vessel),
            inputs.certificates,
            ports,
            mechanisms,
            period,
            inputs.declarations,
            quality,
        )
        if row.period_start == start
    ]
