"""Logistics KPIs of the hub (SPEC §2) as pure functions over the event models.

No faust, HTTP or database here: the streaming stage, the batch reference, the API and the docs
(``docs/kpis.md``) all rest on these definitions. Modules:

- :mod:`~streams.kpis.model` — :class:`KpiValue`, :class:`WindowAggregate`, names, units, flags;
- :mod:`~streams.kpis.events` — the events that count (duplicates once, retractions applied);
- :mod:`~streams.kpis.port_calls` — waiting, anchorage, port and berth hours, productivity;
- :mod:`~streams.kpis.containers` — container visits and dwell, truck turnaround, throughput;
- :mod:`~streams.kpis.declarations` — WCO TRS release time and segments, inspections;
- :mod:`~streams.kpis.windows` — hourly and daily aggregates (PostgreSQL's percentile_cont);
- :mod:`~streams.kpis.reference` — :func:`all_kpis`, the batch reference, and
  :func:`entity_keys_of`, what an event affects.
"""

from streams.kpis.containers import (
    container_visit_kpis,
    container_visits,
    move_kpis,
    teu,
    truck_visit_kpis,
)
from streams.kpis.declarations import declaration_kpis
from streams.kpis.events import effective_events
from streams.kpis.model import (
    UNITS,
    EntityKind,
    Granularity,
    KpiFlag,
    KpiName,
    KpiValue,
    Unit,
    WindowAggregate,
)
from streams.kpis.port_calls import port_call_kpis
from streams.kpis.reference import (
    all_kpis,
    declaration_dependencies,
    declarations_depending_on,
    entity_keys_of,
)
from streams.kpis.windows import percentile_cont, window_aggregates

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
