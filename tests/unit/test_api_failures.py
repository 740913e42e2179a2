"""What the API answers when a request fails for a reason not its own (``hub/api/failures.py``):
503 "not delivered, retry" when a service it needs is unavailable, a logged 500 for a bug; and
the health check's deadline (``hub/api/app.py``). On small apps of their own: the outage itself
is tested against a real PostgreSQL in ``tests/integration/test_api_outage.py``."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator

import aiokafka.errors
import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from fastapi.responses import StreamingResponse

from hub.api.app import ComponentHealth, _Probe
from hub.api.failures import NOT_DELIVERED, RETRY_AFTER_S, handle_failures, unavailable_service
from hub.api.metrics import HTTP_REQUESTS, instrument
from hub.api.security import SecurityPolicy, secure

UNAVAILABLE: dict[str, BaseException] = {
    "refused": ConnectionRefusedError(111, "Connection refused"),
    "several addresses": OSError("Multiple exceptions: [Errno 111] …, [Errno 99] …"),
    "command timeout": TimeoutError(),
    "statement timeout": asyncpg.exceptions.QueryCanceledError("statement timeout"),
    "dropped mid-query": asyncpg.ConnectionDoesNotExistError("connection was closed"),
    "closed connection": asyncpg.InterfaceError("cannot perform operation: connection is closed"),
    "shutting down": asyncpg.exceptions.AdminShutdownError("terminating connection"),
    "starting up": asyncpg.exceptions.CannotConnectNowError("the database system is starting"),
    "too many connections": asyncpg.exceptions.TooManyConnectionsError("too many clients"),
    "broker": aiokafka.errors.KafkaConnectionError("Unable to bootstrap"),
    "broker timeout": aiokafka.errors.KafkaTimeoutError(),
    "group of them": ExceptionGroup("both", [ConnectionResetError(), TimeoutError()]),
}


def make_app() -> FastAPI:
    api = FastAPI()
    handle_failures(api)
    secure(api, SecurityPolicy())
    instrument(api)
    raised: dict[str, BaseException] = {}
    api.state.raised = raised

    @api.get("/v1/fails/{case}")
    async def fails(case: str) -> dict[str, str]:
        raise raised[case]

    @api.get("/v1/stream")
    async def stream() -> StreamingResponse:
        async def body() -> AsyncIterator[bytes]:
            yield b"first\n"
            raise ConnectionResetError("gone mid-stream")

        return StreamingResponse(body())

    return api


def client(api: FastAPI) -> httpx.AsyncClient:
    # raise_app_exceptions off: an exception escaping the app must show as the server would
    # answer it, not as a test error.
    transport = httpx.ASGITransport(app=api, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://hub")


@pytest.mark.parametrize("case", UNAVAILABLE)
async def test_an_unavailable_service_is_503_not_delivered_retry(case: str) -> None:
    api = make_app()
    api.state.raised["x"] = UNAVAILABLE[case]
    async with client(api) as http:
        response = await http.get("/v1/fails/x")
    assert response.status_code == 503
    assert response.headers["retry-after"] == str(RETRY_AFTER_S)
    body = response.json()
    assert body["error"] == NOT_DELIVERED and body["reason"] == "UNAVAILABLE"
    assert "retry" in body["detail"] or "again" in body["detail"]
    # The security layers still dress the answer.
    assert response.headers["x-content-type-options"] == "nosniff"


def test_which_service_is_named() -> None:
    assert unavailable_service(asyncpg.ConnectionDoesNotExistError("x")) == "database"
    assert unavailable_service(aiokafka.errors.KafkaConnectionError()) == "broker"
    assert unavailable_service(ConnectionRefusedError()) == "database or broker"
    assert unavailable_service(ValueError("a bug")) is None
    assert unavailable_service(asyncpg.UniqueViolationError("a bug")) is None
    assert unavailable_service(ExceptionGroup("mixed", [TimeoutError(), KeyError()])) is None


async def test_a_bug_is_a_logged_500_with_its_route_and_counted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    api = make_app()
    api.state.raised["bug"] = KeyError("surprise")
    before = HTTP_REQUESTS.labels("GET", "/v1/fails/{case}", "500")._value.get()
    with caplog.at_level(logging.ERROR, logger="hub.api.failures"):
        async with client(api) as http:
            response = await http.get("/v1/fails/bug")
    assert response.status_code == 500
    assert response.json()["error"] == "internal error"
    assert "surprise" not in response.text  # the details stay in the log
    assert response.headers["x-frame-options"] == "DENY"
    logged = [r for r in caplog.records if r.name == "hub.api.failures"]
    assert len(logged) == 1
    assert "GET /v1/fails/bug (route /v1/fails/{case})" in logged[0].getMessage()
    assert logged[0].exc_info is not None and logged[0].exc_info[0] is KeyError
    after = HTTP_REQUESTS.labels("GET", "/v1/fails/{case}", "500")._value.get()
    assert after == before + 1


async def test_a_failure_once_a_stream_started_drops_the_connection_and_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    api = make_app()
    with caplog.at_level(logging.ERROR, logger="hub.api.failures"):
        async with client(api) as http:
            response = await http.get("/v1/stream")
    # The status had gone out; the body stops where the failure came, and it is logged.
    assert response.status_code == 200
    assert response.content == b"first\n"
    assert any("after its response had started" in r.getMessage() for r in caplog.records)


async def test_a_health_probe_answers_by_its_deadline_and_does_not_pile_up() -> None:
    started = 0
    release = asyncio.Event()

    async def frozen() -> ComponentHealth:
        nonlocal started
        started += 1
        await release.wait()
        return ComponentHealth(status="ok", detail="back")

    probe = _Probe(frozen)
    began = time.monotonic()
    first = await probe(0.2)
    second = await probe(0.2)
    assert time.monotonic() - began < 1.0
    assert first.status == second.status == "down"
    assert "no answer within 0.2 s" in first.detail
    assert started == 1  # the second request waited for the same check
    release.set()
    assert (await probe(0.2)).detail == "back"  # the check that was running, now done
    assert started == 1
    assert (await probe(0.2)).detail == "back"
    assert started == 2  # a finished check is not reused: a later request checks anew
