"""What a conformance check reads and reports: feed records, problems with their fix, the report.

Plain dataclasses: the readers (``hub.ingest.conformance_input``) build :class:`FeedRecord`\\ s,
:func:`hub.domain.conformance.check_feed` returns a :class:`ConformanceReport`, and the CLI and
the API print or serialise it (:meth:`ConformanceReport.as_json`, one structure for both).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Final

from schemas.rejections import MAX_DETAIL_CHARS, printable

__all__ = [
    "CHECKS",
    "FIXES",
    "Check",
    "CheckCode",
    "ConformanceReport",
    "FeedRecord",
    "KpiCoverage",
    "Pending",
    "Problem",
]


class CheckCode(StrEnum):
    """Every problem a conformance check can report (``docs/conformance.md`` lists their fixes).

    The per-event codes are the hub's own refusal reasons (``schemas.rejections.RejectReason``):
    an event with one of them would be refused if it were sent now. The feed codes are the
    conformance check's: the events are each acceptable, but the feed they make is not.
    """

    # Reading the feed.
    UNREADABLE = "UNREADABLE"
    EMPTY_FEED = "EMPTY_FEED"
    NO_DOMAIN = "NO_DOMAIN"
    MALFORMED_INTERCHANGE = "MALFORMED_INTERCHANGE"
    UNMAPPABLE_MESSAGE = "UNMAPPABLE_MESSAGE"
    # Each event, as the hub's intake checks it.
    SCHEMA_INVALID = "SCHEMA_INVALID"
    MISSING_FIELD = "MISSING_FIELD"
    INVALID_IDENTIFIER = "INVALID_IDENTIFIER"
    UNKNOWN_PORT = "UNKNOWN_PORT"
    UNKNOWN_COUNTRY = "UNKNOWN_COUNTRY"
    PORT_NOT_OWNED = "PORT_NOT_OWNED"
    DOMAIN_NOT_ALLOWED = "DOMAIN_NOT_ALLOWED"
    IMPLAUSIBLE_TIME = "IMPLAUSIBLE_TIME"
    TOO_LATE = "TOO_LATE"
    # The feed as a whole.
    DUPLICATE_ID_CONFLICT = "DUPLICATE_ID_CONFLICT"
    CALL_MILESTONE_MISSING = "CALL_MILESTONE_MISSING"
    CALL_MILESTONE_ORDER = "CALL_MILESTONE_ORDER"
    MOVE_OUTSIDE_BERTH_WINDOW = "MOVE_OUTSIDE_BERTH_WINDOW"
    GATE_OUT_BEFORE_DISCHARGE = "GATE_OUT_BEFORE_DISCHARGE"
    DECLARATION_UNLINKED = "DECLARATION_UNLINKED"
    DECLARATION_CALL_UNKNOWN = "DECLARATION_CALL_UNKNOWN"
    DECLARATION_CONTAINER_UNKNOWN = "DECLARATION_CONTAINER_UNKNOWN"


FIXES: Final[Mapping[CheckCode, str]] = {
    CheckCode.UNREADABLE: "Send a file the hub reads: JSON lines, an Avro object container file "
    "written with one of the hub's schemas, or an EDIFACT interchange.",
    CheckCode.EMPTY_FEED: "Send a sample of the feed itself: a day of your events at least (an "
    "empty file or body checks nothing).",
    CheckCode.NO_DOMAIN: 'Wrap the event as {"domain": "vessel", "event": {...}} or give it the '
    "event_type of its domain (vessel.timestamp, cargo.move, customs.status, "
    "certificate.submission).",
    CheckCode.MALFORMED_INTERCHANGE: "Repair the interchange's envelope (UNB/UNZ reference and "
    "message count) at the line named.",
    CheckCode.UNMAPPABLE_MESSAGE: "Repair the segment named, with a qualifier and values of the "
    "hub's EDIFACT profile (docs/edifact.md).",
    CheckCode.SCHEMA_INVALID: "Give the field named a value of the type and form of the event's "
    "schema (schemas/avro/<domain>.avsc, the OpenAPI models).",
    CheckCode.MISSING_FIELD: "Add the field named: this kind of event must carry it.",
    CheckCode.INVALID_IDENTIFIER: "Send the identifier with its correct check digit (IMO: "
    "weights 7..2; ISO 6346 container numbers: weights 2^position mod 11).",
    CheckCode.UNKNOWN_PORT: "Use the UN/LOCODE of one of the hub's reference ports.",
    CheckCode.UNKNOWN_COUNTRY: "Submit certificates only for an importing country with a port "
    "in the hub.",
    CheckCode.PORT_NOT_OWNED: "Publish only events of your own port (the token's), or have "
    "the other port publish them.",
    CheckCode.DOMAIN_NOT_ALLOWED: "A single window publishes customs events and certificate "
    "submissions only: leave the other domains to the port.",
    CheckCode.IMPLAUSIBLE_TIME: "Send occurred_at and published_at in UTC with their offset, "
    "an actual event not after its publication and no time in the future.",
    CheckCode.TOO_LATE: "Send events within the hub's grace period after they happen (or check "
    "an older sample with --at set to when it would be sent).",
    CheckCode.DUPLICATE_ID_CONFLICT: "Give every distinct event its own event_id; reuse an id "
    "only to resend exactly the same event (a correction is a new event with "
    "retracts_event_id).",
    CheckCode.CALL_MILESTONE_MISSING: "Publish the call's missing actual (ACT) timestamp: every "
    "call needs arrival (PORT, PBPL or ANCH), all fast (BRTH ARRI), first lift (BRTH STRT), "
    "last lift (BRTH CMPL) and departure (BRTH DEPA).",
    CheckCode.CALL_MILESTONE_ORDER: "Correct the actual timestamps so that arrival <= all fast "
    "<= first lift <= last lift <= departure from berth (retract the wrong one).",
    CheckCode.MOVE_OUTSIDE_BERTH_WINDOW: "Correct the move's occurred_at or its port_call_id: a "
    "discharge, load or restow happens while its call is at berth (all fast to departure).",
    CheckCode.GATE_OUT_BEFORE_DISCHARGE: "Correct the gate-out's time or container: a box "
    "leaves by truck after it was discharged.",
    CheckCode.DECLARATION_UNLINKED: "Give the declaration the port_call_id of its call or the "
    "containers it covers: without either its release time cannot be measured.",
    CheckCode.DECLARATION_CALL_UNKNOWN: "Use the port_call_id your vessel events carry for that "
    "call (the same spelling), or publish that call's events.",
    CheckCode.DECLARATION_CONTAINER_UNKNOWN: "List only containers that your cargo events move "
    "(the same container numbers), or publish the missing moves.",
}
"""The fix of each problem, in one sentence."""


@dataclass(frozen=True, slots=True)
class Check:
    """One line of the report's list of checks: its name and the codes it reports."""

    name: str
    codes: tuple[CheckCode, ...]


