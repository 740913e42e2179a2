"""What the worker publishes, as records: one encoder per output, each the only place its key
and value are formatted."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from hub.db.verdicts import StoredVerdict
from hub.domain.indicators.model import Indicator
from hub.ingest.deadletter import dead_letter
from hub.kafka_topics import validations_topic
from schemas.rejections import Rejected
from streams.kpi_stage import KpiUpdate
from streams.sinks.base import Record


def kpi_records(update: KpiUpdate, kpi_topics: Mapping[str, str], windows: str) -> Iterator[Record]:
    """The changed entity KPIs (to the topic of their entity kind, ``kpi_topics``) and the
    recomputed windows (to ``windows``); a later value supersedes an earlier one of its key."""
    for value in update.values:
        key = f"{value.entity_kind}:{value.entity_id}:{value.kpi}".encode()
        body = json.dumps(value.as_json()).encode()
        yield Record(kpi_topics[value.entity_kind], key, body)
    for window in update.windows:
        start = window.window_start.isoformat()
        key = f"{window.port}:{window.granularity}:{start}:{window.kpi}".encode()
        yield Record(windows, key, json.dumps(window.as_json()).encode())


def verdict_records(
    verdicts: Sequence[StoredVerdict], topic: Callable[[str], str]
) -> Iterator[Record]:
    """Each verdict version to its importing country's ``validations.<ISO2>`` (``topic`` adds
    the namespace), keyed by certificate id."""
    for verdict in verdicts:
        yield Record(
            topic(validations_topic(verdict.importing_country)),
            str(verdict.body["certificate_id"]).encode(),
            json.dumps(verdict.body).encode(),
        )


def indicator_records(rows: Sequence[Indicator], topic: str) -> Iterator[Record]:
    """Each indicator row, keyed by level, entity, period, its start and the indicator."""
    for row in rows:
        start = row.period_start.isoformat()
        key = f"{row.level}:{row.entity}:{row.period}:{start}:{row.indicator}"
        yield Record(topic, key.encode(), json.dumps(row.as_json()).encode())


def dead_letter_record(
    message: Any, rejected: Rejected, topic: str, *, publisher: str, domain: str, origin: str
) -> Record:
    """The dead letter of a refused ingest record (an aiokafka ``ConsumerRecord``), by the one
    definition (:func:`hub.ingest.deadletter.dead_letter`)."""
    letter = dead_letter(
        message.value,
        rejected,
        message.topic,
        key=message.key,
        original_headers=message.headers,
        publisher=publisher,
        domain=domain,
        origin=origin,
    )
    return Record(topic, letter.key, letter.value, tuple(letter.headers))
