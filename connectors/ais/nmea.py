"""Decoding AIVDM/AIVDO lines (NMEA 0183, with optional NMEA 4.10 tag blocks) into positions and
static data, never raising on bad input.

Choices:

- **Framing is checked here, payloads are decoded by pyais.** The sentence checksum, the tag
  block (``\\c:1700000000*hh\\`` before the sentence; its own checksum is checked) and the
  fragments of a multi-sentence message are handled by :class:`NmeaDecoder` so that every
  rejected line has a reason; pyais (``pyais.decode``) turns the reassembled payload into fields.
- **Time**: a report's time is the tag block's ``c:`` (unix seconds; 13 digits are taken as
  milliseconds), else the ``received_at`` the caller passes; with neither the line is rejected
  (``no_time``) rather than stamped with the wall clock, so that a replay decodes the same. The
  AIS "UTC second" field is not used: it carries no date, and the tag time is what receivers
  stamp reliably.
- **Multipart messages** (type 5 spans 2 sentences) are reassembled per (talker, channel,
  sequence id). The first fragment's time is the message's. A message is given up
  (``incomplete_multipart``) when its rest does not come within :data:`MULTIPART_TIMEOUT` of it
  (judged on later lines' times), when another first fragment takes its sequence id, when a
  fragment arrives out of order, or at :meth:`NmeaDecoder.flush`. A later fragment with no first
  fragment pending is an ``orphan_fragment``.
- **Not available**: a position report with lat 91 / lon 181 is rejected
  (``position_not_available``); speed 102.3 keeps the position with ``sog_kn=None`` and counts
  in :attr:`NmeaDecoder.partial`; an IMO number of 0 or with a wrong check digit gives
  ``imo=None`` (also counted there), since a wrong IMO would attach the vessel to another's calls.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Final

from pyais import decode as pyais_decode
from pyais.messages import MessageType1, MessageType5, MessageType18, MessageType19
from stdnum import imo as stdnum_imo

__all__ = [
    "MULTIPART_TIMEOUT",
    "NmeaDecoder",
    "Partial",
    "Position",
    "Reject",
    "StaticData",
]

MULTIPART_TIMEOUT: Final = timedelta(seconds=10)
"""How long the fragments of one message may be apart. A transponder sends them back to back,
so any longer gap means a fragment was lost and the sequence id is about to be reused."""

_POSITION_TYPES: Final = (MessageType1, MessageType18, MessageType19)  # 2 and 3 subclass 1
_SENTENCE: Final = re.compile(
    r"^!(?P<talker>[A-Z]{2})(?P<kind>VDM|VDO),(?P<count>[1-9]),(?P<number>[1-9]),"
    r"(?P<seq>[0-9]?),(?P<channel>[A-Z12]?),(?P<payload>[0-9:;<=>?@A-W`a-w]*),(?P<fill>[0-5])"
    r"\*(?P<checksum>[0-9A-Fa-f]{2})$"
)
_OTHER_SENTENCE: Final = re.compile(r"^[!$][A-Z]{2}[A-Z]{3},.*\*[0-9A-Fa-f]{2}$")
_TAG_BLOCK: Final = re.compile(r"^\\(?P<body>[^\\*]*)\*(?P<checksum>[0-9A-Fa-f]{2})\\(?P<rest>.*)$")
_MILLIS_THRESHOLD: Final = 10**11  # unix seconds reach 10**11 in the year 5138
_MAX_MMSI: Final = 999_999_999
_SOG_NOT_AVAILABLE: Final = 102.3
_LAT_NOT_AVAILABLE: Final = 91.0
_LON_NOT_AVAILABLE: Final = 181.0


class Reject(StrEnum):
    """Why a line (or a message) gave nothing; the keys of :attr:`NmeaDecoder.rejected`."""

    MALFORMED = "malformed"
    """Not an NMEA sentence at all (garbage, a truncated line)."""
    NOT_AIS = "not_ais"
    """A well-formed NMEA sentence other than VDM/VDO (a GPS fix, say)."""
    BAD_CHECKSUM = "bad_checksum"
    """The sentence's checksum does not match: a transmission error."""
    BAD_TAG_BLOCK = "bad_tag_block"
    """The tag block is unterminated, fails its checksum, or has an unreadable ``c:``."""
    NO_TIME = "no_time"
    """Neither a tag block time nor a receive time: the report cannot be placed in time."""
    ORPHAN_FRAGMENT = "orphan_fragment"
    """A later fragment of a multipart message whose first fragment was not pending."""
    INCOMPLETE_MULTIPART = "incomplete_multipart"
    """A multipart message given up: its rest timed out, broke sequence or never came."""
    UNDECODABLE = "undecodable"
    """pyais could not decode the payload (too short, say)."""
    UNSUPPORTED_TYPE = "unsupported_type"
    """A message type other than position reports (1, 2, 3, 18, 19) and static data (5)."""
    BAD_MMSI = "bad_mmsi"
    """An MMSI of 0 or of more than 9 digits."""
    POSITION_NOT_AVAILABLE = "position_not_available"
    """A position report whose latitude (91) or longitude (181) says "not available"."""


