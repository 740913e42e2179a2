"""``hub conformance PORT FILE…``: a publisher's sample feed through every check, nothing published.

Reads the files (JSON lines, Avro object container files, EDIFACT interchanges:
``hub.ingest.conformance_input``), runs :func:`hub.domain.conformance.check_feed` as the port's
publisher with the hub's reference ports (``HUB_PORTS_FILE``) and late grace
(``HUB_LATE_GRACE_HOURS``), and prints the report (``--json``: the same JSON as
``POST /v1/conformance``). Needs neither Kafka nor PostgreSQL.

Exit status: 0 when the feed is clean, 1 when it has problems, 2 for a usage error (an unknown
port, a file that cannot be opened, a bad setting), with one line on stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hub.domain.conformance import ConformanceReport, FeedRecord, Problem, check_feed
from hub.domain.publishers import Publisher
from hub.domain.reference import load_ports
from hub.errors import ConfigError
from hub.ingest.conformance_input import read_feed
from hub.settings import HubSettings
from schemas.avro_schemas import DOMAINS
from schemas.rejections import printable

__all__ = ["EXIT_CLEAN", "EXIT_PROBLEMS", "add_conformance_parser", "run_conformance_command"]

EXIT_CLEAN = 0
EXIT_PROBLEMS = 1
_SHOWN_PER_CODE = 100  # the text report lists this many problems of a code; --json lists all


def add_conformance_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    conformance = commands.add_parser(
        "conformance",
        help="check a publisher's sample feed before go-live (nothing is published)",
        description="Run a port's sample feed through every check the hub makes, without "
        "publishing anything: each event's schema, identifiers (check digits), port ownership "
        "and time plausibility, then the feed as a whole (each port call's lifecycle complete "
        "and in order, moves inside their call's berth window, gate-outs after discharge, "
        "declarations linked to calls and containers, one content per event id), and which "
        'KPIs the feed allows. FILEs: JSON lines ({"domain", "event"} lines as `hub '
        "generate --file` writes them, or bare events), Avro object container files written "
        "with one of the hub's schemas, EDIFACT interchanges; the format is told by the first "
        "bytes. Reads the reference ports (HUB_PORTS_FILE) and the late grace "
        "(HUB_LATE_GRACE_HOURS); needs neither Kafka nor PostgreSQL. Exit status: 0 clean, 1 "
        "problems, 2 usage error. docs/conformance.md lists every check and its fix.",
    )
    conformance.add_argument("port", metavar="PORT", help="your port (UN/LOCODE, e.g. PECLL)")
    conformance.add_argument("files", nargs="+", type=Path, metavar="FILE", help="the feed")
    conformance.add_argument(
        "--json", action="store_true", help="print the report as JSON (as POST /v1/conformance)"
    )
    conformance.add_argument(
        "--at",
        type=_aware_time,
        metavar="TIME",
        help="check as if the feed were sent at TIME (ISO 8601; default now): an event older "
        "than the late grace before TIME is TOO_LATE, one published after it IMPLAUSIBLE_TIME",
    )
    conformance.add_argument(
        "--domain",
        choices=DOMAINS,
        help="the domain of bare JSON events that carry no event_type",
    )


def _aware_time(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def run_conformance_command(settings: HubSettings, arguments: argparse.Namespace) -> int:
    ports = {port.unlocode for port in load_ports(settings.reference.ports_file)}
    port: str = arguments.port.upper()
    if port not in ports:
        raise ConfigError(
            f"{arguments.port} is not one of the hub's ports ({settings.reference.ports_file})"
        )
    files: list[Path] = arguments.files
    contents: list[tuple[Path, bytes]] = []
    for path in files:
        try:
            contents.append((path, path.read_bytes()))
        except OSError as error:
            raise ConfigError(f"cannot read {path}: {error.strerror or error}") from None
    now: datetime = arguments.at or datetime.now(UTC)
    records: list[FeedRecord | Problem] = []
    for path, data in contents:
        records += read_feed(printable(str(path)), data, now, default_domain=arguments.domain)
    report = check_feed(
        records,
        Publisher(port),
        ports,
        now,
        timedelta(hours=settings.rules.late_grace_hours),
        sources=tuple(printable(str(path)) for path in files),
        progress=lambda message: print(f"hub: {message}", file=sys.stderr, flush=True),
    )
    if arguments.json:
        print(json.dumps(report.as_json(), indent=2))
    else:
        print_report(report)
    return EXIT_CLEAN if report.clean else EXIT_PROBLEMS


def print_report(report: ConformanceReport) -> None:
    """The report as text: the checks, each problem with its fix, what is pending, the KPIs."""
    print(
        f"Conformance of {report.publisher}'s feed ({', '.join(report.sources)}): "
        f"{report.records:,} events, {report.accepted:,} pass the per-event checks"
        + (f", {report.duplicates:,} exact duplicates" if report.duplicates else "")
    )
    print(
        f"checked as if sent at {report.checked_at.isoformat()} "
        f"(late grace {report.late_grace.total_seconds() / 3600:g} h)"
    )
    print("\nChecks:")
    for check, count in report.check_results():
        result = "PASS" if count == 0 else "FAIL"
        suffix = f"  ({count:,} problem{'s' if count > 1 else ''})" if count else ""
        print(f"  {result}  {check.name}{suffix}")
    if report.problems:
        print(f"\nProblems ({len(report.problems):,}):")
        shown: Counter[str] = Counter()
        for problem in report.problems:
            shown[problem.code] += 1
            if shown[problem.code] > _SHOWN_PER_CODE:
                continue
            event = f" event {problem.event_id}" if problem.event_id else ""
            print(f"  {problem.code.value}  {problem.where}{event}")
            print(f"    {problem.detail}")
            print(f"    fix: {problem.fix}")
        for code, count in shown.items():
            if count > _SHOWN_PER_CODE:
                print(f"  … {count - _SHOWN_PER_CODE:,} more {code} (--json lists all)")
    if report.pending:
        print("\nPending at the feed's edges (not problems: the feed starts or ends mid-way):")
        for kind in report.pending_summary(examples=3):
            examples = ", ".join(item["subject"] for item in kind["examples"])
            print(f"  {kind['kind']}: {kind['count']:,} (e.g. {examples})")
    allowed = [kpi for kpi in report.kpis if kpi.allowed]
    refused = [kpi for kpi in report.kpis if not kpi.allowed]
    print(f"\nKPIs the feed allows ({len(allowed)} of {len(report.kpis)}):")
    for kpi in allowed:
        extra = f", {kpi.open:,} open" if kpi.open else ""
        extra += f", {kpi.flagged:,} flagged" if kpi.flagged else ""
        print(f"  {kpi.kpi:<40} {kpi.entities:>8,} entities{extra}")
    if refused:
        print("KPIs it does not allow:")
        for kpi in refused:
            print(f"  {kpi.kpi:<40} {kpi.why}")
    verdict = "CLEAN" if report.clean else f"NOT CLEAN: {len(report.problems):,} problems"
    print(f"\nResult: {verdict}")
