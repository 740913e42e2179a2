"""Kafka tenants: one SASL/SCRAM principal per port, per customs authority and per single window,
and its ACLs.

A port (``port-PECLL``) may write its own topics ``ports.PECLL.<domain>`` and nothing else: the
hub's gateway (:mod:`hub.ingest.gateway`) moves what it writes to the ingest topics after checking
that every event is the port's own. A country's single window (``single-window-PE``) may write
``customs.PE.customs`` and ``customs.PE.certificate`` and nothing else; the gateway checks that
every event is of one of the country's ports. Each may read its own feedback topic
(``ports.PECLL.feedback``, ``customs.PE.feedback``: every refusal of what it sent, by whatever
way in, :mod:`hub.notify.feedback`) in consumer groups whose names start with its principal's name
and a dot (``port-PECLL.``). A customs authority (``customs-PE``) may read
``validations.PE`` only, in consumer groups whose names start with ``customs.PE.``. Everything
else is refused by the broker (``allow.everyone.if.no.acl.found=false``) and written to its
authorizer log. The hub's own processes reach the broker on a loopback PLAINTEXT listener.

Passwords are generated here, printed once and never stored by the hub: the broker keeps a salted
SCRAM-SHA-512 hash (8,192 iterations).
"""

from __future__ import annotations

import asyncio
import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from confluent_kafka import KafkaException
from confluent_kafka.admin import (
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    AdminClient,
    ResourcePatternType,
    ResourceType,
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialDeletion,
    UserScramCredentialUpsertion,
)

from hub.domain.publishers import SINGLE_WINDOW_DOMAINS, Publisher
from hub.errors import BrokerError, ConfigError
from hub.kafka_topics import INGEST_TOPICS, create_topics, validations_topic
from hub.settings import HubSettings

TenantKind = Literal["port", "customs", "single-window"]
TENANT_KINDS: tuple[TenantKind, ...] = ("port", "customs", "single-window")

PORT_TOPICS_PREFIX = "ports."
FEEDBACK = "feedback"
"""The last part of a publisher's feedback topic (``ports.PECLL.feedback``,
``customs.PE.feedback``)."""
# A single window's topics: "customs.PE.customs". Consumer groups of customs authorities share
# the prefix ("customs.PE.inspection"), but a group is not a topic: no ACL of one covers the other.
SINGLE_WINDOW_TOPICS_PREFIX = "customs."
CUSTOMS_GROUP_PREFIX = "customs."
SCRAM_MECHANISM = "SCRAM-SHA-512"
SCRAM_ITERATIONS = 8192
_ADMIN_TIMEOUT_S = 15.0
_UNLOCODE = re.compile(r"^[A-Z]{2}[A-Z2-9]{3}$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")


@dataclass(frozen=True, slots=True)
class Grant:
    """One ACL: ``principal`` may do ``operation`` on a topic or group named ``name`` (or, with
    ``prefixed``, on every one whose name starts with it)."""

    resource: Literal["topic", "group"]
    name: str
    prefixed: bool
    operation: Literal["READ", "WRITE", "DESCRIBE"]


@dataclass(frozen=True, slots=True)
class Tenant:
    kind: TenantKind
    subject: str  # UN/LOCODE of a port, ISO alpha-2 of a customs authority or single window

    @property
    def user_name(self) -> str:
        return f"{self.kind}-{self.subject}"

    @property
    def principal(self) -> str:
        return f"User:{self.user_name}"

    @property
    def publisher(self) -> Publisher:
        """Who the events it writes are published as (a customs authority publishes nothing:
        its ACLs let it write no topic)."""
        if self.kind == "port":
            return Publisher(self.subject)
        return Publisher.single_window(self.subject)


def tenant(kind: str, subject: str) -> Tenant:
    """The tenant ``kind`` ``subject``, checked for shape (not for existence)."""
    if kind == "port":
        if not _UNLOCODE.match(subject):
            raise ConfigError(f"{subject!r} is not a UN/LOCODE like PECLL")
        return Tenant("port", subject)
    if kind in ("customs", "single-window"):
        if not _COUNTRY.match(subject):
            raise ConfigError(f"{subject!r} is not an ISO country code like PE")
        return Tenant("customs" if kind == "customs" else "single-window", subject)
    raise ConfigError(f"unknown tenant kind {kind!r} (port, customs or single-window)")


def port_topic(settings: HubSettings, port: str, domain: str) -> str:
    """The topic ``port`` publishes ``domain`` events to over Kafka."""
    return settings.topic(f"{PORT_TOPICS_PREFIX}{port}.{domain}")


def port_topics(settings: HubSettings, port: str) -> list[str]:
    return [port_topic(settings, port, domain) for domain in INGEST_TOPICS]


def port_topic_pattern(settings: HubSettings) -> re.Pattern[str]:
    """Matches every port's topic; groups: the port and the domain."""
    domains = "|".join(INGEST_TOPICS)
    return re.compile(
        rf"^{re.escape(settings.topic(PORT_TOPICS_PREFIX))}([A-Z]{{2}}[A-Z2-9]{{3}})\.({domains})$"
    )


