"""Windows kept in memory and written by hub.db.kpi_windows = the windows' definition.

Against the real PostgreSQL: entity KPI rows are written as the KPI stage writes them
(``write_entity_kpis``), and the windows kept by :class:`WindowState` from the members
:func:`window_members` reads, written by :func:`write_windows`, must leave ``kpi_windows`` equal
to :func:`~hub.domain.kpis.windows.window_aggregates` of the entity values, every column ``==``
(across simulated restarts that read every window again from the store).
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import asyncpg

from hub.db.kpi_store import write_entity_kpis
from hub.db.kpi_windows import window_members, write_windows
from hub.db.migrations import migrate
from hub.domain.kpis.model import KpiValue
from hub.domain.kpis.window_state import GRANULARITIES, WindowKey, WindowMember, WindowState
from hub.domain.kpis.windows import window_aggregates, window_start

DAY = datetime(2026, 3, 2, tzinfo=UTC)
Row = tuple[object, ...]


def _values(rng: random.Random, count: int) -> list[KpiValue]:
    values = []
    for n in range(count):
        port = rng.choice(["PECLL", "BRSSZ"])
        kpi = rng.choice(["waiting_time_h", "berth_hours_h"])
        anchor = DAY + timedelta(minutes=rng.randrange(0, 3 * 24 * 60), seconds=rng.choice([0, 59]))
        value = rng.randrange(-40, 400) / 4
        shape = rng.random()
        if shape < 0.1:  # open
            values.append(KpiValue("port_call", f"{port}/{n}", port, kpi, None, "h", None, "OPEN"))
        elif shape < 0.2:
            flag = "NEGATIVE_INTERVAL"
            values.append(KpiValue("port_call", f"{port}/{n}", port, kpi, value, "h", anchor, flag))
        elif shape < 0.25:  # a value without an anchor
            values.append(KpiValue("port_call", f"{port}/{n}", port, kpi, value, "h", None))
        else:
            values.append(KpiValue("port_call", f"{port}/{n}", port, kpi, value, "h", anchor))
    return values


async def _replace(connection: asyncpg.Connection, values: Sequence[KpiValue]) -> None:
    """Write ``values`` as the entities' KPI rows."""
    async with connection.transaction():
        await write_entity_kpis(connection, [(v, v.entity_id) for v in values], [])


async def _windows(connection: asyncpg.Connection) -> set[Row]:
    rows = await connection.fetch(
        """
        SELECT rtrim(port), granularity, window_start, kpi, unit, count, total, mean, median, p90
        FROM kpi_windows
        """
    )
    return {tuple(row) for row in rows}


def _defined(values: Sequence[KpiValue]) -> set[Row]:
    """The windows of ``values`` by their definition, as rows of ``kpi_windows``."""
    return {
        (
            w.port,
            w.granularity,
            w.window_start,
            w.kpi,
            w.unit,
            w.count,
            w.total,
            w.mean,
            w.median,
            w.p90,
        )
        for granularity in GRANULARITIES
        for w in window_aggregates(values, granularity)
    }


async def _apply(
    connection: asyncpg.Connection,
    state: WindowState,
    changes: Sequence[tuple[KpiValue | None, KpiValue | None]],
) -> tuple[int, int]:
    """The worker's way: load the missing windows, apply the changes, write what changed."""
    missing = state.missing(changes)
    for key, members in (await window_members(connection, missing)).items():
        state.load(key, members)
    for before, after in changes:
        state.change(before, after)
    written, emptied = state.take_dirty()
    async with connection.transaction():
        await write_windows(connection, written, emptied)
    return len(written), len(emptied)


async def test_window_members_reads_the_aggregated_values_of_each_window(
    fresh_database: str,
) -> None:
    connection = await asyncpg.connect(fresh_database)
    try:
        await migrate(connection)
        edge_hour = DAY + timedelta(days=1, hours=5)
        values = _values(random.Random(1), 300) + [
            # On the edges of 3 March and of its 05:00 hour: the first and last microsecond in,
            # the one before and the one after out.
            KpiValue("port_call", f"PECLL/{edge}-{n}", "PECLL", "waiting_time_h", 1.0, "h", anchor)
            for edge, start, span in (
                ("day", DAY + timedelta(days=1), timedelta(days=1)),
                ("hour", edge_hour, timedelta(hours=1)),
            )
            for n, anchor in enumerate(
                (
                    start - timedelta(microseconds=1),
                    start,
                    start + span - timedelta(microseconds=1),
                    start + span,
                )
            )
        ]
        await _replace(connection, values)
        # The busiest hour window.
        hour = Counter(
            WindowKey(v.port, "hour", window_start(v.anchor_time, "hour"), v.kpi)
            for v in values
            if v.anchor_time is not None and v.flag is None
        ).most_common(1)[0][0]
        day = WindowKey("PECLL", "day", DAY + timedelta(days=1), "waiting_time_h")
        nothing = WindowKey("PECLL", "day", DAY - timedelta(days=9), "waiting_time_h")

        edge = WindowKey("PECLL", "hour", edge_hour, "waiting_time_h")

        members = await window_members(connection, [hour, day, nothing, hour, edge])

        def expected(key: WindowKey, span: timedelta) -> set[WindowMember]:
            return {
                WindowMember(v.entity_kind, v.entity_id, v.value, v.unit)
                for v in values
                if v.value is not None
                and v.flag is None
                and v.anchor_time is not None
                and (v.port, v.kpi) == (key.port, key.kpi)
                and key.window_start <= v.anchor_time < key.window_start + span
            }

        assert set(members) == {hour, day, nothing, edge}
        assert set(members[hour]) == expected(hour, timedelta(hours=1))
        assert len(members[hour]) == len(expected(hour, timedelta(hours=1))) > 1
        assert set(members[day]) == expected(day, timedelta(days=1))
        assert len(members[day]) == len(expected(day, timedelta(days=1))) > 10
        assert {m.entity_id for m in members[day] if "day-" in m.entity_id} == {
            "PECLL/day-1",
            "PECLL/day-2",
        }
        assert {m.entity_id for m in members[edge] if "hour-" in m.entity_id} == {
            "PECLL/hour-1",
            "PECLL/hour-2",
        }
        assert members[nothing] == []
    finally:
        await connection.close()


async def test_windows_written_from_memory_equal_their_definition(
    fresh_database: str,
) -> None:
    rng = random.Random(18)
    connection = await asyncpg.connect(fresh_database)
    try:
        await migrate(connection)
        state = WindowState()
        current: dict[tuple[str, str], KpiValue] = {}
        for round_ in range(4):
            if round_ in (1, 3):  # a restart: every window is read again from the store
                state = WindowState()
            # New entities, then replaced values: other values, moved anchors, flags, open ones;
            # in the last round most entities lose their value, emptying windows.
            fresh = _values(rng, 200)
            changed = fresh if round_ == 0 else rng.sample(fresh, 120)
            if round_ == 3:
                changed = [
                    KpiValue(v.entity_kind, v.entity_id, v.port, v.kpi, None, "h", None, "OPEN")
                    for v in current.values()
                    if rng.random() < 0.8
                ]
            await _replace(connection, changed)
            changes = [(current.get((v.entity_id, v.kpi)), v) for v in changed]
            written, emptied = await _apply(connection, state, changes)
            for value in changed:
                current[(value.entity_id, value.kpi)] = value
            expected = _defined(list(current.values()))

            assert written > 0
            if round_ == 3:
                assert emptied > 0
            assert await _windows(connection) == expected
            assert len(expected) > 10
    finally:
        await connection.close()
