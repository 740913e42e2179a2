"""A batch of JSON events of one domain from one publisher (the body of ``POST /v1/events``):
every event checked and sent, or refused and dead-lettered, each with its own outcome.

Re-sending a whole batch is always safe: the hub de-duplicates by ``event_id``.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from aiokafka.errors import KafkaError

from hub.db.tokens import Publisher
from hub.ingest.core import (
    EventTooLarge,
    IngestContext,
    check_item,
    json_bytes,
    send_dead_letters,
    send_event,
)
from schemas.models import Envelope
from schemas.rejections import Rejected, RejectReason

__all__ = ["ItemOutcome", "Status", "take_batch"]

_UUID_TEXT = re.compile(r"^[0-9A-Fa-f-]{32,36}$")

Status = Literal["accepted", "rejected", "failed"]


@dataclass(frozen=True, slots=True)
class ItemOutcome:
    """What became of one event of a batch: ``accepted`` (it reached Kafka, acknowledged by all
    in-sync replicas), ``rejected`` (final; dead-lettered and counted) or ``failed`` (not
    delivered, not the event's fault: send it again)."""

    index: int
    status: Status
    event_id: str | None = None
    reason: str | None = None
    detail: str | None = None


async def take_batch(
    context: IngestContext, domain: str, publisher: Publisher, items: list[Any], *, source: str
) -> list[ItemOutcome]:
    """Validate, encode and produce ``items``; dead-letter (from ``source``) and count the
    refused ones. One outcome per item, in order."""
    now = datetime.now(UTC)
    late_grace = timedelta(hours=context.settings.rules.late_grace_hours)
    results: list[ItemOutcome] = []
    deliveries: list[tuple[int, asyncio.Future[Any]]] = []
    refused: list[tuple[bytes, Rejected]] = []
    for index, item in enumerate(items):
        outcome = check_item(domain, item, publisher, context.known_ports, now, late_grace)
        if isinstance(outcome, Envelope):
            event = outcome.model_copy(update={"publisher": publisher.publisher_id})
            event_id = str(event.event_id)
            try:
                delivery = await send_event(context, domain, event, publisher=publisher.code)
                deliveries.append((index, delivery))
                results.append(ItemOutcome(index=index, event_id=event_id, status="accepted"))
                continue
            except EventTooLarge as error:
                outcome = Rejected(RejectReason.TOO_LARGE, str(error))
            except KafkaError as error:  # the broker is away: not the event's fault, send again
                results.append(_failed(index, event_id, error))
                continue
        results.append(_rejected(index, item, outcome))
        refused.append((json_bytes(item), outcome))
    for index, delivery in deliveries:
        try:
            await delivery
        except Exception as error:  # any delivery failure: the event did not reach Kafka
            results[index] = _failed(index, results[index].event_id, error)
    if refused:
        await send_dead_letters(context, domain, refused, source=source, publisher=publisher.code)
    return results


def _rejected(index: int, item: Any, rejection: Rejected) -> ItemOutcome:
    event_id = item.get("event_id") if isinstance(item, dict) else None
    return ItemOutcome(
        index=index,
        # Echoed only when it can be one: the answer must not carry arbitrary text back.
        event_id=event_id if isinstance(event_id, str) and _UUID_TEXT.match(event_id) else None,
        status="rejected",
        reason=rejection.reason.value,
        detail=rejection.detail,
    )


def _failed(index: int, event_id: str | None, error: BaseException) -> ItemOutcome:
    return ItemOutcome(
        index=index,
        event_id=event_id,
        status="failed",
        reason="NOT_DELIVERED",
        detail=f"not delivered ({type(error).__name__}: {error}); send it again"[:300],
    )
