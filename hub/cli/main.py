"""``hub``: the command line of the port-community data hub.

Every command reads its settings from the environment (``hub settings`` lists them). Errors the
hub expects — a bad setting, a service that does not answer, a port in use — end the command with
one line ``hub: error: …`` and a non-zero status (2 for settings, 1 for services).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import shutil
import sys
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TextIO

from hub.errors import ConfigError, HubError
from hub.settings import VARIABLES, HubSettings, load_settings, setting_field, setting_value

EXIT_SERVICE_ERROR = 1
EXIT_CONFIG_ERROR = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hub",
        description=(
            "Port-community data hub: vessel, cargo and customs events in; KPIs and "
            "certificate verdicts out. Settings come from HUB_* variables and DATABASE_URL "
            "(see `hub settings`)."
        ),
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser(
        "run",
        help="the main job: Kafka, PostgreSQL, topics, a worker, the HTTP API and the traffic "
        "generator; Ctrl-C stops what it started",
    )
    worker = commands.add_parser("worker", help="one stream-processing worker (faust)")
    worker.add_argument(
        "--skip-prepare",
        action="store_true",
        help="do not apply migrations or create topics first (the main job already did)",
    )
    commands.add_parser(
        "api", help="the HTTP API alone (with the webhook notifier unless HUB_WEBHOOKS=off)"
    )
    generate = commands.add_parser(
        "generate", help="publish generated port traffic: vessel, cargo and customs events"
    )
    generate.add_argument("--rate", type=float, help="events per second (HUB_GENERATOR_RATE)")
    generate.add_argument("--count", type=int, help="stop after this many events")
    generate.add_argument("--seed", type=int, help="seed, for a reproducible sequence")
    generate.add_argument(
        "--scale", type=float, help="traffic volume, 1 = the region's (HUB_GENERATOR_SCALE)"
    )
    generate.add_argument(
        "--file",
        type=Path,
        help="also write every published event to this JSONL file (for `hub kpis reference`)",
    )
    generate.add_argument(
        "--edifact-dir",
        type=Path,
        help="do not publish: write the last day's traffic (or its first --count events) as "
        "EDIFACT interchanges into this folder, for `hub edifact send|watch`",
    )
    generate.add_argument(
        "--nmea-file",
        type=Path,
        help="do not publish: write the AIS log of the port calls of the last day's traffic that "
        "arrived and left within it (or within its first --count events) to this file, for "
        "`hub ais replay`",
    )
    kpis = commands.add_parser("kpis", help="the KPI batch reference")
    kpis.add_argument("action", choices=("reference",), help="reference: KPIs of a JSONL file")
    kpis.add_argument("file", type=Path, help="events, as written by `hub generate --file`")
    services = commands.add_parser("services", help="the local Kafka broker and PostgreSQL")
    services.add_argument(
        "action",
        choices=("start", "stop", "status", "reset"),
        help="start (idempotent), stop, status, or reset (stop and delete their data)",
    )
    tokens = commands.add_parser(
        "tokens",
        help="tokens of the HTTP API: publishers (per port), customs (per country), KPI "
        "readers (the dashboard), admins, single windows (per country)",
        description="Tokens of the HTTP API, sent as `Authorization: Bearer TOKEN`. port "
        "(publish:PORT): publish the port's events. customs (read:validations:COUNTRY): read "
        "the certificate verdicts of the country's imports. reader (read:kpis): read the KPIs, "
        "indicators and ports list, and use the dashboard (open /dashboard/#token=TOKEN). admin: "
        "manage the issuer registry, read any certificate's verdicts and the KPIs. Only a "
        "SHA-256 of each token is kept; creating and revoking are written to the audit log. "
        "single-window (customs-publish:COUNTRY): the country's single window (VUCE) publishes "
        "customs events and certificate submissions (POST /v1/events/customs|certificate, "
        "CUSRES over POST /v1/edifact) for every port of the country, nothing else.",
    )
    tokens.add_argument(
        "action",
        choices=(
            "add-port", "revoke-port", "add-customs", "revoke-customs",
            "add-reader", "revoke-reader", "add-admin", "revoke-admin",
            "add-single-window", "revoke-single-window",
        ),
        help="add-*: print a new token (shown once); revoke-*: revoke all of that subject's "
        "(revoke-reader, revoke-admin: all reader, all admin tokens)",
    )  # fmt: skip
    tokens.add_argument(
        "subject",
        nargs="?",
        default="",
        help="PORT (UN/LOCODE, e.g. PECLL) for the port tokens, COUNTRY (ISO alpha-2, e.g. PE) "
        "for the customs and single-window tokens, nothing for the reader and admin tokens",
    )
    tokens.add_argument("--label", default="", help="who the token is for (kept with it)")
    tokens.add_argument(
        "--expires-days",
        type=float,
        default=365.0,
        help="add-*: the token stops working after this many days (default 365; 0: never)",
    )
    _add_tenants_parser(commands)
    _add_issuers_parser(commands)
    _add_edifact_parser(commands)
    _add_ais_parser(commands)
    from hub.cli.samples import add_samples_parser  # its own module, like its command

    add_samples_parser(commands)
    _add_conformance_parser(commands)
    commands.add_parser("migrate", help="apply database migrations and load reference ports")
    commands.add_parser("settings", help="list every setting, its variable and current value")
    return parser


def _add_conformance_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from hub.cli.conformance import add_conformance_parser

    add_conformance_parser(commands)


def _add_edifact_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    edifact = commands.add_parser(
        "edifact",
        help="publish UN/EDIFACT interchanges (COARRI, CODECO, BERMAN, CUSRES) from files",
        description="Read UN/EDIFACT interchanges (COARRI, CODECO, BERMAN, CUSRES; directories "
        "D.95B to D.16A) and publish their events. A message with any segment that cannot be "
        "mapped is refused whole and sent to the dead-letter topic with every problem and its "
        "line; a broken envelope refuses the whole interchange. The message profile is "
        "docs/edifact.md.",
        epilog="Exit status: 0 everything published; 4 something refused (see the lines "
        "printed); 1 something not delivered (broker unreachable: send again) or a service "
        "error; 2 a bad setting or argument.",
    )
    actions = edifact.add_subparsers(dest="action", required=True, metavar="ACTION")
    send = actions.add_parser("send", help="publish the interchanges in these files, then exit")
    send.add_argument("files", type=Path, nargs="+", metavar="FILE", help="one interchange each")
    send.add_argument(
        "--ack-dir",
        type=Path,
        metavar="DIR",
        help="write the sender's answer into this existing folder: NAME.contrl.edi (CONTRL) "
        "for every interchange handled, NAME.aperak.edi (APERAK) when a message was refused "
        "for its content (default: no answer is written)",
    )
    watch_help = (
        "publish every file that appears in a folder; handled files move to done/ or "
        "rejected/ (with NAME.problems.txt), the sender's answer goes to out/: NAME.contrl.edi "
        "(CONTRL) for every interchange handled, NAME.aperak.edi (APERAK) when a message was "
        "refused for its content"
    )
    watch = actions.add_parser(
        "watch", help=watch_help, description=watch_help[0].upper() + watch_help[1:] + "."
    )
    watch.add_argument("folder", type=Path, help="the folder partners drop interchanges in")
    watch.add_argument(
        "--interval", type=float, default=2.0, help="seconds between looks (default 2)"
    )
    watch.add_argument(
        "--settle",
        type=float,
        default=1.0,
        help="a file is taken once unchanged for this many seconds (default 1)",
    )
    watch.add_argument("--once", action="store_true", help="handle the files there now, then exit")


def _add_ais_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    ais = commands.add_parser(
        "ais",
        help="derive arrivals, anchorage stops and departures from AIS and publish them",
        description="Decode AIS NMEA sentences (types 1-3, 18, 19 positions, type 5 static "
        "data; an NMEA 4.10 tag block c: gives each line its time), follow the vessels of the "
        "hub's port calls against each port's limits and anchorages (HUB_PORT_AREAS_FILE) and "
        "publish port-limit entry, anchorage stop/departure and port departure as vessel "
        "events with source AIS, attached to the call the terminal declared. The worker "
        "compares them with the declared arrival (arrival_mismatch_flag). See docs/ais.md.",
    )
    actions = ais.add_subparsers(dest="action", required=True, metavar="ACTION")
    replay = actions.add_parser("replay", help="an AIS log (files), then exit with a summary")
    replay.add_argument("files", type=Path, nargs="+", metavar="FILE", help="NMEA lines")
    listen = actions.add_parser(
        "listen", help="a live feed over TCP (NMEA lines), until Ctrl-C; reconnects"
    )
    listen.add_argument("address", metavar="HOST:PORT", help="where the feed is served")
    listen.add_argument(
        "--interval", type=float, default=5.0, help="seconds between publications (default 5)"
    )


def _add_tenants_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    tenants = commands.add_parser(
        "tenants",
        help="Kafka credentials (SASL/SCRAM) and ACLs of ports, customs authorities and single "
        "windows",
        description=(
            "A port may write only its own topics ports.<PORT>.<domain> (the hub checks each "
            "event and moves it to the ingest topics); a customs authority may read only "
            "validations.<COUNTRY>, in consumer groups named customs.<COUNTRY>.*. Passwords are "
            "printed once; the broker keeps only a salted hash. A country's single window may "
            "write only customs.<COUNTRY>.customs and customs.<COUNTRY>.certificate (the hub "
            "checks each event is of one of the country's ports). A port or single window may "
            "read its own refusals on ports.<PORT>.feedback or customs.<COUNTRY>.feedback, in "
            "consumer groups named <principal>.* (port-PECLL.*)."
        ),
    )
    actions = tenants.add_subparsers(dest="action", required=True, metavar="ACTION")
    for kind, subject, example in (
        ("port", "PORT", "PECLL"), ("customs", "COUNTRY", "PE"), ("single-window", "COUNTRY", "PE")
    ):  # fmt: skip
        add = actions.add_parser(
            f"add-{kind}",
            help=f"create the {kind} principal of {subject} and print its client settings once",
        )
        add.add_argument("subject", metavar=subject, help=f"e.g. {example}")
        add.add_argument(
            "--rotate",
            action="store_true",
            help="the principal exists: give it a new password (the old one stops working)",
        )
        revoke = actions.add_parser(
            f"revoke-{kind}",
            help=f"delete the {kind} principal's ACLs and credential (refused from its next "
            "request on)",
        )
        revoke.add_argument("subject", metavar=subject, help=f"e.g. {example}")
    actions.add_parser("list", help="every principal, what it may do, and whether it is active")


def _add_issuers_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    issuers = commands.add_parser(
        "issuers",
        help="the registry of certificate-of-origin issuers: entities, officials, revocations",
    )
    actions = issuers.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="entities, their agreements and officials")
    listing.add_argument("--country", help="only this exporting country (ISO alpha-2)")
    entity = actions.add_parser(
        "put-entity", help="create or replace an issuing entity of an exporting country"
    )
    entity.add_argument("country", help="exporting country, ISO alpha-2 (e.g. PE)")
    entity.add_argument("eh_id", help="EHId of the entity: 3 letters or digits")
    entity.add_argument("--name", required=True, help="the entity's name")
    entity.add_argument(
        "--agreement",
        action="append",
        default=[],
        help="an agreement it may certify for (repeat; see HUB_AGREEMENTS_FILE)",
    )
    official = actions.add_parser(
        "add-official", help="register a signing official's X.509 certificate (PEM file)"
    )
    official.add_argument("country", help="exporting country, ISO alpha-2")
    official.add_argument("eh_id", help="EHId of the entity")
    official.add_argument("certificate", type=Path, help="PEM file of the certificate")
    official.add_argument("--name", default="", help="the official (default: the subject)")
    official.add_argument(
        "--enabled-from", type=_date, help="first day the official may sign (YYYY-MM-DD)"
    )
    official.add_argument(
        "--enabled-to", type=_date, help="last day the official may sign (YYYY-MM-DD)"
    )
    revoke = actions.add_parser("revoke", help="revoke an official's certificate")
    revoke.add_argument("fingerprint", help="SHA-256 fingerprint, as `hub issuers list` shows")
    revoke.add_argument(
        "--at",
        type=_datetime,
        help="revoked from this time (ISO 8601, default now); earlier certificates stay valid",
    )
    revoke.add_argument("--reason", default="", help="why (kept in the registry)")
    load = actions.add_parser(
        "import",
        help="load a file export of registrations (entities, officials, revocations)",
        description="Load a CSV or JSON export (by the file's extension; format in "
        "docs/certificates.md). Every row is checked first: one bad row changes nothing. Then "
        "everything is applied in one transaction, and the workers re-evaluate the verdicts "
        "each change affects. Entities and officials absent from the file are kept.",
    )
    load.add_argument("file", type=Path, help="the export: *.csv or *.json")
    load.add_argument(
        "--dry-run", action="store_true", help="print what would change, change nothing"
    )


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date YYYY-MM-DD") from None


def _datetime(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def main(argv: Sequence[str] | None = None) -> int:
    arguments = build_parser().parse_args(argv)
    try:
        settings = load_settings()
        _configure_logging(settings)
        return _dispatch(arguments, settings)
    except ConfigError as error:
        print(f"hub: error: {error}", file=sys.stderr)
        return EXIT_CONFIG_ERROR
    except HubError as error:
        print(f"hub: error: {error}", file=sys.stderr)
        return EXIT_SERVICE_ERROR
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # Output piped into `head` and the like: not an error of the hub's.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _dispatch(arguments: argparse.Namespace, settings: HubSettings) -> int:
    command: str = arguments.command
    if command == "run":
        from hub.run.supervisor import run_main_job

        return asyncio.run(run_main_job(settings))
    if command == "worker":
        from hub.run.worker import run_worker

        return run_worker(settings, prepare_first=not arguments.skip_prepare)
    if command == "api":
        return _run_api(settings)
    if command == "generate" and (arguments.edifact_dir or arguments.nmea_file):
        return _write_traffic(settings, arguments)
    if command == "generate":
        return asyncio.run(
            _generate(
                settings,
                arguments.rate,
                arguments.count,
                arguments.seed,
                arguments.scale,
                arguments.file,
            )
        )
    if command == "kpis":
        return _kpi_reference(arguments.file)
    if command == "services":
        return asyncio.run(_services(settings, arguments.action))
    if command == "tokens":
        return asyncio.run(
            _tokens(
                settings,
                arguments.action,
                arguments.subject,
                arguments.label,
                arguments.expires_days,
            )
        )
    if command == "tenants":
        from hub.cli.tenants import run_tenants_command

        return asyncio.run(run_tenants_command(settings, arguments))
    if command == "issuers":
        from hub.cli.issuers import run_issuers_command

        return asyncio.run(run_issuers_command(settings, arguments))
    if command == "edifact":
        from hub.cli.edifact import run_edifact_command

        return run_edifact_command(settings, arguments)
    if command == "ais":
        from hub.cli.ais import run_ais_command

        return run_ais_command(settings, arguments)
    if command == "samples":
        from hub.cli.samples import run_samples_command

        return run_samples_command(settings, arguments)
    if command == "conformance":
        from hub.cli.conformance import run_conformance_command

        return run_conformance_command(settings, arguments)
    if command == "migrate":
        return asyncio.run(_migrate(settings))
    if command == "settings":
        _print_settings(settings)
        return 0
    raise AssertionError(command)


def _run_api(settings: HubSettings) -> int:
    import uvicorn

    from hub.api.app import HEADER_BUFFER_BYTES, KEEP_ALIVE_S, SHUTDOWN_GRACE_S, create_api
    from hub.services import prepare, resolve_endpoints

    endpoints = resolve_endpoints(settings)
    asyncio.run(prepare(settings, endpoints))
    uvicorn.run(
        create_api(settings, endpoints.kafka_bootstrap, endpoints.database_url),
        host=settings.api.http_host,
        port=settings.api.http_port,
        log_level=settings.log_level,
        # An oversized header reaches the app (431) instead of resetting the connection.
        h11_max_incomplete_event_size=HEADER_BUFFER_BYTES,
        timeout_keep_alive=KEEP_ALIVE_S,
        timeout_graceful_shutdown=SHUTDOWN_GRACE_S,
    )
    return 0


def _open_for_writing(path: Path) -> TextIO:
    try:
        return path.open("w", encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"cannot write {path}: {error.strerror or error}") from None


def _write_traffic(settings: HubSettings, arguments: argparse.Namespace) -> int:
    from connectors.event_files import jsonl_line
    from hub.run.generate import write_traffic_files

    if arguments.rate is not None:
        raise ConfigError("--rate publishes; with --edifact-dir or --nmea-file nothing is")
    with contextlib.ExitStack() as stack:
        file: Path | None = arguments.file
        sink = stack.enter_context(_open_for_writing(file)) if file else None
        written = write_traffic_files(
            settings,
            count=arguments.count,
            seed=arguments.seed,
            scale=arguments.scale,
            edifact_dir=arguments.edifact_dir,
            nmea_file=arguments.nmea_file,
            record=(lambda event: sink.write(jsonl_line(event))) if sink else None,
        )
    print(f"hub: {written.events} events generated (the last day's traffic, nothing published)")
    if arguments.edifact_dir:
        print(
            f"hub: {written.interchanges} EDIFACT interchanges ({written.edifact_events} events; "
            f"yard moves and certificates have no EDIFACT message) in {arguments.edifact_dir}"
        )
    if arguments.nmea_file:
        print(
            f"hub: {written.ais_lines} AIS lines for {written.ais_calls} complete port calls in "
            f"{arguments.nmea_file}"
        )
    return 0


async def _generate(
    settings: HubSettings,
    rate: float | None,
    count: int | None,
    seed: int | None,
    scale: float | None,
    file: Path | None,
) -> int:
    from connectors.event_files import jsonl_line
    from hub.run.generate import run_generator
    from hub.services import resolve_endpoints

    with contextlib.ExitStack() as stack:
        sink = stack.enter_context(_open_for_writing(file)) if file else None
        published = await run_generator(
            settings,
            resolve_endpoints(settings),
            asyncio.Event(),
            rate=rate,
            limit=count,
            seed=seed,
            scale=scale,
            record=(lambda event: sink.write(jsonl_line(event))) if sink else None,
        )
    print(f"hub: published {published} events to the ingest topics")
    return 0


def _kpi_reference(file: Path) -> int:
    """Print the batch reference's KPIs of the events in ``file``, one JSON object a line."""
    import json

    from connectors.event_files import read_jsonl
    from hub.domain.kpis.reference import all_kpis

    if not file.is_file():
        raise ConfigError(f"{file}: no such file")
    for value in all_kpis(read_jsonl(file)):
        print(json.dumps(value.as_json()))
    return 0


