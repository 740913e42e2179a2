"""The 21 sections of the Harmonized System and the chapters each holds, for trade by sector.

Source: World Customs Organization, *Harmonized Commodity Description and Coding System*, 2022
edition (HS 2022), the nomenclature's table of contents (Sections I to XXI, Chapters 1 to 97;
https://www.wcoomd.org/en/topics/nomenclature/instrument-and-tools/hs-nomenclature-2022-edition.aspx).
The section boundaries have not moved since HS 1988; HS 2022 only reworded some titles (Section
III "microbial" fats, Section IV nicotine products), given here in HS 2022's words, shortened.

Chapter 77 is reserved by the Convention for a future use and Chapters 98 and 99 for the
contracting parties' national use: no goods are classified in them under the HS itself, so a
code in them (or in the non-chapter 00) has neither a section nor a chapter here.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

__all__ = ["HS_SECTIONS", "HsSection", "hs_chapter", "hs_section"]


@dataclass(frozen=True, slots=True)
class HsSection:
    """One section of the HS: the chapters ``first`` to ``last``, both included."""

    number: str
    """Roman numeral, upper case as in the nomenclature: ``"XVI"``."""
    first: int
    last: int
    title: str


# fmt: off
HS_SECTIONS: Final[tuple[HsSection, ...]] = (
    HsSection("I", 1, 5, "Live animals; animal products"),
    HsSection("II", 6, 14, "Vegetable products"),
    HsSection("III", 15, 15, "Animal, vegetable or microbial fats and oils; prepared edible "
              "fats; waxes"),
    HsSection("IV", 16, 24, "Prepared foodstuffs; beverages, spirits and vinegar; tobacco and "
              "nicotine products"),
    HsSection("V", 25, 27, "Mineral products"),
    HsSection("VI", 28, 38, "Products of the chemical or allied industries"),
    HsSection("VII", 39, 40, "Plastics and articles thereof; rubber and articles thereof"),
    HsSection("VIII", 41, 43, "Raw hides and skins, leather, furskins and articles thereof; "
              "travel goods, handbags"),
    HsSection("IX", 44, 46, "Wood and articles of wood; cork; manufactures of straw; "
              "basketware"),
    HsSection("X", 47, 49, "Pulp of wood; recovered paper; paper and paperboard and articles "
              "thereof"),
    HsSection("XI", 50, 63, "Textiles and textile articles"),
    HsSection("XII", 64, 67, "Footwear, headgear, umbrellas; prepared feathers; artificial "
              "flowers"),
    HsSection("XIII", 68, 70, "Articles of stone, plaster, cement, asbestos, mica; ceramic "
              "products; glass"),
    HsSection("XIV", 71, 71, "Pearls, precious stones, precious metals and articles thereof; "
              "imitation jewellery; coin"),
    HsSection("XV", 72, 83, "Base metals and articles of base metal"),
    HsSection("XVI", 84, 85, "Machinery and mechanical appliances; electrical equipment; "
              "parts thereof"),
    HsSection("XVII", 86, 89, "Vehicles, aircraft, vessels and associated transport "
              "equipment"),
    HsSection("XVIII", 90, 92, "Optical, photographic, measuring, medical instruments; clocks "
              "and watches; musical instruments"),
    HsSection("XIX", 93, 93, "Arms and ammunition; parts and accessories thereof"),
    HsSection("XX", 94, 96, "Miscellaneous manufactured articles"),
    HsSection("XXI", 97, 97, "Works of art, collectors' pieces and antiques"),
)
# fmt: on
"""The sections in order; together they cover Chapters 1 to 97 without a gap or overlap."""

_RESERVED_CHAPTERS: Final = frozenset({77})
"""Within a section's range but without goods (HS 2022: "reserved for possible future use")."""

_SECTION_OF_CHAPTER: Final = MappingProxyType(
    {
        chapter: section
        for section in HS_SECTIONS
        for chapter in range(section.first, section.last + 1)
        if chapter not in _RESERVED_CHAPTERS
    }
)


def hs_chapter(hs_code: str | None) -> str | None:
    """The two-digit chapter of an HS code (``"847130"`` → ``"84"``); None when there is no
    code, or its first two digits are not a chapter of the HS (00, 77, 98, 99)."""
    chapter = (hs_code or "")[:2]
    if len(chapter) < 2 or not (chapter.isascii() and chapter.isdigit()):
        return None
    return chapter if int(chapter) in _SECTION_OF_CHAPTER else None


def hs_section(chapter: str) -> HsSection:
    """The section of a chapter :func:`hs_chapter` gave (``"84"`` → Section XVI).

    Raises:
        KeyError: ``chapter`` is not a chapter of the HS.
    """
    return _SECTION_OF_CHAPTER[int(chapter)]
