"""Feedback to each publisher (issue 20): who sent a refused record, as its dead letter says, what
the forwarder makes of a dead letter whatever it holds, and the feedback API's query strings."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast
from uuid import UUID, uuid4

import pytest
from fastapi import HTTPException
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import REGISTRY as REGISTRY_METRICS

from hub.api import feedback as api
from hub.domain.publishers import Publisher, code_of
from hub.ingest.core import IngestContext
from hub.ingest.deadletter import dead_letter, header
from hub.kafka_topics import DEADLETTER_DOMAIN_HEADER, ORIGIN_HEADER, PUBLISHER_HEADER
from hub.notify.feedback import MAX_DETAIL_CHARS, feedback_json, feedback_of
from hub.settings import load_settings
from schemas.avro_schemas import schema_text
from schemas.codec import AvroCodec
from schemas.models import to_avro_datum
from schemas.rejections import Rejected, RejectReason
from streams.intake import IntakeBatch, IntakeOutputs, _count
from streams.sinks.base import Record, Sink
from tests.samples import samples
from tests.unit.test_intake_properties import InMemoryRegistry

SETTINGS = load_settings({}, kafka={"topic_namespace": "t."})
REFUSED = Rejected(RejectReason.PORT_NOT_OWNED, "this publisher publishes for PECLL, not CLVAP")


def test_a_publisher_s_code_is_its_port_or_its_country() -> None:
    assert Publisher("PECLL", "ops").code == "PECLL"
    assert Publisher.single_window("PE", "vuce").code == "PE"
    assert code_of(None) == ""


def test_a_dead_letter_says_who_sent_it_and_a_forged_publisher_header_is_dropped() -> None:
    letter = dead_letter(
        b"{}", REFUSED, "ports.PECLL.vessel", publisher="PECLL", domain="vessel",
        origin="ports.PECLL.vessel/3/41",
        original_headers=[(PUBLISHER_HEADER, b"CLVAP"), ("trace", b"1")],
    )  # fmt: skip
    assert [value for name, value in letter.headers if name == PUBLISHER_HEADER] == [b"PECLL"]
    assert header(letter.headers, DEADLETTER_DOMAIN_HEADER) == b"vessel"
    assert header(letter.headers, ORIGIN_HEADER) == b"ports.PECLL.vessel/3/41"
    assert header(letter.headers, "trace") == b"1"
    unknown = dead_letter(b"x", REFUSED, "ais")
    assert header(unknown.headers, PUBLISHER_HEADER) == b""
    assert header(unknown.headers, ORIGIN_HEADER) is None


@dataclass
class _Message:
    """What the intake reads of an aiokafka ConsumerRecord."""

    value: bytes
    headers: Sequence[tuple[str, bytes]] = ()
    topic: str = "t.ingest.vessel"
    partition: int = 1
    offset: int = 7
    key: bytes | None = None
    timestamp: int = 1_764_800_000_000


class _Kept(Sink):
    async def write(self, records: Sequence[Record]) -> None:
        return None


def test_the_intake_counts_a_refusal_under_the_publisher_its_record_names() -> None:
    sink = _Kept("dead letters")
    outputs = IntakeOutputs(sink, "t.hub.deadletter", sink, sink, {}, "t.kpi.windows", str)
    batch = IntakeBatch(outputs)
    batch.refuse("vessel", _Message(b"a", [(PUBLISHER_HEADER, b"PECLL")]), REFUSED)
    batch.refuse("vessel", _Message(b"b", [("hub-origin", b"t.ports.PECLL.vessel/0/9"),
                                           (PUBLISHER_HEADER, b"PECLL")]), REFUSED)  # fmt: skip
    batch.refuse("vessel", _Message(b"c"), REFUSED)
    assert batch.rejected == {
        ("vessel", "PORT_NOT_OWNED", "PECLL"): 2,
        ("vessel", "PORT_NOT_OWNED", ""): 1,
    }
    labels = {"domain": "vessel", "reason": "PORT_NOT_OWNED", "publisher": "PECLL"}
    before = REGISTRY_METRICS.get_sample_value("hub_events_rejected_total", labels) or 0.0
    _count(batch, [])
    assert REGISTRY_METRICS.get_sample_value("hub_events_rejected_total", labels) == before + 2
    letters = sink._pending
    assert [header(r.headers, PUBLISHER_HEADER) for r in letters] == [b"PECLL", b"PECLL", b""]
    assert [header(r.headers, ORIGIN_HEADER) for r in letters] == [
        b"t.ingest.vessel/1/7", b"t.ports.PECLL.vessel/0/9", b"t.ingest.vessel/1/7"
    ]  # fmt: skip


@dataclass
class _Letter:
    value: bytes | None
    headers: list[tuple[str, bytes]] = field(default_factory=list)
    partition: int = 0
    offset: int = 12
    timestamp: int = 1_764_800_000_000


def _context() -> IngestContext:
    # The forwarder reads only the settings and the codec of its context.
    return IngestContext(SETTINGS, cast(Any, None), cast(Any, None), AvroCodec(REGISTRY))


REGISTRY = InMemoryRegistry()


def _read(letter: _Letter) -> Any:
    return asyncio.run(feedback_of(letter, _context()))


def _letter(value: bytes | None, publisher: bytes = b"PECLL", **more: bytes) -> _Letter:
    headers = [("hub-reason", b"PORT_NOT_OWNED"), ("hub-detail", b"not yours"),
               ("hub-source-topic", b"http:/v1/events/vessel"), ("hub-domain", b"vessel"),
               (PUBLISHER_HEADER, publisher)]  # fmt: skip
    return _Letter(value, headers + [(name.replace("_", "-"), v) for name, v in more.items()])


def test_the_forwarder_reads_the_event_id_of_a_json_or_avro_record() -> None:
    event = samples("vessel")[0]
    row = _read(_letter(event.model_dump_json().encode()))
    assert (row.publisher, row.domain, row.reason, row.event_id) == (
        "PECLL", "vessel", "PORT_NOT_OWNED", event.event_id
    )  # fmt: skip
    assert row.source == "http:/v1/events/vessel" and row.letter == "0/12"
    assert row.refused_at == datetime.fromtimestamp(1_764_800_000, UTC)

    async def avro() -> bytes:
        return await AvroCodec(REGISTRY).encode("v", schema_text("vessel"), to_avro_datum(event))

    over_kafka = _read(_letter(asyncio.run(avro()), hub_origin=b"t.ports.PECLL.vessel/2/5"))
    assert over_kafka.event_id == event.event_id
    assert over_kafka.source == "t.ports.PECLL.vessel/2/5"
    truncated = _read(_letter(event.model_dump_json().encode(), hub_truncated=b"true"))
    assert truncated.event_id is None
    body = json.loads(feedback_json(row))
    assert body["event_id"] == str(event.event_id) and body["id"] == "0/12"


def test_a_letter_of_no_known_publisher_is_fed_back_to_no_one() -> None:
    for publisher in (b"", b"pecll", b"PECLL\n", b"XX.YY", b"\xff\xfe", b"PECLLX"):
        assert _read(_letter(b"{}", publisher)) is None, publisher
    assert _read(_Letter(b"{}", [])) is None


@settings(max_examples=200, deadline=None)
@given(
    st.binary(max_size=200),
    st.binary(max_size=3000) | st.text(max_size=1500).map(lambda t: t.encode("utf-8", "replace")),
)
def test_whatever_a_letter_holds_its_feedback_is_printable_and_bounded(
    value: bytes, detail: bytes
) -> None:
    letter = _letter(value)
    letter.headers = [
        (n, detail if n in ("hub-detail", "hub-source-topic") else v) for n, v in letter.headers
    ]
    row = _read(letter)
    assert row is not None and len(row.detail) <= MAX_DETAIL_CHARS
    assert row.detail.isprintable() and row.source.isprintable()
    assert row.event_id is None or isinstance(row.event_id, UUID)
    json.loads(feedback_json(row))


def test_a_json_event_id_that_is_no_uuid_is_left_out() -> None:
    for event_id in ("nope", 42, "0" * 5000, None, str(uuid4()) + "\x00"):
        assert _read(_letter(json.dumps({"event_id": event_id}).encode())).event_id is None


@pytest.mark.parametrize(
    ("parse", "value"),
    [
        (api._limit, "0"), (api._limit, "1001"), (api._limit, "-1"), (api._limit, "²"),
        (api._limit, "1e3"), (api._cursor, "x"), (api._cursor, "9" * 40),
        (api._reason, "NOPE"), (api._reason, "\udc80"),
        (lambda v: api._time("since", v), "0001-01-01T00:00:00+05:00"),
        (lambda v: api._time("since", v), "9" * 5000),
        (lambda v: api._time("since", v), "\x00"),
    ],
)  # fmt: skip
def test_a_bad_query_parameter_is_a_422_naming_it(parse: Any, value: str) -> None:
    with pytest.raises(HTTPException) as refused:
        parse(value)
    assert refused.value.status_code == 422
    assert "query parameter" in str(refused.value.detail)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_any_query_text_is_read_or_refused_422_never_raised_otherwise(text: str) -> None:
    for parse in (api._limit, api._cursor, api._reason, lambda v: api._time("until", v)):
        try:
            parse(text)
        except HTTPException as refused:
            assert refused.status_code == 422


def test_times_without_an_offset_are_utc() -> None:
    assert api._time("since", "2026-12-03T10:00:00") == datetime(2026, 12, 3, 10, tzinfo=UTC)
    assert api._time("since", "2026-12-03T10:00:00Z") == datetime(2026, 12, 3, 10, tzinfo=UTC)
    assert api._limit(None) == 100 and api._limit("1000") == 1000
