"""The API's hardening middleware (``hub/api/security.py``) on a small app of its own, and applied
to the real app (without its lifespan: no broker or database is needed)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.types import Message, Receive, Scope, Send

from hub.api.security import (
    ADDRESS_FACTOR,
    CSP,
    HEADERS,
    MAX_AUTHORIZATION_BYTES,
    MAX_HEADERS_BYTES,
    SecurityPolicy,
    TokenBuckets,
    secure,
)

ORIGIN = "https://port.example"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make_app(policy: SecurityPolicy | None = None, clock: Clock | None = None) -> FastAPI:
    api = FastAPI()
    gate = asyncio.Event()
    api.state.gate = gate

    @api.get("/v1/things")
    async def things() -> dict[str, str]:
        return {"ok": "yes"}

    @api.post("/v1/echo")
    async def echo(request: Request) -> dict[str, int]:
        return {"bytes": len(await request.body())}

    @api.get("/v1/framed")
    async def framed() -> JSONResponse:
        return JSONResponse({}, headers={"X-Frame-Options": "SAMEORIGIN"})

    @api.get("/v1/cors-by-hand")
    async def cors_by_hand() -> JSONResponse:
        return JSONResponse({}, headers={"Access-Control-Allow-Origin": "*"})

    @api.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @api.get("/v1/stream")
    async def stream() -> StreamingResponse:
        async def events() -> AsyncIterator[bytes]:
            yield b"data: one\n\n"
            await gate.wait()  # the test lets the second chunk go only after seeing the first
            yield b"data: two\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    async def respond_then_read(scope: Scope, receive: Receive, send: Send) -> None:
        # A raw ASGI app that starts its answer before it reads the body.
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"started", "more_body": True})
        while (await receive())["type"] == "http.request":
            pass
        await send({"type": "http.response.body", "body": b"done"})

    api.mount("/raw", respond_then_read)
    secure(api, policy or SecurityPolicy(), clock=clock or Clock())
    return api


def client(api: FastAPI, address: str = "127.0.0.1") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=api, client=(address, 5000))
    return httpx.AsyncClient(transport=transport, base_url="http://hub")


def assert_secured(response: httpx.Response) -> None:
    assert response.headers["content-security-policy"] == CSP
    for name, value in HEADERS:
        assert response.headers[name] == value, name


def no_cors(response: httpx.Response) -> bool:
    return not any(name.lower().startswith("access-control-") for name in response.headers)


async def chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


async def test_headers_on_normal_404_and_refused_responses() -> None:
    api = make_app(SecurityPolicy(max_request_bytes=10))
    async with client(api) as http:
        ok = await http.get("/v1/things")
        missing = await http.get("/nowhere")
        too_big = await http.post("/v1/echo", content=b"x" * 11)
    assert (ok.status_code, missing.status_code, too_big.status_code) == (200, 404, 413)
    for response in (ok, missing, too_big):
        assert_secured(response)


async def test_a_header_the_route_set_is_kept() -> None:
    async with client(make_app()) as http:
        response = await http.get("/v1/framed")
    assert response.headers.get_list("x-frame-options") == ["SAMEORIGIN"]
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_docs_pages_get_the_docs_policy() -> None:
    async with client(make_app()) as http:
        docs = await http.get("/docs")
        schema = await http.get("/openapi.json")
    assert docs.status_code == 200
    assert "https://cdn.jsdelivr.net" in docs.headers["content-security-policy"]
    assert schema.headers["content-security-policy"] == CSP


async def test_cors_closed_by_default() -> None:
    async with client(make_app()) as http:
        preflight = await http.options(
            "/v1/echo",
            headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST"},
        )
        simple = await http.get("/v1/things", headers={"Origin": ORIGIN})
        by_hand = await http.get("/v1/cors-by-hand", headers={"Origin": ORIGIN})
    assert preflight.status_code == 403
    assert preflight.json() == {"error": "cross-origin requests are not allowed"}
    assert simple.status_code == 200
    for response in (preflight, simple, by_hand):
        assert no_cors(response)
        assert_secured(response)


async def test_cors_open_for_listed_origins_only() -> None:
    api = make_app(SecurityPolicy(cors_origins=(ORIGIN,)))
    async with client(api) as http:
        preflight = await http.options(
            "/v1/echo",
            headers={
                "Origin": ORIGIN,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "Authorization, Content-Type",
            },
        )
        listed = await http.get("/v1/things", headers={"Origin": ORIGIN})
        other = await http.get("/v1/things", headers={"Origin": "https://evil.example"})
        other_preflight = await http.options(
            "/v1/echo",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
        )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == ORIGIN
    assert set(preflight.headers["access-control-allow-methods"].split(", ")) == {"GET", "POST"}
    assert "access-control-allow-credentials" not in preflight.headers
    assert listed.headers["access-control-allow-origin"] == ORIGIN
    assert "access-control-allow-origin" not in other.headers
    assert other.status_code == 200
    assert other_preflight.status_code == 400
    assert "access-control-allow-origin" not in other_preflight.headers
    assert_secured(listed)


def test_a_wildcard_origin_is_refused() -> None:
    with pytest.raises(ValueError, match="cors_origins"):
        SecurityPolicy(cors_origins=("*",))


async def test_body_over_the_content_length_limit_is_refused_before_the_app() -> None:
    api = make_app(SecurityPolicy(max_request_bytes=100))
    async with client(api) as http:
        at_limit = await http.post("/v1/echo", content=b"x" * 100)
        over = await http.post("/v1/echo", content=b"x" * 101)
    assert at_limit.json() == {"bytes": 100}
    assert over.status_code == 413
    assert over.json() == {"error": "request body over 100 bytes"}


async def test_chunked_body_is_cut_once_over_the_limit() -> None:
    api = make_app(SecurityPolicy(max_request_bytes=100))
    async with client(api) as http:
        small = await http.post("/v1/echo", content=chunks(b"x" * 50, b"x" * 50))
        big = await http.post("/v1/echo", content=chunks(b"x" * 60, b"x" * 60, b"x" * 60))
    assert "content-length" not in small.request.headers
    assert small.json() == {"bytes": 100}
    assert big.status_code == 413
    assert big.json() == {"error": "request body over 100 bytes"}
    assert_secured(big)


async def test_a_lying_content_length_is_counted_too() -> None:
    api = make_app(SecurityPolicy(max_request_bytes=100))
    scope = http_scope("POST", "/v1/echo", [(b"content-length", b"10")])
    messages = await drive(api, scope, [b"x" * 60, b"x" * 60])
    assert messages[0]["status"] == 413


async def test_body_over_the_limit_after_the_response_started_stops_it() -> None:
    api = make_app(SecurityPolicy(max_request_bytes=100))
    messages = await drive(api, http_scope("POST", "/raw/"), [b"x" * 60, b"x" * 60, b"x" * 60])
    assert messages[0]["status"] == 200
    bodies = [m for m in messages if m["type"] == "http.response.body"]
    # What was sent before the cut went out; the rest was dropped and the answer left unfinished,
    # so the server drops the connection rather than passing off a short body as complete.
    assert [m["body"] for m in bodies] == [b"started"]
    assert bodies[-1]["more_body"] is True


async def test_rate_limit_per_token() -> None:
    clock = Clock()
    api = make_app(SecurityPolicy(rate_per_s=0.5, burst=3), clock)
    alice = {"Authorization": "Bearer alice-token"}
    bob = {"Authorization": "Bearer bob-token"}
    async with client(api) as http:
        first = [await http.get("/v1/things", headers=alice) for _ in range(3)]
        refused = await http.get("/v1/things", headers=alice)
        other_token = await http.get("/v1/things", headers=bob)
        exempt = [await http.get("/health", headers=alice) for _ in range(5)]
        clock.now += 1.9
        still_refused = await http.get("/v1/things", headers=alice)
        clock.now += 0.1  # 2 s after the refusal (which refilled nothing): one token back
        refilled = await http.get("/v1/things", headers=alice)
    assert [response.status_code for response in first] == [200, 200, 200]
    assert refused.status_code == 429
    # Empty bucket, refilled at 0.5/s: one token in 2 s.
    assert refused.headers["retry-after"] == "2"
    assert refused.json() == {"error": "rate limit: 0.5 requests/s per token"}
    assert_secured(refused)
    assert other_token.status_code == 200
    assert [response.status_code for response in exempt] == [200] * 5
    assert still_refused.status_code == 429
    assert still_refused.headers["retry-after"] == "1"  # 0.05 s left: rounded up to 1
    assert refilled.status_code == 200


async def test_without_a_token_the_client_address_is_the_key() -> None:
    clock = Clock()
    api = make_app(SecurityPolicy(rate_per_s=10, burst=2), clock)
    async with client(api, "10.0.0.1") as one, client(api, "10.0.0.2") as two:
        statuses = [(await one.get("/v1/things")).status_code for _ in range(3)]
        basic = await one.get("/v1/things", headers={"Authorization": "Basic eDp5"})
        other = await two.get("/v1/things")
        token = await one.get("/v1/things", headers={"Authorization": "bearer t"})
    assert statuses == [200, 200, 429]
    assert basic.status_code == 429  # not a bearer token: still keyed by the address
    assert basic.headers["retry-after"] == "1"  # 0.1 s, at least 1
    assert other.status_code == 200
    assert token.status_code == 200


async def test_a_new_made_up_token_on_every_request_does_not_escape_the_limit() -> None:
    clock = Clock()
    api = make_app(SecurityPolicy(rate_per_s=1, burst=2), clock)
    budget = 2 * ADDRESS_FACTOR  # the address's bucket
    async with client(api, "10.0.0.9") as forger, client(api, "10.0.0.8") as honest:
        statuses = [
            (await forger.get("/v1/things", headers={"Authorization": f"Bearer t{n}"})).status_code
            for n in range(budget + 1)
        ]
        elsewhere = await honest.get("/v1/things", headers={"Authorization": "Bearer t0"})
    assert statuses == [200] * budget + [429]
    assert elsewhere.status_code == 200  # the same token from another address: its own bucket


def test_buckets_refill_at_the_rate_and_never_above_burst() -> None:
    clock = Clock()
    buckets = TokenBuckets(rate_per_s=2.0, burst=2, clock=clock)
    assert [buckets.take("k") for _ in range(2)] == [0.0, 0.0]
    assert buckets.take("k") == pytest.approx(0.5)
    clock.now += 100
    assert [buckets.take("k") for _ in range(2)] == [0.0, 0.0]
    assert buckets.take("k") == pytest.approx(0.5)


def test_idle_buckets_are_dropped_and_the_count_is_capped() -> None:
    clock = Clock()
    buckets = TokenBuckets(rate_per_s=1.0, burst=5, max_keys=3, clock=clock)
    buckets.take("a")
    clock.now += 1
    buckets.take("b")
    assert len(buckets) == 2
    clock.now += 4.5  # "a" has been idle 5.5 s: full again, dropped; "b" 4.5 s: kept
    buckets.take("c")
    assert len(buckets) == 2
    buckets.take("d")
    buckets.take("e")  # a fourth key: the least recently used ("b") goes
    assert len(buckets) == 3
    for _ in range(4):
        buckets.take("c")
    assert buckets.take("c") > 0  # "c" kept its (empty) bucket


async def test_streaming_responses_are_not_buffered() -> None:
    api = make_app()
    sent: asyncio.Queue[Message] = asyncio.Queue()
    disconnect = asyncio.Event()
    request: list[Message] = [{"type": "http.request", "body": b"", "more_body": False}]

    async def receive() -> Message:
        if request:
            return request.pop()
        await disconnect.wait()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        await sent.put(message)

    task = asyncio.create_task(api(http_scope("GET", "/v1/stream"), receive, send))
    start = await asyncio.wait_for(sent.get(), 5)
    first = await asyncio.wait_for(sent.get(), 5)
    # The first event reached the client while the generator is still held at the gate.
    assert start["type"] == "http.response.start"
    assert first["body"] == b"data: one\n\n"
    assert first.get("more_body") is True
    headers = {name.decode(): value.decode() for name, value in start["headers"]}
    assert headers["content-security-policy"] == CSP
    assert headers["x-frame-options"] == "DENY"
    assert headers["content-type"].startswith("text/event-stream")
    api.state.gate.set()
    second = await asyncio.wait_for(sent.get(), 5)
    assert second["body"] == b"data: two\n\n"
    disconnect.set()
    await asyncio.wait_for(task, 5)


async def test_lifespan_passes_through() -> None:
    started = False

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        nonlocal started
        started = True
        yield

    api = FastAPI(lifespan=lifespan)
    secure(api, SecurityPolicy())
    messages = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])
    sent: list[Message] = []

    async def receive() -> Message:
        return next(messages)

    async def send(message: Message) -> None:
        sent.append(message)

    await api({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, receive, send)
    assert started
    assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]


async def test_secure_applies_to_the_real_app() -> None:
    from hub.api.app import create_api
    from hub.settings import load_settings

    try:
        api = create_api(load_settings({}), "127.0.0.1:1", None)
    except Exception as error:  # e.g. a setting the environment lacks: not this module's fault
        pytest.skip(f"the real app cannot be built here: {error}")
    secure(api, SecurityPolicy())
    async with client(api) as http:
        home = await http.get("/")
        dashboard = await http.get("/dashboard/")
    assert home.status_code == 307
    assert_secured(home)
    assert dashboard.status_code == 200
    # The dashboard's own policy is kept, not overwritten.
    assert dashboard.headers.get_list("content-security-policy") == [
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'"
    ]
    assert dashboard.headers["x-frame-options"] == "DENY"


def http_scope(
    method: str, path: str, headers: list[tuple[bytes, bytes]] | None = None
) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"hub"), *(headers or [])],
        "client": ("127.0.0.1", 5000),
        "server": ("hub", 80),
    }


async def drive(api: FastAPI, scope: dict[str, Any], body: list[bytes]) -> list[Message]:
    """Call ``api`` with ``body`` in chunks; every message it sends."""
    incoming: list[Message] = [
        {"type": "http.request", "body": part, "more_body": i < len(body) - 1}
        for i, part in enumerate(body)
    ]
    sent: list[Message] = []

    async def receive() -> Message:
        return incoming.pop(0) if incoming else {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    await asyncio.wait_for(api(scope, receive, send), 5)
    return sent


async def test_an_oversized_authorization_header_is_431_before_anything_reads_it() -> None:
    api = make_app()
    async with client(api) as http:
        huge = await http.get("/v1/things", headers={"Authorization": "Bearer " + "x" * 200_000})
        limit = "Bearer " + "x" * (MAX_AUTHORIZATION_BYTES - 7)
        at_limit = await http.get("/v1/things", headers={"Authorization": limit})
        over = await http.get("/v1/things", headers={"Authorization": limit + "x"})
        many = await http.get(
            "/v1/things", headers={f"X-Filler-{i}": "y" * 1000 for i in range(70)}
        )
    assert huge.status_code == 431
    assert huge.json() == {"error": f"Authorization header over {MAX_AUTHORIZATION_BYTES} bytes"}
    assert_secured(huge)
    assert at_limit.status_code == 200
    assert over.status_code == 431
    assert many.status_code == 431
    assert many.json() == {"error": f"request headers over {MAX_HEADERS_BYTES} bytes"}


async def test_oversized_headers_do_not_use_up_the_rate_limit() -> None:
    # Refused before the rate limit: an attacker's 431s do not count against the token.
    api = make_app(SecurityPolicy(rate_per_s=1, burst=1))
    async with client(api) as http:
        for _ in range(3):
            response = await http.get(
                "/v1/things", headers={"Authorization": "Bearer " + "x" * 9000}
            )
            assert response.status_code == 431
        assert (await http.get("/v1/things")).status_code == 200


def test_every_verdict_and_admin_route_checks_its_token_before_its_body() -> None:
    """The routes whose token is checked inside the route (not by a dependency) are listed in
    ``GUARDED_ROUTES``, so that a bad body or parameter is never answered 422 before the token
    is checked (``hub/api/access.py``, ``token_first``)."""
    from hub.api.access import GUARDED_ROUTES, guard_of
    from hub.api.app import create_api
    from hub.settings import load_settings

    try:
        api = create_api(load_settings({}), "127.0.0.1:1", None)
    except Exception as error:  # e.g. a setting the environment lacks: not this module's fault
        pytest.skip(f"the real app cannot be built here: {error}")
    guarded = {
        (method.upper(), path)
        for path, operations in api.openapi()["paths"].items()
        if path.startswith(("/v1/admin", "/v1/validations"))
        for method in operations
    }
    assert guarded, "no verdict or admin route found"
    assert guarded <= GUARDED_ROUTES.keys()
    assert (
        guard_of("GET", "/v1/validations/stream") == GUARDED_ROUTES["GET", "/v1/validations/stream"]
    )
    assert (
        guard_of("GET", "/v1/validations/C-1")
        == GUARDED_ROUTES["GET", "/v1/validations/{certificate_id}"]
    )
    admin_only = guard_of("DELETE", "/v1/admin/anything")
    assert admin_only is not None and admin_only.scopes == {"admin"}
    assert guard_of("GET", "/v1/ports") is None