async def _services(settings: HubSettings, action: str) -> int:
    from hub.services import local_kafka, local_postgres

    kafka, postgres = local_kafka(settings), local_postgres(settings)
    if action == "start":
        await kafka.start()
        await postgres.start()
        print(f"kafka: {kafka.status().detail} on {kafka.bootstrap}")
        print(f"postgres: {postgres.status().detail} on 127.0.0.1:{postgres.port}")
    elif action == "status":
        broker = kafka.status()
        cluster = postgres.status()
        print(f"kafka: {broker.detail} ({broker.bootstrap})")
        print(f"postgres: {cluster.detail} (127.0.0.1:{cluster.port})")
        return 0 if broker.running and cluster.running else 3
    else:
        print(f"kafka: {'stopped' if kafka.stop() else 'was not running'}")
        print(f"postgres: {'stopped' if postgres.stop() else 'was not running'}")
        if action == "reset":
            for path in (kafka.data, kafka.cluster_id_file, postgres.home):
                if path.is_dir():
                    shutil.rmtree(path)
                else:
                    path.unlink(missing_ok=True)
                print(f"removed {path}")
    return 0


async def _tokens(
    settings: HubSettings, action: str, subject: str, label: str, expires_days: float
) -> int:
    from hub.db.audit import cli_actor, record
    from hub.db.ports import check_subject
    from hub.db.tokens import (
        create_access_token,
        create_port_token,
        revoke_access_tokens,
        revoke_port_tokens,
    )
    from hub.services import connect, resolve_endpoints

    verb, kind = action.split("-", 1)  # kind: port | customs | reader | admin | single-window
    # The access_tokens scope of a reader, of a single window.
    scope = {"reader": "kpis", "single-window": "customs-publish"}.get(kind, kind)
    if kind in ("port", "customs", "single-window") and not subject:
        needed = "PORT" if kind == "port" else "COUNTRY"
        raise ConfigError(f"hub tokens {action} needs the {needed}")
    if kind in ("reader", "admin") and subject:
        raise ConfigError(f"hub tokens {action} takes no subject")
    if not 0 <= expires_days <= 3650:
        raise ConfigError("--expires-days must be between 0 (never) and 3650")
    expires_at = datetime.now(UTC) + timedelta(days=expires_days) if expires_days else None
    connection = await connect(resolve_endpoints(settings).database_url)
    try:
        await check_subject(connection, scope, subject)
        whose = f"{kind} {subject}".strip()
        if verb == "add":
            token = await (
                create_port_token(connection, subject, label, expires_at)
                if scope == "port"
                else create_access_token(connection, scope, subject, label, expires_at)
            )
            print(token)
            until = f"until {expires_at:%Y-%m-%d %H:%M} UTC" if expires_at else "until revoked"
            print(f"hub: {whose} token created, valid {until}; it is shown only now",
                  file=sys.stderr)  # fmt: skip
            if kind == "reader":
                from hub.run.dev_credentials import dashboard_url

                print(f"hub: the dashboard with it: {dashboard_url(settings, token)}",
                      file=sys.stderr)  # fmt: skip
            outcome = f"created ({until})"
        else:
            revoked = await (
                revoke_port_tokens(connection, subject)
                if scope == "port"
                else revoke_access_tokens(connection, scope, subject)
            )
            print(f"hub: {revoked} {whose} token(s) revoked", file=sys.stderr)
            outcome = f"{revoked} revoked"
        await record(connection, cli_actor(), f"tokens.{action}", f"{subject}/{label}", outcome)
    finally:
        await connection.close()
    return 0


async def _migrate(settings: HubSettings) -> int:
    from hub.services import ensure_services, prepare

    endpoints, started = await ensure_services(settings)
    try:
        await prepare(settings, endpoints)
    finally:
        await asyncio.to_thread(started.stop)
    print("hub: database migrated, reference ports loaded, topics created")
    return 0


def _print_settings(settings: HubSettings) -> None:
    for name, path in VARIABLES.items():
        value = setting_value(settings, path)
        if path == "database.url" and value:
            from hub.services import redact

            value = redact(value)
        info = setting_field(path)
        default = info.default
        print(f"{name}={'' if value is None else value}")
        print(f"    {info.description} (default: {'unset' if default is None else default})")


def _configure_logging(settings: HubSettings) -> None:
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


if __name__ == "__main__":
    raise SystemExit(main())
