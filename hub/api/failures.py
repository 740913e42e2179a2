"""What the API answers when a request fails for a reason that is not the request's: installed
once for the whole app by :func:`handle_failures`, not route by route.

- **A service the hub needs is unavailable** (PostgreSQL stopped, restarting or out of
  connections, the broker unreachable, a connection dropped mid-query, a pool or command
  timeout): ``503`` with ``Retry-After`` and the body
  ``{"error": "not delivered, retry", "reason": "UNAVAILABLE", "detail": …}``. Every write of
  the hub is idempotent (events are de-duplicated by ``event_id``, registry and issuer writes
  are upserts), so the client re-sends the same request and nothing is half done.
- **Anything else unexpected** (a bug): ``500`` with ``{"error": "internal error", …}``, logged
  with its traceback, the method and the route, and counted by the metrics like any other
  answer. It never escapes as the server's bare 500.

An exception raised once a response has started (a stream) cannot change its status: it is
logged and the connection dropped, so that the client sees a broken response, not a short one.
"""

from __future__ import annotations

import logging
import time

import aiokafka.errors
import asyncpg
import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub import errors

__all__ = [
    "NOT_DELIVERED",
    "RETRY_AFTER_S",
    "UNAVAILABLE_ERRORS",
    "handle_failures",
    "unavailable_service",
]

log = logging.getLogger(__name__)

RETRY_AFTER_S = 2
"""The ``Retry-After`` of a 503: a stopped PostgreSQL or broker is usually back within seconds."""
NOT_DELIVERED = "not delivered, retry"

UNAVAILABLE_ERRORS: dict[type[Exception], str] = {
    # Connection-level failures (class 08), the server shutting down or starting up, a cancelled
    # statement (class 57), too many connections or out of resources (class 53).
    asyncpg.PostgresConnectionError: "database",
    asyncpg.exceptions.OperatorInterventionError: "database",
    asyncpg.exceptions.InsufficientResourcesError: "database",
    # "connection is closed", "pool is closing": the connection went away under the query.
    asyncpg.InterfaceError: "database",
    errors.DatabaseError: "database",
    aiokafka.errors.KafkaError: "broker",
    errors.BrokerError: "broker",
    # Any other service the hub needs, or the API's own connections not open yet (starting).
    errors.ServiceError: "database or broker",
    # An external schema registry (HUB_SCHEMA_REGISTRY_URL) that does not answer.
    httpx.TransportError: "schema registry",
    # Refused, reset or unreachable connections, and timeouts (asyncpg's command_timeout, a pool
    # acquire): TimeoutError and ConnectionError are OSErrors.
    OSError: "database or broker",
}
"""Exceptions that mean a service the hub needs is unavailable, and which one (by the most
specific class in the exception's MRO)."""

# One warning per service and exception type at most this often: an outage of a minute under
# load must not write thousands of identical lines.
_WARN_EVERY_S = 10.0
_last_warned: dict[tuple[str, str], float] = {}


def unavailable_service(error: BaseException) -> str | None:
    """The service whose unavailability ``error`` shows (``"database"``, ``"broker"`` …), or None
    when it is not such an error. An exception group qualifies when all its members do."""
    if isinstance(error, BaseExceptionGroup):
        found = [unavailable_service(member) for member in error.exceptions]
        return found[0] if found and all(found) else None
    for cls in type(error).__mro__:
        if cls in UNAVAILABLE_ERRORS:
            return UNAVAILABLE_ERRORS[cls]
    return None


def unavailable_response(service: str, error: BaseException) -> JSONResponse:
    """The 503 "not delivered, retry" answer."""
    return JSONResponse(
        {
            "error": NOT_DELIVERED,
            "reason": "UNAVAILABLE",
            # The class only: the message may name hosts and ports the client has no use for.
            "detail": f"the hub's {service} is unavailable ({type(error).__name__}); nothing "
            f"was done: send the same request again in {RETRY_AFTER_S} s",
        },
        status_code=503,
        headers={"Retry-After": str(RETRY_AFTER_S)},
    )


def handle_failures(api: FastAPI) -> None:
    """Install the 503 handlers and the last-resort 500 on ``api``. Call it before adding any
    other middleware: the last resort must be the innermost layer, so that the others (the
    metrics, the security headers) see its answer like any other."""

    async def on_unavailable(request: Request, error: Exception) -> JSONResponse:
        service = unavailable_service(error) or "database or broker"
        _warn(service, error, request.method, _route(request.scope))
        return unavailable_response(service, error)

    for cls in UNAVAILABLE_ERRORS:
        api.add_exception_handler(cls, on_unavailable)
    api.add_middleware(_LastResort)


class _LastResort:
    """Answers what the exception handlers did not: 503 for an exception group of unavailable
    services, else 500, logged with the route."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watching_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watching_send)
        except ClientDisconnect:
            raise  # the client left (or the size limit cut the body): nobody to answer
        except Exception as error:
            method, route = scope["method"], _route(scope)
            service = unavailable_service(error)
            if started:
                log.error(
                    "%s %s failed after its response had started; connection dropped",
                    method, route, exc_info=error,
                )  # fmt: skip
                return
            if service is not None:
                _warn(service, error, method, route)
                response = unavailable_response(service, error)
            else:
                log.error("unexpected error answering %s %s", method, route, exc_info=error)
                response = JSONResponse(
                    {
                        "error": "internal error",
                        "detail": "the hub could not answer this request; the error is logged",
                    },
                    status_code=500,
                )
            await response(scope, receive, send)


def _route(scope: Scope) -> str:
    """The request's path, and the template of the route that took it if any."""
    path = str(scope.get("path", "?"))
    template = getattr(scope.get("route"), "path", None)
    return f"{path} (route {template})" if template and template != path else path


def _warn(service: str, error: BaseException, method: str, route: str) -> None:
    key = (service, type(error).__name__)
    now = time.monotonic()
    if now - _last_warned.get(key, -_WARN_EVERY_S) >= _WARN_EVERY_S:
        _last_warned[key] = now
        log.warning(
            "%s %s: the %s is unavailable (%s: %s); answered 503 (such lines at most every "
            "%.0f s)", method, route, service, type(error).__name__, error, _WARN_EVERY_S,
        )  # fmt: skip
