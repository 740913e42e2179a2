"""The hub's settings, declared once: type, default, environment variable and meaning.

The settings come in groups, one typed model each, so that a process reads the part it uses:
``settings.kafka`` (the cluster or the local broker, the topics, the schema registry),
``settings.database``, ``settings.api``, ``settings.worker``, ``settings.generator``,
``settings.reference`` (the bundled reference files) and ``settings.rules`` (the thresholds of
the domain's rules a deployment may tune); ``state_dir``, ``log_level`` and
:meth:`HubSettings.topic` are for every process.

Every setting is read from one environment variable, named in one table, :data:`VARIABLES`
(``HUB_KAFKA_BOOTSTRAP`` → ``kafka.bootstrap``, ``DATABASE_URL`` → ``database.url``): the names
are the hub's interface to its operators and stay as they are whatever the grouping. A malformed
value, or a ``HUB_*`` variable that names no setting, stops the hub with one line that names the
variable and says why (:class:`hub.errors.ConfigError`).
"""

from __future__ import annotations

import difflib
import functools
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic.fields import FieldInfo

from hub.domain.reference import (
    BUNDLED_AGREEMENTS_FILE,
    BUNDLED_MECHANISMS_FILE,
    BUNDLED_PORT_AREAS_FILE,
    BUNDLED_PORTS_FILE,
)
from hub.errors import ConfigError

ENV_PREFIX = "HUB_"
PROJECT_ROOT = Path(__file__).resolve().parent.parent

LogLevel = Literal["debug", "info", "warning", "error"]

# Frozen: a process reads its settings once; nothing changes them behind another part's back.
_GROUP_CONFIG = ConfigDict(extra="forbid", frozen=True)


