"""Liner services: the routes that call the ports, and the fleets that sail them."""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Mapping, Sequence

from stdnum import imo as stdnum_imo

from connectors.simulator.entities import Service, Vessel
from connectors.simulator.parameters import FLAGS, SERVICE_NAMES, VESSEL_WORDS
from connectors.traffic_profiles import OUTSIDE_PORTS, PortSize, TrafficProfile
from hub.domain.reference import Port


def liner_services(
    rng: random.Random, ports: Sequence[Port], profiles: Mapping[str, TrafficProfile]
) -> list[Service]:
    """Liner services calling the ports (larger ports in more services), with their fleets.

    Every port is in at least one service; services that call a small port use smaller ships.
    """
    weight = {PortSize.SMALL: 1.0, PortSize.MEDIUM: 2.0, PortSize.LARGE: 5.0}
    codes = [port.unlocode for port in ports]
    routes: list[list[str]] = []
    for _ in range(max(3, round(len(codes) * 0.7))):
        stops = _weighted_sample(
            rng, codes, [weight[profiles[code].size] for code in codes], rng.randint(3, 6)
        )
        routes.append(stops + rng.sample(OUTSIDE_PORTS, rng.randint(0, 2)))
    for code in codes:
        if not any(code in route for route in routes):
            rng.choice(routes).insert(0, code)
    names = [f"{a} {b}" for a in VESSEL_WORDS[0] for b in VESSEL_WORDS[1]]
    rng.shuffle(names)
    named = itertools.count()
    services: list[Service] = []
    for number, route in enumerate(routes):
        feeder = any(profiles[code].size is PortSize.SMALL for code in route if code in codes)
        low, high = (1_000, 4_500) if feeder else (3_500, 15_000)
        vessels = []
        for _ in range(rng.randint(3, 7)):
            teu = round(rng.uniform(low, high), -2)
            digits = f"{rng.randint(900_000, 999_999)}"
            mid, prefix = rng.choice(FLAGS)
            vessels.append(
                Vessel(
                    imo=digits + stdnum_imo.calc_check_digit(digits),
                    name=_name(names, next(named)),
                    teu_capacity=int(teu),
                    loa_m=round(70 + 2.6 * math.sqrt(teu), 1),
                    mmsi=f"{mid}{rng.randint(0, 999_999):06d}",
                    call_sign=prefix
                    + "".join(rng.choices("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789", k=4)),
                )
            )
        code = f"{SERVICE_NAMES[number % len(SERVICE_NAMES)]}{number // len(SERVICE_NAMES) + 1}"
        services.append(Service(code, tuple(route), tuple(vessels)))
    return services


def _name(names: Sequence[str], number: int) -> str:
    """The ``number``-th vessel name: the list, then the list again with II, III, ..."""
    rounds, at = divmod(number, len(names))
    return names[at] + (f" {'I' * (rounds + 1)}" if rounds else "")


def _weighted_sample(
    rng: random.Random, items: Sequence[str], weights: Sequence[float], count: int
) -> list[str]:
    pool, pool_weights = list(items), list(weights)
    chosen: list[str] = []
    for _ in range(min(count, len(pool))):
        at = rng.choices(range(len(pool)), pool_weights)[0]
        chosen.append(pool.pop(at))
        pool_weights.pop(at)
    return chosen
