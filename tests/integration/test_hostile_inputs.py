"""A hostile-input campaign (issue 16) against a real `hub api`, worker, broker and PostgreSQL.

Every way in gets what a hostile or careless port system could send: HTTP JSON (NUL and lone
surrogates in every string field, times outside years 1-9999, epoch numbers, nesting, sizes near
each limit), EDIFACT bodies, and raw bytes with every range of schema id on the ports' own Kafka
topics (the tenant gateway) and on the ingest topics (the worker). Each test keeps a ledger of
what it sent and what it was told; the last test checks the books: every input ended stored once,
dead-lettered with a reason and counted, or answered 503 — never an HTTP 500 — and afterwards the
API is healthy and both the gateway and the worker still take in events.
"""

from __future__ import annotations

import json
import struct
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from confluent_kafka import Producer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.db.schema_registry import SchemaRegistryStore
from hub.db.tokens import create_port_token
from hub.ingest.deadletter import KEPT_BYTES, ORIGINAL_SHA256_HEADER, ORIGINAL_SIZE_HEADER, header
from hub.kafka_topics import DEADLETTER, DEADLETTER_REASON_HEADER, INGEST_TOPICS
from schemas.avro_schemas import DOMAINS, schema_text, subject_for
from schemas.codec import AvroCodec
from schemas.models import to_avro_datum
from tests.integration.helpers import (
    Services,
    api_environment,
    eventually,
    read_topic,
    running_hub,
)
from tests.samples import samples

PORT = "PECLL"


@dataclass
class Ledger:
    """What the campaign sent and what it was told, across the module's tests."""

    sent: int = 0
    accepted: set[str] = field(default_factory=set)
    """event_ids answered ``accepted`` (or produced valid to a tenant topic)."""
    refused_http: int = 0
    """Items answered ``rejected`` and bodies answered 400: each one dead-lettered."""
    retry: int = 0
    """Items or requests answered 503 / ``failed``."""
    refused_kafka: int = 0
    """Records of the tenant and ingest topics that cannot be events."""
    statuses: dict[int, int] = field(default_factory=dict)


LEDGER = Ledger()


@dataclass(frozen=True)
class Hub:
    base_url: str
    database_url: str
    namespace: str
    bootstrap: str
    token: str

    def topic(self, name: str) -> str:
        return f"{self.namespace}{name}"


@pytest.fixture(scope="module")
async def hub(services: Services, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Hub]:
    name = f"hub_hostile_{uuid.uuid4().hex[:8]}"
    await services.postgres.create_database(name, fresh=True)
    folder = tmp_path_factory.mktemp("hostile")
    namespace = f"t{services.run_id}-hostile."
    environment = api_environment(services, services.database_url(name), namespace, folder)
    environment["HUB_LOG_LEVEL"] = "warning"
    admin = AIOKafkaAdminClient(bootstrap_servers=services.bootstrap)
    await admin.start()
    try:
        async with running_hub(environment, folder) as base:
            # The port's own topics, as `hub tenants add-port` makes them (the test producer is
            # the broker's super user, so no SASL principal is needed to write them).
            await admin.create_topics(
                [NewTopic(f"{namespace}ports.{PORT}.{d}", 2, 1) for d in INGEST_TOPICS]
            )
            connection = await asyncpg.connect(services.database_url(name))
            try:
                token = await create_port_token(connection, PORT, "hostile")
            finally:
                await connection.close()
            yield Hub(base, services.database_url(name), namespace, services.bootstrap, token)
    finally:
        mine = [t for t in await admin.list_topics() if t.startswith(namespace)]
        if mine:
            await admin.delete_topics(mine)
        await admin.close()


@pytest.fixture(scope="module")
def client(hub: Hub) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=hub.base_url, headers={"Authorization": f"Bearer {hub.token}"}, timeout=60
    ) as http:
        yield http


@pytest.fixture(scope="module")
def producer(hub: Hub) -> Iterator[Producer]:
    kafka = Producer(
        {"bootstrap.servers": hub.bootstrap, "acks": "all", "message.max.bytes": 1_000_000}
    )
    yield kafka
    assert kafka.flush(60) == 0


def recent() -> datetime:
    return datetime.now(UTC) - timedelta(minutes=2)


def valid_item(domain: str) -> dict[str, Any]:
    """A valid event of ``domain`` (the full sample) as JSON, with an event_id of its own."""
    event = samples(domain, recent())[-1].model_copy(
        update={"event_id": uuid.uuid4(), "retracts_event_id": None}
    )
    item: dict[str, Any] = json.loads(event.model_dump_json())
    return item


