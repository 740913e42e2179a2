"""Reads of a certificate's stored events outside the worker: the declarations that invoke it.

The certificate stage (``streams/certificate_stage.py``) finds a certificate's declarations under
the key ``certificate:<id>`` (:class:`~hub.domain.keys.CertificateKey`), keeps the events that
count (:func:`~hub.domain.kpis.events.effective_events`: each once, retracted ones dropped) and
takes the LODGED ones invoking the certificate
(:func:`~hub.domain.certificates.rules.declarations_invoking`). :func:`lodged_declarations`
reads them the same way, for the on-demand verification of ``POST /v1/certificates/verify``,
which stores nothing.
"""

from __future__ import annotations

import asyncpg

from hub.db.kpi_store import events_of
from hub.domain.certificates.rules import declarations_invoking
from hub.domain.keys import CertificateKey
from hub.domain.kpis.events import effective_events
from schemas.models import MODELS, CustomsEvent

__all__ = ["lodged_declarations"]


async def lodged_declarations(
    connection: asyncpg.Connection | asyncpg.Pool,
    certificate_id: str,
    *,
    country: str | None = None,
) -> list[CustomsEvent]:
    """The stored LODGED customs events invoking ``certificate_id``, after de-duplication and
    retractions, in event-time order.

    Args:
        connection: a connection or the pool.
        certificate_id: the certificate invoked.
        country: only the declarations lodged at this country's ports (the first two letters of
            a UN/LOCODE are its country), for a customs authority that sees only its own; None:
            every port's.
    """
    stored = effective_events(
        MODELS[domain].model_validate_json(payload)
        for domain, payload in await events_of(connection, [CertificateKey(certificate_id).text])
    )
    return [
        event
        for event in declarations_invoking(stored, certificate_id)
        if country is None or event.port[:2] == country
    ]
