"""The generator: a reproducible stream of the traffic at the ports it is given."""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from connectors.simulator.parameters import DEFAULT_WARMUP
from connectors.simulator.simulation import Simulation
from connectors.simulator.units import epoch_ms
from connectors.traffic_profiles import TrafficProfile, profile_for
from hub.domain.reference import Port
from schemas.models import Envelope


class PortTrafficGenerator:
    """An endless, reproducible stream of the vessel, cargo and customs events of port calls.

    Args:
        ports: the ports that see traffic (at least one).
        seed: seed of every random draw; None draws one (then ``seed`` tells which).
        start: time of the first event the stream yields (aware); default a day ago.
        mean_hours_between_calls: if given, replaces every port's mean gap between calls.
        scale: multiplies the container moves of each call (and so the cargo and customs
            events); vessel timelines, and so port times and berth occupancy, do not change,
            crane and berth productivity scale with it.
        profiles: traffic profile of a port by UN/LOCODE, replacing
            :func:`~connectors.traffic_profiles.profile_for`'s with the port's configured
            ``berths``.
        warmup: how long the simulation runs before ``start``.
        certifiable: whether goods of an HS code (6 digits) may be certified under an agreement
            (its schedule); an import invokes a certificate only then, as an exporter would.
            Default: every agreement covers every code.
    """

    def __init__(
        self,
        ports: Sequence[Port],
        seed: int | None = None,
        start: datetime | None = None,
        mean_hours_between_calls: float | None = None,
        *,
        scale: float = 1.0,
        profiles: Mapping[str, TrafficProfile] | None = None,
        warmup: timedelta = DEFAULT_WARMUP,
        certifiable: Callable[[str, str], bool] | None = None,
    ) -> None:
        if not ports:
            raise ValueError("the generator needs at least one port")
        if not (scale > 0 and math.isfinite(scale)):
            raise ValueError(f"scale must be a positive number, not {scale}")
        if warmup < timedelta(0):
            raise ValueError("warmup must not be negative")
        start = start or datetime.now(UTC) - timedelta(days=1)
        if start.tzinfo is None:
            raise ValueError("start must be an aware datetime")
        self.ports = list(ports)
        self.seed = seed if seed is not None else random.randrange(2**64)
        self.start = start
        self.scale = scale
        self.warmup = warmup
        self.certifiable = certifiable or _any_goods
        chosen = profiles or {}
        self.profiles = {
            port.unlocode: chosen.get(port.unlocode) or _profile(port) for port in ports
        }
        if mean_hours_between_calls is not None:
            self.profiles = {
                code: replace(profile, mean_hours_between_calls=mean_hours_between_calls)
                for code, profile in self.profiles.items()
            }

    def events(self) -> Iterator[Envelope]:
        """Every event from ``start`` on, in the order they become known, without end.

        Each call starts the stream afresh: the same events every time.
        """
        return Simulation(self).run(epoch_ms(self.start))

    def events_between(self, start: datetime, end: datetime) -> Iterator[Envelope]:
        """The events with ``start <= occurred_at < end``, in stream order.

        For an estimated arrival the time compared is when it is published (a day ahead of
        what it estimates), as for every other event: the window is what the stream carried.

        Raises:
            ValueError: ``start`` is before the generator's ``start``.
        """
        if start < self.start:
            raise ValueError(f"the stream starts at {self.start.isoformat()}")
        end_ms = epoch_ms(end)
        for event in Simulation(self).run(epoch_ms(start)):
            if epoch_ms(event.published_at) >= end_ms:
                return
            yield event


def _any_goods(agreement: str, hs_code: str) -> bool:
    return True


def _profile(port: Port) -> TrafficProfile:
    """The port's traffic profile, with the berth count its ports file gives (if any)."""
    profile = profile_for(port.unlocode)
    return replace(profile, berths=port.berths) if port.berths else profile
