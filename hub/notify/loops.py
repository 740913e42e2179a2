"""The two background loops of the API process's readers (webhook notifier, feedback forwarder):
starting a consumer once the broker answers, and running a loop again when it fails."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from aiokafka import AIOKafkaConsumer

log = logging.getLogger(__name__)

RESTART_WAIT_S = 5.0
"""The pause before starting a consumer or a loop again."""


async def start_when_reachable(consumer: AIOKafkaConsumer, who: str) -> None:
    """Start ``consumer``, waiting for the broker while it is away (the API starts anyway)."""
    while True:
        try:
            await consumer.start()
            return
        except Exception as error:  # the broker away at start: wait for it
            log.warning("%s cannot reach the broker yet: %s", who, error)
            await asyncio.sleep(RESTART_WAIT_S)


async def run_again(loop: Callable[[], Awaitable[None]], name: str) -> None:
    """Run ``loop()`` again (after a pause) whenever it fails unexpectedly: a defect in one
    loop must not end the API's notifications or feedback for good."""
    while True:
        try:
            await loop()
        except Exception:
            log.exception("the %s failed; starting it again", name)
            await asyncio.sleep(RESTART_WAIT_S)
