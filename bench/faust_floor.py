"""The framework's own ceiling: a faust worker that only decodes, ``python -m bench.faust_floor``.

One faust agent per ingest topic, the same ``take_events`` batching the hub's intake uses, and
nothing done with a record but the fastavro decode the baseline does: no validation, no
database, no KPI. Its events/s is the most any faust-based intake can reach on this machine, so
``bench.throughput`` reports it beside the baseline and the hub. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import os
import signal
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

import faust
from fastavro import schemaless_reader

from hub.kafka_topics import INGEST_TOPICS
from schemas.avro_schemas import parsed_schema
from streams.app import faust_broker_urls

_CONFLUENT_HEADER = 5
_BATCH_WITHIN_S = 0.2


class _Count:
    def __init__(self, expected: int) -> None:
        self.expected, self.decoded = expected, 0
        self.began: float | None = None
        self.events_per_s: float | None = None


def main() -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.faust_floor",
        description="Events/s of a faust worker that only decodes the ingest topics (from the "
        "earliest offset, new consumer group). Prints one JSON line.",
    )
    parser.add_argument("--bootstrap", required=True, help="Kafka bootstrap host:port")
    parser.add_argument("--namespace", required=True, help="topic namespace, e.g. bench123.")
    parser.add_argument("--events", type=int, required=True, help="events in the topics")
    parser.add_argument("--batch", type=int, default=500, help="take_events batch size (500)")
    arguments = parser.parse_args()
    count = _Count(arguments.events)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    with tempfile.TemporaryDirectory(prefix="faust-floor-") as datadir:
        app = faust.App(
            f"faust-floor-{time.time_ns()}",
            broker=faust_broker_urls(arguments.bootstrap),
            store="memory://",
            web_enabled=False,
            datadir=datadir,
            consumer_auto_offset_reset="earliest",
        )
        for domain, topic_name in INGEST_TOPICS.items():
            topic = app.topic(
                arguments.namespace + topic_name, key_serializer="raw", value_serializer="raw"
            )
            agent = _decoding_agent(app, domain, arguments.batch, count)
            app.agent(topic, name=f"floor-{domain}")(agent)
        worker = faust.Worker(app, loop=loop, loglevel="warn", quiet=True, redirect_stdouts=False)
        with contextlib.suppress(SystemExit):  # the worker exits through SystemExit
            worker.execute_from_commandline()
    if count.events_per_s is None:
        print(f"faust_floor: stopped after {count.decoded} events", file=sys.stderr)
        return 1
    print(json.dumps({"events": count.decoded, "events_per_s": round(count.events_per_s)}))
    return 0


def _decoding_agent(
    app: faust.App, domain: str, batch: int, count: _Count
) -> Callable[[Any], Coroutine[Any, Any, None]]:
    schema = parsed_schema(domain)

    async def decode(stream: AsyncIterator[Any]) -> None:
        async for events in stream.take_events(batch, _BATCH_WITHIN_S):  # type: ignore[attr-defined]
            if count.began is None:
                count.began = time.perf_counter()
            for event in events:
                schemaless_reader(io.BytesIO(event.message.value[_CONFLUENT_HEADER:]), schema, None)
            count.decoded += len(events)
            if count.decoded >= count.expected and count.events_per_s is None:
                count.events_per_s = count.decoded / (time.perf_counter() - count.began)
                # The worker's own SIGTERM handling stops it cleanly; stopping the app from
                # inside one of its agents would wait on that agent.
                os.kill(os.getpid(), signal.SIGTERM)

    decode.__name__ = f"decode_{domain}"
    return decode


if __name__ == "__main__":
    sys.exit(main())
