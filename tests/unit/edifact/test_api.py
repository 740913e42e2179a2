"""The public surface of the connector, pinned."""

from __future__ import annotations

import connectors.edifact as edifact


def test_public_names() -> None:
    assert sorted(edifact.__all__) == [
        "InterchangeResult",
        "MessageResult",
        "Problem",
        "format_problem",
        "read_interchange",
        "writable",
        "write_interchange",
    ]
