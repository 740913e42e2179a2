"""Certificate validation throughput on one worker: ``python -m bench.certificates [--count N]``.

Builds N signed certificates of origin (test keys) and a LODGED declaration invoking each, starts
one ``hub worker`` on its own topic namespace, publishes the declarations and then the
certificates to the broker as fast as it can, and waits until every certificate has its final
verdict in PostgreSQL. Signing happens before the clock starts. Prints one JSON line: the
worker's certificates per second (first publish to last verdict stored) and, for comparison, the
rules alone in this process (:func:`hub.domain.certificates.rules.evaluate`).

Uses the services the hub would use (``HUB_KAFKA_BOOTSTRAP`` / ``DATABASE_URL``, else the local
broker and database, started if needed and stopped again). Not part of the test run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import asyncpg
from aiokafka import AIOKafkaProducer

from connectors.certificates import CertificateIssuer, CertifiedShipment
from hub.db.issuers import load_registry
from hub.db.schema_registry import SchemaRegistryStore
from hub.domain.certificates.issuer_registry import IssuerRegistry
from hub.domain.certificates.rules import evaluate
from hub.kafka_topics import INGEST_TOPICS
from hub.run.generate import register_test_issuers
from hub.services import connect, ensure_services
from hub.settings import PROJECT_ROOT, load_settings
from schemas.avro_schemas import schema_text, subject_for
from schemas.codec import AvroCodec
from schemas.models import (
    CertificateSubmission,
    CustomsEvent,
    CustomsKind,
    Envelope,
    GoodsLine,
    Regime,
    to_avro_datum,
)
from schemas.routing import domain_of, partition_key


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.certificates", description=__doc__)
    parser.add_argument("--count", type=int, default=2000, help="certificates (default 2000)")
    arguments = parser.parse_args()
    print(json.dumps(asyncio.run(_bench(arguments.count))))
    return 0


async def _bench(count: int) -> dict[str, object]:
    settings = load_settings()
    run = f"bench{int(time.time())}"
    print(f"bench: signing {count} certificates", file=sys.stderr)
    certificates, declarations = _traffic(run, count)
    endpoints, started = await ensure_services(settings)
    worker: subprocess.Popen[bytes] | None = None
    try:
        environment = os.environ | {
            "HUB_KAFKA_BOOTSTRAP": endpoints.kafka_bootstrap,
            "DATABASE_URL": endpoints.database_url or "",
            "HUB_TOPIC_NAMESPACE": f"{run}.",
            "HUB_WORKER_ID": f"{run}-worker",
            "HUB_WORKER_HEARTBEAT_S": "1",
        }
        log = (settings.state_dir / f"{run}-worker.log").open("wb")
        worker = subprocess.Popen(  # noqa: ASYNC220 — started once, before the clock
            [sys.executable, "-m", "hub", "worker"],
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=PROJECT_ROOT,
        )
        connection = await connect(endpoints.database_url)
        try:
            await _wait_for_worker(connection, f"{run}-worker")
            await register_test_issuers(connection, {"AR", "PE"})
            in_process = _in_process_rate(certificates[: min(count, 500)], declarations,
                                          await load_registry(connection))  # fmt: skip
            codec = AvroCodec(SchemaRegistryStore(connection))
            records = [await _encode(codec, run, event) for event in [*declarations, *certificates]]
            print(f"bench: publishing {len(records)} events", file=sys.stderr)
            began = time.monotonic()
            await _produce(endpoints.kafka_bootstrap, records)
            published_s = time.monotonic() - began
            elapsed = await _wait_for_verdicts(connection, run, count, began)
        finally:
            await connection.close()
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(60)
        await asyncio.to_thread(started.stop)
    return {
        "bench": "certificate-validation",
        "certificates": count,
        "worker_certificates_per_s": round(count / elapsed, 1),
        "seconds": round(elapsed, 2),
        "publish_seconds": round(published_s, 2),
        "rules_in_process_certificates_per_s": round(in_process, 1),
        "cores": os.cpu_count(),
    }


def _traffic(run: str, count: int) -> tuple[list[Envelope], list[Envelope]]:
    issuer = CertificateIssuer()
    now = datetime.now(UTC).replace(microsecond=0)
    goods = GoodsLine(hs_code="080610", description="Fresh grapes", quantity=Decimal("20000"),
                      unit="KGM", value_usd=Decimal("41000.00"), origin_country="AR")  # fmt: skip
    certificates: list[Envelope] = []
    declarations: list[Envelope] = []
    for number in range(count):
        certificate_id = f"AR-A58-{run}-{number:07d}"
        lodged = now - timedelta(minutes=30)
        shipment = CertifiedShipment(
            certificate_id=certificate_id, agreement="A58", exporting_country="AR",
            importing_country="PE", exporter_id=f"AR{number % 400:010d}",
            importer_id=f"PE{number % 300:010d}", invoice_number=f"INV-{number:07d}",
            goods=goods, lodged_at=lodged,
        )  # fmt: skip
        certificates.append(
            issuer.submission(
                shipment, event_id=uuid.uuid4(), occurred_at=now - timedelta(hours=1), port="PECLL"
            )
        )
        declarations.append(
            CustomsEvent(
                event_id=uuid.uuid4(),
                occurred_at=lodged,
                published_at=lodged,
                port="PECLL",
                declaration_id=f"DEC-{certificate_id}",
                kind=CustomsKind.LODGED,
                regime=Regime.IMPORT,
                importer_id=shipment.importer_id,
                exporter_id=shipment.exporter_id,
                goods=(goods,),
                certificate_id=certificate_id,
                agreement="A58",
                invoice_number=shipment.invoice_number,
            )
        )
    return certificates, declarations


def _in_process_rate(
    certificates: list[Envelope], declarations: list[Envelope], registry: IssuerRegistry
) -> float:
    by_id = {
        event.certificate_id: event for event in declarations if isinstance(event, CustomsEvent)
    }
    began = time.perf_counter()
    for certificate in certificates:
        assert isinstance(certificate, CertificateSubmission)
        verdict = evaluate(certificate, registry, [by_id[certificate.certificate_id]])
        assert verdict.outcome == "VALID", verdict.rules
    return len(certificates) / (time.perf_counter() - began)


async def _encode(codec: AvroCodec, run: str, event: Envelope) -> tuple[str, bytes, bytes]:
    domain = domain_of(event)
    topic = f"{run}.{INGEST_TOPICS[domain]}"
    value = await codec.encode(subject_for(topic), schema_text(domain), to_avro_datum(event))
    return topic, partition_key(event), value


async def _produce(bootstrap: str, records: list[tuple[str, bytes, bytes]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    await producer.start()
    try:
        deliveries = [await producer.send(topic, value, key=key) for topic, key, value in records]
        await asyncio.gather(*deliveries)
    finally:
        await producer.stop()


async def _wait_for_worker(connection: asyncpg.Connection, worker_id: str) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if await connection.fetchval(
                "SELECT 1 FROM worker_heartbeats WHERE worker_id LIKE $1", f"{worker_id}@%"
            ):
                return
        except asyncpg.UndefinedTableError:
            pass
        await asyncio.sleep(1)
    raise SystemExit("bench: the worker did not start within 120 s (see its log in .hub/)")


async def _wait_for_verdicts(
    connection: asyncpg.Connection, run: str, count: int, began: float
) -> float:
    """Seconds from ``began`` until every certificate has a non-PENDING verdict."""
    deadline = time.monotonic() + 1800
    while time.monotonic() < deadline:
        done = await connection.fetchval(
            "SELECT count(DISTINCT certificate_id) FROM certificate_verdicts "
            "WHERE certificate_id LIKE $1 AND outcome <> 'PENDING'",
            f"AR-A58-{run}-%",
        )
        if done >= count:
            return time.monotonic() - began
        await asyncio.sleep(0.2)
    raise SystemExit(f"bench: only {done} of {count} verdicts within 30 min")


if __name__ == "__main__":
    raise SystemExit(main())
