"""The traffic generator's whole port calls: vessel, cargo and customs events that fit together."""

from __future__ import annotations

import asyncio
import collections
import itertools
import re
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import pytest
from stdnum import iso6346

import connectors.publisher as publisher_module
from connectors.event_files import read_jsonl, write_jsonl
from connectors.publisher import publish
from connectors.simulator import PortTrafficGenerator
from connectors.traffic_profiles import (
    DEFAULT_PROFILES,
    HUB_PROFILES,
    PORT_SIZES,
    PortSize,
    TrafficProfile,
    profile_for,
)
from hub.domain.certificates.document import parse_document
from hub.domain.kpis.reference import all_kpis
from hub.domain.reference import BUNDLED_PORTS_FILE, load_ports
from hub.kafka_topics import INGEST_TOPICS
from schemas.avro_schemas import schema_text
from schemas.models import (
    CargoEvent,
    CertificateSubmission,
    Channel,
    Classifier,
    CustomsEvent,
    CustomsKind,
    Envelope,
    Facility,
    Move,
    Operation,
    Regime,
    Trade,
    VesselEvent,
)
from schemas.rejections import Rejected
from schemas.routing import domain_of, partition_key
from schemas.validation import validate

PORTS = load_ports(BUNDLED_PORTS_FILE)
KNOWN_PORTS = frozenset(port.unlocode for port in PORTS)
REGION = frozenset(port.country for port in PORTS)
START = datetime(2026, 1, 1, tzinfo=UTC)
DAY = (START + timedelta(days=1), START + timedelta(days=2))
SCALE = 0.05


def generated_day(scale: float = SCALE) -> tuple[Envelope, ...]:
    """The second day of a stream at every port (generated once per scale)."""
    return _generated_day(scale)


@cache
def _generated_day(scale: float) -> tuple[Envelope, ...]:
    generator = PortTrafficGenerator(PORTS, seed=11, start=START, scale=scale)
    return tuple(generator.events_between(*DAY))


@cache
def generated_days(days: int = 4) -> tuple[Envelope, ...]:
    """Several days from the stream's start, for lives longer than a day (dwell, customs)."""
    generator = PortTrafficGenerator(PORTS, seed=12, start=START, scale=SCALE)
    return tuple(generator.events_between(START, START + timedelta(days=days)))


E = TypeVar("E", bound=Envelope)


def of_type(events: tuple[Envelope, ...], kind: type[E]) -> list[E]:
    return [event for event in events if isinstance(event, kind)]


# --- the stream ---------------------------------------------------------------------------------


def _unsigned(event: Envelope) -> Envelope:
    """The event with its certificate's document replaced by what it certifies: ECDSA signs
    with a random nonce, so the signature values (and the official's digest, which covers the
    exporter's signature) differ between two runs of the same seed; the content does not."""
    if not isinstance(event, CertificateSubmission):
        return event
    content = repr(parse_document(event.document)).encode()
    return event.model_copy(update={"document": content})


def test_the_same_seed_gives_the_same_events() -> None:
    def generator(seed: int) -> PortTrafficGenerator:
        return PortTrafficGenerator(
            PORTS, seed=seed, start=START, scale=0.02, warmup=timedelta(hours=12)
        )

    def first(stream: Iterator[Envelope], count: int = 2_000) -> list[Envelope]:
        return [_unsigned(event) for event in itertools.islice(stream, count)]

    five = generator(5)
    assert first(five.events()) == first(generator(5).events())
    assert first(five.events()) == first(five.events()), "each stream starts afresh"
    assert first(generator(6).events(), 200) != first(five.events(), 200)


def test_events_come_in_order_and_are_published_when_they_happen() -> None:
    day = generated_day()
    due = [event.published_at for event in day]
    assert due == sorted(due)
    assert all(DAY[0] <= moment < DAY[1] for moment in due)
    actual = [e for e in day if not (isinstance(e, VesselEvent) and e.classifier is Classifier.EST)]
    assert all(event.published_at == event.occurred_at for event in actual)
    occurred = [event.occurred_at for event in actual]
    assert occurred == sorted(occurred)
    estimates = [e for e in of_type(day, VesselEvent) if e.classifier is Classifier.EST]
    assert estimates, "some calls announce their arrival"
    for estimate in estimates:
        ahead = estimate.occurred_at - estimate.published_at
        assert timedelta(hours=2) < ahead < timedelta(hours=98), estimate
    assert len({event.event_id for event in day}) == len(day)


