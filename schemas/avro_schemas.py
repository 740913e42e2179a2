"""The Avro contracts of the four event domains, as shipped in ``schemas/avro/*.avsc``.

Each file is self-contained (the envelope is inlined, no cross-file references), so its text is
exactly what is registered with a schema registry under the topic's subject. Knows nothing about
faust, HTTP or PostgreSQL.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any, Final, cast

import fastavro

AVRO_DIR: Final = Path(__file__).parent / "avro"
"""Folder of the ``.avsc`` files (package data: see ``[tool.setuptools.package-data]``)."""

DOMAINS: Final[tuple[str, ...]] = ("vessel", "cargo", "customs", "certificate")
"""The event domains; each has ``<domain>.avsc`` and an ``ingest.<domain>`` topic."""

_EVENT_TYPES: Final[dict[str, str]] = {
    "vessel": "vessel.timestamp",
    "cargo": "cargo.move",
    "customs": "customs.status",
    "certificate": "certificate.submission",
}


def _known(domain: str) -> str:
    if domain not in DOMAINS:
        raise ValueError(f"unknown event domain {domain!r}; known: {', '.join(DOMAINS)}")
    return domain


def schema_path(domain: str) -> Path:
    """Path of the ``.avsc`` file of ``domain``.

    Raises:
        ValueError: ``domain`` is not one of ``DOMAINS``.
    """
    return AVRO_DIR / f"{_known(domain)}.avsc"


def schema_text(domain: str) -> str:
    """The schema of ``domain`` as the file's text: what is registered, byte for byte."""
    return schema_path(domain).read_text(encoding="utf-8")


@cache
def parsed_schema(domain: str) -> dict[str, Any]:
    """The schema of ``domain`` parsed by fastavro, for its readers and writers.

    Cached: every call returns the same dict, which callers must not change.
    """
    return cast(dict[str, Any], fastavro.parse_schema(json.loads(schema_text(domain))))


def event_type_of(domain: str) -> str:
    """The ``event_type`` every event of ``domain`` carries (e.g. ``vessel.timestamp``)."""
    return _EVENT_TYPES[_known(domain)]


def subject_for(topic: str) -> str:
    """Schema-registry subject of the values of ``topic`` (Confluent TopicNameStrategy)."""
    return f"{topic}-value"
