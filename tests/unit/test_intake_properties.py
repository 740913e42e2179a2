"""Property: whatever bytes arrive on an ingest topic, intake answers without raising."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from hub.ingest.decode import take_in
from schemas.avro_schemas import DOMAINS, parsed_schema, schema_text
from schemas.codec import AvroCodec, frame
from schemas.models import Envelope, to_avro_datum
from schemas.rejections import Rejected, RejectReason
from tests.samples import samples

NOW = datetime(2026, 3, 2, tzinfo=UTC)
GRACE = timedelta(days=7)
PORTS = frozenset({"PECLL", "BRSSZ", "ECGYE"})


class InMemoryRegistry:
    """A real (if tiny) schema source: ids handed out in order, nothing mocked about decoding."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    async def schema_by_id(self, schema_id: int) -> str | None:
        return self.texts[schema_id - 1] if 0 < schema_id <= len(self.texts) else None

    async def register(self, subject: str, schema_text: str) -> int:
        if schema_text not in self.texts:
            self.texts.append(schema_text)
        return self.texts.index(schema_text) + 1


def intake(raw: bytes, domain: str = "vessel") -> Envelope | Rejected:
    async def run() -> Envelope | Rejected:
        codec = AvroCodec(REGISTRY)
        return await take_in(raw, domain, codec, parsed_schema(domain), PORTS, NOW, GRACE)

    return asyncio.run(run())


REGISTRY = InMemoryRegistry()
SCHEMA_IDS = {d: asyncio.run(REGISTRY.register(d, schema_text(d))) for d in DOMAINS}
json_values = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=False) | st.integers() | st.text(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_are_refused_with_a_reason(raw: bytes) -> None:
    outcome = intake(raw)
    assert isinstance(outcome, Rejected)
    assert outcome.reason in {RejectReason.UNDECODABLE, RejectReason.UNKNOWN_SCHEMA}
    assert outcome.detail


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(DOMAINS), st.sampled_from(DOMAINS), st.binary(max_size=300))
def test_random_payloads_behind_any_registered_header_never_crash_intake(
    topic_domain: str, header_domain: str, payload: bytes
) -> None:
    outcome = intake(frame(SCHEMA_IDS[header_domain], payload), topic_domain)
    assert isinstance(outcome, Envelope | Rejected)
    if topic_domain != header_domain:
        assert isinstance(outcome, Rejected)


def test_a_record_of_another_domain_is_a_schema_mismatch() -> None:
    async def encode() -> bytes:
        event = samples("cargo")[0]
        return await AvroCodec(REGISTRY).encode("cargo", schema_text("cargo"), to_avro_datum(event))

    outcome = intake(asyncio.run(encode()), "vessel")
    assert isinstance(outcome, Rejected)
    assert outcome.reason is RejectReason.SCHEMA_MISMATCH
    assert "CargoEvent" in outcome.detail and "VesselEvent" in outcome.detail


@settings(max_examples=200, deadline=None)
@given(json_values)
def test_random_json_on_an_ingest_topic_is_refused(document: object) -> None:
    outcome = intake(json.dumps(document).encode())
    assert isinstance(outcome, Rejected)
    assert outcome.reason is RejectReason.UNDECODABLE


def test_a_valid_record_of_every_domain_is_taken_in() -> None:
    async def encode(domain: str, event: Envelope) -> bytes:
        return await AvroCodec(REGISTRY).encode(domain, schema_text(domain), to_avro_datum(event))

    for domain in DOMAINS:
        for event in samples(domain):
            assert intake(asyncio.run(encode(domain, event)), domain) == event
