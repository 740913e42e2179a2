"""The faust application: built from the hub's settings, run by ``hub worker``.

Wiring only: the topics, the agents, the task and timers, the shutdown signal. What they do
lives in a module per concern:

- :mod:`streams.intake`: the intake agents (one per event domain) and their batches;
- :mod:`streams.checkpoint`: a batch's commit order (stored, marked, published, committed);
- :mod:`streams.error_policies`: retry, dead-letter, refuse the unstorable, fail-stop;
- :mod:`streams.sinks`: the outputs besides PostgreSQL (KPIs, windows, verdicts, dead
  letters, indicators) behind one interface;
- :mod:`streams.flusher`: the KPI flusher's loop; :mod:`streams.timers`: heartbeat, lag,
  indicators; :mod:`streams.lag`: the lag probe; :mod:`streams.state`: the worker's state.

Faust pitfall handled in those modules, once: ``Stream.take_events`` acks a batch in a
``finally`` block, so an exception escaping an agent would commit offsets of events never
recorded. The agent therefore (a) retries database, registry and broker calls until they
succeed, and (b) on any other error ends the process at once
(:func:`streams.error_policies.fail_stop`), before the next offset commit, so that the batch is
delivered again to the restarted worker.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import faust

from hub.domain.indicators.mechanisms import load_mechanisms
from hub.domain.indicators.model import PortInfo
from hub.domain.reference import load_ports
from hub.kafka_topics import DEADLETTER, INDICATORS, INGEST_TOPICS, KPI_TOPICS, KPI_WINDOWS
from hub.settings import HubSettings
from streams import metrics, timers
from streams.flusher import flush_forever, kpi_publisher
from streams.intake import IntakeOutputs, intake_agent
from streams.kpi_stage import KpiFlusher
from streams.lag import LagProbe
from streams.sinks.bulk_producer import BulkProducer
from streams.sinks.kafka import BulkSink, TopicSink
from streams.state import WorkerState

_LAG_INTERVAL_S = 10.0


def faust_broker_urls(bootstrap: str) -> list[str]:
    return [f"kafka://{server.strip()}" for server in bootstrap.split(",")]


def create_app(settings: HubSettings, bootstrap: str, database_url: str | None) -> faust.App:
    """Build the faust app and its agents for one deployment."""
    datadir = settings.state_dir / "faust" / settings.worker.id
    datadir.mkdir(parents=True, exist_ok=True)
    app = faust.App(
        settings.worker.id,
        broker=faust_broker_urls(bootstrap),
        store="memory://",
        web_enabled=False,
        datadir=str(datadir),
        topic_partitions=settings.kafka.topic_partitions,
        topic_replication_factor=settings.kafka.topic_replication_factor,
        producer_acks=-1,
        consumer_auto_offset_reset="earliest",
        # A worker killed without leaving its group holds its partitions until the session
        # times out (faust's default: 60 s): the restarted or surviving worker waits that long.
        broker_session_timeout=10.0,
        broker_heartbeat_interval=3.0,
    )
    state = WorkerState(settings, database_url)

    def raw_topic(name: str) -> faust.TopicT:
        return app.topic(settings.topic(name), key_serializer="raw", value_serializer="raw")

    # One producer of record batches for the KPIs, windows and verdicts; faust's own for the
    # topics it declares (dead letters, indicators).
    bulk = BulkProducer(bootstrap)
    deadletters = {settings.topic(DEADLETTER): raw_topic(DEADLETTER)}
    for domain, topic_name in INGEST_TOPICS.items():
        outputs = IntakeOutputs(
            deadletters=TopicSink("dead letters", deadletters),
            deadletter_topic=settings.topic(DEADLETTER),
            verdicts=BulkSink("verdicts", bulk),
            topic=settings.topic,
        )
        agent = intake_agent(domain, state, outputs)
        app.agent(raw_topic(topic_name), name=f"intake-{domain}")(agent)

    flusher = KpiFlusher(
        state.berths,
        kpi_publisher(
            BulkSink("KPIs", bulk),
            {kind: settings.topic(name) for kind, name in KPI_TOPICS.items()},
            settings.topic(KPI_WINDOWS),
            state.pending,
        ),
        state.cache,
        arrival_tolerance=timedelta(minutes=settings.rules.ais_arrival_tolerance_min),
    )

    @app.task  # type: ignore[untyped-decorator]
    async def keep_kpis() -> None:
        await flush_forever(flusher, state)

    @app.timer(interval=settings.worker.heartbeat_s, on_leader=False)  # type: ignore[untyped-decorator]
    async def report_alive() -> None:
        await timers.report_alive(state)

    lag = LagProbe(
        bootstrap, settings.worker.id, [settings.topic(t) for t in INGEST_TOPICS.values()]
    )

    @app.timer(interval=_LAG_INTERVAL_S, on_leader=False)  # type: ignore[untyped-decorator]
    async def measure_lag() -> None:
        await timers.measure_lag(lag)

    network = [
        PortInfo(port.unlocode, port.country) for port in load_ports(settings.reference.ports_file)
    ]
    mechanisms = load_mechanisms(settings.reference.mechanisms_file)
    indicators = TopicSink("indicators", {settings.topic(INDICATORS): raw_topic(INDICATORS)})

    @app.timer(interval=settings.worker.indicators_interval_s, on_leader=False)  # type: ignore[untyped-decorator]
    async def keep_indicators() -> None:
        await timers.keep_indicators(
            state, network, mechanisms, indicators, settings.topic(INDICATORS)
        )

    async def close_clients(sender: Any, /, *_: Any, signal: Any, **__: Any) -> None:
        await lag.close()
        await bulk.close()

    app.on_before_shutdown.connect(close_clients)

    metrics.serve_metrics(settings.api.http_host, settings.worker.metrics_port)
    return app
