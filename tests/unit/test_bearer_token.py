"""How the HTTP API reads a bearer token (``hub/api/access.py``); the read:kpis rule itself is
tested against the real API and database in ``tests/integration/test_access.py``."""

from __future__ import annotations

import pytest

from hub.api.access import bearer_token


@pytest.mark.parametrize(
    ("header", "token"),
    [("Bearer abc", "abc"), ("Bearer  abc ", "abc"), ("Bearer ", None), ("Basic abc", None),
     (None, None)],
)  # fmt: skip
def test_bearer_token(header: str | None, token: str | None) -> None:
    assert bearer_token(header) == token
