"""How much traffic each reference port sees, and what it carries: the traffic generator's inputs.

Two kinds of parameters, both plain data:

- **Traffic profiles.** A :class:`TrafficProfile` per port: how often vessels call, how many
  container moves a call makes, how many berths there are, how often and how long vessels are
  held at anchorage (congestion, tides, berth windows), and which share of the boxes is
  transshipment. Defaults by port size (:data:`DEFAULT_PROFILES`), the size of each reference
  port (:data:`PORT_SIZES`, unknown ports count as medium) and hand-set profiles for the large
  hubs (:data:`HUB_PROFILES`). The figures are order-of-magnitude public ones (annual TEU,
  transshipment share, berth counts), not a terminal's operating data.
- **Trade.** The goods that travel in containers (:data:`GOODS`, HS 2022 subheadings), the
  partners outside the region (:data:`OUTSIDE_PARTNERS`), the share of trade kept within the
  region (:data:`INTRA_REGIONAL_SHARE`), and the ALADI agreements under which a certificate of
  origin can be invoked between two countries (:func:`agreement_between`).

At scale 1 the bundled 28 ports make roughly 110 calls and 110,000 container moves a day: the
order of the region's ~55 million TEU a year (SPEC, ARCHITECTURE "Scale to plan for").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Final

__all__ = [
    "AGREEMENTS",
    "DEFAULT_PROFILES",
    "GOODS",
    "HUB_PROFILES",
    "INTRA_REGIONAL_SHARE",
    "OUTSIDE_PARTNERS",
    "OUTSIDE_PORTS",
    "PORT_SIZES",
    "Goods",
    "PortSize",
    "TrafficProfile",
    "agreement_between",
    "goods_of",
    "profile_for",
]


class PortSize(StrEnum):
    """Size class of a container port, by annual throughput."""

    SMALL = "SMALL"
    """Under ~0.5 million TEU a year: a call a day or less, feeder and regional ships."""
    MEDIUM = "MEDIUM"
    """~0.5-2 million TEU a year."""
    LARGE = "LARGE"
    """Over ~2 million TEU a year: a call every few hours, mainline ships."""


@dataclass(frozen=True, slots=True)
class TrafficProfile:
    """The traffic of one port, at scale 1.

    Args:
        size: size class (also sets how large the ships that call are allowed to be).
        mean_hours_between_calls: mean gap between two vessel arrivals (Poisson arrivals).
        moves_per_call: the (smallest, largest) number of DISC + LOAD + RSTW moves of a call;
            bigger ships make bigger calls within that range. The generator's ``scale``
            multiplies it.
        berths: container berths; a call waits (at anchorage) while all are taken. The ports
            file's ``berths`` column, which berth occupancy is measured against, replaces it.
        anchorage_share: share of calls held at anchorage for reasons other than a busy berth
            (congestion at the gate or yard, tides, pilots, berth windows).
        anchorage_mean_h: mean of that hold, in hours (exponentially distributed).
        transshipment_share: share of discharged and loaded boxes that are transshipment.
        crane_moves_per_hour: gross moves per hour of one ship-to-shore crane.
    """

    size: PortSize
    mean_hours_between_calls: float
    moves_per_call: tuple[int, int]
    berths: int
    anchorage_share: float
    anchorage_mean_h: float
    transshipment_share: float
    crane_moves_per_hour: float = 25.0

    def __post_init__(self) -> None:
        low, high = self.moves_per_call
        problems = [
            f"{name}: {value}"
            for name, value, valid in (
                ("mean_hours_between_calls", self.mean_hours_between_calls,
                 self.mean_hours_between_calls > 0),
                ("moves_per_call", self.moves_per_call, 1 <= low <= high),
                ("berths", self.berths, self.berths >= 1),
                ("anchorage_share", self.anchorage_share, 0 <= self.anchorage_share <= 1),
                ("anchorage_mean_h", self.anchorage_mean_h, self.anchorage_mean_h >= 0),
                ("transshipment_share", self.transshipment_share,
                 0 <= self.transshipment_share < 1),
                ("crane_moves_per_hour", self.crane_moves_per_hour,
                 self.crane_moves_per_hour > 0),
            )
            if not valid
        ]  # fmt: skip
        if problems:
            raise ValueError(f"invalid traffic profile: {'; '.join(problems)}")


DEFAULT_PROFILES: Final[Mapping[PortSize, TrafficProfile]] = {
    # ~1 call a day of 100-500 moves: ~0.15 million TEU a year; berths ~25% occupied.
    PortSize.SMALL: TrafficProfile(
        size=PortSize.SMALL,
        mean_hours_between_calls=20.0,
        moves_per_call=(100, 500),
        berths=2,
        anchorage_share=0.15,
        anchorage_mean_h=6.0,
        transshipment_share=0.02,
    ),
    # ~3 calls a day of 300-1,300 moves: ~1.2 million TEU a year; berths ~55% occupied.
    PortSize.MEDIUM: TrafficProfile(
        size=PortSize.MEDIUM,
        mean_hours_between_calls=8.0,
        moves_per_call=(300, 1_300),
        berths=3,
        anchorage_share=0.25,
        anchorage_mean_h=8.0,
        transshipment_share=0.10,
    ),
    # ~8 calls a day of 700-2,600 moves: ~4 million TEU a year; berths ~70% occupied.
    PortSize.LARGE: TrafficProfile(
        size=PortSize.LARGE,
        mean_hours_between_calls=3.0,
        moves_per_call=(700, 2_600),
        berths=9,
        anchorage_share=0.35,
        anchorage_mean_h=10.0,
        transshipment_share=0.30,
    ),
}
"""The profile of a port of each size, unless :data:`HUB_PROFILES` has its own."""

PORT_SIZES: Final[Mapping[str, PortSize]] = {
    **dict.fromkeys(("PAMIT", "PABLB", "BRSSZ", "MXZLO", "COCTG", "PECLL"), PortSize.LARGE),
    **dict.fromkeys(("COBAQ", "PEPAI", "DOHAI", "TTPOS", "TTPTS", "CRCAL"), PortSize.SMALL),
}
"""Size of the reference ports that are not medium (the default for any other port)."""

_LARGE = DEFAULT_PROFILES[PortSize.LARGE]
_MEDIUM = DEFAULT_PROFILES[PortSize.MEDIUM]

HUB_PROFILES: Final[Mapping[str, TrafficProfile]] = {
    # Colón (MIT) and Balboa: Panama Canal relay hubs, mostly ship-to-ship transshipment.
    "PAMIT": replace(_LARGE, mean_hours_between_calls=3.5, moves_per_call=(800, 3_000),
                     transshipment_share=0.85),
    "PABLB": replace(_LARGE, mean_hours_between_calls=3.5, moves_per_call=(800, 3_000),
                     anchorage_share=0.25, transshipment_share=0.90),
    # Santos: the region's largest gateway, little transshipment, chronic berth congestion.
    "BRSSZ": replace(_LARGE, mean_hours_between_calls=2.5, anchorage_share=0.50,
                     anchorage_mean_h=18.0, transshipment_share=0.05),
    # Manzanillo (MX): Pacific gateway to central Mexico, some relay cargo.
    "MXZLO": replace(_LARGE, mean_hours_between_calls=3.5, transshipment_share=0.20),
    # Cartagena: Caribbean hub, more transshipment than import/export.
    "COCTG": replace(_LARGE, anchorage_share=0.25, transshipment_share=0.60),
    # Callao: Peru's gateway, some feedering to the west coast.
    "PECLL": replace(_LARGE, mean_hours_between_calls=4.0, transshipment_share=0.20),
    # Medium-sized transshipment hubs of the Caribbean.
    "PAONX": replace(_MEDIUM, transshipment_share=0.80),
    "JMKIN": replace(_MEDIUM, transshipment_share=0.85),
    "DOCAU": replace(_MEDIUM, transshipment_share=0.70),
}  # fmt: skip
"""Hand-set profiles of the large hubs (and the Caribbean's medium transshipment hubs). Their
berth counts are in the ports file (``hub/domain/reference/ports.csv``)."""


def profile_for(unlocode: str) -> TrafficProfile:
    """The traffic profile of the port ``unlocode``: its own, else its size's default."""
    hub = HUB_PROFILES.get(unlocode)
    if hub is not None:
        return hub
    return DEFAULT_PROFILES[PORT_SIZES.get(unlocode, PortSize.MEDIUM)]


# --- trade ------------------------------------------------------------------------------------

INTRA_REGIONAL_SHARE: Final = 0.6
"""Share of imports from, and exports to, another country of the region (the rest is outside).

Higher than the region's real ~15-20%: the generated data is there to exercise the regional
indicators (intra-regional share, introversion), which need substantial flows on both sides.
"""

OUTSIDE_PARTNERS: Final[tuple[tuple[str, float], ...]] = (
    ("CN", 0.32), ("US", 0.30), ("ES", 0.07), ("DE", 0.06), ("IN", 0.06),
    ("NL", 0.05), ("JP", 0.05), ("KR", 0.05), ("CA", 0.04),
)  # fmt: skip
"""Trade partners outside the region, with their weight among outside trade."""

OUTSIDE_PORTS: Final[tuple[str, ...]] = (
    "USHOU", "USSAV", "USMIA", "USLAX", "CNSHA", "CNNGB", "KRPUS", "ESALG", "ESVLC", "NLRTM",
    "DEHAM", "JPYOK",
)  # fmt: skip
"""Ports outside the region that liner services call before or after the region."""


@dataclass(frozen=True, slots=True)
class Goods:
    """A kind of containerised goods.

    Args:
        hs_code: HS 2022 subheading (6 digits).
        description: short description, as on a declaration's goods line.
        unit: unit of quantity on a declaration (UN/ECE Rec. 20: KGM kilogram, NAR number of
            articles, LTR litre).
        kg_per_unit: kilograms per unit of quantity (1 for KGM).
        usd_per_kg: range of customs value, US dollars per kilogram.
        tonnes_per_teu: range of cargo weight in a 20-foot box (a 40-foot box carries 1.3 times).
        producers: the countries that ship it in containers (ISO 3166 alpha-2).
        reefer: travels in a refrigerated box (22R1).
    """

    hs_code: str
    description: str
    unit: str
    kg_per_unit: float
    usd_per_kg: tuple[float, float]
    tonnes_per_teu: tuple[float, float]
    producers: tuple[str, ...]
    reefer: bool = False


def _countries(codes: str) -> tuple[str, ...]:
    return tuple(codes.split())


GOODS: Final[tuple[Goods, ...]] = (
    # Produce of the region (and of a few partners outside it).
    Goods("080390", "Bananas, fresh", "KGM", 1, (0.5, 0.9), (18, 21),
          _countries("EC CO CR GT PA DO"), reefer=True),
    Goods("080440", "Avocados, fresh", "KGM", 1, (1.8, 3.0), (16, 20),
          _countries("MX PE CL CO"), reefer=True),
    Goods("080610", "Grapes, fresh", "KGM", 1, (1.5, 3.0), (16, 20),
          _countries("CL PE"), reefer=True),
    Goods("030617", "Shrimps and prawns, frozen", "KGM", 1, (5.0, 9.0), (18, 22),
          _countries("EC MX IN"), reefer=True),
    Goods("020230", "Bovine meat, boneless, frozen", "KGM", 1, (4.0, 7.0), (18, 22),
          _countries("BR AR UY US"), reefer=True),
    Goods("020714", "Chicken cuts, frozen", "KGM", 1, (1.5, 2.5), (18, 22),
          _countries("BR US AR"), reefer=True),
    Goods("090111", "Coffee, not roasted, not decaffeinated", "KGM", 1, (3.0, 6.0), (17, 21),
          _countries("BR CO PE GT CR MX")),
    Goods("180100", "Cocoa beans, raw", "KGM", 1, (2.5, 4.0), (16, 20),
          _countries("EC DO PE")),
    Goods("170114", "Raw cane sugar", "KGM", 1, (0.35, 0.55), (20, 24),
          _countries("BR GT MX CO DO JM")),
    Goods("220840", "Rum and other spirits of sugar cane", "LTR", 1.4, (4.0, 12.0), (14, 18),
          _countries("JM DO TT GT PA")),
    Goods("120190", "Soya beans", "KGM", 1, (0.4, 0.6), (20, 24), _countries("BR AR UY US")),
    Goods("100199", "Wheat", "KGM", 1, (0.25, 0.35), (20, 24), _countries("AR US CA")),
    Goods("220421", "Wine in containers of 2 l or less", "LTR", 1.3, (3.0, 8.0), (14, 18),
          _countries("CL AR ES")),
    Goods("440710", "Sawn coniferous wood", "KGM", 1, (0.3, 0.6), (16, 22),
          _countries("CL BR UY CA")),
    Goods("470321", "Bleached coniferous chemical wood pulp", "KGM", 1, (0.6, 0.9), (20, 24),
          _countries("BR CL UY")),
    Goods("740311", "Refined copper cathodes", "KGM", 1, (8.0, 10.0), (20, 24),
          _countries("CL PE MX")),
    Goods("260300", "Copper ores and concentrates", "KGM", 1, (1.5, 3.0), (20, 24),
          _countries("CL PE MX")),
    Goods("151190", "Palm oil, refined", "KGM", 1, (0.8, 1.1), (18, 22),
          _countries("CO GT EC CR")),
    # Manufactures, mostly from outside the region.
    Goods("390110", "Polyethylene, density below 0.94", "KGM", 1, (1.0, 1.5), (16, 20),
          _countries("US MX BR TT CO KR DE")),
    Goods("870323", "Passenger cars, 1,500-3,000 cc", "NAR", 1_400, (12.0, 25.0), (2.5, 4.5),
          _countries("MX BR AR JP KR DE US CN")),
    Goods("870899", "Parts of motor vehicles", "KGM", 1, (5.0, 12.0), (8, 16),
          _countries("MX BR US DE JP CN KR")),
    Goods("847130", "Portable computers", "NAR", 2.5, (150.0, 400.0), (2, 5),
          _countries("CN KR JP US MX")),
    Goods("851713", "Smartphones", "NAR", 0.3, (600.0, 1_200.0), (1, 3),
          _countries("CN KR IN US BR")),
    Goods("852872", "Television receivers", "NAR", 15, (15.0, 30.0), (4, 7),
          _countries("MX CN KR")),
    Goods("401110", "New pneumatic tyres, for cars", "NAR", 9, (4.0, 8.0), (6, 10),
          _countries("CN KR JP US BR MX")),
    Goods("620462", "Women's trousers of cotton", "NAR", 0.5, (15.0, 30.0), (4, 8),
          _countries("CN IN GT PE CO DO")),
    Goods("640399", "Footwear with leather uppers", "NAR", 1, (20.0, 40.0), (4, 7),
          _countries("CN BR IN ES")),
    Goods("940360", "Wooden furniture", "KGM", 1, (3.0, 6.0), (5, 9),
          _countries("CN BR MX US DE")),
    Goods("730890", "Structures of iron or steel", "KGM", 1, (1.2, 2.5), (10, 20),
          _countries("CN ES DE MX BR")),
    Goods("300490", "Medicaments, in doses", "KGM", 1, (40.0, 150.0), (3, 8),
          _countries("DE US IN ES NL MX AR BR CO")),
    Goods("901839", "Catheters, cannulae and similar medical instruments", "KGM", 1,
          (60.0, 200.0), (2, 5), _countries("CR MX US DE")),
    Goods("841510", "Air conditioning machines, window or wall", "NAR", 40, (6.0, 10.0),
          (5, 8), _countries("CN KR JP MX US")),
    Goods("310520", "Fertilisers with nitrogen, phosphorus and potassium", "KGM", 1,
          (0.4, 0.7), (20, 24), _countries("US CA NL DE TT CN")),
)  # fmt: skip
"""Goods in the generated containers; a consignment carries goods its origin produces."""


def goods_of(country: str) -> tuple[Goods, ...]:
    """The goods ``country`` ships in containers (all of them for a country not listed)."""
    produced = tuple(goods for goods in GOODS if country in goods.producers)
    return produced or GOODS


_MERCOSUR = ("AR", "BR", "UY")
_CAN = ("CO", "EC", "PE")

AGREEMENTS: Final[Mapping[frozenset[str], str]] = {
    # Within MERCOSUR (ACE 18) and the Andean Community (Decision 416).
    **{frozenset((a, b)): "A18" for a in _MERCOSUR for b in _MERCOSUR if a < b},
    **{frozenset((a, b)): "CA01" for a in _CAN for b in _CAN if a < b},
    # MERCOSUR with Colombia and Ecuador (ACE 59), Peru (ACE 58), Chile (ACE 35).
    **{frozenset((a, b)): "A59" for a in _MERCOSUR for b in ("CO", "EC")},
    **{frozenset((a, "PE")): "A58" for a in _MERCOSUR},
    **{frozenset((a, "CL")): "A35" for a in _MERCOSUR},
    # Bilateral agreements of Chile and Mexico.
    frozenset(("CL", "CO")): "A24",
    frozenset(("CL", "EC")): "A65",
    frozenset(("CL", "PE")): "A38",
    frozenset(("CL", "MX")): "A41",
    frozenset(("CO", "MX")): "A33",
    frozenset(("PE", "MX")): "A08",
    frozenset(("EC", "MX")): "A29",
    frozenset(("AR", "MX")): "A06",
    frozenset(("BR", "MX")): "A53",
    frozenset(("UY", "MX")): "A60",
}
"""The ALADI agreement (ACE number, ``CA`` for the Andean Community) between two countries."""


def agreement_between(exporting: str, importing: str) -> str | None:
    """The agreement under which goods of ``exporting`` enter ``importing`` with a certificate
    of origin, or None when the two have none (or are the same country)."""
    return AGREEMENTS.get(frozenset((exporting, importing)))
