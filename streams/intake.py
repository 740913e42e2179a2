"""The intake: every record of the ingest topics, taken in batches across the topics.

The batches come from :class:`streams.batched_intake.BatchedIntake` (an aiokafka consumer the
faust app owns: faust's per-message agent path cost ~60-75 µs of CPU per event, see
``docs/architecture.md``). Each record (Confluent-framed Avro) is checked
(:func:`hub.ingest.decode.take_in`); accepted events are recorded idempotently in PostgreSQL and
refused ones dead-lettered with their reason (:func:`streams.error_policies.dead_letter`). A
batch goes to its offset commit through a :class:`streams.checkpoint.Checkpoint`: stored,
marked (the KPIs and verdicts it changes, stored), published, and only then committed.
"""

from __future__ import annotations

import asyncio
import functools
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from hub.db.events import IngestedEvent, record_rejections
from hub.db.verdicts import StoredVerdict
from hub.ingest.decode import take_in
from hub.kafka_topics import ORIGIN_HEADER, PUBLISHER_HEADER
from schemas.avro_schemas import parsed_schema
from schemas.models import Envelope
from schemas.rejections import Rejected
from streams import metrics
from streams.certificate_stage import certificate_keys, update_verdicts
from streams.checkpoint import Checkpoint
from streams.error_policies import dead_letter, fail_stop, record_or_refuse, retry_transient
from streams.kpi_stage import KpiStage, stored_keys
from streams.ownership import ownership_refusals
from streams.sinks.base import Sink
from streams.sinks.records import kpi_records, verdict_records
from streams.state import WorkerState


@dataclass(frozen=True, slots=True)
class IntakeOutputs:
    """Where the intake writes besides PostgreSQL (its own sinks: one batch at a time)."""

    deadletters: Sink
    deadletter_topic: str
    """The full name of ``hub.deadletter``."""
    verdicts: Sink
    kpis: Sink
    kpi_topics: Mapping[str, str]
    """The full name of each entity kind's KPI topic."""
    windows_topic: str
    topic: Callable[[str], str]
    """The full name of any topic of the hub (``validations.PE`` → with the namespace)."""

    @property
    def sinks(self) -> tuple[Sink, ...]:
        """In the order a checkpoint flushes them."""
        return (self.deadletters, self.verdicts, self.kpis)


@dataclass(frozen=True, slots=True)
class _Accepted:
    model: Envelope
    message: Any  # an aiokafka ConsumerRecord
    event: IngestedEvent


def to_store(domain: str, model: Envelope, origin: str) -> IngestedEvent:
    """What the event store keeps of an accepted event: its model as JSON, filed under its
    entity and certificate keys."""
    return IngestedEvent(
        event_id=model.event_id,
        domain=domain,
        event_type=model.event_type,
        port=model.port,
        occurred_at=model.occurred_at,
        payload=model.model_dump_json(),
        entity_keys=stored_keys(model) + certificate_keys(model),
        origin=origin,
    )


class IntakeBatch:
    """One batch of records: the events accepted so far, in record order, and the refusals,
    each dead-lettered and counted by domain, reason and publisher."""

    def __init__(self, outputs: IntakeOutputs) -> None:
        self.outputs = outputs
        self.accepted: list[_Accepted] = []
        self.rejected: Counter[tuple[str, str, str]] = Counter()

    @property
    def models(self) -> list[Envelope]:
        return [item.model for item in self.accepted]

    @property
    def events(self) -> list[IngestedEvent]:
        return [item.event for item in self.accepted]

    def accept(self, domain: str, model: Envelope, message: Any) -> None:
        self.accepted.append(_Accepted(model, message, to_store(domain, model, _origin(message))))

    def refuse(self, domain: str, message: Any, rejected: Rejected) -> None:
        # The headers are read for a refused record only: an accepted one costs nothing more.
        publisher = _publisher(message)
        dead_letter(
            self.outputs.deadletters,
            self.outputs.deadletter_topic,
            message,
            rejected,
            publisher=publisher,
            domain=domain,
            origin=_origin(message),
        )
        self.rejected[(domain, rejected.reason.value, publisher)] += 1

    def refuse_accepted(self, refused: Mapping[int, Rejected]) -> None:
        """Refuse the accepted events at these indexes, and leave them out of the rest."""
        for index, refusal in sorted(refused.items()):
            item = self.accepted[index]
            self.refuse(item.event.domain, item.message, refusal)
        if refused:
            self.accepted = [item for i, item in enumerate(self.accepted) if i not in refused]


