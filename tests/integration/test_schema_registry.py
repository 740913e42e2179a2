"""The embedded schema registry on the real PostgreSQL, over real HTTP, driven by Confluent's
own Python client and serializers: what works with it works with any Confluent client.

Writes need an admin token (who else may write is tests/integration/test_registry_access.py):
the clients here present one as Confluent clients do, with ``basic.auth.user.info``.
"""

from __future__ import annotations

import asyncio
import io
import json
import random
import string
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, ParamSpec, TypeVar
from urllib.parse import quote

import asyncpg
import fastavro
import httpx
import pytest
import uvicorn
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.schema_registry.error import SchemaRegistryError
from confluent_kafka.serialization import MessageField, SerializationContext
from fastapi import FastAPI

from hub.api import schema_registry
from hub.api.dependencies import provide
from hub.api.schema_registry import REGISTRY_MEDIA_TYPE
from hub.db.migrations import migrate
from hub.db.schema_registry import MAX_SUBJECT_BYTES, SchemaRegistryStore
from hub.db.tokens import create_access_token
from schemas.codec import AvroCodec, UnknownSchemaError
from schemas.registry_client import HttpSchemaRegistry
from tests.integration.helpers import eventually, free_port

P = ParamSpec("P")
T = TypeVar("T")


def record(*fields: dict[str, Any]) -> str:
    return json.dumps(
        {"type": "record", "name": "PortCall", "namespace": "hub.test", "fields": list(fields)}
    )


IMO = {"name": "imo", "type": "string"}
V1 = record(IMO)
V2_OPTIONAL_BERTH = record(IMO, {"name": "berth", "type": ["null", "string"], "default": None})
V2_REQUIRED_BERTH = record(IMO, {"name": "berth", "type": "string"})


@dataclass(frozen=True)
class Registry:
    url: str
    store: SchemaRegistryStore
    admin_token: str
    clients: list[SchemaRegistryClient] = field(default_factory=list)

    def client(self, *, admin: bool = True) -> SchemaRegistryClient:
        """A new Confluent client (with an empty cache), failing at once rather than retrying;
        with the admin token (as Basic credentials) unless ``admin`` is false.

        Closed when the test ends.
        """
        config = {"url": self.url, "max.retries": 0}
        if admin:
            config["basic.auth.user.info"] = f"admin:{self.admin_token}"
        client = SchemaRegistryClient(config)
        self.clients.append(client)
        return client

    @property
    def admin(self) -> dict[str, str]:
        """The header of an HTTP request with the admin token."""
        return {"Authorization": f"Bearer {self.admin_token}"}


def registry_app(store: SchemaRegistryStore) -> FastAPI:
    """An app with the registry mounted as the hub's API mounts it."""
    app = FastAPI()
    provide(app, schema_registry_store=store)
    app.include_router(schema_registry.router, prefix="/registry")
    return app


@pytest.fixture
async def registry(fresh_database: str) -> AsyncIterator[Registry]:
    connection = await asyncpg.connect(fresh_database)
    try:
        await migrate(connection)
        admin_token = await create_access_token(connection, "admin", label="registry-tests")
    finally:
        await connection.close()
    pool = await asyncpg.create_pool(fresh_database, min_size=1, max_size=8)
    store = SchemaRegistryStore(pool)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            registry_app(store), host="127.0.0.1", port=port, log_level="warning", lifespan="off"
        )
    )
    serving = asyncio.create_task(server.serve(), name="registry-http")

    async def started() -> bool:
        if serving.done():
            serving.result()  # raises what stopped the server
        return server.started

    try:
        await eventually(started, 10, "the registry's HTTP server start", interval_s=0.05)
        running = Registry(f"http://127.0.0.1:{port}/registry", store, admin_token)
        yield running
        for client in running.clients:
            client.close()
    finally:
        server.should_exit = True
        await asyncio.wait_for(serving, 10)
        await pool.close()


