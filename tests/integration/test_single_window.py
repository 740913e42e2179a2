"""A country's single window (VUCE) as a publisher (issue 19, item 2), on the real broker, worker,
API and database: a ``customs-publish`` token of PE and the principal ``single-window-PE`` publish
customs events and certificates of Peru's ports over HTTP, EDIFACT CUSRES and the Kafka tenant
topic ``customs.PE.customs``; an event of a Chilean port is refused ``PORT_NOT_OWNED`` and
dead-lettered, a vessel event or message is refused, and the principal reaches nothing but its own
two topics."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from connectors.edifact import write_interchange
from hub.db.schema_registry import SchemaRegistryStore
from hub.kafka_topics import DEADLETTER, INGEST_CUSTOMS, create_topics, validations_topic
from schemas.avro_schemas import schema_text, subject_for
from schemas.codec import AvroCodec
from schemas.models import Envelope, to_avro_datum
from tests.integration.helpers import (
    Services,
    api_environment,
    bearer,
    eventually,
    produce,
    read_topic,
    running_hub,
)
from tests.integration.test_tenants import (
    Credentials,
    _client_settings,
    _denials,
    _hub,
    _read,
    _write,
)
from tests.samples import samples

PARTITIONS = 4  # api_environment's HUB_TOPIC_PARTITIONS


def _at(events: list[Envelope], port: str) -> list[Envelope]:
    """``events`` moved to ``port`` (a certificate's importing country with it)."""
    moved = []
    for event in events:
        changes: dict[str, Any] = {"port": port}
        if hasattr(event, "importing_country"):
            changes["importing_country"] = port[:2]
        moved.append(event.model_copy(update=changes))
    return moved


def _cusres(events: list[Envelope], reference: str) -> bytes:
    text = write_interchange(
        events, sender="VUCEPERU", recipient="PORTHUB", reference=reference,
        prepared_at=datetime.now(UTC),
    )  # fmt: skip
    return text.encode()


def _json(events: list[Envelope]) -> list[dict[str, Any]]:
    return [event.model_dump(mode="json") for event in events]


async def test_a_single_window_publishes_for_its_countrys_ports_only_on_every_way_in(
    services: Services, fresh_database: str, namespace: str, tmp_path: Path
) -> None:
    environment = api_environment(services, fresh_database, namespace, tmp_path) | {
        "HUB_KAFKA_TENANT_BOOTSTRAP": services.kafka.tenant_bootstrap,
    }

    def topic(name: str) -> str:
        return f"{namespace}{name}"

    recent = datetime.now(UTC) - timedelta(minutes=10)
    async with running_hub(environment, tmp_path) as base_url:
        created = await asyncio.to_thread(
            _hub, environment, "tokens", "add-single-window", "PE", "--label", "vuce"
        )
        assert created.returncode == 0, created.stderr
        token = created.stdout.strip()
        assert token.startswith("hubv_")
        nowhere = await asyncio.to_thread(_hub, environment, "tokens", "add-single-window", "XX")
        assert nowhere.returncode == 2 and "not the country of any reference port" in nowhere.stderr
        added = await asyncio.to_thread(_hub, environment, "tenants", "add-single-window", "PE")
        assert added.returncode == 0, added.stderr
        window = _client_settings(added.stdout)
        assert window.username == "single-window-PE"

        pool = await asyncpg.create_pool(fresh_database, min_size=1, max_size=2)
        try:
            async with httpx.AsyncClient(base_url=base_url, headers=bearer(token)) as client:
                # HTTP: customs events and certificates of Callao taken, Valparaíso's refused.
                customs = await client.post(
                    "/v1/events/customs",
                    json=_json(_at(samples("customs", recent), "PECLL"))
                    + _json(_at(samples("customs", recent)[:1], "CLVAP")),
                )
                assert customs.status_code == 200, customs.text
                outcomes = [(r["status"], r.get("reason")) for r in customs.json()["results"]]
                assert outcomes == [("accepted", None), ("accepted", None),
                                    ("rejected", "PORT_NOT_OWNED")]  # fmt: skip
                assert "CLVAP" in customs.json()["results"][2]["detail"]
                certificates = await client.post(
                    "/v1/events/certificate",
                    json=_json(_at(samples("certificate", recent)[:1], "PECLL"))
                    + _json(_at(samples("certificate", recent)[:1], "CLVAP")),
                )
                assert certificates.status_code == 200, certificates.text
                outcomes = [(r["status"], r.get("reason")) for r in certificates.json()["results"]]
                assert outcomes == [("accepted", None), ("rejected", "PORT_NOT_OWNED")]
                accepted = [
                    r["event_id"]
                    for answer in (customs, certificates)
                    for r in answer.json()["results"]
                    if r["status"] == "accepted"
                ]

                # A vessel event: the whole request refused before its body is read.
                vessel = await client.post(
                    "/v1/events/vessel", json=_json(_at(samples("vessel", recent), "PECLL"))
                )
                assert vessel.status_code == 403, vessel.text
                assert vessel.json()["reason"] == "DOMAIN_NOT_ALLOWED"
                assert "customs and certificate" in vessel.json()["error"]
                # Publishing does not make it a customs reader.
                verdicts = await client.get("/v1/validations/CERT-1")
                assert verdicts.status_code == 403, verdicts.text

                # EDIFACT: a CUSRES of Callao published, one of Valparaíso and a BERMAN refused.
                own_cusres = _at(samples("customs", recent), "PECLL")
                own_cusres = [
                    e.model_copy(update={"declaration_id": f"118-2026-10-90000{i}"})
                    for i, e in enumerate(own_cusres)
                ]
                cusres = await client.post("/v1/edifact", content=_cusres(own_cusres, "SW1"))
                assert cusres.status_code == 200, cusres.text
                assert [m["type"] for m in cusres.json()["messages"]] == ["CUSRES", "CUSRES"]
                foreign = await client.post(
                    "/v1/edifact",
                    content=_cusres(_at(samples("customs", recent)[:1], "CLVAP"), "SW2"),
                )
                assert foreign.status_code == 422, foreign.text
                assert [m["reason"] for m in foreign.json()["messages"]] == ["PORT_NOT_OWNED"]
                berman = await client.post(
                    "/v1/edifact",
                    content=_cusres(_at(samples("vessel", recent)[:1], "PECLL"), "SW3"),
                )
                assert berman.status_code == 422, berman.text
                (message,) = berman.json()["messages"]
                assert (message["type"], message["reason"]) == ("BERMAN", "DOMAIN_NOT_ALLOWED")

            # Kafka: its own topic; a Callao event passed on, a Valparaíso one dead-lettered.
            codec = AvroCodec(SchemaRegistryStore(pool))

            async def avro(event: Envelope) -> bytes:
                subject = subject_for(topic(INGEST_CUSTOMS))
                return await codec.encode(subject, schema_text("customs"), to_avro_datum(event))

            own_topic = topic("customs.PE.customs")
            kafka_own = samples("customs", recent)[0].model_copy(
                update={"declaration_id": "118-2026-10-800001"}
            )
            kafka_foreign = _at(samples("customs", recent)[:1], "CLVAP")[0]
            assert await _write(window, own_topic, await avro(kafka_own)) == "delivered"
            assert await _write(window, own_topic, await avro(kafka_foreign)) == "delivered"
            accepted.append(str(kafka_own.event_id))

            async def stored() -> bool:
                rows = await pool.fetchval(
                    "SELECT count(*) FROM ingested_events WHERE port = 'PECLL'"
                )
                return bool(rows == len(accepted) + len(own_cusres))

            await eventually(stored, 60, "the worker to store every Peruvian event")
            rows = await pool.fetch(
                "SELECT event_id::text, domain, port, payload FROM ingested_events ORDER BY domain"
            )
            assert {r["port"] for r in rows} == {"PECLL"}  # nothing of Valparaíso
            assert set(accepted) <= {r["event_id"] for r in rows}
            publishers = {
                r["event_id"]: json.loads(r["payload"])["publisher"] for r in rows if r["payload"]
            }
            assert publishers[str(kafka_own.event_id)] == "kafka:single-window-PE"
            assert publishers[accepted[0]] == "customs-publish:PE/vuce"
            assert sorted(r["domain"] for r in rows) == ["certificate", *["customs"] * 5]

            dead = await read_topic(services.bootstrap, topic(DEADLETTER), 5, timeout_s=30)
            letters = sorted(
                (dict(h)["hub-reason"].decode(), dict(h)["hub-source-topic"].decode())
                for _, h in dead
            )
            assert letters == sorted([
                ("PORT_NOT_OWNED", "http:/v1/events/customs"),
                ("PORT_NOT_OWNED", "http:/v1/events/certificate"),
                ("PORT_NOT_OWNED", "edifact:http:/v1/edifact"),
                ("DOMAIN_NOT_ALLOWED", "edifact:http:/v1/edifact"),
                ("PORT_NOT_OWNED", own_topic),
            ])  # fmt: skip
            counted = await pool.fetch("SELECT domain, reason, events FROM rejected_event_counts")
            assert sorted((r["domain"], r["reason"], r["events"]) for r in counted) == [
                ("certificate", "PORT_NOT_OWNED", 1),
                ("customs", "PORT_NOT_OWNED", 2),
                ("edifact", "DOMAIN_NOT_ALLOWED", 1),
                ("edifact", "PORT_NOT_OWNED", 1),
            ]
            audited = await pool.fetch("SELECT actor, action, target, outcome FROM audit_log")
            assert ("customs-publish:PE/vuce", "events.publish", "vessel",
                    "403 DOMAIN_NOT_ALLOWED") in [tuple(r) for r in audited]  # fmt: skip
        finally:
            await pool.close()

        # The principal reaches nothing but its two topics: the broker refuses the rest, and
        # logs each refusal. (A refused read delivers nothing; aiokafka only logs it.)
        others = [topic(name) for name in ("ports.PECLL.vessel", "customs.CL.customs",
                                           validations_topic("PE"))]  # fmt: skip
        await create_topics(services.bootstrap, dict.fromkeys(others, PARTITIONS))
        await produce(services.bootstrap, others[2], [b'{"certificate_id": "CERT-PE"}'])
        authorizer_start = services.kafka.authorizer_log.stat().st_size
        attempts = {
            ("write", others[0]): await _write(window, others[0], b"x"),
            ("write", others[1]): await _write(window, others[1], b"x"),
            ("write", others[2]): await _write(window, others[2], b"x"),
            ("read", others[2]): await _read(window, others[2], None),
            ("read", own_topic): await _read(window, own_topic, None),
        }
        allowed = {a: o for a, o in attempts.items() if o == "delivered" or o.startswith("read ")}
        assert not allowed, attempts

        async def logged() -> bool:
            denied = _denials(services.kafka.authorizer_log, authorizer_start)
            return all(
                ("User:single-window-PE", f"Topic:LITERAL:{name}") in denied for _, name in attempts
            )

        await eventually(logged, 10, "every refusal to be in the broker's authorizer log")
        stranger = Credentials(window.bootstrap, window.username, "guess")
        assert await _write(stranger, own_topic, b"x") == "KafkaConnectionError"
