"""``hub ais replay FILE…`` and ``hub ais listen HOST:PORT``: an AIS feed into the hub."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import time
from datetime import UTC, datetime
from pathlib import Path

from connectors.ais import PortArea, load_port_areas
from hub.errors import ConfigError
from hub.ingest.ais import AisBridge, read_lines
from hub.ingest.core import standalone_ingest_context
from hub.settings import HubSettings

__all__ = ["run_ais_command"]

log = logging.getLogger(__name__)

_PROGRESS_EVERY_S = 10.0
_PUBLISH_EVERY_LINES = 50_000
_RECONNECT_MAX_S = 30.0


def run_ais_command(settings: HubSettings, arguments: argparse.Namespace) -> int:
    try:
        areas = load_port_areas(settings.reference.port_areas_file)
    except ValueError as error:
        raise ConfigError(f"HUB_PORT_AREAS_FILE: {error}") from None
    if arguments.action == "replay":
        for path in arguments.files:
            if not path.is_file():
                raise ConfigError(f"{path} is not a file")
        return asyncio.run(_run(settings, arguments, areas))
    host, _, port = arguments.address.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"{arguments.address!r} is not HOST:PORT")
    if arguments.interval <= 0:
        raise ConfigError("--interval must be positive")
    return asyncio.run(_run(settings, arguments, areas))


async def _run(
    settings: HubSettings, arguments: argparse.Namespace, areas: dict[str, PortArea]
) -> int:
    async with standalone_ingest_context(settings) as context:
        bridge = AisBridge(context, areas)
        if arguments.action == "replay":
            await _replay(bridge, arguments.files)
        else:
            await _listen(bridge, arguments.address, arguments.interval)
    return 0


async def _replay(bridge: AisBridge, files: list[Path]) -> None:
    learnt = await bridge.learn()
    print(f"hub: {learnt} vessel events read, {len(bridge.book)} port calls known", flush=True)
    last_progress = time.monotonic()
    for path in files:
        for line in read_lines(path):
            bridge.take(line)
            if bridge.lines % _PUBLISH_EVERY_LINES == 0:
                await bridge.learn()
                await bridge.publish()
            if time.monotonic() - last_progress > _PROGRESS_EVERY_S:
                print(f"hub: {path.name}: {bridge.lines:,} lines", flush=True)
                last_progress = time.monotonic()
    bridge.finish_feed()
    await bridge.learn()
    await bridge.publish(final=True)
    print(f"hub: {bridge.report().summary()}")


async def _listen(bridge: AisBridge, address: str, interval: float) -> None:
    """Follow the feed until SIGINT or SIGTERM, reconnecting when it drops; publish every
    ``interval`` seconds and once more when stopped."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signal_number, stop.set)
    print(f"hub: listening to the AIS feed at {address} (Ctrl-C stops)", flush=True)
    tasks = [
        asyncio.create_task(_read_feed(bridge, address)),
        asyncio.create_task(_publish_forever(bridge, interval)),
    ]
    try:
        await stop.wait()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        bridge.finish_feed()
        await bridge.learn()
        await bridge.publish(final=True)
        print(f"hub: {bridge.report().summary()}", flush=True)


async def _read_feed(bridge: AisBridge, address: str) -> None:
    host, _, port = address.rpartition(":")
    delay = 1.0
    while True:
        try:
            reader, writer = await asyncio.open_connection(host, int(port))
        except OSError as error:
            log.warning("AIS feed %s unreachable (%s); again in %.0f s", address, error, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, _RECONNECT_MAX_S)
            continue
        delay = 1.0
        try:
            while line := await reader.readline():
                bridge.take(line.decode("ascii", errors="replace"), datetime.now(UTC))
        except OSError as error:
            log.warning("AIS feed %s failed (%s); reconnecting", address, error)
        finally:
            writer.close()
        log.warning("AIS feed %s closed the connection; reconnecting", address)
        await asyncio.sleep(delay)


async def _publish_forever(bridge: AisBridge, interval: float) -> None:
    while True:
        await asyncio.sleep(interval)
        await bridge.learn()
        published = await bridge.publish()
        if published:
            log.info("AIS: %d events published; %s", published, bridge.report().summary())
