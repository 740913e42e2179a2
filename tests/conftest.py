"""Real Kafka and PostgreSQL for the integration and browser tests, started once per session.

The tests run their own local broker and cluster under ``.hub/test-services`` on ports of their
own, so that a hub started with ``hub run`` on the same machine is neither used nor disturbed.
What the session started, it stops at the end; what was already running, it leaves running.
Every test run uses fresh databases and a topic namespace of its own.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from aiokafka.admin import AIOKafkaAdminClient

from hub.local.kafka import LocalKafka
from hub.local.postgres import LocalPostgres
from hub.local.process import port_is_free
from tests.integration.helpers import (
    TEST_KAFKA_CONTROLLER_PORT,
    TEST_KAFKA_PORT,
    TEST_KAFKA_TENANT_PORT,
    TEST_POSTGRES_PORT,
    TEST_STATE_DIR,
    Services,
    free_port,
)


@pytest.fixture(scope="session")
async def services() -> AsyncIterator[Services]:
    kafka = LocalKafka(
        TEST_STATE_DIR,
        TEST_KAFKA_PORT,
        TEST_KAFKA_CONTROLLER_PORT,
        heap_mb=512,
        tenant_port=TEST_KAFKA_TENANT_PORT,
    )
    if not kafka.status().running and not _free(
        kafka.port, kafka.controller_port, kafka.tenant_port
    ):
        # Something else (another checkout's tests, say) holds the usual ports: use free ones.
        kafka = LocalKafka(
            TEST_STATE_DIR, free_port(), free_port(), heap_mb=512, tenant_port=free_port()
        )
    postgres = LocalPostgres(TEST_STATE_DIR, TEST_POSTGRES_PORT, database="hub_test")
    if not postgres.status().running and not _free(postgres.port):
        postgres = LocalPostgres(TEST_STATE_DIR, free_port(), database="hub_test")
    started: list[LocalKafka | LocalPostgres] = []
    try:
        if await kafka.start():
            started.append(kafka)
        if await postgres.start():
            started.append(postgres)
        yield Services(kafka, postgres, uuid.uuid4().hex[:8])
    finally:
        for service in reversed(started):
            await asyncio.to_thread(service.stop)


def _free(*ports: int) -> bool:
    return all(port_is_free(port) for port in ports)


@pytest.fixture
async def fresh_database(services: Services) -> AsyncIterator[str]:
    """The URL of a new, empty database, dropped after the test."""
    name = f"hub_t_{uuid.uuid4().hex[:10]}"
    await services.postgres.create_database(name, fresh=True)
    try:
        yield services.database_url(name)
    finally:
        connection = await asyncpg.connect(services.database_url("postgres"))
        try:
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await connection.close()


@pytest.fixture
async def namespace(services: Services) -> AsyncIterator[str]:
    """A topic namespace no other test uses; its topics are deleted after the test, so that the
    test broker (kept between runs) does not pile up thousands of partitions."""
    name = f"t{services.run_id}-{uuid.uuid4().hex[:6]}."
    yield name
    admin = AIOKafkaAdminClient(bootstrap_servers=services.bootstrap)
    await admin.start()
    try:
        mine = [topic for topic in await admin.list_topics() if topic.startswith(name)]
        if mine:
            await admin.delete_topics(mine)
    finally:
        await admin.close()
