"""``POST /v1/conformance``: a publisher's sample feed checked as ``hub conformance`` checks it.

The body is the feed, with the publisher token of the port it is for (the port is the token's;
a single window's token checks it as that single window's feed): JSON lines
(``application/x-ndjson``, also ``application/json``), an Avro object container file
(``application/avro``, ``avro/binary``) or an EDIFACT interchange (``application/edifact``);
without a Content-Type (or ``application/octet-stream``) the first bytes tell. Optional query
parameters: ``at`` (check as if sent then, ISO 8601; default now) and ``domain`` (of bare JSON
events without ``event_type``).

Nothing is published: no Kafka record, no database row. The answer is the report
(:meth:`hub.domain.conformance.ConformanceReport.as_json`, the JSON of ``hub conformance
--json``) with status 200 whether or not the feed is clean (``"clean"`` says). 401 without a
publisher token, 413 over ``HUB_MAX_REQUEST_BYTES``, 415 for another content type, 422 when
nothing in the body can be read as an event (random bytes, NUL, JSON nested too deep; the
answer gives the reason and the report).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Final

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse

from hub.api.dependencies import Ingest
from hub.api.ingest import authenticate, refuse_publisher
from hub.domain.conformance import ConformanceReport, check_feed
from hub.domain.publishers import Publisher
from hub.ingest.conformance_input import Format, read_feed
from schemas.avro_schemas import DOMAINS

__all__ = ["CONTENT_TYPES", "check_conformance", "router"]

CONTENT_TYPES: Final[dict[str, Format | None]] = {
    "application/x-ndjson": "jsonl",
    "application/jsonl": "jsonl",
    "application/json": "jsonl",
    "application/avro": "avro",
    "avro/binary": "avro",
    "application/vnd.apache.avro+binary": "avro",
    "application/edifact": "edifact",
    "application/octet-stream": None,
    "": None,
}
"""The body's Content-Type (without parameters) → its format (None: told by the first bytes)."""

_FEED_NAME: Final = "body"

router = APIRouter()


@router.post(
    "/v1/conformance",
    summary="Check a sample feed (JSON lines, Avro, EDIFACT) without publishing it",
    responses={
        200: {"description": "the conformance report (clean or not)"},
        415: {"description": "a content type the check does not read"},
        422: {"description": "nothing in the body can be read as an event"},
    },
)
async def check_conformance(
    request: Request,
    context: Ingest,
    authorization: Annotated[str | None, Header()] = None,
    content_type: Annotated[str | None, Header()] = None,
    at: Annotated[str | None, Query(description="check as if sent then (ISO 8601)")] = None,
    domain: Annotated[str | None, Query(description="domain of bare JSON events")] = None,
) -> JSONResponse:
    publisher = await authenticate(context.pool, authorization)
    if publisher is None:
        await refuse_publisher(context.pool, request, authorization, "conformance.check", "")
        return _error(401, "a valid publisher token is required (Authorization: Bearer …)")
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media not in CONTENT_TYPES:
        known = ", ".join(t for t in CONTENT_TYPES if t)
        return _error(415, f"content type {media[:64]!r} is not a feed the check reads: {known}")
    # Parameters are judged after the token, inside the route: a stranger learns nothing.
    if domain is not None and domain not in DOMAINS:
        return _error(422, f"domain {domain[:32]!r} is none of {', '.join(DOMAINS)}")
    now = datetime.now(UTC)
    if at is not None:
        try:
            now = datetime.fromisoformat(at)
        except ValueError:
            return _error(422, f"at={at[:64]!r} is not an ISO 8601 time")
        now = now if now.tzinfo else now.replace(tzinfo=UTC)
    body = await request.body()
    if len(body) > (limit := context.settings.api.max_request_bytes):
        return _error(413, f"body over {limit} bytes; check larger feeds with `hub conformance`")
    late_grace = timedelta(hours=context.settings.rules.late_grace_hours)
    # Checking a feed is CPU work of seconds: off the event loop, so other requests go on.
    report = await asyncio.to_thread(
        _check, body, CONTENT_TYPES[media], publisher, context.known_ports, now, late_grace, domain
    )
    if report.records == 0 and report.problems:
        first = report.problems[0]
        reason = f"nothing in the body can be read as an event: {first.detail}"
        return JSONResponse({"error": reason, "report": report.as_json()}, status_code=422)
    return JSONResponse(report.as_json())


def _check(
    body: bytes,
    format: Format | None,
    publisher: Publisher,
    known_ports: frozenset[str],
    now: datetime,
    late_grace: timedelta,
    domain: str | None,
) -> ConformanceReport:
    records = list(read_feed(_FEED_NAME, body, now, format=format, default_domain=domain))
    return check_feed(records, publisher, known_ports, now, late_grace, sources=(_FEED_NAME,))


def _error(status: int, message: str) -> JSONResponse:
    body: dict[str, Any] = {"error": message}
    return JSONResponse(body, status_code=status)