def single_window_topic(settings: HubSettings, country: str, domain: str) -> str:
    """The topic the single window of ``country`` publishes ``domain`` events to over Kafka."""
    return settings.topic(f"{SINGLE_WINDOW_TOPICS_PREFIX}{country}.{domain}")


def single_window_topics(settings: HubSettings, country: str) -> list[str]:
    return [single_window_topic(settings, country, domain) for domain in SINGLE_WINDOW_DOMAINS]


def single_window_topic_pattern(settings: HubSettings) -> re.Pattern[str]:
    """Matches every single window's topic; groups: the country and the domain."""
    domains = "|".join(SINGLE_WINDOW_DOMAINS)
    prefix = re.escape(settings.topic(SINGLE_WINDOW_TOPICS_PREFIX))
    return re.compile(rf"^{prefix}([A-Z]{{2}})\.({domains})$")


class TenantTopics:
    """The tenants' topics the gateway reads, and who may write each."""

    def __init__(self, settings: HubSettings) -> None:
        self._ports = port_topic_pattern(settings)
        self._windows = single_window_topic_pattern(settings)
        self.pattern = f"{self._ports.pattern}|{self._windows.pattern}"
        """Every port's and every single window's topic (for a pattern subscription)."""

    def writer(self, topic: str) -> tuple[Tenant, str] | None:
        """The only tenant whose ACLs let it write ``topic``, and the topic's domain; None: not
        a tenant's topic."""
        if match := self._ports.match(topic):
            return Tenant("port", match[1]), match[2]
        if match := self._windows.match(topic):
            return Tenant("single-window", match[1]), match[2]
        return None


def customs_group_prefix(settings: HubSettings, country: str) -> str:
    return settings.topic(f"{CUSTOMS_GROUP_PREFIX}{country}.")


def feedback_topic(settings: HubSettings, publisher: str) -> str | None:
    """The feedback topic of ``publisher`` (:attr:`hub.domain.publishers.Publisher.code`):
    ``ports.<PORT>.feedback`` for a UN/LOCODE, ``customs.<ISO2>.feedback`` for a single window's
    country; None for anything else ('' unknown)."""
    if _UNLOCODE.fullmatch(publisher):
        return port_topic(settings, publisher, FEEDBACK)
    if _COUNTRY.fullmatch(publisher):
        return single_window_topic(settings, publisher, FEEDBACK)
    return None


def own_group_prefix(settings: HubSettings, of: Tenant) -> str:
    """The consumer groups a port or single window may read its feedback in: its principal's
    name and a dot (``port-PECLL.``), with the namespace."""
    return settings.topic(f"{of.user_name}.")


def grants(settings: HubSettings, of: Tenant) -> list[Grant]:
    """Every ACL ``of`` has: the least that lets it do its job."""
    if of.kind == "port":
        # Each topic by its literal name: "ports.PECLL." as a prefix would also let the port
        # write its own feedback topic, which only the hub writes.
        feedback = port_topic(settings, of.subject, FEEDBACK)
        return [
            *(
                Grant("topic", topic, False, operation)
                for topic in port_topics(settings, of.subject)
                for operation in ("WRITE", "DESCRIBE")
            ),
            Grant("topic", feedback, False, "READ"),
            Grant("topic", feedback, False, "DESCRIBE"),
            Grant("group", own_group_prefix(settings, of), True, "READ"),
        ]
    if of.kind == "single-window":
        # Each topic by its literal name: "customs.PE." as a prefix would also cover any topic
        # named later under it.
        feedback = single_window_topic(settings, of.subject, FEEDBACK)
        return [
            *(
                Grant("topic", topic, False, operation)
                for topic in single_window_topics(settings, of.subject)
                for operation in ("WRITE", "DESCRIBE")
            ),
            Grant("topic", feedback, False, "READ"),
            Grant("topic", feedback, False, "DESCRIBE"),
            Grant("group", own_group_prefix(settings, of), True, "READ"),
        ]
    topic = settings.topic(validations_topic(of.subject))
    return [
        Grant("topic", topic, False, "READ"),
        Grant("topic", topic, False, "DESCRIBE"),
        Grant("group", customs_group_prefix(settings, of.subject), True, "READ"),
    ]


def tenant_topics(settings: HubSettings, of: Tenant) -> list[str]:
    """The topics ``of`` works with, which must exist before it connects."""
    if of.kind == "port":
        return [*port_topics(settings, of.subject), port_topic(settings, of.subject, FEEDBACK)]
    if of.kind == "single-window":
        feedback = single_window_topic(settings, of.subject, FEEDBACK)
        return [*single_window_topics(settings, of.subject), feedback]
    return [settings.topic(validations_topic(of.subject))]


def new_password() -> str:
    return secrets.token_urlsafe(24)


