"""One run of the traffic model: a heap of ports, call plans and entities, popped in time order."""

from __future__ import annotations

import heapq
import itertools
import math
import random
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Final

from stdnum import iso6346

from connectors.certificates import CertificateIssuer
from connectors.simulator.draws import cranes_for, lift_times, random_round, split_evenly, trader
from connectors.simulator.entities import (
    Box,
    Call,
    CallPlan,
    Certificate,
    Consignment,
    CustomsStep,
    Declaration,
    Entity,
    PortState,
    VesselStep,
    act,
)
from connectors.simulator.parameters import (
    BERTH_SHIFT_SHARE,
    CARGO_LEAD_MS,
    CERTIFICATE_FAULTS,
    CERTIFICATE_SHARE,
    CONSIGNMENT_BOXES,
    DRY_SIZE_TYPES,
    EARLY_EST_AHEAD_H,
    EARLY_EST_SHARE,
    EARLY_EST_SIGMA_MIN,
    EMPTY_SHARE,
    EST_SHARE,
    EXPORT_CHANNELS,
    EXPORT_DECLARED_SHARE,
    HELD_SHARE,
    IMPORT_CHANNELS,
    LATE_EST_AHEAD_H,
    LATE_EST_SHARE,
    LATE_EST_SIGMA_MIN,
    LOOKAHEAD_MS,
    MAX_CARGO_KG,
    OUTSIDE,
    OWNERS,
    PAPER_CHECK_HOURS,
    PAPER_PREFERENCE_SHARE,
    REEFER_TYPE,
    RELAY_DEMAND,
    SECOND_INSPECTION_SHARE,
    TARE_KG,
    TRANSSHIPMENT_MAX_MS,
    TRANSSHIPMENT_MIN_MS,
    YARD_MOVE_SHARE,
)
from connectors.simulator.services import liner_services
from connectors.simulator.units import HOUR, MINUTE, datetime_at, days, epoch_ms, hours, minutes
from connectors.traffic_profiles import INTRA_REGIONAL_SHARE, Goods, agreement_between, goods_of
from schemas.models import (
    Channel,
    Classifier,
    CustomsKind,
    Envelope,
    Facility,
    Move,
    Operation,
    Regime,
    Trade,
)

if TYPE_CHECKING:
    from connectors.simulator.generator import PortTrafficGenerator


_NO_IDS: Final[tuple[None, None, None]] = (None, None, None)


def _due(step: tuple[Any, ...]) -> int:
    due: int = step[0]
    return due


