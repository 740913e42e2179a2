"""How ``HubPublisher`` (``hub/client.py``) retries: against a scripted HTTP transport, with its
waits recorded instead of slept. The client against the real hub, through a PostgreSQL outage, is
in ``tests/integration/test_api_outage.py``."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import TypedDict, Unpack

import httpx
import pytest

from hub.client import HubPublisher, PublishError
from tests.samples import samples

Answer = Callable[[list[dict[str, object]]], httpx.Response]


def accepted(events: list[dict[str, object]]) -> httpx.Response:
    results = [{"index": i, "event_id": e["event_id"], "status": "accepted"} for i, e in
               enumerate(events)]  # fmt: skip
    return httpx.Response(200, json={"accepted": len(events), "rejected": 0, "failed": 0,
                                     "results": results})  # fmt: skip


def unavailable(retry_after: str | None = "2") -> Answer:
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    body = {"error": "not delivered, retry", "reason": "UNAVAILABLE", "detail": "…"}
    return lambda _: httpx.Response(503, json=body, headers=headers)


def refused_connection(_: list[dict[str, object]]) -> httpx.Response:
    raise httpx.ConnectError("connection refused")


class Hub:
    """Answers each request with the next of ``script`` (the last one from then on)."""

    def __init__(self, *script: Answer) -> None:
        self.script = list(script)
        self.requests = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        answer = self.script[min(self.requests, len(self.script) - 1)]
        self.requests += 1
        return answer(json.loads(request.content))


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    recorded: list[float] = []

    async def sleep(seconds: float) -> None:
        recorded.append(seconds)

    monkeypatch.setattr("hub.client.asyncio.sleep", sleep)
    return recorded


class Options(TypedDict, total=False):
    """The retry options of HubPublisher that these tests vary."""

    retries: int
    backoff_s: float
    retry_for_s: float


def publisher(hub: Hub, **options: Unpack[Options]) -> HubPublisher:
    return HubPublisher("http://hub", "hubp_x", transport=httpx.MockTransport(hub), **options)


async def test_a_503_not_delivered_and_refused_connections_are_retried_until_delivered(
    waits: list[float],
) -> None:
    hub = Hub(unavailable(), refused_connection, unavailable(None), accepted)
    events = samples("vessel")
    async with publisher(hub, backoff_s=0.5) as client:
        report = await client.publish("vessel", events)
    assert report.accepted == [str(e.event_id) for e in events]
    assert report.failed == [] and hub.requests == 4
    # Retry-After: 2 honoured; then the back-off (0.5 doubling, with jitter down to half).
    assert waits[0] == 2.0
    assert 0.5 <= waits[1] <= 1.0 and 1.0 <= waits[2] <= 2.0


@pytest.mark.parametrize("status", [429, 502, 504])
async def test_rate_limits_and_gateway_errors_are_retried(status: int, waits: list[float]) -> None:
    hub = Hub(lambda _: httpx.Response(status, headers={"Retry-After": "3"}), accepted)
    async with publisher(hub) as client:
        report = await client.publish("vessel", samples("vessel"))
    assert len(report.accepted) == 2 and waits == [3.0]


async def test_a_retry_after_date_is_honoured(waits: list[float]) -> None:
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    hub = Hub(unavailable(when), accepted)
    async with publisher(hub) as client:
        await client.publish("vessel", samples("vessel"))
    assert 28 <= waits[0] <= 30


async def test_only_the_failed_events_of_a_batch_are_sent_again(waits: list[float]) -> None:
    def one_failed(events: list[dict[str, object]]) -> httpx.Response:
        results = [
            {"index": 0, "event_id": events[0]["event_id"], "status": "accepted"},
            {"index": 1, "event_id": events[1]["event_id"], "status": "failed",
             "reason": "NOT_DELIVERED"},
        ]  # fmt: skip
        body = {"accepted": 1, "rejected": 0, "failed": 1, "results": results}
        return httpx.Response(503, json=body)

    sent: list[int] = []

    def counting_accepted(events: list[dict[str, object]]) -> httpx.Response:
        sent.append(len(events))
        return accepted(events)

    hub = Hub(one_failed, counting_accepted)
    events = samples("vessel")
    async with publisher(hub) as client:
        report = await client.publish("vessel", events)
    assert sent == [1]
    assert report.accepted == [str(events[0].event_id), str(events[1].event_id)]


async def test_attempts_and_time_are_bounded_then_the_events_are_reported_failed(
    waits: list[float],
) -> None:
    hub = Hub(unavailable("1"))
    events = samples("vessel")
    async with publisher(hub, retries=3) as client:
        report = await client.publish("vessel", events)
    assert hub.requests == 4 and report.failed == [str(e.event_id) for e in events]
    # The time bound: a Retry-After beyond what is left ends the retries.
    hub = Hub(unavailable("10"))
    async with publisher(hub, retries=100, retry_for_s=5) as client:
        report = await client.publish("vessel", events)
    assert hub.requests == 1 and len(report.failed) == 2


@pytest.mark.parametrize("status", [400, 401, 404, 413, 500])
async def test_a_refusal_of_the_whole_request_raises_at_once(
    status: int, waits: list[float]
) -> None:
    hub = Hub(lambda _: httpx.Response(status, json={"error": "no"}))
    async with publisher(hub) as client:
        with pytest.raises(PublishError, match=str(status)):
            await client.publish("vessel", samples("vessel"))
    assert hub.requests == 1 and waits == []
