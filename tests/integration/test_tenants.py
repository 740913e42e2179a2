"""Kafka tenants (issue 9): SASL/SCRAM principals of ports and customs authorities, their ACLs on
the real broker, the gateway that checks whose events a port's topic carries, and the Kafka half
of the tenant matrix — every tenant against every topic and group it must not reach."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError

from hub.db.schema_registry import SchemaRegistryStore
from hub.kafka_topics import (
    DEADLETTER,
    INGEST_CUSTOMS,
    INGEST_VESSEL,
    KPI_PORT_CALLS,
    validations_topic,
)
from hub.settings import PROJECT_ROOT
from schemas.avro_schemas import schema_text, subject_for
from schemas.codec import AvroCodec
from schemas.models import Envelope, from_avro_datum, to_avro_datum
from tests.integration.helpers import (
    Services,
    api_environment,
    eventually,
    produce,
    read_topic,
    running_api,
)
from tests.samples import samples

PARTITIONS = 4  # worker_environment's HUB_TOPIC_PARTITIONS
_READ_WAIT_S = 3.0


@dataclass(frozen=True)
class Credentials:
    bootstrap: str
    username: str
    password: str


@dataclass(frozen=True)
class Attempt:
    """``who`` tries to ``action`` ``topic`` (reading in ``group``; None: no group)."""

    who: str
    action: Literal["write", "read"]
    topic: str
    group: str | None = None


def _hub(environment: dict[str, str], *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hub", *arguments], env=environment, cwd=PROJECT_ROOT,
        capture_output=True, text=True, check=False,
    )  # fmt: skip


def _client_settings(output: str) -> Credentials:
    pairs = dict(
        line.split("=", 1) for line in output.splitlines() if line and not line.startswith("#")
    )
    assert pairs["security.protocol"] == "SASL_PLAINTEXT"
    assert pairs["sasl.mechanism"] == "SCRAM-SHA-512"
    return Credentials(pairs["bootstrap.servers"], pairs["sasl.username"], pairs["sasl.password"])


def _sasl(credentials: Credentials) -> dict[str, str]:
    return {
        "bootstrap_servers": credentials.bootstrap,
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": credentials.username,
        "sasl_plain_password": credentials.password,
    }


async def _write(credentials: Credentials, topic: str, value: bytes) -> str:
    """'delivered', or the name of the error that refused it."""
    producer = AIOKafkaProducer(request_timeout_ms=10_000, **_sasl(credentials))
    try:
        await producer.start()
        await asyncio.wait_for(producer.send_and_wait(topic, value), 20)
        return "delivered"
    except KafkaError as error:
        return type(error).__name__
    finally:
        await producer.stop()


async def _read(credentials: Credentials, topic: str, group: str | None) -> str:
    """'read N records', 'nothing delivered', or the name of the error that refused it."""
    consumer = AIOKafkaConsumer(
        group_id=group, auto_offset_reset="earliest", enable_auto_commit=False,
        **_sasl(credentials),
    )  # fmt: skip
    try:
        await consumer.start()
        if group is None:
            consumer.assign([TopicPartition(topic, p) for p in range(PARTITIONS)])
        else:
            consumer.subscribe([topic])
        got = 0
        deadline = time.monotonic() + _READ_WAIT_S
        while time.monotonic() < deadline and not got:
            batch = await consumer.getmany(timeout_ms=500)
            got += sum(len(records) for records in batch.values())
        return f"read {got} records" if got else "nothing delivered"
    except KafkaError as error:
        return type(error).__name__
    finally:
        await consumer.stop()


def _denials(log: Path, start: int) -> set[tuple[str, str]]:
    """(principal, resource) of every refusal the broker logged after byte ``start``."""
    with log.open("rb") as handle:
        handle.seek(start)
        text = handle.read().decode(errors="replace")
    return set(re.findall(r"Principal = (\S+) is Denied operation = \S+ .*? on resource = (\S+)",
                          text))  # fmt: skip


def _failed_logins(log: Path, start: int) -> int:
    with log.open("rb") as handle:
        handle.seek(start)
        return handle.read().decode(errors="replace").count("Failed authentication with")


async def test_every_kafka_tenant_is_refused_every_topic_and_group_not_its_own_and_it_is_logged(
    services: Services, fresh_database: str, namespace: str, tmp_path: Path
) -> None:
    environment = api_environment(services, fresh_database, namespace, tmp_path) | {
        "HUB_KAFKA_TENANT_BOOTSTRAP": services.kafka.tenant_bootstrap,
    }
    migrated = await asyncio.to_thread(_hub, environment, "migrate")
    assert migrated.returncode == 0, migrated.stderr

    created: dict[str, Credentials] = {}
    for kind, subject in (("port", "PECLL"), ("port", "BRSSZ"), ("port", "CLVAP"),
                          ("customs", "PE"), ("customs", "BR")):  # fmt: skip
        added = await asyncio.to_thread(_hub, environment, "tenants", f"add-{kind}", subject)
        assert added.returncode == 0, added.stderr
        created[f"{kind}-{subject}"] = _client_settings(added.stdout)
    again = await asyncio.to_thread(_hub, environment, "tenants", "add-port", "PECLL")
    assert again.returncode == 2 and "--rotate" in again.stderr
    unknown = await asyncio.to_thread(_hub, environment, "tenants", "add-port", "XXABC")
    assert unknown.returncode == 2 and "not a reference port" in unknown.stderr
    assert len({c.password for c in created.values()}) == len(created)
    assert {c.bootstrap for c in created.values()} == {services.kafka.tenant_bootstrap}

    def topic(name: str) -> str:
        return f"{namespace}{name}"

    pecll, customs_pe = created["port-PECLL"], created["customs-PE"]
    pool = await asyncpg.create_pool(fresh_database, min_size=1, max_size=2)
    try:
        async with running_api(environment, tmp_path / "api.log"):
            codec = AvroCodec(SchemaRegistryStore(pool))
            recent = datetime.now(UTC) - timedelta(minutes=2)
            own, other = (samples("vessel", recent)[0], samples("vessel", recent)[1])
            other = other.model_copy(update={"port": "BRSSZ"})

            async def avro(event: Envelope) -> bytes:
                subject = subject_for(topic(INGEST_VESSEL))
                return await codec.encode(subject, schema_text("vessel"), to_avro_datum(event))

            # What a port may do: write its own topics; the gateway passes its events on.
            own_topic = topic("ports.PECLL.vessel")
            assert await _write(pecll, own_topic, await avro(own)) == "delivered"
            assert await _write(pecll, own_topic, await avro(other)) == "delivered"
            assert await _write(pecll, own_topic, b"not avro") == "delivered"
            ingested = await read_topic(services.bootstrap, topic(INGEST_VESSEL), 1, timeout_s=30)
            passed_on = [from_avro_datum("vessel", await codec.decode(v)) for v, _ in ingested]
            assert passed_on == [own.model_copy(update={"publisher": "kafka:port-PECLL"})]
            dead = await read_topic(services.bootstrap, topic(DEADLETTER), 2, timeout_s=30)
            reasons = sorted((dict(h)["hub-reason"], dict(h)["hub-source-topic"]) for _, h in dead)
            assert reasons == [(b"PORT_NOT_OWNED", own_topic.encode()),
                               (b"UNDECODABLE", own_topic.encode())]  # fmt: skip
            counted = await pool.fetch(
                "SELECT reason, events FROM rejected_event_counts WHERE domain = 'vessel'"
            )
            assert sorted((r["reason"], r["events"]) for r in counted) == [
                ("PORT_NOT_OWNED", 1),
                ("UNDECODABLE", 1),
            ]

            # What a customs authority may do: read its verdicts in a group of its own prefix.
            verdict = json.dumps({"certificate_id": "CERT-PE"}).encode()
            for country in ("PE", "BR"):
                await produce(services.bootstrap, topic(validations_topic(country)), [verdict])
            await produce(services.bootstrap, topic(INGEST_CUSTOMS), [b"x"])
            await produce(services.bootstrap, topic(KPI_PORT_CALLS), [b"x"])
            allowed = await _read(
                customs_pe, topic("validations.PE"), topic("customs.PE.inspection")
            )
            assert allowed == "read 1 records"

            # Revoked: a producer that was connected is refused from its next request on.
            clvap = created["port-CLVAP"]
            producer = AIOKafkaProducer(**_sasl(clvap))
            await producer.start()
            try:
                await producer.send_and_wait(topic("ports.CLVAP.cargo"), b"before")
                revoked = await asyncio.to_thread(
                    _hub, environment, "tenants", "revoke-port", "CLVAP"
                )
                assert revoked.returncode == 0, revoked.stderr
                revoked_at = time.monotonic()
                try:
                    await asyncio.wait_for(
                        producer.send_and_wait(topic("ports.CLVAP.cargo"), b"after"), 10
                    )
                    refused_after: str | None = None
                except KafkaError as error:
                    refused_after = type(error).__name__
                refused_within_s = time.monotonic() - revoked_at
            finally:
                await producer.stop()
            assert refused_after == "TopicAuthorizationFailedError"
            assert refused_within_s < 1.0
            listed = await asyncio.to_thread(_hub, environment, "tenants", "list")
            states = {line.split()[0]: line for line in listed.stdout.splitlines()}
            assert sorted(states) == sorted(created)
            assert "revoked" in states["port-CLVAP"] and "write" not in states["port-CLVAP"]
            assert "active" in states["port-PECLL"]
            assert f"write topic {topic('ports.PECLL.vessel')}" in states["port-PECLL"]
            assert f"write topic {topic('ports.PECLL.')}*" not in states["port-PECLL"]
            assert f"read group {topic('customs.PE.')}*" in states["customs-PE"]

            # The matrix: every attempt below must be refused by the broker and logged.
            authorizer_start = services.kafka.authorizer_log.stat().st_size
            broker_log_start = services.kafka.log_file.stat().st_size
            group_pe = topic("customs.PE.x")
            forbidden = [
                Attempt("port-PECLL", "write", topic("ports.BRSSZ.vessel")),
                Attempt("port-PECLL", "write", topic(INGEST_VESSEL)),
                Attempt("port-PECLL", "write", topic(DEADLETTER)),
                Attempt("port-PECLL", "write", topic("validations.PE")),
                Attempt("port-PECLL", "read", own_topic),
                Attempt("port-PECLL", "read", topic("validations.PE")),
                Attempt("port-PECLL", "read", topic(KPI_PORT_CALLS)),
                Attempt("port-BRSSZ", "write", own_topic),
                Attempt("port-BRSSZ", "read", topic(INGEST_VESSEL)),
                Attempt("customs-PE", "read", topic("validations.BR"), group_pe),
                Attempt("customs-PE", "read", topic("validations.PE"), topic("customs.BR.x")),
                Attempt("customs-PE", "read", topic("validations.PE"), "inspection"),
                Attempt("customs-PE", "read", topic(INGEST_CUSTOMS), group_pe),
                Attempt("customs-PE", "read", topic(DEADLETTER), group_pe),
                Attempt("customs-PE", "write", topic("validations.PE")),
                Attempt("customs-PE", "write", topic("ports.PECLL.customs")),
                Attempt("customs-BR", "read", topic("validations.PE"), topic("customs.BR.x")),
            ]
            outcomes: dict[Attempt, str] = {}
            for attempt in forbidden:
                credentials = created[attempt.who]
                outcomes[attempt] = await (
                    _write(credentials, attempt.topic, b"forbidden")
                    if attempt.action == "write"
                    else _read(credentials, attempt.topic, attempt.group)
                )
            wrong_password = Credentials(pecll.bootstrap, pecll.username, "guess")
            stranger = Credentials(pecll.bootstrap, "port-ARBUE", "guess")
            login_attempts = {
                "wrong password": await _write(wrong_password, own_topic, b"x"),
                "unknown principal": await _write(stranger, topic("ports.ARBUE.vessel"), b"x"),
                "revoked principal": await _write(clvap, topic("ports.CLVAP.cargo"), b"x"),
            }

            async def logged() -> bool:
                denied = _denials(services.kafka.authorizer_log, authorizer_start)
                return all(_resource_of(a) in denied for a in forbidden) and _failed_logins(
                    services.kafka.log_file, broker_log_start
                ) >= len(login_attempts)

            not_refused = {
                a: o for a, o in outcomes.items() if o == "delivered" or o.startswith("read ")
            }
            assert not not_refused, not_refused
            assert all(o == "KafkaConnectionError" for o in login_attempts.values()), login_attempts
            await eventually(logged, 10, "every refusal to be in the broker's logs")
    finally:
        await pool.close()

    # Nothing a refused tenant wrote reached a topic.
    assert len(await read_topic(services.bootstrap, topic("ports.BRSSZ.vessel"), 0, 2)) == 0
    assert len(await read_topic(services.bootstrap, topic(INGEST_VESSEL), 1, 2)) == 1
    attempts = len(forbidden) + len(login_attempts)
    print(f"\nKafka tenant matrix: {attempts} refused / {attempts} attempts "
          f"({len(forbidden)} by ACL, {len(login_attempts)} at login); revoked principal "
          f"refused {refused_within_s * 1000:.0f} ms after `hub tenants revoke-port`")  # fmt: skip

    # The hub keeps no password: only the principals, and the audit of who made them.
    connection = await asyncpg.connect(fresh_database)
    try:
        rows = [
            *await connection.fetch("SELECT * FROM kafka_tenants"),
            *await connection.fetch("SELECT * FROM audit_log"),
        ]
        actions = await connection.fetch("SELECT action, target FROM audit_log ORDER BY id")
    finally:
        await connection.close()
    stored = " ".join(str(dict(row)) for row in rows)
    assert not any(c.password in stored for c in created.values())
    assert [(r["action"], r["target"]) for r in actions] == [
        ("tenants.add-port", "port-PECLL"),
        ("tenants.add-port", "port-BRSSZ"),
        ("tenants.add-port", "port-CLVAP"),
        ("tenants.add-customs", "customs-PE"),
        ("tenants.add-customs", "customs-BR"),
        ("tenants.revoke-port", "port-CLVAP"),
    ]


def _resource_of(attempt: Attempt) -> tuple[str, str]:
    """What the broker's log names when it refuses ``attempt``: the group when the tenant may
    read the topic but not in that group, else the topic."""
    principal = f"User:{attempt.who}"
    own_verdicts = attempt.who.startswith("customs-") and attempt.topic.endswith(
        validations_topic(attempt.who.removeprefix("customs-"))
    )
    if attempt.action == "read" and attempt.group and own_verdicts:
        return principal, f"Group:LITERAL:{attempt.group}"
    return principal, f"Topic:LITERAL:{attempt.topic}"


async def test_rotating_a_port_replaces_the_prefix_grant_an_earlier_release_gave_it(
    services: Services, fresh_database: str, namespace: str, tmp_path: Path
) -> None:
    """Until issue 21 a port's WRITE was the prefix ``ports.PECLL.``, which also covered its own
    feedback topic. ``add-port --rotate`` leaves it exactly the grants of this release."""
    from confluent_kafka.admin import (
        AclBinding,
        AclBindingFilter,
        AclOperation,
        AclPermissionType,
        AdminClient,
        ResourcePatternType,
        ResourceType,
    )

    environment = api_environment(services, fresh_database, namespace, tmp_path) | {
        "HUB_KAFKA_TENANT_BOOTSTRAP": services.kafka.tenant_bootstrap,
    }
    migrated = await asyncio.to_thread(_hub, environment, "migrate")
    assert migrated.returncode == 0, migrated.stderr
    added = await asyncio.to_thread(_hub, environment, "tenants", "add-port", "PECLL")
    assert added.returncode == 0, added.stderr
    feedback = f"{namespace}ports.PECLL.feedback"
    assert await _write(_client_settings(added.stdout), feedback, b"x") != "delivered"

    # What an earlier release granted: WRITE on the prefix.
    admin = AdminClient({"bootstrap.servers": services.bootstrap})
    old_grant = AclBinding(
        ResourceType.TOPIC, f"{namespace}ports.PECLL.", ResourcePatternType.PREFIXED,
        "User:port-PECLL", "*", AclOperation.WRITE, AclPermissionType.ALLOW,
    )  # fmt: skip
    for future in admin.create_acls([old_grant]).values():
        await asyncio.to_thread(future.result, 10)
    old = await asyncio.to_thread(_hub, environment, "tenants", "add-port", "PECLL", "--rotate")
    assert old.returncode == 0, old.stderr

    every_acl = AclBindingFilter(
        ResourceType.ANY, None, ResourcePatternType.ANY, "User:port-PECLL", None,  # type: ignore[arg-type]
        AclOperation.ANY, AclPermissionType.ANY,
    )  # fmt: skip

    def principal_acls() -> list[AclBinding]:
        return list(admin.describe_acls(every_acl).result(10))

    acls = await asyncio.to_thread(principal_acls)
    assert old_grant not in acls
    prefixed_writes = [
        a for a in acls if a.resource_pattern_type == ResourcePatternType.PREFIXED
        and a.operation == AclOperation.WRITE
    ]  # fmt: skip
    assert prefixed_writes == []
    rotated = _client_settings(old.stdout)
    assert await _write(rotated, f"{namespace}ports.PECLL.vessel", b"own topic") == "delivered"

    async def refused() -> bool:  # ACL changes reach the authorizer within moments
        return await _write(rotated, feedback, b"forged") == "TopicAuthorizationFailedError"

    await eventually(refused, 20, "the port refused its own feedback topic")
