"""A port acts only on what is its own: refusals that need the store (issue 16).

The publisher's authorisation for an event's ``port`` is checked on the way in (HTTP token,
Kafka principal); what an event *names* is checked here, before a batch is recorded:

- a ``retracts_event_id`` naming a known event of another port: ``PORT_NOT_OWNED``;
- a certificate submission whose ``certificate_id`` another port holds (its first submitter):
  ``CERTIFICATE_ID_TAKEN``. Within a batch the first submission of an id wins.

"Known" is stored, or in the same batch. The certificate stage and
:func:`hub.domain.kpis.events.effective_events` apply the same ownership again, so that an event
recorded before these checks existed, or by two workers racing, never changes another port's
data.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from uuid import UUID

import asyncpg

from hub.db.ownership import event_ports, submitting_ports
from schemas.models import CertificateSubmission, Envelope
from schemas.rejections import Rejected, RejectReason
from streams.certificate_stage import certificate_key

__all__ = ["ownership_refusals", "refusals"]


async def ownership_refusals(
    connection: asyncpg.Connection | asyncpg.Pool, events: Sequence[Envelope]
) -> dict[int, Rejected]:
    """The events of a batch (accepted so far, in batch order) that act on another port's
    data, by their index in ``events``."""
    targets = {e.retracts_event_id for e in events if e.retracts_event_id is not None}
    keys = {
        certificate_key(e.certificate_id) for e in events if isinstance(e, CertificateSubmission)
    }
    if not targets and not keys:
        return {}
    stored_ports = await event_ports(connection, targets)
    holders = await submitting_ports(connection, keys)
    return refusals(events, stored_ports, holders)


def refusals(
    events: Sequence[Envelope], stored_ports: Mapping[UUID, str], holders: Mapping[str, str]
) -> dict[int, Rejected]:
    """The pure rule of :func:`ownership_refusals`: ``stored_ports`` holds the port of every
    stored event a retraction names, ``holders`` the port holding each stored certificate key.

    Keyed by index, not ``event_id``: an id copied by another port must not refuse the real one.
    """
    in_batch: dict[UUID, str] = {}
    for event in events:
        in_batch.setdefault(event.event_id, event.port)
    held = dict(holders)
    refused: dict[int, Rejected] = {}
    for index, event in enumerate(events):
        target = event.retracts_event_id
        if target is not None:
            owner = stored_ports.get(target, in_batch.get(target))
            if owner is not None and owner != event.port:
                refused[index] = Rejected(
                    RejectReason.PORT_NOT_OWNED,
                    f"retracts_event_id {target} names an event of another port; "
                    f"{event.port} may retract only its own events",
                )
                continue
        if isinstance(event, CertificateSubmission):
            key = certificate_key(event.certificate_id)
            holder = held.setdefault(key, event.port)  # the first submission takes the id
            if holder != event.port:
                refused[index] = Rejected(
                    RejectReason.CERTIFICATE_ID_TAKEN,
                    f"certificate_id {event.certificate_id} is already held by another port; "
                    "submit it under an id of your own",
                )
    return refused
