"""The regional indicators as open data (issue 21, item 5): what the public sees of a stored row,
and the SDMX-CSV form statistics offices read.

**Suppression.** A cell (one indicator of one entity in one period) whose ``count`` — the
entities behind it: calls, moves, declarations, certificates, ports — is below the minimum
(``HUB_OPEN_DATA_MIN_COUNT``, 5) is published without its figures: ``value``, ``median``,
``p90``, ``detail`` *and* ``count`` are withheld and ``suppressed`` is true. The count goes too
because for the counting indicators (``certificates_count``, ``distinct_services_count`` …) it is
the value itself, or nearly. A cell of a count at or above the minimum is published whole, but
its ``detail`` only keeps a ``reason`` (why the value is undefined): the breakdowns ``detail``
holds otherwise (per call-size band, per reason code, the trade totals S and W) are parts of the
cell smaller than its count, which the minimum would not protect.

**SDMX.** One observation per published or suppressed cell: the headline ``value`` as
``OBS_VALUE`` (median and p90 stay in the JSON, CSV and Parquet forms). ``TIME_PERIOD`` is the
period start in the SDMX (ISO 8601) form of its frequency: ``2026-10-08`` (day), ``2026-10``
(month), ``2026-Q4`` (quarter), ``2026-S2`` (half-year), ``2026`` (year). ``docs/indicators.md``
("Open data") gives the dataflow and its structure.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Final

__all__ = [
    "CSV_COLUMNS",
    "DATAFLOW",
    "SDMX_COLUMNS",
    "SDMX_FREQUENCY",
    "OpenIndicator",
    "csv_record",
    "is_suppressed",
    "open_indicator",
    "public_detail",
    "sdmx_record",
    "sdmx_time_period",
    "sdmx_unit",
]

DATAFLOW: Final = "PORTHUB:REGIONAL_INDICATORS(1.0)"
"""The SDMX dataflow of the open indicators: agency ``PORTHUB``, id ``REGIONAL_INDICATORS``,
version 1.0 (the ``DATAFLOW`` column of SDMX-CSV 1.0)."""

SDMX_FREQUENCY: Final[Mapping[str, str]] = MappingProxyType(
    {"day": "D", "month": "M", "quarter": "Q", "half-year": "S", "year": "A"}
)
"""The SDMX frequency (code list CL_FREQ) of each of the hub's periods."""

SDMX_COLUMNS: Final = (
    "DATAFLOW", "FREQ", "LEVEL", "REF_AREA", "INDICATOR", "TIME_PERIOD", "OBS_VALUE",
    "UNIT_MEASURE", "OBS_STATUS", "CONF_STATUS", "OBS_COUNT",
)  # fmt: skip
"""The SDMX-CSV 1.0 header: the dataflow, the dimensions, the measure, the attributes."""

CSV_COLUMNS: Final = (
    "level", "entity", "period", "period_start", "time_period", "indicator", "unit", "count",
    "value", "median", "p90", "detail", "suppressed", "computed_at",
)  # fmt: skip
"""The plain CSV's columns (the JSON rows' fields, in this order)."""

# SDMX-CSV codes: CL_OBS_STATUS (A normal, M missing: cannot exist, Q missing: suppressed) and
# CL_CONF_STATUS (F free, C confidential, primary suppression).
_PUBLISHED, _UNDEFINED, _SUPPRESSED = "A", "M", "Q"
_FREE, _CONFIDENTIAL = "F", "C"

# The hub's units as SDMX codes (an SDMX code has no '/', '%' or space); a unit not listed
# (a later part's) is spelled in capitals with '_' for anything else.
_UNITS: Final[Mapping[str, str]] = MappingProxyType(
    {"%": "PC", "moves/h": "MOVES_PER_H", "calls/week": "CALLS_PER_WEEK", "count": "NUM"}
)


@dataclass(frozen=True, slots=True)
class OpenIndicator:
    """One stored indicator as the public sees it (see the module's "Suppression")."""

    level: str
    entity: str
    period: str
    period_start: datetime
    indicator: str
    unit: str
    count: int | None
    """None when suppressed."""
    value: float | None
    median: float | None
    p90: float | None
    detail: Mapping[str, object] | None
    """At most ``{"reason": …}``; None when suppressed."""
    suppressed: bool
    computed_at: datetime | None

    @property
    def time_period(self) -> str:
        return sdmx_time_period(self.period, self.period_start)

    def as_json(self) -> dict[str, object]:
        """The row as ``GET /v1/open/indicators`` gives it."""
        return {
            "level": self.level,
            "entity": self.entity,
            "period": self.period,
            "period_start": self.period_start.isoformat(),
            "time_period": self.time_period,
            "indicator": self.indicator,
            "unit": self.unit,
            "count": self.count,
            "value": self.value,
            "median": self.median,
            "p90": self.p90,
            "detail": None if self.detail is None else dict(self.detail),
            "suppressed": self.suppressed,
            "computed_at": None if self.computed_at is None else self.computed_at.isoformat(),
        }


