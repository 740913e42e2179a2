"""The faust application: built from the hub's settings, run by ``hub worker``.

Wiring only: the topics, the agents, the task and timers, the shutdown signal. What they do
lives in a module per concern:

- :mod:`streams.batched_intake`: the consumer of the ingest topics, in batches (owned by the
  app, started by its task ``take_in``); :mod:`streams.intake`: what a batch goes through;
- :mod:`streams.kpi_stage`: the KPIs and windows of the ports this worker owns, in memory;
- :mod:`streams.checkpoint`: a batch's commit order (stored, marked, published, committed);
- :mod:`streams.error_policies`: retry, dead-letter, refuse the unstorable, fail-stop;
- :mod:`streams.sinks`: the outputs besides PostgreSQL (KPIs, windows, verdicts, dead
  letters, indicators) behind one interface;
- :mod:`streams.registry_changes`: the verdicts a change of the issuer registry affects,
  re-evaluated and published (a timer polling the outbox);
- :mod:`streams.timers`: heartbeat, lag, indicators; :mod:`streams.lag`: the lag probe;
  :mod:`streams.state`: the worker's state.

A batch's offsets are committed only after its handler returned (stored, KPIs written,
published). The handler retries database, registry and broker calls until they succeed, and on
any other error the worker ends at once (:func:`streams.error_policies.fail_stop`), so that the
batch is delivered again to the restarted worker.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import faust

from hub.domain.indicators.mechanisms import load_mechanisms
from hub.domain.indicators.model import PortInfo
from hub.domain.reference import load_ports
from hub.kafka_topics import DEADLETTER, INDICATORS, INGEST_TOPICS, KPI_TOPICS, KPI_WINDOWS
from hub.settings import HubSettings
from streams import metrics, registry_changes, timers
from streams.batched_intake import BatchedIntake
from streams.error_policies import fail_stop
from streams.intake import IntakeOutputs, batch_handler
from streams.kpi_stage import KpiStage
from streams.lag import LagProbe
from streams.sinks.bulk_producer import BulkProducer
from streams.sinks.kafka import BulkSink, TopicSink
from streams.state import WorkerState

_LAG_INTERVAL_S = 10.0
# The event store's partitions are looked after this often (a batch creates a missing month).
_PARTITIONS_INTERVAL_S = 3600.0
# The outbox of issuer-registry changes is polled this often: a revocation reaches customs
# within about this delay plus the re-evaluation.
_REGISTRY_CHANGES_INTERVAL_S = 1.0


def intake_group(worker_id: str) -> str:
    """The consumer group of the workers' intake (``HUB_WORKER_ID``, faust's own group, plus
    ``.intake``)."""
    return f"{worker_id}.intake"


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
    outputs = IntakeOutputs(
        deadletters=TopicSink("dead letters", deadletters),
        deadletter_topic=settings.topic(DEADLETTER),
        verdicts=BulkSink("verdicts", bulk),
        kpis=BulkSink("KPIs", bulk),
        kpi_topics={kind: settings.topic(name) for kind, name in KPI_TOPICS.items()},
        windows_topic=settings.topic(KPI_WINDOWS),
        topic=settings.topic,
    )
    stage = KpiStage(
        state.berths,
        arrival_tolerance=timedelta(minutes=settings.rules.ais_arrival_tolerance_min),
    )
    domains = {settings.topic(name): domain for domain, name in INGEST_TOPICS.items()}

    async def forget(_: object) -> None:
        stage.forget()

    intake = BatchedIntake(
        bootstrap,
        intake_group(settings.worker.id),
        sorted(domains),
        batch_handler(domains, state, stage, outputs),
        max_records=settings.worker.batch_size,
        max_wait_s=settings.worker.batch_wait_s,
        on_revoked=forget,
        session_timeout_s=10.0,
        heartbeat_s=3.0,
    )

    @app.task  # type: ignore[untyped-decorator]
    async def take_in() -> None:
        try:
            await intake.run()
        except asyncio.CancelledError:
            raise
        except Exception:
            # faust would log a failed task and run on without an intake.
            fail_stop("intake consumer")

    @app.timer(interval=settings.worker.heartbeat_s, on_leader=False)  # type: ignore[untyped-decorator]
    async def report_alive() -> None:
        await timers.report_alive(state)

    @app.timer(interval=_PARTITIONS_INTERVAL_S, on_leader=False)  # type: ignore[untyped-decorator]
    async def keep_partitions() -> None:
        await timers.keep_partitions(state)

    lag = LagProbe(bootstrap, intake_group(settings.worker.id), sorted(domains))

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

    # Its own sink (a sink belongs to one task); due or not, it decides from the database.
    long_indicators = TopicSink(
        "long-period indicators", {settings.topic(INDICATORS): raw_topic(INDICATORS)}
    )

    @app.timer(interval=settings.worker.indicators_interval_s, on_leader=False)  # type: ignore[untyped-decorator]
    async def keep_long_indicators() -> None:
        await timers.keep_long_indicators(
            state, network, mechanisms, long_indicators, settings.topic(INDICATORS)
        )

    # A sink of its own (a sink belongs to one task), on the producer of the intake's verdicts.
    reevaluated = BulkSink("re-evaluated verdicts", bulk)

    @app.timer(interval=_REGISTRY_CHANGES_INTERVAL_S, on_leader=False)  # type: ignore[untyped-decorator]
    async def follow_registry() -> None:
        await registry_changes.process_registry_changes(state, reevaluated, settings.topic)

    async def close_clients(sender: Any, /, *_: Any, signal: Any, **__: Any) -> None:
        await intake.stop()
        await lag.close()
        await bulk.close()

    app.on_before_shutdown.connect(close_clients)

    metrics.serve_metrics(settings.api.http_host, settings.worker.metrics_port)
    return app
