"""CONTRL and APERAK: what the hub answers an EDIFACT sender, read back by the hub's own reader."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.edifact import InterchangeResult, read_interchange
from connectors.edifact.acknowledgements import (
    Acknowledgements,
    MessageVerdict,
    acknowledge,
    refusal,
)
from connectors.edifact.syntax import Segment, tokenize
from tests.unit.edifact import PUBLISHED, fixture

ANSWERED_AT = datetime(2026, 3, 20, 12, 30, tzinfo=UTC)


def references() -> Callable[[], str]:
    counter = itertools.count(1)
    return lambda: f"ACK{next(counter):04d}"


def answer(result: InterchangeResult, **refused: str) -> Acknowledgements:
    """The acknowledgements of ``result``; ``refused`` maps a message reference to the reason
    the hub's checks refused it for."""
    verdicts = [
        MessageVerdict(
            message,
            (refusal(message, refused[message.message_ref], "refused by the hub"),)
            if message.message_ref in refused
            else (),
        )
        for message in result.messages
    ]
    acknowledgements = acknowledge(
        result, verdicts, prepared_at=ANSWERED_AT, new_reference=references()
    )
    assert acknowledgements is not None
    return acknowledgements


def segments(text: str) -> list[Segment]:
    """The segments of one acknowledgement, which must be a sound interchange."""
    tokenized = tokenize(text)
    assert tokenized.error is None and tokenized.truncated_at is None, text
    read = read_interchange(text, published_at=PUBLISHED)
    assert read.accepted, read.problem_lines()  # UNB, UNZ count and reference are right
    (message,) = read.messages
    # The only problem the hub's reader has with it: it does not read CONTRL or APERAK.
    assert [p.reason.startswith("message type") for p in message.problems] == [True], text
    return list(tokenized.segments)


def tagged(found: list[Segment], tag: str) -> list[Segment]:
    return [segment for segment in found if segment.tag == tag]


def test_a_clean_interchange_gets_a_contrl_accepting_it_and_each_message() -> None:
    original = read_interchange(fixture("coarri_callao.edi"), published_at=PUBLISHED)
    assert original.accepted and original.messages
    acknowledgements = answer(original)
    assert acknowledgements.aperaks == ()
    found = segments(acknowledgements.contrl)
    unb, unh, uci = found[0], found[1], found[2]
    assert unh.element(1) == ("CONTRL", "D", "3", "UN")
    # Addressed back: the original's recipient sends, its sender receives; a fresh reference.
    assert original.header is not None
    assert unb.element(1) == original.header.element(2)
    assert unb.element(2) == original.header.element(1)
    assert unb.component(4) == "ACK0001" != original.reference
    assert unb.component(3) == "260320" and unb.component(3, 1) == "1230"
    assert uci.tag == "UCI" and uci.component(0) == original.reference
    assert uci.element(1) == original.header.element(1) and uci.component(3) == "7"
    ucms = tagged(found, "UCM")
    assert [(u.component(0), u.component(2)) for u in ucms] == [
        (message.message_ref, "7") for message in original.messages
    ]
    assert ucms[0].element(1) == original.messages[0].identifier
    assert not tagged(found, "UCS")


def test_a_wrong_unt_count_is_rejected_naming_the_segment_position_and_element() -> None:
    original = read_interchange(fixture("bad_unt_count.edi"), published_at=PUBLISHED)
    found = segments(answer(original).contrl)
    assert tagged(found, "UCI")[0].component(3) == "7"  # the envelope is sound
    first, second = tagged(found, "UCM")
    assert first.component(2) == "7"
    # UCM: rejected (4), control count does not match (29), in UNT's segment count (element 2).
    assert second.elements[2:] == (("4",), ("29",), ("UNT",), ("2",))
    # UCS: the 9th segment of the message (UNH is 1) is UNT, the one at fault.
    assert [u.elements for u in tagged(found, "UCS")] == [(("9",), ("29",))]
    assert [u.elements for u in tagged(found, "UCD")] == [(("29",), ("2",))]
    assert answer(original).aperaks == ()  # a syntax problem: CONTRL says it all


def test_an_unknown_qualifier_gets_an_aperak_naming_segment_tag_and_line() -> None:
    original = read_interchange(fixture("unknown_qualifier.edi"), published_at=PUBLISHED)
    refused = original.rejected_messages[0]
    acknowledgements = answer(original)
    contrl = segments(acknowledgements.contrl)
    assert [u.component(2) for u in tagged(contrl, "UCM")] == ["7", "7"]  # the syntax is sound
    (aperak,) = acknowledgements.aperaks
    found = segments(aperak)
    assert found[1].element(1) == ("APERAK", "D", "96A", "UN")
    assert found[2].elements == (("313",), ("ACK0002",), ("27",))
    assert ("ACW", refused.message_ref) in [r.element(0) for r in tagged(found, "RFF")]
    assert [e.component(0) for e in tagged(found, "ERC")] == ["14", "14"]
    texts = ["".join(f.element(3)) for f in tagged(found, "FTX")]
    assert all(f.component(0) == "AAO" for f in tagged(found, "FTX"))
    assert "segment EQD (position 6), line 18: unknown full/empty indicator (8169) '7'" in texts[0]
    assert texts[1].startswith("segment DTM (position 7), line 19: unknown date/time qualifier")


