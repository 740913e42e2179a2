"""Throughput, latency and scaling of the hub on this machine: ``python -m bench.throughput``.

One run, same machine, same topics:

1. the traffic generator writes ``--events`` events (default 1,000,000; days of history of every
   reference port, every domain) to the ingest topics of a fresh topic namespace, as Confluent
   Avro; generation is not timed;
2. **baseline**: a bare aiokafka consumer reads those topics and decodes every record with
   fastavro, no processing; then the **faust floor**: a faust worker that does the same and
   nothing else (``bench.faust_floor``), the ceiling of any faust-based intake;
3. **hub**, with 2 and then 1 ``hub worker`` processes in one consumer group, each time on a new
   database: intake + KPI stage + certificate stage + PostgreSQL, from the first event taken in to
   the last KPI committed (both read from the database's own timestamps); of the 1-worker run also
   the rate over the first and over the last tenth of the events taken in (``ingested_at``: is the
   cost per event flat as history grows?) and an estimate of how long a year of the region
   (250,000,000 events) would take to replay at the measured rate;
4. **latency**, on the single worker once it has caught up, one phase per ``--rate`` (default
   300 and then 2,000 events/s): ``--latency-seconds`` of further events published at that steady
   rate; the worker observes, per event, its record's timestamp (publish) to the KPIs it changed
   being emitted (``hub_pipeline_latency_seconds``); p50/p95/p99 are read from that histogram
   (linear within a bucket: 10 ms buckets below 0.1 s, 50 ms below 1 s, 250 ms below 5 s); then
   the worker's peak RSS.

``--quick`` is 300,000 events, 1 worker only (no 2-worker run, no faust floor) and 15 s latency
phases. Most of its time is the hub run (300,000 ÷ the hub's events/s): at today's
~1,000-1,600 events/s the quick run takes 6-9 minutes on 2 cores, the full run about 45 minutes.

Prints progress on stderr and one JSON line on stdout, and writes the same result, pretty-printed,
with the commit, the date and the machine's cores, to ``bench/results/latest.json`` (``--results``).
Uses the services the hub would use (``HUB_KAFKA_BOOTSTRAP`` / ``DATABASE_URL``, else the local
broker and database, started if needed and stopped again); the bench databases are dropped at the
end, the topics are left. Not part of the test run.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import itertools
import json
import os
import resource
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from fastavro import schemaless_reader
from prometheus_client.parser import text_string_to_metric_families

from connectors.simulator import PortTrafficGenerator
from hub.db.schema_registry import SchemaRegistryStore
from hub.domain.reference import load_agreements, load_ports
from hub.kafka_topics import INGEST_TOPICS
from hub.run.generate import register_test_issuers
from hub.services import Endpoints, connect, ensure_services, prepare
from hub.settings import PROJECT_ROOT, HubSettings, load_settings
from schemas.avro_schemas import parsed_schema, schema_text, subject_for
from schemas.codec import AvroCodec
from schemas.models import to_avro_datum
from schemas.routing import domain_of, partition_key
from streams.app import intake_group
from streams.lag import LagProbe

# About 10,000 events per hour of history at scale 1 over the 28 reference ports.
_EVENTS_PER_HOUR = 10_000
_CONFLUENT_HEADER = 5
_PROGRESS_EVERY_S = 10.0
_FULL_EVENTS = 1_000_000
_QUICK_EVENTS = 300_000
_FULL_LATENCY_S = 60.0
_QUICK_LATENCY_S = 15.0
# Today's load (a few hundred events/s) and a busy hour of the region, above one worker's pace.
_LATENCY_RATES = (300.0, 2000.0)
# A year of the region's traffic: what a replay of its history has to take in.
REGION_YEAR_EVENTS = 250_000_000
RESULTS_FILE = PROJECT_ROOT / "bench" / "results" / "latest.json"


@dataclass(frozen=True, slots=True)
class Record:
    topic: str
    key: bytes
    value: bytes


@dataclass(slots=True)
class HubRun:
    workers: int
    events: int
    seconds: float
    rejected: int
    first_tenth_events_per_s: float | None = None
    last_tenth_events_per_s: float | None = None
    peak_rss_mb: list[float] = field(default_factory=list)

    @property
    def events_per_s(self) -> float:
        return self.events / self.seconds


def main() -> int:
    began = time.monotonic()
    parser = argparse.ArgumentParser(
        prog="python -m bench.throughput",
        description="Throughput of the hub against a bare consumer, its scaling from 1 to 2 "
        "workers, and its latency at steady rates. Prints one JSON line and writes it, "
        "pretty-printed, to bench/results/latest.json.",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="300,000 events, 1 worker only (no 2-worker run, no faust floor), 15 s latency "
        "phases; mostly the hub run: 6-9 minutes on 2 cores at ~1,000-1,600 events/s (the "
        "full run: about 45 minutes)",
    )
    parser.add_argument(
        "--events", type=int, help="events to publish (default 1,000,000; 300,000 with --quick)"
    )
    parser.add_argument(
        "--rate",
        type=float,
        nargs="+",
        default=list(_LATENCY_RATES),
        metavar="EVENTS_PER_S",
        help="one latency phase per rate, in turn (default 300 2000)",
    )
    parser.add_argument(
        "--latency-seconds",
        type=float,
        help="length of each latency phase (default 60; 15 with --quick)",
    )
    parser.add_argument(
        "--no-scaling", action="store_true", help="skip the 2-worker run (1 worker only)"
    )
    parser.add_argument("--no-floor", action="store_true", help="skip the faust floor")
    parser.add_argument(
        "--results",
        type=Path,
        default=RESULTS_FILE,
        help="file the result is written to as well, replacing it "
        "(default bench/results/latest.json)",
    )
    parser.add_argument("--scale", type=float, default=1.0, help="generator scale (default 1)")
    parser.add_argument("--seed", type=int, default=7, help="generator seed (default 7)")
    arguments = parser.parse_args()
    if arguments.events is None:
        arguments.events = _QUICK_EVENTS if arguments.quick else _FULL_EVENTS
    if arguments.latency_seconds is None:
        arguments.latency_seconds = _QUICK_LATENCY_S if arguments.quick else _FULL_LATENCY_S
    if arguments.quick:
        arguments.no_scaling = arguments.no_floor = True
    if arguments.events < 1000 or min(arguments.rate) <= 0 or arguments.latency_seconds <= 0:
        parser.error("--events must be at least 1000, --rate and --latency-seconds positive")
    result = asyncio.run(_bench(arguments))
    result["wall_seconds"] = round(time.monotonic() - began, 1)
    print(json.dumps(result), flush=True)
    arguments.results.parent.mkdir(parents=True, exist_ok=True)
    arguments.results.write_text(json.dumps(result, indent=2) + "\n")
    say(f"{result['wall_seconds']:,.0f} s in all; written to {arguments.results}")
    return 0


def say(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


async def _bench(arguments: argparse.Namespace) -> dict[str, object]:
    provenance: dict[str, object] = {
        "bench": "hub-throughput",
        "mode": "quick" if arguments.quick else "full",
        "command": " ".join(["python -m bench.throughput", *sys.argv[1:]]),
        "commit": commit_label(),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cores": os.cpu_count(),
    }
    settings = load_settings()
    run = f"bench{int(time.time())}"
    namespace = f"{run}."
    phases = [(rate, round(rate * arguments.latency_seconds)) for rate in arguments.rate]
    latency_events = sum(count for _, count in phases)
    history_h = (arguments.events + latency_events) / (_EVENTS_PER_HOUR * arguments.scale) + 24
    # Events older than the grace period would be refused as TOO_LATE; history is the point here.
    grace_h = history_h + 48
    endpoints, started = await ensure_services(settings)
    databases: list[str] = []
    floor: float | None = None
    latency: dict[str, object] = {}
    try:
        first_db = await _fresh_database(endpoints, f"{run}_setup", databases)
        setup = _settings(namespace, first_db)
        await prepare(setup, Endpoints(endpoints.kafka_bootstrap, first_db))
        records, extra = await _generate(arguments, setup, first_db, history_h, latency_events)
        say(f"publishing {len(records):,} events to {namespace}ingest.*")
        await _produce(endpoints.kafka_bootstrap, records)
        topics = [setup.topic(name) for name in INGEST_TOPICS.values()]
        baseline = await _baseline(endpoints.kafka_bootstrap, topics, len(records))
        say(f"baseline: {baseline:,.0f} events/s")
        if not arguments.no_floor:
            floor = await _faust_floor(endpoints.kafka_bootstrap, namespace, len(records))
            say(f"faust floor (decode only): {floor:,.0f} events/s")

        runs: dict[int, HubRun] = {}
        for workers in ([] if arguments.no_scaling else [2]) + [1]:
            database = await _fresh_database(endpoints, f"{run}_w{workers}", databases)
            context = _HubContext(endpoints.kafka_bootstrap, database, namespace, run, grace_h)
            await context.prepare()
            async with context.workers(workers) as group:
                runs[workers] = await group.process(topics, len(records))
                say(f"hub, {workers} worker(s): {runs[workers].events_per_s:,.0f} events/s")
                if workers == 1:
                    remaining = iter(extra)
                    for rate, count in phases:
                        phase = list(itertools.islice(remaining, count))
                        latency[f"{rate:g}_per_s"] = await group.latency(topics, phase, rate)
                    runs[workers].peak_rss_mb = group.peak_rss_mb()
    finally:
        await _drop_databases(endpoints, databases)
        await asyncio.to_thread(started.stop)

    one = runs[1]
    result = provenance | {
        "events": len(records),
        "baseline_events_per_s": round(baseline),
        "hub_events_per_s": round(one.events_per_s),
        "hub_to_baseline": round(one.events_per_s / baseline, 3),
        "hub_seconds": round(one.seconds, 1),
        "first_tenth_events_per_s": one.first_tenth_events_per_s,
        "last_tenth_events_per_s": one.last_tenth_events_per_s,
        "rejected": one.rejected,
        "worker_peak_rss_mb": max(one.peak_rss_mb, default=None),
        "bench_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "latency": latency,
        "region_year_replay_hours_estimate": region_year_replay_hours(one.events_per_s),
    }
    if floor is not None:
        result["faust_floor_events_per_s"] = round(floor)
        result["faust_floor_to_baseline"] = round(floor / baseline, 3)
    if 2 in runs:
        result["two_workers_events_per_s"] = round(runs[2].events_per_s)
        result["speedup_2_workers"] = round(runs[2].events_per_s / one.events_per_s, 2)
    return result


def region_year_replay_hours(events_per_s: float) -> float:
    """Hours a year of the region's traffic would take to replay at ``events_per_s``."""
    return round(REGION_YEAR_EVENTS / events_per_s / 3600, 1)


