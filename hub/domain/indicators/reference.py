"""The batch reference of the regional indicators: :func:`all_indicators`.

:func:`all_indicators` is THE definition of SPEC §4's indicators over a set of inputs: the
stream runs it on what PostgreSQL holds for the periods a batch touched, the tests compare the
stream with it, and the modules it calls document each indicator:

- :mod:`~hub.domain.indicators.aggregates` — the §2 aggregates and the call-size-adjusted port
  hours;
- :mod:`~hub.domain.indicators.emissions` — CO2 and SOx at anchorage and at berth;
- :mod:`~hub.domain.indicators.score` — the port performance score;
- :mod:`~hub.domain.indicators.trade` — intra-regional trade shares and introversion indices;
- :mod:`~hub.domain.indicators.connectivity` — calls per week, services, connections, largest ship;
- :mod:`~hub.domain.indicators.certificates` — certificates of origin per importing country;
- :mod:`~hub.domain.indicators.certificate_effect` — release times with and without a digital
  certificate;
- :mod:`~hub.domain.indicators.quality` — the publishers' data-quality scorecard.

Every indicator of a period depends only on the inputs of that period (by event time), so the
stream recomputes a period from that period's inputs alone; the exception is a call, placed at
its first vessel event and described by all of them (connectivity's particulars, the
scorecard's completeness), for which the stream also reads the vessel events of the week before
and the two weeks after the period; and a declaration released in the period, classed for the
certificate's effect by its lodgement and its certificate's verdict whenever those came, which
the stream reads by key. The indicators of one entity also
depend on the other ports of the same period where SPEC says so: the call-size-adjusted port
hours (the network's mean per band) and the trade indices (T_w, and the region's W for a
country).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from hub.domain.indicators.aggregates import call_size_adjusted_port_hours, kpi_aggregates
from hub.domain.indicators.certificate_effect import certificate_effect_indicators
from hub.domain.indicators.certificates import adoption_indicators, certificate_indicators
from hub.domain.indicators.connectivity import connectivity_indicators
from hub.domain.indicators.emissions import emission_indicators
from hub.domain.indicators.model import (
    PERIODS,
    CallInfo,
    CertificateOutcome,
    DeclarationInfo,
    Indicator,
    Mechanism,
    Network,
    Period,
    PortInfo,
    TradeFlow,
)
from hub.domain.indicators.quality import QualityInputs, quality_indicators
from hub.domain.indicators.score import score_indicators
from hub.domain.indicators.trade import trade_indicators
from hub.domain.kpis.model import KpiValue

__all__ = ["all_indicators"]


def all_indicators(
    kpis: Iterable[KpiValue],
    flows: Iterable[TradeFlow],
    calls: Iterable[CallInfo],
    certificates: Iterable[CertificateOutcome],
    ports: Sequence[PortInfo],
    mechanisms: Mapping[str, Mechanism],
    period: Period,
    declarations: Iterable[DeclarationInfo] = (),
    quality: QualityInputs | None = None,
) -> list[Indicator]:
    """Every indicator of SPEC §4 of every entity and ``period``, sorted by (level, entity,
    period_start, indicator).

    Args:
        kpis: entity KPI values as ``hub.domain.kpis.reference.all_kpis`` returns them (open and
            flagged ones are left out here).
        flows: the DISC and LOAD moves with their cargo's trade data.
        calls: one :class:`CallInfo` per port call.
        certificates: one :class:`CertificateOutcome` per certificate, its latest verdict.
        ports: the hub's ports; inputs of any other port count nowhere.
        mechanisms: the integration mechanisms by code (``load_mechanisms``); those without a
            hub port produce nothing.
        period: ``"day"``, ``"month"``, ``"quarter"``, ``"half-year"`` or ``"year"`` (UTC, by
            event time).
        declarations: the import declarations lodged (:class:`DeclarationInfo`), for
            digital certificate adoption and, with ``certificates``, the certificate's effect
            on release time (those named by a ``release_time_h`` of ``kpis`` are needed).
        quality: the data-quality scorecard's inputs besides the KPI values (the stored
            events' times, the calls' ACT timestamps, the moves' and lodgements' links, the
            refusals per publisher and day); None: none.

    Raises:
        ValueError: ``period`` is not a period, an event time is naive, or an input repeats
            an entity (a port call, a certificate, a KPI of a call).
    """
    if period not in PERIODS:
        raise ValueError(f"period must be one of {PERIODS}, not {period!r}")
    network = Network(ports, mechanisms)
    kpi_values = list(kpis)
    declared, verdicts = list(declarations), list(certificates)  # each read twice
    rows = [
        *kpi_aggregates(kpi_values, network, period),
        *call_size_adjusted_port_hours(kpi_values, network, period),
        *emission_indicators(kpi_values, network, period),
        *score_indicators(kpi_values, network, period),
        *trade_indicators(flows, network, period),
        *connectivity_indicators(calls, network, period),
        *certificate_indicators(verdicts, network, period),
        *adoption_indicators(declared, network, period),
        *certificate_effect_indicators(kpi_values, declared, verdicts, network, period),
        *quality_indicators(kpi_values, quality or QualityInputs(), network, period),
    ]
    return sorted(rows, key=lambda r: (r.level, r.entity, r.period_start, r.indicator))