class KafkaSettings(BaseModel):
    """Kafka: an existing cluster or the local broker, the topics the hub creates, the registry."""

    model_config = _GROUP_CONFIG

    bootstrap: str | None = Field(
        default=None,
        description=(
            "host:port[,host:port] of an existing Kafka cluster. Unset: the hub fetches, "
            "formats and starts a local single-node KRaft broker."
        ),
    )
    port: int = Field(
        default=9092, ge=1, le=65535, description="Client port of the local broker (127.0.0.1)."
    )
    controller_port: int = Field(
        default=9093, ge=1, le=65535, description="KRaft controller port of the local broker."
    )
    tenant_port: int = Field(
        default=9094,
        ge=1,
        le=65535,
        description=(
            "Port of the local broker's SASL/SCRAM listener, where ports and customs authorities"
            " connect with the credentials of `hub tenants`."
        ),
    )
    tenant_host: str = Field(
        default="127.0.0.1",
        pattern=r"^[A-Za-z0-9.-]+$",
        description=(
            "Address the local broker's tenant listener binds to and gives tenants (a name or"
            " address other machines reach it by, not 0.0.0.0)."
        ),
    )
    tenant_bootstrap: str | None = Field(
        default=None,
        description=(
            "host:port[,host:port] of the SASL listener tenants use on an existing cluster"
            " (HUB_KAFKA_BOOTSTRAP); unset: the local broker's tenant listener."
        ),
    )
    heap_mb: int = Field(
        default=512, ge=128, le=16384, description="Java heap of the local broker, in MiB."
    )
    topic_namespace: str = Field(
        default="",
        pattern=r"^[A-Za-z0-9._-]*$",
        description=(
            "Prefix put before every topic name (e.g. 'staging.'), so that several hubs or "
            "test runs can share one Kafka cluster."
        ),
    )
    topic_partitions: int = Field(
        default=6, ge=1, le=256, description="Partitions of each topic the hub creates."
    )
    topic_replication_factor: int = Field(
        default=1, ge=1, le=7, description="Replicas of each topic the hub creates."
    )
    schema_registry_url: str | None = Field(
        default=None,
        description=(
            "URL of a Confluent-compatible schema registry. Unset: the hub's embedded registry "
            "(stored in its database, served at <API>/registry)."
        ),
    )

    @field_validator("schema_registry_url")
    @classmethod
    def _registry_url_is_http(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value or None

    @field_validator("tenant_host")
    @classmethod
    def _reachable_host(cls, value: str) -> str:
        if value in ("0.0.0.0", "::"):
            raise ValueError(
                "is the address tenants are given, so it must be reachable, not 0.0.0.0"
            )
        return value

    @field_validator("bootstrap", "tenant_bootstrap")
    @classmethod
    def _bootstrap_is_host_port_list(cls, value: str | None) -> str | None:
        if not value:
            return None
        for server in value.split(","):
            host, _, port = server.strip().rpartition(":")
            if not host or not port.isdigit() or not 0 < int(port) < 65536:
                raise ValueError(f"{server!r} is not host:port")
        return value

    @property
    def uses_local(self) -> bool:
        """Whether the hub runs its own broker (no existing cluster configured)."""
        return self.bootstrap is None

    @property
    def tenant_listener(self) -> str | None:
        """Where tenants connect with SASL/SCRAM: the configured listener, or the local one."""
        if self.tenant_bootstrap:
            return self.tenant_bootstrap
        if self.uses_local:
            return f"{self.tenant_host}:{self.tenant_port}"
        return None


class DatabaseSettings(BaseModel):
    """PostgreSQL: an existing database, or the local cluster the hub starts."""

    model_config = _GROUP_CONFIG

    url: str | None = Field(
        default=None,
        description=(
            "postgresql:// URL of an existing database. Unset and no PG* variables: the hub "
            "starts a local PostgreSQL cluster under state_dir."
        ),
    )
    port: int = Field(
        default=55432, ge=1, le=65535, description="Port of the local PostgreSQL cluster."
    )
    name: str = Field(
        default="hub",
        pattern=r"^[a-z_][a-z0-9_]{0,62}$",
        description="Database the hub creates and uses on the local PostgreSQL cluster.",
    )
    retention_months: int = Field(
        default=25,
        ge=1,
        le=1200,
        description=(
            "Whole months of events kept after the current one: the monthly partitions of the "
            "event store whose month ended earlier are dropped (the KPIs and counts computed "
            "from them stay)."
        ),
    )

    @field_validator("url")
    @classmethod
    def _database_url_is_postgres(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("postgresql://", "postgres://")):
            raise ValueError("must start with postgresql:// (or postgres://)")
        return value or None


class ApiSettings(BaseModel):
    """The HTTP API: where it listens and what it lets callers do."""

    model_config = _GROUP_CONFIG

    http_host: str = Field(default="127.0.0.1", description="Address the HTTP API listens on.")
    http_port: int = Field(default=8080, ge=1, le=65535, description="Port of the HTTP API.")
    cors_origins: str = Field(
        default="",
        description=(
            "Comma-separated origins (https://host[:port]) whose browser pages may call the API;"
            " empty: cross-origin calls are refused."
        ),
    )
    max_request_bytes: int = Field(
        default=5 * 2**20, ge=1024, le=2**30, description="Largest request body the API takes."
    )
    rate_limit_per_s: float = Field(
        default=20.0,
        gt=0,
        le=100_000,
        description="Requests per second one token (or, without one, one address) may make.",
    )
    rate_limit_burst: int = Field(
        default=100, ge=1, le=1_000_000, description="Requests one token may make at once."
    )

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, value: str) -> str:
        for origin in filter(None, (part.strip() for part in value.split(","))):
            scheme, _, rest = origin.partition("://")
            if scheme not in ("http", "https") or not rest or "/" in rest or "*" in rest:
                raise ValueError(f"{origin!r} is not an origin like https://dashboard.example.org")
        return value

    @property
    def cors_origin_list(self) -> tuple[str, ...]:
        return tuple(filter(None, (part.strip() for part in self.cors_origins.split(","))))


class WorkerSettings(BaseModel):
    """The faust workers: their group, batches, timers and metrics."""

    model_config = _GROUP_CONFIG

    metrics_port: int = Field(
        default=9100,
        ge=0,
        le=65535,
        description=(
            "Port of a worker's Prometheus metrics (/metrics, on HUB_HTTP_HOST); 0 turns them "
            "off. The API serves its own at <API>/metrics."
        ),
    )
    id: str = Field(
        default="port-hub",
        pattern=r"^[A-Za-z0-9._-]+$",
        description="faust application id: the workers' consumer group and table prefix.",
    )
    heartbeat_s: float = Field(
        default=5.0, gt=0, le=300, description="How often a worker reports it is alive."
    )
    batch_size: int = Field(
        default=2_000,
        ge=1,
        le=100_000,
        description=(
            "Records a worker takes in per batch (read, stored, KPIs and windows written,"
            " published, committed, together)."
        ),
    )
    batch_wait_s: float = Field(
        default=0.2,
        ge=0.01,
        le=60,
        description=(
            "How long a worker's batch waits to fill up to HUB_WORKER_BATCH_SIZE: longer ="
            " fewer, larger writes when traffic is light, KPIs later."
        ),
    )
    indicators_interval_s: float = Field(
        default=60.0,
        gt=0,
        le=86_400,
        description="How often a worker brings the daily regional indicators up to date.",
    )
    indicators_month_interval_s: float = Field(
        default=900.0,
        gt=0,
        le=86_400,
        description=(
            "How often the monthly indicators are recomputed (a month's inputs are thirty "
            "times a day's)."
        ),
    )
    indicators_long_interval_s: float = Field(
        default=3_600.0,
        gt=0,
        le=7 * 86_400,
        description=(
            "How often the quarterly, half-yearly and yearly indicators are recomputed (each "
            "reads its whole period's inputs: a year's are 365 times a day's)."
        ),
    )
    indicators_long_max_events: int = Field(
        default=1_000_000,
        ge=1,
        le=100_000_000,
        description=(
            "A quarter, half-year or year with more stored events than this is not recomputed "
            "(a warning names it): its recomputation holds every event in memory, about 4 KB "
            "each."
        ),
    )


