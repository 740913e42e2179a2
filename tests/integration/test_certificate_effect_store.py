"""The indicator stage's reads for the certificate's effect on release time, against the real
PostgreSQL: a released declaration's lodgement and its certificate's verdict are found whenever
they were stored, and a late verdict or an amended lodgement marks the day of the release."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import asyncpg

from hub.db.events import IngestedEvent, record_events
from hub.db.indicator_store import (
    certificate_outcomes,
    certificate_outcomes_of,
    changed_days,
    customs_events_of_declarations,
)
from hub.db.kpi_store import write_entity_kpis
from hub.db.migrations import migrate
from hub.domain.indicators.inputs import declaration_infos
from hub.domain.keys import CertificateKey, EntityKey
from hub.domain.kpis.model import KpiValue
from schemas.models import CustomsEvent, CustomsKind, GoodsLine, Regime

PORT = "PECLL"
RELEASED = datetime(2026, 10, 20, 9, tzinfo=UTC)
LODGED = datetime(2026, 9, 29, 15, tzinfo=UTC)  # a month earlier than the release
SUBMITTED = datetime(2026, 9, 28, 10, tzinfo=UTC)


def _lodgement(at: datetime, certificate: str | None) -> IngestedEvent:
    event = CustomsEvent(
        event_id=uuid.uuid4(), occurred_at=at, published_at=at, port=PORT,
        declaration_id="D-1", kind=CustomsKind.LODGED, regime=Regime.IMPORT,
        goods=(GoodsLine(hs_code="080610", quantity=Decimal(1), unit="KGM",
                         value_usd=Decimal(1)),),
        agreement="CA01", certificate_id=certificate,
    )  # fmt: skip
    keys = [EntityKey.declaration(PORT, "D-1").text]
    if certificate:
        keys.append(CertificateKey(certificate).text)
    return IngestedEvent(
        event_id=event.event_id, domain="customs", event_type="customs.declaration", port=PORT,
        occurred_at=at, payload=event.model_dump_json(), entity_keys=tuple(keys), origin=None,
    )  # fmt: skip


async def _verdict(
    connection: asyncpg.Connection, version: int, outcome: str, submission: uuid.UUID
) -> None:
    await connection.execute(
        """
        INSERT INTO certificate_verdicts
            (certificate_id, version, importing_country, exporting_country, outcome, failed,
             rules, document_sha256, declarations, submission_event_id, verdict)
        VALUES ('CO-1', $1, 'PE', 'CO', $2, '{}', '[]', repeat('0', 64), $3, $4, '{}')
        """,
        version, outcome, [f"{PORT}/D-1"], submission,
    )  # fmt: skip


async def test_a_released_declarations_lodgement_and_verdict_are_read_and_mark_its_day(
    fresh_database: str,
) -> None:
    connection = await asyncpg.connect(fresh_database)
    try:
        await migrate(connection)
        submission = uuid.uuid4()
        submitted = IngestedEvent(
            event_id=submission, domain="certificate", event_type="certificate.test", port=PORT,
            occurred_at=SUBMITTED, payload=json.dumps({}),
            entity_keys=(CertificateKey("CO-1").text,), origin=None,
        )  # fmt: skip
        await record_events(connection, [_lodgement(LODGED, "CO-1"), submitted])
        release = KpiValue("declaration", f"{PORT}/D-1", PORT, "release_time_h", 30.0, "h",
                           RELEASED, None)  # fmt: skip
        await write_entity_kpis(connection, [(release, f"{PORT}/D-1")], ())
        await _verdict(connection, 1, "PENDING", submission)

        # Read by key: the lodgement of a month before, the verdict of a certificate submitted
        # then (not among those submitted in the release's month).
        events = await customs_events_of_declarations(connection, [(PORT, "D-1"), (PORT, "X")])
        (info,) = declaration_infos(events)
        assert (info.lodged_at, info.agreement, info.certificate_id) == (LODGED, "CA01", "CO-1")
        october = datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC)
        assert await certificate_outcomes(connection, *october) == []
        (outcome,) = await certificate_outcomes_of(connection, ["CO-1", "NONE"])
        assert (outcome.outcome, outcome.submitted_at) == ("PENDING", SUBMITTED)
        assert await certificate_outcomes_of(connection, []) == []

        release_day = RELEASED.replace(hour=0)
        since = await connection.fetchval("SELECT clock_timestamp()")
        assert await changed_days(connection, since) == []
        # A verdict issued after the release: the release's day changes (and the submission's).
        await _verdict(connection, 2, "VALID", submission)
        assert await changed_days(connection, since) == [SUBMITTED.replace(hour=0), release_day]
        (outcome,) = await certificate_outcomes_of(connection, ["CO-1"])
        assert outcome.outcome == "VALID"

        # A lodgement amended after the release (dropping the certificate): the release's day
        # changes too, not only the amendment's.
        since = await connection.fetchval("SELECT clock_timestamp()")
        amended = RELEASED + timedelta(days=3)
        await record_events(connection, [_lodgement(amended, None)])
        assert await changed_days(connection, since) == [release_day, amended.replace(hour=0)]
        (info,) = declaration_infos(
            await customs_events_of_declarations(connection, [(PORT, "D-1")])
        )
        assert (info.lodged_at, info.certificate_id) == (LODGED, None)
    finally:
        await connection.close()