def test_a_message_the_hubs_checks_refuse_gets_an_aperak_with_the_reason() -> None:
    original = read_interchange(fixture("codeco_santos.edi"), published_at=PUBLISHED)
    first = original.messages[0]
    acknowledgements = answer(original, **{first.message_ref: "PORT_NOT_OWNED"})
    (aperak,) = acknowledgements.aperaks
    found = segments(aperak)
    assert [e.component(0) for e in tagged(found, "ERC")] == ["17"]  # no agreement
    text = "".join(tagged(found, "FTX")[0].element(3))
    assert text.startswith(f"segment UNH (position 1), line {first.line}: PORT_NOT_OWNED")


def test_a_broken_envelope_is_rejected_in_uci_with_its_error_code() -> None:
    miscounted = read_interchange(fixture("bad_unz_count.edi"), published_at=PUBLISHED)
    found = segments(answer(miscounted).contrl)
    (uci,) = tagged(found, "UCI")
    assert uci.component(0) == "CTG260311001"
    assert uci.elements[3:] == (("4",), ("29",), ("UNZ",), ("2",))
    assert not tagged(found, "UCM")  # nothing in it was read

    truncated = read_interchange(fixture("truncated.edi"), published_at=PUBLISHED)
    (uci,) = tagged(segments(answer(truncated).contrl), "UCI")
    assert uci.component(3) == "4" and uci.component(4) == "13"  # missing


def test_a_text_without_unb_gets_no_acknowledgement() -> None:
    for text in ("", "\x00\x01\x02binary", "UNH+1+COARRI:D:95B:UN'"):
        result = read_interchange(text, published_at=PUBLISHED)
        assert acknowledge(result, [], prepared_at=ANSWERED_AT, new_reference=references()) is None


def test_hostile_text_is_escaped_cleaned_and_cut_and_reads_back() -> None:
    text = (
        "UNA:+.? '"
        "UNB+UNOC:3+A?'B?+C?:D??E?'\x00\ud800+HUB+260320:1200+R?'1'"
        "UNH+M?+1+COARRI:D:95B:UN'"
        f"BGM+98+{'X' * 5000}+9'"
        "LOC+11+PECLL:139:6'"
        "XYZ+???'?+?:\x00'"
        "DTM+?'?+?:??'"
        "UNT+6+M?+1'"
        "UNZ+1+R?'1'"
    )
    original = read_interchange(text, published_at=PUBLISHED)
    assert original.accepted and original.sender == "A'B+C:D?E'\x00\ud800"
    acknowledgements = answer(original)
    for answered in (acknowledgements.contrl, *acknowledgements.aperaks):
        answered.encode("latin-1")  # UNOC: nothing outside ISO 8859-1
    contrl = segments(acknowledgements.contrl)
    # The sender's id comes back exactly, but for what UNOC cannot carry (NUL, a surrogate).
    assert contrl[0].component(2) == "A'B+C:D?E'__"
    assert tagged(contrl, "UCI")[0].component(0) == "R'1"
    assert tagged(contrl, "UCM")[0].component(0) == "M+1"
    (aperak,) = acknowledgements.aperaks
    found = segments(aperak)
    assert ("ACW", "M+1") in [r.element(0) for r in tagged(found, "RFF")]
    texts = ["".join(f.element(3)) for f in tagged(found, "FTX")]
    assert any("segment XYZ (position 4), line 1" in t for t in texts), texts
    # A value quoted in a problem comes back with its separators intact.
    assert any("segment DTM (position 5), line 1: unknown" in t and "'+:?" in t for t in texts)
    for ftx in tagged(found, "FTX"):  # C108: at most five texts of 70 characters
        assert len(ftx.element(3)) <= 5 and all(len(part) <= 70 for part in ftx.element(3))


def test_a_giant_interchange_gets_a_bounded_answer() -> None:
    body = "".join(f"FTX+ZZZ++XXX+{i}'" for i in range(1500))
    text = (
        "UNB+UNOC:3+SENDER+HUB+260320:1200+BIG'"
        f"UNH+1+BERMAN:D:00B:UN'{body}UNT+{1500 + 2}+1'"
        "UNZ+1+BIG'"
    )
    original = read_interchange(text, published_at=PUBLISHED)
    assert len(original.messages[0].problems) >= 1500
    (aperak,) = answer(original).aperaks
    found = segments(aperak)
    assert len(tagged(found, "ERC")) == 1000  # 999 problems, then one saying how many more
    assert "more problems not listed" in "".join(tagged(found, "FTX")[-1].element(3))


_EDIFACT_CHARACTERS = st.sampled_from(list("UNBHTZ+:?' \n\x00\ud800é€ABC0123456789"))


@settings(max_examples=300, deadline=None)
@given(
    header=st.text(_EDIFACT_CHARACTERS, max_size=60),
    rest=st.text(_EDIFACT_CHARACTERS, max_size=200),
)
def test_any_text_gets_a_sound_answer_or_none(header: str, rest: str) -> None:
    for text in (f"UNB+{header}'{rest}", f"UNA:+.? 'UNB+UNOC:3+{header}+HUB+1:2+R'UNH+{rest}"):
        result = read_interchange(text, published_at=PUBLISHED)
        verdicts = [MessageVerdict(message) for message in result.messages]
        acknowledgements = acknowledge(
            result, verdicts, prepared_at=ANSWERED_AT, new_reference=references()
        )
        if acknowledgements is None:
            assert result.header is None
            continue
        for answered in (acknowledgements.contrl, *acknowledgements.aperaks):
            answered.encode("latin-1")
            segments(answered)
