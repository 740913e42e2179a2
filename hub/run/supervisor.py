"""The main job: broker, database, topics, one worker, the HTTP API and the traffic generator.

``hub run`` brings everything up in that order and stops everything it started, in reverse
order, on Ctrl-C (SIGINT) or SIGTERM. On the hub's own local PostgreSQL it also makes sure the
development dashboard token exists (``hub/run/dev_credentials.py``) and prints the dashboard's
address with it.

A worker that dies is started again while the API and the broker keep running, so publishers
are never refused meanwhile: after 1 s, then twice as long after each death up to 30 s, and
after 1 s again once a worker has run 60 s after joining (its first heartbeat). The whole job
stops with a non-zero status, rather than limping on half-alive, only if the worker exits
before joining 5 times in a row, sends no heartbeat within 90 s of its start, or the API dies.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import signal
import sys
import time
from typing import Any

import asyncpg
import uvicorn

from hub.api.app import HEADER_BUFFER_BYTES, KEEP_ALIVE_S, SHUTDOWN_GRACE_S, create_api
from hub.db.workers import live_workers
from hub.errors import ConfigError, ServiceError
from hub.local.process import port_is_free, say
from hub.run.dev_credentials import dashboard_url, ensure_dashboard_token, uses_local_postgres
from hub.run.generate import run_generator
from hub.services import Endpoints, connect, ensure_services, prepare
from hub.settings import HubSettings, env_name, setting_value

log = logging.getLogger(__name__)

WORKER_JOIN_TIMEOUT_S = 90.0
WORKER_STOP_GRACE_S = 20.0
# A dead worker is started again after RESTART_DELAY_MIN_S, doubled after each death up to
# RESTART_DELAY_MAX_S; a worker that ran WORKER_HEALTHY_S after joining earns the short delay again.
RESTART_DELAY_MIN_S = 1.0
RESTART_DELAY_MAX_S = 30.0
WORKER_HEALTHY_S = 60.0
# This many exits in a row before joining: the worker cannot start (configuration, code), and
# starting it again would only hide why.
WORKER_START_ATTEMPTS = 5
_HEARTBEAT_QUERY_TIMEOUT_S = 5.0
_PR_SET_PDEATHSIG = 1


async def run_main_job(settings: HubSettings) -> int:
    """Run until stopped. Returns the process exit status."""
    _check_http_port_free(settings)
    began = time.monotonic()
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    endpoints, started = await ensure_services(settings)
    worker: _Worker | None = None
    try:
        await prepare(settings, endpoints)
        dashboard_token = await _dev_dashboard_token(settings, endpoints)
        worker = _Worker(settings, endpoints)
        return await _serve(settings, endpoints, worker, began, dashboard_token)
    finally:
        if worker is not None:
            await worker.stop()
        if started.names:
            _say(f"stopping {' and '.join(reversed(started.names))} (started by this run)")
            await asyncio.to_thread(started.stop)
        _say("stopped")


class _Worker:
    """The job's worker process, started again whenever it dies (see the module docstring)."""

    def __init__(self, settings: HubSettings, endpoints: Endpoints) -> None:
        self.settings = settings
        self.endpoints = endpoints
        self.process: asyncio.subprocess.Process | None = None
        self.joined = asyncio.Event()
        """Set once the first worker has joined."""
        self.task: asyncio.Task[None] | None = None
        self._log_file = settings.state_dir / "worker.log"

    def start(self) -> asyncio.Task[None]:
        self.task = asyncio.create_task(self._keep_running(), name="worker")
        return self.task

    async def stop(self) -> None:
        """No more restarts; the running worker, if any, is stopped (SIGTERM, then SIGKILL)."""
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await self.task
        if self.process is not None:
            await _stop_worker(self.process)

    async def _keep_running(self) -> None:
        """Never returns; raises ``ServiceError`` when the worker cannot be started."""
        delay = RESTART_DELAY_MIN_S
        restarts = failed_starts = 0
        # No connection until the first poll: PostgreSQL may be restarting when a worker dies.
        pool = await asyncpg.create_pool(self.endpoints.database_url, min_size=0, max_size=1)
        try:
            while True:
                if restarts == 0:
                    _say(f"starting the worker (log {self._log_file})")
                await self._spawn()
                assert self.process is not None
                exit_task = asyncio.ensure_future(self.process.wait())
                try:
                    joined = await self._wait_for_join(pool, self.process.pid, exit_task)
                    joined_at = time.monotonic()
                    if joined:
                        _say("worker joined" + (f" (restart {restarts})" if restarts else ""))
                        self.joined.set()
                    status = await exit_task
                finally:
                    exit_task.cancel()
                if not joined:
                    failed_starts += 1
                    if failed_starts >= WORKER_START_ATTEMPTS:
                        raise ServiceError(
                            f"the worker exited before joining {failed_starts} times in a row "
                            f"(last status {_describe(status)}); see {self._log_file}"
                        )
                else:
                    failed_starts = 0
                    if time.monotonic() - joined_at >= WORKER_HEALTHY_S:
                        delay = RESTART_DELAY_MIN_S
                restarts += 1
                _say(
                    f"the worker exited with status {_describe(status)}; "
                    f"restarting in {delay:g} s (restart {restarts})"
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, RESTART_DELAY_MAX_S)
        finally:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(pool.close(), _HEARTBEAT_QUERY_TIMEOUT_S)

    async def _spawn(self) -> None:
        spawning = asyncio.ensure_future(_spawn_worker(self.settings, self.endpoints))
        try:
            self.process = await asyncio.shield(spawning)
        except asyncio.CancelledError:
            # Stopped while a worker is being started: keep hold of it, so that stop() ends it.
            with contextlib.suppress(Exception):
                self.process = await spawning
            raise

    async def _wait_for_join(
        self, pool: asyncpg.Pool, pid: int, exit_task: asyncio.Future[int]
    ) -> bool:
        """True once worker ``pid`` heartbeats, False if it exits first."""
        deadline = time.monotonic() + WORKER_JOIN_TIMEOUT_S
        while time.monotonic() < deadline:
            if exit_task.done():
                return False
            if await _heartbeating(pool, pid, self.settings.worker.heartbeat_s * 3):
                return True
            await asyncio.wait({exit_task}, timeout=0.5)
        raise ServiceError(
            f"the worker sent no heartbeat within {WORKER_JOIN_TIMEOUT_S:.0f} s; "
            f"see {self._log_file}"
        )