def commit_label() -> str:
    """The commit measured, ``+dirty`` when tracked files differ from it (results files aside:
    they do not change what runs); ``unknown`` outside a git checkout."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        changes = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", ".", ":!bench/results"],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{head}+dirty" if changes else head


def _settings(namespace: str, database_url: str) -> HubSettings:
    return load_settings(None, kafka={"topic_namespace": namespace}, database={"url": database_url})


# --- traffic ----------------------------------------------------------------------------------


async def _generate(
    arguments: argparse.Namespace,
    settings: HubSettings,
    database_url: str,
    history_h: float,
    extra: int,
) -> tuple[list[Record], list[Record]]:
    """The encoded events: ``--events`` for the throughput runs, ``extra`` for latency."""
    ports = load_ports(settings.reference.ports_file)
    agreements = {a.code: a for a in load_agreements(settings.reference.agreements_file)}
    generator = PortTrafficGenerator(
        ports,
        seed=arguments.seed,
        start=datetime.now(UTC) - timedelta(hours=history_h),
        scale=arguments.scale,
        certifiable=lambda code, hs: code in agreements and agreements[code].covers(hs),
    )
    connection = await connect(database_url)
    try:
        codec = AvroCodec(SchemaRegistryStore(connection))
        say(
            f"generating {arguments.events + extra:,} events (about 3,000/s after a minute of"
            " simulated warm-up; not timed)"
        )
        events = generator.events()
        records = [r async for r in _encoded(settings, codec, events, arguments.events)]
        latency_records = [r async for r in _encoded(settings, codec, events, extra)]
    finally:
        await connection.close()
    return records, latency_records


async def _encoded(
    settings: HubSettings, codec: AvroCodec, events: Iterator[Any], count: int
) -> Any:
    began = last = time.monotonic()
    for number, event in enumerate(itertools.islice(events, count), 1):
        domain = domain_of(event)
        topic = settings.topic(INGEST_TOPICS[domain])
        value = await codec.encode(subject_for(topic), schema_text(domain), to_avro_datum(event))
        yield Record(topic, partition_key(event), value)
        if number == 1:
            began = last = time.monotonic()  # the warm-up is over
        elif time.monotonic() - last > _PROGRESS_EVERY_S:
            last = time.monotonic()
            say(f"  {number:,} of {count:,} generated ({number / (last - began):,.0f}/s)")


async def _produce(bootstrap: str, records: Sequence[Record]) -> None:
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", linger_ms=50, max_batch_size=1 << 20
    )
    await producer.start()
    try:
        for start in range(0, len(records), 10_000):
            chunk = records[start : start + 10_000]
            await asyncio.gather(*[await producer.send(r.topic, r.value, key=r.key) for r in chunk])
    finally:
        await producer.stop()


# --- baseline ---------------------------------------------------------------------------------


async def _baseline(bootstrap: str, topics: Sequence[str], expected: int) -> float:
    """Events/s of a bare consumer that decodes every record with fastavro."""
    schemas = {settings_topic: parsed_schema(domain) for domain, settings_topic in
               zip(INGEST_TOPICS, topics, strict=True)}  # fmt: skip
    consumer = AIOKafkaConsumer(
        *topics,
        bootstrap_servers=bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        max_partition_fetch_bytes=8 << 20,
        fetch_max_bytes=64 << 20,
    )
    await consumer.start()
    decoded = 0
    began: float | None = None
    try:
        while decoded < expected:
            batches = await consumer.getmany(timeout_ms=1000, max_records=20_000)
            if began is None and batches:
                began = time.perf_counter()
            for partition, batch in batches.items():
                schema = schemas[partition.topic]
                for record in batch:
                    assert record.value is not None
                    schemaless_reader(io.BytesIO(record.value[_CONFLUENT_HEADER:]), schema, None)
                decoded += len(batch)
        assert began is not None
        return decoded / (time.perf_counter() - began)
    finally:
        await consumer.stop()


async def _faust_floor(bootstrap: str, namespace: str, expected: int) -> float:
    """Events/s of a faust worker that only decodes (``bench.faust_floor``), in its own process
    as the hub's worker is."""
    command = [sys.executable, "-m", "bench.faust_floor", "--bootstrap", bootstrap]
    command += ["--namespace", namespace, "--events", str(expected)]
    done = await asyncio.to_thread(
        subprocess.run, command, cwd=PROJECT_ROOT, capture_output=True, text=True, check=False
    )
    # faust writes terminal control codes to stdout too: the result is the JSON object.
    results = [line[line.index("{") :] for line in done.stdout.splitlines() if '{"events"' in line]
    if done.returncode != 0 or not results:
        raise RuntimeError(f"bench.faust_floor failed ({done.returncode}): {done.stderr[-2000:]}")
    return float(json.loads(results[-1])["events_per_s"])