async def call(function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run a call of the (blocking) Confluent client off the loop that serves the registry."""
    return await asyncio.to_thread(function, *args, **kwargs)


async def refused(function: Callable[P, object], *args: P.args, **kwargs: P.kwargs) -> Any:
    """The SchemaRegistryError the call raises (fails the test if it raises none)."""
    with pytest.raises(SchemaRegistryError) as raised:
        await call(function, *args, **kwargs)
    return raised.value


async def test_schemas_are_registered_and_read_back_with_the_confluent_client(
    registry: Registry,
) -> None:
    client = registry.client()
    subject = "ingest.vessel-value"

    v1_id = await call(client.register_schema, subject, Schema(V1, "AVRO"))
    assert v1_id == 1
    # The same schema laid out differently is the same schema: same id, no new version (a
    # new Schema object, so that the client's cache does not answer in the server's place).
    relaid = json.dumps(json.loads(V1), indent=4)
    assert await call(client.register_schema, subject, Schema(relaid, "AVRO")) == v1_id
    v2_id = await call(client.register_schema, subject, Schema(V2_OPTIONAL_BERTH, "AVRO"))
    assert v2_id == 2

    schema = await call(registry.client().get_schema, v1_id)
    assert schema.schema_str == V1
    assert schema.schema_type == "AVRO"

    latest = await call(client.get_latest_version, subject)
    assert (latest.subject, latest.version, latest.schema_id) == (subject, 2, v2_id)
    assert latest.schema.schema_str == V2_OPTIONAL_BERTH
    first = await call(client.get_version, subject, 1)
    assert (first.version, first.schema_id, first.schema.schema_str) == (1, v1_id, V1)

    assert await call(client.get_subjects) == [subject]
    assert await call(client.get_versions, subject) == [1, 2]

    # An identical schema under another subject keeps its id.
    assert await call(client.register_schema, "ingest.cargo-value", Schema(V1, "AVRO")) == v1_id
    assert sorted(await call(client.get_subjects)) == ["ingest.cargo-value", subject]
    pairs = await call(client.get_schema_versions, v1_id)
    assert [(pair.subject, pair.version) for pair in pairs] == [
        ("ingest.cargo-value", 1),
        (subject, 1),
    ]

    found = await call(registry.client().lookup_schema, subject, Schema(V2_OPTIONAL_BERTH, "AVRO"))
    assert (found.subject, found.version, found.schema_id) == (subject, 2, v2_id)

    unknown = await refused(client.lookup_schema, subject, Schema(V2_REQUIRED_BERTH, "AVRO"))
    assert (unknown.http_status_code, unknown.error_code) == (404, 40403)
    no_subject = await refused(client.get_versions, "nobody-value")
    assert (no_subject.http_status_code, no_subject.error_code) == (404, 40401)
    no_version = await refused(client.get_version, subject, 9)
    assert (no_version.http_status_code, no_version.error_code) == (404, 40402)
    no_schema = await refused(client.get_schema, 99)
    assert (no_schema.http_status_code, no_schema.error_code) == (404, 40403)


async def test_an_incompatible_change_is_refused_naming_the_field(registry: Registry) -> None:
    client = registry.client()
    subject = "ingest.customs-value"
    await call(client.register_schema, subject, Schema(V1, "AVRO"))

    error = await refused(client.register_schema, subject, Schema(V2_REQUIRED_BERTH, "AVRO"))
    assert error.http_status_code == 409
    assert error.error_code == 409
    assert "'berth'" in error.error_message
    assert "READER_FIELD_MISSING_DEFAULT_VALUE" in error.error_message
    assert await call(client.get_versions, subject) == [1]

    required = Schema(V2_REQUIRED_BERTH, "AVRO")
    assert await call(client.test_compatibility, subject, required) is False
    assert await call(client.test_compatibility, subject, Schema(V2_OPTIONAL_BERTH, "AVRO"))
    assert await call(client.test_compatibility, subject, required, version=1) is False
    assert await call(client.test_compatibility_all_versions, subject, required) is False

    async with httpx.AsyncClient(base_url=registry.url) as http:
        verbose = await http.post(
            f"/compatibility/subjects/{subject}/versions/latest",
            params={"verbose": "true"},
            json={"schema": V2_REQUIRED_BERTH},
        )
        terse = await http.post(
            f"/compatibility/subjects/{subject}/versions/latest",
            json={"schema": V2_REQUIRED_BERTH},
        )
    assert verbose.status_code == 200
    body = verbose.json()
    assert body["is_compatible"] is False
    assert len(body["messages"]) == 1
    assert "field 'berth'" in body["messages"][0]
    assert "version 1" in body["messages"][0]
    assert terse.json() == {"is_compatible": False}

    # The level: global BACKWARD from the migration; a subject's own level overrides it.
    assert await call(client.get_compatibility) == "BACKWARD"
    unset = await refused(client.get_compatibility, subject)
    assert (unset.http_status_code, unset.error_code) == (404, 40408)
    # set_compatibility is typed as returning the level; it returns Confluent's body.
    answer: object = await call(client.set_compatibility, subject, "NONE")
    assert answer == {"compatibility": "NONE"}
    assert await call(client.get_compatibility, subject) == "NONE"
    assert await call(client.get_compatibility) == "BACKWARD"
    assert await call(client.register_schema, subject, required) == 2
    assert await call(client.get_versions, subject) == [1, 2]

    answer = await call(client.set_compatibility, None, "full")
    assert answer == {"compatibility": "FULL"}
    assert await call(client.get_compatibility) == "FULL"
    bad_level = await refused(client.set_compatibility, subject, "SIDEWAYS")
    assert (bad_level.http_status_code, bad_level.error_code) == (422, 42203)


async def test_forward_level_is_enforced_at_registration(registry: Registry) -> None:
    client = registry.client()
    subject = "ingest.cargo-value"
    await call(client.set_compatibility, subject, "FORWARD")
    await call(client.register_schema, subject, Schema(V2_REQUIRED_BERTH, "AVRO"))
    # Dropping a field is fine for new readers, not for old ones, which need berth.
    error = await refused(client.register_schema, subject, Schema(V1, "AVRO"))
    assert error.http_status_code == 409
    assert "'berth'" in error.error_message


async def test_a_deleted_subject_is_hidden_but_its_schemas_still_resolve(
    registry: Registry,
) -> None:
    client = registry.client()
    subject = "ingest.certificate-value"
    v1_id = await call(client.register_schema, subject, Schema(V1, "AVRO"))
    await call(client.register_schema, subject, Schema(V2_OPTIONAL_BERTH, "AVRO"))
    await call(client.set_compatibility, subject, "NONE")

    assert await call(client.delete_subject, subject) == [1, 2]
    assert await call(client.get_subjects) == []
    assert await call(client.get_subjects, deleted=True) == [subject]
    gone = await refused(client.get_versions, subject)
    assert (gone.http_status_code, gone.error_code) == (404, 40401)
    assert await call(client.get_versions, subject, deleted=True) == [1, 2]
    assert (await call(registry.client().get_schema, v1_id)).schema_str == V1
    # Deleting the subject dropped its own level too.
    assert await registry.store.subject_config(subject) is None
    again = await refused(client.delete_subject, subject)
    assert (again.http_status_code, again.error_code) == (404, 40404)

    # Registered again, the schema keeps its id and becomes the newest version. (A new client:
    # this one would answer from its cache without asking the registry.)
    assert await call(registry.client().register_schema, subject, Schema(V1, "AVRO")) == v1_id
    assert await call(client.get_versions, subject) == [3]
    early = await refused(client.delete_subject, subject, permanent=True)
    assert (early.http_status_code, early.error_code) == (404, 40405)
    assert await call(client.delete_subject, subject) == [3]
    assert await call(client.delete_subject, subject, permanent=True) == [2, 3]
    assert await call(client.get_subjects, deleted=True) == []
    assert (await call(registry.client().get_schema, v1_id)).schema_str == V1


async def test_the_confluent_avro_serializer_writes_the_wire_format_with_our_ids(
    registry: Registry,
) -> None:
    topic = "ingest.vessel"
    schema_text = record(
        IMO,
        {"name": "draught_m", "type": "double"},
        {"name": "berth", "type": ["null", "string"], "default": None},
    )
    event = {"imo": "IMO9321483", "draught_m": 11.5, "berth": "B7"}
    context = SerializationContext(topic, MessageField.VALUE)

    serializer = AvroSerializer(registry.client(), schema_text)
    data = await call(serializer, event, context)
    assert data is not None

    registered = await registry.store.version(f"{topic}-value", "latest")
    assert registered is not None
    assert data[0] == 0
    assert int.from_bytes(data[1:5], "big") == registered.id
    written = fastavro.schemaless_reader(
        io.BytesIO(data[5:]), fastavro.parse_schema(json.loads(schema_text))
    )
    assert written == event

    # A consumer that knows nothing but the registry's URL reads it back.
    deserializer = AvroDeserializer(registry.client())
    assert await call(deserializer, data, context) == event
    # A second producer of the same schema reuses its id.
    again = await call(AvroSerializer(registry.client(), schema_text), event, context)
    assert again == data


async def test_errors_and_media_types_are_confluents(registry: Registry) -> None:
    subject = "ingest.vessel-value"
    async with httpx.AsyncClient(base_url=registry.url, headers=registry.admin) as http:
        created = await http.post(
            f"/subjects/{subject}/versions",
            content=json.dumps({"schema": V1, "schemaType": "AVRO"}),
            headers={"Content-Type": REGISTRY_MEDIA_TYPE, "Accept": REGISTRY_MEDIA_TYPE},
        )
        assert created.status_code == 200
        assert created.json() == {"id": 1}
        assert created.headers["content-type"] == REGISTRY_MEDIA_TYPE
        plain = await http.get("/subjects", headers={"Accept": "application/json"})
        assert plain.headers["content-type"] == "application/json"
        assert plain.json() == [subject]

        bare = await http.get(f"/subjects/{subject}/versions/1/schema")
        assert json.loads(bare.text) == json.loads(V1)
        by_id = await http.get("/schemas/ids/1/schema")
        assert json.loads(by_id.text) == json.loads(V1)
        assert (await http.get(f"/subjects/{subject}/versions/-1")).json()["version"] == 1
        assert (await http.get("/schemas/types")).json() == ["AVRO"]
        assert (await http.get("/contexts")).json() == ["."]
        associations = await http.get("/associations/resources/-/ingest.vessel")
        assert associations.json() == []
        assert (await http.get("/schemas/ids/1/subjects")).json() == [subject]
        # Query parameters of newer clients that this registry does not implement are ignored.
        ignored = await http.get("/subjects", params={"normalize": "true", "format": "x"})
        assert ignored.json() == [subject]

        async def error_of(response: httpx.Response) -> tuple[int, int, str]:
            body = response.json()
            return response.status_code, body["error_code"], body["message"]

        not_json = await http.post(f"/subjects/{subject}/versions", json={"schema": "{"})
        status, code, message = await error_of(not_json)
        assert (status, code) == (422, 42201)
        assert "not valid JSON" in message
        not_avro = await http.post(f"/subjects/{subject}/versions", json={"schema": '"strin"'})
        assert (await error_of(not_avro))[:2] == (422, 42201)
        protobuf = await http.post(
            f"/subjects/{subject}/versions",
            json={"schema": "syntax = 'proto3';", "schemaType": "PROTOBUF"},
        )
        status, code, message = await error_of(protobuf)
        assert (status, code) == (422, 42201)
        assert "PROTOBUF" in message
        assert "only AVRO" in message
        empty = await http.post(f"/subjects/{subject}/versions", json={})
        assert (await error_of(empty))[:2] == (422, 42201)
        references = await http.post(
            f"/subjects/{subject}/versions",
            json={"schema": V1, "references": [{"name": "x", "subject": "y", "version": 1}]},
        )
        assert "references" in (await error_of(references))[2]

        for version in ("abc", "0", "2147483648", "-2"):
            response = await http.get(f"/subjects/{subject}/versions/{version}")
            assert (await error_of(response))[:2] == (422, 42202), version
        lookup = await http.post("/subjects/nobody", json={"schema": V1})
        assert (await error_of(lookup))[:2] == (404, 40401)
        not_an_id = await http.get("/schemas/ids/abc")
        assert not_an_id.status_code == 422
        assert not_an_id.json()["error_code"] == 422
        unset = await http.delete(f"/config/{subject}")
        assert (await error_of(unset))[:2] == (404, 40408)


async def test_a_database_failure_is_error_50001_answered_503() -> None:
    # A store whose pool is closed: every query fails as a lost database would.
    pool = await asyncpg.create_pool("postgresql://127.0.0.1:1/none", min_size=0)
    await pool.close()
    transport = httpx.ASGITransport(app=registry_app(SchemaRegistryStore(pool)))
    async with httpx.AsyncClient(transport=transport, base_url="http://hub/registry") as http:
        read = await http.get("/subjects")
        # A write's token cannot be checked either: the same answer, not a refusal.
        write = await http.put(
            "/config", json={"compatibility": "NONE"}, headers={"Authorization": "Bearer x"}
        )
    for response in (read, write):
        assert response.status_code == 503
        assert response.headers["retry-after"] == "1"
        assert response.json()["error_code"] == 50001
        assert "backend data store" in response.json()["message"]


async def test_concurrent_registrations_never_share_a_version(registry: Registry) -> None:
    store = registry.store
    subject = "ingest.vessel-value"
    # Twenty compatible schemas at once: each adds an optional field of its own.
    schemas = [
        record(IMO, {"name": f"extra_{n}", "type": ["null", "long"], "default": None})
        for n in range(20)
    ]
    ids = await asyncio.gather(*(store.register(subject, text) for text in schemas))
    assert len(set(ids)) == 20
    assert await store.versions(subject) == list(range(1, 21))
    by_version = [await store.version(subject, version) for version in range(1, 21)]
    assert sorted(found.id for found in by_version if found is not None) == sorted(ids)

    # One new schema, at once, under one subject and under ten: one id, one version each.
    same = await asyncio.gather(*(store.register("ingest.cargo-value", V1) for _ in range(10)))
    assert len(set(same)) == 1
    assert await store.versions("ingest.cargo-value") == [1]
    shared = await asyncio.gather(
        *(store.register(f"subject-{n}", V2_REQUIRED_BERTH) for n in range(10))
    )
    assert len(set(shared)) == 1
    assert await store.schema_by_id(shared[0]) == V2_REQUIRED_BERTH


# Schema ids and versions no PostgreSQL integer holds (or none the registry gives): a record's
# 4-byte id goes up to 2**32 - 1, and a path's number can be anything.
BEYOND_INTEGERS = (0, -1, 2**31, 3562275882, 2**32 - 1, 2**63)


async def test_ids_and_versions_beyond_postgresql_integers_are_not_found(
    registry: Registry,
) -> None:
    # Issue 16, item 2: the 5-byte record 00 d4 54 04 2a names schema 3562275882; looking it up
    # raised asyncpg's DataError (a "database failure", retried for ever by the gateway) and
    # GET /schemas/ids/3562275882 answered 500.
    store = registry.store
    subject = "ingest.vessel-value"
    await store.register(subject, V1)
    async with httpx.AsyncClient(base_url=registry.url) as http:
        for schema_id in BEYOND_INTEGERS:
            for suffix in ("", "/schema", "/versions", "/subjects"):
                response = await http.get(f"/schemas/ids/{schema_id}{suffix}")
                assert response.status_code == 404, (schema_id, suffix, response.text)
                assert response.json()["error_code"] == 40403
    for number in BEYOND_INTEGERS:
        assert await store.schema_by_id(number) is None
        assert await store.schema_versions(number, include_deleted=True) == []
        assert await store.version(subject, number, include_deleted=True) is None

    poison = bytes.fromhex("00d454042a")
    http_source = HttpSchemaRegistry(registry.url)
    try:
        for source in (store, http_source):
            with pytest.raises(UnknownSchemaError, match="3562275882"):
                await AvroCodec(source).decode(poison)
    finally:
        await http_source.close()
    assert await store.schema_by_id(1) == V1


async def test_odd_subjects_and_bodies_get_confluent_errors_never_a_500(
    registry: Registry,
) -> None:
    long_subject = "".join(random.Random(16).choices(string.ascii_letters, k=MAX_SUBJECT_BYTES + 1))
    deep_json = "[" * 100_000 + "]" * 100_000
    deep_schema = json.dumps({"schema": '{"type":' * 100_000 + '"int"' + "}" * 100_000})
    # A schema text holding an unpaired surrogate (the body's JSON escape decodes into one).
    surrogate = '{"schema": "{\\"type\\":\\"record\\",\\"name\\":\\"A\\",\\"doc\\":\\"\\ud800\\"}"}'
    nul = "a%00b"
    v1 = json.dumps({"schema": V1})
    cases = [
        ("GET", f"/subjects/{nul}/versions", None, 404, 40401),
        ("GET", f"/subjects/{nul}/versions/latest", None, 404, 40401),
        ("GET", f"/subjects/{long_subject}/versions", None, 404, 40401),
        ("GET", f"/config/{nul}", None, 404, 40408),
        ("GET", "/subjects/s/versions/99999999999", None, 422, 42202),
        ("POST", f"/subjects/{nul}", v1, 404, 40401),
        ("POST", f"/compatibility/subjects/{nul}/versions/1", v1, 404, 40401),
        ("POST", f"/subjects/{nul}/versions", v1, 422, 42208),
        ("POST", f"/subjects/{long_subject}/versions", v1, 422, 42208),
        ("PUT", f"/config/{nul}", json.dumps({"compatibility": "NONE"}), 422, 42208),
        ("PUT", f"/config/{long_subject}", json.dumps({"compatibility": "NONE"}), 422, 42208),
        ("DELETE", f"/subjects/{nul}", None, 404, 40401),
        ("DELETE", f"/config/{nul}", None, 404, 40408),
        ("POST", "/subjects/s/versions", "{not json", 422, 422),
        ("POST", "/subjects/s/versions", deep_json, 400, 400),
        ("POST", "/subjects/s/versions", deep_schema, 422, 42201),
        ("POST", "/subjects/s", deep_schema, 422, 42201),
        ("POST", "/compatibility/subjects/s/versions", deep_schema, 422, 42201),
        ("POST", "/subjects/s/versions", surrogate, 422, 42201),
        ("POST", "/subjects/s", surrogate, 422, 42201),
    ]
    headers = registry.admin | {"Content-Type": "application/json"}
    async with httpx.AsyncClient(base_url=registry.url, headers=headers, timeout=60) as http:
        for method, path, body, status, code in cases:
            response = await http.request(method, path, content=body)
            assert (response.status_code, response.json()["error_code"]) == (status, code), (
                method,
                path[:80],
                response.text[:300],
            )
        assert await registry.store.subjects(include_deleted=True) == []
        # Still serving, and storing.
        created = await http.post("/subjects/s/versions", content=v1)
        assert created.json() == {"id": 1}


async def test_generated_subjects_never_get_a_500(registry: Registry) -> None:
    rng = random.Random(1616)
    # Controls, NUL, URL-special characters, multi-byte and edge code points ("/" aside: it
    # splits the path, and the router answers).
    alphabet = "\x00\x01\x1f\x7f ab.-_%?#+:&=;\u00e9\u4e2d\U0001d11e\ud7ff\ue000\uffff"
    subjects = [
        "".join(rng.choices(alphabet, k=rng.choice((1, 3, 40, 300)))) for _ in range(60)
    ] + ["x" * MAX_SUBJECT_BYTES, "x" * (MAX_SUBJECT_BYTES + 1), "\u00e9" * 501]
    async with httpx.AsyncClient(base_url=registry.url, headers=registry.admin) as http:
        for subject in subjects:
            path = quote(subject, safe="")
            requests: list[tuple[str, str, object]] = [
                ("GET", f"/subjects/{path}/versions", None),
                ("POST", f"/subjects/{path}/versions", {"schema": V1}),
                ("POST", f"/subjects/{path}", {"schema": V1}),
                ("DELETE", f"/subjects/{path}", None),
                ("PUT", f"/config/{path}", {"compatibility": "FULL"}),
                ("GET", f"/config/{path}", None),
            ]
            for method, route, body in requests:
                response = await http.request(method, route, json=body)
                assert response.status_code < 500, (method, subject[:40], response.text[:200])
                assert response.status_code in (200, 404, 422), response.text[:200]
                if response.status_code >= 400:
                    assert response.json()["error_code"] in (40401, 40403, 40408, 42208)
            storable = len(subject.encode()) <= MAX_SUBJECT_BYTES and "\x00" not in subject
            assert (await registry.store.subject_config(subject) is not None) is storable
