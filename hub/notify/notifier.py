"""The notifier: reads the hub's topics, stores the notifications, sends the due ones.

It runs in the API process (:func:`running_notifier`, ``HUB_WEBHOOKS=off`` turns it off), as two
loops:

- the **reader**, an aiokafka consumer of its own group (``<HUB_WORKER_ID>.notifier``) over the
  ingest topics (each record checked as the worker checks it, :func:`hub.ingest.decode.take_in`;
  refused ones are not notified), the entity KPI topics and ``validations.<ISO2>``. For each
  record it stores one delivery per matching subscription made before the record (a paused one
  too: its notifications wait for its resumption), and
  commits the offsets only after the deliveries are stored: a crash reads the records again,
  and the same fact (event id, verdict version, KPI value) is stored once per subscription.
- the **sender**, which claims due deliveries (``FOR UPDATE SKIP LOCKED``, so several API
  processes share the work), POSTs each signed, and records the outcome: 2xx delivered; anything
  else retried with exponential back-off and jitter, the subscription paused after
  ``HUB_WEBHOOK_PAUSE_AFTER`` failures in a row.

A database or broker outage stops neither loop: they wait and go on where they were.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer

from hub.db.webhooks import (
    DueDelivery,
    NewDelivery,
    Subscription,
    all_subscriptions,
    claim_due,
    mark_delivered,
    mark_failed,
    purge_delivered,
    store_deliveries,
)
from hub.ingest.core import IngestContext
from hub.ingest.decode import take_in
from hub.kafka_topics import INGEST_TOPICS, KPI_CARGO, KPI_CUSTOMS, KPI_PORT_CALLS
from hub.notify.loops import run_again, start_when_reachable
from hub.notify.notifications import (
    Notification,
    from_event,
    from_kpi,
    from_verdict,
    matches,
    request_id,
)
from hub.notify.signing import REQUEST_ID_HEADER, SIGNATURE_HEADER, retry_delay, signature
from hub.settings import HubSettings
from schemas.avro_schemas import parsed_schema
from schemas.rejections import Rejected

log = logging.getLogger(__name__)

# Deliveries a sender claims at once, and how long after a send's timeout a claimed delivery
# stays leased (a sender that died mid-send leaves it due again after that).
SEND_BATCH = 100
LEASE_MARGIN_S = 5.0
# Delivered notifications are kept this long, so that a record read again after a crash (its
# offset not yet committed) is recognised and not sent twice.
KEEP_DELIVERED_S = 7 * 86_400.0
_PURGE_EVERY_S = 600.0
_OUTAGE_WAIT_S = 1.0
# A record stamped up to this long before a subscription was made still reaches it: the record's
# time is its producer's clock, the subscription's the database's, and they may differ a little.
CLOCK_SLACK_MS = 5_000
_TRANSIENT = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError)


def topic_pattern(namespace: str) -> str:
    """The topics the reader follows, with the deployment's namespace."""
    return (
        re.escape(namespace)
        + r"(ingest\.(vessel|cargo|customs|certificates)|kpi\.(port-calls|cargo|customs)"
        + r"|validations\.[A-Z]{2})$"
    )


