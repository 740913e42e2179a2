"""The numbers of the traffic model: shares of the traffic, vocabularies and distributions."""

from __future__ import annotations

from datetime import timedelta
from typing import Final

from connectors.certificates import CertificateFault
from connectors.simulator.draws import Weighted
from connectors.simulator.units import DAY
from connectors.traffic_profiles import OUTSIDE_PARTNERS
from schemas.models import Channel, Trade

LOOKAHEAD: Final = timedelta(days=7)
"""How long before its arrival a call is generated: longer than its earliest event precedes the
arrival (an export lodged and gated in days ahead, an estimated arrival up to four days ahead)."""

DEFAULT_WARMUP: Final = timedelta(days=3)
"""How long the simulation runs before ``start`` so that the ports are busy from the first event."""

# Shares of the generated traffic (documented here, used once each by the simulation).
EST_SHARE: Final = 0.5  # calls whose agent publishes an estimated arrival a day ahead
# Calls whose agent also publishes an estimated arrival 3-4 days ahead (about 4 h off, 1 sigma),
# and a last one 4-8 h ahead (about 30 min off): what the ETA accuracy KPIs at 72 h and the last
# estimate compare. Drawn from each port's own estimates stream (Simulation.estimate_rngs).
EARLY_EST_SHARE: Final = 0.35
EARLY_EST_AHEAD_H: Final = (72.0, 96.0)
EARLY_EST_SIGMA_MIN: Final = 240.0
LATE_EST_SHARE: Final = 0.4
LATE_EST_AHEAD_H: Final = (4.0, 8.0)
LATE_EST_SIGMA_MIN: Final = 30.0
BERTH_SHIFT_SHARE: Final = 0.05  # calls that shift berth mid-operations (when another is free)
EMPTY_SHARE: Final = {Trade.IMPORT: 0.12, Trade.EXPORT: 0.15, Trade.TRANSSHIPMENT: 0.10}
SECOND_INSPECTION_SHARE: Final = 0.2  # of red-channel declarations
HELD_SHARE: Final = 0.04  # declarations held before release
EXPORT_DECLARED_SHARE: Final = 0.35  # full export consignments with a declaration the hub sees
CERTIFICATE_SHARE: Final = 0.45  # imports under an agreement that invoke a certificate
# Of the other imports under an agreement, those claiming its preference on a paper certificate
# (the hub sees the agreement, no certificate), and the hours customs take to check the paper
# by hand before the release (a digital certificate is checked by the hub as it arrives).
PAPER_PREFERENCE_SHARE: Final = 0.6
PAPER_CHECK_HOURS: Final = (2.0, 24.0)
YARD_MOVE_SHARE: Final = {Trade.IMPORT: 0.15, Trade.EXPORT: 0.10, Trade.TRANSSHIPMENT: 0.30}
# A box waits at least this long in the yard between two calls (transshipment).
TRANSSHIPMENT_MIN_MS: Final = 6 * 3_600_000
# A transshipment box no call loaded within this time is given up (it stays open). Calls ask
# for more boxes than their share (RELAY_DEMAND), oldest first, so this hardly ever happens.
TRANSSHIPMENT_MAX_MS: Final = 21 * 86_400_000
RELAY_DEMAND: Final = 1.1

REEFER_TYPE: Final = "22R1"
TARE_KG: Final = {"22G1": 2_200, "42G1": 3_750, "45G1": 3_900, "22R1": 3_050}
MAX_CARGO_KG: Final = {"2": 28_000, "4": 26_500}  # by length code
OWNERS: Final = (
    "MSCU", "MAEU", "CMAU", "HLXU", "ONEU", "EGHU", "COSU", "ZIMU", "HDMU", "TGHU", "TCNU",
    "SUDU", "CAIU", "TRHU", "SEGU", "FCIU", "GESU", "TEMU", "BMOU", "TRIU",
)  # fmt: skip
VESSEL_WORDS: Final = (
    ("Pacific", "Andes", "Caribe", "Atlantic", "Sierra", "Costa", "Rio", "Mar", "Isla", "Cabo",
     "Santa", "Bahia", "Aurora", "Austral", "Tierra"),
    ("Condor", "Trader", "Express", "Jaguar", "Star", "Spirit", "Pride", "Bridge", "Voyager",
     "Navigator", "Horizon", "Breeze"),
)  # fmt: skip
FLAGS: Final = (("352", "3E"), ("636", "D5"), ("538", "V7"), ("248", "9H"), ("563", "9V"))
SERVICE_NAMES: Final = (
    "WCSA", "ECSA", "CARIB", "GULF", "AMEX", "ANDES", "PACIF", "MEDSA", "ASIA", "EURSA",
    "CENAM", "MERCO",
)  # fmt: skip

LOOKAHEAD_MS: Final = LOOKAHEAD // timedelta(milliseconds=1)
# The rest of a call's cargo is planned this long before arrival: its earliest event, an import
# declaration lodged ahead of the ship, is at most 48 h before all fast.
CARGO_LEAD_MS: Final = 2 * DAY

# Distributions the simulation draws from.
OUTSIDE: Final = Weighted(OUTSIDE_PARTNERS)
IMPORT_CHANNELS: Final = Weighted([(Channel.GREEN, 0.7), (Channel.YELLOW, 0.2), (Channel.RED, 0.1)])
EXPORT_CHANNELS: Final = Weighted(
    [(Channel.GREEN, 0.8), (Channel.YELLOW, 0.15), (Channel.RED, 0.05)]
)
CONSIGNMENT_BOXES: Final = Weighted([(1, 0.6), (2, 0.25), (3, 0.15)])
# Certificates deliberately wrong, as real ones sometimes are: ~6% in all.
CERTIFICATE_FAULTS: Final = Weighted(
    [
        (CertificateFault.NONE, 0.94),
        (CertificateFault.QUANTITY_EXCEEDED, 0.02),
        (CertificateFault.DECLARATION_MISMATCH, 0.015),
        (CertificateFault.EXPIRED, 0.015),
        (CertificateFault.SIGNER_UNKNOWN, 0.01),
    ]
)
DRY_SIZE_TYPES: Final = Weighted([("22G1", 0.35), ("42G1", 0.15), ("45G1", 0.50)])
