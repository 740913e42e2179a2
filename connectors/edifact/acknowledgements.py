"""What the hub sends back to an EDIFACT sender: a CONTRL, and an APERAK per refused message.

- **CONTRL** (syntax and service report, UNH ``CONTRL:D:3:UN``, ISO 9735 version 3 segments):
  ``UCI`` answers the interchange, action ``7`` (this level acknowledged, and every lower level
  not explicitly rejected) or ``4`` (this level and all lower levels rejected) with the ISO 9735
  syntax error code, service segment tag and data element of the first envelope problem; then
  one ``UCM`` per message, ``7`` or ``4``, and for each syntax problem of a rejected message a
  ``UCS`` naming the segment's position in the message (UNH is 1) with its error code, and a
  ``UCD`` naming the data element (the tag is position 1) when one element is at fault. CONTRL
  reports syntax only: a message whose syntax is sound is ``7`` even if the hub refuses its
  content, which its APERAK then says.
- **APERAK** (application error and acknowledgement, ``APERAK:D:96A:UN``), one interchange per
  message refused for its content: ``BGM+313`` (application error message) with message function
  ``27`` (not accepted), ``DTM+137`` (when it was written), ``RFF+ACW`` (the refused message's
  reference, and the interchange's) and per problem an ``ERC`` (its error code, the ISO 9735
  numbers where they fit, see :data:`REASON_ERRORS`) with ``FTX+AAO`` naming the segment tag,
  its position and line, and the problem.

Both are addressed back: UNB sender and recipient swapped, a fresh control reference each.
Everything echoed from what the sender sent (ids, references, the problems, which quote values)
is cut to its data element's length, has every character outside ISO 8859-1 or not printable
(NUL, a line break, a lone surrogate) written as ``_``, and goes through the writer, which
escapes ``' + : ?`` with the release character: the hub's own reader reads it back.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from connectors.edifact.results import InterchangeResult, MessageResult, Problem
from connectors.edifact.syntax import OutSegment, render

__all__ = [
    "ACCEPTED",
    "REASON_ERRORS",
    "REJECTED",
    "Acknowledgements",
    "MessageVerdict",
    "acknowledge",
    "build_aperak",
    "build_contrl",
    "refusal",
]

ACCEPTED: Final = "7"
"""0083 action: this level acknowledged, and all lower levels not explicitly rejected."""
REJECTED: Final = "4"
"""0083 action: this level and all lower levels rejected."""

REASON_ERRORS: Final = {
    "PORT_NOT_OWNED": "17",  # ISO 9735 17: no agreement (the sender may not publish that port)
    "DOMAIN_NOT_ALLOWED": "17",
    "TOO_LATE": "24",  # 24: too old
    "MISSING_FIELD": "13",  # 13: missing
    "TOO_LARGE": "39",  # 39: data element too long (the message is over the event size limit)
}
"""The APERAK error code (ERC 9321) of a refusal by the hub's checks, by its reject reason;
others (unknown port, invalid identifier, implausible time…) are ``12`` invalid value."""

_SYNTAX: Final = ["UNOC", "3"]  # ISO 8859-1, syntax version 3 (that of CONTRL D:3)
_CONTRL: Final = ["CONTRL", "D", "3", "UN"]
_APERAK: Final = ["APERAK", "D", "96A", "UN"]
_APPLICATION_ERROR_MESSAGE: Final = "313"  # UNCL 1001
_NOT_ACCEPTED: Final = "27"  # UNCL 1225 message function
_ERROR_DESCRIPTION: Final = "AAO"  # UNCL 4451 text subject: error description
_PREVIOUS_MESSAGE: Final = "ACW"  # UNCL 1153: reference number to previous message
_DOCUMENT_DATE: Final = "137"  # UNCL 2005: document/message date/time
_MAX_PROBLEMS: Final = 999  # UCS repeats at most 999 times per UCM; APERAK keeps the same cap
# ISO 9735 / directory lengths of the data elements echoed.
_ID, _QUALIFIER, _ROUTING, _REFERENCE = 35, 4, 14, 14  # 0004/0010, 0007, 0008/0014, 0020/0062
_S009: Final = (6, 3, 3, 2, 6)  # 0065, 0052, 0054, 0051, 0057
_TEXT, _TEXTS, _DOCUMENT = 70, 5, 35  # FTX 4440 an..70 (five), BGM 1004 and RFF 1154 an..35
_SERVICE_TAGS: Final = frozenset({"UNA", "UNB", "UNZ", "UNH", "UNT", "UNG", "UNE"})


@dataclass(frozen=True, slots=True)
class MessageVerdict:
    """What the hub made of one message: the reader's problems, and its own refusals."""

    message: MessageResult
    refusals: tuple[Problem, ...] = ()
    """Application problems the hub's checks found (a port not the sender's, a late event…)."""

    @property
    def syntax_problems(self) -> tuple[Problem, ...]:
        return tuple(problem for problem in self.message.problems if problem.syntax)

    @property
    def application_problems(self) -> tuple[Problem, ...]:
        return (
            *(problem for problem in self.message.problems if not problem.syntax),
            *self.refusals,
        )


