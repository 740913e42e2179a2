"""A Python client for port developers publishing to the hub over HTTP.

    from hub.client import HubPublisher
    from schemas.models import VesselEvent

    async with HubPublisher("https://hub.example.org", token="hubp_…") as hub:
        await hub.publish("vessel", [VesselEvent(...), ...])

Events are typed (the models of :mod:`schemas.models`, the same contract as the Avro schemas),
sent in batches of at most ``batch_size``, and re-sent with exponential back-off when the hub
answers 503 or cannot be reached — safe, because the hub de-duplicates by ``event_id``. Rejected
events are final and come back with their reason; nothing is dropped silently.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import httpx

from schemas.models import Envelope

DEFAULT_BATCH_SIZE = 500


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
        retries: int = 5,
        backoff_s: float = 0.5,
        timeout_s: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if not 1 <= batch_size <= 1000:
            raise ValueError("batch_size must be between 1 and 1000 (the hub's limit)")
        self.batch_size = batch_size
        self.retries = retries
        self.backoff_s = backoff_s
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
        for attempt in range(self.retries + 1):
            body = [event.model_dump(mode="json", exclude_none=True) for event in pending]
            try:
                response = await self._client.post(f"/v1/events/{domain}", json=body)
            except httpx.TransportError:
                response = None
            if response is not None and response.status_code not in (200, 503):
                raise PublishError(f"hub answered {response.status_code}: {response.text[:300]}")
            if response is not None:
                pending = self._settle(pending, response.json()["results"], report)
                if not pending:
                    return
            if attempt < self.retries:
                await asyncio.sleep(self.backoff_s * 2**attempt)
        report.failed.extend(str(event.event_id) for event in pending)

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
