"""Checks a DCSA-shaped event against the required fields, enums and lengths of DCSA Track &
Trace 2.2 written down in ``tests/fixtures/dcsa/required_fields.json`` (no jsonschema here)."""

from __future__ import annotations

import json
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

FIXTURE = Path(__file__).parent / "fixtures" / "dcsa" / "required_fields.json"
SCHEMA_OF_EVENT_TYPE = {"TRANSPORT": "TransportEvent", "EQUIPMENT": "EquipmentEvent"}


@cache
def _spec() -> dict[str, Any]:
    spec: dict[str, Any] = json.loads(FIXTURE.read_text())
    return spec


def problems(event: dict[str, Any]) -> list[str]:
    """How ``event`` breaks its DCSA T&T 2.2 schema (none: it fits)."""
    schema = SCHEMA_OF_EVENT_TYPE.get(event.get("eventType"))  # type: ignore[arg-type]
    if schema is None:
        return [f"eventType {event.get('eventType')!r} is not TRANSPORT or EQUIPMENT"]
    return _check(event, schema, schema)


def _check(value: Any, schema: str, where: str) -> list[str]:
    if not isinstance(value, dict):
        return [f"{where} is not an object"]
    rules = _spec()["schemas"][schema]
    found = [
        f"{where}.{name} is missing" for name in rules["required"] if value.get(name) in (None, "")
    ]
    for name, allowed in rules["enums"].items():
        if name in value and value[name] not in allowed:
            found.append(f"{where}.{name} {value[name]!r} is not one of {allowed}")
    for name in rules["date_times"]:
        if isinstance(value.get(name), str):
            try:
                moment = datetime.fromisoformat(value[name].replace("Z", "+00:00"))
            except ValueError:
                found.append(f"{where}.{name} {value[name]!r} is not a date-time")
            else:
                if moment.tzinfo is None:
                    found.append(f"{where}.{name} {value[name]!r} has no offset")
    for name, most in rules["max_lengths"].items():
        if isinstance(value.get(name), str) and len(value[name]) > most:
            found.append(f"{where}.{name} is longer than {most}")
    for name, nested in _spec()["nested"].get(schema, {}).items():
        if name in value:
            found += _check(value[name], nested, f"{where}.{name}")
    return found
