"""When `hub run` makes a development dashboard token, and what its "up" line says."""

from __future__ import annotations

import pytest

from hub.run.dev_credentials import dashboard_url, uses_local_postgres
from hub.run.supervisor import _dashboard_hint
from hub.services import PG_VARIABLES
from hub.settings import load_settings


@pytest.fixture(autouse=True)
def no_pg_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PG_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def test_only_the_hubs_own_postgres_counts_as_local(monkeypatch: pytest.MonkeyPatch) -> None:
    assert uses_local_postgres(load_settings({}))
    assert not uses_local_postgres(load_settings({}, database={"url": "postgresql://db/hub"}))
    monkeypatch.setenv("PGHOST", "db.example")
    assert not uses_local_postgres(load_settings({}))


def test_the_dashboard_address_carries_the_token_in_its_fragment() -> None:
    settings = load_settings({}, api={"http_host": "127.0.0.1", "http_port": 8080})
    assert dashboard_url(settings) == "http://127.0.0.1:8080/dashboard/"
    assert dashboard_url(settings, "hubk_x") == "http://127.0.0.1:8080/dashboard/#token=hubk_x"


def test_the_up_line_gives_the_dashboard_with_its_token_or_says_how_to_get_one() -> None:
    settings = load_settings({}, api={"http_port": 9000})
    assert _dashboard_hint(settings, "hubk_x") == (
        "dashboard http://127.0.0.1:9000/dashboard/#token=hubk_x"
    )
    production = _dashboard_hint(settings, None)
    assert production.startswith("dashboard http://127.0.0.1:9000/dashboard/ needs a read:kpis")
    assert "`hub tokens add-reader`" in production and "#token=TOKEN" in production
