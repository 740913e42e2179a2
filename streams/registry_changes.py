"""Registry changes re-evaluate verdicts: the trust lifecycle of certificates of origin.

A verdict depends on the issuer registry as well as on events: an official revoked with a
revocation time before a certificate's date turns its VALID verdict INVALID
(``SIGNER_REVOKED``). Every change of the registry is recorded in the outbox
``registry_changes`` in its own transaction (:mod:`hub.db.issuers`); a worker's timer claims
one change at a time (:func:`hub.db.registry_changes.claimed_change`: several workers share
them), finds the certificates it can affect, re-evaluates them in chunks with the one rule
definition (:func:`streams.certificate_stage.evaluate_certificates`, under the certificates'
locks), publishes each new version on ``validations.<ISO2>`` like any verdict
(:func:`streams.sinks.records.verdict_records`), and only then marks the change processed.

At least once: a crash before the mark releases the change, and its next turn evaluates the
same certificates again; an unchanged verdict issues no version, and a version this change
issued before the crash is published again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import asyncpg

from hub.db.registry_changes import RegistryChange, affected_certificates, claimed_change
from streams import metrics
from streams.certificate_stage import certificate_key, evaluate_certificates
from streams.error_policies import DATABASE_ERRORS, PUBLISH_ERRORS
from streams.sinks.base import Sink
from streams.sinks.records import verdict_records
from streams.state import WorkerState

log = logging.getLogger(__name__)

CHUNK = 200
"""Certificates evaluated in one transaction (and their locks held together)."""
_MAX_CHANGES_PER_TURN = 20


async def process_registry_changes(
    state: WorkerState, sink: Sink, topic: Callable[[str], str]
) -> int:
    """A timer's turn: process the changes waiting (a few at most), each to the end; returns how
    many. Best effort like every timer: a database or broker failure leaves the change to the
    next turn (logged)."""
    done = 0
    try:
        pool = await state.pool()
        while done < _MAX_CHANGES_PER_TURN:
            async with claimed_change(pool) as change:
                if change is None:
                    break
                await reevaluate(
                    pool, change, sink, topic, state.settings.rules.certificate_validity_days
                )
            done += 1
    except (*DATABASE_ERRORS, *PUBLISH_ERRORS) as error:
        log.warning("registry change not processed (the next turn retries): %s", error)
    return done


async def reevaluate(
    pool: asyncpg.Pool,
    change: RegistryChange,
    sink: Sink,
    topic: Callable[[str], str],
    default_validity_days: int,
    *,
    chunk: int = CHUNK,
) -> int:
    """Re-evaluate every certificate ``change`` can affect and publish the versions it issues;
    returns how many it issued. Returns once the broker acknowledged them all."""
    issued = 0
    after = ""
    while certificate_ids := await affected_certificates(pool, change, after, chunk):
        after = certificate_ids[-1]
        verdicts = await evaluate_certificates(
            pool,
            [certificate_key(certificate_id) for certificate_id in certificate_ids],
            default_validity_days,
            cause=change.cause,
        )
        # A version this change issued before a crash is sent again; the others are unchanged
        # and their consumers have them already.
        changed = [
            verdict for verdict in verdicts if verdict.new or _caused_by(verdict.body, change.id)
        ]
        for record in verdict_records(changed, topic):
            sink.add(record)
        try:
            await sink.flush()
        except BaseException:
            # The change stays unprocessed and its redo publishes these versions again.
            sink.discard()
            raise
        issued += sum(verdict.new for verdict in verdicts)
        for verdict in verdicts:
            if verdict.new:
                metrics.VERDICTS.labels(outcome=verdict.body["outcome"]).inc()
        metrics.REEVALUATIONS.labels(kind=change.kind, changed="yes").inc(
            sum(verdict.new for verdict in verdicts)
        )
        metrics.REEVALUATIONS.labels(kind=change.kind, changed="no").inc(
            sum(not verdict.new for verdict in verdicts)
        )
    if issued:
        log.info("registry change %d (%s): %d new verdict versions", change.id, change.kind, issued)
    return issued


def _caused_by(body: dict[str, object], change_id: int) -> bool:
    cause = body.get("cause")
    return isinstance(cause, dict) and cause.get("registry_change") == change_id