def test_a_day_has_every_domain_at_every_port() -> None:
    day = generated_day()
    assert {domain_of(event) for event in day} == {"vessel", "cargo", "customs", "certificate"}
    assert {event.port for event in day} == KNOWN_PORTS
    assert {event.port for event in of_type(day, CargoEvent)} == KNOWN_PORTS
    kinds = collections.Counter(event.kind for event in of_type(day, CustomsEvent))
    assert set(kinds) == set(CustomsKind)
    moves = collections.Counter(event.move for event in of_type(day, CargoEvent))
    assert set(moves) == set(Move)


def test_every_event_passes_the_semantic_checks() -> None:
    end = DAY[1] + timedelta(minutes=1)
    for event in generated_day():
        data = event.model_dump(mode="json")
        for now in (event.published_at, end):
            verdict = validate(domain_of(event), data, KNOWN_PORTS, now)
            assert not isinstance(verdict, Rejected), (verdict, event)
            assert verdict == event


def test_events_between_is_a_window_of_the_stream() -> None:
    generator = PortTrafficGenerator(PORTS, seed=11, start=START, scale=SCALE)
    window = (START + timedelta(hours=30), START + timedelta(hours=31))
    expected = [e for e in generated_day() if window[0] <= e.published_at < window[1]]
    assert [_unsigned(e) for e in generator.events_between(*window)] == [
        _unsigned(e) for e in expected
    ]
    with pytest.raises(ValueError, match="starts at"):
        next(generator.events_between(START - timedelta(hours=1), START))


def test_jsonl_round_trip_gives_the_same_events(tmp_path: Path) -> None:
    day = generated_day()
    path = tmp_path / "day.jsonl"
    assert write_jsonl(path, day) == len(day)
    assert read_jsonl(path) == list(day)
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith('{"domain": "')


def test_read_jsonl_names_a_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"domain": "ships", "event": {}}\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad\.jsonl:1"):
        read_jsonl(path)


def test_scale_thins_the_cargo_and_keeps_the_vessel_timeline() -> None:
    small, large = generated_day(SCALE), generated_day(2 * SCALE)
    assert of_type(small, VesselEvent) == of_type(large, VesselEvent)
    for kind in (CargoEvent, CustomsEvent):
        ratio = len(of_type(large, kind)) / len(of_type(small, kind))
        assert 1.8 < ratio < 2.2, (kind.__name__, ratio)


def test_a_day_at_scale_1_is_the_order_of_the_regions_traffic() -> None:
    """~55 million TEU a year in the region: a few hundred thousand events a day."""
    per_day = len(generated_day()) / SCALE
    assert 150_000 < per_day < 500_000, per_day


# --- vessel calls -------------------------------------------------------------------------------


def calls_of(events: tuple[Envelope, ...]) -> dict[tuple[str, str], list[VesselEvent]]:
    calls: dict[tuple[str, str], list[VesselEvent]] = collections.defaultdict(list)
    for event in of_type(events, VesselEvent):
        calls[(event.port, event.port_call_id)].append(event)
    return calls


def actual(events: list[VesselEvent], operation: Operation, facility: Facility) -> list[datetime]:
    return [
        e.occurred_at
        for e in events
        if e.classifier is Classifier.ACT and e.operation is operation and e.facility is facility
    ]


def test_a_berth_holds_one_ship_at_a_time() -> None:
    stays: dict[tuple[str, str | None], list[tuple[datetime, datetime]]] = collections.defaultdict(
        list
    )
    shifts = 0
    for (port, _), events in calls_of(generated_days()).items():
        moorings = [e for e in events if e.facility is Facility.BRTH and e.operation
                 in (Operation.ARRI, Operation.DEPA)]  # fmt: skip
        shifts += sum(e.operation is Operation.ARRI for e in moorings) > 1
        for arrived, left in itertools.pairwise(moorings):
            if arrived.operation is Operation.ARRI and left.operation is Operation.DEPA:
                assert arrived.berth_id == left.berth_id
                stays[(port, arrived.berth_id)].append((arrived.occurred_at, left.occurred_at))
    assert shifts, "some calls shift berth"
    berths = {port.unlocode: port.berths for port in PORTS}
    for (port, berth), intervals in stays.items():
        assert re.fullmatch(r"B[0-9]+", berth or ""), berth
        assert int((berth or "B0")[1:]) <= (berths[port] or 0)
        intervals.sort()
        for before, after in itertools.pairwise(intervals):
            assert before[1] <= after[0], (port, berth, before, after)


