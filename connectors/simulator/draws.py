"""Random draws the simulation makes: weighted choices, crane timings, fair splits, traders."""

from __future__ import annotations

import bisect
import itertools
import math
import random
from collections.abc import Iterable, Sequence
from typing import Final, Generic, TypeVar

_T = TypeVar("_T")

_TRADERS_PER_COUNTRY: Final = 400


def lift_times(
    rng: random.Random, segments: Sequence[tuple[int, int, tuple[str, ...]]], count: int
) -> list[tuple[int, str]]:
    """Times and cranes of ``count`` lifts, in the order given (discharges first, then loads).

    Moves are dealt to the cranes in turn; each crane spreads its moves over its working span.
    The first crane works the whole of each segment, so the first lift is at its start and the
    last at the end of the last segment; the others start a little later and end earlier.
    """
    total = sum(end - start for start, end, _ in segments) or 1
    lifts: list[tuple[int, str]] = []
    for position, (start, end, cranes) in enumerate(segments):
        if position == len(segments) - 1:
            moves = count - len(lifts)
        else:
            moves = min(count - len(lifts), round(count * (end - start) / total))
        slots: list[tuple[int, str]] = [(start, cranes[0])] * moves
        span = end - start
        for k, crane in enumerate(cranes):
            mine = range(k, moves, len(cranes))
            if not mine:
                continue
            begin, finish = start, end
            if k:
                begin += round(span * rng.uniform(0, 0.08))
                finish -= round(span * rng.uniform(0, 0.12))
            step = (finish - begin) / (len(mine) - 1) if len(mine) > 1 else 0.0
            for j, index in enumerate(mine):
                jitter = rng.uniform(-0.3, 0.3) * step if 0 < j < len(mine) - 1 else 0.0
                slots[index] = (begin + round(step * j + jitter), crane)
        lifts += slots
    return lifts


def split_evenly(items: Sequence[_T], count: int) -> tuple[list[_T], list[_T]]:
    """``count`` of ``items`` spread evenly over the sequence, and the others (both in order)."""
    chosen: list[_T] = []
    others: list[_T] = []
    total = len(items)
    for index, item in enumerate(items):
        if (index + 1) * count // total > index * count // total:
            chosen.append(item)
        else:
            others.append(item)
    return chosen, others


def cranes_for(teu_capacity: int) -> int:
    """Ship-to-shore cranes working a ship: 2 for a feeder, up to 5 for the largest."""
    return (
        2
        if teu_capacity < 3_000
        else 3
        if teu_capacity < 6_000
        else (4 if teu_capacity < 10_000 else 5)
    )


def trader(rng: random.Random, country: str) -> str:
    """The tax id of one of a country's regular traders (stable across runs)."""
    number = rng.randint(1, _TRADERS_PER_COUNTRY)
    return f"{country}{number * 2_654_435_761 % 10**10:010d}"


class Weighted(Generic[_T]):
    """Items drawn with given weights (``random.choices`` without its per-call set-up)."""

    __slots__ = ("cumulative", "items", "total")

    def __init__(self, weighted: Iterable[tuple[_T, float]]) -> None:
        pairs = list(weighted)
        self.items = [item for item, _ in pairs]
        self.cumulative = list(itertools.accumulate(weight for _, weight in pairs))
        self.total = self.cumulative[-1]

    def draw(self, rng: random.Random) -> _T:
        return self.items[bisect.bisect(self.cumulative, rng.random() * self.total)]


def random_round(rng: random.Random, value: float) -> int:
    """``value`` rounded up or down at random, so that sums keep their expectation."""
    whole = math.floor(value)
    return whole + (1 if rng.random() < value - whole else 0)
