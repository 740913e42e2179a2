"""EDIFACT syntax (ISO 9735) as the hub reads and writes it.

- **Reading**: an optional UNA service string advice sets the separators, the decimal mark and
  the release character; without UNA the ISO 9735 defaults ``:+.? '`` apply. pydifact's
  :class:`~pydifact.tokenizer.Tokenizer` splits the text (honouring the release character);
  this module assembles the segments itself, because pydifact's parser drops what the hub needs:
  where each segment starts (its 1-based line, and its offsets so that a message can be cut out
  of the text as sent) and trailing empty components. Line breaks and spaces after a segment
  terminator are ignored, so a file with one segment per line and a file with none read alike.
- **Writing**: pydifact's :class:`~pydifact.serializer.Serializer` escapes the separators with
  the release character and writes one segment per line after ``UNA:+.? '``.
- **Values**: numbers accept ``.`` and ``,`` as the decimal mark (ISO 9735 lets a sender use
  either) and are written with ``.``; times are UTC, written with format 203 (CCYYMMDDHHMM), or
  204 (CCYYMMDDHHMMSS) when they have seconds, and 204 with a decimal fraction of the second
  (``20260301123045.123``) when they have milliseconds, which the hub's events keep.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Final

from pydifact.control.characters import Characters
from pydifact.exceptions import EDISyntaxError
from pydifact.segments import Segment as PydifactSegment
from pydifact.serializer import Serializer
from pydifact.token import Token
from pydifact.tokenizer import Tokenizer

__all__ = [
    "DEFAULT_SEPARATORS",
    "Element",
    "OutSegment",
    "Segment",
    "Separators",
    "Tokenized",
    "format_decimal",
    "format_time",
    "parse_decimal",
    "parse_time",
    "render",
    "tokenize",
]

_TAG = re.compile(r"^[A-Z][A-Z0-9]{2}$")
_NUMBER = re.compile(r"^-?(?:[0-9]+(?:[.,][0-9]*)?|[.,][0-9]+)$")
_WHITESPACE: Final = " \t\r\n"
# A release character "none" (a space in UNA) must still be a character for pydifact: one that
# cannot occur in an EDIFACT text.
_NO_RELEASE: Final = "\x00"


@dataclass(frozen=True, slots=True)
class Separators:
    """The six characters of a UNA service string advice."""

    component: str = ":"
    data: str = "+"
    decimal: str = "."
    release: str = "?"
    repetition: str = " "
    terminator: str = "'"

    @classmethod
    def from_una(cls, advice: str) -> Separators:
        """The separators of the six characters after ``UNA``.

        Raises:
            ValueError: they are not six, a separator repeats, or the decimal mark is neither
                ``.`` nor ``,``.
        """
        if len(advice) != 6:
            raise ValueError("UNA must be followed by exactly six service characters")
        separators = cls(*advice)
        used = [separators.component, separators.data, separators.terminator]
        if separators.release != " ":
            used.append(separators.release)
        if len(set(used)) != len(used):
            raise ValueError(f"UNA service characters {advice!r} repeat a separator")
        if separators.decimal not in ".,":
            raise ValueError(f"UNA decimal mark {separators.decimal!r} is neither '.' nor ','")
        return separators

    @property
    def una(self) -> str:
        return (
            f"UNA{self.component}{self.data}{self.decimal}"
            f"{self.release}{self.repetition}{self.terminator}"
        )

    def characters(self) -> Characters:
        release = self.release if self.release != " " else _NO_RELEASE
        return Characters.from_str(
            f"{self.component}{self.data}{self.decimal}{release}{self.repetition}{self.terminator}"
        )


DEFAULT_SEPARATORS: Final = Separators()
"""ISO 9735's defaults, and what the hub writes (with an explicit UNA)."""