class ReferenceSettings(BaseModel):
    """The reference files the hub measures against (bundled ones unless set)."""

    model_config = _GROUP_CONFIG

    ports_file: Path = Field(
        default=BUNDLED_PORTS_FILE,
        description=(
            "CSV of the reference ports (unlocode,name,country,lat,lon[,berths]); berths is"
            " what berth occupancy is measured against."
        ),
    )
    port_areas_file: Path = Field(
        default=BUNDLED_PORT_AREAS_FILE,
        description=(
            "GeoJSON of each port's limits, anchorages and berth point, which the AIS connector"
            " measures arrivals against (the bundled file holds approximations)."
        ),
    )
    agreements_file: Path = Field(
        default=BUNDLED_AGREEMENTS_FILE,
        description=(
            "CSV of the trade agreements certificates of origin are issued under "
            "(code,name,validity_days,schedule): validity_days empty = "
            "HUB_CERTIFICATE_VALIDITY_DAYS; schedule = the HS prefixes covered, space-separated, "
            "empty = every HS code."
        ),
    )
    mechanisms_file: Path = Field(
        default=BUNDLED_MECHANISMS_FILE,
        description=(
            "CSV of the integration mechanisms (mechanism,name,member_countries), the level "
            "between country and region of the indicators."
        ),
    )

    @field_validator("ports_file", "agreements_file", "mechanisms_file", "port_areas_file")
    @classmethod
    def _file_exists(cls, value: Path) -> Path:
        if not value.is_file():
            raise ValueError(f"file {value} does not exist")
        return value


class RulesSettings(BaseModel):
    """Thresholds of the domain's rules, the same for every way an event comes in."""

    model_config = _GROUP_CONFIG

    late_grace_hours: float = Field(
        default=168.0,
        gt=0,
        le=24 * 3650,
        description=(
            "How late an event may arrive (event time before now) and still count; later ones "
            "are dead-lettered as TOO_LATE. Raise it to replay history."
        ),
    )
    certificate_validity_days: int = Field(
        default=180,
        ge=1,
        le=3650,
        description=(
            "Days a certificate of origin stays valid after its CertificateDate when it gives no "
            "validity period and its agreement sets none (SPEC: default 180)."
        ),
    )
    ais_arrival_tolerance_min: float = Field(
        default=30.0,
        gt=0,
        le=24 * 60,
        description=(
            "Minutes a terminal's declared arrival may differ from the AIS-derived one before the"
            " call is flagged (arrival_mismatch_flag)."
        ),
    )


class GeneratorSettings(BaseModel):
    """The traffic generator of the main job."""

    model_config = _GROUP_CONFIG

    enabled: bool = Field(
        default=True, description="Whether the main job runs the traffic generator."
    )
    rate: float = Field(
        default=100.0, gt=0, le=100_000, description="Events per second the generator publishes."
    )
    scale: float = Field(
        default=0.1,
        gt=0,
        le=10,
        description=(
            "Volume of the generated traffic: container moves per call are multiplied by it; 1 "
            "is the region's (about 270,000 events a day at the 28 reference ports)."
        ),
    )
    seed: int | None = Field(
        default=None, description="Seed of the generator; unset: a new sequence every run."
    )