def test_calls_wait_at_anchorage_when_berths_are_busy() -> None:
    calls = calls_of(generated_days())
    anchored = [c for c in calls.values() if actual(c, Operation.ARRI, Facility.ANCH)]
    assert 0.1 < len(anchored) / len(calls) < 0.8
    for events in anchored:
        weighed = actual(events, Operation.DEPA, Facility.ANCH)
        all_fast = actual(events, Operation.ARRI, Facility.BRTH)
        if weighed and all_fast:
            assert actual(events, Operation.ARRI, Facility.ANCH)[0] < weighed[0] < all_fast[0]


def test_departed_calls_have_emissions_from_declared_sizes() -> None:
    """The generated calls give the emission KPIs what they read: anchorage and berth stays, and
    the particulars (teu_capacity, loa_m) on their first event."""
    by_name: dict[str, list[float]] = collections.defaultdict(list)
    for value in all_kpis(generated_days()):
        if value.kpi.startswith("co2_") and value.value is not None:
            by_name[value.kpi].append(value.value)
    assert len(by_name["co2_t"]) >= 20
    assert all(v > 0 for v in by_name["co2_berth_t"])
    assert sum(v > 0 for v in by_name["co2_anchorage_t"]) >= 0.1 * len(by_name["co2_t"])
    assert sum(v > 0 for v in by_name["co2_avoidable_t"]) > 0
    # Calls that began before the generated window lack their first event, hence their size.
    assert sum(by_name["co2_size_assumed_flag"]) < 0.25 * len(by_name["co2_t"])


# --- cargo --------------------------------------------------------------------------------------


def test_each_calls_moves_lie_between_its_first_and_last_lift() -> None:
    events = generated_days()
    calls = calls_of(events)
    moves: dict[tuple[str, str | None], list[CargoEvent]] = collections.defaultdict(list)
    for event in of_type(events, CargoEvent):
        if event.move in (Move.DISC, Move.LOAD, Move.RSTW):
            moves[(event.port, event.port_call_id)].append(event)
    checked = 0
    for key, call_moves in moves.items():
        call = calls.get((key[0], key[1] or ""), [])
        first, last = (
            actual(call, Operation.STRT, Facility.BRTH),
            actual(call, Operation.CMPL, Facility.BRTH),
        )
        if not (first and last):
            continue  # the call started before the stream
        checked += 1
        assert all(first[0] <= move.occurred_at <= last[0] for move in call_moves), key
        assert min(move.occurred_at for move in call_moves) == first[0]
        cranes = {move.crane_id for move in call_moves}
        assert all(re.fullmatch(r"STS-[0-9]{2}", crane or "") for crane in cranes)
        assert len(cranes) <= 5
    assert checked > 100


def test_containers_are_valid_and_described() -> None:
    for event in of_type(generated_day(), CargoEvent):
        assert iso6346.is_valid(event.container)
        assert event.iso_size_type in {"22G1", "42G1", "45G1", "22R1"}
        assert event.trade is not None or event.move is Move.RSTW
        if event.full and event.trade is not None:
            assert event.hs_code and len(event.hs_code) == 6
            assert event.declared_value_usd and event.declared_value_usd > 0
            assert event.origin_country and event.destination_country
            assert event.origin_country != event.destination_country
        if event.move in (Move.GTIN, Move.GTOT):
            assert event.truck_visit_id and not event.port_call_id


def test_trade_flows_are_mostly_within_the_region() -> None:
    boxes = {(e.port, e.container): e for e in of_type(generated_days(), CargoEvent)}
    port_country = {port.unlocode: port.country for port in PORTS}
    trade: collections.Counter[tuple[Trade | None, bool]] = collections.Counter()
    for (port, _), box in boxes.items():
        if not box.full or box.trade is None:
            continue
        country = port_country[port]
        if box.trade is Trade.IMPORT:
            assert box.destination_country == country
        elif box.trade is Trade.EXPORT:
            assert box.origin_country == country
        else:
            assert country not in (box.origin_country, box.destination_country)
        regional = box.origin_country in REGION and box.destination_country in REGION
        trade[(box.trade, regional)] += 1
    for flow in (Trade.IMPORT, Trade.EXPORT):
        share = trade[(flow, True)] / (trade[(flow, True)] + trade[(flow, False)])
        assert 0.5 < share < 0.7, (flow, share)
    assert trade[(Trade.TRANSSHIPMENT, False)], "some trade is with the rest of the world"