@dataclass(frozen=True, slots=True)
class Segment:
    """A segment as read: its tag, its data elements (each a tuple of components, unescaped),
    its 1-based line and its offsets ``[start, end)`` in the text."""

    tag: str
    elements: tuple[tuple[str, ...], ...]
    line: int
    start: int
    end: int

    def element(self, index: int) -> tuple[str, ...]:
        return self.elements[index] if index < len(self.elements) else ()

    def component(self, element: int, component: int = 0) -> str:
        """The component (``""`` when absent)."""
        values = self.element(element)
        return values[component] if component < len(values) else ""

    @property
    def qualifier(self) -> str:
        """The first component of the first element: the qualifier of most segments."""
        return self.component(0)


@dataclass(frozen=True, slots=True)
class Tokenized:
    """The segments of a text, and why it stopped early if it did."""

    separators: Separators
    segments: tuple[Segment, ...]
    una_line: int | None
    error: tuple[int, str] | None
    """Line and reason of a syntax error (the segments before it are still given)."""
    truncated_at: int | None
    """Line where a segment starts that the text ends inside of."""
    truncated_start: int | None
    """Offset of that segment."""


class _PositionTokenizer(Tokenizer):
    """pydifact's tokenizer, noting the line and offset where each token starts."""

    def __init__(self, first_line: int) -> None:
        super().__init__()
        self.position = -1
        self.line = first_line
        self.token_line = first_line
        self.token_start = 0
        self._after_newline = False

    def get_next_char(self) -> str | None:
        char = super().get_next_char()
        if char is not None:
            self.position += 1
            if self._after_newline:
                self.line += 1
            self._after_newline = char == "\n"
        return char

    def get_next_token(self) -> Token:
        # The current character (already read) is where the token starts.
        self.token_line, self.token_start = self.line, self.position
        return super().get_next_token()


def tokenize(text: str) -> Tokenized:
    """Split ``text`` into segments, noting where each starts.

    Never raises on bad input: a syntax error or a text ending inside a segment is reported in
    the result, with the segments read before it.
    """
    offset = _skip(text, 0, "\ufeff" + _WHITESPACE)
    separators = DEFAULT_SEPARATORS
    una_line: int | None = None
    if text.startswith("UNA", offset):
        una_line = text.count("\n", 0, offset) + 1
        try:
            separators = Separators.from_una(text[offset + 3 : offset + 9])
        except ValueError as refused:
            return Tokenized(separators, (), una_line, (una_line, str(refused)), None, None)
        offset = _skip(text, offset + 9, _WHITESPACE)
    first_line = text.count("\n", 0, offset) + 1
    tokenizer = _PositionTokenizer(first_line)
    segments: list[Segment] = []
    error: tuple[int, str] | None = None
    open_segment: list[tuple[int, int]] = []  # (line, offset) of a segment not yet terminated
    try:
        segments.extend(_segments(tokenizer, text[offset:], separators, offset, open_segment))
    except EDISyntaxError as exception:
        if tokenizer.position + 1 < len(text) - offset:
            error = (tokenizer.line, f"syntax error: {exception.args[0]}")
        elif not open_segment:
            # pydifact raised at the end of a text that stops inside a segment's first token.
            open_segment.append((tokenizer.token_line, offset + tokenizer.token_start))
    except ValueError as exception:  # a segment without a proper tag
        error = (tokenizer.token_line, f"syntax error: {exception}")
    truncated_at, truncated_start = open_segment[0] if open_segment and not error else (None, None)
    return Tokenized(separators, tuple(segments), una_line, error, truncated_at, truncated_start)


def _segments(
    tokenizer: _PositionTokenizer,
    body: str,
    separators: Separators,
    offset: int,
    open_segment: list[tuple[int, int]],
) -> Iterator[Segment]:
    """The segments of ``body``; ``open_segment`` holds where an unterminated one starts."""
    elements: list[list[str]] = []
    for token in tokenizer.get_tokens(body, separators.characters()):
        if not open_segment:
            open_segment.append((tokenizer.token_line, offset + tokenizer.token_start))
            elements = [[""]]
        if token.type is Token.Type.CONTENT:
            elements[-1][-1] += token.value
        elif token.type is Token.Type.COMPONENT_SEPARATOR:
            elements[-1].append("")
        elif token.type is Token.Type.DATA_SEPARATOR:
            elements.append([""])
        elif token.type is Token.Type.TERMINATOR:
            tag = elements[0]
            if len(tag) != 1 or not _TAG.match(tag[0]):
                raise ValueError(f"{separators.component.join(tag)!r} is not a segment tag")
            line, start = open_segment.pop()
            end = offset + tokenizer.token_start + 1
            yield Segment(tag[0], tuple(tuple(e) for e in elements[1:]), line, start, end)