class Simulation:
    """One run of a generator's stream: its own random streams, heap and port states."""

    def __init__(self, generator: PortTrafficGenerator) -> None:
        master = random.Random(generator.seed)
        self.scale = generator.scale
        self.certifiable = generator.certifiable
        self.countries = sorted({port.country for port in generator.ports})
        self.partners = {
            country: [port.country for port in generator.ports if port.country != country]
            for country in self.countries
        }
        services = liner_services(
            random.Random(master.getrandbits(64)), generator.ports, generator.profiles
        )
        self.ports = [
            PortState(
                port,
                generator.profiles[port.unlocode],
                [service for service in services if port.unlocode in service.route],
                random.Random(master.getrandbits(64)),
                random.Random(master.getrandbits(64)),
            )
            for port in generator.ports
        ]
        self.owner_serials = dict.fromkeys(OWNERS, master.randrange(1_000_000))
        # Paper preference claims draw from streams of their own, seeded from the seed and the
        # port (not from ``master``): adding them left every earlier draw as it was.
        self.paper_rngs = {
            port.unlocode: random.Random(f"{generator.seed}/paper-preferences/{port.unlocode}")
            for port in generator.ports
        }
        # The extra estimated arrivals draw from streams of their own, seeded from the seed
        # without drawing from ``master``: every other draw stays what it was before them.
        self.estimate_rngs = {
            port.unlocode: random.Random(f"{generator.seed}/estimates/{port.unlocode}")
            for port in generator.ports
        }
        self.certificates = CertificateIssuer()
        self.goods: dict[str, tuple[Goods, ...]] = {}
        self.heap: list[tuple[int, int, Entity[Any] | PortState | CallPlan]] = []
        self.order = itertools.count()
        # Vessels start arriving at start - warmup; their calls are planned LOOKAHEAD earlier.
        first_arrivals = epoch_ms(generator.start - generator.warmup)
        self.clock = first_arrivals - LOOKAHEAD_MS
        for state in self.ports:
            state.next_arrival = first_arrivals + self._gap(state)
            self._push(state.next_arrival - LOOKAHEAD_MS, state)

    def run(self, from_ms: int) -> Iterator[Envelope]:
        """The events due at or after ``from_ms``, in order; earlier ones are only simulated."""
        heap = self.heap
        while True:
            due, _, item = heapq.heappop(heap)
            self.clock = due
            if isinstance(item, PortState):
                self._next_call(item)
                continue
            if isinstance(item, CallPlan):
                self._inbound(item)
                continue
            index = item.cursor
            item.cursor += 1
            if item.cursor < len(item.steps):
                self._push(item.steps[item.cursor][0], item)
            else:
                item.queued = False
            if due >= from_ms:
                yield item.build(index)

    def _push(self, due: int, item: Entity[Any] | PortState | CallPlan) -> None:
        if due < self.clock:  # an event in the past would break the stream's order
            raise AssertionError(
                f"scheduled at {datetime_at(due)}, before the clock {datetime_at(self.clock)}"
            )
        if isinstance(item, Entity):
            item.queued = True
        heapq.heappush(self.heap, (due, next(self.order), item))

    def _enqueue(self, entity: Entity[Any]) -> None:
        """Queue an entity that is not queued, at its next step (its steps sorted first)."""
        if entity.cursor == 0:
            entity.steps.sort(key=_due)
        self._push(entity.steps[entity.cursor][0], entity)

    def _gap(self, state: PortState) -> int:
        mean_h = state.profile.mean_hours_between_calls
        return hours(state.vessel_rng.expovariate(1 / mean_h))

    # --- a call ---------------------------------------------------------------------------

    def _next_call(self, state: PortState) -> None:
        """Plan the call arriving next at the port (its vessel events and exports now, the rest
        of its cargo :data:`~connectors.simulator.parameters.CARGO_LEAD_MS` before arrival),
        and schedule the one after."""
        arrival = state.next_arrival
        state.next_arrival = arrival + self._gap(state)
        self._push(state.next_arrival - LOOKAHEAD_MS, state)
        plan = self._vessel_call(state, arrival)
        self._outbound(state, plan)
        self._push(arrival - CARGO_LEAD_MS, plan)

    def _vessel_call(self, state: PortState, arrival: int) -> CallPlan:
        """Plan a call's vessel timeline, queue its events, and book its berths."""
        rng, profile, port = state.vessel_rng, state.profile, state.port.unlocode
        state.calls += 1
        service = rng.choice(state.services)
        vessel = rng.choice(service.vessels)
        previous_port, next_port = service.neighbours(port)
        call_id = f"{port}-{datetime_at(arrival):%Y%m%d}-{state.calls:05d}"
        call = Call(rng.getrandbits(128), port, call_id, vessel, service, previous_port, next_port)
        steps = call.steps
        if rng.random() < EST_SHARE:
            estimate = arrival + minutes(rng.gauss(0, 90))
            steps.append((arrival - hours(rng.uniform(20, 28)), estimate, Classifier.EST,
                          Operation.ARRI, Facility.PORT, None, True))  # fmt: skip
        steps += self._further_estimates(port, arrival)
        steps.append(act(arrival, Operation.ARRI, Facility.PORT, particulars=True))

        approach, pilotage = minutes(rng.uniform(40, 100)), minutes(rng.uniform(45, 90))
        unhindered = arrival + approach + pilotage
        berth = min(range(profile.berths), key=state.berth_free.__getitem__)
        held = 0
        if profile.anchorage_mean_h and rng.random() < profile.anchorage_share:
            held = hours(rng.expovariate(1 / profile.anchorage_mean_h))
        all_fast = max(unhindered + held, state.berth_free[berth])
        boarding = all_fast - pilotage
        if all_fast - unhindered > 45 * MINUTE:
            anchored = arrival + minutes(rng.uniform(15, 40))
            weighed = boarding - minutes(rng.uniform(20, 45))
            if weighed > anchored + 15 * MINUTE:
                steps.append(act(anchored, Operation.ARRI, Facility.ANCH))
                steps.append(act(weighed, Operation.DEPA, Facility.ANCH))
        steps.append(act(boarding, Operation.ARRI, Facility.PBPL))
        berth_id = f"B{berth + 1}"
        steps.append(act(all_fast, Operation.ARRI, Facility.BRTH, berth_id))

        low, high = profile.moves_per_call
        size = min(1.0, max(0.0, (vessel.teu_capacity - 1_000) / 14_000))
        nominal = round(low + (high - low) * (0.6 * size + 0.4 * rng.random()))
        cranes = cranes_for(vessel.teu_capacity)
        rate = profile.crane_moves_per_hour * rng.uniform(0.8, 1.2)
        working = hours(max(1.0, nominal / (cranes * rate)))
        first_lift = all_fast + minutes(rng.uniform(30, 90))
        steps.append(act(first_lift, Operation.STRT, Facility.BRTH, berth_id))
        segments = [(first_lift, first_lift + working, self._crane_ids(state, berth, cranes))]
        last_berth, last_berth_id = berth, berth_id
        if profile.berths > 1 and working > 6 * HOUR and rng.random() < BERTH_SHIFT_SHARE:
            stop = first_lift + round(working * rng.uniform(0.3, 0.7))
            leave = stop + minutes(rng.uniform(20, 40))
            free = [b for b in range(profile.berths) if b != berth and state.berth_free[b] <= leave]
            if free:
                last_berth = rng.choice(free)
                last_berth_id = f"B{last_berth + 1}"
                moored = leave + minutes(rng.uniform(40, 90))
                resume = moored + minutes(rng.uniform(30, 60))
                # The cranes travel along the quay with the ship.
                cranes_working = segments[0][2]
                segments = [
                    (first_lift, stop, cranes_working),
                    (resume, resume + working - (stop - first_lift), cranes_working),
                ]
                steps.append(act(leave, Operation.DEPA, Facility.BRTH, berth_id))
                steps.append(act(moored, Operation.ARRI, Facility.BRTH, last_berth_id))
                state.berth_free[berth] = leave + minutes(rng.uniform(30, 60))
        last_lift = segments[-1][1]
        departure = last_lift + minutes(rng.uniform(45, 150))
        steps.append(act(last_lift, Operation.CMPL, Facility.BRTH, last_berth_id))
        steps.append(act(departure, Operation.DEPA, Facility.BRTH, last_berth_id))
        state.berth_free[last_berth] = departure + minutes(rng.uniform(30, 60))
        self._enqueue(call)
        return CallPlan(state, call_id, all_fast, first_lift, segments, nominal)

    def _further_estimates(self, port: str, arrival: int) -> list[VesselStep]:
        """For some calls, an estimated arrival published 3-4 days ahead, and a last one a few
        hours ahead (each never estimating a time before its own publication)."""
        rng = self.estimate_rngs[port]
        steps: list[VesselStep] = []
        for share, (soonest, latest), sigma in (
            (EARLY_EST_SHARE, EARLY_EST_AHEAD_H, EARLY_EST_SIGMA_MIN),
            (LATE_EST_SHARE, LATE_EST_AHEAD_H, LATE_EST_SIGMA_MIN),
        ):
            if rng.random() >= share:
                continue
            published = arrival - hours(rng.uniform(soonest, latest))
            estimate = max(arrival + minutes(rng.gauss(0, sigma)), published + HOUR)
            steps.append((published, estimate, Classifier.EST, Operation.ARRI, Facility.PORT,
                          None, True))  # fmt: skip
        return steps

    def _crane_ids(self, state: PortState, berth: int, count: int) -> tuple[str, ...]:
        """``count`` neighbouring cranes along the quay at ``berth`` (numbered from one end)."""
        first = min(3 * berth, state.cranes - count)
        return tuple(f"STS-{first + k + 1:02d}" for k in range(count))

    # --- its cargo ------------------------------------------------------------------------

    def _outbound(self, state: PortState, plan: CallPlan) -> None:
        """Size the call's cargo, and plan its exports (they come in by truck days ahead)."""
        rng, share = state.cargo_rng, state.profile.transshipment_share
        plan.moves = max(1, random_round(rng, plan.nominal_moves * self.scale))
        plan.restows = random_round(rng, plan.moves * rng.uniform(0.01, 0.03))
        plan.discharges = round((plan.moves - plan.restows) * rng.uniform(0.42, 0.58))
        loads = plan.moves - plan.restows - plan.discharges
        plan.exports = loads - min(loads, random_round(rng, loads * share * RELAY_DEMAND))
        plan.lift_seed = rng.getrandbits(64)
        exports = self._consignments(state, plan.exports, Trade.EXPORT)
        leaving = [box for boxes in exports.values() for box in boxes]
        rng.shuffle(leaving)
        loading, _ = split_evenly(self._lifts(plan)[plan.discharges + plan.restows :], plan.exports)
        for box, (at, crane) in zip(leaving, loading, strict=True):
            box.steps.append((at, Move.LOAD, plan.call_id, crane, None))
        for consignment, boxes in exports.items():
            self._export(state, plan, consignment, boxes)
        for box in leaving:
            self._enqueue(box)

    def _inbound(self, plan: CallPlan) -> None:
        """The rest of the call's cargo: imports (and their customs), transshipment, restows."""
        state = plan.state
        rng, share = state.cargo_rng, state.profile.transshipment_share
        lifts = self._lifts(plan)
        unloading = lifts[: plan.discharges]
        restowing = lifts[plan.discharges : plan.discharges + plan.restows]
        _, relaying = split_evenly(lifts[plan.discharges + plan.restows :], plan.exports)
        relayed = self._take_transshipments(state, plan, len(relaying))
        rng.shuffle(relayed)
        imports = self._consignments(
            state, random_round(rng, plan.discharges * (1 - share)), Trade.IMPORT
        )
        arriving = [box for boxes in imports.values() for box in boxes]
        arriving += [
            self._box(state, Trade.TRANSSHIPMENT, self._transit_consignment(state))
            for _ in range(plan.discharges - len(arriving))
        ]
        rng.shuffle(arriving)
        # Restowed boxes are other ports' cargo: no trade here.
        restowed = [self._box(state, None, self._transit_consignment(state)) for _ in restowing]
        for boxes, lifted, move in (
            (arriving, unloading, Move.DISC),
            (restowed, restowing, Move.RSTW),
            (relayed, relaying, Move.LOAD),  # fewer boxes than slots when too few are waiting
        ):
            for box, (at, crane) in zip(boxes, lifted, strict=False):
                box.steps.append((at, move, plan.call_id, crane, None))

        for consignment, boxes in imports.items():
            self._import(state, plan, consignment, boxes)
        for box in arriving:
            if box.trade is Trade.TRANSSHIPMENT:
                discharged = box.steps[0][0]
                connection = min(10.0, max(0.5, rng.lognormvariate(math.log(2.5), 0.6)))
                box.ready_ms = discharged + days(connection)
                if rng.random() < YARD_MOVE_SHARE[Trade.TRANSSHIPMENT]:
                    moved = discharged + hours(rng.uniform(1, 24))
                    box.steps.append((moved, Move.YARD, *_NO_IDS))
                state.transshipments.append(box)
        for box in itertools.chain(arriving, restowed, relayed):
            if not box.queued:  # a relayed box may still be queued for its earlier moves
                self._enqueue(box)

    def _lifts(self, plan: CallPlan) -> list[tuple[int, str]]:
        """The times and cranes of the call's lifts: the same in both phases of its planning."""
        return lift_times(random.Random(plan.lift_seed), plan.segments, plan.moves)

    def _take_transshipments(self, state: PortState, plan: CallPlan, room: int) -> list[Box]:
        """Up to ``room`` boxes discharged by earlier calls for this one to load, oldest first.

        A box is ready once its connection time has passed and its last move is
        :data:`~connectors.simulator.parameters.TRANSSHIPMENT_MIN_MS` behind it.
        """
        ready_by = plan.first_lift - TRANSSHIPMENT_MIN_MS
        give_up_before = plan.first_lift - TRANSSHIPMENT_MAX_MS
        taken: list[Box] = []
        waiting: list[Box] = []
        for box in state.transshipments:
            ready = box.steps[-1][0] <= ready_by and box.ready_ms <= plan.first_lift
            if ready and len(taken) < room:
                taken.append(box)
            elif box.steps[0][0] > give_up_before:
                waiting.append(box)
        state.transshipments = waiting
        return taken

    def _consignments(
        self, state: PortState, count: int, trade: Trade
    ) -> dict[Consignment, list[Box]]:
        """``count`` boxes of ``trade`` in consignments of 1-3 boxes (empties 1 each)."""
        rng, country = state.cargo_rng, state.port.country
        result: dict[Consignment, list[Box]] = {}
        left = count
        while left > 0:
            if rng.random() < EMPTY_SHARE[trade]:
                partner = self._partner(rng, country)
                origin, destination = (
                    (partner, country) if trade is Trade.IMPORT else (country, partner)
                )
                consignment = Consignment(origin, destination, None)
                result[consignment] = [self._box(state, trade, consignment)]
                left -= 1
                continue
            boxes = min(left, CONSIGNMENT_BOXES.draw(rng))
            partner = self._partner(rng, country)
            if trade is Trade.IMPORT:
                consignment = Consignment(
                    partner,
                    country,
                    self._goods(rng, partner),
                    trader(rng, country),
                    trader(rng, partner),
                )
            else:
                consignment = Consignment(
                    country,
                    partner,
                    self._goods(rng, country),
                    trader(rng, partner),
                    trader(rng, country),
                )
            result[consignment] = [self._box(state, trade, consignment) for _ in range(boxes)]
            left -= boxes
        return result

    def _transit_consignment(self, state: PortState) -> Consignment:
        """Origin and destination of a transshipment box: neither is this port's country."""
        rng, country = state.cargo_rng, state.port.country
        origin = self._partner(rng, country)
        destination = self._partner(rng, country)
        while destination == origin:
            destination = self._partner(rng, country, regional=rng.random() < 0.5)
        if rng.random() < EMPTY_SHARE[Trade.TRANSSHIPMENT]:
            return Consignment(origin, destination, None)
        return Consignment(origin, destination, self._goods(rng, origin))

    def _partner(self, rng: random.Random, country: str, regional: bool | None = None) -> str:
        """A trade partner of ``country``: in the region (weighted by its ports) or outside."""
        if regional is None:
            regional = rng.random() < INTRA_REGIONAL_SHARE
        others = self.partners.get(country, [])
        if regional and others:
            return rng.choice(others)
        return OUTSIDE.draw(rng)

    def _goods(self, rng: random.Random, origin: str) -> Goods:
        """Goods that ``origin`` produces."""
        produced = self.goods.get(origin)
        if produced is None:
            produced = self.goods[origin] = goods_of(origin)
        return rng.choice(produced)

    def _box(self, state: PortState, trade: Trade | None, consignment: Consignment) -> Box:
        rng = state.cargo_rng
        goods = consignment.goods
        size_type = REEFER_TYPE if goods is not None and goods.reefer else DRY_SIZE_TYPES.draw(rng)
        cargo_kg, value_cents = 0, None
        if goods is not None:
            per_teu = rng.uniform(*goods.tonnes_per_teu) * 1_000
            cargo_kg = round(min(per_teu * (1 if size_type[0] == "2" else 1.3),
                                 MAX_CARGO_KG[size_type[0]]))  # fmt: skip
            value_cents = round(cargo_kg * rng.uniform(*goods.usd_per_kg) * 100)
        return Box(
            rng.getrandbits(128),
            state.port.unlocode,
            self._container_number(rng),
            size_type,
            TARE_KG[size_type] + cargo_kg,
            trade,
            consignment,
            value_cents,
        )

    def _container_number(self, rng: random.Random) -> str:
        """A valid ISO 6346 number, unique until its owner's million serials come round again."""
        owner = rng.choice(OWNERS)
        self.owner_serials[owner] += 1
        serial = f"{owner}{self.owner_serials[owner] * 389_419 % 1_000_000:06d}"
        return serial + iso6346.calc_check_digit(serial)

    def _truck(self, state: PortState) -> str:
        return f"{state.port.unlocode}-TV{state.next('truck'):08d}"

    # --- imports and exports ----------------------------------------------------------------

    def _import(
        self, state: PortState, plan: CallPlan, consignment: Consignment, boxes: list[Box]
    ) -> None:
        """Customs (for full boxes), yard moves and the truck that takes each box away."""
        rng = state.cargo_rng
        released = max(box.steps[0][0] for box in boxes)
        inspected_from: int | None = None
        if consignment.goods is not None:
            released, inspected_from = self._import_declaration(state, plan, consignment, boxes)
        for box in boxes:
            discharged = box.steps[0][0]
            dwell = days(min(20.0, max(0.5, rng.lognormvariate(math.log(3.5), 0.5))))
            gate_out = max(discharged + dwell, released + hours(rng.uniform(1, 24)))
            gate_in = gate_out - minutes(rng.uniform(10, 60))
            if inspected_from is not None:  # to the inspection area
                moved = max(
                    discharged + 10 * MINUTE, inspected_from - minutes(rng.uniform(30, 180))
                )
                box.steps.append((moved, Move.YARD, *_NO_IDS))
            elif rng.random() < YARD_MOVE_SHARE[Trade.IMPORT]:
                moved = discharged + round((gate_in - discharged) * rng.uniform(0.1, 0.5))
                box.steps.append((moved, Move.YARD, *_NO_IDS))
            truck = self._truck(state)
            box.steps.append((gate_in, Move.GTIN, None, None, truck))
            box.steps.append((gate_out, Move.GTOT, None, None, truck))

    def _import_declaration(
        self, state: PortState, plan: CallPlan, consignment: Consignment, boxes: list[Box]
    ) -> tuple[int, int | None]:
        """Queue the declaration of an import consignment.

        Returns when it is released, and when its first physical inspection starts (if any).
        """
        rng = state.cargo_rng
        declaration = self._declaration(state, plan, consignment, boxes, Regime.IMPORT)
        exporting, importing = consignment.origin, consignment.destination
        agreement = agreement_between(exporting, importing) if exporting and importing else None
        goods = consignment.goods
        if (
            agreement
            and goods is not None
            and rng.random() < CERTIFICATE_SHARE
            and self.certifiable(agreement, goods.hs_code)
        ):
            year = datetime_at(plan.all_fast).year
            number = state.next("certificate")
            declaration.agreement = agreement
            declaration.certificate_id = (
                f"{exporting}-{agreement}-{year}-{state.port.unlocode[2:]}{number:06d}"
            )
        paper_check = 0
        if (
            agreement
            and goods is not None
            and not declaration.certificate_id
            and self.certifiable(agreement, goods.hs_code)
        ):
            paper = self.paper_rngs[state.port.unlocode]
            if paper.random() < PAPER_PREFERENCE_SHARE:
                declaration.agreement = agreement
                paper_check = hours(paper.uniform(*PAPER_CHECK_HOURS))
        if declaration.certificate_id or rng.random() < 0.5:
            declaration.invoice_number = (
                f"INV-{datetime_at(plan.all_fast).year}-{state.next('invoice'):07d}"
            )

        last_discharge = max(box.steps[0][0] for box in boxes)
        lodged = max(self.clock, plan.all_fast + hours(rng.uniform(-48, 24)))
        if declaration.certificate_id:
            certificate = Certificate(
                rng.getrandbits(128),
                self.certificates,
                declaration,
                lodged,
                CERTIFICATE_FAULTS.draw(rng),
            )
            certificate.steps.append((max(self.clock, lodged - hours(rng.uniform(2, 72))),))
            self._enqueue(certificate)
        assigned = max(lodged, plan.all_fast) + minutes(rng.uniform(5, 180))
        channel = IMPORT_CHANNELS.draw(rng)
        steps = declaration.steps
        steps += [(lodged, CustomsKind.LODGED, None), (assigned, CustomsKind.CHANNEL, channel)]
        inspected_from = None
        if channel is Channel.GREEN:
            released = assigned + minutes(rng.uniform(5, 120))
        elif channel is Channel.YELLOW:
            released = assigned + hours(rng.uniform(4, 36))
        else:
            start = inspected_from = max(assigned, last_discharge) + hours(rng.uniform(3, 36))
            for _ in range(2 if rng.random() < SECOND_INSPECTION_SHARE else 1):
                finish = start + hours(rng.uniform(1, 5))
                steps.append((start, CustomsKind.INSPECTION_STARTED, None))
                steps.append((finish, CustomsKind.INSPECTION_FINISHED, None))
                start = finish + hours(rng.uniform(6, 48))
            released = finish + hours(rng.uniform(1, 12))
        released += paper_check
        if rng.random() < HELD_SHARE:
            steps.append((released, CustomsKind.HELD, None))
            released += hours(rng.uniform(24, 144))
        steps.append((released, CustomsKind.RELEASED, None))
        self._enqueue(declaration)
        return released, inspected_from

    def _export(
        self, state: PortState, plan: CallPlan, consignment: Consignment, boxes: list[Box]
    ) -> None:
        """The truck that brings each box days before it is loaded; some are declared."""
        rng = state.cargo_rng
        for box in boxes:
            loaded = box.steps[0][0]
            dwell = days(min(5.0, max(0.4, rng.lognormvariate(math.log(2.5), 0.45))))
            gate_in = loaded - dwell
            box.steps.append((gate_in, Move.GTIN, None, None, self._truck(state)))
            if rng.random() < YARD_MOVE_SHARE[Trade.EXPORT]:
                moved = gate_in + round(dwell * rng.uniform(0.2, 0.8))
                box.steps.append((moved, Move.YARD, *_NO_IDS))
        if consignment.goods is None or rng.random() >= EXPORT_DECLARED_SHARE:
            return
        declaration = self._declaration(state, plan, consignment, boxes, Regime.EXPORT)
        gate_ins = [step[0] for box in boxes for step in box.steps if step[1] is Move.GTIN]
        first_in, last_in = min(gate_ins), max(gate_ins)
        first_load = min(box.steps[0][0] for box in boxes)
        lodged = max(self.clock, first_in - hours(rng.uniform(2, 30)))
        assigned = lodged + minutes(rng.uniform(5, 60))
        channel = EXPORT_CHANNELS.draw(rng)
        steps: list[CustomsStep] = [
            (lodged, CustomsKind.LODGED, None),
            (assigned, CustomsKind.CHANNEL, channel),
        ]
        if channel is Channel.GREEN:
            released = assigned + minutes(rng.uniform(5, 60))
        elif channel is Channel.YELLOW:
            released = assigned + hours(rng.uniform(2, 12))
        else:
            start = max(assigned, last_in) + hours(rng.uniform(1, 8))
            finish = start + hours(rng.uniform(1, 3))
            steps.append((start, CustomsKind.INSPECTION_STARTED, None))
            steps.append((finish, CustomsKind.INSPECTION_FINISHED, None))
            released = finish + hours(rng.uniform(0.5, 3))
        if released > first_load - HOUR:  # no time for that before the ship: waved through
            steps = [(lodged, CustomsKind.LODGED, None),
                     (assigned, CustomsKind.CHANNEL, Channel.GREEN)]  # fmt: skip
            released = assigned + minutes(rng.uniform(5, 30))
        steps.append((released, CustomsKind.RELEASED, None))
        declaration.steps = steps
        self._enqueue(declaration)

    def _declaration(
        self,
        state: PortState,
        plan: CallPlan,
        consignment: Consignment,
        boxes: list[Box],
        regime: Regime,
    ) -> Declaration:
        letter = "IM" if regime is Regime.IMPORT else "EX"
        number = f"{state.port.unlocode}-{datetime_at(plan.all_fast).year}-{letter}"
        number += f"{state.next('declaration'):07d}"
        return Declaration(
            state.cargo_rng.getrandbits(128),
            state.port.unlocode,
            number,
            regime,
            consignment,
            boxes,
            plan.call_id,
        )
