"""The main job: broker, database, topics, one worker, the HTTP API and the traffic generator.

``hub run`` brings everything up in that order and stops everything it started, in reverse
order, on Ctrl-C (SIGINT) or SIGTERM. On the hub's own local PostgreSQL it also makes sure the
development dashboard token exists (``hub/dev_credentials.py``) and prints the dashboard's
address with it. If the worker or the API dies, the whole job stops with a
non-zero status rather than limping on half-alive.
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

import asyncpg
import uvicorn

from hub.api.app import HEADER_BUFFER_BYTES, create_api
from hub.db import store
from hub.dev_credentials import dashboard_url, ensure_dashboard_token, uses_local_postgres
from hub.errors import ConfigError, ServiceError
from hub.generate import run_generator
from hub.local.process import port_is_free, say
from hub.services import Endpoints, connect, ensure_services, prepare
from hub.settings import HubSettings, env_name

log = logging.getLogger(__name__)

WORKER_JOIN_TIMEOUT_S = 90.0
WORKER_STOP_GRACE_S = 20.0
_PR_SET_PDEATHSIG = 1


async def run_main_job(settings: HubSettings) -> int:
    """Run until stopped. Returns the process exit status."""
    _check_http_port_free(settings)
    began = time.monotonic()
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    endpoints, started = await ensure_services(settings)
    worker: asyncio.subprocess.Process | None = None
    try:
        await prepare(settings, endpoints)
        dashboard_token = await _dev_dashboard_token(settings, endpoints)
        worker = await _spawn_worker(settings, endpoints)
        return await _serve(settings, endpoints, worker, began, dashboard_token)
    finally:
        if worker is not None:
            await _stop_worker(worker)
        if started.names:
            _say(f"stopping {' and '.join(reversed(started.names))} (started by this run)")
            await asyncio.to_thread(started.stop)
        _say("stopped")


async def _serve(
    settings: HubSettings,
    endpoints: Endpoints,
    worker: asyncio.subprocess.Process,
    began: float,
    dashboard_token: str | None,
) -> int:
    stop = asyncio.Event()
    api = create_api(settings, endpoints.kafka_bootstrap, endpoints.database_url)
    server = uvicorn.Server(
        uvicorn.Config(
            api,
            host=settings.http_host,
            port=settings.http_port,
            log_level="warning",
            lifespan="on",
            h11_max_incomplete_event_size=HEADER_BUFFER_BYTES,  # oversized headers: 431, not reset
        )
    )
    server_task = asyncio.create_task(server.serve(), name="http-api")
    worker_exit = asyncio.create_task(worker.wait(), name="worker")
    generator_task: asyncio.Task[int] | None = None
    try:
        await _wait_for_worker(settings, endpoints, worker.pid, worker_exit)
        if settings.generator_enabled:
            generator_task = asyncio.create_task(
                run_generator(settings, endpoints, stop), name="traffic-generator"
            )
        base = f"http://{settings.http_host}:{settings.http_port}"
        traffic = f"on at {settings.generator_rate:g} events/s" if generator_task else "off"
        _say(
            f"up in {time.monotonic() - began:.0f} s: API {base} (GET /health, GET /v1/ports, "
            f"POST /v1/events/{{domain}}, schema registry {base}/registry, "
            f"/docs); {_dashboard_hint(settings, dashboard_token)}; "
            f"traffic generator {traffic}; Ctrl-C stops"
        )
        return await _until_first_exit(stop, worker, server_task, worker_exit, generator_task)
    finally:
        stop.set()
        server.should_exit = True
        for task in (generator_task, server_task):
            if task is not None:
                with contextlib.suppress(Exception, asyncio.CancelledError):
                    await asyncio.wait_for(task, 10)
        worker_exit.cancel()


async def _until_first_exit(
    stop: asyncio.Event,
    worker: asyncio.subprocess.Process,
    server_task: asyncio.Task[None],
    worker_exit: asyncio.Task[int],
    generator_task: asyncio.Task[int] | None,
) -> int:
    """Wait for a signal or for any part to end. Returns the job's exit status."""
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    stop_wait = asyncio.create_task(stop.wait(), name="signal")
    watched: set[asyncio.Task[object]] = {server_task, worker_exit, stop_wait}
    if generator_task is not None:
        watched.add(generator_task)
    try:
        done, _ = await asyncio.wait(watched, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
        stop_wait.cancel()
    if stop_wait in done:
        _say("stopping (signal received)")
        return 0
    if worker_exit in done:
        _say(f"the worker exited with status {worker.returncode}; stopping everything")
    elif server_task in done:
        _say("the HTTP API stopped unexpectedly; stopping everything")
    elif generator_task is not None and generator_task in done:
        _say(f"the traffic generator ended ({generator_task.exception()}); stopping everything")
    return 1


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
    for field in ("http_port", "worker_metrics_port"):
        port: int = getattr(settings, field)
        if port and not port_is_free(port, settings.http_host):
            raise ConfigError(
                f"port {port} ({env_name(field)}) on {settings.http_host} is already in use; "
                f"stop what holds it or set {env_name(field)}"
            )


async def _spawn_worker(settings: HubSettings, endpoints: Endpoints) -> asyncio.subprocess.Process:
    environment = dict(os.environ)
    environment[env_name("kafka_bootstrap")] = endpoints.kafka_bootstrap
    if endpoints.database_url is not None:
        environment[env_name("database_url")] = endpoints.database_url
    environment[env_name("state_dir")] = str(settings.state_dir)
    log_file = settings.state_dir / "worker.log"
    _say(f"starting the worker (log {log_file})")
    with log_file.open("ab") as log_handle:
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


async def _wait_for_worker(
    settings: HubSettings, endpoints: Endpoints, pid: int, worker_exit: asyncio.Task[int]
) -> None:
    deadline = time.monotonic() + WORKER_JOIN_TIMEOUT_S
    pool = await asyncpg.create_pool(endpoints.database_url, min_size=1, max_size=1)
    try:
        while time.monotonic() < deadline:
            if worker_exit.done():
                raise ServiceError(
                    f"the worker exited with status {worker_exit.result()} during start; "
                    f"see {settings.state_dir / 'worker.log'}"
                )
            workers = await store.live_workers(pool, settings.worker_heartbeat_s * 3)
            if any(row["pid"] == pid for row in workers):
                _say("worker joined")
                return
            await asyncio.sleep(0.5)
    finally:
        await pool.close()
    raise ServiceError(
        f"the worker sent no heartbeat within {WORKER_JOIN_TIMEOUT_S:.0f} s; "
        f"see {settings.state_dir / 'worker.log'}"
    )


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
