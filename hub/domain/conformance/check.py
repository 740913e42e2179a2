"""The conformance check: every check the hub makes of a feed, without publishing anything.

:func:`check_feed` takes a publisher's sample feed (records in feed order, each with where it
came from) and runs:

1. each event through the hub's own intake checks, in the hub's order
   (:func:`schemas.validation.validate` and the publisher's ownership rule,
   :meth:`hub.domain.publishers.Publisher.refusal`): an event that fails one would be refused if
   it were sent at ``now``. ``now`` is a parameter: by default the caller's clock, so an event
   older than the late grace is a ``TOO_LATE`` problem ("would be refused if sent now"); to
   check an older sample as if it were sent when it was recorded, pass that time (``hub
   conformance --at``);
2. the feed-level rules (:mod:`hub.domain.conformance.rules`) on the events that pass;
3. the KPI coverage (:mod:`hub.domain.conformance.coverage`) of those events.

Exact copies of an event (same id, same content) are counted once, as the hub does; the same id
with different content is a ``DUPLICATE_ID_CONFLICT`` (the hub would keep one of them).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from datetime import datetime, timedelta
from typing import Final
from uuid import UUID

from hub.domain.conformance.coverage import kpi_coverage
from hub.domain.conformance.model import CheckCode, ConformanceReport, FeedRecord, Problem
from hub.domain.conformance.rules import feed_problems
from hub.domain.kpis.events import effective_events
from hub.domain.publishers import Publisher
from schemas.models import MODELS, Envelope
from schemas.rejections import Rejected
from schemas.validation import DEFAULT_LATE_GRACE, validate

__all__ = ["PROGRESS_EVERY", "check_event", "check_feed"]

PROGRESS_EVERY: Final = 10_000
"""How often a long feed's check says how far it is (events)."""


def check_event(
    record: FeedRecord,
    publisher: Publisher,
    known_ports: Collection[str],
    now: datetime,
    late_grace: timedelta = DEFAULT_LATE_GRACE,
) -> Envelope | Problem:
    """The event of ``record`` if the hub would accept it from ``publisher`` at ``now``, else
    the problem (the hub's refusal reason and detail)."""
    if record.domain is None or record.domain not in MODELS:
        return Problem(
            CheckCode.NO_DOMAIN,
            record.where,
            _event_id(record),
            f"no event domain: {record.domain!r} is none of {', '.join(MODELS)}"
            if record.domain is not None
            else "the record names no domain and its event_type is none of the hub's",
        )
    refusal = publisher.refusal(record.domain)
    outcome: Envelope | Rejected = (
        refusal if refusal is not None else validate(record.domain, record.data, known_ports,
                                                     now, late_grace)
    )  # fmt: skip
    if isinstance(outcome, Envelope):
        outcome = publisher.refusal(record.domain, outcome.port) or outcome
    if isinstance(outcome, Rejected):
        return Problem(
            CheckCode(outcome.reason.value), record.where, _event_id(record), outcome.detail
        )
    return outcome


def check_feed(
    records: Iterable[FeedRecord | Problem],
    publisher: Publisher,
    known_ports: Collection[str],
    now: datetime,
    late_grace: timedelta = DEFAULT_LATE_GRACE,
    *,
    sources: tuple[str, ...] = (),
    progress: Callable[[str], object] | None = None,
) -> ConformanceReport:
    """The conformance report of a feed.

    Args:
        records: the feed in order; a :class:`Problem` stands for what a reader could not read
            (a line that is not JSON, an unreadable file, a refused EDIFACT message).
        publisher: who would publish it (a port, or a country's single window).
        known_ports: the hub's reference ports (UN/LOCODEs).
        now: when the feed would be sent (the per-event time checks are relative to it).
        late_grace: the hub's grace period for late events.
        sources: the files (or request) the feed came from, for the report.
        progress: told what is being done on a long feed (every
            :data:`PROGRESS_EVERY` events, then each feed-level stage).
    """
    problems: list[Problem] = []
    accepted: list[Envelope] = []
    where: dict[str, str] = {}
    first_seen: dict[str, Envelope] = {}
    read = duplicates = 0
    for record in records:
        if isinstance(record, Problem):
            problems.append(record)
            continue
        read += 1
        if progress is not None and read % PROGRESS_EVERY == 0:
            progress(f"{read:,} events checked one by one")
        outcome = check_event(record, publisher, known_ports, now, late_grace)
        if isinstance(outcome, Problem):
            problems.append(outcome)
            continue
        key = str(outcome.event_id)
        earlier = first_seen.get(key)
        if earlier is not None:
            if _content(earlier) == _content(outcome):
                duplicates += 1
            else:
                problems.append(
                    Problem(
                        CheckCode.DUPLICATE_ID_CONFLICT, record.where, key,
                        f"event_id {key} was first used at {where[key]} for an event with "
                        "different content",
                    )
                )  # fmt: skip
            continue
        first_seen[key] = outcome
        where[key] = record.where
        accepted.append(outcome)
    if read == 0 and not problems:
        # Nothing checked is not a pass: a go-live check of an empty file must not say CLEAN.
        where_from = ", ".join(sources) or "the feed"
        problems.append(
            Problem(CheckCode.EMPTY_FEED, where_from[:300], None, "the feed holds no event")
        )
    counted = effective_events(accepted)
    if progress is not None and read >= PROGRESS_EVERY:
        progress(f"{read:,} events checked one by one; checking the feed as a whole")
    feed, pending = feed_problems(counted, where)
    if progress is not None and read >= PROGRESS_EVERY:
        progress("computing the KPIs the feed allows")
    kpis = kpi_coverage(counted)
    return ConformanceReport(
        publisher=publisher.actor if publisher.is_single_window else publisher.port,
        checked_at=now,
        late_grace=late_grace,
        records=read,
        accepted=len(accepted),
        problems=(*problems, *feed),
        pending=tuple(pending),
        kpis=tuple(kpis),
        duplicates=duplicates,
        sources=sources,
    )


def _content(event: Envelope) -> dict[str, object]:
    """What an event says: a copy sent again later (another ``published_at``) is the same."""
    return event.model_dump(exclude={"published_at", "publisher"})


def _event_id(record: FeedRecord) -> str | None:
    value = record.data.get("event_id")
    if isinstance(value, UUID):  # an Avro datum's
        return str(value)
    return value if isinstance(value, str) and len(value) <= 64 else None
