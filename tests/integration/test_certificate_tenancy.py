"""A port acts only on what is its own (issue 16, items 6 and 8), through the real broker,
worker, database and HTTP API.

PECLL (Peru) tries to take over a certificate CLVAP (Chile) submitted, by submitting the same
``certificate_id`` for Peru and by retracting CLVAP's submission; CLVAP tries to retract a PECLL
vessel event. Each attempt is accepted over HTTP (its token is the port's own) and refused by
the worker, which needs the store to see whose the named certificate or event is: dead-lettered
with its reason, counted, and nothing of it stored. Customs read only versions for their country.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

import asyncpg
import httpx
import pytest

from hub.db.events import IngestedEvent, record_events
from hub.db.migrations import migrate
from hub.db.tokens import create_access_token, create_port_token
from hub.domain.certificates.document import Party
from hub.kafka_topics import (
    DEADLETTER,
    DEADLETTER_DETAIL_HEADER,
    DEADLETTER_REASON_HEADER,
    DEADLETTER_SOURCE_HEADER,
    INGEST_TOPICS,
)
from schemas.models import Envelope, VesselEvent
from streams.certificate_stage import certificate_keys, update_verdicts
from streams.kpi_stage import stored_keys
from tests.integration.helpers import (
    Services,
    api_environment,
    bearer,
    eventually,
    read_topic,
    running_api,
    start_hub,
    stop_process,
    worker_started,
)
from tests.integration.test_certificates import IMPORTER, cod, lodged, submission
from tests.samples import samples

CERTIFICATE = "AR-A35-2026-TENANCY"
CHILEAN_IMPORTER = Party("Importadora del Pacifico SpA", "CL76123456K", "CL")


@dataclass(frozen=True, slots=True)
class Hub:
    pool: asyncpg.Pool
    client: httpx.AsyncClient
    bootstrap: str
    namespace: str

    async def post(self, domain: str, event: Envelope, token: str) -> None:
        """Publish ``event`` over HTTP; the API accepts it (the refusals here are the worker's)."""
        answer = await self.client.post(
            f"/v1/events/{domain}",
            json=[json.loads(event.model_dump_json())],
            headers=bearer(token),
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["results"][0]["status"] == "accepted", answer.text

    async def refusals(self, domain: str) -> dict[str, int]:
        rows = await self.pool.fetch(
            "SELECT reason, events FROM rejected_event_counts WHERE domain = $1", domain
        )
        return {row["reason"]: row["events"] for row in rows}

    async def dead_letters(self, domain: str, expected: int) -> list[tuple[str, str]]:
        """(reason, detail) of the worker's dead letters from ``domain``'s ingest topic."""
        source = f"{self.namespace}{INGEST_TOPICS[domain]}".encode()
        found = await read_topic(self.bootstrap, f"{self.namespace}{DEADLETTER}", expected)
        return [
            (dict(h)[DEADLETTER_REASON_HEADER].decode(), dict(h)[DEADLETTER_DETAIL_HEADER].decode())
            for _, h in found
            if dict(h).get(DEADLETTER_SOURCE_HEADER) == source
        ]

    async def stored(self, event_id: UUID) -> bool:
        found = await self.pool.fetchval(
            "SELECT 1 FROM ingested_events WHERE event_id = $1", event_id
        )
        return bool(found)


@pytest.fixture
async def hub(
    services: Services, fresh_database: str, namespace: str, tmp_path: Path
) -> AsyncIterator[Hub]:
    """A worker and an API on a fresh database."""
    environment = api_environment(services, fresh_database, namespace, tmp_path)
    worker = start_hub(["worker"], environment, tmp_path / "worker.log")
    pool = await asyncpg.create_pool(fresh_database, min_size=1, max_size=4)
    try:
        await eventually(lambda: worker_started(pool), 90, "the worker's start")
        async with running_api(environment, tmp_path / "api.log") as client:
            yield Hub(pool, client, services.bootstrap, namespace)
    finally:
        await pool.close()
        stop_process(worker, signal.SIGTERM, 30)


async def test_a_port_cannot_take_over_another_countrys_certificate(hub: Hub) -> None:
    clvap = await create_port_token(hub.pool, "CLVAP", "tests")
    pecll = await create_port_token(hub.pool, "PECLL", "tests")
    customs_cl = bearer(await create_access_token(hub.pool, "customs", "CL"))
    customs_pe = bearer(await create_access_token(hub.pool, "customs", "PE"))
    admin = bearer(await create_access_token(hub.pool, "admin"))
    read = f"/v1/validations/{CERTIFICATE}"

    async def history(headers: dict[str, str]) -> tuple[int, list[tuple[int, str, str]]]:
        """The status of a read and (version, importing country, submission) of each version."""
        answer = await hub.client.get(read, headers=headers)
        if answer.status_code != 200:
            return answer.status_code, []
        versions = answer.json()["versions"]
        assert answer.json()["latest"] == versions[-1]
        return 200, [
            (v["version"], v["importing_country"], v["submission_event_id"]) for v in versions
        ]

    chile = cod(CERTIFICATE, agreement="A35", importer=CHILEAN_IMPORTER)
    held = submission(chile, importing="CL", agreement="A35", port="CLVAP")
    await hub.post("certificate", held, clvap)

    async def read_by_chile() -> bool:
        return (await history(customs_cl))[0] == 200

    await eventually(read_by_chile, 60, "CL customs reading CLVAP's certificate")
    assert await history(customs_pe) == (403, [])

    # PECLL: the same id for Peru, published later; then a retraction of CLVAP's submission.
    later = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)
    peru = cod(CERTIFICATE, importer=IMPORTER)
    takeover = submission(peru, port="PECLL", occurred_at=later, published_at=later)
    retraction = submission(
        peru, port="PECLL", occurred_at=later, published_at=later, retracts_event_id=held.event_id
    )
    await hub.post("certificate", takeover, pecll)
    await hub.post("certificate", retraction, pecll)

    async def both_refused() -> bool:
        counted = await hub.refusals("certificate")
        return counted.get("CERTIFICATE_ID_TAKEN") == 1 and counted.get("PORT_NOT_OWNED") == 1

    await eventually(both_refused, 60, "both refusals counted")
    dead = await hub.dead_letters("certificate", 2)
    assert sorted(reason for reason, _ in dead) == ["CERTIFICATE_ID_TAKEN", "PORT_NOT_OWNED"]
    assert all("CLVAP" not in detail for _, detail in dead)  # the holder is not named
    assert not await hub.stored(takeover.event_id)
    assert not await hub.stored(retraction.event_id)

    # Chile still reads its certificate, as CLVAP submitted it; Peru still may not.
    assert await history(customs_cl) == (200, [(1, "CL", str(held.event_id))])
    assert await history(customs_pe) == (403, [])

    # The holder itself may re-submit, here for Peru: each version is read only by customs of
    # its own importing country, in the history and on the stream.
    for_peru = submission(peru, port="CLVAP", occurred_at=later, published_at=later)
    await hub.post("certificate", for_peru, clvap)

    async def second_version() -> bool:
        return len((await history(admin))[1]) == 2

    await eventually(second_version, 60, "the holder's second version")
    first, second = (1, "CL", str(held.event_id)), (2, "PE", str(for_peru.event_id))
    assert await history(admin) == (200, [first, second])
    assert await history(customs_cl) == (200, [first])
    assert await history(customs_pe) == (200, [second])
    assert await streamed(hub, customs_cl) == [(1, "CL")]
    assert await streamed(hub, customs_pe) == [(2, "PE")]


async def test_a_port_cannot_retract_another_ports_event(hub: Hub) -> None:
    clvap = await create_port_token(hub.pool, "CLVAP", "tests")
    pecll = await create_port_token(hub.pool, "PECLL", "tests")
    recent = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
    theirs = samples("vessel", recent)[0]
    assert isinstance(theirs, VesselEvent) and theirs.port == "PECLL"
    await hub.post("vessel", theirs, pecll)
    own = theirs.model_copy(update={"event_id": UUID(int=theirs.event_id.int ^ 1),
                                    "port": "CLVAP", "port_call_id": "CLVAP-0001"})  # fmt: skip
    await hub.post("vessel", own, clvap)

    async def stored_both() -> bool:
        return await hub.stored(theirs.event_id) and await hub.stored(own.event_id)

    await eventually(stored_both, 60, "both ports' vessel events stored")
    foreign = own.model_copy(
        update={"event_id": UUID(int=own.event_id.int ^ 2), "retracts_event_id": theirs.event_id}
    )
    correction = own.model_copy(
        update={"event_id": UUID(int=own.event_id.int ^ 4), "retracts_event_id": own.event_id}
    )
    await hub.post("vessel", foreign, clvap)
    await hub.post("vessel", correction, clvap)

    async def refused_and_corrected() -> bool:
        counted = await hub.refusals("vessel")
        return counted.get("PORT_NOT_OWNED") == 1 and await hub.stored(correction.event_id)

    await eventually(refused_and_corrected, 60, "the foreign retraction refused")
    dead = await hub.dead_letters("vessel", 1)
    assert [reason for reason, _ in dead] == ["PORT_NOT_OWNED"]
    assert str(theirs.event_id) in dead[0][1]
    assert not await hub.stored(foreign.event_id)
    assert await hub.refusals("vessel") == {"PORT_NOT_OWNED": 1}


async def test_foreign_events_stored_before_the_refusals_never_change_a_certificate(
    fresh_database: str,
) -> None:
    """Defence in depth, for events recorded before the worker refused them (or by two workers
    racing): the certificate stage counts only the holder's submissions and same-port
    retractions."""
    connection = await asyncpg.connect(fresh_database)
    try:
        await migrate(connection)
    finally:
        await connection.close()
    pool = await asyncpg.create_pool(fresh_database, min_size=1, max_size=2)
    try:
        held = submission(
            cod(CERTIFICATE, agreement="A35", importer=CHILEAN_IMPORTER),
            importing="CL", agreement="A35", port="CLVAP",
        )  # fmt: skip
        later = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)
        peru = cod(CERTIFICATE, importer=IMPORTER)
        takeover = submission(peru, port="PECLL", occurred_at=later, published_at=later)
        retraction = lodged(CERTIFICATE, port="PECLL", retracts_event_id=held.event_id)
        await record(pool, "certificate", [held])
        await record(pool, "certificate", [takeover])
        await record(pool, "customs", [retraction])
        verdicts = await update_verdicts(pool, [held, takeover, retraction], 180)
        assert [(v.importing_country, v.body["submission_event_id"]) for v in verdicts] == [
            ("CL", str(held.event_id))
        ]
        # The declaration itself counts (the rules judge it: its port is not in Chile).
        assert verdicts[0].body["declarations"] == [f"PECLL/DEC-{CERTIFICATE}"]
    finally:
        await pool.close()


