"""The data-quality scorecard the workers keep equals the batch reference on the same events,
refusals counted per publisher change a day's refusal rate, and the indicators API and its CSV
carry the scorecard (issue 20, item 4)."""

from __future__ import annotations

import csv
import io
import math
import signal
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx

from connectors.simulator import PortTrafficGenerator
from hub.domain.indicators.inputs import call_actuals, feed_events, lodged_declarations, move_links
from hub.domain.indicators.mechanisms import load_mechanisms
from hub.domain.indicators.model import Indicator, IndicatorName, Period, PortInfo
from hub.domain.indicators.quality import QualityInputs, RefusalCount
from hub.domain.indicators.reference import all_indicators
from hub.domain.kpis.reference import all_kpis
from hub.domain.reference import BUNDLED_MECHANISMS_FILE, BUNDLED_PORTS_FILE, load_ports
from schemas.models import Classifier, Envelope, Facility, Operation, VesselEvent
from tests.integration.helpers import (
    Services,
    bearer,
    eventually,
    free_port,
    hub_environment,
    publish_events,
    reader_token,
    start_hub,
    stop_process,
    worker_started,
)

PORTS = ("PECLL", "COCTG")
START = datetime(2026, 10, 5, tzinfo=UTC)
END = START + timedelta(days=3)
SCORECARD = {
    IndicatorName.PUBLISH_DELAY_MIN,
    IndicatorName.CALLS_COMPLETE_PCT,
    IndicatorName.MOVES_WITH_CRANE_AND_CALL_PCT,
    IndicatorName.DECLARATIONS_LINKED_PCT,
    IndicatorName.REFUSAL_RATE_PCT,
    IndicatorName.ARRIVALS_OFF_AIS_PCT,
}
# Refused records inserted once the events are in: Callao 40 + 10 on the first day, Colombia's
# single window 5.
REFUSALS = [
    ("PECLL", START.date(), "cargo", "SCHEMA_INVALID", 40),
    ("PECLL", START.date(), "vessel", "TOO_LATE", 10),
    ("CO", START.date(), "customs", "PORT_NOT_OWNED", 5),
]

Key = tuple[str, str, str, datetime, str]


def _scorecard_name(name: str) -> bool:
    return name in SCORECARD or name.startswith("refusal_rate_")


def _feed(generated: Sequence[Envelope]) -> list[Envelope]:
    """The generated events published 0 to 6 minutes late (the generator publishes as they
    happen), and an AIS-derived arrival for six calls, 0 to 75 minutes before the declared one
    (three of them more than the 30 minutes' tolerance off)."""
    events: list[Envelope] = []
    for i, event in enumerate(generated):
        forecast = isinstance(event, VesselEvent) and event.classifier is not Classifier.ACT
        late = event.published_at + timedelta(minutes=i % 7)
        events.append(event if forecast else event.model_copy(update={"published_at": late}))
    declared = [
        e
        for e in events
        if isinstance(e, VesselEvent)
        and (e.classifier, e.operation, e.facility)
        == (Classifier.ACT, Operation.ARRI, Facility.PORT)
    ]
    for i, arrival in enumerate(declared[:6]):
        seen = arrival.occurred_at - timedelta(minutes=15 * i)
        events.append(
            arrival.model_copy(
                update={
                    "event_id": uuid.uuid4(),
                    "occurred_at": seen,
                    "published_at": seen,
                    "source": "AIS",
                    "mmsi": "725001234",
                }
            )
        )
    return events


