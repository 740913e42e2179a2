"""Open data (issue 21, item 5): the regional indicators for the public and statistics offices,
without a token, at ``/v1/open/``.

- **Only aggregates.** The stored regional indicators (table ``indicators``, the rows
  ``GET /v1/indicators`` serves to read:kpis tokens) and nothing else: no port call, container,
  declaration, certificate, verdict or entity KPI is reachable from here, and every other route
  keeps its token. A cell whose ``count`` is below ``HUB_OPEN_DATA_MIN_COUNT`` is suppressed
  (``hub.domain.indicators.open_data``): its figures and count are withheld, ``suppressed`` is
  true (``OBS_STATUS`` ``Q`` in SDMX-CSV).
- **Anonymous, and a token changes nothing**: the answer is the same with or without one, and the
  rate limit is per client address (``HUB_OPEN_DATA_RATE_PER_S``, bursts of
  ``HUB_OPEN_DATA_BURST``; over it 429 with ``Retry-After``), on top of the API's own limit.
- **A licence on every answer**: the JSON's ``licence``, ``licence_url`` and ``attribution``; the
  CSV's ``licence`` and ``attribution`` columns; the Parquet file's metadata; and on every
  answer, SDMX-CSV's included, a ``Link: <…>; rel="license"`` header.
- **Bounded**: a JSON page holds at most ``MAX_PAGE`` rows (``next_cursor`` for the next); the
  exports stream, read ``EXPORT_CHUNK`` rows at a time by key, so neither memory nor a database
  connection is held for a whole download. The first chunk is read before the answer starts: a
  database that is down is a 503 "retry", as everywhere in the API.
- **Strict parameters**: an unknown parameter, a repeated one or a bad value is a 422 naming it.

Routes: ``GET /v1/open`` (what is here), ``/v1/open/indicators`` (JSON), ``…/indicators.csv``,
``…/indicators.parquet``, ``…/indicators.sdmx.csv`` (SDMX-CSV 1.0), with the same filters.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import csv
import io
import json
import math
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime
from typing import Annotated, Any, Final, NoReturn, get_args

import asyncpg
import pyarrow as pa
import pyarrow.parquet as pq
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse

from hub.api.dependencies import Pool
from hub.api.security import TokenBuckets
from hub.db.open_data import IndicatorFilter, IndicatorKey, open_indicator_page
from hub.domain.indicators.model import Level, Period
from hub.domain.indicators.open_data import (
    CSV_COLUMNS,
    DATAFLOW,
    SDMX_COLUMNS,
    OpenIndicator,
    csv_record,
    open_indicator,
    sdmx_record,
)
from hub.settings import HubSettings, OpenDataSettings

__all__ = ["EXPORT_CHUNK", "MAX_PAGE", "PERIODS", "router"]

PERIODS: Final = get_args(Period)
"""The kinds of period a reader may ask for: those the indicator job computes."""
MAX_PAGE: Final = 10_000
"""The most rows one JSON answer holds."""
EXPORT_CHUNK: Final = 5_000
"""Rows an export reads (and writes: one Parquet row group) at a time."""
_FILTERS: Final = ("level", "entity", "period", "indicator", "since", "until")
_SDMX_MEDIA_TYPE: Final = "application/vnd.sdmx.data+csv; version=1.0.0; charset=utf-8"
_PARQUET_MEDIA_TYPE: Final = "application/vnd.apache.parquet"
_BUCKETS: Final = "open_data_buckets"  # the rate limit's buckets, on app.state

_OPEN_RESPONSES: dict[int | str, dict[str, Any]] = {
    422: {"description": "An unknown, repeated or bad parameter (named in the answer)"},
    429: {"description": "Over the open data's rate limit for this address; see Retry-After"},
    503: {"description": "The database is unavailable: retry (Retry-After)"},
}


def _download_responses(media_type: str) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI answers of an export: a file of ``media_type``, or the refusals."""
    return {200: {"content": {media_type: {}}, "description": "The file"}, **_OPEN_RESPONSES}


def _settings(request: Request) -> OpenDataSettings:
    settings: HubSettings = request.app.state.settings
    return settings.open_data


def _rate_limit(request: Request) -> None:
    """Take a token from the bucket of the request's client address (429 when it has none)."""
    settings = _settings(request)
    buckets = _buckets(request.app, settings)
    address = request.client.host if request.client else "unknown"
    wait = buckets.take(address)
    if wait > 0:
        raise HTTPException(
            429,
            f"rate limit of the open data: {settings.rate_per_s:g} requests/s per client address"
            f" (bursts of {settings.burst})",
            headers={"Retry-After": str(max(1, math.ceil(wait)))},
        )


