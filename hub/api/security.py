"""HTTP hardening of the API: security headers, closed-by-default CORS, a request size limit and a
rate limit per token, installed by :func:`secure` as pure ASGI middleware.

Choices:

- **Pure ASGI, not ``BaseHTTPMiddleware``.** Each layer only wraps ``receive`` and ``send``, so a
  streaming response (the Server-Sent Events of ``/v1/validations/stream``) passes through chunk
  by chunk, nothing is buffered, and lifespan and WebSocket scopes go through untouched.
- **Order, outermost first:** headers, CORS, header limit, rate limit, size limit, then the app.
  The headers layer is outermost so that the refusals of the other layers (403, 431, 429, 413)
  carry them too;
  CORS comes before the rate limit so that a browser can read a 429 of an allowed origin.
- **Headers never overwrite** one the app set itself (the dashboard sends its own
  Content-Security-Policy). The default policy allows exactly what the dashboard needs: its own
  scripts, styles, images and API; ``data:`` images (its favicon); and inline ``style``
  *attributes* (``style-src-attr 'unsafe-inline'``), because ECharts writes its tooltips as HTML
  with ``style="…"``. No inline script, no eval, no other origin. FastAPI's ``/docs`` and
  ``/redoc`` pages load Swagger UI and ReDoc from cdn.jsdelivr.net with an inline start-up
  script, so those pages alone get a policy that allows that (see ``_DOCS_CSP``).
- **CORS is closed unless origins are listed:** no ``Access-Control-*`` header leaves the app
  (one a route set is removed) and a preflight gets 403. With origins listed, Starlette's
  ``CORSMiddleware`` answers for exactly those (GET and POST; Authorization and Content-Type; no
  credentials). ``"*"`` is refused: a wildcard is not a list of origins.
- **Size limit:** a ``Content-Length`` over the limit is answered 413 before the app runs. Every
  body is also counted as the app reads it (chunked bodies have no length, and a length can lie):
  once over the limit the app is told the client left (``http.disconnect``), and the client gets
  413 if no response had started; otherwise the response is left unfinished, so that the server
  drops the connection instead of passing a truncated answer off as complete.
- **Header limit:** an ``Authorization`` header over ``MAX_AUTHORIZATION_BYTES`` (8 KiB, far more
  than any token of the hub) or a request head over ``MAX_HEADERS_BYTES`` is answered 431 before
  anything else reads it (the rate limit would hash it, the audit would keep its digest). The
  HTTP server buffers heads up to ``HEADER_BUFFER_BYTES`` of ``hub/api/app.py`` so that such a
  request reaches this layer instead of having its connection reset.
- **Rate limit:** a token bucket per key, the SHA-256 of the bearer token (the token itself is
  never kept) or, without one, the client address. Exempt paths match whole path segments
  (``/health`` covers ``/health`` and ``/health/…``, not ``/healthz``). A bucket untouched for
  ``burst / rate`` seconds is full again, as good as absent, so it is dropped; at most
  ``max_keys`` buckets are kept, the least recently used going first. Every request also
  takes from its client address's bucket, ``ADDRESS_FACTOR`` times larger, so that inventing a
  new token for each request does not escape the limit.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "ADDRESS_FACTOR",
    "MAX_AUTHORIZATION_BYTES",
    "MAX_HEADERS_BYTES",
    "SecurityPolicy",
    "TokenBuckets",
    "secure",
]

ADDRESS_FACTOR = 10
"""One client address may make this many times a token's requests (many tokens behind one
proxy), and no more whatever tokens it presents."""

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; "
    "style-src-attr 'unsafe-inline'; script-src 'self'; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
# Swagger UI (cdn.jsdelivr.net, an inline start-up script, FastAPI's favicon) and ReDoc (the
# same CDN, Google Fonts, inline styles, a worker from a blob). Only on FastAPI's docs pages.
_DOCS_CSP = (
    "default-src 'self'; img-src 'self' data: https://fastapi.tiangolo.com https://cdn.redoc.ly; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
    "font-src 'self' https://fonts.gstatic.com; "
    "script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; worker-src 'self' blob:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
HEADERS: tuple[tuple[str, str], ...] = (
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Permissions-Policy", "geolocation=(), camera=(), microphone=()"),
)

MAX_AUTHORIZATION_BYTES = 8 * 2**10
"""The longest ``Authorization`` header accepted (431 beyond); the hub's tokens are ~50 bytes."""
MAX_HEADERS_BYTES = 64 * 2**10
"""The most bytes of header names and values one request may carry (431 beyond)."""

