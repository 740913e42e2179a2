"""The worker's periodic jobs: its heartbeat, the consumer lag, the regional indicators.

All best effort: a turn that fails is logged and skipped, the next one tries again
(:data:`streams.error_policies.DATABASE_ERRORS`, :data:`streams.error_policies.PUBLISH_ERRORS`).
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import timedelta

import asyncpg

from hub.db.events import maintain_partitions
from hub.db.workers import heartbeat
from hub.domain.indicators.model import Indicator, Mechanism, PortInfo
from streams import metrics
from streams.error_policies import DATABASE_ERRORS, PUBLISH_ERRORS
from streams.indicator_stage import update_indicators, update_long_indicators
from streams.lag import LagProbe
from streams.sinks.base import Sink
from streams.sinks.records import indicator_records
from streams.state import WorkerState

log = logging.getLogger(__name__)


async def report_alive(state: WorkerState) -> None:
    """Record the worker's heartbeat (``hub status`` reads it)."""
    try:
        pool = await state.pool()
        await heartbeat(
            pool,
            f"{state.settings.worker.id}@{state.instance}",
            socket.gethostname(),
            os.getpid(),
            state.started_at,
            state.events_in,
        )
    except DATABASE_ERRORS as error:
        log.warning("heartbeat not recorded: %s", error)


async def keep_partitions(state: WorkerState) -> None:
    """The event store's monthly partitions: the next month's created ahead, the months past
    ``HUB_RETENTION_MONTHS`` dropped."""
    try:
        dropped = await maintain_partitions(
            await state.pool(), state.settings.database.retention_months
        )
    except DATABASE_ERRORS as error:
        log.warning("event partitions not maintained (next turn retries): %s", error)
        return
    if dropped:
        log.info("dropped %d event partitions past the retention: %s", len(dropped), dropped)


async def measure_lag(probe: LagProbe) -> None:
    """Set the consumer lag gauge of each ingest topic."""
    try:
        for topic, records in (await probe.measure()).items():
            metrics.CONSUMER_LAG.labels(topic=topic).set(records)
    except Exception as error:  # the metric is best effort; the stream goes on
        log.warning("consumer lag not measured: %s", error)


async def keep_indicators(
    state: WorkerState,
    network: Sequence[PortInfo],
    mechanisms: Mapping[str, Mechanism],
    sink: Sink,
    topic: str,
) -> None:
    """Recompute the indicators whose inputs changed and publish the rows through ``sink``."""
    month = timedelta(seconds=state.settings.worker.indicators_month_interval_s)
    await _keep(
        state,
        lambda pool: update_indicators(pool, network, mechanisms, month_interval=month),
        sink,
        topic,
    )


async def keep_long_indicators(
    state: WorkerState,
    network: Sequence[PortInfo],
    mechanisms: Mapping[str, Mechanism],
    sink: Sink,
    topic: str,
) -> None:
    """Recompute the quarters, half-years and years whose inputs changed, when due, and
    publish the rows through ``sink``."""
    interval = timedelta(seconds=state.settings.worker.indicators_long_interval_s)
    max_events = state.settings.worker.indicators_long_max_events
    await _keep(
        state,
        lambda pool: update_long_indicators(
            pool, network, mechanisms, interval=interval, max_events=max_events
        ),
        sink,
        topic,
    )


async def _keep(
    state: WorkerState,
    update: Callable[[asyncpg.Pool], Awaitable[list[Indicator]]],
    sink: Sink,
    topic: str,
) -> None:
    try:
        rows = await update(await state.pool())
    except DATABASE_ERRORS as error:
        log.warning("indicators not updated (next turn retries): %s", error)
        return
    try:
        for record in indicator_records(rows, topic):
            sink.add(record)
        await sink.flush()
    except PUBLISH_ERRORS as error:
        # Must not crash the worker: the rows are stored, the API serves them.
        log.warning("%d indicator rows not published: %s", sink.discard(), error)
