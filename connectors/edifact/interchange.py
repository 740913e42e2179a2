"""The interchange envelope: UNA, UNB..UNZ around UNH..UNT messages, read and written.

Envelope problems reject the whole interchange (nothing in it is used): no UNB, a syntax error,
a truncated text (it ends inside a segment, a message has no UNT, there is no UNZ), text after
UNZ, a segment outside a message, functional groups (UNG..UNE, not used in this profile), a UNZ
whose count or reference does not match. Message problems reject one message: a UNT whose count
(UNH to UNT inclusive) or reference does not match, an unsupported type or directory, a message
reference used twice, and whatever its content mapping finds.

Every envelope, UNH and UNT problem is a syntax problem (``Problem.syntax``) with its ISO 9735
error code (0085) and, where one element is at fault, its position (the tag being 1), so that a
CONTRL can report it: 2 syntax version or level not supported, 12 invalid value, 13 missing, 15
not supported in this position, 20 character invalid as service character, 26 duplicate
detected, 28 references do not match, 29 control count does not match, 33 invalid occurrence
outside message.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Final

from connectors.edifact.messages import (
    DIRECTORIES,
    MESSAGE_TYPES,
    WRITTEN_DIRECTORY,
    plan_messages,
    read_message_body,
)
from connectors.edifact.profile import MessageContext, Problems
from connectors.edifact.results import InterchangeResult, MessageResult, Problem
from connectors.edifact.syntax import OutSegment, Segment, Tokenized, render, tokenize
from schemas.models import Envelope

__all__ = ["read_interchange", "write_interchange"]

_SYNTAX_IDENTIFIER = re.compile(r"^UNO[A-Z]$")
_SYNTAX_VERSIONS: Final = frozenset({"1", "2", "3", "4"})
_MAX_REFERENCE: Final = 14  # UNB 0020 an..14
_MAX_SOURCE: Final = 16  # Envelope.source


def read_interchange(
    text: str, *, published_at: datetime, source: str = "TERMINAL"
) -> InterchangeResult:
    """The events of an EDIFACT interchange, and every problem found, with its line.

    Args:
        text: the interchange (already decoded from its character set).
        published_at: the ``published_at`` of every event (when the hub received it).
        source: the ``source`` of every event.

    Raises:
        ValueError: ``published_at`` is naive, or ``source`` longer than the model allows.
    """
    if published_at.tzinfo is None:
        raise ValueError("published_at must be an aware datetime")
    if len(source) > _MAX_SOURCE:
        raise ValueError(f"source {source!r} is longer than {_MAX_SOURCE} characters")
    tokenized = tokenize(text)
    problems: list[Problem] = []
    segments = tokenized.segments
    if tokenized.error is not None:
        problems.append(_syntax_error(tokenized))
    if not segments or segments[0].tag != "UNB":
        line = segments[0].line if segments else (tokenized.una_line or 1)
        tag = segments[0].tag if segments else "UNB"
        reason = "not an EDIFACT interchange: no UNB at the start (after UNA)"
        problems.append(Problem(line, tag, reason, "13", True))
        return InterchangeResult(None, None, None, (), tuple(problems))
    unb = segments[0]
    reference = unb.component(4) or None
    sender, recipient = unb.component(1) or None, unb.component(2) or None
    problems += _check_header(unb)
    messages, unz, envelope_problems = _split(segments[1:], tokenized.truncated_start, text)
    problems += envelope_problems
    after_unz = unz is not None and (tokenized.truncated_start or 0) >= unz.end
    if tokenized.truncated_at is not None and not after_unz:  # (after UNZ: _split said so)
        problems.append(
            Problem(
                tokenized.truncated_at,
                _tag_at(text, tokenized.truncated_start),
                "truncated: the text ends inside this segment",
                "13",
                True,
            )
        )
    if unz is not None:
        problems += _check_trailer(unz, len(messages), reference)
    if problems:
        return InterchangeResult(reference, sender, recipient, (), tuple(problems), unb)
    context = MessageContext(published_at, source, sender)
    results: list[MessageResult] = []
    seen: set[str] = set()
    for message in messages:
        result = _read_message(message, text, context, seen)
        seen.add(result.message_ref)
        results.append(result)
    return InterchangeResult(reference, sender, recipient, tuple(results), (), unb)


def _syntax_error(tokenized: Tokenized) -> Problem:
    assert tokenized.error is not None
    line, reason = tokenized.error
    if line == tokenized.una_line and not tokenized.segments and "UNA" in reason:
        return Problem(line, "UNA", reason, "20", True)  # 20: invalid as service character
    return Problem(line, "?", reason, "12", True)


def _check_header(unb: Segment) -> list[Problem]:
    problems: list[Problem] = []

    def problem(reason: str, error: str, element: int) -> None:
        problems.append(Problem(unb.line, "UNB", reason, error, True, None, element))

    identifier, version = unb.component(0), unb.component(0, 1)
    if not _SYNTAX_IDENTIFIER.match(identifier) or version not in _SYNTAX_VERSIONS:
        reason = f"syntax identifier {identifier}:{version} is not UNOx version 1 to 4"
        problem(reason, "2", 2)  # 2: syntax version or level not supported
    if not unb.component(1):
        problem("mandatory interchange sender (S002) missing", "13", 3)
    if not unb.component(2):
        problem("mandatory interchange recipient (S003) missing", "13", 4)
    if not unb.component(4):
        problem("mandatory interchange control reference (0020) missing", "13", 6)
    return problems


def _split(
    segments: Sequence[Segment], truncated_start: int | None, text: str
) -> tuple[list[list[Segment]], Segment | None, list[Problem]]:
    """The messages (UNH..UNT) and the UNZ of the segments after UNB, with envelope problems."""
    messages: list[list[Segment]] = []
    problems: list[Problem] = []
    current: list[Segment] | None = None
    unz: Segment | None = None
    for segment in segments:
        if unz is not None:
            problems.append(Problem(segment.line, segment.tag, "text after UNZ", "33", True))
            return messages, unz, problems
        if segment.tag == "UNH":
            if current is not None:
                problems.append(_no_trailer(current[0]))
            current = [segment]
        elif segment.tag == "UNT":
            if current is None:
                problems.append(Problem(segment.line, "UNT", "UNT without UNH", "33", True))
            else:
                current.append(segment)
                messages.append(current)
                current = None
        elif segment.tag == "UNZ":
            if current is not None:
                problems.append(_no_trailer(current[0]))
                current = None
            unz = segment
        elif segment.tag in ("UNG", "UNE"):
            reason = "functional groups are not used in this profile"
            problems.append(Problem(segment.line, segment.tag, reason, "15", True))
        elif current is None:
            reason = "segment outside a message"
            problems.append(Problem(segment.line, segment.tag, reason, "33", True))
        else:
            current.append(segment)
    if current is not None:
        problems.append(_no_trailer(current[0]))
    if unz is None:
        line = segments[-1].line if segments else 1
        reason = "truncated: the interchange has no UNZ"
        problems.append(Problem(line, "UNZ", reason, "13", True))
    elif truncated_start is not None and truncated_start >= unz.end:
        line = text.count("\n", 0, truncated_start) + 1
        problems.append(Problem(line, _tag_at(text, truncated_start), "text after UNZ", "33", True))
    return messages, unz, problems


def _no_trailer(unh: Segment) -> Problem:
    reason = f"truncated: message {unh.component(0) or '?'} has no UNT"
    return Problem(unh.line, "UNH", reason, "13", True)


def _check_trailer(unz: Segment, count: int, reference: str | None) -> list[Problem]:
    problems: list[Problem] = []
    if unz.component(0) != str(count):
        problems.append(
            Problem(
                unz.line,
                "UNZ",
                f"interchange control count {unz.component(0)!r} but the interchange has {count} "
                "message(s)",
                "29",
                True,
                None,
                2,
            )
        )
    if unz.component(1) != (reference or ""):
        problems.append(
            Problem(
                unz.line,
                "UNZ",
                f"interchange control reference {unz.component(1)!r} is not UNB's {reference!r}",
                "28",
                True,
                None,
                3,
            )
        )
    return problems


def _tag_at(text: str, offset: int | None) -> str:
    if offset is None:
        return "?"
    tag = text[offset : offset + 3]
    return tag if len(tag) == 3 and tag.isalnum() else "?"


def _read_message(
    segments: list[Segment], text: str, context: MessageContext, seen: set[str]
) -> MessageResult:
    unh, unt = segments[0], segments[-1]
    reference = unh.component(0)
    message_type = unh.component(1)
    problems = Problems({segment.start: number for number, segment in enumerate(segments, 1)})
    if not reference:
        reason = "mandatory message reference number (0062) missing"
        problems.add(unh, reason, error="13", syntax=True, element=2)
    elif reference in seen:
        reason = f"message reference {reference!r} is used twice in the interchange"
        problems.add(unh, reason, error="26", syntax=True, element=2)  # 26: duplicate detected
    if unt.component(0) != str(len(segments)):
        problems.add(
            unt,
            f"segment count {unt.component(0)!r} but the message has {len(segments)} "
            "segments (UNH to UNT)",
            error="29",  # control count does not match number of instances received
            syntax=True,
            element=2,
        )
    if unt.component(1) != reference:
        reason = f"message reference {unt.component(1)!r} is not UNH's {reference!r}"
        problems.add(unt, reason, error="28", syntax=True, element=3)  # 28: references differ
    version, release, agency = unh.component(1, 1), unh.component(1, 2), unh.component(1, 3)
    supported = message_type in MESSAGE_TYPES
    if not supported:
        known = ", ".join(MESSAGE_TYPES)
        reason = f"message type {message_type!r} is not read (only {known})"
        problems.add(unh, reason, error="12", syntax=True, element=3)
    elif version != "D" or release not in DIRECTORIES or agency != "UN":
        supported = False
        problems.add(
            unh,
            f"directory {version}:{release}:{agency} is not read (only D:95B:UN to D:16A:UN)",
            error="12",
            syntax=True,
            element=3,
        )
    events: list[Envelope] = []
    if supported:
        events = read_message_body(message_type, segments, context, problems)
    return MessageResult(
        message_ref=reference,
        message_type=message_type,
        line=unh.line,
        text=text[unh.start : unt.end],
        events=() if problems.items else tuple(events),
        problems=tuple(problems.items),
        identifier=unh.element(1),
    )


def write_interchange(
    events: Sequence[Envelope],
    *,
    sender: str,
    recipient: str,
    reference: str,
    prepared_at: datetime,
) -> str:
    """One interchange carrying ``events``: UNA, UNB..UNZ, one segment per line.

    Args:
        reference: the interchange control reference (1 to 14 characters).

    Raises:
        ValueError: an event has no message in this profile (see ``writable``), no events, or
            a reference that is empty or too long.
    """
    if not events:
        raise ValueError("an interchange needs at least one event")
    if not 0 < len(reference) <= _MAX_REFERENCE:
        raise ValueError(f"interchange reference {reference!r} must be 1 to 14 characters")
    messages = plan_messages(events, sender, reference)
    prepared = prepared_at.astimezone(UTC)
    segments: list[OutSegment] = []
    for number, message in enumerate(messages, start=1):
        ref = str(number)
        identifier = [message.message_type, "D", WRITTEN_DIRECTORY[message.message_type], "UN"]
        segments.append(("UNH", [ref, identifier]))
        segments += message.body
        segments.append(("UNT", [str(len(message.body) + 2), ref]))
    header: OutSegment = (
        "UNB",
        [
            _syntax(segments, sender, recipient),
            sender,
            recipient,
            [prepared.strftime("%y%m%d"), prepared.strftime("%H%M")],
            reference,
        ],
    )
    return render([header, *segments, ("UNZ", [str(len(messages)), reference])])


def _syntax(segments: Sequence[OutSegment], *names: str) -> list[str]:
    """UNOC (ISO 8859-1) when every value fits it, else UNOW (UTF-8, syntax version 4)."""
    values: list[str] = list(names)
    for _, elements in segments:
        for element in elements:
            values += [element] if isinstance(element, str) else list(element)
    try:
        "".join(values).encode("latin-1")
    except UnicodeEncodeError:
        return ["UNOW", "4"]
    return ["UNOC", "3"]