_CORS_METHODS = ("GET", "POST")
_CORS_HEADERS = ("Authorization", "Content-Type")
# Past this many buckets the least recently used goes, even if not yet full again: memory stays
# bounded however many tokens (or forged ones) arrive; the price is a fresh bucket for that key.
MAX_BUCKETS = 100_000


@dataclass(frozen=True, slots=True)
class SecurityPolicy:
    """What :func:`secure` enforces.

    Args:
        cors_origins: origins allowed to call the API from a browser; none: CORS closed.
        max_request_bytes: the largest request body accepted (413 beyond).
        rate_per_s: requests per second a token (or, without one, an address) may make, sustained.
        burst: how many requests a token may make at once before the rate applies.
        exempt_paths: path prefixes never rate limited (health checks and metrics scrapes).
    """

    cors_origins: tuple[str, ...] = ()
    max_request_bytes: int = 5 * 2**20
    rate_per_s: float = 20.0
    burst: int = 100
    exempt_paths: tuple[str, ...] = ("/health", "/metrics")

    def __post_init__(self) -> None:
        if "*" in self.cors_origins:
            raise ValueError("cors_origins: list the origins; '*' is not allowed")
        if self.max_request_bytes < 0:
            raise ValueError(f"max_request_bytes must be >= 0, not {self.max_request_bytes}")
        if not self.rate_per_s > 0:
            raise ValueError(f"rate_per_s must be > 0, not {self.rate_per_s}")
        if self.burst < 1:
            raise ValueError(f"burst must be >= 1, not {self.burst}")


def secure(
    api: FastAPI, policy: SecurityPolicy, *, clock: Callable[[], float] = time.monotonic
) -> None:
    """Install the policy's middleware on ``api`` (before it starts serving).

    Args:
        api: the app; its docs pages (``docs_url``, ``redoc_url``) get the docs' CSP.
        policy: what to enforce.
        clock: a monotonic clock in seconds, for the rate limit (injectable for tests).
    """
    # add_middleware puts each new layer outside the previous ones: add the innermost first.
    api.add_middleware(_BodyLimit, max_bytes=policy.max_request_bytes)
    api.add_middleware(
        _RateLimit,
        buckets=TokenBuckets(policy.rate_per_s, policy.burst, clock=clock),
        addresses=TokenBuckets(
            policy.rate_per_s * ADDRESS_FACTOR, policy.burst * ADDRESS_FACTOR, clock=clock
        ),
        exempt=policy.exempt_paths,
    )
    api.add_middleware(_HeaderLimit)
    if policy.cors_origins:
        api.add_middleware(
            CORSMiddleware,
            allow_origins=policy.cors_origins,
            allow_methods=_CORS_METHODS,
            allow_headers=_CORS_HEADERS,
            allow_credentials=False,
        )
    else:
        api.add_middleware(_NoCrossOrigin)
    docs = {url for url in (api.docs_url, api.redoc_url, api.swagger_ui_oauth2_redirect_url) if url}
    api.add_middleware(
        _SecurityHeaders, docs_paths=frozenset(docs), strip_cors=not policy.cors_origins
    )


class TokenBuckets:
    """Token buckets by key: each holds up to ``burst`` tokens, refilled at ``rate_per_s``, and
    a request takes one.

    Args:
        rate_per_s: tokens added per second.
        burst: the bucket's capacity, and a new key's starting amount.
        max_keys: the most buckets kept (least recently used dropped first).
        clock: monotonic seconds.
    """

    __slots__ = ("_buckets", "_clock", "_full_after_s", "burst", "max_keys", "rate_per_s")

    def __init__(
        self,
        rate_per_s: float,
        burst: int,
        *,
        max_keys: int = MAX_BUCKETS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not rate_per_s > 0 or burst < 1 or max_keys < 1:
            raise ValueError("rate_per_s must be > 0, burst and max_keys >= 1")
        self.rate_per_s = rate_per_s
        self.burst = burst
        self.max_keys = max_keys
        self._clock = clock
        self._full_after_s = burst / rate_per_s
        # key -> (tokens, when last touched); ordered from least to most recently touched.
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._buckets)

    def take(self, key: str) -> float:
        """Take a token for ``key``: 0.0 if there was one, else the seconds until there is."""
        now = self._clock()
        self._evict_idle(now)
        tokens, last = self._buckets.pop(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + max(0.0, now - last) * self.rate_per_s)
        wait = 0.0
        if tokens >= 1.0:
            tokens -= 1.0
        else:
            wait = (1.0 - tokens) / self.rate_per_s
        self._buckets[key] = (tokens, now)
        if len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)
        return wait

    def _evict_idle(self, now: float) -> None:
        # The oldest entries come first; stop at the first one that may still be short of tokens.
        while self._buckets:
            _, (_, last) = next(iter(self._buckets.items()))
            if now - last < self._full_after_s:
                return
            self._buckets.popitem(last=False)


