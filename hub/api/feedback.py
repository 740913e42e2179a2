"""``GET /v1/feedback``: a publisher's refusals, whichever way in they came by (issue 20).

A port's publisher token reads its own port's refusals, a single window's token its own (the
country's code), an admin token anyone's (``?publisher=PECLL`` or ``PE``; unset: all). Asking for
another publisher's is 403 and audited; nothing of another publisher is ever returned. Filters:
``since`` / ``until`` (ISO 8601; without an offset, UTC), ``reason``, ``domain``; ``limit`` (default
100, at most 1000); newest first, paged with ``cursor`` (the previous page's ``next_cursor``).

The rows are written by the feedback forwarder (:mod:`hub.notify.feedback`), a moment after the
refusal, and kept ``HUB_FEEDBACK_RETENTION_DAYS``. The query string is read in the route, after
the token: a bad one is a 422 naming the parameter, never a 500, and never before a 401/403.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Query, Request
from pydantic import BaseModel

from hub.api.access import actor_of, identify
from hub.api.dependencies import Pool
from hub.db import audit
from hub.db.feedback import Feedback, feedback_page
from hub.db.tokens import Publisher
from hub.domain.publishers import SINGLE_WINDOW_SCOPE
from schemas.rejections import RejectReason

__all__ = ["DEFAULT_LIMIT", "MAX_LIMIT", "FeedbackItem", "FeedbackPage", "router"]

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
_ACTION = "feedback.read"
_PUBLISHER = re.compile(r"[A-Z]{2}(?:[A-Z2-9]{3})?")
_DOMAIN = re.compile(r"[a-z]{1,32}")
_KAFKA_SOURCE = re.compile(r"(?P<topic>[^/]+)/(?P<partition>\d{1,9})/(?P<offset>\d{1,19})")
_MAX_TIME_CHARS = 64


class FeedbackItem(BaseModel):
    publisher: str
    """The port's UN/LOCODE, or the single window's ISO code."""
    domain: str
    reason: str
    detail: str
    event_id: str | None
    """The refused event's id, when the record had one that could be read."""
    source: str
    """Where the refused record came from: ``topic/partition/offset`` over Kafka, else the way
    in (``http:/v1/events/vessel``)."""
    topic: str | None
    partition: int | None
    offset: int | None
    """The refused record's place on the publisher's own topic (or the ingest topic), when it
    came over Kafka."""
    refused_at: datetime


class FeedbackPage(BaseModel):
    feedback: list[FeedbackItem]
    next_cursor: str | None
    """Pass as ``cursor`` for the next (older) page; None: this is the last."""


router = APIRouter()


@router.get(
    "/v1/feedback",
    response_model=FeedbackPage,
    summary="Your refused events: reason, detail, event id or offset, time",
    responses={
        401: {"description": "No token, or an unknown, expired or revoked one"},
        403: {"description": "Another publisher's feedback, or a token that is no publisher's"},
        422: {"description": "A query parameter out of its form or range"},
    },
)
async def read_feedback(
    request: Request,
    pool: Pool,
    authorization: Annotated[str | None, Header()] = None,
    publisher: Annotated[str | None, Query(description="admin: whose (PECLL, PE)")] = None,
    since: Annotated[str | None, Query(description="refused at or after (ISO 8601)")] = None,
    until: Annotated[str | None, Query(description="refused before (ISO 8601)")] = None,
    reason: Annotated[str | None, Query(description="a reason code (PORT_NOT_OWNED …)")] = None,
    domain: Annotated[str | None, Query(description="vessel, cargo, customs, …")] = None,
    limit: Annotated[str | None, Query(description="at most this many (1-1000)")] = None,
    cursor: Annotated[str | None, Query(description="the previous page's next_cursor")] = None,
) -> FeedbackPage:
    """The refusals of the token's publisher (an admin token: anyone's), newest first."""
    whose = await _whose(pool, request, authorization, publisher)
    count = _limit(limit)
    rows = await feedback_page(
        pool,
        whose,
        since=_time("since", since),
        until=_time("until", until),
        reason=_reason(reason),
        domain=_checked("domain", domain, _DOMAIN, "lower-case letters"),
        before_id=_cursor(cursor),
        limit=count,
    )
    next_cursor = str(rows[-1].id) if len(rows) == count else None
    return FeedbackPage(feedback=[_item(row) for row in rows], next_cursor=next_cursor)


