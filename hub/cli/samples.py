"""``hub samples [NAME] [--port PORT] [--list] [--write DIR] [--at TIME]``: valid events to
publish, built now.

A sample file goes stale: an event older than the grace period (HUB_LATE_GRACE_HOURS, a week) is
refused ``TOO_LATE``. This command builds the samples of :mod:`hub.domain.samples` at the current
time with fresh event ids, so what it prints is accepted when sent at once::

    hub samples vessel.ata --port PECLL > event.json
    curl -s -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \\
         localhost:8080/v1/events/vessel -d @event.json
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from hub.domain.reference import Port, load_ports
from hub.domain.samples import (
    DEFAULT_SAMPLE_PORT,
    OLDEST_SAMPLE,
    SAMPLES,
    as_json,
    build_sample,
    fresh_id,
    reproducible_ids,
)
from hub.errors import ConfigError
from hub.settings import HubSettings

__all__ = ["DOCS_SAMPLES_AT", "add_samples_parser", "run_samples_command", "sample_text"]

DOCS_SAMPLES_AT: Final = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
"""The clock of the committed set in ``docs/samples/``:
``hub samples --write docs/samples --at 2026-12-01T12:00:00Z``."""

_DOMAINS: Final = tuple(dict.fromkeys(kind.domain for kind in SAMPLES))


def add_samples_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    samples = commands.add_parser(
        "samples",
        help="print a valid sample event (times just before now, a fresh event_id), or write "
        "them all",
        description="Valid events, one per domain and kind: a port call's vessel timestamps, "
        "container moves, a customs declaration's steps and the certificate of origin it "
        "invokes, all of one call and box, built at the current time with fresh event ids, so "
        "that `POST /v1/events/DOMAIN` accepts them (a saved one is refused TOO_LATE once "
        "older than HUB_LATE_GRACE_HOURS). NAME is a sample (`hub samples --list`), printed as "
        "one JSON object, or a domain (vessel, cargo, customs, certificate), printed as a JSON "
        "array of its samples (a batch); without NAME, the samples are listed. The "
        "certificate is signed with the traffic generator's test keys (not a real issuer's).",
        epilog="Example: hub samples vessel.ata --port PECLL > event.json; then "
        "curl -s -H \"Authorization: Bearer $TOKEN\" -H 'Content-Type: application/json' "
        "localhost:8080/v1/events/vessel -d @event.json",
    )
    samples.add_argument("name", nargs="?", metavar="NAME", help="e.g. vessel.ata, or cargo")
    samples.add_argument(
        "--port",
        default=DEFAULT_SAMPLE_PORT,
        help=f"UN/LOCODE of the publishing port, one of the hub's (default {DEFAULT_SAMPLE_PORT})",
    )
    samples.add_argument("--list", action="store_true", help="list the samples, one a line")
    samples.add_argument(
        "--write",
        type=Path,
        metavar="DIR",
        help="write every sample to DIR/http/NAME.json instead of printing one",
    )
    samples.add_argument(
        "--at",
        type=_utc_time,
        metavar="TIME",
        help="build at this time (ISO 8601) instead of now; the event ids are then derived "
        "from the port, name and time, so the same command writes the same files "
        "(docs/samples/ is --at 2026-12-01T12:00:00Z)",
    )


def run_samples_command(settings: HubSettings, arguments: argparse.Namespace) -> int:
    name: str | None = arguments.name
    if arguments.list or (name is None and arguments.write is None):
        width = max(len(kind.name) for kind in SAMPLES)
        for kind in SAMPLES:
            print(f"{kind.name:<{width}}  {kind.summary}")
        return 0
    if name is not None and arguments.write is not None:
        raise ConfigError("give a NAME to print or --write DIR, not both")
    if name is not None and name not in _DOMAINS and name not in {k.name for k in SAMPLES}:
        raise ConfigError(
            f"no sample {name[:64]!r}: one of {', '.join(_DOMAINS)} or a name that "
            "`hub samples --list` shows"
        )
    ports = load_ports(settings.reference.ports_file)
    port: str = arguments.port.strip().upper()
    if port not in {known.unlocode for known in ports}:
        raise ConfigError(f"--port {arguments.port}: not a reference port of this hub")
    at: datetime | None = arguments.at
    grace_h = settings.rules.late_grace_hours
    if grace_h * 3600 < OLDEST_SAMPLE.total_seconds():
        print(f"hub: warning: HUB_LATE_GRACE_HOURS is {grace_h:g}: the samples older than that "
              f"(up to {OLDEST_SAMPLE.total_seconds() / 3600:g} h) are refused TOO_LATE",
              file=sys.stderr)  # fmt: skip
    if arguments.write is not None:
        now = at or datetime.now(UTC).replace(microsecond=0)
        written = write_samples(arguments.write, port, now, ports, at)
        print(f"hub: {written} samples of {port} written to {arguments.write / 'http'}")
        return 0
    assert name is not None
    names = [kind.name for kind in SAMPLES if name in (kind.name, kind.domain)]
    now = at or datetime.now(UTC).replace(microsecond=0)
    bodies = [sample_json(one, port, now, ports, at) for one in names]
    sys.stdout.write(_text(bodies[0] if name in names else bodies))
    return 0


def write_samples(
    folder: Path, port: str, now: datetime, ports: list[Port], at: datetime | None
) -> int:
    """Write every sample of ``port`` at ``now`` to ``folder/http/NAME.json``."""
    target = folder / "http"
    try:
        target.mkdir(parents=True, exist_ok=True)
        for kind in SAMPLES:
            body = sample_json(kind.name, port, now, ports, at)
            (target / f"{kind.name}.json").write_text(_text(body), encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"cannot write {target}: {error.strerror or error}") from None
    return len(SAMPLES)


def sample_text(name: str, port: str, now: datetime, ports: list[Port]) -> str:
    """The file ``--write`` writes for sample ``name`` at fixed time ``now`` (for the test that
    keeps ``docs/samples/`` what the command writes)."""
    return _text(sample_json(name, port, now, ports, now))


def sample_json(
    name: str, port: str, now: datetime, ports: list[Port], at: datetime | None
) -> dict[str, object]:
    from connectors.sample_issuer import sample_issuer  # signing keys: only when building

    issuer = sample_issuer(port[:2], {known.country for known in ports})
    new_id = fresh_id if at is None else reproducible_ids(port, at)
    return as_json(build_sample(name, port, now, issuer, new_id).event)


def _text(body: object) -> str:
    return json.dumps(body, indent=2, ensure_ascii=False) + "\n"


def _utc_time(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 time") from None
    if not 2000 <= moment.year <= 9000:  # the samples lie days before it: stay in range
        raise argparse.ArgumentTypeError(f"{text!r}: a time between the years 2000 and 9000")
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