def _buckets(app: FastAPI, settings: OpenDataSettings) -> TokenBuckets:
    # Made at the first request (no await between the look and the set: one per app).
    buckets = getattr(app.state, _BUCKETS, None)
    if not isinstance(buckets, TokenBuckets):
        buckets = TokenBuckets(settings.rate_per_s, settings.burst)
        setattr(app.state, _BUCKETS, buckets)
    return buckets


def _only(*names: str) -> Callable[[Request], None]:
    """A dependency refusing (422) a parameter not in ``names``, or one given twice."""
    allowed = frozenset(names)

    def check(request: Request) -> None:
        seen: set[str] = set()
        for name, _ in request.query_params.multi_items():
            shown = name[:40]
            if name not in allowed:
                known = f"the parameters are {', '.join(names)}" if names else "none is taken"
                _refuse(shown, f"unknown parameter; {known}", name)
            if name in seen:
                _refuse(shown, "given more than once; give each parameter once", name)
            seen.add(name)

    return check


def _refuse(parameter: str, message: str, given: object) -> NoReturn:
    """A 422 in FastAPI's own form, naming ``parameter``."""
    raise RequestValidationError(
        [{"type": "value_error", "loc": ("query", parameter), "msg": message, "input": given}]
    )


def _utc(moment: datetime | None, parameter: str) -> datetime | None:
    if moment is None:
        return None
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    try:
        return aware.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+01:00 has no UTC time
        _refuse(parameter, "out of range", moment.isoformat())


def _selection(
    level: Annotated[Level | None, Query(description="port, country, mechanism or region")] = None,
    entity: Annotated[
        str | None,
        Query(
            pattern=r"^[A-Za-z0-9_-]{1,32}$",
            description="PECLL (port), PE (country), CAN (mechanism), LAC (region)",
        ),
    ] = None,
    period: Annotated[
        str | None, Query(max_length=20, description=f"one of {', '.join(PERIODS)}")
    ] = None,
    indicator: Annotated[
        str | None, Query(pattern=r"^[A-Za-z0-9_]{1,100}$", description="port_hours_h, …")
    ] = None,
    since: Annotated[
        datetime | None, Query(description="periods starting at or after (UTC if no offset)")
    ] = None,
    until: Annotated[
        datetime | None, Query(description="periods starting before (UTC if no offset)")
    ] = None,
) -> IndicatorFilter:
    if period is not None and period not in PERIODS:
        _refuse("period", f"Input should be one of {', '.join(PERIODS)}", period)
    start, end = _utc(since, "since"), _utc(until, "until")
    if start is not None and end is not None and not start < end:
        _refuse("until", "until must be after since", end.isoformat())
    return IndicatorFilter(
        level=level,
        entity=entity.upper() if entity else None,
        period=period,
        indicator=indicator.lower() if indicator else None,
        since=start,
        until=end,
    )


Selection = Annotated[IndicatorFilter, Depends(_selection)]
router = APIRouter(prefix="/v1/open", dependencies=[Depends(_rate_limit)])


@router.get("", dependencies=[Depends(_only())], responses=_OPEN_RESPONSES)
async def catalogue(request: Request) -> JSONResponse:
    """What the open data holds, its licence and how to read it (no token needed)."""
    settings = _settings(request)
    body = {
        **_licence(settings),
        "min_count": settings.min_count,
        "dataflow": DATAFLOW,
        "levels": list(get_args(Level)),
        "periods": list(PERIODS),
        "parameters": list(_FILTERS),
        "indicators": "/v1/open/indicators",
        "exports": {
            "csv": "/v1/open/indicators.csv",
            "parquet": "/v1/open/indicators.parquet",
            "sdmx-csv": "/v1/open/indicators.sdmx.csv",
        },
        "documentation": "docs/indicators.md, section 'Open data'",
    }
    return JSONResponse(body, headers=_headers(settings))


