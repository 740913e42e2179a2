"""``POST /v1/edifact``: one UN/EDIFACT interchange (COARRI, CODECO, BERMAN, CUSRES) over HTTP.

The body is the interchange as sent between partners (any content type; UTF-8, else read as
ISO 8859-1, the UNOC repertoire), with a publisher token of the port its events are for (or of
the single window of their port's country: CUSRES only, see :mod:`hub.domain.publishers`). The
answer says, per message, whether its events were published or why it was refused (every problem
with its line); see :mod:`hub.ingest.edifact` for what is refused and how. Status: 200 when at
least one message was published and none failed, 422 when nothing was (the interchange or every
message refused), 503 when a delivery failed (send it again: the hub de-duplicates), 401/413 as
for ``/v1/events``.

With ``Accept: application/edifact`` or ``?acknowledgement=edifact`` the body is instead the
hub's EDIFACT answer (``application/edifact``, ISO 8859-1): the CONTRL interchange, then an
APERAK interchange for each message refused for its content, each its own UNA..UNZ, one after
the other; the status is the same. An interchange with no UNB, or whose delivery failed, has no
such answer: its body stays the JSON one.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse, Response

from hub.api.dependencies import Ingest
from hub.api.ingest import authenticate, refuse_publisher
from hub.ingest.acknowledgements import acknowledgements_for
from hub.ingest.edifact import decode_interchange, take_interchange

__all__ = ["publish_interchange", "router"]

_STATUS = {"accepted": 200, "partial": 200, "rejected": 422, "failed": 503}
EDIFACT_MEDIA_TYPE = "application/edifact"


router = APIRouter()


@router.post(
    "/v1/edifact",
    summary="Publish the events of one EDIFACT interchange (COARRI, CODECO, BERMAN, CUSRES)",
    responses={
        200: {"content": {EDIFACT_MEDIA_TYPE: {}}, "description": "published (JSON, or the "
              "CONTRL and APERAKs when asked for)"},
        422: {"description": "nothing published"},
        503: {"description": "retry"},
    },
)  # fmt: skip
async def publish_interchange(
    request: Request,
    context: Ingest,
    authorization: Annotated[str | None, Header()] = None,
    accept: Annotated[str | None, Header()] = None,
    acknowledgement: Annotated[
        Literal["edifact", "json"] | None,
        Query(
            description="`edifact`: answer with the CONTRL and APERAK interchanges "
            "(as `Accept: application/edifact` does)"
        ),
    ] = None,
) -> Response:
    publisher = await authenticate(context.pool, authorization)
    if publisher is None:
        await refuse_publisher(context.pool, request, authorization, "edifact.publish", "")
        return JSONResponse(
            {"error": "a valid publisher token is required (Authorization: Bearer …)"}, 401
        )
    body = await request.body()
    if len(body) > (limit := context.settings.api.max_request_bytes):
        return JSONResponse({"error": f"body over {limit} bytes; split the interchange"}, 413)
    outcome = await take_interchange(
        context, decode_interchange(body), origin="http:/v1/edifact", publisher=publisher
    )
    status = _STATUS[outcome.status]
    wanted = acknowledgement or ("edifact" if EDIFACT_MEDIA_TYPE in (accept or "").lower() else "")
    if wanted == "edifact":
        sender = publisher.port or publisher.country or "UNKNOWN"
        answer = acknowledgements_for(outcome, sender_id=sender)
        if answer is not None:
            media_type = f"{EDIFACT_MEDIA_TYPE}; charset=iso-8859-1"
            return Response(answer.text().encode("latin-1"), status, media_type=media_type)
    return JSONResponse(outcome.as_json(), status_code=status)