async def record(pool: asyncpg.Pool, domain: str, events: list[Envelope]) -> None:
    """Store ``events`` as the worker's intake does, past its refusals."""
    await record_events(
        pool,
        [
            IngestedEvent(
                event_id=e.event_id, domain=domain, event_type=e.event_type, port=e.port,
                occurred_at=e.occurred_at, payload=e.model_dump_json(),
                entity_keys=stored_keys(e) + certificate_keys(e),
            )
            for e in events
        ],
    )  # fmt: skip


async def streamed(hub: Hub, headers: dict[str, str]) -> list[tuple[int, str]]:
    """(version, importing country) of the verdicts ``/v1/validations/stream`` replays to
    ``headers``' customs from the start (whatever arrives within 3 s)."""
    received: list[tuple[int, str]] = []

    async def listen() -> None:
        async with hub.client.stream(
            "GET", "/v1/validations/stream", params={"after": 0}, headers=headers, timeout=None
        ) as stream:
            assert stream.status_code == 200
            async for line in stream.aiter_lines():
                if line.startswith("data: "):
                    verdict = json.loads(line.removeprefix("data: "))
                    received.append((verdict["version"], verdict["importing_country"]))

    listener = asyncio.create_task(listen())
    await asyncio.sleep(3)
    listener.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await listener
    return received