@router.get(
    "/indicators", dependencies=[Depends(_only(*_FILTERS, "limit", "cursor"))],
    responses=_OPEN_RESPONSES,
)  # fmt: skip
async def open_indicators(
    request: Request,
    pool: Pool,
    selection: Selection,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1_000,
    cursor: Annotated[str | None, Query(pattern=r"^[A-Za-z0-9_=-]{1,600}$")] = None,
) -> JSONResponse:
    """The aggregate indicators of the filters, ``limit`` a page (``next_cursor``: pass it as
    ``cursor`` for the next page; null on the last). Cells below the minimum count are
    suppressed."""
    settings = _settings(request)
    rows = await open_indicator_page(pool, selection, _decode(cursor), limit + 1)
    page = [_open(row, settings) for row in rows[:limit]]
    more = len(rows) > limit
    body = {
        **_licence(settings),
        "min_count": settings.min_count,
        "indicators": [row.as_json() for row in page],
        "next_cursor": _encode(_key_of(rows[limit - 1])) if more else None,
    }
    return JSONResponse(body, headers=_headers(settings))


@router.get(
    "/indicators.csv",
    dependencies=[Depends(_only(*_FILTERS))],
    responses=_download_responses("text/csv"),
    response_class=StreamingResponse,
)
async def open_indicators_csv(
    request: Request, pool: Pool, selection: Selection
) -> StreamingResponse:
    """The indicators of the filters as CSV (every row, streamed), with the licence and the
    attribution in two last columns."""
    settings = _settings(request)
    pages = await _pages(pool, selection)
    tail = (settings.licence, settings.attribution)

    def text(rows: Sequence[asyncpg.Record]) -> bytes:
        return _csv_text(csv_record(_open(row, settings)) + tail for row in rows)

    async def lines() -> AsyncIterator[bytes]:
        yield _csv_text([(*CSV_COLUMNS, "licence", "attribution")])
        async for rows in pages:
            # Off the event loop: a chunk's rows are a few hundred milliseconds of Python.
            yield await asyncio.to_thread(text, rows)

    return _download(lines(), "text/csv; charset=utf-8", _name(selection, "csv"), settings)


@router.get(
    "/indicators.sdmx.csv",
    dependencies=[Depends(_only(*_FILTERS))],
    responses=_download_responses(_SDMX_MEDIA_TYPE),
    response_class=StreamingResponse,
)
async def open_indicators_sdmx(
    request: Request, pool: Pool, selection: Selection
) -> StreamingResponse:
    """The indicators of the filters as SDMX-CSV 1.0 (dataflow ``PORTHUB:REGIONAL_INDICATORS
    (1.0)``; structure in docs/indicators.md), every row, streamed."""
    settings = _settings(request)
    pages = await _pages(pool, selection)

    def text(rows: Sequence[asyncpg.Record]) -> bytes:
        return _csv_text(sdmx_record(_open(row, settings)) for row in rows)

    async def lines() -> AsyncIterator[bytes]:
        yield _csv_text([SDMX_COLUMNS])
        async for rows in pages:
            yield await asyncio.to_thread(text, rows)

    return _download(lines(), _SDMX_MEDIA_TYPE, _name(selection, "sdmx.csv"), settings)


@router.get(
    "/indicators.parquet",
    dependencies=[Depends(_only(*_FILTERS))],
    responses=_download_responses(_PARQUET_MEDIA_TYPE),
    response_class=StreamingResponse,
)
async def open_indicators_parquet(
    request: Request, pool: Pool, selection: Selection
) -> StreamingResponse:
    """The indicators of the filters as a Parquet file (one row group per 5,000 rows,
    streamed); the licence, its URL, the attribution and the minimum count are in the file's
    metadata."""
    settings = _settings(request)
    pages = await _pages(pool, selection)

    async def parts() -> AsyncIterator[bytes]:
        sink = _Sink()
        schema = _parquet_schema(settings)
        writer = pq.ParquetWriter(sink, schema)
        try:
            async for rows in pages:
                table = await asyncio.to_thread(_parquet_table, rows, settings, schema)
                await asyncio.to_thread(writer.write_table, table)
                yield sink.drain()
        finally:
            writer.close()
        yield sink.drain()

    return _download(parts(), _PARQUET_MEDIA_TYPE, _name(selection, "parquet"), settings)


# --- the rows ---------------------------------------------------------------------------------


def _open(row: asyncpg.Record, settings: OpenDataSettings) -> OpenIndicator:
    return open_indicator(
        level=row["level"],
        entity=row["entity"],
        period=row["period"],
        period_start=row["period_start"],
        indicator=row["indicator"],
        unit=row["unit"],
        count=row["count"],
        value=row["value"],
        median=row["median"],
        p90=row["p90"],
        detail=row["detail"],
        computed_at=row["computed_at"],
        min_count=settings.min_count,
    )


def _key_of(row: asyncpg.Record) -> IndicatorKey:
    return (row["level"], row["entity"], row["period"], row["period_start"], row["indicator"])


