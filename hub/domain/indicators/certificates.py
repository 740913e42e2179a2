"""Digital certificates of origin per importing country (SPEC §4).

SPEC §4: "digital certificates — certificates seen, share VALID, rejections by reason code, median
time from submission to final verdict".

Each certificate is one :class:`~hub.domain.indicators.model.CertificateOutcome`: its latest verdict
and when its first final (non-PENDING) verdict was issued. It counts in the period of its
submission, at its importing country, each mechanism of that country and the region (the levels
of :meth:`~hub.domain.indicators.model.Network.of_country`; certificates have no port). For every
entity with a certificate in the period:

- ``certificates_count`` = certificates seen; ``detail`` how many are VALID, INVALID, PENDING;
- ``certificates_valid_pct`` = VALID ÷ (VALID + INVALID) * 100; ``count`` = VALID + INVALID;
- ``certificate_rejections_count`` = INVALID certificates; ``detail`` the certificates failing
  each reason code (``{"EXPIRED": 2, "SIGNER_REVOKED": 1}``: a certificate may fail several
  rules, so the reasons can add up to more than the rejections);
- one ``certificate_rejections_<reason>_count`` per reason code that occurs
  (:func:`~hub.domain.indicators.model.rejection_indicator`), for dashboards that plot one reason;
- ``certificate_verdict_time_h`` = hours from submission to the first final verdict: ``value``
  and ``median`` the median (SPEC asks for the median), ``p90``, ``count`` the certificates
  with a final verdict.

**Choice:** the share VALID is over the certificates *decided*: a PENDING certificate waits
for the declaration that invokes it, it is neither accepted nor refused, and counting it as
not valid would make the share climb as declarations arrive. With none decided the share is
None and ``detail`` says so (as does the verdict time). A verdict issued before its submission
time (a clock error between publishers) is left out of the time, as §2 leaves out negative
intervals. A certificate for a country without a hub port is left out: the hub dead-letters its
submission (``UNKNOWN_COUNTRY``), so none should reach here.

**Adoption** (issue 6: "digital certificate adoption and rejection rates"),
:func:`adoption_indicators`: ``certificate_adoption_pct`` = import declarations that invoke
a certificate of origin ÷ import declarations that claim a trade agreement * 100, per port
of lodgement (and its country, mechanisms, region), in the period of lodgement; ``count`` =
the declarations claiming an agreement. **Choice:** the denominator is the declarations that
could use one (those claiming preferences under an agreement), not every import: a country
trading mostly outside the region is not "behind" in adoption. A declaration with no
agreement is not counted; none claiming one gives no row.

**Adoption by agreement** (issue 21): the same share among the declarations claiming one
agreement, one indicator per agreement claimed in the entity and period, named by
:func:`~hub.domain.indicators.model.adoption_indicator` (``A58`` →
``certificate_adoption_a58_pct``, unit ``%``; ``count`` = the declarations claiming it).
**Choice:** an indicator per agreement rather than a breakdown in ``detail``, so that one
agreement's adoption is a time series the API, the dashboard and the open data serve like any
other. The shares by agreement, weighted by their counts, give ``certificate_adoption_pct``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Final

from hub.domain.indicators.aggregates import describe
from hub.domain.indicators.model import (
    INDICATOR_UNITS,
    CertificateOutcome,
    DeclarationInfo,
    EntityRef,
    Indicator,
    IndicatorName,
    IndicatorUnit,
    Network,
    Period,
    adoption_indicator,
    detail_json,
    period_start,
    rejection_indicator,
)

__all__ = ["OUTCOMES", "adoption_indicators", "certificate_indicators"]

OUTCOMES: Final = ("VALID", "INVALID", "PENDING")
"""The outcomes of a verdict (``hub.domain.certificates.rules.Outcome``)."""


def certificate_indicators(
    certificates: Iterable[CertificateOutcome], network: Network, period: Period
) -> list[Indicator]:
    """The certificate indicators of every entity with certificates, per period. Unsorted.

    Raises:
        ValueError: a certificate appears twice, or has an outcome not in :data:`OUTCOMES`.
    """
    seen: set[str] = set()
    groups: dict[tuple[EntityRef, datetime], list[CertificateOutcome]] = {}
    for certificate in certificates:
        if certificate.certificate_id in seen:
            raise ValueError(f"the certificate {certificate.certificate_id} appears twice")
        seen.add(certificate.certificate_id)
        if certificate.outcome not in OUTCOMES:
            raise ValueError(
                f"the certificate {certificate.certificate_id} has outcome"
                f" {certificate.outcome!r}, not one of {', '.join(OUTCOMES)}"
            )
        start = period_start(certificate.submitted_at, period)
        for ref in network.of_country(certificate.importing_country):
            groups.setdefault((ref, start), []).append(certificate)
    rows: list[Indicator] = []
    for (ref, start), members in groups.items():
        rows += _rows(members, ref, period, start)
    return rows


def _rows(
    certificates: Sequence[CertificateOutcome], ref: EntityRef, period: Period, start: datetime
) -> list[Indicator]:
    level, entity = ref

    def row(
        name: str,
        unit: str,
        count: int,
        value: float | None,
        detail: dict[str, object] | None = None,
        median: float | None = None,
        p90: float | None = None,
    ) -> Indicator:
        return Indicator(
            level=level,
            entity=entity,
            period=period,
            period_start=start,
            indicator=name,
            unit=unit,
            count=count,
            value=value,
            median=median,
            p90=p90,
            detail=None if detail is None else detail_json(detail),
        )

    outcomes = Counter(c.outcome for c in certificates)
    valid, invalid, pending = (outcomes[outcome] for outcome in OUTCOMES)
    reasons = Counter(
        code for c in certificates if c.outcome == "INVALID" for code in sorted(set(c.failed))
    )
    hours = [
        (c.final_at - c.submitted_at).total_seconds() / 3600.0
        for c in certificates
        if c.final_at is not None and c.final_at >= c.submitted_at
    ]
    no_verdict = {"reason": "no certificate has a final verdict yet", "PENDING": pending}

    def unit(name: IndicatorName) -> str:
        return INDICATOR_UNITS[name].value

    rows = [
        row(
            IndicatorName.CERTIFICATES_COUNT.value,
            unit(IndicatorName.CERTIFICATES_COUNT),
            len(certificates),
            float(len(certificates)),
            {"INVALID": invalid, "PENDING": pending, "VALID": valid},
        ),
        row(
            IndicatorName.CERTIFICATES_VALID_PCT.value,
            unit(IndicatorName.CERTIFICATES_VALID_PCT),
            valid + invalid,
            valid / (valid + invalid) * 100.0 if valid + invalid else None,
            {"PENDING": pending} if valid + invalid else no_verdict,
        ),
        row(
            IndicatorName.CERTIFICATE_REJECTIONS_COUNT.value,
            unit(IndicatorName.CERTIFICATE_REJECTIONS_COUNT),
            invalid,
            float(invalid),
            dict(sorted(reasons.items())),
        ),
        *(
            row(rejection_indicator(code), IndicatorUnit.COUNT.value, n, float(n))
            for code, n in sorted(reasons.items())
        ),
    ]
    name = IndicatorName.CERTIFICATE_VERDICT_TIME_H
    if hours:
        stats = describe(hours)
        rows.append(
            row(name.value, unit(name), stats.count, stats.median, None, stats.median, stats.p90)
        )
    else:
        rows.append(row(name.value, unit(name), 0, None, no_verdict))
    return rows


def adoption_indicators(
    declarations: Iterable[DeclarationInfo], network: Network, period: Period
) -> list[Indicator]:
    """``certificate_adoption_pct``, and its share per agreement, of every entity with a
    declaration claiming an agreement (see the module docstring). Unsorted. The latest entry of a
    repeated declaration counts."""
    latest: dict[tuple[str, str], DeclarationInfo] = {}
    for declaration in declarations:
        latest[(declaration.port, declaration.declaration_id)] = declaration
    groups: dict[tuple[EntityRef, datetime], list[DeclarationInfo]] = {}
    for declaration in latest.values():
        if declaration.agreement is None:
            continue
        start = period_start(declaration.lodged_at, period)
        for ref in network.of_port(declaration.port):
            groups.setdefault((ref, start), []).append(declaration)
    rows: list[Indicator] = []
    for (ref, start), members in groups.items():
        name = IndicatorName.CERTIFICATE_ADOPTION_PCT.value
        rows.append(_adoption(members, name, ref, period, start))
        by_agreement: dict[str, list[DeclarationInfo]] = {}
        for declaration in members:
            assert declaration.agreement is not None  # only those claiming one are grouped
            by_agreement.setdefault(declaration.agreement, []).append(declaration)
        rows += (
            _adoption(claiming, adoption_indicator(agreement), ref, period, start)
            for agreement, claiming in sorted(by_agreement.items())
        )
    return rows


def _adoption(
    claiming: Sequence[DeclarationInfo],
    indicator: str,
    ref: EntityRef,
    period: Period,
    start: datetime,
) -> Indicator:
    """The share of ``claiming`` (at least one) that invoke a certificate, as ``indicator``."""
    level, entity = ref
    return Indicator(
        level=level,
        entity=entity,
        period=period,
        period_start=start,
        indicator=indicator,
        unit=INDICATOR_UNITS[IndicatorName.CERTIFICATE_ADOPTION_PCT].value,
        count=len(claiming),
        value=100.0 * sum(d.invokes_certificate for d in claiming) / len(claiming),
    )