def is_suppressed(count: int, min_count: int) -> bool:
    """Whether a cell of ``count`` entities is withheld: ``count < min_count``.

    Raises:
        ValueError: ``min_count`` is below 1 (every cell, even an empty one, would be served).
    """
    if min_count < 1:
        raise ValueError(f"min_count must be >= 1, not {min_count}")
    return count < min_count


def public_detail(detail: str | None) -> dict[str, object] | None:
    """What of a stored ``detail`` (JSON text) is published: its ``reason`` alone, if it has a
    textual one; None otherwise (a breakdown, or text that is not a JSON object)."""
    if detail is None or '"reason"' not in detail:
        return None  # no reason in it: not worth parsing (most rows of an export)
    try:
        parsed = json.loads(detail)
    except ValueError:
        return None
    reason = parsed.get("reason") if isinstance(parsed, dict) else None
    return {"reason": reason} if isinstance(reason, str) else None


def open_indicator(
    *,
    level: str,
    entity: str,
    period: str,
    period_start: datetime,
    indicator: str,
    unit: str,
    count: int,
    value: float | None,
    median: float | None,
    p90: float | None,
    detail: str | None,
    computed_at: datetime | None,
    min_count: int,
) -> OpenIndicator:
    """A stored indicator row, suppressed when its ``count`` is below ``min_count``."""
    start = period_start.astimezone(UTC)
    if is_suppressed(count, min_count):
        return OpenIndicator(
            level, entity, period, start, indicator, unit, None, None, None, None, None, True,
            computed_at,
        )  # fmt: skip
    return OpenIndicator(
        level, entity, period, start, indicator, unit, count, _finite(value), _finite(median),
        _finite(p90), public_detail(detail), False, computed_at,
    )  # fmt: skip


def _finite(number: float | None) -> float | None:
    # JSON, SDMX and most CSV readers have no NaN or infinity: an undefined figure is null.
    return number if number is not None and math.isfinite(number) else None


def sdmx_time_period(period: str, start: datetime) -> str:
    """The SDMX ``TIME_PERIOD`` of the period of kind ``period`` that starts at ``start`` (UTC):
    ``2026-10-08``, ``2026-10``, ``2026-Q4``, ``2026-S2``, ``2026``.

    Raises:
        ValueError: ``start`` is naive, or ``period`` is not one of :data:`SDMX_FREQUENCY`.
    """
    if start.tzinfo is None or start.utcoffset() is None:
        raise ValueError(f"naive datetime {start.isoformat()}: give period starts in UTC")
    moment = start.astimezone(UTC)
    if period == "day":
        return f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"
    if period == "month":
        return f"{moment.year:04d}-{moment.month:02d}"
    if period == "quarter":
        return f"{moment.year:04d}-Q{(moment.month - 1) // 3 + 1}"
    if period == "half-year":
        return f"{moment.year:04d}-S{(moment.month - 1) // 6 + 1}"
    if period == "year":
        return f"{moment.year:04d}"
    raise ValueError(f"period must be one of {tuple(SDMX_FREQUENCY)}, not {period!r}")


def sdmx_unit(unit: str) -> str:
    """The ``UNIT_MEASURE`` code of one of the hub's units: ``%`` → ``PC``, ``h`` → ``H``."""
    return _UNITS.get(unit) or re.sub(r"[^A-Z0-9_]", "_", unit.upper())


def _number(number: float | None) -> str:
    # repr: the shortest text that reads back as the same double.
    return "" if number is None else repr(number)


def sdmx_record(row: OpenIndicator) -> tuple[str, ...]:
    """``row`` as a line of SDMX-CSV 1.0, in the order of :data:`SDMX_COLUMNS`.

    Raises:
        ValueError: the row's period has no SDMX frequency.
    """
    if row.period not in SDMX_FREQUENCY:
        raise ValueError(f"period must be one of {tuple(SDMX_FREQUENCY)}, not {row.period!r}")
    if row.suppressed:
        status, confidentiality = _SUPPRESSED, _CONFIDENTIAL
    else:
        status, confidentiality = (_UNDEFINED if row.value is None else _PUBLISHED), _FREE
    return (
        DATAFLOW,
        SDMX_FREQUENCY[row.period],
        row.level.upper(),
        row.entity,
        row.indicator.upper(),
        row.time_period,
        _number(row.value),
        sdmx_unit(row.unit),
        status,
        confidentiality,
        "" if row.count is None else str(row.count),
    )


def csv_record(row: OpenIndicator) -> tuple[str, ...]:
    """``row`` as a line of the plain CSV, in the order of :data:`CSV_COLUMNS`."""
    return (
        row.level,
        row.entity,
        row.period,
        row.period_start.isoformat(),
        row.time_period,
        row.indicator,
        row.unit,
        "" if row.count is None else str(row.count),
        _number(row.value),
        _number(row.median),
        _number(row.p90),
        "" if row.detail is None else json.dumps(dict(row.detail), sort_keys=True),
        "true" if row.suppressed else "false",
        "" if row.computed_at is None else row.computed_at.isoformat(),
    )