def test_containers_come_and_go_as_their_trade_says() -> None:
    lives: dict[tuple[str, str], list[CargoEvent]] = collections.defaultdict(list)
    for event in of_type(generated_days(), CargoEvent):
        lives[(event.port, event.container)].append(event)
    seen: collections.Counter[Trade | None] = collections.Counter()
    for life in lives.values():
        moves = [e.move for e in life]
        at = {e.move: e for e in life}
        trade = life[0].trade
        if trade is Trade.IMPORT and Move.DISC in at and Move.GTOT in at:
            assert moves[0] is Move.DISC and moves[-2:] == [Move.GTIN, Move.GTOT]
            assert at[Move.GTIN].truck_visit_id == at[Move.GTOT].truck_visit_id
            truck = at[Move.GTOT].occurred_at - at[Move.GTIN].occurred_at
            assert timedelta(0) < truck <= timedelta(hours=1)
            assert at[Move.GTOT].occurred_at - at[Move.DISC].occurred_at >= timedelta(hours=12)
            seen[trade] += 1
        elif trade is Trade.EXPORT and Move.GTIN in at and Move.LOAD in at:
            assert moves[0] is Move.GTIN and moves[-1] is Move.LOAD
            assert at[Move.LOAD].occurred_at - at[Move.GTIN].occurred_at >= timedelta(hours=9)
            seen[trade] += 1
        elif trade is Trade.TRANSSHIPMENT and Move.DISC in at and Move.LOAD in at:
            assert moves[0] is Move.DISC and moves[-1] is Move.LOAD
            assert at[Move.DISC].port_call_id != at[Move.LOAD].port_call_id
            assert at[Move.LOAD].occurred_at - at[Move.DISC].occurred_at >= timedelta(hours=6)
            seen[trade] += 1
    assert all(seen[trade] > 50 for trade in Trade), seen


# --- customs ------------------------------------------------------------------------------------


def declarations_of(events: tuple[Envelope, ...]) -> dict[tuple[str, str], list[CustomsEvent]]:
    declarations: dict[tuple[str, str], list[CustomsEvent]] = collections.defaultdict(list)
    for event in of_type(events, CustomsEvent):
        declarations[(event.port, event.declaration_id)].append(event)
    return declarations


def test_imports_leave_only_once_released() -> None:
    events = generated_days()
    released_at: dict[tuple[str, str], datetime] = {}
    declared: set[tuple[str, str]] = set()
    for (port, _), steps in declarations_of(events).items():
        lodged = [e for e in steps if e.kind is CustomsKind.LODGED]
        if not lodged or lodged[0].regime is not Regime.IMPORT:
            continue
        released = [e.occurred_at for e in steps if e.kind is CustomsKind.RELEASED]
        for container in lodged[0].containers:
            declared.add((port, container))
            if released:
                released_at[(port, container)] = released[0]
    checked = 0
    for event in of_type(events, CargoEvent):
        if event.move is Move.GTOT and (event.port, event.container) in declared:
            release = released_at.get((event.port, event.container))
            assert release is not None and release < event.occurred_at, event
            checked += 1
    assert checked > 100


def test_declarations_follow_their_steps() -> None:
    certificates = complete = 0
    for steps in declarations_of(generated_days()).values():
        kinds = [e.kind for e in steps]
        if kinds[0] is not CustomsKind.LODGED or CustomsKind.RELEASED not in kinds:
            continue  # lodged before the stream, or released after it
        lodged, channel = steps[0], steps[1]
        assert lodged.goods and lodged.containers and lodged.port_call_id
        assert lodged.importer_id and lodged.exporter_id
        assert all(line.value_usd > 0 and line.quantity > 0 for line in lodged.goods)
        if lodged.certificate_id:
            certificates += 1
            assert lodged.agreement and lodged.invoice_number
        assert channel.kind is CustomsKind.CHANNEL
        complete += 1
        inspections = kinds.count(CustomsKind.INSPECTION_STARTED)
        assert (inspections > 0) == (channel.channel is Channel.RED)
        assert inspections == kinds.count(CustomsKind.INSPECTION_FINISHED) <= 2
        assert kinds[-1] is CustomsKind.RELEASED and kinds.count(CustomsKind.HELD) <= 1
    assert complete > 1_000 and certificates > 20


