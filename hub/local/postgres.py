"""A local PostgreSQL cluster under ``<state_dir>/postgres``, for machines without one.

The hub first uses the server that ``DATABASE_URL`` or the ``PG*`` variables point at. With
neither set it runs its own cluster from Debian's ``postgresql`` package (installed with apt-get
when missing and the hub runs as root): ``initdb`` once, then ``pg_ctl start`` on 127.0.0.1 only,
with a generated password kept in ``<state_dir>/postgres/password`` (mode 0600).

PostgreSQL refuses to run as root, so as root the cluster belongs to the ``postgres`` system user
and every server command runs through ``runuser -u postgres``.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import pwd
import secrets
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import asyncpg

from hub.errors import DatabaseError
from hub.local.process import exclusive_lock, port_is_free, run_tool, say, tail

FALLBACK_ROOT = Path("/var/lib/port-hub")
SUPERUSER = "hub"
SERVICE_ACCOUNT = "postgres"
START_TIMEOUT_S = 60


@dataclass(frozen=True, slots=True)
class ClusterStatus:
    running: bool
    port: int
    detail: str


class LocalPostgres:
    """initdb, start, stop and status of the hub's own cluster."""

    def __init__(self, state_dir: Path, port: int = 55432, database: str = "hub") -> None:
        self._as_root = os.geteuid() == 0
        self._state_dir = state_dir
        self._place(state_dir)
        self.port = port
        self.database = database

    def _place(self, state_dir: Path) -> None:
        self.home = self._cluster_home(state_dir)
        self.data = self.home / "data"
        self.log_file = self.home / "server.log"
        self.password_file = self.home / "password"

    def url(self, database: str | None = None) -> str:
        password = quote(self.password_file.read_text().strip(), safe="")
        return (
            f"postgresql://{SUPERUSER}:{password}@127.0.0.1:{self.port}/{database or self.database}"
        )

    # -- public operations -------------------------------------------------------------

    async def start(self) -> bool:
        """Install if needed, initdb once, start unless running, create the database.

        Returns:
            True when this call started the server, False when it was already running.
        """
        if find_server_bindir() is None:
            await asyncio.to_thread(find_or_install_server)
            self._place(self._state_dir)  # the service account exists only from now on
        self.home.mkdir(parents=True, exist_ok=True)
        with exclusive_lock(self.home / ".start.lock"):
            bindir = await asyncio.to_thread(find_or_install_server)
            self._pg_ctl = bindir / "pg_ctl"
            await asyncio.to_thread(self._init_cluster_once, bindir)
            started = False
            if not self._server_running():
                if not port_is_free(self.port):
                    raise DatabaseError(
                        f"port {self.port} (HUB_POSTGRES_PORT) on 127.0.0.1 is already in use "
                        "by another process; stop it or set HUB_POSTGRES_PORT to a free port"
                    )
                await asyncio.to_thread(self._start_server)
                started = True
        await self.create_database(self.database)
        return started

    def stop(self) -> bool:
        """Stop the cluster (fast shutdown). Returns True if it was running."""
        bindir = find_server_bindir()
        if bindir is None or not (self.data / "PG_VERSION").exists():
            return False
        self._pg_ctl = bindir / "pg_ctl"
        if not self._server_running():
            return False
        self._run_as_owner([str(self._pg_ctl), "-D", str(self.data), "-m", "fast", "-w", "stop"])
        return True

    def status(self) -> ClusterStatus:
        bindir = find_server_bindir()
        if bindir is None:
            return ClusterStatus(False, self.port, "PostgreSQL server not installed")
        if not (self.data / "PG_VERSION").exists():
            return ClusterStatus(False, self.port, "no cluster yet")
        self._pg_ctl = bindir / "pg_ctl"
        if self._server_running():
            return ClusterStatus(True, self.port, f"running, data {self.data}")
        return ClusterStatus(False, self.port, "not running")

    async def create_database(self, name: str, *, fresh: bool = False) -> None:
        """Create database ``name`` if missing (``fresh``: drop and create it anew)."""
        connection = await asyncpg.connect(self.url("postgres"), timeout=10)
        try:
            if fresh:
                await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            exists = await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
            if not exists:
                await connection.execute(f'CREATE DATABASE "{name}"')
        finally:
            await connection.close()

    # -- steps ------------------------------------------------------------------------------

    def _cluster_home(self, state_dir: Path) -> Path:
        home = state_dir / "postgres"
        if not self._as_root or _reachable_by_service_account(state_dir):
            return home
        # As root, under a folder the service account cannot enter (a checkout in /root, say):
        # keep the cluster in a system folder of its own, one per state folder.
        digest = hashlib.sha256(str(state_dir.resolve()).encode()).hexdigest()[:12]
        return FALLBACK_ROOT / f"postgres-{digest}"

    def _init_cluster_once(self, bindir: Path) -> None:
        if (self.data / "PG_VERSION").exists():
            if not self.password_file.exists():
                raise DatabaseError(
                    f"stale PostgreSQL data folder {self.data}: its password file "
                    f"{self.password_file} is missing; remove {self.home} "
                    "(`hub services reset`) to start with an empty database"
                )
            return
        if self.data.exists() and any(self.data.iterdir()):
            raise DatabaseError(
                f"stale PostgreSQL data folder {self.data}: it has files but no PG_VERSION; "
                f"remove {self.home} (`hub services reset`) to start with an empty database"
            )
        say(f"creating a PostgreSQL cluster in {self.data}...")
        self.password_file.write_text(secrets.token_urlsafe(24))
        self.password_file.chmod(0o600)
        self.data.mkdir(parents=True, exist_ok=True)
        self.data.chmod(0o700)
        # initdb reads the password from a file the service account can read; removed after.
        password_copy = self.home / ".initdb-password"
        shutil.copyfile(self.password_file, password_copy)
        try:
            if self._as_root:
                self._check_reachable_by_service_account()
                account = pwd.getpwnam(SERVICE_ACCOUNT)
                for path in (self.home, self.data, password_copy):
                    os.chown(path, account.pw_uid, account.pw_gid)
            self._run_as_owner(
                [
                    str(bindir / "initdb"),
                    "-D", str(self.data),
                    "-U", SUPERUSER,
                    f"--pwfile={password_copy}",
                    "--auth-local=scram-sha-256",
                    "--auth-host=scram-sha-256",
                    "-E", "UTF8",
                    "--locale=C.UTF-8",
                ]
            )  # fmt: skip
        finally:
            password_copy.unlink(missing_ok=True)

    def _start_server(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' "
            "-c max_connections=200 -c fsync=on"
        )
        if self._as_root:
            # The log file must be writable by the service account.
            self.log_file.touch()
            account = pwd.getpwnam(SERVICE_ACCOUNT)
            os.chown(self.log_file, account.pw_uid, account.pw_gid)
        try:
            self._run_as_owner(
                [str(self._pg_ctl), "-D", str(self.data), "-l", str(self.log_file),
                 "-o", options, "-w", "-t", str(START_TIMEOUT_S), "start"]
            )  # fmt: skip
        except DatabaseError as error:
            last = " | ".join(line.strip() for line in tail(self.log_file, 3))
            raise DatabaseError(f"{error}; server log: {last}") from None
        say(f"PostgreSQL started on 127.0.0.1:{self.port} (data {self.data})")

    def _server_running(self) -> bool:
        result = subprocess.run(
            [*self._owner_prefix(), str(self._pg_ctl), "-D", str(self.data), "status"],
            capture_output=True,
            text=True,
            check=False,
        )
        return result.returncode == 0

    def _run_as_owner(self, command: list[str]) -> None:
        run_tool(
            [*self._owner_prefix(), *command],
            DatabaseError,
            f"`{Path(command[0]).name}` failed for {self.data}",
        )

    def _owner_prefix(self) -> list[str]:
        return ["runuser", "-u", SERVICE_ACCOUNT, "--"] if self._as_root else []

    def _check_reachable_by_service_account(self) -> None:
        if not _reachable_by_service_account(self.home.parent):
            raise DatabaseError(
                f"the '{SERVICE_ACCOUNT}' system user cannot reach {self.home} (a parent "
                "folder is not searchable); set HUB_STATE_DIR to a folder it can reach, "
                "e.g. /var/lib/port-hub"
            )


