"""Feedback to each publisher (issue 20, item 2), on the real API, worker, broker and database.

PECLL's refused records — over HTTP (another port's event; a body that is not JSON; a broken
EDIFACT interchange), over Kafka through the gateway (a record that is not Avro) and by the
worker's intake (a retraction of CLVAP's event, which only the store can see is another port's)
— reach PECLL, and PECLL only: in
``GET /v1/feedback`` with its token, and on ``ports.PECLL.feedback`` read with its own SASL
principal on the tenant listener. CLVAP's token and principal are refused PECLL's; the refusals are
counted per publisher and day. A single window's refusal is fed back to its country.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg
from aiokafka import AIOKafkaConsumer

from hub.db.feedback import Feedback, feedback_page, purge_feedback, store_feedback
from hub.db.migrations import migrate
from hub.db.tokens import create_access_token, create_port_token
from hub.kafka_topics import DEADLETTER, PUBLISHER_HEADER
from schemas.models import Envelope, VesselEvent
from tests.integration.helpers import (
    PublisherClient,
    Services,
    api_environment,
    bearer,
    eventually,
    read_topic,
    running_hub,
)
from tests.integration.test_tenants import (
    Credentials,
    _client_settings,
    _denials,
    _hub,
    _read,
    _sasl,
    _write,
)
from tests.samples import samples


def _json(events: list[Envelope]) -> list[dict[str, Any]]:
    return [json.loads(event.model_dump_json()) for event in events]


async def _read_feedback(
    credentials: Credentials, topic: str, group: str, expected: int
) -> list[dict[str, Any]]:
    """The JSON records of ``topic``, read as ``credentials`` in ``group`` (at least
    ``expected`` of them, or what came within 30 s)."""
    consumer = AIOKafkaConsumer(
        topic, group_id=group, auto_offset_reset="earliest", enable_auto_commit=False,
        **_sasl(credentials),
    )  # fmt: skip
    found: list[dict[str, Any]] = []
    await consumer.start()
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(found) < expected:
            batch = await consumer.getmany(timeout_ms=500)
            found += [json.loads(r.value) for rs in batch.values() for r in rs]
    finally:
        await consumer.stop()
    return found


async def test_a_publisher_reads_its_own_refusals_from_every_way_in_and_no_one_else_does(
    services: Services, fresh_database: str, namespace: str, tmp_path: Path
) -> None:
    environment = api_environment(services, fresh_database, namespace, tmp_path) | {
        "HUB_KAFKA_TENANT_BOOTSTRAP": services.kafka.tenant_bootstrap,
    }

    def topic(name: str) -> str:
        return f"{namespace}{name}"

    recent = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
    async with running_hub(environment, tmp_path) as base_url:
        principals: dict[str, Credentials] = {}
        for port in ("PECLL", "CLVAP"):
            added = await asyncio.to_thread(_hub, environment, "tenants", "add-port", port)
            assert added.returncode == 0, added.stderr
            assert f"read topic {topic(f'ports.{port}.feedback')}" in added.stdout + added.stderr
            principals[port] = _client_settings(added.stdout)
        pool = await asyncpg.create_pool(fresh_database, min_size=1, max_size=2)
        try:
            pecll = bearer(await create_port_token(pool, "PECLL", "tests"))
            clvap = bearer(await create_port_token(pool, "CLVAP", "tests"))
            admin = bearer(await create_access_token(pool, "admin"))
            window = bearer(await create_access_token(pool, "customs-publish", "PE", "vuce"))
            async with PublisherClient(base_url=base_url) as client:
                # CLVAP's own vessel event, stored: the one PECLL will try to retract.
                theirs = samples("vessel", recent)[0].model_copy(
                    update={"port": "CLVAP", "port_call_id": "CLVAP-0001"}
                )
                posted = await client.post("/v1/events/vessel", json=_json([theirs]), headers=clvap)
                assert posted.json()["accepted"] == 1, posted.text

                async def stored() -> bool:
                    found = await pool.fetchval(
                        "SELECT 1 FROM ingested_events WHERE event_id = $1", theirs.event_id
                    )
                    return bool(found)

                await eventually(stored, 60, "CLVAP's event stored")

                # 1. HTTP: an event of another port (refused at once) and a body that is no JSON.
                foreign = samples("vessel", recent)[1].model_copy(update={"port": "CLVAP"})
                answer = await client.post(
                    "/v1/events/vessel", json=_json([foreign]), headers=pecll
                )
                assert answer.json()["results"][0]["reason"] == "PORT_NOT_OWNED", answer.text
                broken = await client.post(
                    "/v1/events/vessel", content=b"{\x00 not json", headers=pecll
                )
                assert broken.status_code == 400, broken.text
                # EDIFACT over HTTP: an interchange whose envelope cannot be trusted.
                await client.post(
                    "/v1/edifact", content=b"UNB+UNOC:3+PECLL+HUB'UNH+1+BERMAN'", headers=pecll
                )
                # 2. The worker's intake: a retraction of CLVAP's event, accepted by the API.
                retraction = samples("vessel", recent)[0]
                assert isinstance(retraction, VesselEvent) and retraction.port == "PECLL"
                retraction = retraction.model_copy(
                    update={"event_id": UUID(int=theirs.event_id.int ^ 7),
                            "retracts_event_id": theirs.event_id}
                )  # fmt: skip
                answer = await client.post(
                    "/v1/events/vessel", json=_json([retraction]), headers=pecll
                )
                assert answer.json()["accepted"] == 1, answer.text
                # 3. Kafka through the gateway: a record on its own topic that is not Avro.
                own_topic = topic("ports.PECLL.vessel")
                assert await _write(principals["PECLL"], own_topic, b"not avro") == "delivered"
                # 4. The single window of Peru: a customs event of a Chilean port.
                customs = samples("customs", recent)[0].model_copy(update={"port": "CLVAP"})
                answer = await client.post(
                    "/v1/events/customs", json=_json([customs]), headers=window
                )
                assert answer.json()["results"][0]["reason"] == "PORT_NOT_OWNED", answer.text

                async def fed_back() -> bool:
                    page = await client.get("/v1/feedback", headers=pecll)
                    return page.status_code == 200 and len(page.json()["feedback"]) == 5

                await eventually(fed_back, 60, "PECLL's five refusals fed back")
                page = (await client.get("/v1/feedback", headers=pecll)).json()
                items = page["feedback"]
                assert page["next_cursor"] is None
                assert {item["publisher"] for item in items} == {"PECLL"}
                by_source = {(item["reason"], item["source"].split("/")[0]): item for item in items}
                assert sorted(by_source) == sorted([
                    ("PORT_NOT_OWNED", "http:"),
                    ("UNDECODABLE", "http:"),
                    ("PORT_NOT_OWNED", topic("ingest.vessel")),
                    ("UNDECODABLE", own_topic),
                    ("MALFORMED_INTERCHANGE", "edifact:http:"),
                ])  # fmt: skip
                edifact = by_source[("MALFORMED_INTERCHANGE", "edifact:http:")]
                assert edifact["domain"] == "edifact" and edifact["event_id"] is None
                http_refused = by_source[("PORT_NOT_OWNED", "http:")]
                assert http_refused["event_id"] == str(foreign.event_id)
                assert http_refused["source"] == "http:/v1/events/vessel"
                assert "CLVAP" in http_refused["detail"]
                assert "\x00" not in by_source[("UNDECODABLE", "http:")]["detail"]
                by_worker = by_source[("PORT_NOT_OWNED", topic("ingest.vessel"))]
                assert by_worker["event_id"] == str(retraction.event_id)
                assert by_worker["domain"] == "vessel" and by_worker["offset"] is not None
                by_gateway = by_source[("UNDECODABLE", own_topic)]
                assert by_gateway["topic"] == own_topic and by_gateway["event_id"] is None
                assert isinstance(by_gateway["offset"], int)
                assert all(
                    abs(datetime.fromisoformat(item["refused_at"]) - datetime.now(UTC))
                    < timedelta(minutes=5)
                    for item in items
                )

                # The API's rejected counter has the publisher (the worker's: its unit test).
                metrics = (await client.get("/metrics")).text
                for domain, publisher, reason, number in (
                    ("vessel", "PECLL", "PORT_NOT_OWNED", 1),  # the worker's is not the API's
                    ("vessel", "PECLL", "UNDECODABLE", 2),
                    ("edifact", "PECLL", "MALFORMED_INTERCHANGE", 1),
                    ("customs", "PE", "PORT_NOT_OWNED", 1),
                ):
                    labels = f'domain="{domain}",publisher="{publisher}",reason="{reason}"'
                    assert f"hub_ingest_events_rejected_total{{{labels}}} {number}.0" in metrics

                # Filters and paging; the admin reads anyone's, PECLL's by name.
                only = await client.get(
                    "/v1/feedback", params={"reason": "UNDECODABLE"}, headers=pecll
                )
                assert {i["reason"] for i in only.json()["feedback"]} == {"UNDECODABLE"}
                assert len(only.json()["feedback"]) == 2
                first = (await client.get("/v1/feedback?limit=3", headers=pecll)).json()
                assert len(first["feedback"]) == 3 and first["next_cursor"]
                rest = await client.get(
                    "/v1/feedback", params={"limit": 3, "cursor": first["next_cursor"]},
                    headers=pecll,
                )  # fmt: skip
                paged = [
                    i["source"] + i["reason"] for i in first["feedback"] + rest.json()["feedback"]
                ]
                assert sorted(paged) == sorted(i["source"] + i["reason"] for i in items)
                future = await client.get(
                    "/v1/feedback", params={"since": "2999-01-01T00:00:00Z"}, headers=pecll
                )
                assert future.json()["feedback"] == []
                as_admin = await client.get("/v1/feedback?publisher=PECLL", headers=admin)
                assert len(as_admin.json()["feedback"]) == 5
                everyone = await client.get("/v1/feedback", headers=admin)
                assert {i["publisher"] for i in everyone.json()["feedback"]} == {"PECLL", "PE"}

                # The single window reads its country's refusal, and nothing of PECLL's.
                peru = (await client.get("/v1/feedback", headers=window)).json()["feedback"]
                assert [(i["publisher"], i["reason"], i["domain"]) for i in peru] == [
                    ("PE", "PORT_NOT_OWNED", "customs")
                ]
                assert peru[0]["event_id"] == str(customs.event_id)

                # CLVAP sees none of it, and is refused PECLL's by name.
                assert (await client.get("/v1/feedback", headers=clvap)).json()["feedback"] == []
                refused = await client.get("/v1/feedback?publisher=PECLL", headers=clvap)
                assert refused.status_code == 403, refused.text
                assert (await client.get("/v1/feedback")).status_code == 401
                reader = bearer(await create_access_token(pool, "kpis"))
                assert (await client.get("/v1/feedback", headers=reader)).status_code == 403

                # Hostile query strings: a 4xx naming the problem, never a 500.
                hostile = [
                    "limit=0", "limit=1001", "limit=-1", "limit=1e3", "limit=%C2%B2",
                    "cursor=abc", "cursor=99999999999999999999999", "since=yesterday",
                    "since=%00", "until=0001-01-01T00:00:00%2B05:00", "since=" + "9" * 5000,
                    "reason=NOPE", "reason=%ED%A0%80", "domain=Vessel", "domain=%00",
                    "publisher=pecll", "publisher=PECLL%0A", "publisher=" + "A" * 10000,
                ]  # fmt: skip
                for query in hostile:
                    for headers in (pecll, admin):
                        answer = await client.get(f"/v1/feedback?{query}", headers=headers)
                        assert 400 <= answer.status_code < 500, (query, answer.text)

            # The feedback topic: PECLL reads its own with its principal, in a group of its own.
            records = await _read_feedback(
                principals["PECLL"], topic("ports.PECLL.feedback"),
                topic("port-PECLL.feedback-reader"), 5,
            )  # fmt: skip
            assert len({r["id"] for r in records}) == 5
            assert sorted((r["reason"], r["event_id"]) for r in records) == sorted(
                (i["reason"], i["event_id"]) for i in items
            )
            assert {r["publisher"] for r in records} == {"PECLL"}

            # CLVAP's principal is refused PECLL's feedback; PECLL a group not its own.
            authorizer_start = services.kafka.authorizer_log.stat().st_size
            stolen = await _read(principals["CLVAP"], topic("ports.PECLL.feedback"), None)
            in_other_group = await _read(
                principals["PECLL"], topic("ports.PECLL.feedback"), topic("port-CLVAP.x")
            )
            forged = await _write(
                principals["CLVAP"], topic("ports.PECLL.feedback"), b"forged feedback"
            )
            # Only the hub writes feedback: not even the port its own topic.
            self_written = await _write(
                principals["PECLL"], topic("ports.PECLL.feedback"), b"own feedback"
            )
            # Read: the broker delivers nothing (aiokafka logs the refusal and returns empty).
            assert not stolen.startswith("read"), stolen
            assert not in_other_group.startswith("read"), in_other_group
            assert forged == "TopicAuthorizationFailedError", forged
            assert self_written == "TopicAuthorizationFailedError", self_written
            expected_denials = {
                ("User:port-CLVAP", f"Topic:LITERAL:{topic('ports.PECLL.feedback')}"),
                ("User:port-PECLL", f"Topic:LITERAL:{topic('ports.PECLL.feedback')}"),
                ("User:port-PECLL", f"Group:LITERAL:{topic('port-CLVAP.x')}"),
            }

            async def logged() -> bool:
                denied = _denials(services.kafka.authorizer_log, authorizer_start)
                return expected_denials <= denied

            await eventually(logged, 10, "the refusals in the broker's authorizer log")

            # Counted per publisher and UTC day, besides the totals.
            today = datetime.now(UTC).date()
            counted = await pool.fetch(
                "SELECT publisher, day, domain, reason, events FROM publisher_rejection_counts"
            )
            assert sorted(tuple(r) for r in counted) == sorted([
                ("PECLL", today, "vessel", "PORT_NOT_OWNED", 2),
                ("PECLL", today, "vessel", "UNDECODABLE", 2),
                ("PECLL", today, "edifact", "MALFORMED_INTERCHANGE", 1),
                ("PE", today, "customs", "PORT_NOT_OWNED", 1),
            ])  # fmt: skip
            totals = await pool.fetch("SELECT domain, reason, events FROM rejected_event_counts")
            assert sorted(tuple(r) for r in totals) == sorted([
                ("vessel", "PORT_NOT_OWNED", 2),
                ("vessel", "UNDECODABLE", 2),
                ("edifact", "MALFORMED_INTERCHANGE", 1),
                ("customs", "PORT_NOT_OWNED", 1),
            ])  # fmt: skip
        finally:
            await pool.close()

    # Every dead letter says who sent it.
    letters = await read_topic(services.bootstrap, topic(DEADLETTER), 6, timeout_s=30)
    assert sorted(dict(h)[PUBLISHER_HEADER] for _, h in letters) == sorted([b"PECLL"] * 5 + [b"PE"])


async def test_a_letter_read_again_is_stored_once_and_old_feedback_is_purged(
    fresh_database: str,
) -> None:
    connection = await asyncpg.connect(fresh_database)
    try:
        await migrate(connection)
        now = datetime.now(UTC)
        row = Feedback("PECLL", "vessel", "UNDECODABLE", "not avro", None, "t/0/1", "0/5", now)
        old = Feedback("PECLL", "vessel", "UNDECODABLE", "x", None, "t/0/0", "0/4",
                       now - timedelta(days=31))  # fmt: skip
        assert await store_feedback(connection, [row, old]) == 2
        assert await store_feedback(connection, [row]) == 0  # the same letter read again
        # A topic made anew reuses a place, at another time: a new refusal.
        again = dataclasses.replace(row, refused_at=now + timedelta(seconds=1))
        assert await store_feedback(connection, [again]) == 1
        assert await purge_feedback(connection, 30) == 1
        page = await feedback_page(connection, "PECLL", limit=10)
        assert [(r.letter, r.refused_at) for r in page] == [("0/5", again.refused_at),
                                                             ("0/5", now)]  # fmt: skip
        assert await feedback_page(connection, "CLVAP") == []
    finally:
        await connection.close()
