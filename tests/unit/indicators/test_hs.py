"""The HS sections and chapters, and the names of the trade indicators per section and chapter."""

from __future__ import annotations

import itertools

import pytest

from hub.domain.indicators.hs import HS_SECTIONS, hs_chapter, hs_section
from hub.domain.indicators.model import IndicatorName, hs_trade_indicator

# Every section's first and last chapter (HS 2022's table of contents), and one inside.
BOUNDARIES = [
    ("01", "I"), ("05", "I"), ("06", "II"), ("08", "II"), ("14", "II"), ("15", "III"),
    ("16", "IV"), ("24", "IV"), ("25", "V"), ("27", "V"), ("28", "VI"), ("38", "VI"),
    ("39", "VII"), ("40", "VII"), ("41", "VIII"), ("43", "VIII"), ("44", "IX"), ("46", "IX"),
    ("47", "X"), ("49", "X"), ("50", "XI"), ("63", "XI"), ("64", "XII"), ("67", "XII"),
    ("68", "XIII"), ("70", "XIII"), ("71", "XIV"), ("72", "XV"), ("76", "XV"), ("78", "XV"),
    ("83", "XV"), ("84", "XVI"), ("85", "XVI"), ("86", "XVII"), ("89", "XVII"),
    ("90", "XVIII"), ("92", "XVIII"), ("93", "XIX"), ("94", "XX"), ("96", "XX"),
    ("97", "XXI"),
]  # fmt: skip


@pytest.mark.parametrize(("chapter", "section"), BOUNDARIES)
def test_a_chapter_is_in_its_section(chapter: str, section: str) -> None:
    assert hs_chapter(chapter + "0000") == chapter
    assert hs_section(chapter).number == section


def test_the_21_sections_cover_chapters_1_to_97_in_order() -> None:
    assert [s.number for s in HS_SECTIONS][::5] == ["I", "VI", "XI", "XVI", "XXI"]
    assert len(HS_SECTIONS) == 21
    assert HS_SECTIONS[0].first == 1 and HS_SECTIONS[-1].last == 97
    for before, after in itertools.pairwise(HS_SECTIONS):
        assert after.first == before.last + 1


@pytest.mark.parametrize(
    "code", [None, "", "8", "000000", "770000", "980100", "990000", "٠٨٠٣٩٠", "ab1234"]
)
def test_a_code_outside_the_chapters_has_no_chapter(code: str | None) -> None:
    assert hs_chapter(code) is None


def test_the_chapter_is_the_first_two_digits_of_any_length() -> None:
    assert hs_chapter("0803900010") == "08"
    assert hs_chapter("851713") == "85"
    with pytest.raises(KeyError):
        hs_section("77")


def test_one_function_names_the_trade_indicators_per_section_and_chapter() -> None:
    share = IndicatorName.INTRA_REGIONAL_SHARE_VALUE_PCT
    assert hs_trade_indicator(share, "section", "XVI") == (
        "intra_regional_share_value_hs_section_xvi_pct"
    )
    assert hs_trade_indicator(IndicatorName.TRADE_INTROVERSION_TEU_INDEX, "chapter", "08") == (
        "trade_introversion_teu_hs_chapter_08_index"
    )
    assert hs_trade_indicator(IndicatorName.INTRA_REGIONAL_SHARE_TEU_PCT, "section", "I") == (
        "intra_regional_share_teu_hs_section_i_pct"
    )
    with pytest.raises(ValueError, match="not split"):
        hs_trade_indicator(IndicatorName.PORT_HOURS_H, "section", "I")
    with pytest.raises(ValueError, match="not an HS chapter"):
        hs_trade_indicator(share, "chapter", "8")
    with pytest.raises(ValueError, match="not an HS section"):
        hs_trade_indicator(share, "section", "xvi")