def _reachable_by_service_account(folder: Path) -> bool:
    """Whether the ``postgres`` user can enter ``folder`` (or its nearest existing parent)."""
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        pwd.getpwnam(SERVICE_ACCOUNT)
    except KeyError:
        return True  # not installed yet: the package creates the account with the server
    probe = subprocess.run(
        ["runuser", "-u", SERVICE_ACCOUNT, "--", "test", "-x", str(folder)],
        capture_output=True,
        check=False,
    )
    return probe.returncode == 0


def find_server_bindir() -> Path | None:
    """The bin folder of the newest installed PostgreSQL server, if any."""
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/postgres"),
        key=lambda path: int(path.parent.parent.name) if path.parent.parent.name.isdigit() else 0,
    )
    if candidates:
        return candidates[-1].parent
    on_path = shutil.which("postgres")
    if on_path and shutil.which("initdb"):
        return Path(on_path).parent
    return None


def find_or_install_server() -> Path:
    """The server's bin folder, installing Debian's ``postgresql`` package when missing."""
    bindir = find_server_bindir()
    if bindir is not None:
        return bindir
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise DatabaseError(
            "no PostgreSQL server is installed and the hub cannot install it (needs root and "
            "apt-get); install the `postgresql` package or set DATABASE_URL"
        )
    say("installing PostgreSQL with apt-get (first start only)...")
    environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (
        ["apt-get", "update", "-q"],
        ["apt-get", "install", "-y", "-q", "--no-install-recommends", "postgresql"],
    ):
        run_tool(command, DatabaseError, f"`{' '.join(command)}` failed", env=environment)
    bindir = find_server_bindir()
    if bindir is None:
        raise DatabaseError("apt-get installed postgresql but no server binaries were found")
    return bindir
