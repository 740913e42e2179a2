"""How the HTTP API reads a bearer token (``hub/api/access.py``) and names who presented it in
the audit log (``hub/db/audit.py``); the scope rules are tested against the real API and database
in ``tests/integration/test_access.py``."""

from __future__ import annotations

import hashlib

import pytest

from hub.api.access import bearer_token
from hub.db.audit import presented_actor


@pytest.mark.parametrize(
    ("header", "token"),
    [("Bearer abc", "abc"), ("Bearer  abc ", "abc"), ("Bearer ", None), ("Basic abc", None),
     (None, None), ("", None), ("Bearer", None), ("Bearerabc", None),
     # The scheme is case-insensitive (RFC 7235), and any whitespace separates it.
     ("bearer abc", "abc"), ("BEARER abc", "abc"), ("bEaReR abc", "abc"), ("Bearer\tabc", "abc"),
     ("basic abc", None)],
)  # fmt: skip
def test_bearer_token(header: str | None, token: str | None) -> None:
    assert bearer_token(header) == token


@pytest.mark.parametrize("header", ["Bearer abc", "bearer abc", "BEARER  abc "])
def test_the_audit_names_a_presented_token_by_its_digest_whatever_the_scheme_case(
    header: str,
) -> None:
    assert presented_actor(header) == "token:" + hashlib.sha256(b"abc").hexdigest()[:8]


@pytest.mark.parametrize("header", [None, "", "Bearer ", "Basic abc"])
def test_without_a_bearer_token_the_actor_is_anonymous(header: str | None) -> None:
    assert presented_actor(header) == "anonymous"
