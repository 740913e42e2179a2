"""``POST /v1/edifact``: one UN/EDIFACT interchange (COARRI, CODECO, BERMAN, CUSRES) over HTTP.

The body is the interchange as sent between partners (any content type; UTF-8, else read as
ISO 8859-1, the UNOC repertoire), with a publisher token of the port its events are for (or of
the single window of their port's country: CUSRES only, see :mod:`hub.domain.publishers`). The
answer says, per message, whether its events were published or why it was refused (every problem
with its line); see :mod:`hub.ingest.edifact` for what is refused and how. Status: 200 when at
least one message was published and none failed, 422 when nothing was (the interchange or every
message refused), 503 when a delivery failed (send it again: the hub de-duplicates), 401/413 as
for ``/v1/events``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse

from hub.api.dependencies import Ingest
from hub.api.ingest import authenticate, refuse_publisher
from hub.ingest.edifact import decode_interchange, take_interchange

__all__ = ["publish_interchange", "router"]

_STATUS = {"accepted": 200, "partial": 200, "rejected": 422, "failed": 503}


router = APIRouter()


@router.post(
    "/v1/edifact",
    summary="Publish the events of one EDIFACT interchange (COARRI, CODECO, BERMAN, CUSRES)",
    responses={422: {"description": "nothing published"}, 503: {"description": "retry"}},
)
async def publish_interchange(
    request: Request, context: Ingest, authorization: Annotated[str | None, Header()] = None
) -> JSONResponse:
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
    return JSONResponse(outcome.as_json(), status_code=_STATUS[outcome.status])
