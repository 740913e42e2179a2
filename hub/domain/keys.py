"""Entity keys: the one definition of the keys the event store files events under.

Every stored event is filed under keys (key columns of ``ingested_events`` and table
``event_other_keys``, see ``hub.db.event_keys``), and the KPI stage loads an entity's events by
its key. Keys are read and written as their *text*, so the text below is a stored format: it
must not change. Code builds and reads keys only through
:class:`EntityKey` and :class:`CertificateKey`, never with string formatting.

=========================================  ===============================================
text                                       meaning
=========================================  ===============================================
``port_call:{port}/{port_call_id}``        a port call (vessel events; DISC, LOAD, RSTW)
``container:{port}/{container}``           all visits of a container at a port
``truck_visit:{port}/{truck_visit_id}``    a truck visit (GTIN, GTOT)
``declaration:{port}/{declaration_id}``    a customs declaration
``move:{port}/{event_id}``                 one DISC or LOAD move
``ref_call:{port}/{port_call_id}``         on a customs event: its declaration reads that
                                           call (its all-fast)
``ref_container:{port}/{container}``       on a customs event: its declaration reads that
                                           container (its gate-out)
``certificate:{certificate_id}``           a certificate's submission and the customs events
                                           invoking it (:class:`CertificateKey`)
=========================================  ===============================================

Which events carry which key is :func:`hub.domain.kpis.reference.entity_keys_of` (the entity
groups) and ``streams.kpi_stage`` (references); ``docs/kpis.md`` describes the groups.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Final
from uuid import UUID

__all__ = ["CertificateKey", "EntityKey", "KeyKind"]


class KeyKind(StrEnum):
    """What an :class:`EntityKey` names; the value is the key's text up to ``:{port}/``."""

    PORT_CALL = "port_call"
    CONTAINER = "container"
    """All visits of one container at one port: a new event can move a visit boundary, so they
    are recomputed together."""
    TRUCK_VISIT = "truck_visit"
    DECLARATION = "declaration"
    MOVE = "move"
    REF_CALL = "ref_call"
    """The call a customs event names: its declaration's KPIs read that call."""
    REF_CONTAINER = "ref_container"
    """A container a customs event lists: its declaration's KPIs read that container."""

    @property
    def prefix(self) -> str:
        """The text every key of this kind begins with (``"declaration:"``)."""
        return f"{self.value}:"

    @property
    def is_group(self) -> bool:
        """Whether the key names an entity group the KPI stage recomputes (not a reference to
        one)."""
        return self in _GROUPS


_CERTIFICATE: Final = "certificate:"
_GROUPS: Final = frozenset(
    {KeyKind.PORT_CALL, KeyKind.CONTAINER, KeyKind.TRUCK_VISIT, KeyKind.DECLARATION, KeyKind.MOVE}
)
# A call or a container, and what a declaration's events name it by.
_REFERENCE: Final = {KeyKind.PORT_CALL: KeyKind.REF_CALL, KeyKind.CONTAINER: KeyKind.REF_CONTAINER}
_SUBJECT: Final = {reference: kind for kind, reference in _REFERENCE.items()}


