"""The development dashboard token: no manual credential step for ``hub run`` on a laptop.

When the main job runs on the hub's own local PostgreSQL (no ``DATABASE_URL``, no ``PG*``
variables), it makes sure a read:kpis token exists for the dashboard: created at the first start,
kept in ``HUB_STATE_DIR/dev-credentials.json`` (mode 0600, inside the ignored state folder; the
database keeps only its SHA-256, as for every token) and used again at later starts while the
database still honours it; a token that was revoked, expired or lost with a reset database is
replaced. The main job prints the dashboard's address with the token in its fragment
(``/dashboard/#token=…``), which browsers never send to the server.

With any other database (production) nothing is generated: an operator creates reader tokens
with ``hub tokens add-reader``.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg

from hub.db import audit
from hub.db.tokens import access_grant_for, create_access_token
from hub.services import pg_variables_set
from hub.settings import HubSettings

__all__ = [
    "DEV_CREDENTIALS_FILE",
    "DEV_TOKEN_LABEL",
    "dashboard_url",
    "dev_credentials_path",
    "ensure_dashboard_token",
    "uses_local_postgres",
]

DEV_CREDENTIALS_FILE = "dev-credentials.json"
DEV_TOKEN_LABEL = "dev-dashboard"
# Like the tokens of `hub tokens add-*` by default; a later start replaces an expired one.
DEV_TOKEN_VALIDITY = timedelta(days=365)
_FILE_MODE = 0o600


def uses_local_postgres(settings: HubSettings) -> bool:
    """Whether the hub runs on its own local PostgreSQL (the rule of ``hub/services.py``)."""
    return settings.database.url is None and not pg_variables_set()


def dev_credentials_path(settings: HubSettings) -> Path:
    return settings.state_dir / DEV_CREDENTIALS_FILE


def dashboard_url(settings: HubSettings, token: str | None = None) -> str:
    """The dashboard's address, with ``token`` in the fragment when given."""
    url = f"http://{settings.api.http_host}:{settings.api.http_port}/dashboard/"
    return f"{url}#token={token}" if token else url


async def ensure_dashboard_token(
    settings: HubSettings, connection: asyncpg.Connection | asyncpg.Pool
) -> str:
    """The development dashboard token of ``dev-credentials.json`` if the database still honours
    it as a read:kpis token, else a new one (written to the file, its creation audited)."""
    path = dev_credentials_path(settings)
    token = _saved_token(path)
    if token is not None:
        grant = await access_grant_for(connection, token)
        if grant is not None and grant.scope == "kpis":
            os.chmod(path, _FILE_MODE)  # in case it was loosened by hand
            return token
    expires_at = datetime.now(UTC) + DEV_TOKEN_VALIDITY
    token = await create_access_token(connection, "kpis", "", DEV_TOKEN_LABEL, expires_at)
    _write_private(path, {"dashboard_token": token})
    await audit.record(
        connection,
        audit.cli_actor(),
        "tokens.add-reader",
        f"/{DEV_TOKEN_LABEL}",
        f"created (until {expires_at:%Y-%m-%d %H:%M} UTC) by hub run, kept in {path}",
    )
    return token


def _saved_token(path: Path) -> str | None:
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # absent or damaged: a new one is made
    token = saved.get("dashboard_token") if isinstance(saved, dict) else None
    return token if isinstance(token, str) and token else None


def _write_private(path: Path, content: dict[str, str]) -> None:
    """Write ``content`` as JSON readable by its owner only, replacing the file atomically (never
    a moment where the secret sits in a file of wider mode)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.unlink(missing_ok=True)
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _FILE_MODE)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump(content, handle, indent=2)
        handle.write("\n")
    os.chmod(partial, _FILE_MODE)  # the umask may have taken bits away, never added: be exact
    os.replace(partial, path)
