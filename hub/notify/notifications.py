"""What is notified, and to whom: the hub's records as notifications, matched against filters.

Three kinds of notification, each from its topics:

- ``events``: an accepted event of an ingest topic; its type is finer than the event's own
  (``vessel.ata`` = an actual arrival, see :func:`event_type`);
- ``kpis``: an entity KPI value of ``kpi.port-calls``, ``kpi.cargo`` or ``kpi.customs``;
- ``verdicts``: a certificate verdict version of ``validations.<ISO2>``.

A subscription's filters are lists, an empty one meaning any value; a filter constrains only the
kinds it applies to (:data:`FILTERS_APPLY_TO`), and a notification of such a kind passes a
non-empty filter only when it carries one of the listed values.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hub.db.webhooks import Subscription
from schemas.models import CargoEvent, CertificateSubmission, CustomsEvent, Envelope, VesselEvent

KINDS = ("events", "kpis", "verdicts")
TYPE_PREFIX = "org.portcommunity.hub"
_REQUEST_IDS = uuid.UUID("6c1b3c52-4a57-4bb0-9d1e-4d9d3f3f6f19")

FILTERS_APPLY_TO: Mapping[str, frozenset[str]] = {
    "ports": frozenset({"events", "kpis"}),
    "event_types": frozenset({"events"}),
    "containers": frozenset({"events", "kpis"}),
    "declarations": frozenset({"events", "kpis", "verdicts"}),
    "certificates": frozenset({"events", "verdicts"}),
    "kpis": frozenset({"kpis"}),
    "countries": frozenset({"verdicts"}),
}
"""Which kinds of notification each filter constrains."""

_CLASSIFIER_LETTER = {"PLN": "p", "EST": "e", "ACT": "a", "REQ": "r"}
_OPERATION_LETTERS = {"ARRI": "ta", "DEPA": "td", "STRT": "ts", "CMPL": "tc"}

EVENT_TYPES = frozenset(
    {f"vessel.{c}{o}" for c in _CLASSIFIER_LETTER.values() for o in _OPERATION_LETTERS.values()}
    | {f"cargo.{move}" for move in ("disc", "load", "gtin", "gtot", "yard", "rstw")}
    | {
        f"customs.{kind}"
        for kind in (
            "lodged",
            "channel",
            "inspection_started",
            "inspection_finished",
            "released",
            "held",
        )
    }
    | {"certificate.submission"}
)
"""Every event type a subscription may name (``customs.*``-style prefixes are allowed too)."""


@dataclass(frozen=True, slots=True)
class Notification:
    """One thing to notify, with what the filters look at.

    Args:
        kind: ``events``, ``kpis`` or ``verdicts``.
        type: the CloudEvents ``type``.
        source: the CloudEvents ``source`` (the port or the country it is about).
        subject: the CloudEvents ``subject`` (the port call, container, declaration …).
        time: when it happened (event time, KPI anchor, verdict issue).
        data: the CloudEvents ``data``.
        dedupe_key: the same for every reading of the same fact (an event id, a verdict version).
    """

    kind: str
    type: str
    source: str
    subject: str
    time: datetime | None
    data: Mapping[str, Any]
    dedupe_key: str
    port: str | None = None
    event_type: str | None = None
    containers: frozenset[str] = frozenset()
    declarations: frozenset[str] = frozenset()
    certificates: frozenset[str] = frozenset()
    kpi: str | None = None
    country: str | None = None

    def body(self, request_id: uuid.UUID) -> str:
        """The CloudEvents JSON (structured mode) sent with ``Request-Id`` ``request_id``."""
        return json.dumps(
            {
                "specversion": "1.0",
                "id": str(request_id),
                "source": self.source,
                "type": self.type,
                "time": self.time.isoformat() if self.time else None,
                "subject": self.subject,
                "datacontenttype": "application/json",
                "data": self.data,
            },
            separators=(",", ":"),
            default=str,
        )


def request_id(subscription_id: uuid.UUID, dedupe_key: str) -> uuid.UUID:
    """The notification's ``Request-Id``: the same however often its record is read."""
    return uuid.uuid5(_REQUEST_IDS, f"{subscription_id}/{dedupe_key}")


def event_type(event: Envelope) -> str:
    """The notification type of an event: ``vessel.`` + classifier letter (p, e, a, r) + ``t`` +
    operation letter (a arrival, d departure, s start, c complete), so ``vessel.ata`` is an actual
    arrival and ``vessel.etd`` an estimated departure; ``cargo.<move>``; ``customs.<kind>``;
    ``certificate.submission``."""
    if isinstance(event, VesselEvent):
        letters = _OPERATION_LETTERS[str(event.operation)]
        return f"vessel.{_CLASSIFIER_LETTER[str(event.classifier)]}{letters}"
    if isinstance(event, CargoEvent):
        return f"cargo.{str(event.move).lower()}"
    if isinstance(event, CustomsEvent):
        return f"customs.{str(event.kind).lower()}"
    return event.event_type


