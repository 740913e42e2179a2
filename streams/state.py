"""What a worker knows outside faust: the database pool, the codec, the ports, its counters."""

from __future__ import annotations

import asyncio
import os
import socket
from datetime import UTC, datetime

import asyncpg

from hub.db.ports import port_berths
from hub.services import schema_source
from hub.settings import HubSettings
from schemas.codec import AvroCodec


class WorkerState:
    """What the worker knows outside faust: the database pool, the codec, its counters."""

    def __init__(self, settings: HubSettings, database_url: str | None) -> None:
        self.settings = settings
        self.database_url = database_url
        self.started_at = datetime.now(UTC)
        self.instance = f"{socket.gethostname()}:{os.getpid()}"
        self.events_in = 0
        self.known_ports: frozenset[str] = frozenset()
        self.berths: dict[str, int | None] = {}
        self._pool: asyncpg.Pool | None = None
        self._pool_lock = asyncio.Lock()
        self._codec: AvroCodec | None = None

    async def pool(self) -> asyncpg.Pool:
        async with self._pool_lock:  # the intake and the timers all ask at start
            if self._pool is None:
                pool = await asyncpg.create_pool(
                    self.database_url, min_size=1, max_size=6, command_timeout=30
                )
                try:
                    berths = await port_berths(pool)
                except BaseException:
                    await pool.close()
                    raise
                self.known_ports = frozenset(berths)
                # In place: the KPI stage holds this mapping.
                self.berths.clear()
                self.berths.update(berths)
                self._pool = pool
            return self._pool

    async def codec(self) -> AvroCodec:
        if self._codec is None:
            self._codec = AvroCodec(schema_source(self.settings, await self.pool()))
        return self._codec
