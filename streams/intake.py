"""The intake: one faust agent per event domain, taking ``ingest.<domain>`` in batches.

Each record (Confluent-framed Avro) is checked (:func:`hub.ingest.decode.take_in`); accepted
events are recorded idempotently in PostgreSQL and refused ones dead-lettered with their reason
(:func:`streams.error_policies.dead_letter`). A batch goes to its offset commit through a
:class:`streams.checkpoint.Checkpoint`: stored, marked, published, and only then committed.
"""

from __future__ import annotations

import asyncio
import functools
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from faust.types import EventT

from hub.db.events import IngestedEvent, record_rejections
from hub.db.kpi_store import mark_dirty
from hub.db.verdicts import StoredVerdict
from hub.ingest.decode import take_in
from hub.kafka_topics import ORIGIN_HEADER
from schemas.avro_schemas import parsed_schema
from schemas.models import Envelope
from schemas.rejections import Rejected
from streams import metrics
from streams.certificate_stage import certificate_keys, update_verdicts
from streams.checkpoint import Checkpoint
from streams.error_policies import dead_letter, fail_stop, record_or_refuse, retry_transient
from streams.kpi_stage import dirty_keys, stored_keys
from streams.ownership import ownership_refusals
from streams.sinks.base import Sink
from streams.sinks.records import verdict_records
from streams.state import WorkerState

# A batch waits at most this long to fill up to HUB_WORKER_BATCH_SIZE records.
_BATCH_WITHIN_S = 1.0


@dataclass(frozen=True, slots=True)
class IntakeOutputs:
    """Where one intake agent writes besides PostgreSQL (its own sinks: one batch at a time)."""

    deadletters: Sink
    deadletter_topic: str
    """The full name of ``hub.deadletter``."""
    verdicts: Sink
    topic: Callable[[str], str]
    """The full name of any topic of the hub (``validations.PE`` → with the namespace)."""

    @property
    def sinks(self) -> tuple[Sink, ...]:
        """In the order a checkpoint flushes them."""
        return (self.deadletters, self.verdicts)


def intake_agent(
    domain: str, state: WorkerState, outputs: IntakeOutputs
) -> Callable[[Any], Awaitable[None]]:
    """The agent of ``domain``'s ingest topic: every batch taken in, or the worker stopped."""

    async def intake(stream: Any) -> None:  # a faust Stream; its stubs lack take_events
        async for events in stream.take_events(state.settings.worker.batch_size, _BATCH_WITHIN_S):
            try:
                with metrics.BATCH_SECONDS.labels(domain=domain).time():
                    await take_in_batch(domain, events, state, outputs)
            except asyncio.CancelledError:
                raise
            except Exception:
                # Before take_events' finally acks the batch (see streams.error_policies).
                fail_stop(f"intake-{domain}")

    intake.__name__ = f"intake_{domain}"
    return intake


@dataclass(frozen=True, slots=True)
class _Accepted:
    model: Envelope
    message: Any  # a faust Message
    event: IngestedEvent


class IntakeBatch:
    """One batch of one domain's records: the events accepted so far, in record order, and the
    refusals, each dead-lettered and counted by reason."""

    def __init__(self, domain: str, outputs: IntakeOutputs) -> None:
        self.domain = domain
        self.outputs = outputs
        self.accepted: list[_Accepted] = []
        self.rejected: Counter[tuple[str, str]] = Counter()

    @property
    def models(self) -> list[Envelope]:
        return [item.model for item in self.accepted]

    @property
    def events(self) -> list[IngestedEvent]:
        return [item.event for item in self.accepted]

    def accept(self, model: Envelope, message: Any) -> None:
        stored = IngestedEvent(
            event_id=model.event_id,
            domain=self.domain,
            event_type=model.event_type,
            port=model.port,
            occurred_at=model.occurred_at,
            payload=model.model_dump_json(),
            entity_keys=stored_keys(model) + certificate_keys(model),
            origin=_origin(message),
        )
        self.accepted.append(_Accepted(model, message, stored))

    def refuse(self, message: Any, rejected: Rejected) -> None:
        dead_letter(self.outputs.deadletters, self.outputs.deadletter_topic, message, rejected)
        self.rejected[(self.domain, rejected.reason.value)] += 1

    def refuse_accepted(self, refused: Mapping[int, Rejected]) -> None:
        """Refuse the accepted events at these indexes, and leave them out of the rest."""
        for index, refusal in sorted(refused.items()):
            self.refuse(self.accepted[index].message, refusal)
        if refused:
            self.accepted = [item for i, item in enumerate(self.accepted) if i not in refused]


