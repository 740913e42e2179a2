"""Queries of the indicator stage (what changed, a period's inputs, the indicator rows, its
progress and its lock) and of the indicators API."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime

import asyncpg

from hub.domain.indicators.model import CertificateOutcome, Indicator
from hub.domain.indicators.quality import FeedEvent, RefusalCount
from hub.domain.kpis.model import KpiValue
from schemas.models import MODELS, Envelope

# The KPIs the indicators aggregate (hub/domain/indicators/aggregates.py reads these names).
INDICATOR_KPIS = (
    "port_hours_h", "waiting_time_h", "berth_productivity_moves_per_h", "dwell_days",
    "truck_turnaround_min", "release_time_h", "physical_inspection_flag", "throughput_teu",
    "throughput_t", "call_size_moves", "arrival_mismatch_flag",
    # hub/domain/indicators/emissions.py
    "co2_anchorage_t", "co2_berth_t", "co2_t", "co2_avoidable_t", "sox_t", "co2_size_assumed_flag",
    "eta_error_h", "eta_abs_error_h", "eta_error_24h_h", "eta_abs_error_24h_h", "eta_error_72h_h",
    "eta_abs_error_72h_h",
)  # fmt: skip
# The names of the session advisory locks that one worker at a time holds to run the stage's
# jobs: days and months; quarters, half-years and years.
_JOB_LOCK = "indicators"
LONG_JOB_LOCK = "indicators-long"


@asynccontextmanager
async def indicator_job(
    connection: asyncpg.Connection, lock: str = _JOB_LOCK
) -> AsyncIterator[bool]:
    """Whether ``connection`` got the advisory lock of one of the indicator stage's jobs (False:
    another worker runs that job now, skip this turn); a lock got is released when the block
    ends."""
    held = bool(await connection.fetchval("SELECT pg_try_advisory_lock(hashtext($1))", lock))
    try:
        yield held
    finally:
        if held:
            await connection.execute("SELECT pg_advisory_unlock(hashtext($1))", lock)


async def progress(connection: asyncpg.Connection) -> tuple[datetime, datetime] | None:
    """(day_since, month_since): the database times up to which the stage has seen the changes
    of days and of months; None before its first run."""
    row = await connection.fetchrow("SELECT day_since, month_since FROM indicator_progress")
    return None if row is None else (row["day_since"], row["month_since"])


async def change_mark(connection: asyncpg.Connection) -> datetime:
    """Where the next run looks for changes from, taken before reading: the database's clock
    (the one ``computed_at``, ``ingested_at``, ``issued_at`` and ``last_at`` are written with:
    ``now()``, the start of the writing transaction), moved back to the start of the oldest
    transaction still open in this database. A transaction that began before the mark and
    commits after this run read its day writes times before the mark; without moving the mark
    back, no run would see its change. At most ten minutes back: a session left idle in a
    transaction only costs recomputing recent days again."""
    mark: datetime = await connection.fetchval(
        """
        SELECT greatest(least(now(), min(xact_start)), now() - interval '10 minutes')
        FROM pg_stat_activity
        WHERE datname = current_database() AND xact_start IS NOT NULL
        """
    )
    return mark


async def save_progress(
    connection: asyncpg.Connection, day_since: datetime, month_since: datetime
) -> None:
    """Record how far the stage has seen (the next run looks for changes after these)."""
    await connection.execute(
        """
        INSERT INTO indicator_progress (id, day_since, month_since) VALUES (true, $1, $2)
        ON CONFLICT (id) DO UPDATE SET day_since = $1, month_since = $2
        """,
        day_since,
        month_since,
    )


async def long_progress(connection: asyncpg.Connection) -> datetime | None:
    """The database time up to which the stage has seen the changes of quarters, half-years
    and years (migration 0023); None before their first run."""
    since: datetime | None = await connection.fetchval("SELECT since FROM indicator_long_progress")
    return since


async def save_long_progress(connection: asyncpg.Connection, since: datetime) -> None:
    """Record how far the long periods' job has seen."""
    await connection.execute(
        """
        INSERT INTO indicator_long_progress (id, since) VALUES (true, $1)
        ON CONFLICT (id) DO UPDATE SET since = $1
        """,
        since,
    )