def _skip(text: str, offset: int, characters: str) -> int:
    while offset < len(text) and text[offset] in characters:
        offset += 1
    return offset


# --- writing ----------------------------------------------------------------------------------

Element = str | Sequence[str]
"""A data element to write: a simple value, or its components."""
OutSegment = tuple[str, Sequence[Element]]
"""A segment to write: its tag and its data elements (trailing empty ones are dropped)."""


def render(segments: Sequence[OutSegment], separators: Separators = DEFAULT_SEPARATORS) -> str:
    """The text of ``segments`` after a UNA, one segment per line, separators escaped."""
    serializer = Serializer(separators.characters())
    built: list[PydifactSegment] = []
    for tag, elements in segments:
        values: list[str | list[str]] = [
            element if isinstance(element, str) else list(element) for element in elements
        ]
        while values and not _has_value(values[-1]):
            values.pop()
        built.append(PydifactSegment(tag, *values))
    return serializer.serialize(built, with_una_header=True, break_lines=True)


def _has_value(element: str | list[str]) -> bool:
    return any(element) if isinstance(element, list) else bool(element)


# --- values -----------------------------------------------------------------------------------


def parse_decimal(text: str) -> Decimal:
    """A numeric data element (``.`` or ``,`` as decimal mark, no exponent, no grouping).

    Raises:
        ValueError: ``text`` is not such a number.
    """
    if not _NUMBER.match(text):
        raise ValueError(f"{text!r} is not a number")
    return Decimal(text.replace(",", "."))


def format_decimal(value: Decimal | int | float) -> str:
    """``value`` in positional notation with ``.``; a float in its shortest exact form."""
    if isinstance(value, float):
        value = Decimal(repr(value))
    return format(value, "f")


_TIME_FORMATS: Final = {"203": re.compile(r"^[0-9]{12}$"), "204": re.compile(r"^[0-9]{14}$")}


def parse_time(value: str, code: str) -> datetime:
    """A DTM date/time in format 203 or 204 (204 may carry a fraction of a second), as UTC.

    Raises:
        ValueError: another format, or a value that does not match it.
    """
    pattern = _TIME_FORMATS.get(code)
    if pattern is None:
        raise ValueError(f"date/time format {code or '(none)'} is not accepted (use 203 or 204)")
    whole, mark, fraction = value.replace(",", ".").partition(".")
    if not pattern.match(whole) or (mark and not re.match(r"^[0-9]{1,6}$", fraction)):
        raise ValueError(f"{value!r} does not match date/time format {code}")
    if mark and code != "204":
        raise ValueError(f"{value!r}: only format 204 takes a fraction of a second")
    parsed = datetime.strptime(whole, "%Y%m%d%H%M%S" if code == "204" else "%Y%m%d%H%M")
    micros = int(fraction.ljust(6, "0")) if mark else 0
    return parsed.replace(microsecond=micros, tzinfo=UTC)


def format_time(moment: datetime) -> tuple[str, str]:
    """``moment`` in UTC as a DTM value and its format code (203, else 204)."""
    moment = moment.astimezone(UTC)
    if moment.second == 0 and moment.microsecond == 0:
        return moment.strftime("%Y%m%d%H%M"), "203"
    text = moment.strftime("%Y%m%d%H%M%S")
    if moment.microsecond:
        digits = f"{moment.microsecond:06d}"
        text += "." + (digits[:3] if digits[3:] == "000" else digits)
    return text, "204"