def batch_handler(
    domains: Mapping[str, str], state: WorkerState, stage: KpiStage, outputs: IntakeOutputs
) -> Callable[[list[Any]], Awaitable[None]]:
    """What the intake consumer calls with each batch: :func:`take_in_batch`, or the worker
    stopped (:func:`streams.error_policies.fail_stop`) before the consumer commits the batch's
    offsets."""

    async def handle(records: list[Any]) -> None:
        try:
            with metrics.BATCH_SECONDS.time():
                await take_in_batch(records, domains, state, stage, outputs)
        except asyncio.CancelledError:
            raise
        except Exception:
            fail_stop("intake")

    return handle


async def take_in_batch(
    records: Sequence[Any],
    domains: Mapping[str, str],
    state: WorkerState,
    stage: KpiStage,
    outputs: IntakeOutputs,
) -> None:
    """Check, record, derive and publish one batch of records (``domains``: the domain of each
    ingest topic); returns once its offsets may be committed."""
    pool = await retry_transient("connect to PostgreSQL", state.pool)
    codec = await retry_transient("open the schema registry", state.codec)
    now = datetime.now(UTC)
    late_grace = timedelta(hours=state.settings.rules.late_grace_hours)
    batch = IntakeBatch(outputs)
    for message in records:
        domain = domains[message.topic]
        outcome = await retry_transient(
            "read the schema registry",
            functools.partial(
                take_in,
                message.value,
                domain,
                codec,
                parsed_schema(domain),
                state.known_ports,
                now,
                late_grace,
            ),
        )
        if isinstance(outcome, Rejected):
            batch.refuse(domain, message, outcome)
        else:
            batch.accept(domain, outcome, message)

    # Refusals that need the store: another port's event or certificate id.
    batch.refuse_accepted(
        await retry_transient("check owners", lambda: ownership_refusals(pool, batch.models))
    )
    checkpoint = Checkpoint(outputs.sinks)
    recorded, unstorable = await checkpoint.store(
        "record events", lambda: record_or_refuse(pool, batch.events, late_grace)
    )
    batch.refuse_accepted(unstorable)
    await checkpoint.store("count rejections", lambda: record_rejections(pool, batch.rejected))
    # Duplicates and re-deliveries too: the stage applies an event once, and after a restart
    # they bring their entities back into memory, so nothing a crash interrupted is left out.
    models = batch.models
    update = await checkpoint.mark("update KPIs", lambda: stage.update(pool, models, recorded))
    for record in kpi_records(update, outputs.kpi_topics, outputs.windows_topic):
        outputs.kpis.add(record)
    verdicts = await checkpoint.mark(
        "validate certificates",
        lambda: update_verdicts(pool, models, state.settings.rules.certificate_validity_days),
    )
    for record in verdict_records(verdicts, outputs.topic):
        outputs.verdicts.add(record)
    await checkpoint.publish()
    checkpoint.commit()
    state.events_in += len(records)
    metrics.observe_latency(
        (model.occurred_at for model in models),
        (item.message.timestamp / 1000 for item in batch.accepted),
        datetime.now(UTC),
    )
    _count(batch, verdicts)


def _origin(message: Any) -> str:
    """Where the record was first published: the same for every read of it."""
    for name, value in message.headers or ():
        if name == ORIGIN_HEADER:
            return bytes(value).decode("utf-8", "replace")
    return f"{message.topic}/{message.partition}/{message.offset}"


def _publisher(message: Any) -> str:
    """Who published the record (:data:`~hub.kafka_topics.PUBLISHER_HEADER`, set by the hub's
    ways in); '' when it does not say (a record produced straight to an ingest topic)."""
    for name, value in message.headers or ():
        if name == PUBLISHER_HEADER:
            return bytes(value).decode("utf-8", "replace")
    return ""


def _count(batch: IntakeBatch, verdicts: Sequence[StoredVerdict]) -> None:
    for (domain, port), number in Counter(
        (item.event.domain, item.model.port) for item in batch.accepted
    ).items():
        metrics.EVENTS_IN.labels(domain=domain, port=port).inc(number)
    for (domain, reason, publisher), number in batch.rejected.items():
        metrics.EVENTS_REJECTED.labels(domain=domain, reason=reason, publisher=publisher).inc(
            number
        )
    for verdict in verdicts:
        if verdict.new:
            metrics.VERDICTS.labels(outcome=verdict.body["outcome"]).inc()