async def changed_days(connection: asyncpg.Connection, since: datetime) -> list[datetime]:
    """The UTC days whose inputs changed at or after ``since`` (at: a write in the transaction
    that began at the mark itself, see :func:`change_mark`): KPI values recomputed, events taken
    in, verdicts issued (each placed by its event time), refusals counted (the day of the
    refusal: a writer of ``publisher_rejection_counts`` sets ``last_at = now()`` on every
    change), and the day of the first vessel event of each call a vessel event was taken in for
    (the data-quality scorecard places a call there and judges it on all its timestamps), and
    the day of the release (its ``release_time_h`` anchor) of each declaration with a customs
    event taken in or naming a certificate a verdict was issued for (the certificate's effect on
    release time classes a released declaration by its latest lodgement and verdict: an
    amendment or a verdict after the release changes that day without changing its KPIs)."""
    rows = await connection.fetch(
        """
        SELECT DISTINCT date_trunc('day', moment AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS day
        FROM (
            SELECT anchor_time AS moment FROM entity_kpis
            WHERE computed_at >= $1 AND anchor_time IS NOT NULL
            UNION ALL
            SELECT occurred_at FROM ingested_events WHERE ingested_at >= $1
            UNION ALL
            SELECT e.occurred_at FROM certificate_verdicts v
            JOIN ingested_events e ON e.event_id = v.submission_event_id
            WHERE v.issued_at >= $1
            UNION ALL
            SELECT day::timestamp AT TIME ZONE 'UTC' FROM publisher_rejection_counts
            WHERE last_at >= $1
            UNION ALL
            SELECT (SELECT min(c.occurred_at) FROM ingested_events c
                    WHERE c.domain = 'vessel' AND c.port = v.port
                      AND c.port_call_id = v.port_call_id)
            FROM (SELECT DISTINCT port, port_call_id FROM ingested_events
                  WHERE domain = 'vessel' AND ingested_at >= $1) AS v
            UNION ALL
            SELECT k.anchor_time
            FROM (SELECT DISTINCT port::text || '/' || declaration_id AS entity_id
                  FROM ingested_events
                  WHERE domain = 'customs' AND ingested_at >= $1 AND declaration_id IS NOT NULL
                  UNION
                  SELECT unnest(declarations) FROM certificate_verdicts
                  WHERE issued_at >= $1) AS d
            JOIN entity_kpis k ON k.entity_kind = 'declaration' AND k.entity_id = d.entity_id
                              AND k.kpi = 'release_time_h'
        ) AS changed
        WHERE moment IS NOT NULL
        ORDER BY day
        """,
        since,
    )
    return [row["day"] for row in rows]


async def kpi_values(
    connection: asyncpg.Connection, start: datetime, end: datetime
) -> list[KpiValue]:
    """The entity KPI values anchored in [start, end) that indicators aggregate."""
    rows = await connection.fetch(
        """
        SELECT entity_kind, entity_id, port, kpi, value, unit, anchor_time, flag FROM entity_kpis
        WHERE anchor_time >= $1 AND anchor_time < $2 AND kpi = ANY($3::text[])
        """,
        start,
        end,
        list(INDICATOR_KPIS),
    )
    return [
        KpiValue(r["entity_kind"], r["entity_id"], r["port"].strip(), r["kpi"], r["value"],
                 r["unit"], r["anchor_time"], r["flag"])
        for r in rows
    ]  # fmt: skip


async def events_count_between(
    connection: asyncpg.Connection, start: datetime, end: datetime
) -> int:
    """How many stored events occurred in [start, end) (any domain)."""
    counted: int = await connection.fetchval(
        """
        SELECT count(*) FROM ingested_events
        WHERE domain = ANY($1::text[]) AND occurred_at >= $2 AND occurred_at < $3
        """,
        ["vessel", "cargo", "customs", "certificate"],
        start,
        end,
    )
    return counted


