"""The KPI flusher's loop: recompute the marked KPI groups for as long as the worker runs.

A round (:meth:`streams.kpi_stage.KpiFlusher.flush`) claims marks, recomputes and stores the
groups' KPIs, publishes what changed through the KPI sink and only then clears the marks: a
round that fails leaves its marks for the next, by any worker. Transient failures are retried
(:func:`streams.error_policies.retry_transient`); any other ends the worker
(:func:`streams.error_policies.fail_stop`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime

from streams import metrics
from streams.error_policies import fail_stop, retry_transient
from streams.kpi_stage import KpiFlusher, KpiUpdate, PendingLatency
from streams.sinks.base import Sink
from streams.sinks.records import kpi_records
from streams.state import WorkerState

log = logging.getLogger(__name__)

# Idle, the flusher looks for marks this often.
_FLUSH_IDLE_S = 0.1


def kpi_publisher(
    sink: Sink, kpi_topics: Mapping[str, str], windows: str, pending: PendingLatency
) -> Callable[[KpiUpdate], Awaitable[None]]:
    """The flusher's ``publish``: a round's changed KPIs and windows, through ``sink``, and
    once acknowledged the latencies of the events whose groups are now all published."""

    async def publish(update: KpiUpdate) -> None:
        for record in kpi_records(update, kpi_topics, windows):
            sink.add(record)
        await sink.flush()
        done = pending.published(update.groups)
        metrics.observe_latency(
            (occurred for occurred, _ in done), (arrived for _, arrived in done), datetime.now(UTC)
        )

    return publish


async def flush_forever(flusher: KpiFlusher, state: WorkerState) -> None:
    """Recompute marked KPIs for as long as the worker runs: a round at most every
    ``HUB_KPI_FLUSH_INTERVAL_S`` (the intake shares the process), idle, a look every 0.1 s."""
    loop = asyncio.get_running_loop()
    while True:
        began = loop.time()
        try:
            recomputed = await retry_transient("recompute KPIs", lambda: flush_once(flusher, state))
        except asyncio.CancelledError:
            raise
        except Exception:
            fail_stop("kpi-flusher")
        if recomputed:
            rest = state.settings.worker.kpi_flush_interval_s - (loop.time() - began)
            await asyncio.sleep(max(rest, 0.0))
        else:
            await asyncio.sleep(_FLUSH_IDLE_S)


async def flush_once(flusher: KpiFlusher, state: WorkerState) -> int:
    """One round; returns how many groups it recomputed."""
    pool = await state.pool()
    began = time.perf_counter()
    recomputed = await flusher.flush(pool)
    if recomputed:
        elapsed = time.perf_counter() - began
        metrics.KPI_FLUSH_SECONDS.observe(elapsed)
        metrics.KPI_GROUPS.inc(recomputed)
        log.debug("KPIs of %d groups recomputed in %.3f s", recomputed, elapsed)
    return recomputed
