"""Time in the simulation: integer milliseconds since the epoch, and spans in them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Final

MINUTE: Final = 60_000
HOUR: Final = 3_600_000
DAY: Final = 86_400_000
EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


def minutes(value: float) -> int:
    return round(value * MINUTE)


def hours(value: float) -> int:
    return round(value * HOUR)


def days(value: float) -> int:
    return round(value * DAY)


def epoch_ms(moment: datetime) -> int:
    """Milliseconds since the epoch (exact, unlike ``timestamp()``)."""
    return (moment - EPOCH) // timedelta(milliseconds=1)


def datetime_at(ms: int) -> datetime:
    return EPOCH + timedelta(milliseconds=ms)
