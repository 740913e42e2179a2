"""``POST /v1/events/{domain}``: the HTTP way in, for ports that do not speak Kafka.

A request carries one event (a JSON object) or a batch (a JSON array) of one domain, and a
publisher token (``Authorization: Bearer …``) that belongs to one port, or to a country's single
window (``customs-publish``: customs and certificate events of the country's ports; a request of
another domain is refused whole, 403 ``DOMAIN_NOT_ALLOWED``, before its body is read, and
audited). Every event gets its own
answer: ``accepted`` (it reached Kafka, acknowledged by all in-sync replicas), ``rejected`` (with
the reason code and a message; final, also sent to the dead-letter topic and counted), or
``failed`` (not delivered, not the event's fault: send it again). The status is 200 unless an
event failed (503) or the request itself is refused (401, 404, 400, 413).

Re-sending a whole batch is always safe: the hub de-duplicates by ``event_id``. The checks,
keys and dead letters are the ingest's (:mod:`hub.ingest.batch`, :mod:`hub.ingest.core`); this
module reads the request and writes the answer. The request examples of the OpenAPI document
are the samples of :mod:`hub.domain.samples` (``hub samples``), made when the API starts.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import asyncpg
from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from connectors.sample_issuer import sample_issuer
from hub.api.access import bearer_token
from hub.api.dependencies import Ingest
from hub.db import audit
from hub.db.tokens import Publisher, publisher_for
from hub.domain.reference import BUNDLED_PORTS_FILE, load_ports
from hub.domain.samples import DEFAULT_SAMPLE_PORT, SAMPLES, as_json, build_sample
from hub.ingest.batch import take_batch
from hub.ingest.core import send_dead_letters
from hub.kafka_topics import INGEST_TOPICS
from schemas.rejections import Rejected, RejectReason

__all__ = [
    "EMPTY_BODY",
    "MAX_BATCH",
    "EventResult",
    "IngestAnswer",
    "authenticate",
    "publish",
    "refuse_publisher",
    "request_examples",
    "router",
]

MAX_BATCH = 1000
_SOURCE = "http:/v1/events"
EMPTY_BODY = (
    "the body is empty: send one event (a JSON object) or a batch (a JSON array); "
    "`curl -d @FILE` sends nothing when FILE is missing (curl without -s says so), and "
    "`hub samples NAME > FILE` writes a valid event"
)


class EventResult(BaseModel):
    index: int
    event_id: str | None = None
    status: Literal["accepted", "rejected", "failed"]
    reason: str | None = None
    detail: str | None = None


class IngestAnswer(BaseModel):
    accepted: int
    rejected: int
    failed: int
    results: list[EventResult]


router = APIRouter()


def request_examples(now: datetime) -> dict[str, dict[str, Any]]:
    """One OpenAPI example of the request body per sample (``hub samples``), of the default
    port at ``now``: valid for HUB_LATE_GRACE_HOURS from then."""
    ports = load_ports(BUNDLED_PORTS_FILE)
    issuer = sample_issuer(DEFAULT_SAMPLE_PORT[:2], {port.country for port in ports})
    return {
        kind.name: {
            "summary": f"{kind.name} (POST /v1/events/{kind.domain}): {kind.summary}",
            "value": as_json(build_sample(kind.name, DEFAULT_SAMPLE_PORT, now, issuer).event),
        }
        for kind in SAMPLES
    }


# The body is read raw (a JSON object or array, checked event by event), so FastAPI cannot
# describe it from a parameter: the request body and its examples are declared here. The
# examples are built when the API starts; `hub samples NAME` prints fresh ones.
_REQUEST_BODY = {
    "required": True,
    "description": "One event (a JSON object) or a batch of up to 1,000 (a JSON array) of the "
    "path's domain; the fields are the Avro schema's (GET /registry/subjects/ingest.DOMAIN-value"
    "/versions/latest, or schemas/avro/DOMAIN.avsc). The examples are valid events of port "
    f"{DEFAULT_SAMPLE_PORT} made when the API started; `hub samples NAME --port PORT` makes "
    "fresh ones (an event older than HUB_LATE_GRACE_HOURS is refused TOO_LATE).",
    "content": {
        "application/json": {
            "schema": {
                "anyOf": [
                    {"type": "object"},
                    {"type": "array", "items": {"type": "object"}, "maxItems": MAX_BATCH},
                ]
            },
            "examples": request_examples(datetime.now(UTC).replace(microsecond=0)),
        }
    },
}


@router.post(
    "/v1/events/{domain}",
    response_model=IngestAnswer,
    responses={503: {"model": IngestAnswer}},
    summary="Publish one event or a batch of one domain (vessel, cargo, customs, certificate)",
    openapi_extra={"requestBody": _REQUEST_BODY},
)
async def publish(
    domain: str,
    request: Request,
    context: Ingest,
    authorization: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    if domain not in INGEST_TOPICS:
        return _error(404, f"unknown domain {domain!r}; one of {', '.join(INGEST_TOPICS)}")
    publisher = await authenticate(context.pool, authorization)
    if publisher is None:
        await refuse_publisher(context.pool, request, authorization, "events.publish", domain)
        return _error(401, "a valid publisher token is required (Authorization: Bearer …)")
    if (refusal := publisher.refusal(domain)) is not None:
        remote = request.client.host if request.client else None
        outcome = f"403 {refusal.reason.value}"
        await audit.record(context.pool, publisher.actor, "events.publish", domain, outcome, remote)
        return _error(403, refusal.detail, reason=refusal.reason)
    body = await request.body()
    if len(body) > (limit := context.settings.api.max_request_bytes):
        return _error(413, f"body over {limit} bytes; send smaller batches")
    source = f"{_SOURCE}/{domain}"
    try:
        items = _items(json.loads(body))
    except (ValueError, UnicodeDecodeError, RecursionError) as error:
        problem = "nested too deep" if isinstance(error, RecursionError) else str(error)
        detail = f"body is not JSON: {problem}"[:300]
        if not body.strip():  # what `curl -s -d @missing-file` sends: say so, not "not JSON"
            detail = EMPTY_BODY
        rejection = Rejected(RejectReason.UNDECODABLE, detail)
        await send_dead_letters(
            context, domain, [(body, rejection)], source=source, publisher=publisher.code
        )
        return _error(400, rejection.detail, reason=rejection.reason)
    if len(items) > MAX_BATCH:
        return _error(413, f"{len(items)} events in one request; at most {MAX_BATCH}")
    outcomes = await take_batch(context, domain, publisher, items, source=source)
    results = [EventResult(**asdict(outcome)) for outcome in outcomes]
    counts = Counter(result.status for result in results)
    answer = IngestAnswer(
        accepted=counts["accepted"],
        rejected=counts["rejected"],
        failed=counts["failed"],
        results=results,
    )
    status = 503 if answer.failed else 200
    return JSONResponse(answer.model_dump(mode="json", exclude_none=True), status_code=status)


async def authenticate(pool: asyncpg.Pool, authorization: str | None) -> Publisher | None:
    """The publisher of the request's ``Authorization: Bearer …`` token, or None."""
    token = bearer_token(authorization)
    return None if token is None else await publisher_for(pool, token)


async def refuse_publisher(
    pool: asyncpg.Pool, request: Request, authorization: str | None, action: str, target: str
) -> None:
    """Write a refused publication (no valid publisher token) to the audit log."""
    remote = request.client.host if request.client else None
    outcome = "401 no valid publisher token"
    await audit.record(pool, audit.presented_actor(authorization), action, target, outcome, remote)


def _items(document: Any) -> list[Any]:
    return document if isinstance(document, list) else [document]


def _error(status: int, message: str, reason: RejectReason | None = None) -> JSONResponse:
    body: dict[str, Any] = {"error": message}
    if reason is not None:
        body["reason"] = reason.value
    return JSONResponse(body, status_code=status)
