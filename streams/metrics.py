"""The worker's Prometheus metrics, served on ``HUB_WORKER_METRICS_PORT`` (``/metrics``).

One definition of each metric; the intake stage counts, the KPI and certificate stages observe.
Two latencies: event time to KPI emitted (for live traffic the delay a dashboard shows, for a
replay of history the age of the events: its buckets reach a week), and arrival on the ingest
topic to KPI emitted (the pipeline's own delay, in fine buckets: the benchmark reads its
percentiles from them).
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
    "hub_events_rejected",
    "Events dead-lettered by the worker, by domain, reason and publisher (the port's UN/LOCODE,"
    " the single window's country; '' unknown)",
    ["domain", "reason", "publisher"],
)
KPI_LATENCY = Histogram(
    "hub_kpi_latency_seconds",
    "From an event's occurred_at to the KPIs it changed being emitted",
    buckets=(0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600, 6 * 3600, 86400, 7 * 86400),
)
PIPELINE_LATENCY = Histogram(
    "hub_pipeline_latency_seconds",
    "From an event's arrival on its ingest topic (the record's timestamp) to the KPIs it changed"
    " being emitted",
    buckets=(
        *(step / 100 for step in range(1, 10)),  # 10 ms steps below 0.1 s
        *(step / 20 for step in range(2, 20)),  # 50 ms steps below 1 s
        *(step / 4 for step in range(4, 20)),  # 250 ms steps below 5 s
        6, 8, 10, 15, 20, 30, 60, 120, 300,
    ),
)  # fmt: skip
VERDICTS = Counter(
    "hub_certificate_verdicts", "Certificate verdict versions issued, by outcome", ["outcome"]
)
REEVALUATIONS = Counter(
    "hub_certificate_reevaluations",
    "Certificates re-evaluated after a change of the issuer registry, by the change's kind and"
    " whether a new verdict version was issued",
    ["kind", "changed"],
)
CONSUMER_LAG = Gauge(
    "hub_consumer_lag", "Records on an ingest topic not yet committed by the workers", ["topic"]
)
KPI_ENTITIES = Gauge(
    "hub_kpi_entities_in_memory", "Entities whose KPI state the worker holds in memory"
)
BATCH_SECONDS = Histogram(
    "hub_batch_seconds", "Time to take in one batch (record, KPIs, windows, verdicts, emit)"
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


def observe_latency(occurred: Iterable[datetime], arrived: Iterable[float], now: datetime) -> None:
    """``occurred``: the events' times; ``arrived``: their records' timestamps (epoch s)."""
    for moment in occurred:
        KPI_LATENCY.observe(max(0.0, (now - moment).total_seconds()))
    now_s = now.timestamp()
    for timestamp in arrived:
        PIPELINE_LATENCY.observe(max(0.0, now_s - timestamp))
