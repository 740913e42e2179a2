"""Webhooks without services: signatures, retry spacing, notification types and filters."""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from hub.db.webhooks import Subscription
from hub.notify.notifications import (
    from_event,
    from_kpi,
    from_verdict,
    matches,
    request_id,
)
from hub.notify.notifier import topic_pattern
from hub.notify.signing import new_secret, retry_delay, signature, verify
from schemas.models import Classifier, Envelope, Operation, VesselEvent
from tests.samples import samples

NOW = datetime(2026, 3, 1, tzinfo=UTC)


def changed(event: Envelope, **changes: Any) -> Envelope:
    """``event`` with ``changes``, validated again."""
    return type(event).model_validate(event.model_dump() | changes)


def subscription(**filters: Any) -> Subscription:
    base = Subscription(
        id=uuid.uuid4(),
        owner="admin:",
        callback_url="https://example.org/hook",
        secret="s",
        kinds=("events", "kpis", "verdicts"),
        ports=(),
        event_types=(),
        containers=(),
        declarations=(),
        certificates=(),
        kpis=(),
        countries=(),
        status="active",
        failures=0,
        last_error=None,
        last_delivery_at=None,
        created_at=NOW,
        secret_rotated_at=None,
    )
    lists: dict[str, Any] = {key: tuple(value) for key, value in filters.items()}
    return replace(base, **lists)


def test_the_signature_is_the_hmac_sha256_of_the_raw_body() -> None:
    secret, body = new_secret(), b'{"a":1}'
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    assert signature(secret, body) == f"sha256={expected}"
    assert verify(secret, body, f"sha256={expected}")
    assert not verify(secret, body + b" ", f"sha256={expected}")
    assert not verify(new_secret(), body, f"sha256={expected}")
    assert new_secret() != new_secret()


def test_retries_double_up_to_the_cap_with_jitter() -> None:
    rng = random.Random(1)
    delays = [retry_delay(attempt, 2.0, 60.0, rng) for attempt in range(1, 12)]
    ceilings = [min(60.0, 2.0 * 2 ** (attempt - 1)) for attempt in range(1, 12)]
    for delay, ceiling in zip(delays, ceilings, strict=True):
        assert ceiling / 2 <= delay <= ceiling
    assert max(delays) <= 60.0
    # Jitter: two receivers failing together are not retried at the same instant.
    assert len({round(retry_delay(5, 2.0, 60.0, rng), 6) for _ in range(20)}) > 1
    assert retry_delay(10_000, 1.0, 30.0, rng) <= 30.0


def test_vessel_events_are_typed_by_classifier_and_operation() -> None:
    event = samples("vessel")[1]
    assert isinstance(event, VesselEvent)
    ata = from_event(event)
    assert (event.classifier, event.operation) == (Classifier.ACT, Operation.ARRI)
    assert ata.event_type == "vessel.ata"
    assert ata.type == "org.portcommunity.hub.event.vessel.ata"
    etd = from_event(changed(event, classifier="EST", operation="DEPA"))
    assert etd.event_type == "vessel.etd"
    assert from_event(samples("cargo")[1]).event_type == "cargo.disc"
    assert from_event(samples("customs")[0]).event_type == "customs.held"


def test_the_body_is_a_cloudevent_with_the_request_id() -> None:
    event = samples("vessel")[1]
    assert isinstance(event, VesselEvent)
    notification = from_event(event)
    identifier = request_id(uuid.uuid4(), notification.dedupe_key)
    body = json.loads(notification.body(identifier))
    assert body["specversion"] == "1.0"
    assert body["id"] == str(identifier)
    assert body["source"] == f"/ports/{event.port}"
    assert body["subject"] == event.port_call_id
    assert body["datacontenttype"] == "application/json"
    assert body["data"]["event_id"] == str(event.event_id)
    assert datetime.fromisoformat(body["time"]) == event.occurred_at


def test_the_request_id_is_stable_per_subscription_and_fact() -> None:
    first, second = uuid.uuid4(), uuid.uuid4()
    assert request_id(first, "event:1") == request_id(first, "event:1")
    assert request_id(first, "event:1") != request_id(second, "event:1")
    assert request_id(first, "event:1") != request_id(first, "event:2")


def test_a_filter_passes_only_the_listed_values() -> None:
    event = samples("vessel")[1]
    ata = from_event(event)
    other_port = from_event(changed(event, port="BRSSZ"))
    eta = from_event(changed(event, classifier="EST"))
    wanted = subscription(ports=["PECLL"], event_types=["vessel.ata"])
    assert matches(wanted, ata)
    assert not matches(wanted, other_port)
    assert not matches(wanted, eta)
    assert matches(subscription(event_types=["vessel.*"]), eta)
    assert not matches(subscription(event_types=["cargo.*"]), eta)
    assert not matches(subscription(kinds=["kpis", "verdicts"]), ata)
    assert matches(subscription(), ata)


