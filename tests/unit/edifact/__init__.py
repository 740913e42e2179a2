"""Tests of the EDIFACT connector; shared helpers: fixture texts, comparing events without envelopes."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from connectors.edifact.profile import event_id
from schemas.models import Envelope

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "edifact"
PUBLISHED = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)
ENVELOPE_FIELDS = frozenset(
    {"event_id", "published_at", "publisher", "source", "schema_version", "retracts_event_id"}
)


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def content(event: Envelope) -> dict[str, Any]:
    """The event's fields that a round trip must keep (all but the envelope's own)."""
    return {"type": type(event).__name__, **event.model_dump(exclude=set(ENVELOPE_FIELDS))}


def contents(events: Iterable[Envelope]) -> list[dict[str, Any]]:
    return [content(event) for event in events]


def by_identity(events: Iterable[Envelope]) -> dict[Any, dict[str, Any]]:
    """Contents keyed by the connector's identity of each event (its deterministic id)."""
    keyed: dict[Any, dict[str, Any]] = {}
    for event in events:
        key = event_id(event)
        assert key not in keyed, f"two events with the same identity: {event}"
        keyed[key] = content(event)
    return keyed
