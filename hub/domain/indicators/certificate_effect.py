"""The digital certificate's effect on release time (issue 21, item 3).

"Release time of declarations with a VALID digital certificate vs those claiming the same
agreements without one (median, p90, count, per country and month), the 'digital certificate
impact' indicator."

**Population.** The import declarations with a ``release_time_h`` (SPEC §2, WCO TRS: the call's
all fast → the release) that counts in aggregates (a value, an anchor, no flag), placed — like the
``release_time_h`` aggregate — in the period of its anchor, the release, at its port and the
port's country, mechanisms and region (:meth:`~hub.domain.indicators.model.Network.of_port`).
Of each declaration the agreement and certificate of its latest LODGED version count
(:class:`~hub.domain.indicators.model.DeclarationInfo`). A declaration claiming no agreement is
left out (it could not use a certificate of origin). The others fall in one of two groups:

- **with a VALID digital certificate**: it names a certificate whose latest verdict
  (:class:`~hub.domain.indicators.model.CertificateOutcome`) is VALID;
- **without a certificate**: it names none (it claims the preference on a paper certificate,
  or on none the hub sees);
- a declaration naming a certificate that is INVALID, PENDING, or has no verdict at all is in
  neither: its release says nothing about what a valid digital certificate does. ``detail``
  counts these as ``certificate_not_valid``.

**Like with like (choice).** Release times differ by agreement (the origin rules to check, the
goods, the trading partners), and adoption differs by agreement too, so pooling every
declaration would compare agreement mixes as much as certificates. The comparison is restricted,
per entity and period, to the *matched agreements*: those claimed there both by at least one
declaration with a VALID digital certificate and by at least one without a certificate. The
declarations of the other agreements are left out (``detail``: ``agreement_not_matched``).
Within the matched agreements the two groups are pooled (a median does not add up across
agreements, so re-weighting would give a figure no reader could recompute); ``detail`` of the
impact lists each matched agreement's counts, so a skewed mix can be seen.

**Indicators**, for every entity and period with at least one such declaration:

- ``release_time_with_valid_certificate_h``: the group with a VALID digital certificate, over
  the matched agreements: ``value`` and ``median`` the median release time (hours), ``p90``,
  ``count`` the declarations; ``detail`` the matched agreements;
- ``release_time_without_certificate_h``: the same for the group without a certificate;
- ``digital_certificate_impact_pct`` = (M_without - M_with) ÷ M_without * 100, M the two
  medians: the share of the median release time that declarations with a valid digital
  certificate save; positive = faster with the certificate, negative = slower. ``count`` = the
  declarations of both groups; ``detail``: ``hours_saved`` = M_without - M_with, the medians,
  the counts per matched agreement and the declarations left out.

**Empty or small groups.** With no matched agreement both groups are empty: their rows and the
impact have ``value`` None, ``count`` 0 and a ``detail`` reason. The impact needs at least
:data:`MIN_GROUP_DECLARATIONS` declarations in *each* group (a median of two or three releases
is anecdote, not an effect; the open data also suppresses cells below five); below that its
``value`` is None and ``detail`` gives the counts and the reason, while the two groups' rows
still give their medians and counts. A median without certificate of 0 h or less (a release at
or before all fast) makes the ratio meaningless: None, with the reason.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal

from hub.domain.indicators.aggregates import aggregatable, describe
from hub.domain.indicators.model import (
    INDICATOR_UNITS,
    CertificateOutcome,
    DeclarationInfo,
    EntityRef,
    Indicator,
    IndicatorName,
    Network,
    Period,
    detail_json,
    period_start,
)
from hub.domain.kpis.model import KpiName, KpiValue

__all__ = ["MIN_GROUP_DECLARATIONS", "certificate_effect_indicators"]

MIN_GROUP_DECLARATIONS: Final = 5
"""The fewest declarations each group needs for ``digital_certificate_impact_pct``."""

_Group = Literal["with", "without", "not_valid"]


@dataclass(frozen=True, slots=True)
class _Release:
    """One declaration's release time, its agreement and its group."""

    agreement: str
    group: _Group
    hours: float