class _SecurityHeaders:
    """Adds the security headers to every HTTP response that lacks them; with CORS closed,
    removes any ``Access-Control-*`` header."""

    def __init__(self, app: ASGIApp, docs_paths: frozenset[str], strip_cors: bool) -> None:
        self.app = app
        self.docs_paths = docs_paths
        self.strip_cors = strip_cors
        self.common = tuple((name.lower().encode(), value.encode()) for name, value in HEADERS)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        csp = _DOCS_CSP if scope["path"] in self.docs_paths else CSP
        extra = ((b"content-security-policy", csp.encode()), *self.common)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (name, value)
                    for name, value in message.get("headers", ())
                    if not (self.strip_cors and name.lower().startswith(b"access-control-"))
                ]
                present = {name.lower() for name, _ in headers}
                headers.extend(header for header in extra if header[0] not in present)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class _NoCrossOrigin:
    """CORS closed: a preflight request gets 403 (and the app never sees it)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "OPTIONS":
            names = {name.lower() for name, _ in scope["headers"]}
            if b"origin" in names and b"access-control-request-method" in names:
                await _send_error(send, 403, "cross-origin requests are not allowed")
                return
        await self.app(scope, receive, send)


class _HeaderLimit:
    """431 for an ``Authorization`` header over ``MAX_AUTHORIZATION_BYTES`` or headers over
    ``MAX_HEADERS_BYTES`` in all."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            total = 0
            for name, value in scope["headers"]:
                total += len(name) + len(value)
                if name.lower() == b"authorization" and len(value) > MAX_AUTHORIZATION_BYTES:
                    error = f"Authorization header over {MAX_AUTHORIZATION_BYTES} bytes"
                    await _send_error(send, 431, error)
                    return
            if total > MAX_HEADERS_BYTES:
                await _send_error(send, 431, f"request headers over {MAX_HEADERS_BYTES} bytes")
                return
        await self.app(scope, receive, send)


class _RateLimit:
    """429 once a token (or an address) has used up its bucket; exempt paths pass."""

    def __init__(
        self,
        app: ASGIApp,
        buckets: TokenBuckets,
        addresses: TokenBuckets,
        exempt: Iterable[str],
    ) -> None:
        self.app = app
        self.buckets = buckets
        self.addresses = addresses
        self.exempt = tuple(path.rstrip("/") for path in exempt)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self._exempt(scope["path"]):
            await self.app(scope, receive, send)
            return
        wait = self.buckets.take(_client_key(scope))
        # A fresh made-up token on every request would get a fresh bucket every time: the
        # address pays too, from a bucket ADDRESS_FACTOR times as large.
        address_wait = self.addresses.take(_address_key(scope))
        if wait > 0 or address_wait > 0:
            wait = max(wait, address_wait)
            error = f"rate limit: {self.buckets.rate_per_s:g} requests/s per token"
            retry_after = str(max(1, math.ceil(wait)))
            await _send_error(send, 429, error, [("retry-after", retry_after)])
            return
        await self.app(scope, receive, send)

    def _exempt(self, path: str) -> bool:
        return any(path == prefix or path.startswith(prefix + "/") for prefix in self.exempt)


def _client_key(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name.lower() == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            token = token.strip()
            if scheme.lower() == "bearer" and token:
                return "token:" + hashlib.sha256(token.encode("latin-1")).hexdigest()
            break
    return _address_key(scope)


def _address_key(scope: Scope) -> str:
    client = scope.get("client")
    return "address:" + (str(client[0]) if client else "unknown")


class _BodyLimit:
    """413 for a body over ``max_bytes``: by its Content-Length up front, or counted as read."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal = f"request body over {self.max_bytes} bytes"
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await _send_error(send, 413, refusal)
            return

        received = 0
        cut = False  # the body went over the limit: the app gets no more of it
        started = False  # the app began its response

        async def counting_receive() -> Message:
            nonlocal received, cut
            if cut:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    cut = True
                    if not started:
                        await _send_error(send, 413, refusal)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if cut:
                # Either a 413 went out, or the response is abandoned half-way on purpose.
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except ClientDisconnect:
            # What an app reading the body raises on the disconnect we made up; already answered.
            if not cut:
                raise
        # If the response had started when the body was cut, returning with it unfinished makes
        # the server drop the connection: the client sees a broken response, not a short one.


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the server refuses a malformed length; counting still applies
    return None


async def _send_error(
    send: Send, status: int, error: str, headers: Iterable[tuple[str, str]] = ()
) -> None:
    body = json.dumps({"error": error}).encode()
    raw = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *((name.encode(), value.encode()) for name, value in headers),
    ]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})