class Notifier:
    """The reader and the sender (see the module docstring), over one pool and one codec."""

    def __init__(self, settings: HubSettings, bootstrap: str, context: IngestContext) -> None:
        self.settings = settings
        self.bootstrap = bootstrap
        self.context = context
        self.pool = context.pool
        self._subscriptions: list[Subscription] = []
        self._loaded_at = -float("inf")
        self._stale = True
        self._due = asyncio.Event()
        self._domains = {settings.topic(topic): domain for domain, topic in INGEST_TOPICS.items()}
        self._kpi_topics = {settings.topic(t) for t in (KPI_PORT_CALLS, KPI_CARGO, KPI_CUSTOMS)}

    def subscriptions_changed(self) -> None:
        """A subscription was made, deleted or resumed in this process: reload before the next
        records, and look for due deliveries now."""
        self._stale = True
        self._due.set()

    async def run(self) -> None:
        """Both loops, until cancelled; a loop that fails unexpectedly starts again."""
        async with asyncio.TaskGroup() as group:
            group.create_task(run_again(self._read, "webhook reader"), name="webhook-reader")
            group.create_task(run_again(self._send_due, "webhook sender"), name="webhook-sender")

    # --- the reader ----------------------------------------------------------------------

    async def _read(self) -> None:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            group_id=f"{self.settings.worker.id}.notifier",
            enable_auto_commit=False,
            # A new group reads what is on the topics; only subscriptions made before a record
            # get it, so a history read at the first start notifies nothing old.
            auto_offset_reset="earliest",
            metadata_max_age_ms=30_000,
        )
        consumer.subscribe(pattern=topic_pattern(self.settings.kafka.topic_namespace))
        await start_when_reachable(consumer, "webhook reader")
        try:
            while True:
                batches = await consumer.getmany(timeout_ms=1000, max_records=500)
                records = [record for batch in batches.values() for record in batch]
                if not records:
                    continue
                stored = await _until_done("store notifications", self._store, records)
                await consumer.commit()
                if stored:
                    self._due.set()
        finally:
            with contextlib.suppress(Exception):
                await consumer.stop()

    async def _store(self, records: Sequence[Any]) -> int:
        subscriptions = await self._current_subscriptions()
        if not subscriptions:
            return 0
        # A subscription gets what arrives after it is made, never the history. Records no
        # subscription can get are skipped before they are decoded (an ingest record's Avro
        # decode and checks are most of the reader's work).
        made_ms = {s.id: s.created_at.timestamp() * 1000 - CLOCK_SLACK_MS for s in subscriptions}
        earliest_ms = min(made_ms.values())
        wanted = {kind for subscription in subscriptions for kind in subscription.kinds}
        deliveries: list[NewDelivery] = []
        for record in records:
            if record.timestamp < earliest_ms or self._kind(record.topic) not in wanted:
                continue
            notification = await self._notification(record)
            if notification is None:
                continue
            for subscription in subscriptions:
                if record.timestamp >= made_ms[subscription.id] and matches(
                    subscription, notification
                ):
                    deliveries.append(_delivery(subscription, notification))
        return await store_deliveries(self.pool, deliveries)

    def _kind(self, topic: str) -> str:
        """The kind of notification a topic's records give (:data:`KINDS`)."""
        if topic in self._domains:
            return "events"
        return "kpis" if topic in self._kpi_topics else "verdicts"

    async def _current_subscriptions(self) -> list[Subscription]:
        refresh_s = self.settings.webhooks.refresh_s
        if self._stale or time.monotonic() - self._loaded_at > refresh_s:
            self._stale = False
            self._subscriptions = await all_subscriptions(self.pool)
            self._loaded_at = time.monotonic()
        return self._subscriptions

    async def _notification(self, record: Any) -> Notification | None:
        """The notification of one record, or None (refused, unreadable, not notified)."""
        domain = self._domains.get(record.topic)
        if domain is not None:
            event = await take_in(
                record.value,
                domain,
                self.context.codec,
                parsed_schema(domain),
                self.context.known_ports,
                datetime.now(UTC),
                timedelta(hours=self.settings.rules.late_grace_hours),
            )
            return None if isinstance(event, Rejected) else from_event(event)
        value = _json_object(record.value)
        if value is None:
            return None
        try:
            return from_kpi(value) if record.topic in self._kpi_topics else from_verdict(value)
        except (TypeError, ValueError) as error:  # not what the worker writes: skipped
            log.warning("webhook reader skipped a record of %s: %s", record.topic, error)
            return None

    # --- the sender ----------------------------------------------------------------------

    async def _send_due(self) -> None:
        webhooks = self.settings.webhooks
        lease_s = webhooks.timeout_s + LEASE_MARGIN_S
        purged_at = -float("inf")
        async with httpx.AsyncClient(
            timeout=webhooks.timeout_s, follow_redirects=False, trust_env=False
        ) as client:
            while True:
                try:
                    due = await claim_due(self.pool, SEND_BATCH, lease_s)
                    if due:
                        await asyncio.gather(*(self._send(client, item) for item in due))
                    if time.monotonic() - purged_at > _PURGE_EVERY_S:
                        await purge_delivered(self.pool, KEEP_DELIVERED_S)
                        purged_at = time.monotonic()
                except _TRANSIENT as error:
                    log.warning("webhook sender: database unavailable (%s); retrying", error)
                    await asyncio.sleep(_OUTAGE_WAIT_S)
                    continue
                if len(due) < SEND_BATCH:
                    self._due.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._due.wait(), webhooks.poll_s)

    async def _send(self, client: httpx.AsyncClient, delivery: DueDelivery) -> None:
        body = delivery.body.encode()
        headers = {
            "Content-Type": "application/cloudevents+json; charset=utf-8",
            SIGNATURE_HEADER: signature(delivery.secret, body),
            REQUEST_ID_HEADER: str(delivery.id),
            "User-Agent": "port-hub-webhooks/1",
        }
        try:
            response = await client.post(delivery.callback_url, content=body, headers=headers)
        except httpx.HTTPError as error:
            problem = f"{type(error).__name__}: {error}".rstrip(": ")
        else:
            if 200 <= response.status_code < 300:
                await mark_delivered(self.pool, delivery)
                return
            problem = f"HTTP {response.status_code} from the receiver"
        webhooks = self.settings.webhooks
        wait_s = retry_delay(delivery.attempts + 1, webhooks.retry_base_s, webhooks.retry_max_s)
        paused = await mark_failed(self.pool, delivery, problem[:500], wait_s, webhooks.pause_after)
        if paused:
            log.warning(
                "webhook subscription %s paused after %d failures in a row: %s",
                delivery.subscription_id,
                webhooks.pause_after,
                problem,
            )


def _delivery(subscription: Subscription, notification: Notification) -> NewDelivery:
    identifier = request_id(subscription.id, notification.dedupe_key)
    return NewDelivery(
        identifier, subscription.id, notification.dedupe_key, notification.body(identifier)
    )


def _json_object(value: bytes | None) -> Mapping[str, Any] | None:
    try:
        parsed = json.loads(value or b"")
    except (ValueError, UnicodeDecodeError):
        return None
    return parsed if isinstance(parsed, dict) else None


async def _until_done(
    what: str, step: Callable[[Sequence[Any]], Awaitable[int]], records: Sequence[Any]
) -> int:
    """``step(records)``'s result, retried while the database or the registry is unreachable."""
    while True:
        try:
            result = await step(records)
            return result
        except _TRANSIENT as error:
            log.warning("webhook reader could not %s (%s); retrying", what, error)
            await asyncio.sleep(_OUTAGE_WAIT_S)


@asynccontextmanager
async def running_notifier(
    settings: HubSettings, bootstrap: str, context: IngestContext
) -> AsyncIterator[Notifier | None]:
    """The notifier running for as long as the block runs (None when ``HUB_WEBHOOKS=off``)."""
    if not settings.webhooks.enabled:
        yield None
        return
    # httpx logs every request at INFO: one line per notification sent would drown the log.
    logging.getLogger("httpx").setLevel(max(logging.WARNING, logging.getLogger().level))
    notifier = Notifier(settings, bootstrap, context)
    task = asyncio.create_task(notifier.run(), name="webhook-notifier")
    try:
        yield notifier
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
