"""Signed webhooks through the real broker, worker, API and PostgreSQL, to a real HTTP receiver
on 127.0.0.1 (issue 19 item 3): exactly the filtered notifications, each signed, none lost
across a receiver outage or a restart of the API; a subscription paused after its failures,
resumed; secret rotation; owners that never cross."""

from __future__ import annotations

import asyncio
import json
import signal
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from aiohttp import web

from hub.db.tokens import create_access_token, create_port_token
from hub.notify.signing import verify
from schemas.models import (
    Classifier,
    CustomsEvent,
    CustomsKind,
    Envelope,
    Facility,
    Operation,
    VesselEvent,
)
from tests.integration.helpers import (
    Services,
    api_answering,
    api_environment,
    bearer,
    eventually,
    produce,
    publish_events,
    start_hub,
    stop_process,
    worker_started,
)

OTHER_PORT = "PAMIT"
BRAZILIAN_PORT = "BRSSZ"
# Short retries, so that outages and pauses play out in seconds.
WEBHOOK_SETTINGS = {
    "HUB_WEBHOOK_ALLOW_PRIVATE": "on",  # the receiver is on 127.0.0.1
    "HUB_WEBHOOK_RETRY_BASE_S": "0.2",
    "HUB_WEBHOOK_RETRY_MAX_S": "1",
    "HUB_WEBHOOK_POLL_S": "0.1",
    "HUB_WEBHOOK_TIMEOUT_S": "3",
    "HUB_WEBHOOK_REFRESH_S": "1",
}


@dataclass
class Received:
    path: str
    status: int
    request_id: str
    signature: str
    body: bytes

    @property
    def event_id(self) -> str:
        return str(json.loads(self.body)["data"]["event_id"])


@dataclass
class Receiver:
    """An HTTP server on 127.0.0.1 that records every request; a path fails (500) while it is
    in ``failing``, or for its next ``fail_next[path]`` requests."""

    base: str = ""
    received: list[Received] = field(default_factory=list)
    failing: set[str] = field(default_factory=set)
    fail_next: Counter[str] = field(default_factory=Counter)

    async def handle(self, request: web.Request) -> web.Response:
        path = request.path
        failed = path in self.failing or self.fail_next[path] > 0
        if self.fail_next[path] > 0:
            self.fail_next[path] -= 1
        status = 500 if failed else 200
        self.received.append(
            Received(
                path,
                status,
                request.headers.get("Request-Id", ""),
                request.headers.get("Notification-Signature", ""),
                await request.read(),
            )
        )
        return web.Response(status=status, text="no" if failed else "ok")

    def delivered(self, path: str) -> list[Received]:
        return [r for r in self.received if r.path == path and r.status == 200]

    def failed(self, path: str) -> list[Received]:
        return [r for r in self.received if r.path == path and r.status != 200]


