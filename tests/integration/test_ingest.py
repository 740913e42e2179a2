"""The HTTP way in (`POST /v1/events/{domain}`) and native Kafka, against a real `hub api`
process, a real worker, broker, registry and database."""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from confluent_kafka import Producer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.client import HubPublisher, PublishError
from hub.db.schema_registry import SchemaRegistryStore
from hub.db.tokens import create_port_token
from hub.kafka_topics import DEADLETTER, INGEST_TOPICS
from schemas.avro_schemas import DOMAINS, schema_text
from schemas.codec import AvroCodec
from schemas.models import Envelope, from_avro_datum, to_avro_datum
from tests.integration.helpers import (
    Services,
    eventually,
    free_port,
    hub_environment,
    read_topic,
    running_hub,
)
from tests.samples import samples


@dataclass(frozen=True)
class Hub:
    base_url: str
    database_url: str
    namespace: str
    bootstrap: str

    def topic(self, name: str) -> str:
        return f"{self.namespace}{name}"


@pytest.fixture(scope="module")
async def hub(services: Services, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Hub]:
    """`hub api` and `hub worker` as subprocesses on a database and namespace of their own."""
    name = f"hub_ingest_{uuid.uuid4().hex[:8]}"
    await services.postgres.create_database(name, fresh=True)
    folder = tmp_path_factory.mktemp("ingest")
    namespace = f"t{services.run_id}-ingest."
    port = free_port()
    environment = hub_environment(
        HUB_KAFKA_BOOTSTRAP=services.bootstrap,
        DATABASE_URL=services.database_url(name),
        HUB_TOPIC_NAMESPACE=namespace,
        HUB_WORKER_ID=f"{namespace}worker",
        HUB_STATE_DIR=str(folder),
        HUB_HTTP_PORT=str(port),
        HUB_WORKER_HEARTBEAT_S="1",
        HUB_LOG_LEVEL="warning",
    )
    async with running_hub(environment, folder) as base:
        yield Hub(base, services.database_url(name), namespace, services.bootstrap)


@pytest.fixture(scope="module")
async def tokens(hub: Hub) -> dict[str, str]:
    connection = await asyncpg.connect(hub.database_url)
    try:
        return {
            port: await create_port_token(connection, port, "tests") for port in ("PECLL", "BRSSZ")
        }
    finally:
        await connection.close()


def recent() -> datetime:
    return datetime.now(UTC) - timedelta(minutes=2)


def body(events: list[Envelope]) -> list[dict[str, Any]]:
    return [json.loads(event.model_dump_json()) for event in events]


async def test_a_request_without_a_valid_token_or_domain_is_refused(
    hub: Hub, tokens: dict[str, str]
) -> None:
    event = body(samples("vessel", recent())[:1])
    async with httpx.AsyncClient(base_url=hub.base_url) as client:
        assert (await client.post("/v1/events/vessel", json=event)).status_code == 401
        wrong = {"Authorization": "Bearer hubp_not-a-token"}
        assert (
            await client.post("/v1/events/vessel", json=event, headers=wrong)
        ).status_code == 401
        good = {"Authorization": f"Bearer {tokens['PECLL']}"}
        response = await client.post("/v1/events/berths", json=event, headers=good)
        assert response.status_code == 404
        assert "unknown domain 'berths'" in response.json()["error"]


async def test_accepted_events_are_on_kafka_as_confluent_avro_with_the_publisher_set(
    hub: Hub, tokens: dict[str, str]
) -> None:
    events = [event for domain in DOMAINS for event in samples(domain, recent())[:1]]
    async with httpx.AsyncClient(base_url=hub.base_url) as client:
        headers = {"Authorization": f"Bearer {tokens['PECLL']}"}
        for domain, event in zip(DOMAINS, events, strict=True):
            response = await client.post(
                f"/v1/events/{domain}", json=body([event]), headers=headers
            )
            assert response.status_code == 200, response.text
            assert response.json()["results"] == [
                {"index": 0, "event_id": str(event.event_id), "status": "accepted"}
            ]
    pool = await asyncpg.create_pool(hub.database_url, min_size=1, max_size=1)
    try:
        codec = AvroCodec(SchemaRegistryStore(pool))
        for domain, event in zip(DOMAINS, events, strict=True):
            records = await read_topic(hub.bootstrap, hub.topic(INGEST_TOPICS[domain]), 1)
            decoded = [from_avro_datum(domain, await codec.decode(value)) for value, _ in records]
            mine = [e for e in decoded if e.event_id == event.event_id]
            assert mine == [event.model_copy(update={"publisher": "PECLL/tests"})]
            assert records[0][0][0] == 0  # the Confluent magic byte
    finally:
        await pool.close()


