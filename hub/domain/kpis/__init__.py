"""Logistics KPIs of the hub (SPEC §2) as pure functions over the event models.

No faust, HTTP or database here: the streaming stage, the batch reference, the API and the docs
(``docs/kpis.md``) all rest on these definitions. Modules:

- :mod:`~hub.domain.kpis.model` — :class:`KpiValue`, :class:`WindowAggregate`, names, units, flags;
- :mod:`~hub.domain.kpis.events` — the events that count (duplicates once, retractions applied);
- :mod:`~hub.domain.kpis.port_calls` — waiting, anchorage, port and berth hours, productivity;
- :mod:`~hub.domain.kpis.emissions` — CO2 and SOx of a call at anchorage and at berth (IMO
  Fourth GHG Study 2020);
- :mod:`~hub.domain.kpis.containers` — container visits and dwell, truck turnaround, throughput;
- :mod:`~hub.domain.kpis.declarations` — WCO TRS release time and segments, inspections;
- :mod:`~hub.domain.kpis.windows` — hourly and daily aggregates (PostgreSQL's percentile_cont);
- :mod:`~hub.domain.kpis.reference` — :func:`all_kpis`, the batch reference, and
  :func:`entity_keys_of`, what an event affects;
- :mod:`~hub.domain.kpis.incremental` — the streaming state of the entities, event by event,
  equal to the batch reference (property-tested);
- :mod:`~hub.domain.kpis.window_state` — the streaming windows, kept from changed values.
"""

from hub.domain.kpis.containers import (
    container_visit_kpis,
    container_visits,
    move_kpis,
    teu,
    truck_visit_kpis,
)
from hub.domain.kpis.declarations import declaration_kpis
from hub.domain.kpis.events import effective_events
from hub.domain.kpis.model import (
    UNITS,
    EntityKind,
    Granularity,
    KpiFlag,
    KpiName,
    KpiValue,
    Unit,
    WindowAggregate,
)
from hub.domain.kpis.port_calls import port_call_kpis
from hub.domain.kpis.reference import (
    all_kpis,
    declaration_dependencies,
    declarations_depending_on,
    entity_keys_of,
)
from hub.domain.kpis.windows import percentile_cont, window_aggregates

__all__ = [
    "UNITS",
    "EntityKind",
    "Granularity",
    "KpiFlag",
    "KpiName",
    "KpiValue",
    "Unit",
    "WindowAggregate",
    "all_kpis",
    "container_visit_kpis",
    "container_visits",
    "declaration_dependencies",
    "declaration_kpis",
    "declarations_depending_on",
    "effective_events",
    "entity_keys_of",
    "move_kpis",
    "percentile_cont",
    "port_call_kpis",
    "teu",
    "truck_visit_kpis",
    "window_aggregates",
]