# --- the hub ----------------------------------------------------------------------------------


class _HubContext:
    def __init__(
        self, bootstrap: str, database_url: str, namespace: str, run: str, grace_h: float
    ) -> None:
        self.bootstrap, self.database_url = bootstrap, database_url
        self.namespace, self.run, self.grace_h = namespace, run, grace_h

    async def prepare(self) -> None:
        settings = _settings(self.namespace, self.database_url)
        await prepare(settings, Endpoints(self.bootstrap, self.database_url))
        connection = await connect(self.database_url)
        try:
            countries = {port.country for port in load_ports(settings.reference.ports_file)}
            await register_test_issuers(connection, countries)
        finally:
            await connection.close()

    def workers(self, count: int) -> _WorkerGroup:
        return _WorkerGroup(self, count)


class _WorkerGroup:
    """``count`` ``hub worker`` processes in one consumer group, stopped on exit."""

    def __init__(self, context: _HubContext, count: int) -> None:
        self.context = context
        self.group = f"{context.run}-w{count}"
        self.count = count
        self.processes: list[subprocess.Popen[bytes]] = []
        self.metrics_ports: list[int] = []
        self.logs: list[Path] = []

    async def __aenter__(self) -> _WorkerGroup:
        folder = PROJECT_ROOT / ".hub" / "bench" / self.group
        for number in range(self.count):
            state = folder / f"worker{number}"
            state.mkdir(parents=True, exist_ok=True)
            port = free_port()
            environment = os.environ | {
                "HUB_KAFKA_BOOTSTRAP": self.context.bootstrap,
                "DATABASE_URL": self.context.database_url,
                "HUB_TOPIC_NAMESPACE": self.context.namespace,
                "HUB_WORKER_ID": self.group,
                "HUB_STATE_DIR": str(state),
                "HUB_WORKER_METRICS_PORT": str(port),
                "HUB_HTTP_HOST": "127.0.0.1",
                "HUB_LATE_GRACE_HOURS": f"{self.context.grace_h:.0f}",
            }
            log = state / "worker.log"
            self.processes.append(
                subprocess.Popen(  # noqa: ASYNC220 — started before any clock runs
                    [sys.executable, "-m", "hub", "worker", "--skip-prepare"],
                    env=environment,
                    stdout=log.open("wb"),
                    stderr=subprocess.STDOUT,
                    cwd=PROJECT_ROOT,
                )
            )
            self.metrics_ports.append(port)
            self.logs.append(log)
        return self

    async def __aexit__(self, *_: object) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                await asyncio.to_thread(process.wait, 60)
            except subprocess.TimeoutExpired:
                process.kill()

    def check_alive(self) -> None:
        for process, log in zip(self.processes, self.logs, strict=True):
            if process.poll() is not None:
                tail = log.read_text(errors="replace")[-3000:]
                raise SystemExit(f"bench: a worker exited ({process.returncode}), {log}:\n{tail}")

    def peak_rss_mb(self) -> list[float]:
        peaks = []
        for process in self.processes:
            status = Path(f"/proc/{process.pid}/status").read_text()
            line = next(line for line in status.splitlines() if line.startswith("VmHWM:"))
            peaks.append(round(int(line.split()[1]) / 1024, 1))
        return peaks

    async def caught_up(self, topics: Sequence[str], expected_total: int, what: str) -> None:
        """Wait until the group has committed ``expected_total`` records of ``topics``."""
        probe = LagProbe(self.context.bootstrap, intake_group(self.group), topics)
        began = last = time.monotonic()
        try:
            while True:
                self.check_alive()
                lag = sum((await probe.measure()).values())
                done = expected_total - lag
                if lag == 0:
                    return
                if time.monotonic() - last > _PROGRESS_EVERY_S:
                    last = time.monotonic()
                    rate = done / (last - began)
                    say(f"  {what}: {done:,} of {expected_total:,} committed ({rate:,.0f}/s)")
                await asyncio.sleep(1)
        finally:
            await probe.close()

    async def process(self, topics: Sequence[str], total: int) -> HubRun:
        """Wait for the group to take in all ``total`` records; the timing, from the database."""
        # A batch's KPIs and windows are written before its offsets are committed.
        await self.caught_up(topics, total, f"{self.count} worker(s)")
        connection = await connect(self.context.database_url)
        try:
            first = await connection.fetchval("SELECT min(ingested_at) FROM ingested_events")
            last = await connection.fetchval(
                "SELECT greatest((SELECT max(computed_at) FROM entity_kpis),"
                " (SELECT max(computed_at) FROM kpi_windows))"
            )
            accepted = await connection.fetchval("SELECT count(*) FROM ingested_events")
            rejected = await connection.fetchval(
                "SELECT coalesce(sum(events), 0) FROM rejected_event_counts"
            )
            first_tenth, last_tenth = await _tenth_rates(connection, accepted)
        finally:
            await connection.close()
        if accepted + rejected < total:
            raise SystemExit(f"bench: {accepted} accepted + {rejected} rejected of {total}")
        seconds = (last - first).total_seconds()
        return HubRun(self.count, total, seconds, int(rejected), first_tenth, last_tenth)

    async def latency(
        self, topics: Sequence[str], records: Sequence[Record], rate: float
    ) -> dict[str, object]:
        """Publish ``records`` at ``rate``; percentiles of publish → KPIs emitted."""
        before = await asyncio.to_thread(_latency_buckets, self.metrics_ports)
        say(f"latency: {len(records):,} events at {rate:,.0f}/s")
        producer = AIOKafkaProducer(
            bootstrap_servers=self.context.bootstrap, acks="all", linger_ms=5
        )
        await producer.start()
        try:
            tick_s = 0.01
            began = time.monotonic()
            deliveries = []
            sent = 0
            while sent < len(records):
                due = min(len(records), int((time.monotonic() - began) * rate) + 1)
                for record in records[sent:due]:
                    delivery = await producer.send(record.topic, record.value, key=record.key)
                    deliveries.append(delivery)
                sent = due
                await asyncio.sleep(tick_s)
            await asyncio.gather(*deliveries)
            achieved = len(records) / (time.monotonic() - began)
        finally:
            await producer.stop()
        await self.caught_up(topics, len(records), "latency phase")
        after = await asyncio.to_thread(_latency_buckets, self.metrics_ports)
        counts = {bound: after[bound] - before.get(bound, 0.0) for bound in after}
        return {
            "rate_per_s": rate,
            "achieved_rate_per_s": round(achieved),
            "seconds": round(len(records) / rate, 1),
            "events": len(records),
            "measured": int(counts.get(float("inf"), 0)),
            **{f"p{q}_s": _percentile(counts, q / 100) for q in (50, 95, 99)},
        }


