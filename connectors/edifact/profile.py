"""What the hub's message profiles share: building an event from segments, and its id.

An event is drafted field by field, each value remembering the segment that carried it, so that
a value the hub's model refuses (a pydantic ``ValidationError``) is reported on that segment's
line. Mandatory carriers that are missing are reported once, on the segment that opens the event
(its EQD, LOC or BGM), naming the segment and qualifier expected.

Event ids are ``uuid5`` of what identifies the event (port, type, entity ids, move or
operation, time), so the same file sent twice yields the same ids and the hub de-duplicates it.
A resend with a corrected value (a weight, say) keeps the id too: corrections are retractions.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Final, TypeVar

from pydantic import ValidationError

from connectors.edifact.results import Problem
from connectors.edifact.syntax import Segment, parse_decimal, parse_time
from schemas.models import CargoEvent, CustomsEvent, Envelope, VesselEvent

__all__ = [
    "HUB_TEXT",
    "MESSAGE_FUNCTION_ORIGINAL",
    "Draft",
    "MessageContext",
    "Problems",
    "check_function",
    "event_id",
    "read_integer",
    "read_time",
]

HUB_TEXT: Final = "ZZZ"
"""FTX text subject qualifier (4451, "mutually defined") of the hub's key-value free texts:
``FTX+ZZZ++KEY+value``, for hub fields the standard messages have no place for."""

MESSAGE_FUNCTION_ORIGINAL: Final = "9"
"""BGM 1225: only originals are read; a cancellation or replacement would need retractions."""

EVENT_ID_NAMESPACE: Final = uuid.UUID("6f1d3c52-5c8e-5b7e-9a0e-2f4c1e0d7a61")

_IDENTITY: Final[Mapping[type[Envelope], tuple[str, ...]]] = {
    CargoEvent: ("port", "event_type", "container", "move", "occurred_at"),
    VesselEvent: (
        "port",
        "event_type",
        "port_call_id",
        "imo",
        "classifier",
        "operation",
        "facility",
        "berth_id",
        "occurred_at",
    ),
    CustomsEvent: ("port", "event_type", "declaration_id", "kind", "channel", "occurred_at"),
}

_E = TypeVar("_E", bound=Envelope)
_PLACEHOLDER_ID: Final = uuid.UUID(int=0)


def event_id(event: Envelope) -> uuid.UUID:
    """The deterministic id of ``event``: ``uuid5`` of its identifying fields."""
    names = _IDENTITY[type(event)]
    content = "|".join(f"{name}={_canonical(getattr(event, name))}" for name in names)
    return uuid.uuid5(EVENT_ID_NAMESPACE, content)


def _canonical(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, datetime):
        return value.isoformat(timespec="milliseconds")
    return str(value)


@dataclass(frozen=True, slots=True)
class MessageContext:
    """What every event of an interchange gets besides its message's content."""

    published_at: datetime
    source: str
    publisher: str | None


class Problems:
    """The problems of one message, in the order found.

    Each is given its ISO 9735 error code (``12`` invalid value unless said otherwise) and, when
    ``positions`` (a segment's offset to its position in the message) is given, its position.
    """

    __slots__ = ("items", "positions")

    def __init__(self, positions: Mapping[int, int] | None = None) -> None:
        self.items: list[Problem] = []
        self.positions: Mapping[int, int] = positions or {}

    def add(
        self,
        segment: Segment,
        reason: str,
        *,
        error: str = "12",
        syntax: bool = False,
        element: int | None = None,
    ) -> None:
        position = self.positions.get(segment.start)
        self.items.append(
            Problem(segment.line, segment.tag, reason, error, syntax, position, element)
        )

    def unknown(self, segment: Segment, what: str, value: str) -> None:
        shown = repr(value) if value else "(empty)"
        # ISO 9735 14: value not supported in this position.
        self.add(segment, f"unknown {what} {shown} for {segment.tag} in this profile", error="14")

    def unmapped(self, segment: Segment) -> None:
        # ISO 9735 15: not supported in this position.
        reason = f"segment that cannot be mapped: {segment.tag} has no place here"
        self.add(segment, reason, error="15")


@dataclass(slots=True)
class Draft:
    """The fields of one event being read, each with the segment that carried it."""

    anchor: Segment
    """The segment opening the event: missing mandatory carriers are reported on it."""
    values: dict[str, object] = field(default_factory=dict)
    origins: dict[str, Segment] = field(default_factory=dict)
    reported: set[str] = field(default_factory=set)
    """Fields whose problem is already reported (not to report again as missing)."""

    def set(self, name: str, value: object, segment: Segment) -> None:
        self.values[name] = value
        self.origins[name] = segment

    def fail(self, name: str) -> None:
        """``name`` could not be read (its problem is reported): do not report it missing."""
        self.reported.add(name)

    def finish(
        self,
        model: type[_E],
        required: Mapping[str, str],
        context: MessageContext,
        problems: Problems,
    ) -> _E | None:
        """The event, or None after reporting why not.

        Args:
            required: the fields the model needs, each with the carrier to name when missing.
        """
        ok = True
        for name, carrier in required.items():
            if name not in self.values:
                ok = False
                if name not in self.reported:  # ISO 9735 13: missing
                    problems.add(self.anchor, f"mandatory {carrier} missing", error="13")
        data: dict[str, object] = {
            **self.values,
            "event_id": _PLACEHOLDER_ID,
            "published_at": context.published_at,
            "source": context.source,
            "publisher": context.publisher,
        }
        try:
            event = model.model_validate(data)
        except ValidationError as error:
            for detail in error.errors():
                location = detail["loc"]
                name = str(location[0]) if location else ""
                if detail["type"] == "missing" or name in self.reported:
                    continue
                segment = self.origins.get(self._origin_key(location), self.anchor)
                path = ".".join(str(part) for part in location)
                value = detail.get("input")
                problems.add(segment, f"{path} {value!r} refused by the hub: {detail['msg']}")
            return None
        if not ok:
            return None
        return event.model_copy(update={"event_id": event_id(event)})

    def _origin_key(self, location: tuple[int | str, ...]) -> str:
        # Goods lines record their origins as "goods.0.hs_code"; take the longest known prefix.
        for size in range(len(location), 0, -1):
            key = ".".join(str(part) for part in location[:size])
            if key in self.origins:
                return key
        return ""


def check_function(segment: Segment, problems: Problems) -> None:
    """Refuse a BGM whose message function (1225) is not an original."""
    function = segment.component(2)
    if function not in ("", MESSAGE_FUNCTION_ORIGINAL):
        problems.add(
            segment,
            f"message function {function!r} is not read: only 9 (original); "
            "corrections are sent as retractions",
        )


def read_time(draft: Draft, segment: Segment, problems: Problems) -> None:
    """Set the event time of ``draft`` from a DTM."""
    if "occurred_at" in draft.values:
        problems.add(segment, "a second event time for the same event")
        return
    try:
        draft.set(
            "occurred_at", parse_time(segment.component(0, 1), segment.component(0, 2)), segment
        )
    except ValueError as error:
        problems.add(segment, str(error))
        draft.fail("occurred_at")


def read_integer(segment: Segment, text: str, problems: Problems) -> int | None:
    try:
        value = parse_decimal(text)
    except ValueError as error:
        problems.add(segment, str(error))
        return None
    if value != value.to_integral_value():
        problems.add(segment, f"{text!r} is not a whole number")
        return None
    return int(value)