async def test_a_port_publishes_only_for_itself_and_refusals_are_kept(
    hub: Hub, tokens: dict[str, str]
) -> None:
    mine, theirs = samples("cargo", recent())
    theirs = theirs.model_copy(update={"port": "BRSSZ"})
    broken = body([mine])[0] | {"container": "MSCU1234560"}
    async with httpx.AsyncClient(base_url=hub.base_url) as client:
        headers = {"Authorization": f"Bearer {tokens['PECLL']}"}
        response = await client.post(
            "/v1/events/cargo", json=[*body([mine, theirs]), broken, 7], headers=headers
        )
        assert response.status_code == 200
        answer = response.json()
        assert (answer["accepted"], answer["rejected"], answer["failed"]) == (1, 3, 0)
        assert [r["status"] for r in answer["results"]] == [
            "accepted",
            "rejected",
            "rejected",
            "rejected",
        ]
        assert [r.get("reason") for r in answer["results"][1:]] == [
            "PORT_NOT_OWNED",
            "INVALID_IDENTIFIER",
            "SCHEMA_INVALID",
        ]
        assert "publishes for PECLL, not for BRSSZ" in answer["results"][1]["detail"]
        not_json = await client.post("/v1/events/cargo", content=b"{oops", headers=headers)
        assert not_json.status_code == 400
        assert not_json.json()["reason"] == "UNDECODABLE"

    dead = await read_topic(hub.bootstrap, hub.topic(DEADLETTER), 1000, timeout_s=5)
    reasons = {
        dict(h)["hub-reason"].decode(): value
        for value, h in dead
        if dict(h).get("hub-source-topic") == b"http:/v1/events/cargo"
    }
    assert {"PORT_NOT_OWNED", "INVALID_IDENTIFIER", "SCHEMA_INVALID", "UNDECODABLE"} <= set(reasons)
    assert reasons["UNDECODABLE"] == b"{oops"
    assert json.loads(reasons["INVALID_IDENTIFIER"])["container"] == "MSCU1234560"


TOTAL = 10_000


async def test_ten_thousand_mixed_events_over_http_and_kafka_are_all_accounted_for(
    hub: Hub, tokens: dict[str, str]
) -> None:
    """Half through the HTTP client, half natively with confluent-kafka's Avro serializer;
    10% invalid, 5% duplicates: accepted + dead-lettered = sent, duplicates counted once."""
    rng = random.Random(20261123)
    connection = await asyncpg.connect(hub.database_url)
    before = await _accounted(connection)
    unique_before = await connection.fetchval("SELECT count(*) FROM ingested_events")

    def one_event(domain: str) -> Envelope:
        return samples(domain, recent())[rng.randrange(2)]

    http_events: list[tuple[str, dict[str, Any]]] = []
    native_events: list[tuple[str, dict[str, Any] | bytes]] = []
    unique_valid: set[uuid.UUID] = set()
    for index in range(TOTAL):
        domain = rng.choice(DOMAINS)
        event = one_event(domain)
        roll = rng.random()
        if index % 2 == 0:  # over HTTP
            if roll < 0.10:
                http_events.append((domain, body([event])[0] | {"port": "pecll"}))
            elif roll < 0.15 and http_events:
                http_events.append(rng.choice(http_events))  # a duplicate (or a repeated refusal)
            else:
                unique_valid.add(event.event_id)
                http_events.append((domain, body([event])[0]))
        else:  # natively, Avro through confluent-kafka's serializer and the hub's registry
            if roll < 0.10:
                native_events.append(
                    (domain, rng.choice([b"not avro", b"\x00\x00\x00\x00\x01junk"]))
                )
            elif roll < 0.15 and native_events:
                native_events.append(rng.choice(native_events))
            else:
                unique_valid.add(event.event_id)
                native_events.append((domain, to_avro_datum(event)))
    assert len(http_events) + len(native_events) == TOTAL

    for domain in DOMAINS:
        items = [item for d, item in http_events if d == domain]
        assert await _post_raw(hub.base_url, tokens["PECLL"], domain, items) == len(items)
    await asyncio.to_thread(_produce_with_confluent, hub, native_events)

    async def all_in() -> bool:
        return await _accounted(connection) - before >= TOTAL

    try:
        await eventually(all_in, 120, "all 10,000 events accounted for", interval_s=1)
        await asyncio.sleep(2)
        assert await _accounted(connection) - before == TOTAL
        unique_now = await connection.fetchval("SELECT count(*) FROM ingested_events")
        assert unique_now - unique_before == len(unique_valid)
    finally:
        await connection.close()


