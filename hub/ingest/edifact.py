"""Taking in UN/EDIFACT interchanges: the one path behind ``hub edifact`` and ``POST /v1/edifact``.

An interchange is read whole first (``connectors.edifact``), then judged message by message:

- an envelope that cannot be trusted (truncated, UNZ count or reference wrong, not EDIFACT):
  nothing is published; the interchange goes to the dead-letter topic once,
  ``MALFORMED_INTERCHANGE``;
- a message with any problem (a segment that cannot be mapped, an unknown qualifier, a wrong UNT
  count) or any event the hub's checks refuse (check digits, unknown port, late, the port not
  the publisher's; from a single window, any message but CUSRES: ``DOMAIN_NOT_ALLOWED``): none
  of its events is published; the message's own text goes to the
  dead-letter topic, ``UNMAPPABLE_MESSAGE`` or the event's reason, with every problem and its
  line;
- the other messages are published, every event of one before the answer says so.

Event ids are derived from the events' content, so sending an interchange again (after a
delivery failure, or by mistake) publishes the same ids and the worker counts them as duplicates:
a message that failed half-way is completed by sending it again, never left half-published.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from aiokafka.errors import KafkaError

from connectors.edifact import InterchangeResult, MessageResult, format_problem, read_interchange
from hub.domain.publishers import Publisher, code_of
from hub.ingest.core import EventTooLarge, IngestContext, check_item, send_dead_letters, send_event
from schemas.models import Envelope
from schemas.rejections import Rejected, RejectReason
from schemas.routing import domain_of

__all__ = [
    "DOMAIN",
    "InterchangeOutcome",
    "MessageOutcome",
    "decode_interchange",
    "take_interchange",
]

DOMAIN = "edifact"
"""The rejection counters' domain for refused interchanges and messages."""

Status = Literal["accepted", "rejected", "failed"]


@dataclass(frozen=True, slots=True)
class MessageOutcome:
    reference: str
    message_type: str
    line: int
    status: Status
    events: int
    """Events published (accepted), or that the message would have carried."""
    reason: str | None = None
    problems: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class InterchangeOutcome:
    reference: str | None
    sender: str | None
    messages: tuple[MessageOutcome, ...]
    reason: str | None = None
    """Set when the whole interchange was refused."""
    problems: tuple[str, ...] = ()
    read: InterchangeResult | None = field(default=None, compare=False, repr=False)
    """What the reader made of it (the CONTRL/APERAK answer, ``hub.ingest.acknowledgements``)."""

    @property
    def status(self) -> Literal["accepted", "partial", "rejected", "failed"]:
        if self.reason is not None:
            return "rejected"
        statuses = {message.status for message in self.messages}
        if "failed" in statuses:
            return "failed"
        if statuses == {"rejected"}:
            return "rejected"
        return "partial" if "rejected" in statuses else "accepted"

    def counts(self) -> Counter[str]:
        return Counter(message.status for message in self.messages)

    def summary(self) -> str:
        """One line: what happened to the interchange."""
        name = f"interchange {self.reference or '?'}"
        if self.reason is not None:
            return f"{name}: refused ({self.reason}): {self.problems[0] if self.problems else ''}"
        counts = self.counts()
        published = sum(m.events for m in self.messages if m.status == "accepted")
        parts = [f"{counts['accepted']} message(s) accepted ({published} events)"]
        if counts["rejected"]:
            parts.append(f"{counts['rejected']} rejected")
        if counts["failed"]:
            parts.append(f"{counts['failed']} not delivered (send the file again)")
        return f"{name}: " + ", ".join(parts)

    def as_json(self) -> dict[str, Any]:
        return {
            "interchange": self.reference,
            "sender": self.sender,
            "status": self.status,
            "reason": self.reason,
            "problems": list(self.problems),
            "messages": [
                {
                    "reference": m.reference,
                    "type": m.message_type,
                    "line": m.line,
                    "status": m.status,
                    "events": m.events,
                    "reason": m.reason,
                    "problems": list(m.problems),
                }
                for m in self.messages
            ],
        }


