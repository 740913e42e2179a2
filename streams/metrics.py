"""The worker's Prometheus metrics, served on ``HUB_WORKER_METRICS_PORT`` (``/metrics``).

One definition of each metric; the intake stage counts, the KPI and certificate stages observe.
Latency is event time to KPI emitted: for live traffic it is the pipeline's delay, for a replay of
history it is the age of the events (the buckets reach a week for that reason).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime

from prometheus_client import Counter, Gauge, Histogram, start_http_server

log = logging.getLogger(__name__)

EVENTS_IN = Counter(
    "hub_events_in", "Events accepted by the worker, by domain and port", ["domain", "port"]
)
EVENTS_REJECTED = Counter(
    "hub_events_rejected", "Events dead-lettered by the worker, by domain and reason",
    ["domain", "reason"],
)  # fmt: skip
KPI_LATENCY = Histogram(
    "hub_kpi_latency_seconds",
    "From an event's occurred_at to the KPIs it changed being emitted",
    buckets=(0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600, 6 * 3600, 86400, 7 * 86400),
)
VERDICTS = Counter(
    "hub_certificate_verdicts", "Certificate verdict versions issued, by outcome", ["outcome"]
)
CONSUMER_LAG = Gauge(
    "hub_consumer_lag", "Records on an ingest topic not yet committed by the workers", ["topic"]
)
BATCH_SECONDS = Histogram(
    "hub_batch_seconds", "Time to take in one batch (record, KPIs, verdicts, emit)", ["domain"]
)


def serve_metrics(host: str, port: int) -> bool:
    """Serve ``/metrics`` on ``host:port`` (0: not at all). A port in use is logged, not fatal:
    the worker's job is the stream, not its metrics."""
    if port == 0:
        return False
    try:
        start_http_server(port, addr=host)
    except OSError as error:
        log.warning("worker metrics not served on %s:%s: %s", host, port, error)
        return False
    return True


def observe_latency(occurred: Iterable[datetime], now: datetime) -> None:
    for moment in occurred:
        KPI_LATENCY.observe(max(0.0, (now - moment).total_seconds()))
