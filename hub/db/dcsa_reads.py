"""Reads of the DCSA events API (``hub/api/dcsa.py``): a page of stored vessel and cargo events,
and the vessel events of the calls a page names.

Each page is one statement on the store's indexes, chosen by what the query names:

- a container (``equipmentReference``): ``ingested_events_container_idx`` (port, container),
  probed for each port that has stored cargo events (or the one port asked for);
- a transport call: ``ingested_events_port_call_idx`` or ``ingested_events_truck_visit_idx``;
- neither: a range of ``ingested_at`` (``eventCreatedDateTime``, at most a day wide, see
  :data:`hub.domain.dcsa.MAX_UNANCHORED_RANGE`), by the BRIN index
  ``ingested_events_ingested_at_idx``, with the port as a filter.

Pages are ordered by (``ingested_at``, ``event_id``) and a page starts after the last event of
the one before (keyset pagination): each event comes once, whatever is stored meanwhile.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

import asyncpg

from hub.domain.dcsa import CLASSIFIERS, PageRequest


def _page_statement(request: PageRequest) -> tuple[str, list[Any]]:
    """The statement of one page and its arguments. Only fixed SQL text varies with the query
    (which conditions, which comparison operators); every value is an argument."""
    query = request.query
    arguments: list[Any] = []

    def argument(value: Any, cast: str) -> str:
        arguments.append(value)
        return f"${len(arguments)}::{cast}"

    conditions = [f"e.domain = ANY({argument(list(query.domains), 'text[]')})"]
    # Only the events with a DCSA shape: the page's limit counts served events. (json, not
    # jsonb: one key read from the text, ~25 % less CPU than building the jsonb of each row.)
    operations = argument(list(query.operations), "text[]")
    classifiers = argument(list(CLASSIFIERS), "text[]")
    moves = argument(list(query.moves), "text[]")
    conditions.append(
        f"""CASE e.domain
            WHEN 'vessel' THEN (e.payload::json ->> 'operation') = ANY({operations})
                           AND (e.payload::json ->> 'classifier') = ANY({classifiers})
            ELSE (e.payload::json ->> 'move') = ANY({moves}) END"""
    )
    if query.port is not None:
        conditions.append(f"e.port = {argument(query.port, 'char(5)')}")
    if query.equipment_reference is not None:
        if query.port is None:
            # The index is (port, container): one probe per port that has container moves.
            conditions.append(
                "e.port = ANY(ARRAY(SELECT port FROM port_event_counts WHERE domain = 'cargo'))"
            )
        conditions.append(
            f"e.container = {argument(query.equipment_reference, 'text')} "
            "AND e.container IS NOT NULL"
        )
    if (call := query.transport_call) is not None:
        column = "truck_visit_id" if call.is_truck_visit else "port_call_id"
        conditions.append(f"e.port = {argument(call.port, 'char(5)')}")
        conditions.append(
            f"e.{column} = {argument(call.entity, 'text')} AND e.{column} IS NOT NULL"
        )
    created = query.created
    if created.lower is not None:
        operator = ">=" if created.lower_included else ">"
        conditions.append(f"e.ingested_at {operator} {argument(created.lower, 'timestamptz')}")
    if created.upper is not None:
        operator = "<=" if created.upper_included else "<"
        conditions.append(f"e.ingested_at {operator} {argument(created.upper, 'timestamptz')}")
    if request.after is not None:
        at, event_id = request.after
        conditions.append(
            f"(e.ingested_at, e.event_id) > ({argument(at, 'timestamptz')}, "
            f"{argument(event_id, 'uuid')})"
        )
    limit = argument(request.limit + 1, "integer")
    statement = f"""
        SELECT e.event_id, e.domain, e.port, e.occurred_at, e.ingested_at, e.payload
        FROM ingested_events e
        WHERE {" AND ".join(conditions)}
        ORDER BY e.ingested_at, e.event_id
        LIMIT {limit}
    """
    return statement, arguments


async def dcsa_page(
    connection: asyncpg.Connection | asyncpg.Pool, request: PageRequest
) -> list[asyncpg.Record]:
    """The stored events of one page of ``request``, in page order, one more than its limit
    when there is a next page (none when the query asks for no domain the hub holds)."""
    if not request.query.domains:
        return []
    statement, arguments = _page_statement(request)
    rows: list[asyncpg.Record] = await connection.fetch(statement, *arguments)
    return rows


async def explain_page(connection: asyncpg.Connection | asyncpg.Pool, request: PageRequest) -> str:
    """PostgreSQL's plan of :func:`dcsa_page` for ``request`` (EXPLAIN), for tests and
    measurements: which indexes a page reads."""
    statement, arguments = _page_statement(request)
    rows = await connection.fetch(f"EXPLAIN {statement}", *arguments)
    return "\n".join(row[0] for row in rows)


async def calls_vessel_payloads(
    connection: asyncpg.Connection | asyncpg.Pool, calls: Sequence[tuple[str, str]]
) -> list[asyncpg.Record]:
    """``port``, ``port_call_id`` and ``payload`` of every stored vessel event of the port calls
    ``calls`` ((port, port_call_id) pairs): an index probe per call."""
    if not calls:
        return []
    rows: list[asyncpg.Record] = await connection.fetch(
        """
        SELECT rtrim(c.port) AS port, c.id AS port_call_id, v.payload
        FROM unnest($1::char(5)[], $2::text[]) AS c (port, id)
        CROSS JOIN LATERAL (
            SELECT e.payload FROM ingested_events e
            WHERE e.port = c.port AND e.port_call_id = c.id AND e.port_call_id IS NOT NULL
              AND e.domain = 'vessel'
            OFFSET 0
        ) v
        """,
        [port for port, _ in calls],
        [call for _, call in calls],
    )
    return rows


async def retracted_events(
    connection: asyncpg.Connection | asyncpg.Pool, events: Sequence[tuple[str, UUID]]
) -> set[UUID]:
    """Which of ``events`` ((port, event_id) pairs) a stored cargo event of the same port
    retracts (its ``retracted_move``): an index probe per event."""
    if not events:
        return set()
    rows = await connection.fetch(
        """
        SELECT c.id FROM unnest($1::char(5)[], $2::uuid[]) AS c (port, id)
        WHERE EXISTS (
            SELECT FROM ingested_events r
            WHERE r.port = c.port AND r.retracted_move = c.id AND r.retracted_move IS NOT NULL
        )
        """,
        [port for port, _ in events],
        [event_id for _, event_id in events],
    )
    return {row["id"] for row in rows}