class WebhookSettings(BaseModel):
    """Signed webhooks: the notifier in the API process, its retries and the callbacks allowed."""

    model_config = _GROUP_CONFIG

    enabled: bool = Field(
        default=True,
        description=(
            "Whether the API process runs the webhook notifier (reads the topics, stores and"
            " sends notifications); off: subscriptions can be managed, nothing is sent."
        ),
    )
    timeout_s: float = Field(
        default=10.0, gt=0, le=300, description="How long a receiver has to answer a POST."
    )
    retry_base_s: float = Field(
        default=2.0,
        gt=0,
        le=3600,
        description="Wait before the first retry of a failed notification, doubled each time.",
    )
    retry_max_s: float = Field(
        default=600.0, gt=0, le=86_400, description="Longest wait between two retries."
    )
    pause_after: int = Field(
        default=10,
        ge=1,
        le=100_000,
        description=(
            "Failures in a row after which a subscription is paused (its notifications kept"
            " until its owner resumes it)."
        ),
    )
    refresh_s: float = Field(
        default=5.0,
        gt=0,
        le=3600,
        description=(
            "How often the notifier reloads the subscriptions (made through another API"
            " process; this process's own take effect at once)."
        ),
    )
    poll_s: float = Field(
        default=0.5, gt=0, le=60, description="How often the sender looks for due notifications."
    )
    allow_private: bool = Field(
        default=False,
        description=(
            "Whether callback URLs may point at loopback, private, link-local or reserved"
            " addresses (off: refused at registration, against SSRF; on for tests and closed"
            " networks)."
        ),
    )


class FeedbackSettings(BaseModel):
    """Feedback to each publisher (issue 20): its refusals on its feedback topic and
    ``GET /v1/feedback``."""

    model_config = _GROUP_CONFIG

    enabled: bool = Field(
        default=True,
        description=(
            "Whether the API process runs the feedback forwarder (reads hub.deadletter, stores"
            " each publisher's refusals and sends them to its feedback topic)."
        ),
    )
    retention_days: int = Field(
        default=30,
        ge=1,
        le=3650,
        description="How many days a publisher's refusals stay readable in GET /v1/feedback.",
    )


class OpenDataSettings(BaseModel):
    """The open data (``/v1/open/``): anonymous reads of the aggregate indicators (issue 21)."""

    model_config = _GROUP_CONFIG

    min_count: int = Field(
        default=5,
        ge=1,
        le=1_000_000,
        description=(
            "Smallest count (calls, moves, declarations … behind a value) a cell of the open data"
            " is published with; below it the cell's figures are withheld (suppressed)."
        ),
    )
    licence: str = Field(
        default="CC-BY-4.0",
        pattern=r"^[A-Za-z0-9][A-Za-z0-9.+-]{0,63}$",
        description="Licence of the open data, as an SPDX identifier (every answer names it).",
    )
    licence_url: str = Field(
        default="https://creativecommons.org/licenses/by/4.0/",
        pattern=r"^https?://[!-~]{1,500}$",
        description="Where the licence's text is (every answer links it).",
    )
    attribution: str = Field(
        default="Port-community data hub of the Network: regional indicators",
        pattern=r"^[^\x00-\x1f\x7f]{1,300}$",
        description="The credit a reuser of the open data gives (every answer carries it).",
    )
    rate_per_s: float = Field(
        default=1.0,
        gt=0,
        le=100_000,
        description=(
            "Requests per second one client address may make to /v1/open/ (a token does not"
            " raise it)."
        ),
    )
    burst: int = Field(
        default=30,
        ge=1,
        le=1_000_000,
        description="Requests one client address may make to /v1/open/ at once.",
    )


class HubSettings(BaseModel):
    """Settings of every hub process (main job, worker, API, generator, tests).

    Built by :func:`load_settings` from the environment; tests give it values the same way
    (``load_settings({}, state_dir=..., kafka={"bootstrap": ...})``).
    """

    model_config = _GROUP_CONFIG

    state_dir: Path = Field(
        default=PROJECT_ROOT / ".hub",
        description="Folder for local state: broker jars and data, PostgreSQL cluster, logs.",
    )
    log_level: LogLevel = Field(default="info", description="Log level of every hub process.")
    kafka: KafkaSettings = Field(default_factory=KafkaSettings, description="Kafka.")
    database: DatabaseSettings = Field(default_factory=DatabaseSettings, description="PostgreSQL.")
    api: ApiSettings = Field(default_factory=ApiSettings, description="The HTTP API.")
    worker: WorkerSettings = Field(default_factory=WorkerSettings, description="The workers.")
    reference: ReferenceSettings = Field(
        default_factory=ReferenceSettings, description="Reference files."
    )
    rules: RulesSettings = Field(default_factory=RulesSettings, description="Rule thresholds.")
    generator: GeneratorSettings = Field(
        default_factory=GeneratorSettings, description="The traffic generator."
    )
    webhooks: WebhookSettings = Field(
        default_factory=WebhookSettings, description="Signed webhooks."
    )
    feedback: FeedbackSettings = Field(
        default_factory=FeedbackSettings, description="Feedback to each publisher."
    )
    open_data: OpenDataSettings = Field(
        default_factory=OpenDataSettings, description="The open data (/v1/open/)."
    )

    def topic(self, name: str) -> str:
        """The full name of one of the hub's topics, with this deployment's namespace."""
        return f"{self.kafka.topic_namespace}{name}"