def post(client: httpx.Client, domain: str, body: bytes, items: int) -> httpx.Response:
    """POST ``body`` (``items`` events) and enter the answer in the ledger."""
    response = client.post(
        f"/v1/events/{domain}", content=body, headers={"Content-Type": "application/json"}
    )
    LEDGER.sent += items
    LEDGER.statuses[response.status_code] = LEDGER.statuses.get(response.status_code, 0) + 1
    assert response.status_code != 500, response.text
    assert response.status_code in (200, 400, 413, 503), response.text
    answer = response.json()
    if response.status_code == 400:
        assert answer["reason"] == "UNDECODABLE"
        LEDGER.refused_http += 1
    elif response.status_code == 413:
        raise AssertionError(f"the campaign stays under the size limits: {answer}")
    else:
        assert answer["accepted"] + answer["rejected"] + answer["failed"] == items
        assert [r["index"] for r in answer["results"]] == list(range(items))
        for result in answer["results"]:
            if result["status"] == "accepted":
                LEDGER.accepted.add(result["event_id"])
            elif result["status"] == "rejected":
                assert result["reason"] and result["detail"], result
                LEDGER.refused_http += 1
            else:
                LEDGER.retry += 1
    return response


# --- generated hostile JSON ---------------------------------------------------------------------

# Every code point, lone surrogates (Cs) and NUL included.
any_text = st.text(alphabet=st.characters(blacklist_categories=()), max_size=40)
hostile_value = st.one_of(
    any_text,
    st.sampled_from(
        [
            "\x00",
            "PECLL-\x00-1",
            "\ud800",
            "x\udfff",
            "0001-01-01T00:30:00+01:00",
            "9999-12-31T23:30:00-01:00",
            "0000-01-01T00:00:00Z",
            "1970-01-01T00:00:00Z",
            "2026-02-30T00:00:00Z",
            "1700000000",
            "yes",
            "",
            " ",
        ]
    ),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.none(),
    st.integers(min_value=60, max_value=70).map(lambda n: "A" * n),  # Identifier max 64
    st.integers(min_value=500, max_value=520).map(lambda n: "é" * n),  # description max 512
    st.lists(st.integers(), max_size=3),
    st.dictionaries(any_text, st.integers(), max_size=2),
)


@st.composite
def hostile_items(draw: st.DrawFn, domain: str) -> dict[str, Any]:
    item = valid_item(domain)
    for _ in range(draw(st.integers(min_value=0, max_value=3))):
        name = draw(st.sampled_from(sorted(item)) | any_text)
        if draw(st.booleans()) and name in item:
            del item[name]
        else:
            item[name] = draw(hostile_value)
    return item


@settings(
    max_examples=600,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data(), domain=st.sampled_from(DOMAINS))
def test_generated_hostile_events_get_an_answer_each_never_a_500(
    client: httpx.Client, data: st.DataObject, domain: str
) -> None:
    items = data.draw(st.lists(hostile_items(domain), min_size=1, max_size=3))
    # ensure_ascii keeps lone surrogates as \\ud800 escapes, as a hostile client would send them.
    post(client, domain, json.dumps(items).encode(), len(items))


def test_nul_and_a_lone_surrogate_in_every_string_field_are_refused(client: httpx.Client) -> None:
    for domain in DOMAINS:
        batch: list[dict[str, Any]] = []
        for name, value in valid_item(domain).items():
            for bad in ("\x00", "\ud800"):
                if isinstance(value, str):
                    batch.append(valid_item(domain) | {name: value[:3] + bad})
                elif name == "goods":  # the strings of a customs declaration's goods lines
                    line = value[0] | {"description": "wool" + bad}
                    batch.append(valid_item(domain) | {name: [line]})
        answer = post(client, domain, json.dumps(batch).encode(), len(batch)).json()
        assert answer["rejected"] == len(batch) > 10, answer


