"""The NMEA decoder: a realistic log decodes to the values put in it, and every bad line is
counted under its reason, never raised."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyais import encode_dict

from connectors.ais.nmea import NmeaDecoder, Partial, Position, Reject, StaticData
from connectors.ais.tracks import tag_block

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "ais" / "callao_sample.nmea"
T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)  # c:1772352000, the log's first tag block time
RECEIVED = datetime(2026, 3, 1, 8, 1, 30, tzinfo=UTC)


def at(seconds: int) -> datetime:
    return T0 + timedelta(seconds=seconds)


def decode_fixture() -> tuple[NmeaDecoder, list[Position | StaticData]]:
    decoder = NmeaDecoder()
    items: list[Position | StaticData] = []
    for line in FIXTURE.read_text(encoding="ascii").splitlines():
        items.extend(decoder.feed(line, received_at=RECEIVED))
    decoder.flush()
    return decoder, items


def test_the_fixture_log_gives_the_positions_and_static_data_put_in_it() -> None:
    _, items = decode_fixture()
    andes, tug, costa = "636019825", "352004711", "538009876"
    assert items == [
        StaticData(andes, "9321483", "ANDES TRADER", "D5AB7", at(0)),  # type 5, two sentences
        Position(andes, at(2), -12.0412, -77.315, 12.1),
        Position(tug, at(4), -12.0561, -77.1507, 0.2),  # type 18 (class B)
        Position(andes, at(12), -12.0418, -77.3093, 12.0),
        Position(andes, at(22), -12.0424, -77.3037, 11.8),
        Position(andes, at(32), -12.043, -77.2982, 11.5),  # type 3
        Position(tug, at(34), -12.0562, -77.1508, 0.1),
        Position(andes, at(52), -12.0442, -77.2876, None),  # speed 102.3: not available
        StaticData("248001234", None, "ISLA BREEZE", "9HA2941", at(60)),  # IMO 0
        Position(tug, at(62), -12.0562, -77.1508, 0.1),  # type 19
        Position(costa, at(64), -12.01, -77.24, 9.4),  # type 2
        Position(andes, at(72), -12.0448, -77.2825, 10.9),
        Position(andes, RECEIVED, -12.0454, -77.2775, 10.6),  # no tag block: receive time
    ]


def test_the_fixture_log_counts_each_rejected_line_under_its_reason() -> None:
    decoder, _ = decode_fixture()
    assert decoder.rejected == {
        Reject.ORPHAN_FRAGMENT: 1,  # a second part, seq 7, whose first never came
        Reject.UNSUPPORTED_TYPE: 1,  # a type 4 base station report
        Reject.INCOMPLETE_MULTIPART: 1,  # a first part, seq 5, whose second never came
        Reject.MALFORMED: 1,  # a line of text
        Reject.BAD_CHECKSUM: 1,
        Reject.POSITION_NOT_AVAILABLE: 1,  # lat 91, lon 181
        Reject.NOT_AIS: 1,  # a $GPGGA fix
    }
    assert decoder.partial == {Partial.SOG_NOT_AVAILABLE: 1, Partial.IMO_NOT_AVAILABLE: 1}
    # The reasons are plain strings for whoever exports the counts.
    assert decoder.rejected["bad_checksum"] == 1


# --- single reasons ---------------------------------------------------------------------------

Data = dict[str, str | int | float | bytes | bool]
POSITION: Data = {"type": 1, "mmsi": 636019825, "speed": 7.5, "lat": -12.05, "lon": -77.2}
STATIC: Data = {"type": 5, "mmsi": 636019825, "imo": 9321483, "callsign": "D5AB7", "shipname": "X"}


def sentences(data: Data, seq_id: int = 1) -> list[str]:
    return encode_dict(data, talker_id="AI", sentence_type="VDM", radio_channel="A", seq_id=seq_id)


def tagged(seconds: int, sentence: str) -> str:
    return tag_block(int(T0.timestamp()) + seconds) + sentence


def checksum(body: str) -> str:
    value = 0
    for char in body.encode():
        value ^= char
    return f"{value:02X}"


def test_a_line_without_any_time_is_rejected_rather_than_stamped_with_the_clock() -> None:
    decoder = NmeaDecoder()
    assert decoder.feed(sentences(POSITION)[0]) == []
    assert decoder.rejected == {Reject.NO_TIME: 1}


def test_a_naive_receive_time_is_utc_and_a_millisecond_tag_time_is_understood() -> None:
    decoder = NmeaDecoder()
    (naive,) = decoder.feed(sentences(POSITION)[0], received_at=datetime(2026, 3, 1, 8))
    assert naive.at == datetime(2026, 3, 1, 8, tzinfo=UTC)
    body = f"c:{int(T0.timestamp()) * 1000 + 250}"
    (millis,) = decoder.feed(f"\\{body}*{checksum(body)}\\" + sentences(POSITION)[0])
    assert millis.at == T0 + timedelta(milliseconds=250)


@pytest.mark.parametrize(
    "line",
    [
        "\\c:1772352000*00\\!AIVDM,1,1,,A,15?dLlgP1sJNVl1q6el00001P000,0*3C",  # tag checksum
        "\\c:1772352000*5E!AIVDM,1,1,,A,15?dLlgP1sJNVl1q6el00001P000,0*3C",  # unterminated
        f"\\c:soon*{checksum('c:soon')}\\!AIVDM,1,1,,A,15?dLlgP1sJNVl1q6el00001P000,0*3C",  # no number
        f"\\c:1000000000000000000*{checksum('c:1000000000000000000')}\\!AIVDM,1,1,,A,15?dLlgP1sJNVl1q6el00001P000,0*3C",
    ],
)
def test_a_bad_tag_block_is_rejected(line: str) -> None:
    decoder = NmeaDecoder()
    assert decoder.feed(line, received_at=RECEIVED) == []
    assert decoder.rejected == {Reject.BAD_TAG_BLOCK: 1}


def test_a_multipart_message_whose_rest_is_late_is_given_up() -> None:
    first, second = sentences(STATIC)
    decoder = NmeaDecoder()
    assert decoder.feed(tagged(0, first)) == []
    assert decoder.feed(tagged(11, sentences(POSITION)[0])) != []  # 11 s later: too late
    assert decoder.feed(tagged(11, second)) == []
    assert decoder.rejected == {Reject.INCOMPLETE_MULTIPART: 1, Reject.ORPHAN_FRAGMENT: 1}


def test_a_broken_sequence_gives_up_the_message_and_the_next_one_still_decodes() -> None:
    first, second = sentences(STATIC)
    decoder = NmeaDecoder()
    decoder.feed(tagged(0, first))
    (static,) = [*decoder.feed(tagged(0, first)), *decoder.feed(tagged(0, second))]
    assert isinstance(static, StaticData) and static.imo == "9321483"
    assert decoder.rejected == {Reject.INCOMPLETE_MULTIPART: 1}  # the first first part


def test_parts_of_messages_on_other_channels_or_sequence_ids_do_not_mix() -> None:
    a1, a2 = sentences(STATIC, seq_id=1)
    b1, b2 = sentences({**STATIC, "mmsi": 352004711, "imo": 9412347}, seq_id=2)
    decoder = NmeaDecoder()
    items = [item for line in (a1, b1, b2, a2) for item in decoder.feed(tagged(0, line))]
    assert [(i.mmsi, i.imo) for i in items if isinstance(i, StaticData)] == [
        ("352004711", "9412347"),
        ("636019825", "9321483"),
    ]
    assert not decoder.rejected


def test_a_wrong_imo_check_digit_keeps_the_names_but_not_the_imo() -> None:
    decoder = NmeaDecoder()
    items = [
        i for line in sentences({**STATIC, "imo": 9321484}) for i in decoder.feed(tagged(0, line))
    ]
    assert items == [StaticData("636019825", None, "X", "D5AB7", T0)]
    assert decoder.partial == {Partial.BAD_IMO: 1}


def test_an_mmsi_of_zero_and_a_short_payload_are_rejected() -> None:
    decoder = NmeaDecoder()
    decoder.feed(tagged(0, sentences({**POSITION, "mmsi": 0})[0]))
    short = "AIVDM,1,1,,A,15?dLlg,0"
    decoder.feed(tagged(0, f"!{short}*{checksum(short)}"))
    assert decoder.rejected == {Reject.BAD_MMSI: 1, Reject.UNDECODABLE: 1}


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=120))
def test_no_line_raises(line: str) -> None:
    decoder = NmeaDecoder()
    decoder.feed(line, received_at=RECEIVED)
    decoder.feed("\\c:1772352000*5E\\" + line)
    decoder.feed("!AIVDM,1,1,,A," + line)
