"""Where an event goes in Kafka: the ingest topic of its domain, the partition of its port.

Every way in (HTTP, the Kafka gateway, EDIFACT, AIS) and the traffic generator route an event
with these two functions, so that the same event lands on the same topic and partition however
it came in.
"""

from __future__ import annotations

from typing import Final

from schemas.models import MODELS, Envelope

__all__ = ["domain_of", "partition_key"]

_DOMAINS: Final[dict[type[Envelope], str]] = {model: domain for domain, model in MODELS.items()}


def domain_of(event: Envelope) -> str:
    """The domain of ``event`` (``vessel``, ``cargo``, ``customs`` or ``certificate``).

    Raises:
        ValueError: ``event`` is an envelope of no domain.
    """
    domain = _DOMAINS.get(type(event))
    if domain is None:
        domain = next((d for m, d in _DOMAINS.items() if isinstance(event, m)), None)
        if domain is None:
            raise ValueError(f"{type(event).__name__} is not an event of any domain")
    return domain


def partition_key(event: Envelope) -> bytes:
    """The Kafka key of ``event`` on its ingest topic: its port (UN/LOCODE).

    The port, not the entity, because every KPI entity (a port call, a container visit, a truck
    visit, a declaration), every window and every certificate (held by the port that submitted
    it first) belongs to one port. Keyed by port, all of a port's events are in order on one
    partition, so a worker that owns a partition owns whole ports and can keep their state
    without locks or coordination with other workers; the worker redesign (issue 18) builds on
    that. The cost: one port is one partition's load, so the busiest port bounds how far the
    hub scales out.
    """
    return event.port.encode()