class TenantAdmin:
    """Credentials and ACLs on the broker, through the hub's own (super user) connection."""

    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap
        self._admin = AdminClient(
            {"bootstrap.servers": bootstrap, "socket.timeout.ms": 10_000, "log_level": 3}
        )

    async def grant(self, settings: HubSettings, of: Tenant, password: str) -> None:
        """Create (or rotate) ``of``'s credential, its topics and its ACLs."""

        await create_topics(
            self.bootstrap,
            {name: settings.kafka.topic_partitions for name in tenant_topics(settings, of)},
            settings.kafka.topic_replication_factor,
        )
        upsertion = UserScramCredentialUpsertion(
            of.user_name,
            ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, SCRAM_ITERATIONS),
            password.encode(),
        )
        await self._wait(
            lambda: self._admin.alter_user_scram_credentials([upsertion]), "set the credential"
        )
        bindings = [_binding(of, grant) for grant in grants(settings, of)]
        await self._wait(lambda: self._admin.create_acls(bindings), "create the ACLs")
        await self._drop_other_acls(of, bindings)

    async def _drop_other_acls(self, of: Tenant, keep: Sequence[Any]) -> None:
        """Delete ``of``'s ACLs that are not in ``keep`` (what an earlier release granted), after
        the new ones exist, so that a rotating tenant is never refused in between."""
        every_acl = _every_acl(of)
        found: list[Any] = []

        def describe() -> None:
            found.extend(self._admin.describe_acls(every_acl).result(timeout=_ADMIN_TIMEOUT_S))

        try:
            await asyncio.to_thread(describe)
        except (KafkaException, TimeoutError) as error:
            raise BrokerError(f"could not list the ACLs on {self.bootstrap}: {error}") from None
        stale = [
            AclBindingFilter(
                b.restype,
                b.name,
                b.resource_pattern_type,
                b.principal,
                b.host,
                b.operation,
                b.permission_type,
            )
            for b in found
            if b not in keep
        ]
        if stale:
            await self._wait(lambda: self._admin.delete_acls(stale), "delete the old ACLs")

    async def withdraw(self, of: Tenant) -> None:
        """Delete ``of``'s ACLs (refused from its next request on) and its credential (no new
        connection)."""

        every_acl = _every_acl(of)
        await self._wait(lambda: self._admin.delete_acls([every_acl]), "delete the ACLs")
        deletion = UserScramCredentialDeletion(of.user_name, ScramMechanism.SCRAM_SHA_512)
        try:
            await self._wait(
                lambda: self._admin.alter_user_scram_credentials([deletion]),
                "delete the credential",
            )
        except BrokerError as error:
            if "RESOURCE_NOT_FOUND" not in str(error):  # already gone: nothing to withdraw
                raise

    async def has_credential(self, of: Tenant) -> bool:
        def describe() -> bool:
            futures = self._admin.describe_user_scram_credentials([of.user_name])
            assert isinstance(futures, dict)  # one future per user when users are named
            try:
                futures[of.user_name].result(timeout=_ADMIN_TIMEOUT_S)
            except KafkaException as error:
                if "RESOURCE_NOT_FOUND" in str(error):
                    return False
                raise
            return True

        try:
            return await asyncio.to_thread(describe)
        except KafkaException as error:
            raise BrokerError(
                f"could not read the credentials on {self.bootstrap}: {error}"
            ) from None

    async def _wait(self, call: Callable[[], dict[Any, Any]], what: str) -> None:
        def run() -> None:
            for future in call().values():
                future.result(timeout=_ADMIN_TIMEOUT_S)

        try:
            await asyncio.to_thread(run)
        except (KafkaException, TimeoutError) as error:
            raise BrokerError(
                f"could not {what} on {self.bootstrap}: {error} (the hub's connection must be "
                "allowed to alter the cluster's credentials and ACLs)"
            ) from None


def _every_acl(of: Tenant) -> Any:
    """A filter matching every ACL of ``of``'s principal."""
    # None matches any name and any host (the stubs want str).
    return AclBindingFilter(
        ResourceType.ANY, None, ResourcePatternType.ANY, of.principal,  # type: ignore[arg-type]
        None, AclOperation.ANY, AclPermissionType.ANY,  # type: ignore[arg-type]
    )  # fmt: skip


def _binding(of: Tenant, grant: Grant) -> Any:

    return AclBinding(
        ResourceType.TOPIC if grant.resource == "topic" else ResourceType.GROUP,
        grant.name,
        ResourcePatternType.PREFIXED if grant.prefixed else ResourcePatternType.LITERAL,
        of.principal,
        "*",
        AclOperation[grant.operation],
        AclPermissionType.ALLOW,
    )


def describe_grants(items: Sequence[Grant]) -> list[str]:
    """One line per grant, for people."""
    return [
        f"{grant.operation.lower()} {grant.resource} {grant.name}{'*' if grant.prefixed else ''}"
        for grant in items
    ]