async def _heartbeating(pool: asyncpg.Pool, pid: int, within_s: float) -> bool:
    try:
        workers = await asyncio.wait_for(live_workers(pool, within_s), _HEARTBEAT_QUERY_TIMEOUT_S)
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
        # PostgreSQL restarting or not migrated yet: the next poll asks again.
        log.debug("worker heartbeats not read: %s", error)
        return False
    return any(row["pid"] == pid for row in workers)


def _describe(status: int) -> str:
    """An exit status as asyncio reports it; a negative one is the signal that ended it."""
    if status < 0:
        with contextlib.suppress(ValueError):
            return f"{status} ({signal.Signals(-status).name})"
    return str(status)


async def _serve(
    settings: HubSettings,
    endpoints: Endpoints,
    worker: _Worker,
    began: float,
    dashboard_token: str | None,
) -> int:
    stop = asyncio.Event()
    worker_task = worker.start()
    api = create_api(settings, endpoints.kafka_bootstrap, endpoints.database_url)
    server = uvicorn.Server(
        uvicorn.Config(
            api,
            host=settings.api.http_host,
            port=settings.api.http_port,
            log_level="warning",
            lifespan="on",
            h11_max_incomplete_event_size=HEADER_BUFFER_BYTES,  # oversized headers: 431, not reset
            timeout_keep_alive=KEEP_ALIVE_S,
            timeout_graceful_shutdown=SHUTDOWN_GRACE_S,
        )
    )
    server_task = asyncio.create_task(server.serve(), name="http-api")
    # uvicorn takes SIGINT and SIGTERM for itself as it starts (and gives them back as it stops):
    # ours come after, so that a signal stops everything in order, not the API alone.
    await asyncio.sleep(0)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    stop_wait = asyncio.create_task(stop.wait(), name="signal")
    joined = asyncio.create_task(worker.joined.wait(), name="worker-joined")
    generator_task: asyncio.Task[int] | None = None
    try:
        status = await _until_first_exit(stop_wait, server_task, worker_task, None, joined)
        if status is not None:
            return status
        if settings.generator.enabled:
            generator_task = asyncio.create_task(
                run_generator(settings, endpoints, stop), name="traffic-generator"
            )
        base = f"http://{settings.api.http_host}:{settings.api.http_port}"
        traffic = f"on at {settings.generator.rate:g} events/s" if generator_task else "off"
        _say(
            f"up in {time.monotonic() - began:.0f} s: API {base} (GET /health, GET /v1/ports, "
            f"POST /v1/events/{{domain}}, schema registry {base}/registry, "
            f"/docs); {_dashboard_hint(settings, dashboard_token)}; "
            f"traffic generator {traffic}; Ctrl-C stops"
        )
        status = await _until_first_exit(stop_wait, server_task, worker_task, generator_task)
        return 1 if status is None else status
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
        stop_wait.cancel()
        joined.cancel()
        stop.set()
        server.should_exit = True
        for task in (generator_task, server_task):
            if task is not None:
                with contextlib.suppress(Exception, asyncio.CancelledError):
                    await asyncio.wait_for(task, 10)


