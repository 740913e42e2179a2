"""``hub worker``: one faust worker of the hub's consumer group."""

from __future__ import annotations

import asyncio
import gc

import faust
import uvloop

from hub.services import prepare, resolve_endpoints
from hub.settings import HubSettings
from streams.app import create_app


def run_worker(settings: HubSettings, *, prepare_first: bool = True) -> int:
    """Run until SIGTERM/SIGINT. Returns the exit status faust reports."""
    endpoints = resolve_endpoints(settings)
    # faust runs on the loop it is given; preparing on the same loop avoids a second one.
    loop = uvloop.new_event_loop()
    asyncio.set_event_loop(loop)
    if prepare_first:
        loop.run_until_complete(prepare(settings, endpoints))
    app = create_app(settings, endpoints.kafka_bootstrap, endpoints.database_url)
    # The worker allocates many short-lived objects per event and keeps its ports' entities in
    # memory: with CPython's default thresholds (700, 10, 10) the collector ran so often that
    # the KPI state took ~1.5x the time (offline, 30,000 generated events). What is alive now
    # (modules, the app) is frozen out of the collector's sight.
    gc.set_threshold(50_000, 20, 100)
    gc.freeze()
    worker = faust.Worker(app, loop=loop, loglevel=settings.log_level, quiet=True)
    try:
        worker.execute_from_commandline()
    except SystemExit as exit_:
        return int(exit_.code or 0)
    return 0