async def _accounted(connection: asyncpg.Connection) -> int:
    """Every event the hub answered for: accepted (new or duplicate) plus rejected."""
    counted = await connection.fetchval(
        "SELECT coalesce(sum(events + duplicates), 0) FROM port_event_counts"
    )
    rejected = await connection.fetchval(
        "SELECT coalesce(sum(events), 0) FROM rejected_event_counts"
    )
    return int(counted + rejected)


async def _post_raw(base_url: str, token: str, domain: str, items: list[dict[str, Any]]) -> int:
    answered = 0
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
        for start in range(0, len(items), 500):
            chunk = items[start : start + 500]
            response = await client.post(
                f"/v1/events/{domain}", json=chunk, headers={"Authorization": f"Bearer {token}"}
            )
            assert response.status_code == 200, response.text
            answer = response.json()
            assert answer["failed"] == 0
            answered += answer["accepted"] + answer["rejected"]
    return answered


def _produce_with_confluent(hub: Hub, events: list[tuple[str, dict[str, Any] | bytes]]) -> None:
    # Closed at the end: its HTTP session's socket would otherwise outlive the test.
    with SchemaRegistryClient({"url": f"{hub.base_url}/registry"}) as registry:
        producer = Producer({"bootstrap.servers": hub.bootstrap, "acks": "all", "linger.ms": 20})
        serializers = {d: AvroSerializer(registry, schema_text(d)) for d in DOMAINS}
        for domain, item in events:
            topic = hub.topic(INGEST_TOPICS[domain])
            value = (
                item
                if isinstance(item, bytes)
                else serializers[domain](item, SerializationContext(topic, MessageField.VALUE))
            )
            producer.produce(topic, value)
            producer.poll(0)
        assert producer.flush(60) == 0


json_documents = st.recursive(
    st.none()
    | st.booleans()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.integers()
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=15,
)


@pytest.fixture(scope="module")
def gateway(hub: Hub, tokens: dict[str, str]) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=hub.base_url, headers={"Authorization": f"Bearer {tokens['PECLL']}"}, timeout=30
    ) as client:
        yield client


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    domain=st.sampled_from(DOMAINS),
    payload=st.binary(max_size=200) | json_documents.map(lambda d: json.dumps(d).encode()),
)
def test_random_input_to_the_gateway_is_answered_and_accounted_for(
    gateway: httpx.Client, domain: str, payload: bytes
) -> None:
    response = gateway.post(f"/v1/events/{domain}", content=payload)
    assert response.status_code in (200, 400, 413), response.text
    if response.status_code == 200:
        answer = response.json()
        sent = len(json.loads(payload)) if isinstance(json.loads(payload), list) else 1
        assert answer["accepted"] + answer["rejected"] == sent
        assert answer["failed"] == 0
    else:
        assert response.json()["error"]


async def test_the_python_client_publishes_typed_events_in_batches(
    hub: Hub, tokens: dict[str, str]
) -> None:
    events = [
        event for domain in ("cargo",) for _ in range(3) for event in samples(domain, recent())
    ]
    foreign = samples("cargo", recent())[0].model_copy(update={"port": "BRSSZ"})
    async with HubPublisher(hub.base_url, tokens["PECLL"], batch_size=2) as client:
        report = await client.publish("cargo", [*events, foreign])
    assert report.accepted == [str(event.event_id) for event in events]
    assert report.rejected == [
        {
            "event_id": str(foreign.event_id),
            "reason": "PORT_NOT_OWNED",
            "detail": "this publisher publishes for PECLL, not for BRSSZ",
        }
    ]
    assert report.failed == []


async def test_the_python_client_retries_then_reports_what_it_could_not_deliver() -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"
    events = samples("vessel", recent())
    async with HubPublisher(nowhere, "hubp_x", retries=2, backoff_s=0.01) as client:
        report = await client.publish("vessel", events)
    assert report.failed == [str(event.event_id) for event in events]
    assert report.accepted == [] and report.rejected == []


async def test_the_python_client_stops_on_a_refused_token(hub: Hub) -> None:
    async with HubPublisher(hub.base_url, "hubp_not-a-token") as client:
        with pytest.raises(PublishError, match="401"):
            await client.publish("vessel", samples("vessel", recent()))
