"""Every Avro schema in ``schemas/avro/`` stays BACKWARD compatible with its committed history.

Consumers upgrade before producers, so a new version of an event schema must read everything
written with the version before it (the registry would refuse it at registration otherwise,
but only once the hub starts; this check refuses it in CI). The working-tree file is compared
with its latest committed version if it differs from it, else that version is compared with
the one committed before it; a file without such a version has nothing to be compatible with.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from hub.settings import PROJECT_ROOT
from schemas.compatibility import CompatibilityLevel, check

SCHEMA_DIR = PROJECT_ROOT / "schemas" / "avro"
SCHEMA_FILES = sorted(SCHEMA_DIR.glob("*.avsc"))


def _git(root: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "-C", str(root), *arguments],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )


def _in_git_checkout() -> bool:
    if shutil.which("git") is None:
        return False
    return _git(PROJECT_ROOT, "rev-parse", "--is-inside-work-tree").stdout.strip() == "true"


def _committed(root: Path, revision: str, path: str) -> str | None:
    """The file at ``revision``, or None if it did not exist there (deleted, renamed)."""
    shown = _git(root, "show", f"{revision}:{path}")
    return shown.stdout if shown.returncode == 0 else None


def previous_version(root: Path, schema_file: Path) -> tuple[str, str] | None:
    """(label, text) of the version the working-tree file must stay compatible with."""
    path = schema_file.relative_to(root).as_posix()
    if _git(root, "rev-parse", "--verify", "--quiet", "HEAD").returncode != 0:
        return None  # a repository without commits yet
    log = _git(root, "log", "--format=%H", "-n", "2", "--", path)
    assert log.returncode == 0, f"git log failed for {path}: {log.stderr.strip()}"
    revisions = log.stdout.split()
    if not revisions:
        return None
    latest = _committed(root, revisions[0], path)
    if latest is not None and latest != schema_file.read_text():
        return f"{path} as committed in {revisions[0][:10]}", latest
    if len(revisions) < 2:
        return None
    before = _committed(root, revisions[1], path)
    if before is None:
        return None
    return f"{path} as committed in {revisions[1][:10]}", before


@pytest.mark.skipif(not _in_git_checkout(), reason="not a git checkout: no history to compare")
@pytest.mark.parametrize("schema_file", SCHEMA_FILES, ids=[path.name for path in SCHEMA_FILES])
def test_schema_is_backward_compatible_with_its_previous_version(schema_file: Path) -> None:
    previous = previous_version(PROJECT_ROOT, schema_file)
    if previous is None:
        return  # a new schema: nothing to stay compatible with
    label, previous_text = previous
    problems = check(
        schema_file.read_text(), [previous_text], CompatibilityLevel.BACKWARD, names=[label]
    )
    assert not problems, (
        f"{schema_file.name} is not BACKWARD compatible with its previous version; consumers "
        "on the new schema could not read events already written. Give new fields a default, "
        "keep enum symbols, keep types; or add a new schema instead.\n" + "\n".join(problems)
    )


# The comparison rule itself, on a repository of its own.


def _schema(*field_names: str) -> str:
    fields = [{"name": name, "type": "string"} for name in field_names]
    return json.dumps({"type": "record", "name": "Call", "fields": fields}, indent=2) + "\n"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    _git(tmp_path, "init", "--quiet")
    return tmp_path


def _commit(repo: Path, file: Path, text: str) -> None:
    file.write_text(text)
    _git(repo, "add", file.name)
    author = ("-c", "user.name=test", "-c", "user.email=test@example.org")
    done = _git(repo, *author, "commit", "--quiet", "-m", f"change {file.name}")
    assert done.returncode == 0, done.stderr


def test_a_file_without_history_has_no_previous_version(repo: Path) -> None:
    file = repo / "call.avsc"
    file.write_text(_schema("imo"))
    assert previous_version(repo, file) is None


def test_a_file_committed_once_and_unchanged_has_no_previous_version(repo: Path) -> None:
    file = repo / "call.avsc"
    _commit(repo, file, _schema("imo"))
    assert previous_version(repo, file) is None


def test_a_changed_working_file_is_compared_with_its_latest_commit(repo: Path) -> None:
    file = repo / "call.avsc"
    _commit(repo, file, _schema("imo"))
    _commit(repo, file, _schema("imo", "name"))
    file.write_text(_schema("imo", "name", "berth"))
    previous = previous_version(repo, file)
    assert previous is not None
    assert previous[1] == _schema("imo", "name")
    (problem,) = check(file.read_text(), [previous[1]], "BACKWARD", names=[previous[0]])
    assert "'berth'" in problem
    assert "call.avsc as committed in" in problem


def test_an_unchanged_working_file_is_compared_with_the_commit_before(repo: Path) -> None:
    file = repo / "call.avsc"
    _commit(repo, file, _schema("imo"))
    _commit(repo, file, _schema("imo", "name"))
    previous = previous_version(repo, file)
    assert previous is not None
    assert previous[1] == _schema("imo")
    assert check(file.read_text(), [previous[1]], "BACKWARD") != []
