"""The CONTRL and APERAK answering an interchange the hub has taken (``hub edifact``,
``POST /v1/edifact``); the segments are built by :mod:`connectors.edifact.acknowledgements`.

The reader's problems go as they are (syntax ones in the CONTRL, content ones in an APERAK); a
message refused by the hub's checks (a port not the sender's, a late event, an invalid
identifier…) gets an APERAK whose one error names its UNH and the reason. Nothing answers an
interchange whose delivery failed (it is to be sent again, and answered then) or a text with no
UNB (nobody to address it to: the refusal says why).
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from connectors.edifact.acknowledgements import (
    Acknowledgements,
    MessageVerdict,
    acknowledge,
    refusal,
)
from connectors.edifact.results import Problem
from hub.ingest.edifact import InterchangeOutcome

__all__ = ["acknowledgements_for", "fresh_reference"]


def fresh_reference() -> str:
    """A new interchange control reference: 14 random digits (0020 is an..14)."""
    return f"{secrets.randbelow(10**14):014d}"


def acknowledgements_for(
    outcome: InterchangeOutcome, *, sender_id: str = "UNKNOWN"
) -> Acknowledgements | None:
    """The CONTRL and APERAKs for ``outcome``, or None when nothing can answer it.

    Args:
        sender_id: whom to address when the UNB names no sender (e.g. the HTTP token's port).
    """
    read = outcome.read
    if read is None or outcome.status == "failed":
        return None
    verdicts: list[MessageVerdict] = []
    for message, handled in zip(read.messages, outcome.messages, strict=True):
        refusals: tuple[Problem, ...] = ()
        if handled.status == "rejected" and not message.problems and handled.reason is not None:
            detail = "; ".join(handled.problems)
            refusals = (refusal(message, handled.reason, detail),)
        verdicts.append(MessageVerdict(message, refusals))
    return acknowledge(
        read, verdicts, prepared_at=datetime.now(UTC), new_reference=fresh_reference,
        sender_id=sender_id,
    )  # fmt: skip
