"""Who may publish what (hub.domain.publishers): a port its own port's events of every domain, a
country's single window the customs events and certificates of its country's ports only; and the
same decision applied by the ingest's checks (hub.ingest.core.check_item)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hub.domain.publishers import Publisher
from hub.domain.reference import BUNDLED_PORTS_FILE, load_ports
from hub.ingest.core import check_item
from schemas.models import Envelope
from schemas.rejections import Rejected, RejectReason
from tests.samples import samples

PORTS = load_ports(BUNDLED_PORTS_FILE)
KNOWN = frozenset(port.unlocode for port in PORTS)
DOMAINS = ("vessel", "cargo", "customs", "certificate")
PERU = Publisher.single_window("PE", "vuce")


def test_a_single_window_owns_exactly_the_reference_ports_of_its_country() -> None:
    for country in {port.country for port in PORTS}:
        window = Publisher.single_window(country)
        owned = {port.unlocode for port in PORTS if window.owns(port.unlocode)}
        assert owned == {port.unlocode for port in PORTS if port.country == country}, country
    assert {p.unlocode for p in PORTS if PERU.owns(p.unlocode)} == {"PECLL", "PEPAI"}


def test_a_port_owns_its_own_port_only() -> None:
    callao = Publisher("PECLL", "terminal")
    assert [p.unlocode for p in PORTS if callao.owns(p.unlocode)] == ["PECLL"]


@pytest.mark.parametrize(
    ("publisher", "domain", "port", "reason"),
    [
        (PERU, "customs", "PECLL", None),
        (PERU, "certificate", "PEPAI", None),
        (PERU, "customs", "CLVAP", RejectReason.PORT_NOT_OWNED),
        (PERU, "certificate", "CLVAP", RejectReason.PORT_NOT_OWNED),
        (PERU, "vessel", "PECLL", RejectReason.DOMAIN_NOT_ALLOWED),
        (PERU, "cargo", "PECLL", RejectReason.DOMAIN_NOT_ALLOWED),
        (PERU, "vessel", "CLVAP", RejectReason.DOMAIN_NOT_ALLOWED),  # the domain first
        (Publisher("PECLL"), "vessel", "PECLL", None),
        (Publisher("PECLL"), "customs", "PECLL", None),
        (Publisher("PECLL"), "customs", "PEPAI", RejectReason.PORT_NOT_OWNED),
    ],
)
def test_the_ownership_decision(
    publisher: Publisher, domain: str, port: str, reason: RejectReason | None
) -> None:
    refusal = publisher.refusal(domain, port)
    assert (refusal.reason if refusal else None) is reason
    if refusal is not None:  # the detail says what it may do instead
        assert (port if reason is RejectReason.PORT_NOT_OWNED else domain) in refusal.detail


def test_a_single_window_names_itself_as_its_token_does() -> None:
    assert PERU.actor == PERU.publisher_id == "customs-publish:PE/vuce"
    assert Publisher("PECLL", "terminal").actor == "port:PECLL/terminal"
    assert Publisher("PECLL", "terminal").publisher_id == "PECLL/terminal"
    assert Publisher("PECLL").publisher_id == "PECLL"
    assert PERU.domains == ("customs", "certificate") and Publisher("PECLL").domains is None


def _checked(publisher: Publisher | None, domain: str, port: str) -> Envelope | Rejected:
    now = datetime.now(UTC)
    event = samples(domain, now - timedelta(minutes=5))[0]
    item = event.model_dump(mode="json") | {"port": port}
    if domain == "certificate":
        item["importing_country"] = port[:2]
    return check_item(domain, item, publisher, KNOWN, now, timedelta(hours=1))


@pytest.mark.parametrize("domain", DOMAINS)
def test_the_ingest_checks_apply_the_decision_to_every_event(domain: str) -> None:
    own, foreign = _checked(PERU, domain, "PECLL"), _checked(PERU, domain, "CLVAP")
    if domain in ("customs", "certificate"):
        assert isinstance(own, Envelope) and own.port == "PECLL"
        assert isinstance(foreign, Rejected) and foreign.reason is RejectReason.PORT_NOT_OWNED
    else:
        assert isinstance(own, Rejected) and own.reason is RejectReason.DOMAIN_NOT_ALLOWED
        assert isinstance(foreign, Rejected) and foreign.reason is RejectReason.DOMAIN_NOT_ALLOWED
    # Unchanged for a port and for the hub's own commands (no publisher: any port).
    assert isinstance(_checked(Publisher("CLVAP"), domain, "CLVAP"), Envelope)
    assert isinstance(_checked(None, domain, "CLVAP"), Envelope)


def test_an_unknown_port_is_unknown_before_it_is_not_owned() -> None:
    refused = _checked(PERU, "customs", "PEXXX")
    assert isinstance(refused, Rejected) and refused.reason is RejectReason.UNKNOWN_PORT