@asynccontextmanager
async def receiving() -> AsyncIterator[Receiver]:
    receiver = Receiver()
    app = web.Application()
    app.router.add_post("/{tail:.*}", receiver.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    receiver.base = f"http://127.0.0.1:{port}"
    try:
        yield receiver
    finally:
        await runner.cleanup()


def vessel(port: str, classifier: Classifier, operation: Operation = Operation.ARRI) -> Envelope:
    at = datetime.now(UTC) - timedelta(minutes=5)
    return VesselEvent(
        event_id=uuid.uuid4(),
        occurred_at=at,
        published_at=at + timedelta(seconds=1),
        port=port,
        port_call_id=f"{port}-{uuid.uuid4().hex[:6]}",
        imo="9074729",
        classifier=classifier,
        operation=operation,
        facility=Facility.PORT,
    )


def customs_event(port: str) -> CustomsEvent:
    at = datetime.now(UTC) - timedelta(minutes=5)
    return CustomsEvent(
        event_id=uuid.uuid4(),
        occurred_at=at,
        published_at=at + timedelta(seconds=1),
        port=port,
        declaration_id=f"D-{port}-{uuid.uuid4().hex[:6]}",
        kind=CustomsKind.RELEASED,
    )


def verdict_of(country: str) -> dict[str, Any]:
    """A verdict as the worker publishes it on ``validations.<country>``."""
    return {
        "certificate_id": f"C-{country}",
        "importing_country": country,
        "exporting_country": "AR",
        "outcome": "VALID",
        "failed": [],
        "rules": [],
        "document_sha256": "0" * 64,
        "declarations": [],
        "submission_event_id": None,
        "version": 1,
        "issued_at": datetime.now(UTC).isoformat(),
    }


def ids(events: list[Envelope]) -> set[str]:
    return {str(event.event_id) for event in events}


def check_signed(
    deliveries: list[Received], secret: str, kind: str = "org.portcommunity.hub.event.vessel."
) -> None:
    """Every delivery is signed with ``secret``, its Request-Id is its CloudEvent's id and its
    type starts with ``kind``."""
    for delivery in deliveries:
        assert verify(secret, delivery.body, delivery.signature), delivery.signature
        body = json.loads(delivery.body)
        assert body["specversion"] == "1.0" and body["id"] == delivery.request_id
        assert body["type"].startswith(kind)


async def subscribe(client: httpx.AsyncClient, token: str, **body: Any) -> dict[str, Any]:
    answer = await client.post("/v1/webhooks", json=body, headers=bearer(token))
    assert answer.status_code == 201, answer.text
    created: dict[str, Any] = answer.json()
    return created


async def test_a_receiver_gets_exactly_its_notifications_signed_and_none_is_lost(
    services: Services, fresh_database: str, namespace: str, tmp_path: Path
) -> None:
    environment = api_environment(services, fresh_database, namespace, tmp_path)
    environment |= WEBHOOK_SETTINGS | {"HUB_WEBHOOK_PAUSE_AFTER": "1000"}
    base_url = f"http://127.0.0.1:{environment['HUB_HTTP_PORT']}"
    api = start_hub(["api"], environment, tmp_path / "api.log")
    worker = None
    pool = await asyncpg.create_pool(fresh_database, min_size=1, max_size=2)
    try:
        async with receiving() as receiver, httpx.AsyncClient(base_url=base_url) as client:
            await api_answering(client)
            worker = start_hub(["worker"], environment, tmp_path / "worker.log")
            await eventually(lambda: worker_started(pool), 90, "the worker to start")
            reader = await create_access_token(pool, "kpis", "", "partner")
            only_ata = await subscribe(
                client,
                reader,
                callback_url=f"{receiver.base}/ata",
                kinds=["events"],
                ports=["PECLL"],
                event_types=["vessel.ata"],
            )
            everything = await subscribe(
                client,
                reader,
                callback_url=f"{receiver.base}/all",
                kinds=["events"],
                ports=["PECLL", OTHER_PORT],
            )
            kpis = await subscribe(
                client,
                reader,
                callback_url=f"{receiver.base}/kpis",
                kinds=["kpis"],
                ports=["PECLL"],
            )
            assert only_ata["secret"] != everything["secret"]
            receiver.fail_next["/all"] = 3  # a receiver that fails a while, then recovers

            # Two ports, two types: only PECLL's actual arrivals are for /ata.
            kinds = [
                (port, classifier)
                for port in ("PECLL", OTHER_PORT)
                for classifier in (Classifier.ACT, Classifier.EST)
                for _ in range(2)
            ]
            events = [vessel(port, classifier) for port, classifier in kinds]
            await publish_events(services.bootstrap, pool, namespace, events)
            wanted = [
                e
                for e, kind in zip(events, kinds, strict=True)
                if kind == ("PECLL", Classifier.ACT)
            ]

            async def all_arrived() -> bool:
                got = {r.event_id for r in receiver.delivered("/all")}
                return got >= ids(events) and {r.event_id for r in receiver.delivered("/ata")} >= (
                    ids(wanted)
                )

            await eventually(all_arrived, 60, "every notification to arrive")
            await asyncio.sleep(2)  # anything more would be a fault: give it time to show
            ata = receiver.delivered("/ata")
            assert sorted(r.event_id for r in ata) == sorted(ids(wanted))
            assert {r.event_id for r in receiver.delivered("/all")} == ids(events)
            assert len(receiver.failed("/all")) == 3
            check_signed(ata, only_ata["secret"])
            check_signed(receiver.delivered("/all"), everything["secret"])
            assert not any(verify(everything["secret"], r.body, r.signature) for r in ata)
            # The worker's KPI values of PECLL's calls (open ones: only arrivals so far).
            await eventually(
                lambda: asyncio.sleep(0, bool(receiver.delivered("/kpis"))),
                60,
                "a KPI notification",
            )
            check_signed(receiver.delivered("/kpis"), kpis["secret"], "org.portcommunity.hub.kpi")
            kpi_data = [json.loads(r.body)["data"] for r in receiver.delivered("/kpis")]
            assert {value["port"] for value in kpi_data} == {"PECLL"}
            calls = {str(e.port_call_id) for e in wanted + events if isinstance(e, VesselEvent)}
            assert {value["entity_id"].split("/")[-1] for value in kpi_data} <= calls
            request_ids = [r.request_id for r in receiver.delivered("/all")]
            assert len(set(request_ids)) == len(request_ids) == len(events)
            # A retry carries the Request-Id of its first attempt.
            assert {r.request_id for r in receiver.failed("/all")} <= set(request_ids)

            # A restart of the API with deliveries pending: none is lost, none changes its id.
            receiver.failing.add("/all")
            before_stop = [vessel("PECLL", Classifier.EST) for _ in range(4)]
            await publish_events(services.bootstrap, pool, namespace, before_stop)
            mine = f"/v1/webhooks/{everything['id']}"

            async def pending_and_tried() -> bool:
                state = (await client.get(mine, headers=bearer(reader))).json()
                return bool(state["pending"] >= 4 and state["failures"] >= 4)

            await eventually(pending_and_tried, 30, "the new notifications to be pending")
            stop_process(api, signal.SIGTERM, 30)  # uvicorn ends by re-raising it: -15
            while_down = [vessel(OTHER_PORT, Classifier.ACT) for _ in range(2)]
            await publish_events(services.bootstrap, pool, namespace, while_down)
            receiver.failing.clear()
            api = start_hub(["api"], environment, tmp_path / "api-again.log")
            await api_answering(client)
            later = ids(before_stop + while_down)

            async def after_restart() -> bool:
                return {r.event_id for r in receiver.delivered("/all")} >= later

            await eventually(after_restart, 60, "the pending notifications after the restart")
            await asyncio.sleep(1)
            delivered = receiver.delivered("/all")
            assert Counter(r.event_id for r in delivered if r.event_id in later) == Counter(
                dict.fromkeys(later, 1)
            )
            check_signed(delivered, everything["secret"])
            failed_ids = {r.request_id for r in receiver.failed("/all")}
            assert failed_ids <= {r.request_id for r in delivered}
            assert not {r.event_id for r in receiver.delivered("/ata")} & later
            listed = (await client.get("/v1/webhooks", headers=bearer(reader))).json()
            states = {s["id"]: s for s in listed["subscriptions"]}
            assert set(states) == {only_ata["id"], everything["id"], kpis["id"]}
            assert states[everything["id"]]["pending"] == 0
            assert states[everything["id"]]["status"] == "active"
            assert states[everything["id"]]["last_delivery_at"] is not None
            assert "secret" not in states[everything["id"]]
    finally:
        await pool.close()
        stop_process(api, signal.SIGTERM, 30)
        if worker is not None:
            stop_process(worker, signal.SIGTERM, 30)


async def test_pause_resume_rotation_and_owners(
    services: Services, fresh_database: str, namespace: str, tmp_path: Path
) -> None:
    environment = api_environment(services, fresh_database, namespace, tmp_path)
    environment |= WEBHOOK_SETTINGS | {"HUB_WEBHOOK_PAUSE_AFTER": "3"}
    base_url = f"http://127.0.0.1:{environment['HUB_HTTP_PORT']}"
    api = start_hub(["api"], environment, tmp_path / "api.log")
    pool = await asyncpg.create_pool(fresh_database, min_size=1, max_size=2)
    try:
        async with receiving() as receiver, httpx.AsyncClient(base_url=base_url) as client:
            await api_answering(client)
            port = await create_port_token(pool, "PECLL", "terminal")
            other_port = await create_port_token(pool, OTHER_PORT, "terminal")
            customs = await create_access_token(pool, "customs", "PE", "aduana")
            reader = await create_access_token(pool, "kpis", "", "partner")
            url = f"{receiver.base}/port"

            # Who may subscribe to what.
            assert (
                await client.post("/v1/webhooks", json={"callback_url": url})
            ).status_code == 401
            refusals = [
                (port, {"callback_url": url, "ports": [OTHER_PORT]}, 403),
                (port, {"callback_url": url, "kinds": ["verdicts"]}, 403),
                (customs, {"callback_url": url, "kinds": ["verdicts"], "countries": ["BR"]}, 403),
                (customs, {"callback_url": url, "kinds": ["kpis"]}, 403),
                (customs, {"callback_url": url, "ports": [OTHER_PORT]}, 403),
                (reader, {"callback_url": url, "kinds": ["verdicts"]}, 403),
                (port, {"callback_url": "ftp://example.org/x"}, 422),
                (port, {"callback_url": url, "ports": ["XXXXX"]}, 422),
                (port, {"callback_url": url, "event_types": ["vessel.bogus"]}, 422),
                (port, {"callback_url": url, "surprise": 1}, 422),
            ]
            for token, body, status in refusals:
                answer = await client.post("/v1/webhooks", json=body, headers=bearer(token))
                assert answer.status_code == status, (body, answer.text)
                assert answer.json()["detail"]
            bad_json = await client.post(
                "/v1/webhooks", content=b"{", headers=bearer(port) | {"content-type": "x"}
            )
            assert bad_json.status_code == 422
            peru = await subscribe(
                client,
                customs,
                callback_url=f"{receiver.base}/customs",
                kinds=["verdicts", "events"],
            )
            assert peru["countries"] == ["PE"] and peru["event_types"] == ["customs.*"]
            assert peru["ports"] and all(p.startswith("PE") for p in peru["ports"])

            # Customs get their country's verdicts and its ports' customs events, nothing else.
            for country in ("PE", "BR"):
                record = json.dumps(verdict_of(country)).encode()
                await produce(services.bootstrap, f"{namespace}validations.{country}", [record])
            released = [customs_event("PEPAI"), customs_event(BRAZILIAN_PORT)]
            others = [vessel("PEPAI", Classifier.ACT)]  # a PE port, not a customs event
            await publish_events(services.bootstrap, pool, namespace, released + others)

            async def customs_got_two() -> bool:
                return len(receiver.delivered("/customs")) >= 2

            await eventually(customs_got_two, 30, "the customs notifications")
            await asyncio.sleep(2)  # anything more would be a fault: give it time to show
            got = [json.loads(r.body) for r in receiver.delivered("/customs")]
            assert sorted(body["type"] for body in got) == [
                "org.portcommunity.hub.event.customs.released",
                "org.portcommunity.hub.verdict",
            ]
            assert {body["subject"] for body in got} == {"C-PE", released[0].declaration_id}
            for delivery in receiver.delivered("/customs"):
                assert verify(peru["secret"], delivery.body, delivery.signature)

            mine = await subscribe(client, port, callback_url=url)
            assert mine["ports"] == ["PECLL"] and mine["kinds"] == ["events", "kpis"]
            path = f"/v1/webhooks/{mine['id']}"

            # Another owner sees nothing of it and cannot touch it.
            for token in (other_port, customs, reader):
                assert (await client.get(path, headers=bearer(token))).status_code == 404
                assert (await client.delete(path, headers=bearer(token))).status_code == 404
                assert (
                    await client.post(f"{path}/rotate-secret", headers=bearer(token))
                ).status_code == 404
                listed = (await client.get("/v1/webhooks", headers=bearer(token))).json()
                assert mine["id"] not in {s["id"] for s in listed["subscriptions"]}
            assert (
                await client.get("/v1/webhooks/not-a-uuid", headers=bearer(port))
            ).status_code == 404

            # A receiver that keeps failing: paused after 3 failures, visible to its owner.
            receiver.failing.add("/port")
            first = [vessel("PECLL", Classifier.ACT)]
            await publish_events(services.bootstrap, pool, namespace, first)

            async def paused() -> bool:
                return bool(
                    (await client.get(path, headers=bearer(port))).json()["status"] == "paused"
                )

            await eventually(paused, 30, "the subscription to be paused")
            state = (await client.get(path, headers=bearer(port))).json()
            assert state["failures"] == 3 and state["pending"] == 1
            assert "HTTP 500" in state["last_error"]
            tries = len(receiver.failed("/port"))
            assert tries == 3
            # Paused: nothing is sent, but what arrives meanwhile is kept.
            during = [vessel("PECLL", Classifier.EST)]
            await publish_events(services.bootstrap, pool, namespace, during)

            async def kept() -> bool:
                return bool((await client.get(path, headers=bearer(port))).json()["pending"] == 2)

            await eventually(kept, 30, "the paused subscription to keep its notification")
            assert len(receiver.failed("/port")) == tries and not receiver.delivered("/port")

            # Resumed: everything kept arrives.
            receiver.failing.clear()
            resumed = await client.post(f"{path}/resume", headers=bearer(port))
            assert resumed.status_code == 200 and resumed.json()["status"] == "active"

            async def both() -> bool:
                return {r.event_id for r in receiver.delivered("/port")} == ids(first + during)

            await eventually(both, 30, "the kept notifications after resume")
            check_signed(receiver.delivered("/port"), mine["secret"])
            state = (await client.get(path, headers=bearer(port))).json()
            assert state["failures"] == 0 and state["pending"] == 0

            # Rotation: what is sent from now on is signed with the new secret only.
            rotated = await client.post(f"{path}/rotate-secret", headers=bearer(port))
            assert rotated.status_code == 200
            secret = rotated.json()["secret"]
            assert secret != mine["secret"]
            after = [vessel("PECLL", Classifier.ACT, Operation.DEPA)]
            await publish_events(services.bootstrap, pool, namespace, after)

            async def rotated_one() -> bool:
                return any(r.event_id in ids(after) for r in receiver.delivered("/port"))

            await eventually(rotated_one, 30, "a notification after the rotation")
            last = [r for r in receiver.delivered("/port") if r.event_id in ids(after)]
            check_signed(last, secret)
            assert not verify(mine["secret"], last[0].body, last[0].signature)

            # The owner deletes it; the other port's token never could.
            assert (await client.delete(path, headers=bearer(port))).status_code == 204
            assert (await client.get(path, headers=bearer(port))).status_code == 404
            assert (await client.get("/v1/webhooks", headers=bearer(port))).json() == {
                "subscriptions": []
            }
            actions = await pool.fetch(
                "SELECT action, outcome FROM audit_log WHERE action LIKE 'webhooks.%' ORDER BY id"
            )
            assert ("webhooks.create", "201 created") in [tuple(r) for r in actions]
            assert ("webhooks.delete", "204 deleted") in [tuple(r) for r in actions]
    finally:
        await pool.close()
        stop_process(api, signal.SIGTERM, 30)
