"""Prometheus metrics of the HTTP API: requests by route and status, their duration, and
``GET /metrics`` itself (the worker serves its own, see ``streams/metrics.py``)."""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from starlette.routing import Match
from starlette.types import Scope

HTTP_REQUESTS = Counter(
    "hub_http_requests", "HTTP requests answered, by method, route and status",
    ["method", "route", "status"],
)  # fmt: skip
HTTP_SECONDS = Histogram(
    "hub_http_request_seconds", "Time to answer an HTTP request, by route", ["route"]
)


def instrument(api: FastAPI) -> None:
    """Count and time every request, labelled by its route template (``/v1/ports/{unlocode}/kpis``,
    not the path, so that labels stay few), and serve ``GET /metrics``."""

    @api.middleware("http")
    async def measure(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        began = time.perf_counter()
        # Routing rewrites the scope on the way down (a mount moves its prefix to root_path):
        # the route is found on the scope as it came in, and on what answered.
        arrived = dict(request.scope)
        response = await call_next(request)
        route = _route_of(api, arrived, request.scope.get("route"))
        HTTP_REQUESTS.labels(request.method, route, str(response.status_code)).inc()
        HTTP_SECONDS.labels(route).observe(time.perf_counter() - began)
        return response

    @api.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


def _route_of(api: FastAPI, scope: Scope, answered: object) -> str:
    for route in api.router.routes:
        match, _ = route.matches(scope)
        if match is Match.FULL:
            path = getattr(route, "path", None)
            # An included router has no path of its own: name the route by its OpenAPI template.
            return str(path) if path else _template_of(api, scope["path"], answered)
    return "unmatched"


def _template_of(api: FastAPI, path: str, answered: object) -> str:
    for pattern, template in _templates(api):
        if pattern.fullmatch(path):
            return template
    # A route left out of the OpenAPI schema (the home page's redirect): the template of the route
    # that answered, when it is the whole path (its router was included without a prefix).
    own = getattr(answered, "path_format", None)
    if isinstance(own, str) and _pattern(own).fullmatch(path):
        return own
    return "other"


def _pattern(template: str) -> re.Pattern[str]:
    return re.compile(re.sub(r"\{[^}]+\}", "[^/]+", template))


_TEMPLATES: dict[int, list[tuple[re.Pattern[str], str]]] = {}


def _templates(api: FastAPI) -> list[tuple[re.Pattern[str], str]]:
    """The OpenAPI path templates of ``api`` as patterns, most specific (fewest parameters)
    first, so that ``/v1/validations/stream`` wins over ``/v1/validations/{certificate_id}``."""
    found = _TEMPLATES.get(id(api))
    if found is None:
        templates = sorted(api.openapi()["paths"], key=lambda t: (t.count("{"), t))
        found = [(_pattern(t), t) for t in templates]
        _TEMPLATES[id(api)] = found
    return found