CHECKS: Final[tuple[Check, ...]] = (
    Check(
        "the feed can be read",
        (
            CheckCode.UNREADABLE,
            CheckCode.EMPTY_FEED,
            CheckCode.NO_DOMAIN,
            CheckCode.MALFORMED_INTERCHANGE,
            CheckCode.UNMAPPABLE_MESSAGE,
        ),
    ),
    Check("schema", (CheckCode.SCHEMA_INVALID, CheckCode.MISSING_FIELD)),
    Check("identifiers (check digits)", (CheckCode.INVALID_IDENTIFIER,)),
    Check(
        "ports and ownership",
        (
            CheckCode.UNKNOWN_PORT,
            CheckCode.UNKNOWN_COUNTRY,
            CheckCode.PORT_NOT_OWNED,
            CheckCode.DOMAIN_NOT_ALLOWED,
        ),
    ),
    Check("time plausibility", (CheckCode.IMPLAUSIBLE_TIME, CheckCode.TOO_LATE)),
    Check("one content per event id", (CheckCode.DUPLICATE_ID_CONFLICT,)),
    Check(
        "port call lifecycle complete and in order",
        (CheckCode.CALL_MILESTONE_MISSING, CheckCode.CALL_MILESTONE_ORDER),
    ),
    Check("moves inside their call's berth window", (CheckCode.MOVE_OUTSIDE_BERTH_WINDOW,)),
    Check("gate-outs after discharge", (CheckCode.GATE_OUT_BEFORE_DISCHARGE,)),
    Check(
        "declarations linked to calls and containers",
        (
            CheckCode.DECLARATION_UNLINKED,
            CheckCode.DECLARATION_CALL_UNKNOWN,
            CheckCode.DECLARATION_CONTAINER_UNKNOWN,
        ),
    ),
)
"""Every check, in the report's order."""


