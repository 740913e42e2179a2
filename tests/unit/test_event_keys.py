"""Entity keys as columns (:mod:`hub.db.event_keys`): every key an event is given is stored in
exactly one place, and found again as the same text."""

from __future__ import annotations

import uuid

from hypothesis import given
from hypothesis import strategies as st

from hub.db.event_keys import KEY_COLUMNS, KeyColumns, columns_of, keys_of_row, wanted
from hub.domain.keys import CertificateKey, EntityKey, KeyKind

PORT = "PECLL"
EVENT = uuid.UUID("6f1c1f0e-8a43-4c55-9d3a-0d6a3f1c2b11")
OTHER_EVENT = uuid.UUID("0b8e4d2a-1c3f-4e5a-8b7c-9d0e1f2a3b4c")


def _stored(columns: KeyColumns, event_id: uuid.UUID = EVENT, port: str = PORT) -> list[str]:
    row = [getattr(columns, column) for column in KEY_COLUMNS]
    return keys_of_row(event_id, port, row) + list(columns.others)


def test_the_keys_of_a_discharge_go_to_columns() -> None:
    keys = (
        EntityKey.port_call(PORT, "V-1").text,
        EntityKey.container(PORT, "MSCU1234565").text,
        EntityKey.move(PORT, EVENT).text,
        EntityKey.move(PORT, OTHER_EVENT).text,  # a retraction of that move
    )
    columns = columns_of(EVENT, PORT, keys)
    assert columns.port_call_id == "V-1"
    assert columns.container == "MSCU1234565"
    assert columns.own_move is True
    assert columns.retracted_move == OTHER_EVENT
    assert columns.others == ()
    assert sorted(_stored(columns)) == sorted(keys)


def test_a_declaration_keeps_its_listed_containers_apart() -> None:
    keys = (
        EntityKey.declaration(PORT, "D/1:2").text,
        EntityKey.port_call(PORT, "V-1").reference().text,
        EntityKey.container(PORT, "A").reference().text,
        EntityKey.container(PORT, "B").reference().text,
        CertificateKey("CO:9/1").text,
    )
    columns = columns_of(EVENT, PORT, keys)
    assert columns.declaration_id == "D/1:2"
    assert columns.ref_call_id == "V-1"
    assert columns.certificate_id == "CO:9/1"
    assert columns.others == (keys[2], keys[3])
    assert sorted(_stored(columns)) == sorted(keys)


def test_keys_no_column_can_hold_exactly_are_kept_as_text() -> None:
    keys = (
        EntityKey.port_call(PORT, "V-1").text,
        EntityKey.port_call(PORT, "V-2").text,  # a second call: the column is taken
        EntityKey.container("BRSSZ", "C").text,  # another port's
        f"move:{PORT}/{str(OTHER_EVENT).upper()}",  # not the UUID's canonical text
        f"move:{PORT}/not-a-uuid",
        "not a key",
        CertificateKey("X").text,
        CertificateKey("Y").text,
    )
    columns = columns_of(EVENT, PORT, keys)
    assert columns.others == (keys[1], keys[2], keys[3], keys[4], keys[5], keys[7])
    assert sorted(_stored(columns)) == sorted(keys)


def test_a_port_the_port_column_cannot_hold_as_it_is_is_looked_up_as_text() -> None:
    # char(5) would cut "PECLLX" to "PECLL": its keys must not be looked up in the columns.
    lookup = wanted([EntityKey.port_call("PECLLX", "V-1").text, "port_call:PECL /V-1"])
    assert lookup.kinds == ["other", "other"]
    assert columns_of(EVENT, "PECL ", ["port_call:PECL /V-1"]).others == ("port_call:PECL /V-1",)


_ids = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), min_size=1)
_kinds = st.sampled_from(list(KeyKind))
_entity_keys = st.builds(
    lambda kind, port, entity: EntityKey(kind, port, entity).text,
    _kinds,
    st.sampled_from([PORT, "BRSSZ", "PECLLX", "PEC"]),
    st.one_of(_ids, st.sampled_from([str(EVENT), str(OTHER_EVENT)])),
)
_keys = st.one_of(_entity_keys, st.builds(lambda i: CertificateKey(i).text, _ids), _ids)


@given(st.lists(_keys, max_size=8))
def test_any_keys_are_stored_once_each_and_read_back_as_given(keys: list[str]) -> None:
    columns = columns_of(EVENT, PORT, keys)
    stored = _stored(columns)
    assert sorted(stored) == sorted(set(keys))


@given(st.lists(_keys, max_size=8))
def test_a_lookup_names_each_key_once_with_its_kind(keys: list[str]) -> None:
    lookup = wanted(keys)
    assert lookup.texts == list(dict.fromkeys(keys))
    for text, kind, port, entity, move in zip(*lookup.arguments, strict=True):
        if kind == "other":
            assert (port, entity, move) == (None, None, None)
        elif kind == "certificate":
            assert CertificateKey(entity or "").text == text
        else:
            assert EntityKey(KeyKind(kind), port or "", entity or "").text == text
            if kind == KeyKind.MOVE and move is not None:
                assert str(move) == entity