def test_the_issues_reproductions_over_http_are_refused_one_by_one(client: httpx.Client) -> None:
    nul = valid_item("vessel") | {"port_call_id": "PECLL-\x00-1"}
    answer = post(client, "vessel", json.dumps(nul).encode(), 1).json()
    assert answer["results"][0]["reason"] == "SCHEMA_INVALID"
    assert "NUL" in answer["results"][0]["detail"]

    for time_text in ("0001-01-01T00:30:00+01:00", "9999-12-31T23:30:00-01:00"):
        batch = [valid_item("cargo"), valid_item("cargo") | {"occurred_at": time_text}]
        batch.append(valid_item("cargo"))
        answer = post(client, "cargo", json.dumps(batch).encode(), 3).json()
        assert [r["status"] for r in answer["results"]] == ["accepted", "rejected", "accepted"]

    epoch = valid_item("vessel") | {"occurred_at": 1_700_000_000}
    not_a_bool = valid_item("cargo") | {"full": "yes"}
    assert post(client, "vessel", json.dumps(epoch).encode(), 1).json()["rejected"] == 1
    assert post(client, "cargo", json.dumps(not_a_bool).encode(), 1).json()["rejected"] == 1

    # A rejected event over 1 MB: refused, and its dead-letter copy still fits Kafka.
    huge = valid_item("vessel") | {"vessel_name": "V" * 1_200_000}
    assert post(client, "vessel", json.dumps(huge).encode(), 1).json()["rejected"] == 1

    # A certificate with a 1.2 MB document (base64 in JSON): refused, not a 500.
    big_document = valid_item("certificate")
    big_document["document"] = "QUFB" * 400_000
    answer = post(client, "certificate", json.dumps(big_document).encode(), 1).json()
    assert answer["rejected"] == 1 and "document" in answer["results"][0]["detail"]

    for depth in (50_000, 100_000):
        body = ("[" * depth + "]" * depth).encode()
        assert post(client, "vessel", body, 1).status_code == 400
        nested = ('{"a":' * depth + "1" + "}" * depth).encode()
        assert post(client, "customs", nested, 1).status_code == 400


def test_an_edifact_body_of_2_mb_or_of_hostile_bytes_is_answered(client: httpx.Client) -> None:
    bodies = [
        b"UNA:+.? 'UNB+UNOC:3+SENDER+PECLL+260301:1200+1'" + b"X" * 2_000_000,
        b"\x00" * 1000,
        "UNB+UNOC:3+\ud800+PECLL+260301:1200+1'".encode("utf-8", "surrogatepass"),
        b"UNH+1+COARRI:D:95B:UN'" * 20_000,
    ]
    for body in bodies:
        response = client.post("/v1/edifact", content=body)
        LEDGER.statuses[response.status_code] = LEDGER.statuses.get(response.status_code, 0) + 1
        assert response.status_code in (200, 422), response.text[:500]
        answer = response.json()
        # One dead letter for a refused interchange, else one per refused message.
        outcomes = [m["status"] for m in answer["messages"]] if answer["reason"] is None else []
        assert "accepted" not in outcomes and "failed" not in outcomes, answer
        refusals = len(outcomes) if outcomes else 1
        LEDGER.sent += refusals
        LEDGER.refused_http += refusals


# --- Kafka: the tenant gateway and the worker ---------------------------------------------------

EDGE_SCHEMA_IDS = [0, 1, 2, 3, 4, 5, 2**31 - 1, 2**31, 3_562_275_882, 2**32 - 1]


@st.composite
def raw_records(draw: st.DrawFn) -> bytes:
    """Bytes that are no event: framed with any schema id, or not framed at all."""
    schema_id = draw(
        st.sampled_from(EDGE_SCHEMA_IDS) | st.integers(min_value=0, max_value=2**32 - 1)
    )
    payload = draw(st.binary(max_size=64))
    framed = b"\x00" + struct.pack(">I", schema_id) + payload
    return draw(st.sampled_from([framed, framed[:5], payload, b"\x01" + framed[1:]]))


