"""Indicators for the regional competitiveness measures (SPEC §4) as pure functions.

No faust, HTTP or database here: the stream, the API and the tests rest on these definitions,
and :func:`all_indicators` is the one the stream runs. Modules:

- :mod:`~hub.domain.indicators.model` — the inputs (:class:`PortInfo`, :class:`Mechanism`,
  :class:`TradeFlow`, :class:`CallInfo`, :class:`CertificateOutcome`), the output
  :class:`Indicator`, names and units, periods, and the levels (:class:`Network`);
- :mod:`~hub.domain.indicators.aggregates` — the §2 aggregates per level and period, and the
  call-size-adjusted port hours;
- :mod:`~hub.domain.indicators.emissions` — CO2 and SOx at anchorage and at berth (totals);
- :mod:`~hub.domain.indicators.score` — the port performance score (method, weights, directions);
- :mod:`~hub.domain.indicators.trade` — intra-regional trade share and Iapadre's regional trade
  introversion index, and how the hub counts trade;
- :mod:`~hub.domain.indicators.connectivity` — calls per week, services, connections, largest ship;
- :mod:`~hub.domain.indicators.certificates` — certificates of origin per importing country;
- :mod:`~hub.domain.indicators.certificate_effect` — the digital certificate's effect on release
  time;
- :mod:`~hub.domain.indicators.quality` — the publishers' data-quality scorecard;
- :mod:`~hub.domain.indicators.mechanisms` — :func:`load_mechanisms` and the bundled file;
- :mod:`~hub.domain.indicators.reference` — :func:`all_indicators`, the batch reference.
"""

from hub.domain.indicators.aggregates import (
    CALL_SIZE_BANDS,
    call_size_adjusted_port_hours,
    call_size_band,
    kpi_aggregates,
)
from hub.domain.indicators.certificates import certificate_indicators
from hub.domain.indicators.connectivity import connectivity_indicators
from hub.domain.indicators.emissions import emission_indicators
from hub.domain.indicators.mechanisms import BUNDLED_MECHANISMS_FILE, load_mechanisms
from hub.domain.indicators.model import (
    INDICATOR_UNITS,
    LAC_COUNTRIES,
    REGION,
    CallInfo,
    CertificateOutcome,
    Indicator,
    IndicatorName,
    IndicatorUnit,
    Level,
    Mechanism,
    Network,
    Period,
    PortInfo,
    TradeFlow,
    period_start,
    refusal_indicator,
    rejection_indicator,
)
from hub.domain.indicators.quality import QualityInputs, quality_indicators
from hub.domain.indicators.reference import all_indicators
from hub.domain.indicators.score import port_score, score_indicators
from hub.domain.indicators.trade import Introversion, introversion, trade_indicators

__all__ = [
    "BUNDLED_MECHANISMS_FILE",
    "CALL_SIZE_BANDS",
    "INDICATOR_UNITS",
    "LAC_COUNTRIES",
    "REGION",
    "CallInfo",
    "CertificateOutcome",
    "Indicator",
    "IndicatorName",
    "IndicatorUnit",
    "Introversion",
    "Level",
    "Mechanism",
    "Network",
    "Period",
    "PortInfo",
    "QualityInputs",
    "TradeFlow",
    "all_indicators",
    "call_size_adjusted_port_hours",
    "call_size_band",
    "certificate_indicators",
    "connectivity_indicators",
    "emission_indicators",
    "introversion",
    "kpi_aggregates",
    "load_mechanisms",
    "period_start",
    "port_score",
    "quality_indicators",
    "refusal_indicator",
    "rejection_indicator",
    "score_indicators",
    "trade_indicators",
]