async def _whose(
    pool: Pool, request: Request, authorization: str | None, asked: str | None
) -> str | None:
    """The publisher whose feedback the token may read (None: any, for an admin), or the
    refusal (audited)."""
    identity = await identify(pool, authorization)
    target = (asked or "")[:64]
    refusal: HTTPException | None = None
    whose: str | None = None
    if identity is None:
        detail = (
            "a publisher or admin token is required (Authorization: Bearer …)"
            if authorization is None
            else "unknown, expired or revoked token"
        )
        refusal = HTTPException(401, detail, headers={"WWW-Authenticate": "Bearer"})
    elif isinstance(identity, Publisher) or identity.scope == SINGLE_WINDOW_SCOPE:
        # A port's token, or a single window's (an access grant of its country).
        whose = identity.code if isinstance(identity, Publisher) else identity.subject
        if asked is not None and asked != whose:
            refusal = HTTPException(403, "a publisher reads its own feedback only")
    elif identity.scope == "admin":
        whose = _checked("publisher", asked, _PUBLISHER, "a UN/LOCODE (PECLL) or ISO code (PE)")
    else:
        refusal = HTTPException(403, f"a {identity.scope} token cannot read publishers' feedback")
    if refusal is not None:
        remote = request.client.host if request.client else None
        outcome = f"{refusal.status_code} {refusal.detail}"
        await audit.record(
            pool, actor_of(identity, authorization), _ACTION, target, outcome, remote
        )
        raise refusal
    return whose


def _item(row: Feedback) -> FeedbackItem:
    place = _KAFKA_SOURCE.fullmatch(row.source)
    return FeedbackItem(
        publisher=row.publisher,
        domain=row.domain,
        reason=row.reason,
        detail=row.detail,
        event_id=None if row.event_id is None else str(row.event_id),
        source=row.source,
        topic=place["topic"] if place else None,
        partition=int(place["partition"]) if place else None,
        offset=int(place["offset"]) if place else None,
        refused_at=row.refused_at,
    )


def _invalid(name: str, what: str) -> HTTPException:
    return HTTPException(422, f"query parameter {name}: {what}")


def _checked(name: str, value: str | None, form: re.Pattern[str], what: str) -> str | None:
    if value is None:
        return None
    if not form.fullmatch(value):
        raise _invalid(name, f"expected {what}")
    return value


def _time(name: str, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        if len(value) > _MAX_TIME_CHARS:
            raise ValueError
        moment = datetime.fromisoformat(value)
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
    except (ValueError, OverflowError):
        raise _invalid(name, "expected an ISO 8601 time (2026-12-03T10:00:00Z)") from None


def _reason(value: str | None) -> str | None:
    if value is None:
        return None
    if value not in RejectReason.__members__.values():
        raise _invalid("reason", "expected a reason code (" + ", ".join(RejectReason) + ")")
    return value


def _limit(value: str | None) -> int:
    if value is None:
        return DEFAULT_LIMIT
    if not (value.isascii() and value.isdigit() and len(value) <= 4):
        raise _invalid("limit", f"expected a number from 1 to {MAX_LIMIT}")
    number = int(value)
    if not 1 <= number <= MAX_LIMIT:
        raise _invalid("limit", f"expected a number from 1 to {MAX_LIMIT}")
    return number


def _cursor(value: str | None) -> int | None:
    if value is None:
        return None
    if not (value.isascii() and value.isdigit() and len(value) <= 18):
        raise _invalid("cursor", "expected the next_cursor of a previous page")
    return int(value)