@settings(
    max_examples=1500,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(domain=st.sampled_from(DOMAINS), record=raw_records(), tenant=st.booleans())
def test_generated_raw_bytes_on_every_tenant_and_ingest_topic(
    hub: Hub, producer: Producer, domain: str, record: bytes, tenant: bool
) -> None:
    topic = f"ports.{PORT}.{domain}" if tenant else INGEST_TOPICS[domain]
    producer.produce(hub.topic(topic), record)
    producer.poll(0)
    LEDGER.sent += 1
    LEDGER.refused_kafka += 1


async def test_the_issues_kafka_reproductions_and_avro_edge_cases(
    hub: Hub, producer: Producer
) -> None:
    pool = await asyncpg.create_pool(hub.database_url, min_size=1, max_size=2)
    codec = AvroCodec(SchemaRegistryStore(pool))
    try:
        tenant = hub.topic(f"ports.{PORT}.vessel")
        subject = subject_for(hub.topic(INGEST_TOPICS["vessel"]))

        async def avro(**changes: Any) -> bytes:
            event = samples("vessel", recent())[-1].model_copy(
                update={"event_id": uuid.uuid4(), "retracts_event_id": None, **changes}
            )
            return await codec.encode(subject, schema_text("vessel"), to_avro_datum(event))

        refused = [
            bytes.fromhex("00d454042a"),  # schema id 3562275882
            b"\x00" + b"\xff" * 999_000,  # a near-1 MiB bad record
            await avro(port_call_id="PECLL-\x00-1"),  # NUL, over Avro
            await avro() + b"trailing",  # bytes after a valid record
            await avro(port="CLVAP"),  # another port's event on PECLL's topic
        ]
        valid = [await avro() for _ in range(5)]
        for value in [*refused, *valid]:
            producer.produce(tenant, value)
        # Straight to the worker: the NUL that once stopped it for good, and a valid event.
        ingest = hub.topic(INGEST_TOPICS["vessel"])
        producer.produce(ingest, await avro(port_call_id="PECLL-\x00-2"))
        valid.append(await avro())
        producer.produce(ingest, valid[-1])
        assert producer.flush(60) == 0
        LEDGER.sent += len(refused) + 1 + len(valid)
        LEDGER.refused_kafka += len(refused) + 1
        for value in valid:
            datum = await codec.decode(value)
            LEDGER.accepted.add(str(datum["event_id"]))
    finally:
        await pool.close()


# --- the books ----------------------------------------------------------------------------------


async def test_every_input_ended_stored_dead_lettered_or_answered_503(
    hub: Hub, client: httpx.Client, producer: Producer
) -> None:
    assert producer.flush(60) == 0
    assert LEDGER.sent > 1000, LEDGER
    assert 500 not in LEDGER.statuses, LEDGER.statuses
    pool = await asyncpg.create_pool(hub.database_url, min_size=1, max_size=2)
    try:
        # The worker and the gateway keep taking events in after the campaign: sentinels.
        sentinel = valid_item("vessel")
        assert post(client, "vessel", json.dumps(sentinel).encode(), 1).json()["accepted"] == 1
        dead_letters = LEDGER.refused_http + LEDGER.refused_kafka

        async def counted() -> bool:
            rejected = await pool.fetchval(
                "SELECT coalesce(sum(events), 0) FROM rejected_event_counts"
            )
            return bool(rejected >= dead_letters)

        async def stored_all() -> bool:
            rows = await pool.fetch("SELECT event_id FROM ingested_events")
            return {str(row["event_id"]) for row in rows} >= LEDGER.accepted

        await eventually(stored_all, 120, "every accepted event to be stored")
        await eventually(counted, 120, "every refusal to be counted")
        stored = {
            str(r["event_id"]) for r in await pool.fetch("SELECT event_id FROM ingested_events")
        }
        duplicates = await pool.fetchval(
            "SELECT coalesce(sum(duplicates), 0) FROM port_event_counts"
        )
        rejected = await pool.fetchval("SELECT coalesce(sum(events), 0) FROM rejected_event_counts")
    finally:
        await pool.close()
    letters = await read_topic(hub.bootstrap, hub.topic(DEADLETTER), dead_letters, timeout_s=60)
    reasons = [header(headers, DEADLETTER_REASON_HEADER) for _, headers in letters]
    assert all(reasons), "every dead letter carries a reason"
    truncated = [
        (value, headers) for value, headers in letters if header(headers, ORIGINAL_SIZE_HEADER)
    ]
    assert truncated and all(len(value) == KEPT_BYTES for value, _ in truncated)
    assert all(header(headers, ORIGINAL_SHA256_HEADER) for _, headers in truncated)

    # The books: each input exactly one outcome, none lost, none twice.
    assert stored == LEDGER.accepted, "stored is exactly what was accepted"
    assert duplicates == 0, "nothing was stored twice or re-delivered as a duplicate"
    assert len(letters) == dead_letters, (len(letters), LEDGER)
    assert rejected == dead_letters, (rejected, LEDGER)
    assert LEDGER.sent == len(LEDGER.accepted) + dead_letters + LEDGER.retry, LEDGER
    async with httpx.AsyncClient(base_url=hub.base_url) as fresh:
        began = time.monotonic()
        assert (await fresh.get("/health")).status_code == 200
        assert time.monotonic() - began < 2
