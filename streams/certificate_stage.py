"""The certificate stage: after a batch is recorded, issue the verdicts it changed.

A certificate's verdict depends on its submitted document, the issuer registry, and the customs
declarations that invoke it (SPEC §3). Both the submission and those declarations are stored
under the key ``certificate:<id>``, so whichever arrives second finds the other: for every
certificate a batch touches, the stage loads them all, runs the rules
(:func:`hub.domain.certificates.rules.evaluate`, the single definition) and stores the verdict as a
new version if it changed. Re-delivered events give the same verdict, so no new version (the
current one is published again: consumers keep the latest version per certificate).

Certificates are serialised per id by advisory locks taken before the events are read, as in the
KPI stage, so concurrent workers never issue two versions from stale reads.

A certificate id belongs to the port that submitted it first (:mod:`streams.ownership` refuses
another port's submission as ``CERTIFICATE_ID_TAKEN``). Here, again, only the holder's
submissions count, and a retraction counts only against its own port's events
(:func:`effective_events`): an event stored before those refusals existed, or by two workers
racing, never changes another port's certificate. Declarations of any port count: the rules
judge them (``DECLARATION_MISMATCH`` fails one outside the importing country).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

import asyncpg

from hub.db.issuers import load_registry
from hub.db.kpi_store import events_of
from hub.db.ownership import submitting_ports
from hub.db.server import lock_keys
from hub.db.verdicts import StoredVerdict, record_verdict
from hub.domain.certificates.rules import declarations_invoking, evaluate
from hub.domain.keys import CertificateKey
from hub.domain.kpis.events import effective_events
from schemas.models import MODELS, CertificateSubmission, CustomsEvent, Envelope


def certificate_key(certificate_id: str) -> str:
    """The key a certificate's events are stored under: ``certificate:<id>``
    (:class:`~hub.domain.keys.CertificateKey`)."""
    return CertificateKey(certificate_id).text


def certificate_keys(event: Envelope) -> tuple[str, ...]:
    """The keys an event is stored under for the certificate stage: a submission, and a
    declaration's events that invoke a certificate."""
    if isinstance(event, CertificateSubmission):
        return (certificate_key(event.certificate_id),)
    if isinstance(event, CustomsEvent) and event.certificate_id:
        return (certificate_key(event.certificate_id),)
    return ()


async def update_verdicts(
    pool: asyncpg.Pool, events: Sequence[Envelope], default_validity_days: int
) -> list[StoredVerdict]:
    """Re-evaluate every certificate ``events`` concern (events already stored); returns each
    one's current verdict version (``new`` if this call issued it), in certificate order."""
    keys = sorted({key for event in events for key in certificate_keys(event)})
    return await evaluate_certificates(pool, keys, default_validity_days)


async def evaluate_certificates(
    pool: asyncpg.Pool,
    keys: Collection[str],
    default_validity_days: int,
    *,
    cause: dict[str, Any] | None = None,
) -> list[StoredVerdict]:
    """Evaluate the certificates of ``keys`` (``certificate:<id>``) from their stored events and
    the registry; returns each one's current verdict version (``new`` if this call issued it,
    with ``cause``: why, when not an event's doing), in key order. A certificate without a
    submission is skipped.

    The registry is read after the certificates' locks are taken: a registry change committed
    meanwhile is either seen here or re-evaluated, after these locks, by its own turn
    (:mod:`streams.registry_changes`).
    """
    keys = sorted(set(keys))
    if not keys:
        return []
    issued: list[StoredVerdict] = []
    async with pool.acquire() as connection, connection.transaction():
        await lock_keys(connection, keys)
        registry = await load_registry(connection)
        holders = await submitting_ports(connection, keys)
        stored = effective_events(
            MODELS[domain].model_validate_json(payload)
            for domain, payload in await events_of(connection, keys)
        )
        for key in keys:
            certificate_id = CertificateKey.parse(key).certificate_id
            submission = _latest_submission(stored, certificate_id, holders.get(key))
            if submission is None:
                continue  # a declaration came first: its certificate is evaluated on arrival
            declarations = declarations_invoking(stored, certificate_id)
            verdict = evaluate(
                submission, registry, declarations, default_validity_days=default_validity_days
            )
            issued.append(await record_verdict(connection, verdict, cause))
    return issued


def _latest_submission(
    events: Sequence[Envelope], certificate_id: str, holder: str | None
) -> CertificateSubmission | None:
    """The latest submission of the certificate by ``holder``, the port holding its id (a
    re-submitted document replaces the earlier; another port's never counts)."""
    submissions = [
        event
        for event in events
        if isinstance(event, CertificateSubmission)
        and event.certificate_id == certificate_id
        and event.port == holder
    ]
    return max(
        submissions,
        key=lambda e: (e.occurred_at, e.published_at, str(e.event_id)),
        default=None,
    )