@dataclass(frozen=True, slots=True)
class FeedRecord:
    """One event of a feed as read, before any check.

    ``data`` is the event as a JSON object or an Avro datum (what ``schemas.validation.validate``
    takes); ``domain`` None when the reader could not tell. ``where`` says where it came from
    (``day.jsonl:12``, ``day.avro:record 3``, ``day.edi:message 2 (line 9)``).
    """

    where: str
    domain: str | None
    data: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with the feed: a stable code, the event, what is wrong and the fix."""

    code: CheckCode
    where: str
    """File and line (or record, or message) of the event; the file alone when it is unreadable."""
    event_id: str | None
    detail: str

    def __post_init__(self) -> None:
        # What a feed holds is quoted here (an event_id as sent, a file name): the report goes
        # into JSON answers and terminals, so it must be UTF-8 text of a sane length.
        for name in ("where", "event_id", "detail"):
            value = getattr(self, name)
            if value is not None and not (value.isascii() and "\x00" not in value):
                object.__setattr__(self, name, printable(value)[:MAX_DETAIL_CHARS])

    @property
    def fix(self) -> str:
        return FIXES[self.code]

    def as_json(self) -> dict[str, Any]:
        return {
            "code": self.code.value,
            "where": self.where,
            "event_id": self.event_id,
            "detail": self.detail,
            "fix": self.fix,
        }


@dataclass(frozen=True, slots=True)
class Pending:
    """Something the feed cannot settle because it starts or ends mid-way (not a problem): a
    call that began before the feed's first event or is still open at its last."""

    kind: str
    subject: str
    detail: str

    def as_json(self) -> dict[str, str]:
        return {"kind": self.kind, "subject": self.subject, "detail": self.detail}


@dataclass(frozen=True, slots=True)
class KpiCoverage:
    """Whether the feed allows one KPI: for how many entities it has a value, and if none, why."""

    kpi: str
    unit: str
    entities: int
    """Entities with a value (neither open nor flagged)."""
    open: int
    """Entities whose value waits for an end the feed lacks."""
    flagged: int
    """Entities whose value is flagged (NEGATIVE_INTERVAL) and left out of aggregates."""
    missing: tuple[str, ...]
    """The kinds of event the KPI needs that the feed has none of."""
    why: str
    """Empty when allowed; else why not."""

    @property
    def allowed(self) -> bool:
        return self.entities > 0

    def as_json(self) -> dict[str, Any]:
        return {
            "kpi": self.kpi,
            "unit": self.unit,
            "allowed": self.allowed,
            "entities": self.entities,
            "open": self.open,
            "flagged": self.flagged,
            "missing_event_kinds": list(self.missing),
            "why": self.why,
        }


@dataclass(frozen=True, slots=True)
class ConformanceReport:
    """The result of one conformance check: clean when it has no problem."""

    publisher: str
    checked_at: datetime
    late_grace: timedelta
    records: int
    """Events read (each line, record or mapped EDIFACT event)."""
    accepted: int
    """Events that pass every per-event check (the hub would accept them if sent now)."""
    problems: tuple[Problem, ...]
    pending: tuple[Pending, ...]
    kpis: tuple[KpiCoverage, ...]
    duplicates: int = 0
    """Exact copies of an earlier event (harmless: the hub counts an event once)."""
    sources: tuple[str, ...] = field(default=())

    @property
    def clean(self) -> bool:
        return not self.problems

    def check_results(self) -> list[tuple[Check, int]]:
        """Each check with its number of problems (0: passes)."""
        return [(check, sum(1 for p in self.problems if p.code in check.codes)) for check in CHECKS]

    def pending_summary(self, examples: int = 5) -> list[dict[str, Any]]:
        """What the feed's edges leave pending, by kind: how many, and a few examples."""
        kinds: dict[str, list[Pending]] = {}
        for item in self.pending:
            kinds.setdefault(item.kind, []).append(item)
        return [
            {
                "kind": kind,
                "count": len(items),
                "examples": [item.as_json() for item in items[:examples]],
            }
            for kind, items in kinds.items()
        ]

    def as_json(self) -> dict[str, Any]:
        """The report as ``hub conformance --json`` prints it and ``POST /v1/conformance``
        answers it."""
        return {
            "publisher": self.publisher,
            "clean": self.clean,
            "checked_at": self.checked_at.isoformat(),
            "late_grace_hours": self.late_grace.total_seconds() / 3600,
            "sources": list(self.sources),
            "events": self.records,
            "accepted": self.accepted,
            "exact_duplicates": self.duplicates,
            "checks": [
                {
                    "check": check.name,
                    "result": "PASS" if count == 0 else "FAIL",
                    "problems": count,
                    "codes": [code.value for code in check.codes],
                }
                for check, count in self.check_results()
            ],
            "problems": [problem.as_json() for problem in self.problems],
            "pending": self.pending_summary(),
            "kpis": [kpi.as_json() for kpi in self.kpis],
        }