def from_event(event: Envelope) -> Notification:
    """The notification of an accepted event."""
    kind = event_type(event)
    subject = event.port
    containers: frozenset[str] = frozenset()
    declarations: frozenset[str] = frozenset()
    certificates: frozenset[str] = frozenset()
    if isinstance(event, VesselEvent):
        subject = event.port_call_id
    elif isinstance(event, CargoEvent):
        subject, containers = event.container, frozenset({event.container})
    elif isinstance(event, CustomsEvent):
        subject, declarations = event.declaration_id, frozenset({event.declaration_id})
        containers = frozenset(event.containers)
        certificates = frozenset({event.certificate_id} if event.certificate_id else ())
    elif isinstance(event, CertificateSubmission):
        subject, certificates = event.certificate_id, frozenset({event.certificate_id})
    return Notification(
        kind="events",
        type=f"{TYPE_PREFIX}.event.{kind}",
        source=f"/ports/{event.port}",
        subject=subject,
        time=event.occurred_at,
        data=event.model_dump(mode="json"),
        dedupe_key=f"event:{event.event_id}",
        port=event.port,
        event_type=kind,
        containers=containers,
        declarations=declarations,
        certificates=certificates,
    )


def from_kpi(value: Mapping[str, Any]) -> Notification:
    """The notification of an entity KPI value (a ``kpi.*`` record's JSON)."""
    port = str(value.get("port", ""))
    entity_kind = str(value.get("entity_kind", ""))
    entity_id = str(value.get("entity_id", ""))
    # Entity ids are "<port>/<id>[/…]": a container visit names its container, a declaration
    # KPI its declaration.
    parts = frozenset(entity_id.split("/")[1:])
    digest = hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()[:32]
    anchor = value.get("anchor_time")
    return Notification(
        kind="kpis",
        type=f"{TYPE_PREFIX}.kpi",
        source=f"/ports/{port}",
        subject=f"{entity_kind}/{entity_id}",
        time=datetime.fromisoformat(anchor) if isinstance(anchor, str) else None,
        data=dict(value),
        dedupe_key=f"kpi:{digest}",
        port=port,
        containers=parts if entity_kind == "container_visit" else frozenset(),
        declarations=parts if entity_kind == "declaration" else frozenset(),
        kpi=str(value.get("kpi", "")),
    )


def from_verdict(verdict: Mapping[str, Any]) -> Notification:
    """The notification of a certificate verdict version (a ``validations.<ISO2>`` record)."""
    certificate = str(verdict.get("certificate_id", ""))
    country = str(verdict.get("importing_country", ""))
    issued = verdict.get("issued_at")
    return Notification(
        kind="verdicts",
        type=f"{TYPE_PREFIX}.verdict",
        source=f"/countries/{country}",
        subject=certificate,
        time=datetime.fromisoformat(issued) if isinstance(issued, str) else None,
        data=dict(verdict),
        dedupe_key=f"verdict:{certificate}:{verdict.get('version')}",
        declarations=frozenset(str(d) for d in verdict.get("declarations") or ()),
        certificates=frozenset({certificate}),
        country=country,
    )


def _type_allowed(wanted: tuple[str, ...], kind: str | None) -> bool:
    if kind is None:
        return False
    return any(
        kind.startswith(name[:-1]) if name.endswith("*") else kind == name for name in wanted
    )


def matches(subscription: Subscription, notification: Notification) -> bool:
    """Whether ``subscription`` gets ``notification`` (its kind and every filter that applies
    to the kind)."""
    kind = notification.kind
    if kind not in subscription.kinds:
        return False
    checks: list[tuple[str, tuple[str, ...], bool]] = [
        ("ports", subscription.ports, notification.port in subscription.ports),
        (
            "event_types",
            subscription.event_types,
            _type_allowed(subscription.event_types, notification.event_type),
        ),
        (
            "containers",
            subscription.containers,
            bool(notification.containers & set(subscription.containers)),
        ),
        (
            "declarations",
            subscription.declarations,
            bool(notification.declarations & set(subscription.declarations)),
        ),
        (
            "certificates",
            subscription.certificates,
            bool(notification.certificates & set(subscription.certificates)),
        ),
        ("kpis", subscription.kpis, notification.kpi in subscription.kpis),
        ("countries", subscription.countries, notification.country in subscription.countries),
    ]
    return all(
        passed or not wanted or kind not in FILTERS_APPLY_TO[name]
        for name, wanted, passed in checks
    )