async def test_the_streamed_scorecard_equals_the_batch_reference_and_counts_refusals(
    services: Services, fresh_database: str, namespace: str, tmp_path: Path
) -> None:
    every_port = load_ports(BUNDLED_PORTS_FILE)
    generator = PortTrafficGenerator(
        [port for port in every_port if port.unlocode in PORTS],
        seed=21,
        start=START - timedelta(days=1),
        scale=0.005,
    )
    events = _feed(list(generator.events_between(START, END)))
    http_port = free_port()
    environment = hub_environment(
        HUB_KAFKA_BOOTSTRAP=services.bootstrap,
        DATABASE_URL=fresh_database,
        HUB_TOPIC_NAMESPACE=namespace,
        HUB_WORKER_ID=f"{namespace}worker",
        HUB_STATE_DIR=str(tmp_path / "state"),
        HUB_WORKER_HEARTBEAT_S="1",
        HUB_HTTP_PORT=str(http_port),
        HUB_LATE_GRACE_HOURS=str(24 * 400),  # the days lie in the past
        HUB_INDICATORS_INTERVAL_S="2",
        HUB_INDICATORS_MONTH_INTERVAL_S="2",
    )
    worker = start_hub(["worker"], environment, tmp_path / "worker.log")
    api = start_hub(["api"], environment, tmp_path / "api.log")
    pool = await asyncpg.create_pool(fresh_database, min_size=1, max_size=2)
    network = [PortInfo(port.unlocode, port.country) for port in every_port]
    mechanisms = load_mechanisms(BUNDLED_MECHANISMS_FILE)
    kpis = all_kpis(events)

    def reference(refusals: Sequence[RefusalCount]) -> dict[Key, Indicator]:
        quality = QualityInputs(
            feed_events(events), call_actuals(events), move_links(events),
            lodged_declarations(events), refusals,
        )  # fmt: skip
        rows = []
        periods: tuple[Period, ...] = ("day", "month")
        for period in periods:
            rows += all_indicators(kpis, [], [], [], network, mechanisms, period, quality=quality)
        return {
            (r.level, r.entity, r.period, r.period_start, r.indicator): r
            for r in rows
            if _scorecard_name(r.indicator)
        }

    async def stored() -> dict[Key, asyncpg.Record]:
        # The days and months (the longer periods wait for HUB_INDICATORS_LONG_INTERVAL_S).
        rows = await pool.fetch("SELECT * FROM indicators WHERE period IN ('day', 'month')")
        return {
            (r["level"], r["entity"], r["period"], r["period_start"], r["indicator"]): r
            for r in rows
            if _scorecard_name(r["indicator"])
        }

    async def equal_to(expected: dict[Key, Indicator]) -> None:
        async def equal() -> bool:
            return _differences(expected, await stored()) == []

        try:
            await eventually(equal, 180, "the scorecard to equal the reference", 3)
        except AssertionError:
            differences = _differences(expected, await stored())
            raise AssertionError(f"{len(differences)} differences: {differences[:8]}") from None

    try:
        await eventually(lambda: worker_started(pool), 90, "the worker's start")
        await publish_events(services.bootstrap, pool, namespace, events)

        async def all_taken_in() -> bool:
            taken = await pool.fetchval("SELECT count(*) FROM ingested_events")
            return bool(taken == len(events))

        await eventually(all_taken_in, 240, "every event taken in", interval_s=2)
        before = reference([])
        await equal_to(before)
        names = {key[4] for key in before}
        assert names == {name.value for name in SCORECARD}, names  # every measure has data
        first_day = ("port", "PECLL", "day", START, "refusal_rate_pct")
        assert before[first_day].value == 0.0

        # Refusals counted for the first day change that day's (and month's) refusal rates.
        await pool.executemany(
            "INSERT INTO publisher_rejection_counts (publisher, day, domain, reason, events)"
            " VALUES ($1, $2, $3, $4, $5)",
            REFUSALS,
        )
        after = reference([RefusalCount(p, d, reason, n) for p, d, _, reason, n in REFUSALS])
        await equal_to(after)
        # By hand: Callao refused 40 + 10 = 50 on the first day; accepted its events of that
        # day (AIS-derived ones aside): 50 / (50 + accepted) * 100.
        accepted = sum(
            1
            for e in {e.event_id: e for e in events}.values()
            if e.port == "PECLL"
            and e.source != "AIS"
            and START <= e.occurred_at < START + timedelta(days=1)
        )
        rate = await pool.fetchrow(
            "SELECT value, count, detail FROM indicators WHERE level = 'port' AND entity = 'PECLL'"
            " AND period = 'day' AND period_start = $1 AND indicator = 'refusal_rate_pct'",
            START,
        )
        assert rate["count"] == 50 + accepted
        assert math.isclose(rate["value"], 100 * 50 / (50 + accepted))
        assert rate["detail"] == '{"SCHEMA_INVALID":40,"TOO_LATE":10}'
        colombia = after[("country", "CO", "day", START, "refusal_rate_port_not_owned_pct")]
        assert colombia.value is not None and colombia.value > 0
        assert ("port", "COCTG", "day", START, "refusal_rate_port_not_owned_pct") not in after

        # The indicators API and its CSV carry the scorecard.
        reader = bearer(await reader_token(fresh_database))
        callao = {key[4] for key in after if key[:4] == ("port", "PECLL", "day", START)}
        assert "refusal_rate_schema_invalid_pct" in callao and "publish_delay_min" in callao
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{http_port}", headers=reader
        ) as client:
            params = {
                "level": "port",
                "id": "PECLL",
                "period": "day",
                "from": START.isoformat(),
                "to": (START + timedelta(days=1)).isoformat(),
            }
            answer = await client.get("/v1/indicators", params=params)
            assert answer.status_code == 200, answer.text
            served = {
                row["indicator"]: row
                for row in answer.json()["indicators"]
                if _scorecard_name(row["indicator"])
            }
            assert served.keys() == callao
            assert served["refusal_rate_pct"]["detail"] == {"SCHEMA_INVALID": 40, "TOO_LATE": 10}
            download = await client.get("/v1/indicators", params=params | {"format": "csv"})
            assert download.headers["content-type"].startswith("text/csv")
            table = list(csv.DictReader(io.StringIO(download.text)))
            assert {r["indicator"] for r in table if _scorecard_name(r["indicator"])} == callao
            unit = {r["indicator"]: r["unit"] for r in table}
            assert unit["publish_delay_min"] == "min" and unit["refusal_rate_pct"] == "%"
    finally:
        await pool.close()
        stop_process(api, signal.SIGTERM, 30)
        stop_process(worker, signal.SIGTERM, 30)


def _differences(expected: dict[Key, Indicator], stored: dict[Key, asyncpg.Record]) -> list[str]:
    problems = [f"missing {key}" for key in sorted(expected.keys() - stored.keys())]
    problems += [f"unexpected {key}" for key in sorted(stored.keys() - expected.keys())]
    for key in sorted(expected.keys() & stored.keys()):
        want, got = expected[key], stored[key]
        if want.count != got["count"] or want.unit != got["unit"]:
            problems.append(
                f"{key}: count/unit {want.count}/{want.unit} != {got['count']}/{got['unit']}"
            )
        for field in ("value", "median", "p90"):
            a, b = getattr(want, field), got[field]
            if (a is None) != (b is None) or (
                a is not None and not math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-6)
            ):
                problems.append(f"{key}.{field}: {a} != {b}")
        if want.detail != got["detail"]:
            problems.append(f"{key}.detail: {want.detail} != {got['detail']}")
    return problems
