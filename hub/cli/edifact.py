"""``hub edifact send FILE…`` and ``hub edifact watch FOLDER``: interchanges from files.

``watch`` takes every file that has not changed for ``--settle`` seconds (a file still being
copied is left for the next look), in the order they were written, and moves it once handled:
to ``FOLDER/done/`` when every message was published, to ``FOLDER/rejected/`` when anything was
refused, with ``NAME.problems.txt`` beside it (one line per problem: interchange, message, line,
segment, reason). A file whose events could not all be delivered stays where it is and is sent
again at the next look (the hub de-duplicates what had already arrived).

The sender's answer goes to ``FOLDER/out/`` (``send``: to ``--ack-dir DIR``, if given):
``NAME.contrl.edi``, the CONTRL, for every interchange handled (not for a text without UNB, nor
for one whose delivery failed: it is answered when sent again), and ``NAME.aperak.edi``, the
APERAK interchanges one after the other, when a message was refused for its content. Each is
written under a dot name and renamed, so a partner collecting ``out/`` never reads half a file.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from collections.abc import Sequence
from pathlib import Path

from hub.errors import ConfigError
from hub.ingest.acknowledgements import acknowledgements_for
from hub.ingest.core import IngestContext, standalone_ingest_context
from hub.ingest.edifact import InterchangeOutcome, decode_interchange, take_interchange
from hub.settings import HubSettings

__all__ = ["EXIT_NOT_DELIVERED", "EXIT_REFUSED", "run_edifact_command"]

EXIT_NOT_DELIVERED = 1
EXIT_REFUSED = 4
_DONE, _REJECTED, _OUT = "done", "rejected", "out"
_PROBLEMS_SUFFIX = ".problems.txt"


def run_edifact_command(settings: HubSettings, arguments: argparse.Namespace) -> int:
    if arguments.action == "watch":
        folder: Path = arguments.folder
        if not folder.is_dir():
            raise ConfigError(f"{folder} is not a folder")
        if arguments.interval <= 0 or arguments.settle < 0:
            raise ConfigError("--interval must be positive and --settle not negative")
    elif arguments.ack_dir is not None and not arguments.ack_dir.is_dir():
        raise ConfigError(f"--ack-dir {arguments.ack_dir} is not a folder")
    return asyncio.run(_run(settings, arguments))


async def _run(settings: HubSettings, arguments: argparse.Namespace) -> int:
    async with standalone_ingest_context(settings) as context:
        if arguments.action == "send":
            return await _send(context, arguments.files, arguments.ack_dir)
        return await _watch(context, arguments.folder, arguments.interval,
                            arguments.settle, once=arguments.once)  # fmt: skip


async def _send(context: IngestContext, files: Sequence[Path], ack_dir: Path | None) -> int:
    statuses = {0}
    for path in files:
        try:
            text = decode_interchange(path.read_bytes())
        except OSError as error:
            print(f"hub: {path}: cannot read: {error.strerror or error}")
            statuses.add(EXIT_REFUSED)
            continue
        outcome = await take_interchange(context, text, origin=path.name)
        _report(path, outcome)
        statuses.add(_exit_status(outcome))
        if ack_dir is not None:
            _answer(path, outcome, ack_dir)
    return _overall(statuses)


async def _watch(
    context: IngestContext, folder: Path, interval: float, settle: float, *, once: bool
) -> int:
    for name in (_DONE, _REJECTED, _OUT):
        (folder / name).mkdir(exist_ok=True)
    print(f"hub: watching {folder} every {interval:g} s (Ctrl-C stops)", flush=True)
    statuses = {0}
    while True:
        for path in _ready(folder, settle):
            try:
                text = decode_interchange(path.read_bytes())
            except OSError as error:  # moved or deleted meanwhile: not ours any more
                print(f"hub: {path.name}: cannot read: {error.strerror or error}")
                continue
            outcome = await take_interchange(context, text, origin=path.name)
            _report(path, outcome)
            statuses.add(_exit_status(outcome))
            if outcome.status != "failed":
                _answer(path, outcome, folder / _OUT)
                _file_away(path, outcome)
        if once:
            return _overall(statuses)
        await asyncio.sleep(interval)


def _ready(folder: Path, settle: float) -> list[Path]:
    now = time.time()
    found = []
    for entry in os.scandir(folder):
        if not entry.is_file() or entry.name.startswith("."):
            continue
        modified = entry.stat().st_mtime
        if now - modified >= settle:
            found.append((modified, entry.name, Path(entry.path)))
    return [path for _, _, path in sorted(found)]


def _file_away(path: Path, outcome: InterchangeOutcome) -> None:
    target = path.parent / (_DONE if outcome.status == "accepted" else _REJECTED)
    problems = _problem_lines(outcome)
    if problems:
        (target / f"{path.name}{_PROBLEMS_SUFFIX}").write_text(
            "\n".join(problems) + "\n", encoding="utf-8"
        )
    path.replace(target / path.name)


def _answer(path: Path, outcome: InterchangeOutcome, folder: Path) -> None:
    """Write the CONTRL (and the APERAKs) answering ``path``'s interchange into ``folder``."""
    answer = acknowledgements_for(outcome)
    if answer is None:
        return
    files = [(f"{path.name}.contrl.edi", answer.contrl)]
    if answer.aperaks:
        files.append((f"{path.name}.aperak.edi", "".join(answer.aperaks)))
    try:
        for name, text in files:
            partial = folder / f".{name}.partial"
            partial.write_text(text, encoding="latin-1")  # UNOC: the builder keeps to 8859-1
            partial.replace(folder / name)
    except OSError as error:  # a full disk or a read-only folder must not stop the watcher
        print(f"  hub: cannot write the answer in {folder}: {error.strerror or error}")
        return
    print(f"  answered: {', '.join(name for name, _ in files)} in {folder}")


def _report(path: Path, outcome: InterchangeOutcome) -> None:
    print(f"hub: {path.name}: {outcome.summary()}")
    for line in _problem_lines(outcome):
        print(f"  {line}")


def _problem_lines(outcome: InterchangeOutcome) -> list[str]:
    lines = list(outcome.problems)
    for message in outcome.messages:
        lines += [f"[{message.reason}] {problem}" for problem in message.problems]
    return lines


def _exit_status(outcome: InterchangeOutcome) -> int:
    if outcome.status == "failed":
        return EXIT_NOT_DELIVERED
    return 0 if outcome.status == "accepted" else EXIT_REFUSED


def _overall(statuses: set[int]) -> int:
    # Not delivered first: it is the one that asks for the files to be sent again.
    for status in (EXIT_NOT_DELIVERED, EXIT_REFUSED):
        if status in statuses:
            return status
    return 0