def _encode(key: IndicatorKey) -> str:
    level, entity, period, start, indicator = key
    text = json.dumps([level, entity, period, start.isoformat(), indicator])
    return base64.urlsafe_b64encode(text.encode()).decode()


def _decode(cursor: str | None) -> IndicatorKey | None:
    """The key a ``next_cursor`` holds (422 for anything this API did not give)."""
    if cursor is None:
        return None
    try:
        parts = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        if not (
            isinstance(parts, list) and len(parts) == 5 and all(isinstance(p, str) for p in parts)
        ):
            raise ValueError("not a key")
        start = datetime.fromisoformat(parts[3])
        if start.tzinfo is None:
            raise ValueError("naive")
        start = start.astimezone(UTC)
    except (ValueError, binascii.Error, OverflowError):
        _refuse("cursor", "not a cursor this API gave (pass next_cursor as it came)", cursor)
    return (parts[0], parts[1], parts[2], start, parts[4])


async def _pages(
    pool: asyncpg.Pool, selection: IndicatorFilter
) -> AsyncIterator[Sequence[asyncpg.Record]]:
    """The indicators of ``selection``, ``EXPORT_CHUNK`` at a time; the first chunk is read
    now (a database that is down fails the request before its answer starts)."""
    first = await open_indicator_page(pool, selection, None, EXPORT_CHUNK)

    async def pages() -> AsyncIterator[Sequence[asyncpg.Record]]:
        page = first
        while page:
            yield page
            if len(page) < EXPORT_CHUNK:
                return
            page = await open_indicator_page(pool, selection, _key_of(page[-1]), EXPORT_CHUNK)

    return pages()


# --- the answers ------------------------------------------------------------------------------


def _licence(settings: OpenDataSettings) -> dict[str, object]:
    return {
        "licence": settings.licence,
        "licence_url": settings.licence_url,
        "attribution": settings.attribution,
    }


def _headers(settings: OpenDataSettings) -> dict[str, str]:
    return {"Link": f'<{settings.licence_url}>; rel="license"'}


def _name(selection: IndicatorFilter, extension: str) -> str:
    parts = ["indicators", selection.level, selection.entity, selection.period]
    return "-".join(part for part in parts if part) + f".{extension}"


def _download(
    body: AsyncIterator[bytes], media_type: str, filename: str, settings: OpenDataSettings
) -> StreamingResponse:
    headers = _headers(settings) | {"Content-Disposition": f'attachment; filename="{filename}"'}
    return StreamingResponse(body, media_type=media_type, headers=headers)


def _csv_text(records: Any) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(records)
    return out.getvalue().encode()


class _Sink:
    """Where the Parquet writer writes: the bytes since the last :meth:`drain`."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self._position = 0
        self.closed = False

    def write(self, data: bytes) -> int:
        self._parts.append(bytes(data))
        self._position += len(data)
        return len(data)

    def tell(self) -> int:
        return self._position

    def flush(self) -> None:
        return None

    def close(self) -> None:
        self.closed = True

    def drain(self) -> bytes:
        data, self._parts = b"".join(self._parts), []
        return data


def _parquet_schema(settings: OpenDataSettings) -> Any:
    moment = pa.timestamp("us", tz="UTC")
    fields = [
        ("level", pa.string()), ("entity", pa.string()), ("period", pa.string()),
        ("period_start", moment), ("time_period", pa.string()), ("indicator", pa.string()),
        ("unit", pa.string()), ("count", pa.int64()), ("value", pa.float64()),
        ("median", pa.float64()), ("p90", pa.float64()), ("detail", pa.string()),
        ("suppressed", pa.bool_()), ("computed_at", moment),
    ]  # fmt: skip
    metadata = {
        "licence": settings.licence,
        "licence_url": settings.licence_url,
        "attribution": settings.attribution,
        "min_count": str(settings.min_count),
        "dataflow": DATAFLOW,
    }
    return pa.schema(fields, metadata=metadata)


def _parquet_table(
    records: Sequence[asyncpg.Record], settings: OpenDataSettings, schema: Any
) -> Any:
    rows = [_open(record, settings) for record in records]
    columns: dict[str, list[object]] = {name: [] for name in CSV_COLUMNS}
    for row in rows:
        for name, value in row.as_json().items():
            columns[name].append(value)
    columns["period_start"] = [row.period_start for row in rows]
    columns["computed_at"] = [row.computed_at for row in rows]
    columns["detail"] = [
        None if row.detail is None else json.dumps(dict(row.detail), sort_keys=True) for row in rows
    ]
    return pa.table(columns, schema=schema)