async def take_in_batch(
    domain: str, events: Sequence[EventT[Any]], state: WorkerState, outputs: IntakeOutputs
) -> None:
    """Check, record, mark and publish one batch; returns once its offsets may be committed."""
    pool = await retry_transient("connect to PostgreSQL", state.pool)
    codec = await retry_transient("open the schema registry", state.codec)
    reader_schema = parsed_schema(domain)
    now = datetime.now(UTC)
    late_grace = timedelta(hours=state.settings.rules.late_grace_hours)
    batch = IntakeBatch(domain, outputs)
    for event in events:
        message = event.message
        outcome = await retry_transient(
            "read the schema registry",
            functools.partial(
                take_in,
                message.value,
                domain,
                codec,
                reader_schema,
                state.known_ports,
                now,
                late_grace,
            ),
        )
        if isinstance(outcome, Rejected):
            batch.refuse(message, outcome)
        else:
            batch.accept(outcome, message)

    # Refusals that need the store: another port's event or certificate id.
    batch.refuse_accepted(
        await retry_transient("check owners", lambda: ownership_refusals(pool, batch.models))
    )
    checkpoint = Checkpoint(outputs.sinks)
    recorded, unstorable = await checkpoint.store(
        "record events", lambda: record_or_refuse(pool, batch.events)
    )
    batch.refuse_accepted(unstorable)
    marks: set[str] = set()
    for item in batch.accepted:
        if item.model.event_id in recorded:
            state.cache.put(item.model)
        keys = dirty_keys(item.model)
        state.pending.add(item.model, keys, item.message.timestamp)
        marks.update(keys)
    await checkpoint.store("count rejections", lambda: record_rejections(pool, batch.rejected))
    # Duplicates and re-deliveries are marked too: recomputing is idempotent.
    await checkpoint.mark("mark KPIs to recompute", lambda: mark_dirty(pool, marks))
    verdicts = await checkpoint.mark(
        "validate certificates",
        lambda: update_verdicts(pool, batch.models, state.settings.rules.certificate_validity_days),
    )
    for record in verdict_records(verdicts, outputs.topic):
        outputs.verdicts.add(record)
    await checkpoint.publish()
    checkpoint.commit()
    state.events_in += len(events)
    _count(domain, batch.models, batch.rejected, verdicts)


def _origin(message: Any) -> str:
    """Where the record was first published: the same for every read of it."""
    for name, value in message.headers or ():
        if name == ORIGIN_HEADER:
            return bytes(value).decode("utf-8", "replace")
    return f"{message.topic}/{message.partition}/{message.offset}"


def _count(
    domain: str,
    accepted: Sequence[Envelope],
    rejected: Counter[tuple[str, str]],
    verdicts: Sequence[StoredVerdict],
) -> None:
    for port, number in Counter(event.port for event in accepted).items():
        metrics.EVENTS_IN.labels(domain=domain, port=port).inc(number)
    for (_, reason), number in rejected.items():
        metrics.EVENTS_REJECTED.labels(domain=domain, reason=reason).inc(number)
    for verdict in verdicts:
        if verdict.new:
            metrics.VERDICTS.labels(outcome=verdict.body["outcome"]).inc()
