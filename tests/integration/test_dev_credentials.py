"""The development dashboard token of `hub run` on the hub's own PostgreSQL
(``hub/run/dev_credentials.py``): made once, kept in a file only its owner reads, used again while the
database honours it, replaced when it does not; none with an external database."""

from __future__ import annotations

import json
import stat
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from hub.db.migrations import migrate
from hub.db.tokens import token_digest
from hub.run.dev_credentials import DEV_TOKEN_LABEL, dev_credentials_path, ensure_dashboard_token
from hub.run.supervisor import _dev_dashboard_token
from hub.services import PG_VARIABLES, Endpoints
from hub.settings import HubSettings, load_settings


@pytest.fixture
async def connection(fresh_database: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(fresh_database)
    await migrate(connection)
    yield connection
    await connection.close()


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def _dashboard_tokens(connection: asyncpg.Connection) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await connection.fetch(
        "SELECT token_sha256, label, revoked_at FROM access_tokens WHERE scope = 'kpis' "
        "ORDER BY created_at"
    )
    return rows


async def test_the_token_is_made_once_kept_private_and_used_again(
    connection: asyncpg.Connection, tmp_path: Path
) -> None:
    settings = load_settings({}, state_dir=tmp_path / "state")
    path = dev_credentials_path(settings)
    assert path == tmp_path / "state" / "dev-credentials.json"

    first = await ensure_dashboard_token(settings, connection)
    assert first.startswith("hubk_")
    assert json.loads(path.read_text()) == {"dashboard_token": first}
    assert _mode(path) == 0o600
    [row] = await _dashboard_tokens(connection)
    assert row["token_sha256"] == token_digest(first) and row["label"] == DEV_TOKEN_LABEL
    assert not list(path.parent.glob("*.partial"))

    inode = path.stat().st_ino
    again = await ensure_dashboard_token(settings, connection)
    assert again == first and path.stat().st_ino == inode  # used again, not rewritten
    assert len(await _dashboard_tokens(connection)) == 1

    path.chmod(0o644)  # loosened by hand: tightened again
    assert await ensure_dashboard_token(settings, connection) == first
    assert _mode(path) == 0o600

    # Revoked (`hub tokens revoke-reader`): a new one replaces it in the file and the database.
    await connection.execute("UPDATE access_tokens SET revoked_at = now() WHERE scope = 'kpis'")
    replaced = await ensure_dashboard_token(settings, connection)
    assert replaced != first and replaced.startswith("hubk_")
    assert json.loads(path.read_text()) == {"dashboard_token": replaced}
    assert _mode(path) == 0o600
    rows = await _dashboard_tokens(connection)
    assert [r["revoked_at"] is None for r in rows] == [False, True]

    # A damaged file: a new token too.
    path.write_text("{not json")
    fresh = await ensure_dashboard_token(settings, connection)
    assert fresh not in (first, replaced) and _mode(path) == 0o600

    audited = await connection.fetch("SELECT action, target FROM audit_log ORDER BY id")
    assert [(r["action"], r["target"]) for r in audited] == [
        ("tokens.add-reader", f"/{DEV_TOKEN_LABEL}")
    ] * 3


async def test_a_token_of_another_scope_in_the_file_is_not_used(
    connection: asyncpg.Connection, tmp_path: Path
) -> None:
    settings = load_settings({}, state_dir=tmp_path)
    from hub.db.tokens import create_access_token

    admin = await create_access_token(connection, "admin", "", "ops")
    dev_credentials_path(settings).write_text(json.dumps({"dashboard_token": admin}))
    token = await ensure_dashboard_token(settings, connection)
    assert token != admin and token.startswith("hubk_")


@pytest.mark.parametrize("external", [False, True])
async def test_the_main_job_makes_one_only_on_its_own_postgres(
    connection: asyncpg.Connection,
    fresh_database: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    external: bool,
) -> None:
    for name in PG_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    settings: HubSettings = load_settings(
        {}, state_dir=tmp_path, database={"url": fresh_database if external else None}
    )
    # The local cluster's URL as ensure_services finds it; here the test database plays it.
    token = await _dev_dashboard_token(settings, Endpoints("127.0.0.1:1", fresh_database))
    if external:
        assert token is None
        assert not dev_credentials_path(settings).exists()
        assert await _dashboard_tokens(connection) == []
    else:
        assert token is not None and token.startswith("hubk_")
        assert json.loads(dev_credentials_path(settings).read_text())["dashboard_token"] == token
