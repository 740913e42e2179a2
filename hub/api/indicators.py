"""Regional indicators (SPEC §4) as the indicator stage stored them: JSON or CSV. A read:kpis or
admin token is needed (:mod:`hub.api.access`)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

import asyncpg
from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import JSONResponse, Response

from hub.api.access import READER_RESPONSES, kpi_reader
from hub.api.dependencies import Pool
from hub.db.indicator_store import indicator_json, stored_indicators
from hub.domain.indicators.model import Period

_COLUMNS = (
    "level", "entity", "period", "period_start", "indicator", "unit", "count", "value", "median",
    "p90", "detail", "computed_at",
)  # fmt: skip
DEFAULT_SPAN: dict[Period, timedelta] = {
    "day": timedelta(days=31),
    "month": timedelta(days=366),
    "quarter": timedelta(days=2 * 366),
    "half-year": timedelta(days=3 * 366),
    "year": timedelta(days=10 * 366),
}


router = APIRouter(dependencies=[Depends(kpi_reader)], responses=READER_RESPONSES)


@router.get("/v1/indicators")
async def indicators(
    pool: Pool,
    level: Literal["port", "country", "mechanism", "region"] = "region",
    id: Annotated[str | None, Query(description="PECLL, PE, CAN; none for the region")] = None,
    period: Period = "day",
    from_: Annotated[datetime | None, Query(alias="from")] = None,
    to: datetime | None = None,
    indicator: str | None = None,
    format: Literal["json", "csv"] = "json",
) -> Response:
    """Indicators of one level (and entity), one kind of period, between ``from`` and ``to``
    (default: the last 31 days, 12 months, 2 years of quarters, 3 years of half-years or 10
    years). ``format=csv`` downloads them as CSV."""
    end = _aware(to) if to else datetime.now(UTC)
    start = _aware(from_) if from_ else end - DEFAULT_SPAN[period]
    if not start < end:
        raise HTTPException(422, "from must be before to")
    rows = await stored_indicators(
        pool,
        level,
        "LAC" if level == "region" and id is None else id,
        period,
        start,
        end,
        indicator,
    )
    if format == "csv":
        return Response(
            _csv(rows),
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="indicators-{level}'
                f'{"-" + id if id else ""}-{period}.csv"'
            },
        )
    body: dict[str, Any] = {
        "level": level,
        "id": id,
        "period": period,
        "from_time": start.isoformat(),
        "to_time": end.isoformat(),
        "indicators": [indicator_json(row) for row in rows],
    }
    return JSONResponse(body)


def _csv(rows: list[asyncpg.Record]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(_COLUMNS)
    for row in rows:
        writer.writerow(
            [row[name].isoformat() if isinstance(row[name], datetime) else row[name]
             for name in _COLUMNS]
        )  # fmt: skip
    return out.getvalue()


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