GROUPS: dict[str, type[BaseModel]] = {
    "kafka": KafkaSettings,
    "database": DatabaseSettings,
    "api": ApiSettings,
    "worker": WorkerSettings,
    "reference": ReferenceSettings,
    "rules": RulesSettings,
    "generator": GeneratorSettings,
    "webhooks": WebhookSettings,
    "feedback": FeedbackSettings,
    "open_data": OpenDataSettings,
}

# The one table of environment variables: each one's name → where its value lives. Written out
# rather than derived (no nested delimiter), so that regrouping never renames what operators set;
# the order is the order `hub settings` lists them in.
VARIABLES: dict[str, str] = {
    "HUB_STATE_DIR": "state_dir",
    "HUB_LOG_LEVEL": "log_level",
    "HUB_KAFKA_BOOTSTRAP": "kafka.bootstrap",
    "HUB_KAFKA_PORT": "kafka.port",
    "HUB_KAFKA_CONTROLLER_PORT": "kafka.controller_port",
    "HUB_KAFKA_TENANT_PORT": "kafka.tenant_port",
    "HUB_KAFKA_TENANT_HOST": "kafka.tenant_host",
    "HUB_KAFKA_TENANT_BOOTSTRAP": "kafka.tenant_bootstrap",
    "HUB_KAFKA_HEAP_MB": "kafka.heap_mb",
    "HUB_TOPIC_NAMESPACE": "kafka.topic_namespace",
    "HUB_TOPIC_PARTITIONS": "kafka.topic_partitions",
    "HUB_TOPIC_REPLICATION_FACTOR": "kafka.topic_replication_factor",
    "HUB_SCHEMA_REGISTRY_URL": "kafka.schema_registry_url",
    "DATABASE_URL": "database.url",
    "HUB_POSTGRES_PORT": "database.port",
    "HUB_DATABASE_NAME": "database.name",
    "HUB_RETENTION_MONTHS": "database.retention_months",
    "HUB_HTTP_HOST": "api.http_host",
    "HUB_HTTP_PORT": "api.http_port",
    "HUB_CORS_ORIGINS": "api.cors_origins",
    "HUB_MAX_REQUEST_BYTES": "api.max_request_bytes",
    "HUB_RATE_LIMIT_PER_S": "api.rate_limit_per_s",
    "HUB_RATE_LIMIT_BURST": "api.rate_limit_burst",
    "HUB_WORKER_METRICS_PORT": "worker.metrics_port",
    "HUB_WORKER_ID": "worker.id",
    "HUB_WORKER_HEARTBEAT_S": "worker.heartbeat_s",
    "HUB_WORKER_BATCH_SIZE": "worker.batch_size",
    "HUB_WORKER_BATCH_WAIT_S": "worker.batch_wait_s",
    "HUB_PORTS_FILE": "reference.ports_file",
    "HUB_PORT_AREAS_FILE": "reference.port_areas_file",
    "HUB_AGREEMENTS_FILE": "reference.agreements_file",
    "HUB_CERTIFICATE_VALIDITY_DAYS": "rules.certificate_validity_days",
    "HUB_INDICATORS_INTERVAL_S": "worker.indicators_interval_s",
    "HUB_INDICATORS_MONTH_INTERVAL_S": "worker.indicators_month_interval_s",
    "HUB_INDICATORS_LONG_INTERVAL_S": "worker.indicators_long_interval_s",
    "HUB_INDICATORS_LONG_MAX_EVENTS": "worker.indicators_long_max_events",
    "HUB_MECHANISMS_FILE": "reference.mechanisms_file",
    "HUB_AIS_ARRIVAL_TOLERANCE_MIN": "rules.ais_arrival_tolerance_min",
    "HUB_LATE_GRACE_HOURS": "rules.late_grace_hours",
    "HUB_GENERATOR_ENABLED": "generator.enabled",
    "HUB_GENERATOR_RATE": "generator.rate",
    "HUB_GENERATOR_SCALE": "generator.scale",
    "HUB_GENERATOR_SEED": "generator.seed",
    "HUB_WEBHOOKS": "webhooks.enabled",
    "HUB_WEBHOOK_TIMEOUT_S": "webhooks.timeout_s",
    "HUB_WEBHOOK_RETRY_BASE_S": "webhooks.retry_base_s",
    "HUB_WEBHOOK_RETRY_MAX_S": "webhooks.retry_max_s",
    "HUB_WEBHOOK_PAUSE_AFTER": "webhooks.pause_after",
    "HUB_WEBHOOK_REFRESH_S": "webhooks.refresh_s",
    "HUB_WEBHOOK_POLL_S": "webhooks.poll_s",
    "HUB_WEBHOOK_ALLOW_PRIVATE": "webhooks.allow_private",
    "HUB_FEEDBACK": "feedback.enabled",
    "HUB_FEEDBACK_RETENTION_DAYS": "feedback.retention_days",
    "HUB_OPEN_DATA_MIN_COUNT": "open_data.min_count",
    "HUB_OPEN_DATA_LICENCE": "open_data.licence",
    "HUB_OPEN_DATA_LICENCE_URL": "open_data.licence_url",
    "HUB_OPEN_DATA_ATTRIBUTION": "open_data.attribution",
    "HUB_OPEN_DATA_RATE_PER_S": "open_data.rate_per_s",
    "HUB_OPEN_DATA_BURST": "open_data.burst",
}

