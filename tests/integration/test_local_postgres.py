"""The local PostgreSQL cluster: idempotent start, and a stale data folder refused."""

from __future__ import annotations

import shutil
from pathlib import Path

import asyncpg
import pytest

from hub.errors import DatabaseError
from hub.local.postgres import LocalPostgres
from tests.integration.helpers import Services, free_port


async def test_starting_a_running_cluster_again_reuses_it(services: Services) -> None:
    again = LocalPostgres(services.postgres.home.parent, services.postgres.port, "hub_test")
    assert await again.start() is False
    connection = await asyncpg.connect(again.url())
    try:
        assert await connection.fetchval("SELECT current_database()") == "hub_test"
    finally:
        await connection.close()


async def test_a_stale_data_folder_is_refused_not_reinitialised(tmp_path: Path) -> None:
    cluster = LocalPostgres(tmp_path, port=free_port())
    try:
        cluster.data.mkdir(parents=True)
        (cluster.data / "postmaster.opts").write_text("left over\n")
        with pytest.raises(DatabaseError, match="stale PostgreSQL data folder"):
            await cluster.start()
        assert (cluster.data / "postmaster.opts").read_text() == "left over\n"
        assert not cluster.status().running
    finally:
        # As root under a folder `postgres` cannot enter, the cluster lives outside tmp_path.
        shutil.rmtree(cluster.home, ignore_errors=True)
