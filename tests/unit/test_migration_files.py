"""Migration files are found in version order and misnamed ones are refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.db.migrations import discover
from hub.errors import DatabaseError


def test_migrations_are_ordered_by_their_number_not_their_name(tmp_path: Path) -> None:
    (tmp_path / "0010_later.sql").write_text("SELECT 10;")
    (tmp_path / "0002_earlier.sql").write_text("SELECT 2;")
    assert [(m.version, m.name) for m in discover(tmp_path)] == [(2, "earlier"), (10, "later")]


@pytest.mark.parametrize("name", ["1_short.sql", "0001-dash.sql", "0001_Upper.sql"])
def test_a_misnamed_migration_is_refused(tmp_path: Path, name: str) -> None:
    (tmp_path / name).write_text("SELECT 1;")
    with pytest.raises(DatabaseError, match=r"is not named NNNN_description\.sql"):
        discover(tmp_path)


def test_two_migrations_with_one_number_are_refused(tmp_path: Path) -> None:
    (tmp_path / "0003_a.sql").write_text("SELECT 1;")
    (tmp_path / "0003_b.sql").write_text("SELECT 2;")
    with pytest.raises(DatabaseError, match="two migrations have version 0003"):
        discover(tmp_path)


def test_the_shipped_migrations_are_well_formed() -> None:
    migrations = discover()
    assert migrations, "no migrations shipped"
    assert [m.version for m in migrations] == list(range(1, len(migrations) + 1))
