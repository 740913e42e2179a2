"""What each Kafka tenant is granted, and the names of its topics and groups (hub.tenants)."""

from __future__ import annotations

import re

import pytest

from hub.domain.publishers import Publisher
from hub.errors import ConfigError
from hub.settings import load_settings
from hub.tenants import (
    Grant,
    TenantTopics,
    feedback_topic,
    grants,
    port_topic_pattern,
    port_topics,
    tenant,
    tenant_topics,
)

SETTINGS = load_settings({}, kafka={"topic_namespace": "staging."})


def test_a_port_may_write_its_own_topics_and_read_its_feedback_only() -> None:
    assert grants(SETTINGS, tenant("port", "PECLL")) == [
        *(
            Grant("topic", f"staging.ports.PECLL.{domain}", False, operation)
            for domain in ("vessel", "cargo", "customs", "certificate")
            for operation in ("WRITE", "DESCRIBE")
        ),
        Grant("topic", "staging.ports.PECLL.feedback", False, "READ"),
        Grant("topic", "staging.ports.PECLL.feedback", False, "DESCRIBE"),
        Grant("group", "staging.port-PECLL.", True, "READ"),
    ]
    # No grant covers the feedback topic for writing: only the hub writes it.
    assert not any(
        g.operation == "WRITE" and "staging.ports.PECLL.feedback".startswith(g.name)
        for g in grants(SETTINGS, tenant("port", "PECLL"))
        if g.prefixed
    )
    assert tenant_topics(SETTINGS, tenant("port", "PECLL"))[-1] == "staging.ports.PECLL.feedback"
    assert port_topics(SETTINGS, "PECLL") == [
        "staging.ports.PECLL.vessel",
        "staging.ports.PECLL.cargo",
        "staging.ports.PECLL.customs",
        "staging.ports.PECLL.certificate",
    ]


def test_a_customs_authority_may_read_its_verdicts_in_groups_of_its_prefix() -> None:
    assert grants(SETTINGS, tenant("customs", "PE")) == [
        Grant("topic", "staging.validations.PE", False, "READ"),
        Grant("topic", "staging.validations.PE", False, "DESCRIBE"),
        Grant("group", "staging.customs.PE.", True, "READ"),
    ]


def test_the_gateway_reads_every_port_topic_and_nothing_else() -> None:
    pattern = port_topic_pattern(SETTINGS)
    match = pattern.match("staging.ports.BRSSZ.cargo")
    assert match is not None and match.groups() == ("BRSSZ", "cargo")
    for other in ("ports.BRSSZ.cargo", "staging.ports.BRSSZ.berths", "staging.portsXBRSSZ.cargo",
                  "staging.ports.BRSSZ.cargo.x", "staging.ports.brssz.cargo"):  # fmt: skip
        assert pattern.match(other) is None, other


@pytest.mark.parametrize(
    ("kind", "subject", "message"),
    [
        ("port", "PECL", "not a UN/LOCODE"),
        ("port", "pecll", "not a UN/LOCODE"),
        ("customs", "PER", "not an ISO country code"),
        ("exporter", "PE", "unknown tenant kind"),
    ],
)
def test_a_malformed_tenant_is_refused_with_the_reason(
    kind: str, subject: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        tenant(kind, subject)


def test_principals_are_named_by_kind_and_subject() -> None:
    assert tenant("port", "PECLL").principal == "User:port-PECLL"
    assert tenant("customs", "BR").user_name == "customs-BR"


def test_a_single_window_may_write_and_describe_its_two_topics_only() -> None:
    assert grants(SETTINGS, tenant("single-window", "PE")) == [
        Grant("topic", "staging.customs.PE.customs", False, "WRITE"),
        Grant("topic", "staging.customs.PE.customs", False, "DESCRIBE"),
        Grant("topic", "staging.customs.PE.certificate", False, "WRITE"),
        Grant("topic", "staging.customs.PE.certificate", False, "DESCRIBE"),
        Grant("topic", "staging.customs.PE.feedback", False, "READ"),
        Grant("topic", "staging.customs.PE.feedback", False, "DESCRIBE"),
        Grant("group", "staging.single-window-PE.", True, "READ"),
    ]
    assert tenant_topics(SETTINGS, tenant("single-window", "PE")) == [
        "staging.customs.PE.customs",
        "staging.customs.PE.certificate",
        "staging.customs.PE.feedback",
    ]
    assert tenant("single-window", "PE").user_name == "single-window-PE"
    with pytest.raises(ConfigError, match="not an ISO country code"):
        tenant("single-window", "PECLL")


def test_the_gateway_knows_who_wrote_each_tenant_topic_and_reads_nothing_else() -> None:
    topics = TenantTopics(SETTINGS)
    assert topics.writer("staging.ports.BRSSZ.cargo") == (tenant("port", "BRSSZ"), "cargo")
    writer = topics.writer("staging.customs.PE.certificate")
    assert writer == (tenant("single-window", "PE"), "certificate")
    assert writer[0].publisher == Publisher.single_window("PE")
    assert tenant("port", "BRSSZ").publisher == Publisher("BRSSZ")
    subscription = re.compile(topics.pattern)
    for name in ("staging.ports.BRSSZ.cargo", "staging.customs.PE.customs"):
        assert subscription.fullmatch(name), name
    for other in ("staging.customs.PE.vessel", "staging.customs.PE.cargo", "customs.PE.customs",
                  "staging.customs.PER.customs", "staging.customs.pe.customs",
                  "staging.customs.PE.customs.x", "staging.validations.PE",
                  "staging.customs.PE.inspection"):  # fmt: skip
        assert topics.writer(other) is None, other
        assert subscription.fullmatch(other) is None, other


def test_a_publisher_s_feedback_topic_is_named_by_its_code_and_none_for_anything_else() -> None:
    assert feedback_topic(SETTINGS, "PECLL") == "staging.ports.PECLL.feedback"
    assert feedback_topic(SETTINGS, "PE") == "staging.customs.PE.feedback"
    for other in ("", "pecll", "PECLL\n", "PE.x", "PECL", "P", "PECLLX", "ports.PECLL"):
        assert feedback_topic(SETTINGS, other) is None, other
    # The gateway does not read the feedback topics (nor does a port's feedback look like
    # something it wrote).
    assert TenantTopics(SETTINGS).writer("staging.ports.PECLL.feedback") is None
    assert TenantTopics(SETTINGS).writer("staging.customs.PE.feedback") is None
