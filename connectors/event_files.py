"""Event files: a stream of events kept in a JSONL file, one ``{"domain", "event"}`` a line.

``hub generate --file F`` writes what it streams to ``F``, so that the batch reference
(``hub kpis reference F``) runs on exactly the events the hub received.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from schemas.models import MODELS, Envelope
from schemas.routing import domain_of

__all__ = ["jsonl_line", "read_jsonl", "write_jsonl"]


def jsonl_line(event: Envelope) -> str:
    """One line of the JSONL event file: ``{"domain": ..., "event": <model JSON>}``."""
    return f'{{"domain": "{domain_of(event)}", "event": {event.model_dump_json()}}}\n'


def write_jsonl(path: Path | str, events: Iterable[Envelope]) -> int:
    """Write ``events`` to ``path``, one ``{"domain": ..., "event": ...}`` object a line.

    Returns the number of events written.
    """
    written = 0
    with Path(path).open("w", encoding="utf-8") as handle:
        for event in events:
            handle.write(jsonl_line(event))
            written += 1
    return written


def read_jsonl(path: Path | str) -> list[Envelope]:
    """The events of a file that :func:`write_jsonl` wrote, in its order.

    Raises:
        ValueError: a line is not such an object (the message names the line).
        pydantic.ValidationError: an event breaks its model.
    """
    events: list[Envelope] = []
    with Path(path).open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                model = MODELS[record["domain"]]
                event = record["event"]
            except (ValueError, KeyError, TypeError) as error:
                raise ValueError(f"{path}:{number}: not a domain and event: {error}") from None
            events.append(model.model_validate(event))
    return events