async def _until_first_exit(
    stop_wait: asyncio.Task[bool],
    server_task: asyncio.Task[None],
    worker_task: asyncio.Task[None],
    generator_task: asyncio.Task[int] | None,
    joined: asyncio.Task[bool] | None = None,
) -> int | None:
    """Wait for a signal, for a part to end or for ``joined``. Returns the job's exit status,
    or None if ``joined`` came first."""
    watched: set[asyncio.Task[Any]] = {stop_wait, server_task, worker_task}
    watched |= {task for task in (generator_task, joined) if task is not None}
    done, _ = await asyncio.wait(watched, return_when=asyncio.FIRST_COMPLETED)
    if stop_wait in done:
        _say("stopping (signal received)")
        return 0
    if worker_task in done:
        # The worker keeps being restarted: this task ends only when that is hopeless.
        error = None if worker_task.cancelled() else worker_task.exception()
        reason = (
            str(error) if isinstance(error, ServiceError) else f"worker restarts failed: {error!r}"
        )
        _say(f"{reason}; stopping everything")
        return 1
    if server_task in done:
        _say("the HTTP API stopped unexpectedly; stopping everything")
        return 1
    if generator_task is not None and generator_task in done:
        _say(f"the traffic generator ended ({generator_task.exception()}); stopping everything")
        return 1
    return None


async def _dev_dashboard_token(settings: HubSettings, endpoints: Endpoints) -> str | None:
    """The development dashboard token on the hub's own PostgreSQL; None on any other."""
    if not uses_local_postgres(settings):
        return None
    connection = await connect(endpoints.database_url)
    try:
        return await ensure_dashboard_token(settings, connection)
    finally:
        await connection.close()


def _dashboard_hint(settings: HubSettings, token: str | None) -> str:
    if token is not None:
        return f"dashboard {dashboard_url(settings, token)}"
    return (
        f"dashboard {dashboard_url(settings)} needs a read:kpis token: create one with "
        f"`hub tokens add-reader` and open {dashboard_url(settings, 'TOKEN')}"
    )


def _check_http_port_free(settings: HubSettings) -> None:
    """The API's port and the worker's metrics port, before anything starts."""
    for path in ("api.http_port", "worker.metrics_port"):
        port: int = setting_value(settings, path)
        if port and not port_is_free(port, settings.api.http_host):
            raise ConfigError(
                f"port {port} ({env_name(path)}) on {settings.api.http_host} is already in use; "
                f"stop what holds it or set {env_name(path)}"
            )


async def _spawn_worker(settings: HubSettings, endpoints: Endpoints) -> asyncio.subprocess.Process:
    environment = dict(os.environ)
    environment[env_name("kafka.bootstrap")] = endpoints.kafka_bootstrap
    if endpoints.database_url is not None:
        environment[env_name("database.url")] = endpoints.database_url
    environment[env_name("state_dir")] = str(settings.state_dir)
    with (settings.state_dir / "worker.log").open("ab") as log_handle:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "hub", "worker", "--skip-prepare",
            env=environment,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=log_handle,
            stderr=asyncio.subprocess.STDOUT,
            preexec_fn=_die_with_parent,
        )  # fmt: skip


def _die_with_parent() -> None:
    # If the main job is killed outright, its worker must not live on as an orphan consumer.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    os.setpgrp()  # Ctrl-C reaches the main job only; it stops the worker in order.


async def _stop_worker(worker: asyncio.subprocess.Process) -> None:
    if worker.returncode is not None:
        return
    _say("stopping the worker")
    worker.terminate()
    try:
        await asyncio.wait_for(worker.wait(), WORKER_STOP_GRACE_S)
    except TimeoutError:
        worker.kill()
        await worker.wait()


def _say(message: str) -> None:
    say(message)
