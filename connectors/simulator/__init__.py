"""The traffic simulator: whole, plausible port calls at the reference ports, in every event domain.

Each port receives vessels as a Poisson process (its :class:`~connectors.traffic_profiles.
TrafficProfile`). A call is planned when the stream reaches :data:`LOOKAHEAD` before the vessel's
arrival, because some of its events come days earlier (its vessel timeline and its exports then,
the rest of its cargo two days before arrival):

- **vessel**: the actual (ACT) DCSA timestamps — port limits, anchorage in and out when the
  vessel waits (for a free berth, or held by congestion), pilot boarding, all fast, first and last
  lift, departure — plus, for some calls, estimated arrivals (EST ARRI PORT) published a day
  ahead, 3-4 days ahead and a few hours ahead, and occasionally a berth shift (departure from
  one berth, all fast at another, mid-operations);
- **cargo**: 2-5 ship-to-shore cranes (by ship size) discharge, restow and load the call's
  containers between first and last lift. Imports leave by truck days later (gate in of the
  truck, then gate out within the hour); exports come in by truck days before they are loaded;
  transshipment boxes wait in the yard for a later call at the same port. Some boxes are moved
  within the yard;
- **customs**: imports (and some exports) are declared — lodged, a risk channel, inspections for
  the red channel, sometimes a hold — and released before they leave the terminal; declarations
  between countries with an ALADI agreement sometimes invoke a certificate of origin, and more
  often claim the agreement on a paper certificate, which customs check by hand for hours before
  the release (these draws come from random streams of their own);
- **certificate**: each certificate a declaration invokes is submitted hours before lodgement,
  signed with test keys (:mod:`connectors.certificates`); about 6% are deliberately wrong.

Ports, calls and boxes are interleaved in one stream ordered by the time each event becomes
known: its ``published_at`` as generated, which is its ``occurred_at`` for every event except
an estimated (EST) arrival, published hours to days before the time it estimates.

Reproducible: the same ports, seed, start, scale and profiles give the same events, ids included,
so a replay is de-duplicated rather than double-counted. Vessel events use their own random
streams, so ``scale`` (which thins or thickens the cargo) leaves them unchanged. The simulation
starts ``warmup`` before ``start`` and yields from ``start`` on, so the ports are already busy:
calls at berth, boxes in the yard. Memory stays bounded on an endless stream: what is held is
the calls of the next :data:`LOOKAHEAD` and the boxes and declarations still open.

The package's modules: :mod:`~connectors.simulator.generator` (the public
:class:`PortTrafficGenerator`), :mod:`~connectors.simulator.simulation` (one run: the heap and the
planning of calls, cargo and customs), :mod:`~connectors.simulator.entities` (what a run holds
and the events it builds), :mod:`~connectors.simulator.services` (liner services and fleets),
:mod:`~connectors.simulator.parameters` (the model's shares and distributions),
:mod:`~connectors.simulator.draws` and :mod:`~connectors.simulator.units` (small pieces).
Publishing the stream is :mod:`connectors.publisher`; keeping it in a file,
:mod:`connectors.event_files`.
"""

from connectors.simulator.generator import PortTrafficGenerator
from connectors.simulator.parameters import DEFAULT_WARMUP, LOOKAHEAD

__all__ = ["DEFAULT_WARMUP", "LOOKAHEAD", "PortTrafficGenerator"]