@dataclass(frozen=True, slots=True)
class Acknowledgements:
    """The CONTRL interchange and the APERAK interchanges (one per message refused for its
    content), each a complete UNA, UNB..UNZ text."""

    contrl: str
    aperaks: tuple[str, ...]

    def text(self) -> str:
        """The CONTRL, then each APERAK, one after the other (each its own UNA..UNZ)."""
        return "".join((self.contrl, *self.aperaks))


def acknowledge(
    result: InterchangeResult,
    verdicts: Sequence[MessageVerdict],
    *,
    prepared_at: datetime,
    new_reference: Callable[[], str],
    hub_id: str = "HUB",
    sender_id: str = "UNKNOWN",
) -> Acknowledgements | None:
    """The CONTRL and APERAKs answering ``result``; None when it has no UNB to answer.

    Args:
        verdicts: one per message of ``result``, in order.
        new_reference: a fresh interchange control reference (1 to 14 characters) per call.
        hub_id: who answers when the UNB names no recipient.
        sender_id: who is answered when the UNB names no sender.
    """
    if result.header is None:
        return None
    contrl = build_contrl(
        result, verdicts, reference=new_reference(), prepared_at=prepared_at,
        hub_id=hub_id, sender_id=sender_id,
    )  # fmt: skip
    aperaks = tuple(
        build_aperak(
            result,
            verdict,
            reference=new_reference(),
            prepared_at=prepared_at,
            hub_id=hub_id,
            sender_id=sender_id,
        )
        for verdict in verdicts
        if verdict.application_problems
    )
    return Acknowledgements(contrl, aperaks)


def build_contrl(
    result: InterchangeResult,
    verdicts: Sequence[MessageVerdict],
    *,
    reference: str,
    prepared_at: datetime,
    hub_id: str = "HUB",
    sender_id: str = "UNKNOWN",
) -> str:
    """The CONTRL interchange answering ``result`` (see the module's docstring)."""
    original, sender, recipient = _parties(result)
    body: list[OutSegment] = []
    if result.problems:
        first = result.problems[0]
        uci = [REJECTED, first.error, *_where(first)]
    else:
        uci = [ACCEPTED]
    sender, recipient = _swap(sender, sender_id), _swap(recipient, hub_id)
    body.append(("UCI", [_cut(original, _REFERENCE) or "UNKNOWN", sender, recipient, *uci]))
    for verdict in verdicts:
        message = verdict.message
        syntax = verdict.syntax_problems
        action = [REJECTED, syntax[0].error, *_where(syntax[0])] if syntax else [ACCEPTED]
        message_ref = _cut(message.message_ref, _REFERENCE) or "UNKNOWN"
        body.append(("UCM", [message_ref, _identifier(message), *action]))
        for problem in syntax[:_MAX_PROBLEMS]:
            if problem.position is None:
                continue
            body.append(("UCS", [str(problem.position), problem.error]))
            if problem.element is not None:
                body.append(("UCD", [problem.error, [str(problem.element)]]))
    return _interchange(
        _CONTRL, body, reference=reference, prepared_at=prepared_at,
        sender=recipient, recipient=sender,
    )  # fmt: skip


