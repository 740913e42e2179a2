"""Reads of the open data (``/v1/open/``): the stored regional indicators, a page at a time in the
order of the table's primary key, each page found from the last key of the one before (keyset),
so that neither a deep page nor a whole export holds a connection or scans what came before."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

__all__ = ["IndicatorFilter", "IndicatorKey", "open_indicator_page"]

IndicatorKey = tuple[str, str, str, datetime, str]
"""(level, entity, period, period_start, indicator): the primary key of ``indicators``, the
order pages follow."""


@dataclass(frozen=True, slots=True)
class IndicatorFilter:
    """Which stored indicators a reader asks for; None: any."""

    level: str | None = None
    entity: str | None = None
    period: str | None = None
    indicator: str | None = None
    since: datetime | None = None
    """Periods starting at or after this."""
    until: datetime | None = None
    """Periods starting before this."""


_PAGE = """
    SELECT level, entity, period, period_start, indicator, unit, count, value, median, p90,
           detail, computed_at
    FROM indicators
    WHERE ($1::text IS NULL OR level = $1) AND ($2::text IS NULL OR entity = $2)
      AND ($3::text IS NULL OR period = $3) AND ($4::text IS NULL OR indicator = $4)
      AND ($5::timestamptz IS NULL OR period_start >= $5)
      AND ($6::timestamptz IS NULL OR period_start < $6)
      {after}
    ORDER BY level, entity, period, period_start, indicator
    LIMIT $7
"""
# Two fixed texts, not one with "$8 IS NULL OR": the row comparison must stand alone for the
# primary key's index to start the scan there (else every page scans and sorts from the top).
_FIRST_PAGE = _PAGE.format(after="")
_NEXT_PAGE = _PAGE.format(
    after="AND (level, entity, period, period_start, indicator)"
    " > ($8::text, $9::text, $10::text, $11::timestamptz, $12::text)"
)


async def open_indicator_page(
    connection: asyncpg.Connection | asyncpg.Pool,
    selection: IndicatorFilter,
    after: IndicatorKey | None,
    limit: int,
) -> Sequence[asyncpg.Record]:
    """Up to ``limit`` indicators of ``selection`` whose key follows ``after`` (None: from the
    first), in key order."""
    filters = (
        selection.level,
        selection.entity,
        selection.period,
        selection.indicator,
        selection.since,
        selection.until,
        limit,
    )
    if after is None:
        rows: list[asyncpg.Record] = await connection.fetch(_FIRST_PAGE, *filters)
    else:
        rows = await connection.fetch(_NEXT_PAGE, *filters, *after)
    return rows
