"""What reading an interchange gives: its messages' events, and every problem with its line.

A problem names the line (1-based, in the text as received) and the segment tag that carried
it, so that an operator can open the file and fix it. Envelope problems reject the whole
interchange; message problems reject only their message (UN/EDIFACT practice, as a CONTRL
would report them).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from connectors.edifact.syntax import Segment
from schemas.models import Envelope

__all__ = ["InterchangeResult", "MessageResult", "Problem", "format_problem"]


@dataclass(frozen=True, slots=True)
class Problem:
    """Why a segment (or what it lacks) was refused.

    The fields after ``reason`` are what a CONTRL or APERAK needs to name it (see
    :mod:`~connectors.edifact.acknowledgements`); they do not take part in equality.
    """

    line: int
    segment: str
    reason: str
    error: str = field(default="12", compare=False)
    """Its ISO 9735 syntax error code (0085), e.g. ``12`` invalid value, ``13`` missing."""
    syntax: bool = field(default=False, compare=False)
    """A problem of the interchange's syntax (the envelope, UNH or UNT), reported by CONTRL;
    else an application problem (a message's content), reported by APERAK."""
    position: int | None = field(default=None, compare=False)
    """The segment's position in its message, UNH being 1 (CONTRL 0096); None outside one."""
    element: int | None = field(default=None, compare=False)
    """The data element's position in the segment, the tag being 1 (CONTRL S011/0098)."""


@dataclass(frozen=True, slots=True)
class MessageResult:
    """One UNH..UNT message: its events if it is usable, else its problems (then no events)."""

    message_ref: str
    message_type: str
    line: int
    text: str
    """The message's own segments, UNH to UNT, exactly as in the interchange."""
    events: tuple[Envelope, ...]
    problems: tuple[Problem, ...]
    identifier: tuple[str, ...] = field(default=(), compare=False)
    """UNH's message identifier (S009) as sent: type, version, release, agency…"""

    @property
    def accepted(self) -> bool:
        return not self.problems


@dataclass(frozen=True, slots=True)
class InterchangeResult:
    """One UNB..UNZ interchange.

    With an envelope problem (``problems``) nothing in it is usable and ``messages`` is empty:
    a truncated or miscounted interchange may have lost messages we cannot see.
    """

    reference: str | None
    sender: str | None
    recipient: str | None
    messages: tuple[MessageResult, ...]
    problems: tuple[Problem, ...]
    header: Segment | None = field(default=None, compare=False)
    """The UNB as read (None without one): an acknowledgement echoes its parties."""

    @property
    def accepted(self) -> bool:
        """True when the envelope is sound (single messages may still be rejected)."""
        return not self.problems

    @property
    def events(self) -> tuple[Envelope, ...]:
        """The events of every accepted message, in the order of the text."""
        return tuple(event for message in self.messages for event in message.events)

    @property
    def rejected_messages(self) -> tuple[MessageResult, ...]:
        return tuple(message for message in self.messages if message.problems)

    def describe(self, problem: Problem, message: MessageResult | None = None) -> str:
        """``problem`` as one line naming this interchange (and ``message``, if given)."""
        return format_problem(
            problem, self.reference, message.message_ref if message is not None else None
        )

    def problem_lines(self) -> list[str]:
        """Every problem, envelope first, then message by message, one line each."""
        lines = [self.describe(problem) for problem in self.problems]
        for message in self.messages:
            lines += [self.describe(problem, message) for problem in message.problems]
        return lines


def format_problem(problem: Problem, interchange: str | None, message: str | None = None) -> str:
    """``interchange REF, message REF, line N, segment TAG: reason`` (no message part if None)."""
    parts = [f"interchange {interchange if interchange else '?'}"]
    if message is not None:
        parts.append(f"message {message}")
    parts += [f"line {problem.line}", f"segment {problem.segment}"]
    return f"{', '.join(parts)}: {problem.reason}"
