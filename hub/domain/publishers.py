"""Who may publish what: the one ownership decision of every way in (HTTP, EDIFACT, the Kafka
gateway).

A *port* (a ``publish:PECLL`` token, principal ``port-PECLL``) publishes every domain, for its own
port only. A country's *single window* (VUCE; a ``customs-publish`` token of ``PE``, principal
``single-window-PE``) publishes customs events and certificate submissions only, for every port
of its country: a port whose UN/LOCODE starts with the country's ISO code, which is what the
reference ports file holds (``hub.domain.reference.load_ports`` refuses a port whose country is
not its UN/LOCODE's first two letters).

An event of a port the publisher does not own is refused ``PORT_NOT_OWNED``; an event of a
domain it may not publish ``DOMAIN_NOT_ALLOWED``. Both are final: dead-lettered and counted.
"""

from __future__ import annotations

from dataclasses import dataclass

from schemas.rejections import Rejected, RejectReason

__all__ = ["SINGLE_WINDOW_DOMAINS", "SINGLE_WINDOW_SCOPE", "Publisher", "code_of"]

SINGLE_WINDOW_SCOPE = "customs-publish"
"""The access-token scope of a country's single window (``hub tokens add-single-window``)."""

SINGLE_WINDOW_DOMAINS = ("customs", "certificate")
"""The domains a single window publishes: customs decisions and certificate submissions."""


@dataclass(frozen=True, slots=True)
class Publisher:
    """Who publishes: a port (``port``, a UN/LOCODE) or a country's single window (``country``,
    ISO alpha-2; ``port`` empty). ``label`` says who holds the token."""

    port: str
    label: str = ""
    country: str = ""

    @classmethod
    def single_window(cls, country: str, label: str = "") -> Publisher:
        return cls("", label, country)

    @property
    def is_single_window(self) -> bool:
        return not self.port

    @property
    def actor(self) -> str:
        """The audit log's actor: ``port:PECLL/label`` or ``customs-publish:PE/label`` (the
        access token's own actor, see ``hub.db.tokens.AccessGrant``)."""
        if self.is_single_window:
            return f"{SINGLE_WINDOW_SCOPE}:{self.country}/{self.label}"
        return f"port:{self.port}/{self.label}"

    @property
    def code(self) -> str:
        """Who it is in the refusal counters and feedback (``publisher_rejection_counts``,
        ``GET /v1/feedback``, the ``hub-publisher`` header): the port's UN/LOCODE, or the
        single window's ISO alpha-2 code."""
        return self.country if self.is_single_window else self.port

    @property
    def publisher_id(self) -> str:
        """What the hub writes into an accepted event's ``publisher``."""
        if self.is_single_window:
            return self.actor
        return f"{self.port}/{self.label}" if self.label else self.port

    @property
    def domains(self) -> tuple[str, ...] | None:
        """The domains it may publish; None: every domain."""
        return SINGLE_WINDOW_DOMAINS if self.is_single_window else None

    def may_publish(self, domain: str) -> bool:
        return self.domains is None or domain in self.domains

    def owns(self, port: str) -> bool:
        """Whether it may publish events of ``port`` (a UN/LOCODE)."""
        if self.is_single_window:
            return port[:2] == self.country
        return port == self.port

    def refusal(self, domain: str, port: str | None = None) -> Rejected | None:
        """Why an event of ``domain`` (of ``port``, if known yet) is not this publisher's to
        publish, or None when it is."""
        if not self.may_publish(domain):
            allowed = " and ".join(self.domains or ())
            return Rejected(
                RejectReason.DOMAIN_NOT_ALLOWED,
                f"the single window of {self.country} publishes {allowed} events only, "
                f"not {domain} events",
            )
        if port is not None and not self.owns(port):
            whose = (
                f"the ports of {self.country} (UN/LOCODE {self.country}…)"
                if self.is_single_window
                else self.port
            )
            return Rejected(
                RejectReason.PORT_NOT_OWNED, f"this publisher publishes for {whose}, not for {port}"
            )
        return None


def code_of(publisher: Publisher | None) -> str:
    """:attr:`Publisher.code` of ``publisher``; '' for None (the hub's own command, or a way in
    that cannot tell who sent the record)."""
    return "" if publisher is None else publisher.code