async def _tenth_rates(connection: Any, accepted: int) -> tuple[float | None, float | None]:
    """Events/s over the first and over the last tenth of the ``accepted`` events, by their
    ``ingested_at`` (the start of the transaction that stored each batch, the database's clock)."""
    moments = [
        await connection.fetchval(
            "SELECT ingested_at FROM ingested_events ORDER BY ingested_at OFFSET $1 LIMIT 1", offset
        )
        for offset in tenth_bounds(accepted)
    ]
    tenth = accepted // 10
    return span_rate(tenth, moments[0], moments[1]), span_rate(tenth, moments[2], moments[3])


def tenth_bounds(events: int) -> tuple[int, int, int, int]:
    """Offsets, in intake order, of the rows that bound the first and the last tenth of
    ``events`` (a tenth is ``events // 10``): the first tenth is taken in from row 0 to the row
    just after it, the last from the row just before it to the last row."""
    if events < 10:
        raise ValueError(f"a tenth of {events} events is no event")
    tenth = events // 10
    return 0, tenth, events - 1 - tenth, events - 1


def span_rate(events: int, began: datetime, ended: datetime) -> float | None:
    """``events`` per second between ``began`` and ``ended``; None when no time passed (one
    transaction, one ``now()``)."""
    seconds = (ended - began).total_seconds()
    return round(events / seconds) if seconds > 0 else None