def test_imports_are_channelled_about_70_20_10() -> None:
    channels = collections.Counter(
        e.channel
        for e in of_type(generated_days(), CustomsEvent)
        if e.kind is CustomsKind.CHANNEL and e.regime is Regime.IMPORT
    )
    total = sum(channels.values())
    assert 0.6 < channels[Channel.GREEN] / total < 0.82
    assert 0.12 < channels[Channel.YELLOW] / total < 0.26
    assert 0.06 < channels[Channel.RED] / total < 0.14


# --- profiles -----------------------------------------------------------------------------------


def test_profiles_cover_the_reference_ports() -> None:
    assert set(HUB_PROFILES) <= KNOWN_PORTS
    assert set(PORT_SIZES) <= KNOWN_PORTS
    for code in ("PAMIT", "PABLB", "BRSSZ", "MXZLO", "COCTG", "PECLL"):
        assert profile_for(code).size is PortSize.LARGE
    assert profile_for("XXABC") == DEFAULT_PROFILES[PortSize.MEDIUM]
    with pytest.raises(ValueError, match="berths"):
        TrafficProfile(PortSize.SMALL, 10.0, (1, 2), 0, 0.1, 1.0, 0.1)


def test_a_port_profile_drives_its_traffic() -> None:
    busy = TrafficProfile(PortSize.LARGE, 1.0, (100, 200), 20, 0.0, 0.0, 0.0)
    quiet = TrafficProfile(PortSize.SMALL, 48.0, (100, 200), 1, 0.0, 0.0, 0.0)
    generator = PortTrafficGenerator(
        PORTS[:2],
        seed=1,
        start=START,
        scale=0.1,
        profiles={PORTS[0].unlocode: busy, PORTS[1].unlocode: quiet},
        warmup=timedelta(days=1),
    )
    events = list(generator.events_between(START, START + timedelta(days=3)))
    arrivals = collections.Counter(
        e.port for e in of_type(tuple(events), VesselEvent)
        if e.operation is Operation.ARRI and e.facility is Facility.PORT
        and e.classifier is Classifier.ACT
    )  # fmt: skip
    assert arrivals[PORTS[0].unlocode] > 10 * max(1, arrivals[PORTS[1].unlocode])
    assert not any(e.trade is Trade.TRANSSHIPMENT for e in of_type(tuple(events), CargoEvent))


def test_a_mean_call_interval_overrides_every_profile_and_bad_arguments_are_refused() -> None:
    generator = PortTrafficGenerator(PORTS, seed=3, start=START, mean_hours_between_calls=2.0)
    assert {p.mean_hours_between_calls for p in generator.profiles.values()} == {2.0}
    with pytest.raises(ValueError, match="at least one port"):
        PortTrafficGenerator([])
    with pytest.raises(ValueError, match="scale"):
        PortTrafficGenerator(PORTS, scale=0)


# --- publishing ---------------------------------------------------------------------------------


class FakeProducer:
    """Stands in for AIOKafkaProducer: records what was sent."""

    sent: ClassVar[list[tuple[str, Mapping[str, Any], bytes]]] = []

    def __init__(self, **_: Any) -> None:
        pass

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass

    async def send(self, topic: str, value: bytes, key: bytes) -> asyncio.Future[object]:
        FakeProducer.sent.append((topic, FakeCodec.data[value], key))
        future: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        future.set_result(None)
        return future


class FakeCodec:
    """Stands in for AvroCodec: keeps each datum under the bytes it returns."""

    data: ClassVar[dict[bytes, Mapping[str, Any]]] = {}

    async def encode(self, subject: str, schema_text: str, datum: Mapping[str, Any]) -> bytes:
        value = f"{len(self.data)}".encode()
        self.data[value] = dict(datum, _subject=subject, _schema=schema_text)
        return value


