"""Publish one vessel event to a port's own Kafka topic with confluent-kafka's stock AvroSerializer.

Run from a clone, with the hub running (`make run`):

    .venv/bin/hub tenants add-port PECLL > pecll.properties      # once: the port's SASL settings
    .venv/bin/python docs/samples/kafka/publish_avro.py pecll.properties PECLL

SCHEMA_REGISTRY_URL (default http://localhost:8080/registry) and HUB_TOPIC_NAMESPACE (the hub's
topic prefix, empty unless the hub runs with one) point it at another hub.

The port writes Confluent-framed Avro to ports.<PORT>.<domain> on the tenant listener
(SASL/SCRAM-SHA-512); the hub's gateway checks each event as HTTP does and passes the accepted
ones on (a refused one goes to the hub's dead-letter topic, with its reason). Needs only
`pip install "confluent-kafka[avro,schemaregistry]"`, nothing of the hub's code.
"""

from __future__ import annotations

import os
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from confluent_kafka import KafkaError, Message, Producer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

REGISTRY_URL = "http://localhost:8080/registry"
"""The hub's schema registry (Confluent-compatible; reads need no token)."""


def read_properties(path: Path) -> dict[str, str]:
    """The client settings `hub tenants add-port PORT` prints (key=value lines, # comments)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    pairs = (line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))
    return {key.strip(): value.strip() for key, value in pairs}


def vessel_arrival(port: str) -> dict[str, Any]:
    """An actual arrival at the port limits, ten minutes ago, as the Avro record of the vessel
    schema (times as aware datetimes: the serializer writes timestamp-millis)."""
    now = datetime.now(UTC)
    return {
        "event_id": str(uuid.uuid4()),  # new for every event: the hub de-duplicates by it
        "event_type": "vessel.timestamp",
        "occurred_at": now - timedelta(minutes=10),
        "published_at": now,
        "port": port,
        "source": "TERMINAL",
        "port_call_id": f"{port}-SAMPLE-{now:%Y%m%d}",
        "imo": "9074729",  # 7 digits, the last a check digit
        "call_sign": "9HA2954",
        "classifier": "ACT",
        "operation": "ARRI",
        "facility": "PORT",
        "vessel_name": "SAMPLE EXPRESS",
    }


def publish(
    settings: dict[str, str],
    port: str,
    event: dict[str, Any],
    registry_url: str = REGISTRY_URL,
    topic_prefix: str = "",
) -> None:
    """Send ``event`` to ``ports.<port>.vessel`` and wait until the broker has it.

    ``topic_prefix`` is the hub's HUB_TOPIC_NAMESPACE (empty unless that is set).
    """
    topic = f"{topic_prefix}ports.{port}.vessel"
    with SchemaRegistryClient({"url": registry_url}) as registry:
        # The contract as the hub registered it (the same text as schemas/avro/vessel.avsc).
        latest = registry.get_latest_version(f"{topic_prefix}ingest.vessel-value")
        serializer = AvroSerializer(registry, latest.schema.schema_str)
        value = serializer(event, SerializationContext(topic, MessageField.VALUE))
    errors: list[KafkaError] = []

    def delivered(error: KafkaError | None, _message: Message) -> None:
        if error is not None:
            errors.append(error)

    producer = Producer({**settings, "acks": "all"})
    producer.produce(topic, value, key=event["port_call_id"], on_delivery=delivered)
    if producer.flush(30) or errors:
        raise RuntimeError(f"not delivered to {topic}: {errors or 'timed out'}")


def main(arguments: list[str]) -> int:
    if len(arguments) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    properties, port = Path(arguments[0]), arguments[1]
    event = vessel_arrival(port)
    registry_url = os.environ.get("SCHEMA_REGISTRY_URL", REGISTRY_URL)
    prefix = os.environ.get("HUB_TOPIC_NAMESPACE", "")
    publish(read_properties(properties), port, event, registry_url, prefix)
    print(f"delivered event {event['event_id']} to {prefix}ports.{port}.vessel")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
