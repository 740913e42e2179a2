"""Arrival predictability of a port call: how far its published estimated arrival was off.

A call's estimated arrivals are its EST ARRI timestamps at PORT, PBPL or ANCH (the arrival
facilities of T_arr), not AIS-derived; each one's ``occurred_at`` is the time it estimates and
its ``published_at`` when it was made known. Duplicates count once and retracted estimates not
at all (:func:`~hub.domain.kpis.events.effective_events`): a corrected estimate counts with its
own ``published_at``.

KPIs of the call, once its actual arrival T_arr (:func:`~hub.domain.kpis.port_calls.
call_timeline`) is known, each anchored at T_arr:

- ``eta_error_h`` = E - T_arr in hours, E the estimate of the latest EST published strictly
  before T_arr (positive: the vessel came earlier than announced); ``eta_abs_error_h`` = |that|;
- ``eta_error_24h_h`` / ``eta_abs_error_24h_h``: the same with the latest EST published at or
  before T_arr - 24 h (what a port knew a day ahead);
- ``eta_error_72h_h`` / ``eta_abs_error_72h_h``: at or before T_arr - 72 h.

"Latest" is by ``published_at``, ties broken by :func:`~hub.domain.kpis.events.event_order`.

**Choices:** a call with no such estimate has no value of that KPI (not open, not zero: there was
nothing to be wrong about), so the 72 h KPIs count only the calls announced three days ahead.
An estimate published after T_arr is ignored (it was not a prediction). PLN (planned) arrivals
are a schedule, not a prediction of this arrival, and never enter these KPIs; they do give a call
its :func:`call_eta` when no EST does, for the list of expected calls. Until T_arr is known the
KPIs are not emitted at all: a call announced but not arrived is expected, not open.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Final

from hub.domain.kpis.events import effective_events, event_order
from hub.domain.kpis.measure import Entity, hours
from hub.domain.kpis.model import KpiName, KpiValue
from schemas.models import Classifier, Facility, Operation, VesselEvent

__all__ = ["ETA_HORIZONS", "arrival_estimates", "call_eta", "eta_kpis", "latest_estimate"]

_ARRIVAL_FACILITIES: Final = frozenset({Facility.PORT, Facility.ANCH, Facility.PBPL})
_AIS_SOURCE: Final = "AIS"  # as port_calls.AIS_SOURCE (that module imports this one)

ETA_HORIZONS: Final[tuple[tuple[timedelta | None, KpiName, KpiName], ...]] = (
    (None, KpiName.ETA_ERROR_H, KpiName.ETA_ABS_ERROR_H),
    (timedelta(hours=24), KpiName.ETA_ERROR_24H_H, KpiName.ETA_ABS_ERROR_24H_H),
    (timedelta(hours=72), KpiName.ETA_ERROR_72H_H, KpiName.ETA_ABS_ERROR_72H_H),
)
"""(how long before T_arr the estimate must have been published — None: any time before —,
the signed KPI, the absolute KPI)."""


def arrival_estimates(
    vessel_events: Iterable[VesselEvent], classifier: Classifier = Classifier.EST
) -> list[VesselEvent]:
    """The call's ``classifier`` (EST or PLN) ARRI timestamps at PORT, PBPL or ANCH that are
    not AIS-derived, from events already counted (duplicates and retractions applied)."""
    return [
        e
        for e in vessel_events
        if e.classifier is classifier
        and e.operation is Operation.ARRI
        and e.facility in _ARRIVAL_FACILITIES
        and e.source != _AIS_SOURCE
    ]


def latest_estimate(
    estimates: Iterable[VesselEvent], published_by: datetime | None = None, *, strictly: bool
) -> VesselEvent | None:
    """The latest published of ``estimates`` (by ``published_at``, then
    :func:`~hub.domain.kpis.events.event_order`), only among those published before
    ``published_by`` (``strictly``) or at it or before (not ``strictly``); None: none."""
    chosen: VesselEvent | None = None
    for estimate in estimates:
        if published_by is not None and (
            estimate.published_at > published_by
            or (strictly and estimate.published_at == published_by)
        ):
            continue
        if chosen is None or (estimate.published_at, event_order(estimate)) > (
            chosen.published_at,
            event_order(chosen),
        ):
            chosen = estimate
    return chosen


def eta_kpis(
    entity: Entity, arrival: datetime | None, vessel_events: Sequence[VesselEvent]
) -> list[KpiValue]:
    """The ETA accuracy KPIs of one call (see the module docstring).

    Args:
        entity: the port call.
        arrival: its T_arr (None: not arrived, no KPI).
        vessel_events: its vessel events, duplicates and retractions already applied.
    """
    if arrival is None:
        return []
    estimates = arrival_estimates(vessel_events)
    values: list[KpiValue] = []
    for ahead, signed, absolute in ETA_HORIZONS:
        if ahead is None:
            estimate = latest_estimate(estimates, arrival, strictly=True)
        else:
            estimate = latest_estimate(estimates, arrival - ahead, strictly=False)
        if estimate is None:
            continue
        error = hours(estimate.occurred_at - arrival)
        values.append(entity.value(signed, error, arrival))
        values.append(entity.value(absolute, abs(error), arrival))
    return values


def call_eta(vessel_events: Iterable[VesselEvent]) -> datetime | None:
    """The call's current estimated arrival: that of its most recently published EST ARRI
    (PORT, PBPL or ANCH; not AIS), else of its most recently published PLN ARRI; None without
    either. Duplicates and retractions are applied here."""
    counted = effective_events(vessel_events)
    for classifier in (Classifier.EST, Classifier.PLN):
        estimate = latest_estimate(arrival_estimates(counted, classifier), strictly=False)
        if estimate is not None:
            return estimate.occurred_at
    return None