def test_container_declaration_and_certificate_filters() -> None:
    cargo = from_event(samples("cargo")[1])
    assert matches(subscription(containers=[samples("cargo")[1].container]), cargo)  # type: ignore[attr-defined]
    assert not matches(subscription(containers=["MSCU0000000"]), cargo)
    # A filter constrains the kinds it applies to: an event without a declaration does not pass.
    assert not matches(subscription(declarations=["D-1"]), cargo)
    verdict = from_verdict(
        {
            "certificate_id": "C-1",
            "importing_country": "PE",
            "declarations": ["D-1"],
            "version": 2,
            "issued_at": NOW.isoformat(),
        }
    )
    assert matches(subscription(declarations=["D-1"], certificates=["C-1"]), verdict)
    assert not matches(subscription(certificates=["C-2"]), verdict)
    # Ports do not constrain verdicts (they belong to a country): countries do.
    assert matches(subscription(ports=["PECLL"]), verdict)
    assert matches(subscription(countries=["PE"]), verdict)
    assert not matches(subscription(countries=["BR"]), verdict)
    assert verdict.dedupe_key == "verdict:C-1:2"


def test_kpi_filters() -> None:
    value = {
        "entity_kind": "declaration",
        "entity_id": "PECLL/D-9",
        "port": "PECLL",
        "kpi": "clearance_time",
        "value": 3.5,
        "unit": "h",
        "anchor_time": NOW.isoformat(),
        "flag": None,
    }
    kpi = from_kpi(value)
    assert kpi.type == "org.portcommunity.hub.kpi"
    assert matches(subscription(kpis=["clearance_time"], ports=["PECLL"]), kpi)
    assert not matches(subscription(kpis=["waiting_time"]), kpi)
    assert not matches(subscription(ports=["BRSSZ"]), kpi)
    assert matches(subscription(declarations=["D-9"]), kpi)
    # The same value read twice is one notification; another value another one.
    assert from_kpi(dict(value)).dedupe_key == kpi.dedupe_key
    assert from_kpi(value | {"value": 4.0}).dedupe_key != kpi.dedupe_key


@pytest.mark.parametrize(
    ("namespace", "topic", "followed"),
    [
        ("", "ingest.vessel", True),
        ("", "kpi.cargo", True),
        ("", "validations.PE", True),
        ("", "kpi.windows", False),
        ("", "hub.deadletter", False),
        ("t1.", "t1.ingest.certificates", True),
        ("", "t1.ingest.vessel", False),
        ("t1.", "ingest.vessel", False),
    ],
)
def test_the_reader_follows_its_namespace_topics(
    namespace: str, topic: str, followed: bool
) -> None:
    import re

    assert bool(re.match(topic_pattern(namespace), topic)) == followed


@pytest.mark.parametrize(
    ("url", "allow_private", "refused"),
    [
        ("http://127.0.0.1:8080/hook", False, "private or reserved"),
        ("https://10.1.2.3/hook", False, "private or reserved"),
        ("http://169.254.169.254/latest/meta-data", False, "private or reserved"),
        ("http://[::1]/hook", False, "private or reserved"),
        ("http://localhost/hook", False, "private or reserved"),
        ("https://93.184.215.14/hook", False, None),
        ("http://127.0.0.1:8080/hook", True, None),
        ("ftp://example.org/hook", True, "http:// or https://"),
        ("https://user:pw@example.org/hook", True, "credentials"),
        ("https:///nohost", True, "http:// or https://"),
    ],
)
async def test_callback_urls_are_checked_against_ssrf(
    url: str, allow_private: bool, refused: str | None
) -> None:
    from fastapi import HTTPException

    from hub.api.webhooks import _check_callback

    if refused is None:
        await _check_callback(url, allow_private)
        return
    with pytest.raises(HTTPException) as raised:
        await _check_callback(url, allow_private)
    assert raised.value.status_code == 422
    assert refused in str(raised.value.detail)


def test_the_webhook_settings_are_validated() -> None:
    from hub.errors import ConfigError
    from hub.settings import load_settings

    assert load_settings({}).webhooks.enabled
    assert not load_settings({"HUB_WEBHOOKS": "off"}).webhooks.enabled
    for variable, value in (
        ("HUB_WEBHOOKS", "maybe"),
        ("HUB_WEBHOOK_PAUSE_AFTER", "0"),
        ("HUB_WEBHOOK_RETRY_BASE_S", "-1"),
        ("HUB_WEBHOOK_TIMEOUT_S", "soon"),
    ):
        with pytest.raises(ConfigError) as raised:
            load_settings({variable: value})
        assert str(raised.value).startswith(f"bad setting {variable}={value}:")
        assert "\n" not in str(raised.value)
