"""The hub's topics and their creation on the broker."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from hub.errors import BrokerError
from hub.settings import HubSettings

INGEST_VESSEL = "ingest.vessel"
INGEST_CARGO = "ingest.cargo"
INGEST_CUSTOMS = "ingest.customs"
INGEST_CERTIFICATES = "ingest.certificates"
DEADLETTER = "hub.deadletter"
KPI_PORT_CALLS = "kpi.port-calls"
KPI_CARGO = "kpi.cargo"
KPI_CUSTOMS = "kpi.customs"
KPI_WINDOWS = "kpi.windows"
INDICATORS = "indicators.regional"
_VISIBLE_WITHIN_S = 30.0
# Certificate verdicts, one topic per importing country: "validations.PE".
VALIDATIONS_PREFIX = "validations."

HUB_TOPICS = (
    INGEST_VESSEL,
    INGEST_CARGO,
    INGEST_CUSTOMS,
    INGEST_CERTIFICATES,
    DEADLETTER,
    KPI_PORT_CALLS,
    KPI_CARGO,
    KPI_CUSTOMS,
    KPI_WINDOWS,
    INDICATORS,
)

# The KPI topic of each kind of entity (hub.domain.kpis.model.KpiValue.entity_kind).
KPI_TOPICS = {
    "port_call": KPI_PORT_CALLS,
    "berth_hour": KPI_PORT_CALLS,
    "container_visit": KPI_CARGO,
    "truck_visit": KPI_CARGO,
    "move": KPI_CARGO,
    "declaration": KPI_CUSTOMS,
}

# Headers a dead-lettered record carries besides its original ones.
DEADLETTER_REASON_HEADER = "hub-reason"
DEADLETTER_DETAIL_HEADER = "hub-detail"
DEADLETTER_SOURCE_HEADER = "hub-source-topic"
# Where an ingest record was first published, when not the ingest record itself: the port topic's
# record the gateway forwarded ("ports.PECLL.vessel/0/42"). Read again, it keeps its origin.
ORIGIN_HEADER = "hub-origin"
# Who published a record (issue 20): ``hub.domain.publishers.Publisher.code``, the port's UN/LOCODE
# or the single window's ISO code. Set by the hub on the ingest records it produces (HTTP, EDIFACT,
# the gateway) and on every dead letter; absent or empty: unknown. A tenant cannot set it: tenants
# write only their own topics, whose headers the gateway does not pass on.
PUBLISHER_HEADER = "hub-publisher"
# The domain a dead letter was refused under (``vessel`` … ``edifact``, ``ais``).
DEADLETTER_DOMAIN_HEADER = "hub-domain"

# The ingest topic of each event domain (the domain names of schemas.avro_schemas.DOMAINS).
INGEST_TOPICS = {
    "vessel": INGEST_VESSEL,
    "cargo": INGEST_CARGO,
    "customs": INGEST_CUSTOMS,
    "certificate": INGEST_CERTIFICATES,
}


def validations_topic(country: str) -> str:
    """The topic of the certificate verdicts for the customs authority of ``country``."""
    return f"{VALIDATIONS_PREFIX}{country}"


def hub_topics(settings: HubSettings, countries: Iterable[str] = ()) -> dict[str, int]:
    """Every topic the hub needs, with its namespace, mapped to its partition count: the fixed
    ones and ``validations.<ISO2>`` of each of ``countries``."""
    names = [*HUB_TOPICS, *(validations_topic(country) for country in sorted(set(countries)))]
    return {settings.topic(name): settings.kafka.topic_partitions for name in names}


async def create_topics(
    bootstrap: str, topics: dict[str, int], replication_factor: int = 1
) -> list[str]:
    """Create the topics that do not exist yet. Returns the names it created."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10_000)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [
            NewTopic(name=name, num_partitions=partitions, replication_factor=replication_factor)
            for name, partitions in topics.items()
            if name not in existing
        ]
        if not missing:
            return []
        response = await admin.create_topics(missing)
        for topic, code, *rest in response.topic_errors:
            # Another hub process may have created it between our list and create.
            if code and code != TopicAlreadyExistsError.errno:
                message = rest[0] if rest else ""
                raise BrokerError(f"could not create topic {topic}: error {code} {message}")
        await _until_visible(admin, [topic.name for topic in missing])
        return [topic.name for topic in missing]
    finally:
        await admin.close()


async def _until_visible(admin: AIOKafkaAdminClient, names: list[str]) -> None:
    """Wait until the broker lists every new topic with its partitions: a consumer that joins
    its group before then is assigned nothing and only notices at its next metadata refresh
    (five minutes later)."""
    deadline = asyncio.get_running_loop().time() + _VISIBLE_WITHIN_S
    while True:
        described = await admin.describe_topics(names)
        if all(topic.get("error_code") == 0 and topic.get("partitions") for topic in described):
            return
        if asyncio.get_running_loop().time() > deadline:
            raise BrokerError(f"new topics not visible on the broker after {_VISIBLE_WITHIN_S:g} s")
        await asyncio.sleep(0.2)
