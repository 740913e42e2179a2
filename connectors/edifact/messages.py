"""Which message carries which hub event, both ways.

=========  ======================================  ==========================================
message    events                                  one message per
=========  ======================================  ==========================================
COARRI     cargo DISC, LOAD, RSTW                  port, port call, report (DISC; LOAD+RSTW)
CODECO     cargo GTIN, GTOT                        port and move
BERMAN     vessel timestamps                       port call and vessel data (one DTM an event)
CUSRES     customs steps                           event
=========  ======================================  ==========================================

Cargo ``YARD`` moves and certificate submissions have no message in this profile: they are not
:func:`writable`. The message modules (:mod:`~connectors.edifact.cargo`,
:mod:`~connectors.edifact.berman`, :mod:`~connectors.edifact.cusres`) state their segments.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

from connectors.edifact.berman import read_berman, vessel_key, write_berman
from connectors.edifact.cargo import MOVES_BY_MESSAGE, read_cargo, write_coarri, write_codeco
from connectors.edifact.cusres import read_cusres, write_cusres
from connectors.edifact.profile import MessageContext, Problems
from connectors.edifact.syntax import OutSegment, Segment
from schemas.models import CargoEvent, CustomsEvent, Envelope, Move, VesselEvent

__all__ = [
    "DIRECTORIES",
    "MESSAGE_TYPES",
    "WRITTEN_DIRECTORY",
    "OutMessage",
    "plan_messages",
    "read_message_body",
    "writable",
]

Reader = Callable[[Sequence[Segment], MessageContext, Problems], Sequence[Envelope]]

MESSAGE_TYPES: Final[dict[str, Reader]] = {
    "COARRI": lambda segments, context, problems: read_cargo("COARRI", segments, context, problems),
    "CODECO": lambda segments, context, problems: read_cargo("CODECO", segments, context, problems),
    "BERMAN": read_berman,
    "CUSRES": read_cusres,
}
"""The message types read, each with its reader."""


def _directories() -> tuple[str, ...]:
    releases = [f"{year:02d}{half}" for year in range(95, 100) for half in "AB"]
    releases += [f"{year:02d}{half}" for year in range(0, 17) for half in "AB"]
    releases.insert(releases.index("01B") + 1, "01C")  # the one year with three releases
    return tuple(releases[releases.index("95B") : releases.index("16A") + 1])


DIRECTORIES: Final = frozenset(_directories())
"""The UN directory releases read: D.95B to D.16A (UNH ``D:95B:UN`` ... ``D:16A:UN``)."""

WRITTEN_DIRECTORY: Final = {"COARRI": "95B", "CODECO": "95B", "BERMAN": "00B", "CUSRES": "96B"}
"""The release each message is written in (SMDG's D.95B for the container messages)."""


def read_message_body(
    message_type: str, segments: Sequence[Segment], context: MessageContext, problems: Problems
) -> list[Envelope]:
    """The events of one supported message (UNH..UNT), problems going to ``problems``."""
    return list(MESSAGE_TYPES[message_type](segments, context, problems))


def writable(event: Envelope) -> bool:
    """Whether ``event`` has a message in this profile (not a YARD move, not a certificate)."""
    if isinstance(event, CargoEvent):
        return event.move is not Move.YARD
    return isinstance(event, VesselEvent | CustomsEvent)


@dataclass(frozen=True, slots=True)
class OutMessage:
    """A message to write: its type and its body (BGM to the last segment before UNT)."""

    message_type: str
    body: list[OutSegment]


def plan_messages(events: Sequence[Envelope], sender: str, reference: str) -> list[OutMessage]:
    """The messages that carry ``events``, in the order their first event comes.

    Raises:
        ValueError: some events are not :func:`writable` (all of them are named).
    """
    refused = [event for event in events if not writable(event)]
    if refused:
        named = ", ".join(
            f"{event.event_id} ({event.event_type}"
            + (f" {event.move.value}" if isinstance(event, CargoEvent) else "")
            + ")"
            for event in refused[:10]
        )
        more = f" and {len(refused) - 10} more" if len(refused) > 10 else ""
        raise ValueError(
            f"{len(refused)} event(s) have no EDIFACT message in this profile "
            f"(YARD moves, certificates): {named}{more}; filter with writable()"
        )
    groups: dict[tuple[object, ...], list[Envelope]] = {}
    for event in events:
        groups.setdefault(_group_key(event), []).append(event)
    messages: list[OutMessage] = []
    for key, members in groups.items():
        message_type = str(key[0])
        if message_type == "CUSRES":
            for event in members:
                document = _document(reference, messages)
                messages.append(OutMessage("CUSRES", write_cusres(_customs(event), document)))
            continue
        document = _document(reference, messages)
        if message_type == "COARRI":
            body = write_coarri([_cargo(event) for event in members], document)
        elif message_type == "CODECO":
            body = write_codeco([_cargo(event) for event in members], document)
        else:
            body = write_berman([_vessel(event) for event in members], document, sender)
        messages.append(OutMessage(message_type, body))
    return messages


def _group_key(event: Envelope) -> tuple[object, ...]:
    if isinstance(event, CargoEvent):
        if event.move in MOVES_BY_MESSAGE["CODECO"]:
            return ("CODECO", event.port, event.move)
        report = Move.DISC if event.move is Move.DISC else Move.LOAD
        return ("COARRI", event.port, event.port_call_id, report)
    if isinstance(event, VesselEvent):
        return ("BERMAN", *vessel_key(event))
    return ("CUSRES", event.event_id)


def _document(reference: str, messages: Sequence[OutMessage]) -> str:
    return f"{reference}-{len(messages) + 1}"


def _cargo(event: Envelope) -> CargoEvent:
    assert isinstance(event, CargoEvent)
    return event


def _vessel(event: Envelope) -> VesselEvent:
    assert isinstance(event, VesselEvent)
    return event


def _customs(event: Envelope) -> CustomsEvent:
    assert isinstance(event, CustomsEvent)
    return event
