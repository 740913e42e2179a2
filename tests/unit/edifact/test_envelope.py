"""Envelope and message checks: what rejects an interchange, what rejects one message."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from connectors.edifact import (
    InterchangeResult,
    Problem,
    read_interchange,
    writable,
    write_interchange,
)
from schemas.models import CargoEvent, CertificateSubmission, Move
from tests.unit.edifact import PUBLISHED

HEADER = "UNA:+.? '\nUNB+UNOC:3+TECONSANTOS+PORTHUBLAC+260306:0905+SSZ1'\n"
GATE_IN = (
    "UNH+{ref}+CODECO:D:{release}:UN'\n"
    "BGM+34+GI-1+9'\n"
    "LOC+11+BRSSZ:139:6'\n"
    "EQD+CN+HDMU6033770+45G1:102:5++2+5'\n"
    "DTM+7:202603060811:203'\n"
    "MEA+AAE+G+KGM:26100'\n"
    "UNT+7+{ref}'\n"
)


def interchange(*messages: str, trailer: str = "UNZ+{count}+SSZ1'\n") -> str:
    return HEADER + "".join(messages) + trailer.format(count=len(messages))


def gate_in(ref: str = "1", release: str = "95B") -> str:
    return GATE_IN.format(ref=ref, release=release)


def read(text: str) -> InterchangeResult:
    return read_interchange(text, published_at=PUBLISHED)


def test_a_good_interchange() -> None:
    result = read(interchange(gate_in("1"), gate_in("2", "16A")))
    assert result.accepted and result.problem_lines() == []
    assert [len(m.events) for m in result.messages] == [1, 1]
    assert [m.line for m in result.messages] == [3, 10]


@pytest.mark.parametrize("text", ["", "hello world", "<xml/>", "UNH+1+CODECO:D:95B:UN'"])
def test_not_edifact(text: str) -> None:
    result = read(text)
    assert not result.accepted and result.messages == ()
    assert "not an EDIFACT interchange" in result.problems[-1].reason


def test_syntax_error_rejects_everything() -> None:
    result = read(interchange(gate_in()).replace("BGM+34", ":34"))
    assert not result.accepted and result.messages == ()
    assert result.problems[0].line == 4 and "syntax error" in result.problems[0].reason


def test_text_after_unz() -> None:
    result = read(interchange(gate_in()) + "UNH+9+CODECO:D:95B:UN'\n")
    assert not result.accepted and result.events == ()
    assert result.problems == (Problem(11, "UNH", "text after UNZ"),)

    garbage = read(interchange(gate_in()) + "garbage without terminator")
    assert [(p.line, p.reason) for p in garbage.problems] == [(11, "text after UNZ")]


def test_unz_reference_must_be_unb_reference() -> None:
    result = read(interchange(gate_in(), trailer="UNZ+{count}+SSZ2'\n"))
    assert not result.accepted
    assert result.problems == (
        Problem(10, "UNZ", "interchange control reference 'SSZ2' is not UNB's 'SSZ1'"),
    )


def test_message_without_unt() -> None:
    broken = gate_in("1").replace("UNT+7+1'\n", "")
    result = read(interchange(broken, gate_in("2")))
    assert not result.accepted
    assert Problem(3, "UNH", "truncated: message 1 has no UNT") in result.problems


def test_segment_outside_a_message_and_groups() -> None:
    result = read(interchange("RFF+VON:X'\n", gate_in()))
    assert result.problems[0] == Problem(3, "RFF", "segment outside a message")
    grouped = read(interchange("UNG+CODECO+A+B'\n", gate_in(), "UNE+1+1'\n"))
    assert {p.segment for p in grouped.problems} >= {"UNG", "UNE"}


def test_missing_interchange_reference() -> None:
    result = read(interchange(gate_in()).replace("+SSZ1'", "+'"))
    assert not result.accepted
    assert any("interchange control reference (0020)" in p.reason for p in result.problems)


def test_unt_reference_must_be_unh_reference() -> None:
    result = read(interchange(gate_in("1").replace("UNT+7+1'", "UNT+7+2'")))
    assert result.accepted
    (message,) = result.messages
    assert message.events == ()
    assert message.problems == (Problem(9, "UNT", "message reference '2' is not UNH's '1'"),)


@pytest.mark.parametrize(
    ("identifier", "reason"),
    [
        ("IFTMIN:D:95B:UN", "message type 'IFTMIN' is not read"),
        ("CODECO:D:95A:UN", "directory D:95A:UN is not read"),
        ("CODECO:D:16B:UN", "directory D:16B:UN is not read"),
        ("CODECO:S:95B:UN", "directory S:95B:UN is not read"),
    ],
)
def test_unsupported_type_or_directory(identifier: str, reason: str) -> None:
    bad = gate_in("2").replace("CODECO:D:95B:UN", identifier)
    result = read(interchange(gate_in("1"), bad, gate_in("3", "01C")))
    assert result.accepted
    good, rejected, third = result.messages
    assert good.events and third.events and rejected.events == ()
    assert rejected.problems[0].line == 10 and rejected.problems[0].segment == "UNH"
    assert reason in rejected.problems[0].reason


def test_duplicate_message_reference() -> None:
    result = read(interchange(gate_in("1"), gate_in("1")))
    first, second = result.messages
    assert first.events and not second.events
    assert "used twice" in second.problems[0].reason


def test_only_original_messages() -> None:
    result = read(interchange(gate_in().replace("BGM+34+GI-1+9'", "BGM+34+GI-1+5'")))
    (message,) = result.messages
    assert message.events == ()
    assert message.problems[0].line == 4 and "only 9 (original)" in message.problems[0].reason


def test_values_the_model_refuses_name_their_segment() -> None:
    text = interchange(
        gate_in()
        .replace("HDMU6033770", "HDMU603377")
        .replace("DTM+7", "LOC+27+BRA'\nDTM+7")
        .replace("UNT+7", "UNT+8")
    )
    (message,) = read(text).messages
    assert message.events == ()
    assert [(p.line, p.segment) for p in message.problems] == [(6, "EQD"), (7, "LOC")]
    assert "container 'HDMU603377' refused by the hub" in message.problems[0].reason
    assert "origin_country 'BRA' refused by the hub" in message.problems[1].reason


def test_mandatory_carriers_missing() -> None:
    text = interchange(gate_in().replace("MEA+AAE+G+KGM:26100'\n", "").replace("UNT+7", "UNT+6"))
    (message,) = read(text).messages
    assert message.problems == (
        Problem(6, "EQD", "mandatory MEA+AAE+G gross weight in KGM missing"),
    )


def test_equipment_count_is_checked() -> None:
    text = interchange(gate_in().replace("UNT+7", "CNT+16:2'\nUNT+8"))
    (message,) = read(text).messages
    assert message.problems == (Problem(9, "CNT", "CNT says 2 containers, the message has 1"),)


# --- writing ----------------------------------------------------------------------------------


def yard_move() -> CargoEvent:
    return CargoEvent(
        event_id=uuid.UUID("00000000-0000-0000-0000-000000000009"),
        occurred_at=datetime(2026, 3, 1, tzinfo=UTC),
        published_at=PUBLISHED,
        port="PECLL",
        container="MSCU7130450",
        iso_size_type="22G1",
        full=True,
        gross_kg=1,
        move=Move.YARD,
    )


def test_yard_moves_have_no_message() -> None:
    move = yard_move()
    assert not writable(move)
    assert writable(move.model_copy(update={"move": Move.GTIN}))
    with pytest.raises(
        ValueError, match=r"00000000-0000-0000-0000-000000000009 \(cargo.move YARD\)"
    ):
        write_interchange([move], sender="A", recipient="B", reference="R", prepared_at=PUBLISHED)


def test_certificates_have_no_message() -> None:
    assert not writable(CertificateSubmission.model_construct())


def test_write_checks_its_arguments() -> None:
    event = yard_move().model_copy(update={"move": Move.GTIN})
    with pytest.raises(ValueError, match="at least one event"):
        write_interchange([], sender="A", recipient="B", reference="R", prepared_at=PUBLISHED)
    with pytest.raises(ValueError, match="1 to 14 characters"):
        write_interchange(
            [event], sender="A", recipient="B", reference="R" * 15, prepared_at=PUBLISHED
        )


def test_written_counts_and_header() -> None:
    event = yard_move().model_copy(update={"move": Move.GTIN})
    text = write_interchange(
        [event, event.model_copy(update={"move": Move.GTOT})],
        sender="PORTHUBLAC",
        recipient="TECON",
        reference="R42",
        prepared_at=datetime(2026, 3, 1, 9, 5, tzinfo=UTC),
    )
    lines = text.splitlines()
    assert lines[:2] == ["UNA:+.? '", "UNB+UNOC:3+PORTHUBLAC+TECON+260301:0905+R42'"]
    assert lines[-1] == "UNZ+2+R42'"
    result = read_interchange(text, published_at=PUBLISHED)
    assert result.problem_lines() == []
    assert [m.message_type for m in result.messages] == ["CODECO", "CODECO"]


def test_read_checks_its_arguments() -> None:
    text = interchange(gate_in())
    with pytest.raises(ValueError, match="aware"):
        read_interchange(text, published_at=datetime(2026, 3, 1))
    with pytest.raises(ValueError, match="longer than 16"):
        read_interchange(text, published_at=PUBLISHED, source="X" * 17)