class Partial(StrEnum):
    """What a decoded item lacks; the keys of :attr:`NmeaDecoder.partial`."""

    SOG_NOT_AVAILABLE = "sog_not_available"
    """Speed over ground 102.3 ("not available"): the position has ``sog_kn=None``."""
    IMO_NOT_AVAILABLE = "imo_not_available"
    """Static data with IMO number 0: ``imo=None``."""
    BAD_IMO = "bad_imo"
    """Static data whose IMO number is not 7 digits with a valid check digit: ``imo=None``."""


@dataclass(frozen=True, slots=True)
class Position:
    """A position report: where a vessel was, and how fast it went (knots; None: unknown)."""

    mmsi: str
    at: datetime
    lat: float
    lon: float
    sog_kn: float | None


@dataclass(frozen=True, slots=True)
class StaticData:
    """A vessel's static data (type 5): its IMO number (7 digits, check digit valid) and names."""

    mmsi: str
    imo: str | None
    name: str | None
    call_sign: str | None
    at: datetime | None = None


@dataclass(slots=True)
class _Pending:
    """The fragments of a multipart message received so far."""

    count: int
    at: datetime
    sentences: list[str]


class NmeaDecoder:
    """Turns lines of an AIS feed into :class:`Position` and :class:`StaticData`.

    Feed lines in the order received; one decoder per feed (multipart state is per feed).
    Nothing raises on bad input: every line or message that gives nothing is counted in
    :attr:`rejected` under a :class:`Reject` reason.
    """

    __slots__ = ("_pending", "partial", "rejected")

    def __init__(self) -> None:
        self.rejected: Counter[str] = Counter()
        self.partial: Counter[str] = Counter()
        self._pending: dict[tuple[str, str, str], _Pending] = {}

    def feed(self, line: str, received_at: datetime | None = None) -> list[Position | StaticData]:
        """The items a line completes: none, or one (a multipart message completes at its last
        fragment). ``received_at`` (aware; a naive one is taken as UTC) is used when the line
        has no tag block time. Blank lines are skipped without counting."""
        text = line.strip()
        if not text:
            return []
        at: datetime | None = None
        if text.startswith("\\"):
            tagged = _TAG_BLOCK.match(text)
            if tagged is None or _checksum(tagged["body"]) != int(tagged["checksum"], 16):
                self.rejected[Reject.BAD_TAG_BLOCK] += 1
                return []
            try:
                at = _tag_time(tagged["body"])
            except ValueError:
                self.rejected[Reject.BAD_TAG_BLOCK] += 1
                return []
            text = tagged["rest"]
        if at is None and received_at is not None:
            at = received_at if received_at.tzinfo else received_at.replace(tzinfo=UTC)
            at = at.astimezone(UTC)

        sentence = _SENTENCE.match(text)
        if sentence is None:
            is_nmea = _OTHER_SENTENCE.match(text) and text[3:6] not in ("VDM", "VDO")
            self.rejected[Reject.NOT_AIS if is_nmea else Reject.MALFORMED] += 1
            return []
        if _checksum(text[1 : text.rindex("*")]) != int(sentence["checksum"], 16):
            self.rejected[Reject.BAD_CHECKSUM] += 1
            return []
        if at is None:
            self.rejected[Reject.NO_TIME] += 1
            return []
        self._expire(at)

        count, number = int(sentence["count"]), int(sentence["number"])
        if count == 1:
            return self._decode([text], at)
        key = (sentence["talker"] + sentence["kind"], sentence["channel"], sentence["seq"])
        if number == 1:
            if self._pending.pop(key, None) is not None:  # its sequence id reused: given up
                self.rejected[Reject.INCOMPLETE_MULTIPART] += 1
            self._pending[key] = _Pending(count, at, [text])
            return []
        pending = self._pending.get(key)
        if pending is None:
            self.rejected[Reject.ORPHAN_FRAGMENT] += 1
            return []
        if pending.count != count or len(pending.sentences) + 1 != number:
            del self._pending[key]
            self.rejected[Reject.INCOMPLETE_MULTIPART] += 1
            return []
        pending.sentences.append(text)
        if number < count:
            return []
        del self._pending[key]
        return self._decode(pending.sentences, pending.at)

    def flush(self) -> None:
        """Give up the multipart messages still waiting for fragments (at the end of a feed)."""
        if self._pending:
            self.rejected[Reject.INCOMPLETE_MULTIPART] += len(self._pending)
            self._pending.clear()

    def _expire(self, now: datetime) -> None:
        stale = [key for key, p in self._pending.items() if now - p.at > MULTIPART_TIMEOUT]
        for key in stale:
            del self._pending[key]
            self.rejected[Reject.INCOMPLETE_MULTIPART] += 1

    def _decode(self, sentences: list[str], at: datetime) -> list[Position | StaticData]:
        try:
            message = pyais_decode(*sentences)
        except Exception:  # pyais raises many kinds (and IndexError on short payloads)
            self.rejected[Reject.UNDECODABLE] += 1
            return []
        if not isinstance(message, (*_POSITION_TYPES, MessageType5)):
            self.rejected[Reject.UNSUPPORTED_TYPE] += 1
            return []
        mmsi = message.mmsi
        if not isinstance(mmsi, int) or not 0 < mmsi <= _MAX_MMSI:
            self.rejected[Reject.BAD_MMSI] += 1
            return []
        if isinstance(message, MessageType5):
            return [self._static(f"{mmsi:09d}", message, at)]
        lat, lon, speed = message.lat, message.lon, message.speed
        if not isinstance(lat, float) or not isinstance(lon, float):
            self.rejected[Reject.UNDECODABLE] += 1
            return []
        if (
            lat == _LAT_NOT_AVAILABLE
            or lon == _LON_NOT_AVAILABLE
            or abs(lat) > 90
            or abs(lon) > 180
        ):
            self.rejected[Reject.POSITION_NOT_AVAILABLE] += 1
            return []
        sog: float | None = speed if isinstance(speed, float) else None
        if sog is None or sog >= _SOG_NOT_AVAILABLE:
            self.partial[Partial.SOG_NOT_AVAILABLE] += 1
            sog = None
        return [Position(mmsi=f"{mmsi:09d}", at=at, lat=lat, lon=lon, sog_kn=sog)]

    def _static(self, mmsi: str, message: MessageType5, at: datetime) -> StaticData:
        number = message.imo
        imo: str | None = None
        if not number:
            self.partial[Partial.IMO_NOT_AVAILABLE] += 1
        elif len(text := str(number)) == 7 and stdnum_imo.is_valid(text):
            imo = text
        else:
            self.partial[Partial.BAD_IMO] += 1
        return StaticData(
            mmsi=mmsi,
            imo=imo,
            name=_text(message.shipname),
            call_sign=_text(message.callsign),
            at=at,
        )


def _checksum(body: str) -> int:
    value = 0
    for char in body.encode("ascii", "replace"):
        value ^= char
    return value


def _tag_time(body: str) -> datetime | None:
    """The ``c:`` time of a tag block body (``c:1700000000,s:recv``), None without one."""
    for part in body.split(","):
        if part.startswith("c:"):
            stamp = int(part[2:])  # ValueError: not a number
            seconds = stamp / 1000 if stamp >= _MILLIS_THRESHOLD else stamp
            try:
                return datetime.fromtimestamp(seconds, UTC)
            except (OverflowError, OSError) as error:  # beyond the years datetime can hold
                raise ValueError(f"tag block time {stamp} out of range") from error
    return None


def _text(value: object) -> str | None:
    """A 6-bit text field without its padding (``@``) and blanks; None when empty."""
    if not isinstance(value, str):
        return None
    cleaned = value.replace("@", " ").strip()
    return " ".join(cleaned.split()) or None