async def events_between(
    connection: asyncpg.Connection, domains: Sequence[str], start: datetime, end: datetime
) -> list[Envelope]:
    """The stored events of ``domains`` that occurred in [start, end)."""
    rows = await connection.fetch(
        """
        SELECT domain, payload::text AS payload FROM ingested_events
        WHERE domain = ANY($1::text[]) AND occurred_at >= $2 AND occurred_at < $3
          AND payload IS NOT NULL
        """,
        list(domains),
        start,
        end,
    )
    # Parsing is the job's largest cost (a day's events, a month's): off the event loop, so
    # the worker's intake is not held up while it runs.
    return await asyncio.to_thread(_models, rows)


async def vessel_events_of_calls(
    connection: asyncpg.Connection,
    calls: Sequence[tuple[str, str]],
    start: datetime,
    end: datetime,
) -> list[Envelope]:
    """The stored vessel events of ``calls`` ((port, port_call_id)) that occurred in
    [start, end): a call's later timestamps, read by its key, not with every other call's."""
    if not calls:
        return []
    rows = await connection.fetch(
        """
        SELECT e.domain, e.payload::text AS payload
        FROM unnest($1::bpchar[], $2::text[]) AS c (port, port_call_id)
        JOIN ingested_events e ON e.port = c.port AND e.port_call_id = c.port_call_id
        WHERE e.domain = 'vessel' AND e.occurred_at >= $3 AND e.occurred_at < $4
          AND e.payload IS NOT NULL
        """,
        [port for port, _ in calls],
        [call for _, call in calls],
        start,
        end,
    )
    return await asyncio.to_thread(_models, rows)


async def customs_events_of_declarations(
    connection: asyncpg.Connection, declarations: Sequence[tuple[str, str]]
) -> list[Envelope]:
    """Every stored customs event of ``declarations`` ((port, declaration_id)), whenever it
    occurred: the lodgements of the declarations released in a period, read by their keys."""
    if not declarations:
        return []
    rows = await connection.fetch(
        """
        SELECT e.domain, e.payload::text AS payload
        FROM unnest($1::bpchar[], $2::text[]) AS d (port, declaration_id)
        JOIN ingested_events e ON e.port = d.port AND e.declaration_id = d.declaration_id
        WHERE e.domain = 'customs' AND e.payload IS NOT NULL
        """,
        [port for port, _ in declarations],
        [declaration for _, declaration in declarations],
    )
    return await asyncio.to_thread(_models, rows)


def _models(rows: Sequence[asyncpg.Record]) -> list[Envelope]:
    return [MODELS[row["domain"]].model_validate_json(row["payload"]) for row in rows]


async def feed_between(
    connection: asyncpg.Connection, start: datetime, end: datetime
) -> list[FeedEvent]:
    """Every stored event that occurred in [start, end), of every domain, with the envelope
    fields the data-quality scorecard reads (``hub.domain.indicators.inputs.feed_events`` gives
    the same from the events themselves); the payload is read once, not validated."""
    rows = await connection.fetch(
        """
        SELECT e.event_id::text AS event_id, e.port, e.occurred_at, p.published_at,
               p.classifier, p.source
        FROM ingested_events e
        CROSS JOIN LATERAL json_to_record(e.payload::json)
            AS p (published_at timestamptz, classifier text, source text)
        WHERE e.occurred_at >= $1 AND e.occurred_at < $2 AND e.payload IS NOT NULL
        """,
        start,
        end,
    )
    return [
        FeedEvent(r["event_id"], r["port"].strip(), r["occurred_at"], r["published_at"],
                  r["classifier"], r["source"])
        for r in rows
    ]  # fmt: skip


async def refusal_counts(
    connection: asyncpg.Connection, start: datetime, end: datetime
) -> list[RefusalCount]:
    """The records refused per publisher, UTC day in [start, end) and reason, summed over
    domains (``publisher_rejection_counts``)."""
    rows = await connection.fetch(
        """
        SELECT publisher, day, reason, sum(events)::bigint AS events
        FROM publisher_rejection_counts
        WHERE day >= ($1 AT TIME ZONE 'UTC')::date AND day < ($2 AT TIME ZONE 'UTC')::date
        GROUP BY publisher, day, reason
        """,
        start,
        end,
    )
    return [RefusalCount(r["publisher"], r["day"], r["reason"], r["events"]) for r in rows]


