"""ISO 9735 text: separators from UNA, the release character, lines, numbers and times."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from connectors.edifact import read_interchange, write_interchange
from connectors.edifact.syntax import (
    Separators,
    format_decimal,
    format_time,
    parse_decimal,
    parse_time,
    render,
    tokenize,
)
from schemas.models import Classifier, Facility, Operation, VesselEvent
from tests.unit.edifact import PUBLISHED

# A BERMAN with UNA-announced separators: ^ components, | elements, ! release, ~ terminator, and
# a comma decimal mark. The vessel name holds the default separators (plain here) and escaped
# ones of this UNA.
CUSTOM_UNA = (
    "UNA^|,! ~"
    "UNB|UNOC^3|AGENCY|PORTHUBLAC|260307^2215|REF77~"
    "UNH|1|BERMAN^D^00B^UN~"
    "BGM||BM-1|9~"
    "TDT|20|V1|1|||||9345673^146^11^O'HIGGINS + SONS: !|!^!~!!~"
    "RFF|VON^COCTG-7~"
    "MEA|AAE|LN|MTR^255,4~"
    "LOC|153|COCTG^139^6~"
    "DTM|178^202603071742^203~"
    "UNT|8|1~"
    "UNZ|1|REF77~"
)


def test_una_with_other_separators_and_release_character() -> None:
    result = read_interchange(CUSTOM_UNA, published_at=PUBLISHED)

    assert result.problem_lines() == []
    (event,) = result.events
    assert isinstance(event, VesselEvent)
    assert event.vessel_name == "O'HIGGINS + SONS: |^~!"
    assert event.loa_m == 255.4
    assert (event.port_call_id, event.imo, event.port) == ("COCTG-7", "9345673", "COCTG")


def test_without_una_the_defaults_apply() -> None:
    text = CUSTOM_UNA.removeprefix("UNA^|,! ~")
    default = text.replace("|", "+").replace("^", ":").replace("~", "'").replace("!+!:!'!!", "")
    default = default.replace("O'HIGGINS + SONS: ", "O?'HIGGINS ?+ SONS?: ")
    result = read_interchange(default, published_at=PUBLISHED)

    assert result.problem_lines() == []
    first = result.events[0]
    assert isinstance(first, VesselEvent)
    assert first.vessel_name == "O'HIGGINS + SONS: "


def test_writing_escapes_separators_and_release_character() -> None:
    event = VesselEvent(
        event_id=uuid.UUID("00000000-0000-0000-0000-000000000001"),
        occurred_at=datetime(2026, 3, 7, 17, 42, tzinfo=UTC),
        published_at=PUBLISHED,
        port="COCTG",
        port_call_id="COCTG+1",
        imo="9345673",
        classifier=Classifier.ACT,
        operation=Operation.ARRI,
        facility=Facility.PORT,
        vessel_name="CAP D'ANTIFER + SONS: 100? ",
    )
    text = write_interchange(
        [event], sender="HUB", recipient="X", reference="R1", prepared_at=PUBLISHED
    )

    assert "9345673:146:11:CAP D?'ANTIFER ?+ SONS?: 100?? '" in text
    assert "RFF+VON:COCTG?+1'" in text
    (read,) = read_interchange(text, published_at=PUBLISHED).events
    assert isinstance(read, VesselEvent)
    assert read.vessel_name == event.vessel_name


def test_written_interchange_is_one_segment_per_line_after_una() -> None:
    text = render([("UNB", [["UNOC", "3"], "A", "B"]), ("UNZ", ["0", "R", "", ""])])
    assert text == "UNA:+.? '\nUNB+UNOC:3+A+B'\nUNZ+0+R'\n"


def test_line_numbers_with_one_segment_per_line_and_with_none() -> None:
    lines = "UNA:+.? '\r\nUNB+UNOC:3+A+B+260301:1200+R'\r\n\r\nUNH+1+X'\r\n  UNT+2+1'\r\nUNZ+1+R'"
    assert [(s.tag, s.line) for s in tokenize(lines).segments] == [
        ("UNB", 2),
        ("UNH", 4),
        ("UNT", 5),
        ("UNZ", 6),
    ]
    flat = lines.replace("\r\n", "")
    assert {s.line for s in tokenize(flat).segments} == {1}


def test_segment_offsets_cut_out_the_text() -> None:
    text = "UNB+UNOC:3+A+B+260301:1200+R'\nUNH+1+X:D:95B:UN'\nUNT+2+1'\nUNZ+1+R'\n"
    unh = tokenize(text).segments[1]
    assert text[unh.start : unh.end] == "UNH+1+X:D:95B:UN'"


def test_trailing_empty_components_are_kept() -> None:
    (segment,) = tokenize("LOC+153+COCTG:139:6+:ANC:ZZZ+'").segments
    assert segment.elements == (("153",), ("COCTG", "139", "6"), ("", "ANC", "ZZZ"), ("",))
    assert segment.component(2, 1) == "ANC" and segment.component(9, 9) == ""


def test_text_ending_inside_a_segment() -> None:
    tokenized = tokenize("UNB+UNOC:3+A+B+260301:1200+R'\nUNH+1+COARRI'\nEQD+CN+MSCU71")
    assert [s.tag for s in tokenized.segments] == ["UNB", "UNH"]
    assert (tokenized.truncated_at, tokenized.error) == (3, None)


def test_bad_una_is_a_syntax_error() -> None:
    line, reason = tokenize("UNA::.? 'UNB+X'").error or (0, "")
    assert line == 1 and "repeat a separator" in reason
    assert "decimal mark" in (tokenize("UNA:+;? 'UNB+X'").error or (0, ""))[1]


def test_numbers() -> None:
    assert parse_decimal("61300,50") == Decimal("61300.50")
    assert str(parse_decimal("0.001")) == "0.001"
    assert parse_decimal("-5") == Decimal(-5)
    for bad in ("", "1e5", "1.000.000", "12 500", "abc", "."):
        with pytest.raises(ValueError):
            parse_decimal(bad)
    assert format_decimal(Decimal("1E+2")) == "100"
    assert format_decimal(Decimal("12345.60")) == "12345.60"
    assert format_decimal(299.95) == "299.95"
    assert format_decimal(1e-05) == "0.00001"


def test_times() -> None:
    assert parse_time("202603020214", "203") == datetime(2026, 3, 2, 2, 14, tzinfo=UTC)
    assert parse_time("20260302022731", "204") == datetime(2026, 3, 2, 2, 27, 31, tzinfo=UTC)
    assert parse_time("20260302022731,5", "204") == datetime(
        2026, 3, 2, 2, 27, 31, 500000, tzinfo=UTC
    )
    for value, code in (("20260302", "102"), ("2026030202", "203"), ("202603020214.5", "203")):
        with pytest.raises(ValueError):
            parse_time(value, code)
    assert format_time(datetime(2026, 3, 2, 2, 14, tzinfo=UTC)) == ("202603020214", "203")
    assert format_time(datetime(2026, 3, 2, 2, 14, 5, tzinfo=UTC)) == ("20260302021405", "204")
    assert format_time(datetime(2026, 3, 2, 2, 14, 5, 120000, tzinfo=UTC)) == (
        "20260302021405.120",
        "204",
    )


def test_separators_round_trip_through_una() -> None:
    separators = Separators.from_una("^|,! ~")
    assert separators.una == "UNA^|,! ~"
    assert Separators.from_una(":+.? '") == Separators()