def decode_interchange(data: bytes) -> str:
    """The text of an interchange: UTF-8 (UNOW and ASCII), else ISO 8859-1 (UNOC)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


async def take_interchange(
    context: IngestContext, text: str, *, origin: str, publisher: Publisher | None = None
) -> InterchangeOutcome:
    """Read, check and publish one interchange.

    Args:
        origin: where it came from (a file name, ``http:/v1/edifact``), for the dead letters.
        publisher: who sends it (the HTTP token's): a port's events must be its own, a single
            window's customs events (CUSRES) of its country's ports; None: any hub port, any
            message.
    """
    now = datetime.now(UTC)
    result = read_interchange(text, published_at=now)
    source = f"edifact:{origin}"
    if result.problems:
        problems = tuple(format_problem(p, result.reference) for p in result.problems)
        rejection = Rejected(RejectReason.MALFORMED_INTERCHANGE, "; ".join(problems))
        await send_dead_letters(
            context,
            DOMAIN,
            [(text.encode(), rejection)],
            source=source,
            publisher=code_of(publisher),
        )
        return InterchangeOutcome(
            result.reference, result.sender, (), RejectReason.MALFORMED_INTERCHANGE, problems,
            result,
        )  # fmt: skip
    late_grace = timedelta(hours=context.settings.rules.late_grace_hours)
    outcomes: list[MessageOutcome | None] = []
    refused: dict[str, list[tuple[bytes, Rejected]]] = {}  # by publisher code
    deliveries: list[tuple[int, MessageResult, list[asyncio.Future[Any]]]] = []
    for message in result.messages:
        refusal = _refusal(context, result, message, publisher, now, late_grace)
        if refusal is not None:
            refused.setdefault(_sender(publisher, message), []).append(
                (message.text.encode(), refusal)
            )
            problems = tuple(refusal.detail.split("; "))
            outcomes.append(_outcome(message, "rejected", refusal.reason.value, problems))
            continue
        try:
            code = _sender(publisher, message)
            sent = [
                await send_event(context, domain_of(e), e, publisher=code) for e in message.events
            ]
        except EventTooLarge as error:
            refusal = Rejected(RejectReason.TOO_LARGE, f"message {message.message_ref}: {error}")
            refused.setdefault(_sender(publisher, message), []).append(
                (message.text.encode(), refusal)
            )
            outcomes.append(_outcome(message, "rejected", refusal.reason.value, (refusal.detail,)))
            continue
        except KafkaError as error:  # the broker is away: the whole message is sent again
            problem = f"not delivered: {error}; send the interchange again"
            outcomes.append(_outcome(message, "failed", "NOT_DELIVERED", (problem,)))
            continue
        deliveries.append((len(outcomes), message, sent))
        outcomes.append(None)
    for index, message, sent in deliveries:
        failures = [
            error
            for error in await asyncio.gather(*sent, return_exceptions=True)
            if isinstance(error, BaseException)
        ]
        if failures:
            problem = f"not delivered: {failures[0]}; send the interchange again"
            outcomes[index] = _outcome(message, "failed", "NOT_DELIVERED", (problem,))
        else:
            outcomes[index] = _outcome(message, "accepted")
    for code, letters in refused.items():
        await send_dead_letters(context, DOMAIN, letters, source=source, publisher=code)
    return InterchangeOutcome(
        result.reference, result.sender, tuple(o for o in outcomes if o is not None), read=result
    )


def _refusal(
    context: IngestContext,
    interchange: InterchangeResult,
    message: MessageResult,
    publisher: Publisher | None,
    now: datetime,
    late_grace: timedelta,
) -> Rejected | None:
    if message.problems:
        return Rejected(
            RejectReason.UNMAPPABLE_MESSAGE,
            "; ".join(
                format_problem(problem, interchange.reference, message.message_ref)
                for problem in message.problems
            ),
        )
    if not message.events:
        return Rejected(
            RejectReason.UNMAPPABLE_MESSAGE,
            f"interchange {interchange.reference}, message {message.message_ref}, line "
            f"{message.line}: the message carries no event",
        )
    for event in message.events:
        domain = domain_of(event)
        item = event.model_dump(mode="json")
        outcome = check_item(domain, item, publisher, context.known_ports, now, late_grace)
        if isinstance(outcome, Rejected):
            return Rejected(
                outcome.reason,
                f"interchange {interchange.reference}, message {message.message_ref} (line "
                f"{message.line}): {_describe(event)}: {outcome.detail}",
            )
    return None


def _sender(publisher: Publisher | None, message: MessageResult) -> str:
    """Who a message's refusal is counted and fed back to (``Publisher.code``): the token's
    publisher over HTTP; from a file (``hub edifact``, no token) the one port all its events are
    of, else '' (unknown)."""
    if publisher is not None:
        return publisher.code
    ports = {event.port for event in message.events}
    return ports.pop() if len(ports) == 1 else ""


def _outcome(
    message: MessageResult,
    status: Status,
    reason: str | None = None,
    problems: tuple[str, ...] = (),
) -> MessageOutcome:
    return MessageOutcome(
        message.message_ref, message.message_type, message.line, status, len(message.events),
        reason, problems,
    )  # fmt: skip


def _describe(event: Envelope) -> str:
    for name in ("container", "declaration_id", "port_call_id"):
        value = getattr(event, name, None)
        if value:
            return f"{event.event_type} {name}={value}"
    return event.event_type