async def certificate_outcomes(
    connection: asyncpg.Connection, start: datetime, end: datetime
) -> list[CertificateOutcome]:
    """The latest verdict of each certificate submitted in [start, end), with the time of its
    first final (non-PENDING) verdict."""
    rows = await connection.fetch(
        _OUTCOMES.format(where="e.occurred_at >= $1 AND e.occurred_at < $2"), start, end
    )
    return [_outcome(row) for row in rows]


async def certificate_outcomes_of(
    connection: asyncpg.Connection, certificate_ids: Sequence[str]
) -> list[CertificateOutcome]:
    """As :func:`certificate_outcomes`, of the certificates ``certificate_ids`` whenever they
    were submitted (those the period's declarations name); an id without a verdict is left
    out."""
    if not certificate_ids:
        return []
    rows = await connection.fetch(
        _OUTCOMES.format(where="v.certificate_id = ANY($1::text[])"), list(certificate_ids)
    )
    return [_outcome(row) for row in rows]


_OUTCOMES = """
    SELECT DISTINCT ON (v.certificate_id)
           v.certificate_id, v.importing_country, e.occurred_at AS submitted_at, v.outcome,
           v.failed,
           (SELECT min(f.issued_at) FROM certificate_verdicts f
            WHERE f.certificate_id = v.certificate_id AND f.outcome <> 'PENDING') AS final_at
    FROM certificate_verdicts v
    JOIN ingested_events e ON e.event_id = v.submission_event_id
    WHERE {where}
    ORDER BY v.certificate_id, v.version DESC
"""


def _outcome(row: asyncpg.Record) -> CertificateOutcome:
    return CertificateOutcome(
        certificate_id=row["certificate_id"],
        importing_country=row["importing_country"].strip(),
        submitted_at=row["submitted_at"],
        outcome=row["outcome"],
        failed=tuple(row["failed"]),
        final_at=row["final_at"],
    )


async def replace_indicators(
    connection: asyncpg.Connection, period: str, start: datetime, rows: Sequence[Indicator]
) -> None:
    """Replace every indicator of one period (inside a transaction)."""
    await connection.execute(
        "DELETE FROM indicators WHERE period = $1 AND period_start = $2", period, start
    )
    await connection.executemany(
        """
        INSERT INTO indicators (level, entity, period, period_start, indicator, unit, count,
                                value, median, p90, detail)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
        """,
        [
            (
                r.level,
                r.entity,
                r.period,
                r.period_start,
                r.indicator,
                r.unit,
                r.count,
                r.value,
                r.median,
                r.p90,
                r.detail,
            )
            for r in rows
        ],
    )


async def stored_indicators(
    connection: asyncpg.Connection | asyncpg.Pool,
    level: str,
    entity: str | None,
    period: str,
    start: datetime,
    end: datetime,
    indicator: str | None,
) -> list[asyncpg.Record]:
    """The indicators of one level (and entity; None: every entity), one kind of period,
    starting in [start, end) (and of one ``indicator``; None: all), by entity, time and name:
    what the indicators API serves."""
    rows: list[asyncpg.Record] = await connection.fetch(
        """
        SELECT level, entity, period, period_start, indicator, unit, count, value, median,
               p90, detail, computed_at
        FROM indicators
        WHERE level = $1 AND ($2::text IS NULL OR entity = $2) AND period = $3
          AND period_start >= $4 AND period_start < $5
          AND ($6::text IS NULL OR indicator = $6)
        ORDER BY entity, period_start, indicator
        """,
        level,
        entity,
        period,
        start,
        end,
        indicator,
    )
    return rows


def indicator_json(row: asyncpg.Record) -> dict[str, object]:
    """A stored indicator as the API and the topic give it."""
    body = dict(row)
    body["period_start"] = row["period_start"].isoformat()
    body["computed_at"] = row["computed_at"].isoformat() if row.get("computed_at") else None
    if isinstance(body.get("detail"), str):
        with contextlib.suppress(ValueError):
            body["detail"] = json.loads(body["detail"])
    return body
