"""A Python client for port developers publishing to the hub over HTTP.

    from hub.client import HubPublisher
    from schemas.models import VesselEvent

    async with HubPublisher("https://hub.example.org", token="hubp_…") as hub:
        await hub.publish("vessel", [VesselEvent(...), ...])

Events are typed (the models of :mod:`schemas.models`, the same contract as the Avro schemas),
sent in batches of at most ``batch_size``, and re-sent when they were not delivered — safe,
because the hub de-duplicates by ``event_id``:

- the hub answers 503 (a batch with ``failed`` events, or the whole request "not delivered,
  retry" while its database or broker is unavailable), 502 or 504 (a proxy in front of it), or
  429 (its rate limit); or it cannot be reached at all (refused, reset, timed out);
- each retry waits longer (``backoff_s`` doubling up to ``max_backoff_s``, with jitter), and at
  least the ``Retry-After`` the hub asked for;
- at most ``retries`` retries and ``retry_for_s`` seconds per batch; what is still not delivered
  then is listed in :attr:`PublishReport.failed`.

Rejected events are final and come back with their reason; a request the hub refuses as a whole
(401 bad token, 404 unknown domain, 413 too large, 500) raises :class:`PublishError` at once.
Nothing is dropped silently.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Any

import httpx

from schemas.models import Envelope

DEFAULT_BATCH_SIZE = 500
RETRY_STATUSES = frozenset({429, 502, 503, 504})
"""Answers after which the same request is sent again: nothing was done, or it is safe to redo."""


class PublishError(RuntimeError):
    """The hub refused the request as a whole (bad token, unknown domain, too large)."""


@dataclass(slots=True)
class PublishReport:
    """What became of every event handed to :meth:`HubPublisher.publish`."""

    accepted: list[str] = field(default_factory=list)
    """event_ids the hub accepted (they reached Kafka)."""
    rejected: list[dict[str, Any]] = field(default_factory=list)
    """``{"event_id", "reason", "detail"}`` of every event refused, with the reason code."""
    failed: list[str] = field(default_factory=list)
    """event_ids still not delivered after every retry."""


class HubPublisher:
    """Publishes events of one port to the hub's ``POST /v1/events/{domain}``."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        retries: int = 8,
        backoff_s: float = 0.5,
        max_backoff_s: float = 10.0,
        retry_for_s: float = 120.0,
        timeout_s: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        """
        Args:
            base_url: the hub's address (``https://hub.example.org``).
            token: the port's publisher token.
            batch_size: events per request (at most the hub's 1,000).
            retries: how many times a batch is sent again at most.
            backoff_s: the wait before the first retry; it doubles after each.
            max_backoff_s: the longest wait between two attempts (a longer ``Retry-After``
                is still honoured).
            retry_for_s: how long a batch is retried at most, from its first attempt.
            timeout_s: the timeout of one request.
            transport: an httpx transport (tests).
        """
        if not 1 <= batch_size <= 1000:
            raise ValueError("batch_size must be between 1 and 1000 (the hub's limit)")
        if retries < 0 or backoff_s < 0 or max_backoff_s < 0 or retry_for_s < 0:
            raise ValueError("retries, backoff_s, max_backoff_s and retry_for_s must be >= 0")
        self.batch_size = batch_size
        self.retries = retries
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.retry_for_s = retry_for_s
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout_s,
            transport=transport,
        )

    async def __aenter__(self) -> HubPublisher:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        await self._client.aclose()

    async def publish(self, domain: str, events: Iterable[Envelope]) -> PublishReport:
        """Send ``events`` of ``domain`` in batches; returns what became of each."""
        report = PublishReport()
        batch: list[Envelope] = []
        for event in events:
            batch.append(event)
            if len(batch) == self.batch_size:
                await self._send(domain, batch, report)
                batch = []
        if batch:
            await self._send(domain, batch, report)
        return report

    async def _send(self, domain: str, batch: Sequence[Envelope], report: PublishReport) -> None:
        pending = list(batch)
        give_up_at = time.monotonic() + self.retry_for_s
        for attempt in range(self.retries + 1):
            body = [event.model_dump(mode="json", exclude_none=True) for event in pending]
            try:
                response = await self._client.post(f"/v1/events/{domain}", json=body)
            except httpx.TransportError:
                response = None  # not reached, or no answer: nothing known to be delivered
            if response is not None:
                results = _results(response)
                if results is not None:
                    pending = self._settle(pending, results, report)
                    if not pending:
                        return
                elif response.status_code not in RETRY_STATUSES:
                    raise PublishError(
                        f"hub answered {response.status_code}: {response.text[:300]}"
                    )
            if attempt == self.retries:
                break
            wait = self._wait_before(attempt, response)
            if time.monotonic() + wait > give_up_at:
                break
            await asyncio.sleep(wait)
        report.failed.extend(str(event.event_id) for event in pending)

    def _wait_before(self, attempt: int, response: httpx.Response | None) -> float:
        """The wait before retry ``attempt + 1``: exponential back-off with jitter (so that many
        publishers do not come back at the same instant), and at least the ``Retry-After``."""
        backoff = min(self.max_backoff_s, self.backoff_s * 2.0**attempt)
        wait = backoff * random.uniform(0.5, 1.0)
        asked = _retry_after(response) if response is not None else None
        return max(wait, asked) if asked is not None else wait

    @staticmethod
    def _settle(
        sent: Sequence[Envelope], results: list[dict[str, Any]], report: PublishReport
    ) -> list[Envelope]:
        """Record final answers; return the events to send again."""
        again: list[Envelope] = []
        for event, result in zip(sent, results, strict=True):
            if result["status"] == "accepted":
                report.accepted.append(str(event.event_id))
            elif result["status"] == "rejected":
                report.rejected.append(
                    {
                        "event_id": str(event.event_id),
                        "reason": result["reason"],
                        "detail": result.get("detail", ""),
                    }
                )
            else:
                again.append(event)
        return again


def _results(response: httpx.Response) -> list[dict[str, Any]] | None:
    """The per-event results of an answer (200, or 503 with some events failed), or None when
    the answer is about the request as a whole."""
    if response.status_code not in (200, 503):
        return None
    try:
        body = response.json()
    except ValueError:
        return None
    results = body.get("results") if isinstance(body, dict) else None
    return results if isinstance(results, list) else None


def _retry_after(response: httpx.Response) -> float | None:
    """The seconds a ``Retry-After`` header asks for (delay-seconds or an HTTP date), or None."""
    value = response.headers.get("retry-after")
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
