"""How the schema registry reads a token from ``Authorization`` (hub.api.schema_registry_access)."""

from __future__ import annotations

import base64

import pytest

from hub.api.schema_registry_access import presented_token


def basic(credentials: bytes) -> str:
    return "Basic " + base64.b64encode(credentials).decode()


@pytest.mark.parametrize(
    ("authorization", "token"),
    [
        ("Bearer huba_x", "huba_x"),
        ("bearer huba_x", "huba_x"),
        ("BEARER   huba_x  ", "huba_x"),
        (basic(b"admin:huba_x"), "huba_x"),
        (basic(b"anyone:huba_x:with-colon"), "huba_x:with-colon"),
        ("basic " + base64.b64encode(b"u:huba_x").decode(), "huba_x"),
        (None, None),
        ("", None),
        ("Bearer", None),
        ("Bearer   ", None),
        ("Token huba_x", None),
        ("Basic not-base64!", None),
        (basic(b"no-colon"), None),
        (basic(b"user:"), None),
        (basic(b"\xff\xfe:x"), None),  # not UTF-8
    ],
)
def test_a_bearer_token_or_a_basic_password_is_the_token(
    authorization: str | None, token: str | None
) -> None:
    assert presented_token(authorization) == token