async def test_publish_sends_each_domain_to_its_topic_and_never_early(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(publisher_module, "AIOKafkaProducer", FakeProducer)
    FakeProducer.sent = []
    now = datetime.now(UTC)
    generator = PortTrafficGenerator(
        PORTS, seed=2, start=now - timedelta(hours=12), scale=0.02, warmup=timedelta(hours=6)
    )
    stop = asyncio.Event()
    asyncio.get_running_loop().call_later(60, stop.set)  # if the stream caught up with the clock
    published = await publish(
        "unused:9092",
        lambda domain: f"test.{INGEST_TOPICS[domain]}",
        generator,
        rate_per_s=100_000,
        stop=stop,
        codec=FakeCodec(),  # type: ignore[arg-type]  # a stand-in: publish only calls encode
        limit=500,
    )
    assert published == len(FakeProducer.sent) == 500
    after = datetime.now(UTC)
    expected = list(itertools.islice(generator.events(), 500))
    for (topic, datum, key), event in zip(FakeProducer.sent, expected, strict=True):
        domain = domain_of(event)
        assert topic == f"test.{INGEST_TOPICS[domain]}"
        assert datum["_subject"] == f"{topic}-value"
        assert datum["_schema"] == schema_text(domain)
        assert key == partition_key(event)
        assert datum["event_id"] == str(event.event_id)
        assert event.published_at <= datum["published_at"] <= after
        if datum.get("classifier") == "EST":  # announced then, whenever it is replayed
            assert datum["published_at"] == event.published_at
    assert any(datum.get("classifier") == "EST" for _, datum, _ in FakeProducer.sent)
    assert {topic for topic, _, _ in FakeProducer.sent} == {
        f"test.{INGEST_TOPICS[domain]}" for domain in ("vessel", "cargo", "customs", "certificate")
    }


async def test_publish_holds_events_until_they_happen(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(publisher_module, "AIOKafkaProducer", FakeProducer)
    FakeProducer.sent = []
    stop = asyncio.Event()
    asyncio.get_running_loop().call_later(1.5, stop.set)
    generator = PortTrafficGenerator(
        PORTS,
        seed=2,
        start=datetime.now(UTC) - timedelta(minutes=20),
        scale=0.02,
        warmup=timedelta(hours=6),
    )
    started = datetime.now(UTC)
    published = await publish(
        "unused:9092",
        lambda domain: INGEST_TOPICS[domain],
        generator,
        rate_per_s=100_000,
        stop=stop,
        codec=FakeCodec(),  # type: ignore[arg-type]  # a stand-in: publish only calls encode
    )
    assert 0 < published == len(FakeProducer.sent)
    upcoming = next(e for e in itertools.islice(generator.events(), published, None))
    assert upcoming.published_at > started, "it stopped at the wall clock, not for want of events"
    for _, datum, _ in FakeProducer.sent:
        if datum.get("classifier") != "EST":
            assert datum["occurred_at"] <= datum["published_at"]


def test_imports_invoke_certificates_only_for_goods_their_agreement_covers() -> None:
    def certified_codes(certifiable: Callable[[str, str], bool] | None) -> set[str]:
        generator = PortTrafficGenerator(
            PORTS, seed=3, start=START, scale=SCALE, certifiable=certifiable
        )
        day = generator.events_between(START, START + timedelta(days=1))
        return {
            line.hs_code
            for event in day
            if isinstance(event, CustomsEvent) and event.certificate_id
            for line in event.goods
        }

    everything = certified_codes(None)
    assert any(code.startswith("08") for code in everything), "fruit is certified by default"
    without_fruit = certified_codes(lambda agreement, hs: not hs.startswith("08"))
    assert without_fruit and not any(code.startswith("08") for code in without_fruit)


def test_imports_claim_agreements_on_paper_too_and_wait_for_its_check() -> None:
    """An import under an agreement that invokes no certificate often claims the agreement on
    paper: customs check the paper 2-24 h before the release. On the green channel (released
    5-120 min after the channel, unless held) that check shows in every such declaration."""
    paper = digital = 0
    for steps in declarations_of(generated_days()).values():
        kinds = [e.kind for e in steps]
        if kinds[:2] != [CustomsKind.LODGED, CustomsKind.CHANNEL] or CustomsKind.HELD in kinds:
            continue
        lodged, channel = steps[0], steps[1]
        if lodged.regime is not Regime.IMPORT or lodged.agreement is None:
            continue
        if channel.channel is not Channel.GREEN or kinds[-1] is not CustomsKind.RELEASED:
            continue
        waited = steps[-1].occurred_at - channel.occurred_at
        if lodged.certificate_id is None:
            paper += 1
            assert timedelta(hours=2) <= waited <= timedelta(hours=26), lodged
        else:
            digital += 1
            assert waited <= timedelta(hours=2), lodged
    assert paper > 20 and digital > 20, (paper, digital)