def _latency_buckets(ports: Sequence[int]) -> dict[float, float]:
    """Cumulative counts of ``hub_pipeline_latency_seconds`` by upper bound, over ``ports``."""
    buckets: dict[float, float] = {}
    for port in ports:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as answer:
            text = answer.read().decode()
        for family in text_string_to_metric_families(text):
            if family.name != "hub_pipeline_latency_seconds":
                continue
            for sample in family.samples:
                if sample.name.endswith("_bucket"):
                    bound = float(sample.labels["le"])
                    buckets[bound] = buckets.get(bound, 0.0) + sample.value
    return buckets


def _percentile(cumulative: dict[float, float], quantile: float) -> float | None:
    """The ``quantile`` of a histogram, linear within the bucket it falls in."""
    bounds = sorted(cumulative)
    total = cumulative.get(float("inf"), 0.0)
    if total == 0:
        return None
    rank = quantile * total
    lower, below = 0.0, 0.0
    for bound in bounds:
        count = cumulative[bound]
        if count >= rank:
            if bound == float("inf"):
                return lower  # beyond the last finite bucket: its bound is all we know
            share = (rank - below) / (count - below) if count > below else 1.0
            return round(lower + share * (bound - lower), 4)
        lower, below = bound, count
    return None


# --- databases --------------------------------------------------------------------------------


async def _fresh_database(endpoints: Endpoints, name: str, created: list[str]) -> str:
    connection = await connect(_with_database(endpoints.database_url, "postgres"))
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    created.append(name)
    return _with_database(endpoints.database_url, name)


async def _drop_databases(endpoints: Endpoints, names: Sequence[str]) -> None:
    if not names:
        return
    connection = await connect(_with_database(endpoints.database_url, "postgres"))
    try:
        for name in names:
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _with_database(url: str | None, name: str) -> str:
    parts = urlsplit(url or "postgresql://")
    return urlunsplit(parts._replace(path=f"/{name}"))


if __name__ == "__main__":
    raise SystemExit(main())