def certificate_effect_indicators(
    kpis: Iterable[KpiValue],
    declarations: Iterable[DeclarationInfo],
    certificates: Iterable[CertificateOutcome],
    network: Network,
    period: Period,
) -> list[Indicator]:
    """The release times with and without a digital certificate and the impact, of every
    entity and period (see the module docstring). Unsorted.

    Args:
        kpis: entity KPI values; the ``release_time_h`` of declarations are read.
        declarations: the declarations (their latest entry counts), to find each release's
            agreement and certificate by ``"{port}/{declaration_id}"``.
        certificates: the certificates' latest verdicts (those the declarations name).

    Raises:
        ValueError: a declaration has two ``release_time_h`` values.
    """
    verdicts = {c.certificate_id: c.outcome for c in certificates}
    by_entity = {f"{d.port}/{d.declaration_id}": d for d in declarations}
    seen: set[str] = set()
    groups: dict[tuple[EntityRef, datetime], list[_Release]] = {}
    for kpi in kpis:
        if kpi.kpi != KpiName.RELEASE_TIME_H or not aggregatable(kpi):
            continue
        if kpi.entity_id in seen:
            raise ValueError(f"the declaration {kpi.entity_id} has two release times")
        seen.add(kpi.entity_id)
        declaration = by_entity.get(kpi.entity_id)
        if declaration is None or declaration.agreement is None:
            continue
        group: _Group = "without"
        if declaration.certificate_id is not None:
            valid = verdicts.get(declaration.certificate_id) == "VALID"
            group = "with" if valid else "not_valid"
        assert kpi.value is not None and kpi.anchor_time is not None  # aggregatable
        release = _Release(declaration.agreement, group, kpi.value)
        start = period_start(kpi.anchor_time, period)
        for ref in network.of_port(kpi.port):
            groups.setdefault((ref, start), []).append(release)
    rows: list[Indicator] = []
    for (ref, start), releases in groups.items():
        rows += _rows(releases, ref, period, start)
    return rows


def _rows(
    releases: Sequence[_Release], ref: EntityRef, period: Period, start: datetime
) -> list[Indicator]:
    level, entity = ref

    def row(
        name: IndicatorName,
        count: int,
        value: float | None,
        detail: dict[str, object],
        median: float | None = None,
        p90: float | None = None,
    ) -> Indicator:
        return Indicator(
            level=level,
            entity=entity,
            period=period,
            period_start=start,
            indicator=name.value,
            unit=INDICATOR_UNITS[name].value,
            count=count,
            value=value,
            median=median,
            p90=p90,
            detail=detail_json(detail),
        )

    by_agreement: dict[str, dict[_Group, list[float]]] = {}
    for release in releases:
        by_agreement.setdefault(release.agreement, {}).setdefault(release.group, []).append(
            release.hours
        )
    matched = sorted(a for a, g in by_agreement.items() if g.get("with") and g.get("without"))
    hours: dict[_Group, list[float]] = {
        group: [h for a in matched for h in by_agreement[a][group]] for group in ("with", "without")
    }
    left_out = {
        "agreement_not_matched": sum(
            len(hs)
            for a, g in by_agreement.items()
            if a not in matched
            for group, hs in g.items()
            if group != "not_valid"
        ),
        "certificate_not_valid": sum(len(g.get("not_valid", ())) for g in by_agreement.values()),
    }
    no_match: dict[str, object] = {
        "reason": "no agreement is claimed both by declarations with a VALID digital"
        " certificate and by declarations without one",
        "left_out": left_out,
    }
    rows: list[Indicator] = []
    medians: dict[_Group, float] = {}
    named: tuple[tuple[_Group, IndicatorName], ...] = (
        ("with", IndicatorName.RELEASE_TIME_WITH_VALID_CERTIFICATE_H),
        ("without", IndicatorName.RELEASE_TIME_WITHOUT_CERTIFICATE_H),
    )
    for group, name in named:
        if not hours[group]:
            rows.append(row(name, 0, None, no_match))
            continue
        stats = describe(hours[group])
        medians[group] = stats.median
        detail: dict[str, object] = {"agreements": matched}
        rows.append(row(name, stats.count, stats.median, detail, stats.median, stats.p90))

    name = IndicatorName.DIGITAL_CERTIFICATE_IMPACT_PCT
    counted = len(hours["with"]) + len(hours["without"])
    if not matched:
        rows.append(row(name, 0, None, no_match))
        return rows
    impact: dict[str, object] = {
        "agreements": {
            a: {"with": len(by_agreement[a]["with"]), "without": len(by_agreement[a]["without"])}
            for a in matched
        },
        "left_out": left_out,
        "median_with_h": medians["with"],
        "median_without_h": medians["without"],
    }
    smallest = min(len(hours["with"]), len(hours["without"]))
    if smallest < MIN_GROUP_DECLARATIONS:
        impact["reason"] = (
            f"fewer than {MIN_GROUP_DECLARATIONS} declarations in a group"
            f" ({len(hours['with'])} with a VALID digital certificate,"
            f" {len(hours['without'])} without)"
        )
        rows.append(row(name, counted, None, impact))
    elif medians["without"] <= 0:
        impact["reason"] = "the median release time without a certificate is not positive"
        rows.append(row(name, counted, None, impact))
    else:
        saved = medians["without"] - medians["with"]
        impact["hours_saved"] = saved
        rows.append(row(name, counted, saved / medians["without"] * 100.0, impact))
    return rows