@dataclass(frozen=True, slots=True, order=True)
class EntityKey:
    """The key of one entity of one port: ``{kind}:{port}/{entity}``.

    The port is always part of the key: every KPI entity (a call, a container's visits, a truck
    visit, a declaration, a move) belongs to exactly one port, and its id is only unique within
    that port: two ports may both have a call ``V-1`` or see the same container. The same
    container at two ports is two entities, and nothing recomputed for one port ever reads
    another's events.

    ``port`` is a UN/LOCODE (no ``/`` or ``:``), which is what makes the text unambiguous;
    ``entity`` is the id the events carry (any text, ``/`` and ``:`` included).
    """

    kind: KeyKind
    port: str
    entity: str

    def __post_init__(self) -> None:
        if not isinstance(self.kind, KeyKind):
            raise ValueError(f"not a key kind: {self.kind!r}")
        if not self.port or "/" in self.port or ":" in self.port:
            raise ValueError(f"not a port for an entity key: {self.port!r}")
        if not self.entity:
            raise ValueError(f"an entity key of {self.kind} at {self.port} needs an entity id")

    # --- the kinds, by name ------------------------------------------------------------------

    @classmethod
    def port_call(cls, port: str, port_call_id: str) -> EntityKey:
        return cls(KeyKind.PORT_CALL, port, port_call_id)

    @classmethod
    def container(cls, port: str, container: str) -> EntityKey:
        return cls(KeyKind.CONTAINER, port, container)

    @classmethod
    def truck_visit(cls, port: str, truck_visit_id: str) -> EntityKey:
        return cls(KeyKind.TRUCK_VISIT, port, truck_visit_id)

    @classmethod
    def declaration(cls, port: str, declaration_id: str) -> EntityKey:
        return cls(KeyKind.DECLARATION, port, declaration_id)

    @classmethod
    def move(cls, port: str, event_id: UUID) -> EntityKey:
        return cls(KeyKind.MOVE, port, str(event_id))

    def reference(self) -> EntityKey:
        """The key of a call or a container as a declaration's events name it
        (``port_call:P/C`` → ``ref_call:P/C``)."""
        return self._as(_REFERENCE, "no declaration refers to")

    def subject(self) -> EntityKey:
        """The call or container a reference is about (``ref_call:P/C`` → ``port_call:P/C``)."""
        return self._as(_SUBJECT, "nothing is named by")

    def _as(self, kinds: Mapping[KeyKind, KeyKind], refusal: str) -> EntityKey:
        if (kind := kinds.get(self.kind)) is None:
            raise ValueError(f"{refusal} a {self.kind} key ({self.text})")
        return EntityKey(kind, self.port, self.entity)

    # --- text -----------------------------------------------------------------------------------

    @property
    def text(self) -> str:
        """The stored text: ``{kind}:{port}/{entity}``."""
        return f"{self.kind.prefix}{self.port}/{self.entity}"

    def __str__(self) -> str:
        return self.text

    @classmethod
    def parse(cls, text: str) -> EntityKey:
        """The key whose :attr:`text` is ``text``; ``ValueError`` if it is none."""
        # The port holds neither "/" nor ":", the kind no "/": the first "/" ends the port and
        # the last ":" before it begins it; the entity id is the rest, whatever it holds.
        head, slash, entity = text.partition("/")
        kind, colon, port = head.rpartition(":")
        if not slash or not colon:
            raise ValueError(f"not an entity key: {text!r}")
        try:
            return cls(KeyKind(kind), port, entity)
        except ValueError as error:
            raise ValueError(f"not an entity key: {text!r} ({error})") from None

    @property
    def entity_id(self) -> str:
        """``{port}/{entity}``: the id KPI rows give the entity (``entity_kpis.entity_id``)."""
        return f"{self.port}/{self.entity}"

    @property
    def pair(self) -> tuple[str, str]:
        """``(kind, entity_id)``: how the batch reference names an entity group
        (:func:`hub.domain.kpis.reference.entity_keys_of`)."""
        return (self.kind.value, self.entity_id)


@dataclass(frozen=True, slots=True, order=True)
class CertificateKey:
    """The key of a certificate: ``certificate:{certificate_id}``.

    The one key without a port: a certificate id is the hub's, not a port's. Declarations of any
    port invoke it, and must meet its submission under one key; which port holds the id is
    decided when it is first submitted (``streams.ownership``), not by the key.
    """

    certificate_id: str

    def __post_init__(self) -> None:
        if not self.certificate_id:
            raise ValueError("a certificate key needs a certificate id")

    @property
    def text(self) -> str:
        """The stored text: ``certificate:{certificate_id}``."""
        return f"{_CERTIFICATE}{self.certificate_id}"

    def __str__(self) -> str:
        return self.text

    @classmethod
    def parse(cls, text: str) -> CertificateKey:
        """The key whose :attr:`text` is ``text``; ``ValueError`` if it is none."""
        if not text.startswith(_CERTIFICATE) or text == _CERTIFICATE:
            raise ValueError(f"not a certificate key: {text!r}")
        return cls(text.removeprefix(_CERTIFICATE))