_VARIABLE_OF = {path: name for name, path in VARIABLES.items()}


def env_name(path: str) -> str:
    """The environment variable that sets the setting at ``path`` (``"kafka.bootstrap"``)."""
    return _VARIABLE_OF[path]


def setting_names() -> list[str]:
    """Every environment variable the hub reads, in the order `hub settings` lists them."""
    return list(VARIABLES)


def setting_field(path: str) -> FieldInfo:
    """The declaration (type, default, description) of the setting at ``path``."""
    group, _, field = path.rpartition(".")
    model: type[BaseModel] = GROUPS[group] if group else HubSettings
    return model.model_fields[field]


def setting_value(settings: HubSettings, path: str) -> Any:
    """The value of the setting at ``path`` (``"api.http_port"``) in ``settings``."""
    return functools.reduce(getattr, path.split("."), settings)


def load_settings(environ: Mapping[str, str] | None = None, **overrides: object) -> HubSettings:
    """Read the settings from ``environ`` (default: the process environment).

    ``overrides`` take precedence over the environment: a top-level setting by its name
    (``state_dir=...``), a group's settings as a mapping merged over that group's variables
    (``kafka={"bootstrap": "broker:9092"}``).

    Raises:
        ConfigError: one line naming the first bad variable and why it is bad.
    """
    env = os.environ if environ is None else environ
    _reject_unknown_variables(env)
    given: dict[str, object] = {}  # path → the value as given, for the error line
    for name, path in VARIABLES.items():
        if name in env:
            given[path] = env[name]
    for key, value in overrides.items():
        if key in GROUPS and isinstance(value, Mapping):
            given.update({f"{key}.{field}": item for field, item in value.items()})
        else:
            given[key] = value
    values: dict[str, Any] = {}
    for path, value in given.items():
        group, _, field = path.rpartition(".")
        if group:
            values.setdefault(group, {})[field] = value
        else:
            values[field] = value
    try:
        # Values come in explicitly, so no second read of os.environ behind our back.
        return HubSettings.model_validate(values)
    except ValidationError as error:
        first = error.errors()[0]
        path = _path_of(first["loc"])
        reason = first["msg"].removeprefix("Value error, ")
        shown = given.get(path, "")
        raise ConfigError(
            f"bad setting {_VARIABLE_OF.get(path, path)}={shown!s}: {reason}"
        ) from None


def _path_of(location: tuple[int | str, ...]) -> str:
    parts = [str(part) for part in location]
    if not parts:
        return "?"
    return ".".join(parts[:2]) if parts[0] in GROUPS else parts[0]


def _reject_unknown_variables(env: Mapping[str, str]) -> None:
    known = set(VARIABLES)
    for name in sorted(env):
        if name.startswith(ENV_PREFIX) and name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise ConfigError(f"unknown setting {name}{hint}; see `hub settings` for the list")
