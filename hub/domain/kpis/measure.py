"""Building KPI values of one entity: durations, ratios and counts, open and flagged.

The rules SPEC §2 sets for every KPI live here once: "a duration is emitted once its two ends are
known" (before that it is open: value None, flag ``OPEN``, no anchor); "a negative duration
(except the TRS arrival → lodgement segment) is an anomaly: keep the event, flag the KPI with
reason ``NEGATIVE_INTERVAL``, exclude it from aggregates".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from hub.domain.kpis.model import UNITS, EntityKind, KpiFlag, KpiName, KpiValue, Unit

__all__ = ["Entity", "hours"]

_SECONDS_PER: Final = {Unit.HOURS: 3600.0, Unit.MINUTES: 60.0, Unit.DAYS: 86400.0}
# The texts of the enums, looked up once: an enum's .value costs a µs (a descriptor call), and a
# worker builds millions of values.
_TEXTS: Final = {kpi: (kpi.value, UNITS[kpi].value) for kpi in KpiName}
_KINDS: Final = {kind: kind.value for kind in EntityKind}
_NEGATIVE: Final = KpiFlag.NEGATIVE_INTERVAL.value
_OPEN: Final = KpiFlag.OPEN.value


def hours(interval: timedelta) -> float:
    """``interval`` in hours."""
    return interval.total_seconds() / 3600.0


@dataclass(frozen=True, slots=True)
class Entity:
    """The entity whose KPI values are being built."""

    kind: EntityKind
    id: str
    port: str

    def value(
        self,
        kpi: KpiName,
        value: float | None,
        anchor: datetime | None,
        *,
        negative: bool = False,
    ) -> KpiValue:
        """A value of ``kpi``; None makes it open. ``negative``: it derives from a negative
        interval, so it is flagged ``NEGATIVE_INTERVAL`` (its value kept, out of aggregates)."""
        if value is None:
            return self.open(kpi)
        name, unit = _TEXTS[kpi]
        return KpiValue(
            _KINDS[self.kind], self.id, self.port, name, value, unit, anchor,
            _NEGATIVE if negative else None,
        )  # fmt: skip

    def open(self, kpi: KpiName) -> KpiValue:
        """``kpi`` while an end is not known: no value, no anchor, flag ``OPEN``."""
        name, unit = _TEXTS[kpi]
        return KpiValue(_KINDS[self.kind], self.id, self.port, name, None, unit, None, _OPEN)

    def duration(
        self,
        kpi: KpiName,
        start: datetime | None,
        end: datetime | None,
        anchor: datetime | None = None,
        *,
        signed: bool = False,
    ) -> KpiValue:
        """``end - start`` in the unit of ``kpi``, anchored at ``anchor`` (default ``end``).

        Open while either end is unknown. A negative result is flagged unless ``signed`` (the
        TRS arrival → lodgement segment, whose sign is information, not an anomaly).
        """
        if start is None or end is None:
            return self.open(kpi)
        value = (end - start).total_seconds() / _SECONDS_PER[UNITS[kpi]]
        return self.value(
            kpi, value, end if anchor is None else anchor, negative=value < 0 and not signed
        )
