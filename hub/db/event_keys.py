"""The entity keys of stored events as columns of ``ingested_events`` (issue 18, item 4).

Callers still name entities by their key texts (:class:`hub.domain.keys.EntityKey`,
:class:`~hub.domain.keys.CertificateKey`); the store files each event's keys in indexed columns
of its own row, and the keys no column takes in ``event_other_keys``:

=================================  ==========================================================
key of an event at port P          where it is stored
=================================  ==========================================================
``port_call:P/C``                  ``port_call_id = C``
``container:P/C``                  ``container = C``
``truck_visit:P/T``                ``truck_visit_id = T``
``declaration:P/D``                ``declaration_id = D``
``ref_call:P/C``                   ``ref_call_id = C`` (the call a customs event names)
``certificate:X``                  ``certificate_id = X``
``move:P/<its own event_id>``      ``own_move`` (looked up by the primary key)
``move:P/<another event_id>``      ``retracted_move`` (the move a retraction retracts)
anything else                      a row of ``event_other_keys``: a declaration's
                                   ``ref_container`` keys (one per container it lists), a
                                   second key of a kind, a key of another port
=================================  ==========================================================

So every key an event was given is found again, exactly, and nothing else: the columns are a
layout, not a new meaning. A lookup of a set of keys is one statement (:func:`hits`) with one
branch per column, each an index scan of ``(port, column)``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Final, NamedTuple
from uuid import UUID

from hub.domain.keys import CertificateKey, EntityKey, KeyKind

__all__ = [
    "KEY_COLUMNS",
    "KeyColumns",
    "WantedKeys",
    "columns_of",
    "hits",
    "keys_of_row",
    "wanted",
]

# The kinds with a text column of their own, by column.
_TEXT_COLUMNS: Final = {
    KeyKind.PORT_CALL: "port_call_id",
    KeyKind.CONTAINER: "container",
    KeyKind.TRUCK_VISIT: "truck_visit_id",
    KeyKind.DECLARATION: "declaration_id",
    KeyKind.REF_CALL: "ref_call_id",
}
KEY_COLUMNS: Final = (*_TEXT_COLUMNS.values(), "certificate_id", "own_move", "retracted_move")
"""The columns of ``ingested_events`` that hold keys, in the order of :class:`KeyColumns`."""
_CERTIFICATE: Final = "certificate"
_CERTIFICATE_PREFIX: Final = CertificateKey("-").text.removesuffix("-")
_COLUMN_OF_KIND: Final = {kind.value: column for kind, column in _TEXT_COLUMNS.items()}
_MOVE: Final = KeyKind.MOVE.value
_OTHER: Final = "other"


class KeyColumns(NamedTuple):
    """The key columns of one event's row, and its keys that no column takes (a tuple: one is
    made for every event stored)."""

    port_call_id: str | None = None
    container: str | None = None
    truck_visit_id: str | None = None
    declaration_id: str | None = None
    ref_call_id: str | None = None
    certificate_id: str | None = None
    own_move: bool = False
    retracted_move: UUID | None = None
    others: tuple[str, ...] = ()


def columns_of(event_id: UUID, port: str, keys: Iterable[str]) -> KeyColumns:
    """Where each of the key texts ``keys`` of the event ``event_id`` of ``port`` is stored.

    The texts are split as :meth:`EntityKey.parse` splits them (the port holds neither "/" nor
    ":", the kind no "/"), without building keys: this runs for every event the hub stores, and
    parsing each key cost 6 µs.
    """
    texts: dict[str, str] = {}
    certificate_id: str | None = None
    own_move = False
    retracted_move: UUID | None = None
    others: list[str] | None = None
    own_id: str | None = None
    fits = _fits(port)
    for text in dict.fromkeys(keys):
        if text.startswith(_CERTIFICATE_PREFIX) and text != _CERTIFICATE_PREFIX:
            if certificate_id is None:
                certificate_id = text[len(_CERTIFICATE_PREFIX) :]
                continue
        else:
            head, slash, entity = text.partition("/")
            kind, colon, key_port = head.rpartition(":")
            if slash and colon and entity and key_port == port and fits:
                if (column := _COLUMN_OF_KIND.get(kind)) is not None:
                    if column not in texts:
                        texts[column] = entity
                        continue
                elif kind == _MOVE:
                    own_id = own_id or str(event_id)
                    if entity == own_id:
                        own_move = True
                        continue
                    if retracted_move is None and (moved := _uuid(entity)) is not None:
                        retracted_move = moved
                        continue
        if others is None:
            others = []
        others.append(text)
    return KeyColumns(
        texts.get("port_call_id"),
        texts.get("container"),
        texts.get("truck_visit_id"),
        texts.get("declaration_id"),
        texts.get("ref_call_id"),
        certificate_id,
        own_move,
        retracted_move,
        tuple(others) if others else (),
    )


def _fits(port: str) -> bool:
    """Whether ``ingested_events.port`` (``char(5)``) holds ``port`` as it is: a longer one is
    refused (or cut, by a cast), trailing blanks are not told apart. Keys of any other port
    are kept as text."""
    return len(port) <= 5 and not port.endswith(" ")


def _certificate_id(text: str) -> str | None:
    try:
        return CertificateKey.parse(text).certificate_id
    except ValueError:
        return None


def _uuid(text: str) -> UUID | None:
    """The UUID whose canonical text is ``text`` (None otherwise: the key is not that UUID's)."""
    try:
        value = UUID(text)
    except ValueError:
        return None
    return value if str(value) == text else None


def keys_of_row(
    event_id: UUID, port: str, columns: Sequence[str | bool | UUID | None]
) -> list[str]:
    """The key texts the key columns of a row (in :data:`KEY_COLUMNS` order) hold; with
    ``event_other_keys``, every key the event was stored under."""
    port = port.strip()
    texts: list[str] = []
    for kind, value in zip(_TEXT_COLUMNS, columns, strict=False):
        if value is not None:
            texts.append(EntityKey(kind, port, str(value)).text)
    certificate_id, own_move, retracted_move = columns[len(_TEXT_COLUMNS) :]
    if certificate_id is not None:
        texts.append(CertificateKey(str(certificate_id)).text)
    if own_move:
        texts.append(EntityKey.move(port, event_id).text)
    if isinstance(retracted_move, UUID):
        texts.append(EntityKey.move(port, retracted_move).text)
    return texts


@dataclass(frozen=True, slots=True)
class WantedKeys:
    """Key texts to look up, as the parameters of :func:`hits` ($1 to $5)."""

    texts: list[str]
    kinds: list[str]
    ports: list[str | None]
    ids: list[str | None]
    moves: list[UUID | None]

    def __bool__(self) -> bool:
        return bool(self.texts)

    @property
    def arguments(self) -> tuple[list[str], list[str], list[str | None], list[str | None],
                                 list[UUID | None]]:  # fmt: skip
        return self.texts, self.kinds, self.ports, self.ids, self.moves


def wanted(keys: Collection[str]) -> WantedKeys:
    """``keys`` as the lookup of :func:`hits`: each with its kind, port and id where a column
    may hold it (every key is also looked up in ``event_other_keys``)."""
    texts: list[str] = []
    kinds: list[str] = []
    ports: list[str | None] = []
    ids: list[str | None] = []
    moves: list[UUID | None] = []
    for text in dict.fromkeys(keys):
        kind, port, entity, move = _OTHER, None, None, None
        if (certificate_id := _certificate_id(text)) is not None:
            kind, entity = _CERTIFICATE, certificate_id
        else:
            try:
                key = EntityKey.parse(text)
            except ValueError:
                pass
            else:
                if (key.kind in _TEXT_COLUMNS or key.kind is KeyKind.MOVE) and _fits(key.port):
                    kind, port, entity = key.kind.value, key.port, key.entity
                    move = _uuid(key.entity) if key.kind is KeyKind.MOVE else None
        texts.append(text)
        kinds.append(kind)
        ports.append(port)
        ids.append(entity)
        moves.append(move)
    return WantedKeys(texts, kinds, ports, ids, moves)


def _lookup(kind: str, condition: str, table: str = "ingested_events e") -> str:
    """One branch of :func:`hits`: per wanted key of ``kind``, an index probe under
    ``condition`` (``OFFSET 0`` keeps the probe a parameterised scan that PostgreSQL cannot
    turn into a join over the whole table: with a fresh partition's statistics it did, and
    scanned 17 M row pairs for 1,700 hits)."""
    alias = table.split()[-1]
    kind_filter = f"WHERE w.kind = '{kind}'" if kind else ""
    return f"""
    SELECT w.key, h.event_id, h.occurred_at FROM wanted w CROSS JOIN LATERAL (
        SELECT {alias}.event_id, {alias}.occurred_at FROM {table} WHERE {condition} OFFSET 0
    ) h {kind_filter}"""


def _by_column(kind: str, column: str) -> str:
    return _lookup(kind, f"e.port = w.port AND e.{column} = w.id AND e.{column} IS NOT NULL")


# One branch per kind of key: an index scan of its column in every partition.
_BRANCHES: Final = {
    **{kind.value: [_by_column(kind.value, column)] for kind, column in _TEXT_COLUMNS.items()},
    _CERTIFICATE: [
        _lookup(_CERTIFICATE, "e.certificate_id = w.id AND e.certificate_id IS NOT NULL")
    ],
    KeyKind.MOVE.value: [
        _lookup(KeyKind.MOVE.value, "e.event_id = w.move AND e.port = w.port AND e.own_move"),
        _lookup(
            KeyKind.MOVE.value,
            "e.port = w.port AND e.retracted_move = w.move AND e.retracted_move IS NOT NULL",
        ),
    ],
}
# Any key may be a row of event_other_keys (a second key of its kind, another port's).
_OTHER_KEYS: Final = _lookup("", "o.key = w.key", "event_other_keys o")


def stored_rows(hits_name: str, columns: str) -> str:
    """``FROM`` the CTE ``hits_name`` (event_id, occurred_at) with each event's stored row as
    ``e`` (``columns`` of it, ``e.``-qualified): a probe of the primary key per event, never a
    hash join over a month's partition."""
    return f"""{hits_name} CROSS JOIN LATERAL (
        SELECT {columns} FROM ingested_events e
        WHERE e.event_id = {hits_name}.event_id AND e.occurred_at = {hits_name}.occurred_at
        OFFSET 0
    ) e"""


def hits(lookup: WantedKeys) -> str:
    """CTEs ``wanted`` and ``hits`` (key, event_id, occurred_at): the stored events filed under
    each key of ``lookup`` (its :attr:`WantedKeys.arguments` are $1 to $5). Prefix ``WITH``; an
    event filed under two of the keys is a hit of each.

    Only the branches of the kinds ``lookup`` holds are written: each branch costs PostgreSQL
    planning over every partition, a few milliseconds with two years of them."""
    # In a fixed order: one statement text per set of kinds, each prepared once per connection.
    kinds = set(lookup.kinds)
    branches = [branch for kind, some in _BRANCHES.items() if kind in kinds for branch in some]
    return f"""
wanted AS MATERIALIZED (
    SELECT * FROM unnest($1::text[], $2::text[], $3::char(5)[], $4::text[], $5::uuid[])
        AS w (key, kind, port, id, move)
), hits AS MATERIALIZED ({" UNION ALL ".join([*branches, _OTHER_KEYS])}
)"""
