"""What the worker does when something fails: one named policy per kind of failure.

Like quixstreams' ``error_callbacks.py``, each policy is a function, and each says when it
applies. The ground rule behind them: a batch's offsets are committed once it is handled, and
a record is never skipped. A failure therefore either waits (:func:`retry_transient`), turns
into a refusal of the one record at fault (:func:`dead_letter`, :func:`record_or_refuse`), or
ends the process before the offsets are committed (:func:`fail_stop`). The timers (heartbeat,
lag, indicators) are best effort: they log and skip their turn (:data:`DATABASE_ERRORS`,
:data:`PUBLISH_ERRORS`).
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import Any, NoReturn, TypeVar
from uuid import UUID

import asyncpg
from aiokafka.errors import KafkaError
from faust.exceptions import FaustError

from hub.db.events import IngestedEvent, record_events
from schemas.registry_client import SchemaRegistryClientError
from schemas.rejections import Rejected, RejectReason
from streams.sinks.base import Sink
from streams.sinks.records import dead_letter_record

log = logging.getLogger(__name__)
T = TypeVar("T")

# Retry delays grow to this; the batch is not acked meanwhile, so nothing is lost while
# PostgreSQL or the registry restarts.
RETRY_MAX_DELAY_S = 10.0
_RETRY_FIRST_DELAY_S = 0.25
# The exit status of a fail-stop (EX_SOFTWARE): the supervisor restarts the worker.
FAIL_STOP_STATUS = 70

TRANSIENT_ERRORS = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    # A connection the server terminated (PostgreSQL stopping) can surface as "cannot switch to
    # state …; another operation is in progress" (asyncpg#1069); the pool drops that connection,
    # so the retry gets a new one.
    asyncpg.InternalClientError,
    # Batches take rows in one order; should PostgreSQL still pick a victim, the
    # round is simply run again.
    asyncpg.DeadlockDetectedError,
    SchemaRegistryClientError,
    KafkaError,  # a broker restarting: the batch stays uncommitted for the retry
)
"""A service being away or busy: waiting and trying again succeeds."""

UNSTORABLE = (
    asyncpg.DataError,
    asyncpg.IntegrityConstraintViolationError,
    asyncpg.ProgramLimitExceededError,
)
"""PostgreSQL refusing an event's content (not being away): retrying would loop for ever."""

DATABASE_ERRORS = (
    OSError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,  # a terminated connection, see TRANSIENT_ERRORS
)
"""What a timer may meet while PostgreSQL is away; the next turn tries again."""

PUBLISH_ERRORS = (KafkaError, FaustError)
"""What a timer's publish may meet: a send waits while the broker is away and fails when the
worker stops meanwhile (``NotReady``) or after the producer's timeout."""


async def retry_transient(what: str, action: Callable[[], Awaitable[T]]) -> T:
    """Run ``action`` until it succeeds, waiting longer each time (up to
    :data:`RETRY_MAX_DELAY_S`) while it fails with a :data:`TRANSIENT_ERRORS`.

    Applies to every database, registry and broker call of an intake batch and of a KPI flush:
    the batch is not acked meanwhile. Any other error escapes (to :func:`fail_stop`)."""
    delay = _RETRY_FIRST_DELAY_S
    while True:
        try:
            return await action()
        except TRANSIENT_ERRORS as error:
            log.warning("could not %s (%s); retrying in %.1f s", what, error, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_MAX_DELAY_S)


def dead_letter(
    deadletters: Sink,
    topic: str,
    message: Any,
    rejected: Rejected,
    *,
    publisher: str,
    domain: str,
    origin: str,
) -> None:
    """Refuse one ingest record (an aiokafka ``ConsumerRecord``): its dead letter, with the
    reason, who published it (``publisher``) and where first (``origin``), goes to
    ``deadletters`` for ``topic``, delivered when the batch's checkpoint publishes (before the
    source offset is committed).

    Applies to a record the checks refuse (:func:`hub.ingest.decode.take_in`), one acting on
    another port's data (:mod:`streams.ownership`), and one PostgreSQL will not store
    (:func:`record_or_refuse`): a poison record never stops a worker."""
    deadletters.add(
        dead_letter_record(
            message, rejected, topic, publisher=publisher, domain=domain, origin=origin
        )
    )


async def record_or_refuse(
    pool: asyncpg.Pool, accepted: Sequence[IngestedEvent], dedup_window: timedelta
) -> tuple[set[UUID], dict[int, Rejected]]:
    """Record the batch; returns the ids recorded now and the refusals by index in ``accepted``.

    Applies when PostgreSQL refuses the batch for an event's content (:data:`UNSTORABLE`: a
    defect of the checks, which should have refused it): the events are recorded one by one and
    those PostgreSQL will not take are refused as ``UNSTORABLE``, so that no record can stop the
    worker or loop it through restarts."""
    try:
        return await record_events(pool, accepted, dedup_window=dedup_window), {}
    except UNSTORABLE as error:
        log.error("PostgreSQL refused a batch (%s: %s); recording one by one",
                  type(error).__name__, error)  # fmt: skip
    recorded: set[UUID] = set()
    refused: dict[int, Rejected] = {}
    for index, event in enumerate(accepted):
        try:
            recorded |= await record_events(pool, [event], dedup_window=dedup_window)
        except UNSTORABLE as error:
            log.error("event %s not stored: %s", event.event_id, error)
            refused[index] = Rejected(
                RejectReason.UNSTORABLE, f"PostgreSQL refused it: {type(error).__name__}: {error}"
            )
    return recorded, refused


def fail_stop(task: str) -> NoReturn:
    """End the process at once (status :data:`FAIL_STOP_STATUS`), logging the error being
    handled, before the intake commits the offsets of the batch under way: the restarted worker is
    delivered that batch again.

    Applies to any error the intake cannot retry or refuse (a defect,
    or a sink whose flush failed for good). Called from an ``except`` block."""
    log.critical("%s failed; stopping the worker before its offsets commit", task, exc_info=True)
    logging.shutdown()
    os._exit(FAIL_STOP_STATUS)