def build_aperak(
    result: InterchangeResult,
    verdict: MessageVerdict,
    *,
    reference: str,
    prepared_at: datetime,
    hub_id: str = "HUB",
    sender_id: str = "UNKNOWN",
) -> str:
    """The APERAK interchange for one message the hub refused for its content."""
    original, sender, recipient = _parties(result)
    message = verdict.message
    moment = prepared_at.astimezone(UTC).strftime("%Y%m%d%H%M")
    body: list[OutSegment] = [
        ("BGM", [[_APPLICATION_ERROR_MESSAGE], _cut(reference, _DOCUMENT), _NOT_ACCEPTED]),
        ("DTM", [[_DOCUMENT_DATE, moment, "203"]]),
        ("RFF", [[_PREVIOUS_MESSAGE, _cut(message.message_ref, _DOCUMENT)]]),
        ("RFF", [["ZZZ", _cut(original, _DOCUMENT)]]),  # the interchange it came in
    ]
    problems = verdict.application_problems
    for problem in problems[:_MAX_PROBLEMS]:
        body.append(("ERC", [[problem.error]]))
        body.append(("FTX", [_ERROR_DESCRIPTION, "", "", _texts(_describe(problem))]))
    if len(problems) > _MAX_PROBLEMS:
        body.append(("ERC", [["18"]]))  # 18: unspecified error
        more = f"{len(problems) - _MAX_PROBLEMS} more problems not listed"
        body.append(("FTX", [_ERROR_DESCRIPTION, "", "", _texts(more)]))
    return _interchange(
        _APERAK, body, reference=reference, prepared_at=prepared_at,
        sender=_swap(recipient, hub_id), recipient=_swap(sender, sender_id),
    )  # fmt: skip


def refusal(message: MessageResult, reason: str, detail: str) -> Problem:
    """A refusal by the hub's checks (``reason`` a reject reason), reported on the UNH."""
    error = REASON_ERRORS.get(reason, "12")
    return Problem(message.line, "UNH", f"{reason}: {detail}", error, False, 1, None)


def _describe(problem: Problem) -> str:
    where = f"segment {problem.segment}"
    if problem.position is not None:
        where += f" (position {problem.position})"
    return f"{where}, line {problem.line}: {problem.reason}"


def _where(problem: Problem) -> list[str | list[str]]:
    """UCI/UCM 0013 and S011: the service segment and the element at fault, if known."""
    if problem.segment not in _SERVICE_TAGS:
        return []
    if problem.element is None:
        return [problem.segment]
    return [problem.segment, [str(problem.element)]]


def _parties(result: InterchangeResult) -> tuple[str, list[str], list[str]]:
    """The original control reference, sender (S002) and recipient (S003), cut and cleaned."""
    header = result.header
    assert header is not None
    lengths = (_ID, _QUALIFIER, _ROUTING)
    sender = [_cut(value, size) for value, size in zip(header.element(1), lengths, strict=False)]
    recipient = [_cut(value, size) for value, size in zip(header.element(2), lengths, strict=False)]
    return result.reference or "", sender, recipient


def _swap(party: list[str], fallback: str) -> list[str]:
    return party if party and party[0] else [fallback, *party[1:]]


def _identifier(message: MessageResult) -> list[str]:
    identifier = [_cut(value, size) for value, size in zip(message.identifier, _S009, strict=False)]
    if not identifier or not identifier[0]:
        return [_cut(message.message_type, 6) or "UNKNOW"]
    return identifier


def _interchange(
    identifier: list[str],
    body: list[OutSegment],
    *,
    reference: str,
    prepared_at: datetime,
    sender: list[str],
    recipient: list[str],
) -> str:
    if not 0 < len(reference) <= _REFERENCE:
        raise ValueError(f"interchange reference {reference!r} must be 1 to 14 characters")
    prepared = prepared_at.astimezone(UTC)
    header: OutSegment = (
        "UNB",
        [_SYNTAX, sender, recipient, [prepared.strftime("%y%m%d"), prepared.strftime("%H%M")],
         reference],
    )  # fmt: skip
    segments: list[OutSegment] = [
        header,
        ("UNH", ["1", identifier]),
        *body,
        ("UNT", [str(len(body) + 2), "1"]),
        ("UNZ", ["1", reference]),
    ]
    return render(segments)


def _clean(text: str) -> str:
    """``text`` with what ISO 8859-1 (UNOC) cannot carry, or is not printable, as ``_``."""
    return "".join(char if char.isprintable() and ord(char) < 0x100 else "_" for char in text)


def _cut(text: str, size: int) -> str:
    return _clean(text[:size])


def _texts(text: str) -> list[str]:
    """``text`` as FTX C108: up to five components of 70 characters."""
    cleaned = _clean(text[: _TEXT * _TEXTS])
    return [cleaned[start : start + _TEXT] for start in range(0, len(cleaned), _TEXT)] or [""]
