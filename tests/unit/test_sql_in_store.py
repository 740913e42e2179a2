"""Every SQL statement of the product lives in the store package, ``hub/db/`` (issue 17).

The source of ``hub/``, ``streams/``, ``connectors/`` and ``schemas/`` is read with :mod:`ast`:
a call of an asyncpg statement method (``execute``, ``fetch``, ``copy_…`` and the like) whose
first argument is SQL text — a string literal, an f-string, a concatenation of them, or a name
bound to one in the same module — fails the test with its file and line. Not scanned: the store
itself (``hub/db/``, the schema registry's tables included) and the local PostgreSQL launcher
(``hub/local/``, which creates clusters and databases); nor ``bench/`` and ``tests/``, which
measure and check the hub from outside, as an operator's psql would.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("hub", "streams", "connectors", "schemas")
EXEMPT = ("hub/db/", "hub/local/")
# asyncpg's connection and pool methods that take a statement (copy_*: a query or a table name).
STATEMENT_METHODS = frozenset(
    {"execute", "executemany", "fetch", "fetchrow", "fetchval", "fetchmany", "prepare", "cursor"}
)
SQL = re.compile(
    r"\b(SELECT|INSERT|UPDATE|DELETE|MERGE|WITH|CREATE|DROP|ALTER|TRUNCATE|COPY|SHOW|SET|RESET"
    r"|LOCK|LISTEN|NOTIFY|BEGIN|COMMIT|ROLLBACK|VACUUM|ANALYZE|GRANT|REVOKE|CALL|DO)\b",
    re.IGNORECASE,
)


def _text(node: ast.expr, constants: dict[str, str]) -> str | None:
    """The literal text of ``node`` (f-string parts as written, placeholders left out), or None
    when it is not made of literals."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(_text(part, constants) or " " for part in node.values)
    if isinstance(node, ast.FormattedValue):
        return None
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Mod):
        left, right = _text(node.left, constants), _text(node.right, constants)
        if left is None and right is None:
            return None
        return f"{left or ''} {right or ''}"
    if isinstance(node, ast.Name):
        return constants.get(node.id)
    return None


def _constants(tree: ast.Module) -> dict[str, str]:
    """Names bound to literal text anywhere in the module (``_BERTHS = "SELECT …"``)."""
    found: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            text = _text(node.value, found)
            for target in targets:
                if isinstance(target, ast.Name) and text is not None:
                    found[target.id] = text
    return found


def sql_outside_store(source: str, name: str) -> list[str]:
    """``name:line method: statement`` of every statement call with SQL text in ``source``."""
    tree = ast.parse(source, filename=name)
    constants = _constants(tree)
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        method = node.func.attr
        if method not in STATEMENT_METHODS and not method.startswith("copy_"):
            continue
        argument = node.args[0] if node.args else None
        if argument is None:
            keywords = {"query", "table_name", "source"}
            argument = next((k.value for k in node.keywords if k.arg in keywords), None)
        text = _text(argument, constants) if argument is not None else None
        if text is None:
            continue
        if SQL.search(text) or method.startswith("copy_"):
            statement = " ".join(text.split())[:60]
            found.append((node.lineno, f"{name}:{node.lineno} .{method}({statement!r})"))
    return [hit for _, hit in sorted(found)]


def _sources() -> list[Path]:
    return sorted(
        path
        for folder in SCANNED
        for path in (ROOT / folder).rglob("*.py")
        if not path.relative_to(ROOT).as_posix().startswith(EXEMPT)
    )


def test_no_sql_outside_the_store() -> None:
    found = [
        hit
        for path in _sources()
        for hit in sql_outside_store(
            path.read_text(encoding="utf-8"), path.relative_to(ROOT).as_posix()
        )
    ]
    assert not found, "SQL outside hub/db/ (move it into a store function):\n" + "\n".join(found)


def test_the_scan_covers_the_product() -> None:
    """The scan reads the packages it names, and skips exactly the exempt ones."""
    scanned = {path.relative_to(ROOT).as_posix() for path in _sources()}
    assert {
        "hub/api/kpis.py",
        "streams/app.py",
        "hub/cli/tenants.py",
        "hub/ingest/ais.py",
    } <= scanned
    assert not {p for p in scanned if p.startswith(EXEMPT)}


@pytest.mark.parametrize(
    ("method", "call"),
    [
        ("fetch", 'await pool.fetch("SELECT unlocode FROM ports")'),
        ("fetchval", "await pool.fetchval('SHOW server_version')"),
        ("execute", 'await c.execute("UPDATE t SET a = 1 " "WHERE b = $1", b)'),
        ("execute", "await c.execute(f'DROP DATABASE \"{name}\"')"),
        ("executemany", 'await c.executemany("INSERT INTO t VALUES ($1)", rows)'),
        ("fetchrow", 'await c.fetchrow(query="select 1")'),
        ("copy_records_to_table", 'await c.copy_records_to_table("kpi_windows", records=rows)'),
        ("fetch", 'await c.fetch("""\n    WITH x AS (SELECT 1) SELECT * FROM x\n""")'),
        ("fetch", 'await c.fetch(_Q + " WHERE a = $1", a)'),
    ],
)
def test_the_scan_finds_sql(method: str, call: str) -> None:
    source = f'_Q = "SELECT a FROM t"\n\n\nasync def f(pool, c, b, rows, name, a):\n    {call}\n'
    [found] = sql_outside_store(source, "x.py")
    assert found.startswith(f"x.py:5 .{method}(")


@pytest.mark.parametrize(
    "call",
    [
        "await store.fetch_rows(pool)",  # not a statement method
        "await pool.fetch(QUERY_FROM_ELSEWHERE)",  # not literal text here
        "await client.fetch(url)",
        'await subprocess.execute("ls")',  # no SQL in the text
    ],
)
def test_the_scan_leaves_other_calls(call: str) -> None:
    source = f"async def f(store, pool, client, url, subprocess):\n    {call}\n"
    assert sql_outside_store(source, "x.py") == []
