"""The hub's settings, declared once: type, default, environment variable and meaning.

Every setting is read from an environment variable named ``HUB_<FIELD>`` (``DATABASE_URL``
for the database). A malformed value, or a ``HUB_*`` variable that names no setting, stops the
hub with one line that names the variable and says why (:class:`hub.errors.ConfigError`).
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

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


class HubSettings(BaseSettings):
    """Settings of every hub process (main job, worker, API, generator, tests)."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        case_sensitive=False,
        extra="forbid",
        frozen=True,
    )

    state_dir: Path = Field(
        default=PROJECT_ROOT / ".hub",
        description="Folder for local state: broker jars and data, PostgreSQL cluster, logs.",
    )
    log_level: LogLevel = Field(default="info", description="Log level of every hub process.")

    kafka_bootstrap: str | None = Field(
        default=None,
        description=(
            "host:port[,host:port] of an existing Kafka cluster. Unset: the hub fetches, "
            "formats and starts a local single-node KRaft broker."
        ),
    )
    kafka_port: int = Field(
        default=9092, ge=1, le=65535, description="Client port of the local broker (127.0.0.1)."
    )
    kafka_controller_port: int = Field(
        default=9093, ge=1, le=65535, description="KRaft controller port of the local broker."
    )
    kafka_tenant_port: int = Field(
        default=9094,
        ge=1,
        le=65535,
        description=(
            "Port of the local broker's SASL/SCRAM listener, where ports and customs authorities"
            " connect with the credentials of `hub tenants`."
        ),
    )
    kafka_tenant_host: str = Field(
        default="127.0.0.1",
        pattern=r"^[A-Za-z0-9.-]+$",
        description=(
            "Address the local broker's tenant listener binds to and gives tenants (a name or"
            " address other machines reach it by, not 0.0.0.0)."
        ),
    )
    kafka_tenant_bootstrap: str | None = Field(
        default=None,
        description=(
            "host:port[,host:port] of the SASL listener tenants use on an existing cluster"
            " (HUB_KAFKA_BOOTSTRAP); unset: the local broker's tenant listener."
        ),
    )
    kafka_heap_mb: int = Field(
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
    database_url: str | None = Field(
        default=None,
        description=(
            "postgresql:// URL of an existing database. Unset and no PG* variables: the hub "
            "starts a local PostgreSQL cluster under state_dir."
        ),
    )
    postgres_port: int = Field(
        default=55432, ge=1, le=65535, description="Port of the local PostgreSQL cluster."
    )
    database_name: str = Field(
        default="hub",
        pattern=r"^[a-z_][a-z0-9_]{0,62}$",
        description="Database the hub creates and uses on the local PostgreSQL cluster.",
    )

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
    worker_metrics_port: int = Field(
        default=9100,
        ge=0,
        le=65535,
        description=(
            "Port of a worker's Prometheus metrics (/metrics, on HUB_HTTP_HOST); 0 turns them "
            "off. The API serves its own at <API>/metrics."
        ),
    )

    worker_id: str = Field(
        default="port-hub",
        pattern=r"^[A-Za-z0-9._-]+$",
        description="faust application id: the workers' consumer group and table prefix.",
    )
    worker_heartbeat_s: float = Field(
        default=5.0, gt=0, le=300, description="How often a worker reports it is alive."
    )
    worker_batch_size: int = Field(
        default=500, ge=1, le=100_000, description="Events a worker writes per database round."
    )
    kpi_flush_interval_s: float = Field(
        default=1.0,
        ge=0.05,
        le=60,
        description=(
            "A worker recomputes the KPIs of the entities whose events changed at most this"
            " often: the longer, the more events each recomputation covers, the later KPIs"
            " appear."
        ),
    )

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
    certificate_validity_days: int = Field(
        default=180,
        ge=1,
        le=3650,
        description=(
            "Days a certificate of origin stays valid after its CertificateDate when it gives no "
            "validity period and its agreement sets none (SPEC: default 180)."
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
    mechanisms_file: Path = Field(
        default=BUNDLED_MECHANISMS_FILE,
        description=(
            "CSV of the integration mechanisms (mechanism,name,member_countries), the level "
            "between country and region of the indicators."
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

    late_grace_hours: float = Field(
        default=168.0,
        gt=0,
        le=24 * 3650,
        description=(
            "How late an event may arrive (event time before now) and still count; later ones "
            "are dead-lettered as TOO_LATE. Raise it to replay history."
        ),
    )

    generator_enabled: bool = Field(
        default=True, description="Whether the main job runs the traffic generator."
    )
    generator_rate: float = Field(
        default=100.0, gt=0, le=100_000, description="Events per second the generator publishes."
    )
    generator_scale: float = Field(
        default=0.1,
        gt=0,
        le=10,
        description=(
            "Volume of the generated traffic: container moves per call are multiplied by it; 1 "
            "is the region's (about 270,000 events a day at the 28 reference ports)."
        ),
    )
    generator_seed: int | None = Field(
        default=None, description="Seed of the generator; unset: a new sequence every run."
    )

    @field_validator("database_url")
    @classmethod
    def _database_url_is_postgres(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("postgresql://", "postgres://")):
            raise ValueError("must start with postgresql:// (or postgres://)")
        return value or None

    @field_validator("schema_registry_url")
    @classmethod
    def _registry_url_is_http(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value or None

    @field_validator("kafka_tenant_host")
    @classmethod
    def _reachable_host(cls, value: str) -> str:
        if value in ("0.0.0.0", "::"):
            raise ValueError(
                "is the address tenants are given, so it must be reachable, not 0.0.0.0"
            )
        return value

    @field_validator("kafka_bootstrap", "kafka_tenant_bootstrap")
    @classmethod
    def _bootstrap_is_host_port_list(cls, value: str | None) -> str | None:
        if not value:
            return None
        for server in value.split(","):
            host, _, port = server.strip().rpartition(":")
            if not host or not port.isdigit() or not 0 < int(port) < 65536:
                raise ValueError(f"{server!r} is not host:port")
        return value

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

    @field_validator("ports_file", "agreements_file", "mechanisms_file", "port_areas_file")
    @classmethod
    def _file_exists(cls, value: Path) -> Path:
        if not value.is_file():
            raise ValueError(f"file {value} does not exist")
        return value

    @property
    def uses_local_kafka(self) -> bool:
        return self.kafka_bootstrap is None

    @property
    def tenant_bootstrap(self) -> str | None:
        """Where tenants connect with SASL/SCRAM: the configured listener, or the local one."""
        if self.kafka_tenant_bootstrap:
            return self.kafka_tenant_bootstrap
        if self.uses_local_kafka:
            return f"{self.kafka_tenant_host}:{self.kafka_tenant_port}"
        return None

    def topic(self, name: str) -> str:
        """The full name of one of the hub's topics, with this deployment's namespace."""
        return f"{self.topic_namespace}{name}"


def env_name(field: str) -> str:
    """The environment variable that sets ``field``."""
    if field == "database_url":
        return "DATABASE_URL"
    return f"{ENV_PREFIX}{field.upper()}"


def setting_names() -> list[str]:
    """Every environment variable the hub reads, in declaration order."""
    return [env_name(field) for field in HubSettings.model_fields]


def load_settings(environ: Mapping[str, str] | None = None, **overrides: object) -> HubSettings:
    """Read the settings from ``environ`` (default: the process environment).

    Raises:
        ConfigError: one line naming the first bad variable and why it is bad.
    """
    env = os.environ if environ is None else environ
    _reject_unknown_variables(env)
    values: dict[str, object] = {}
    for field in HubSettings.model_fields:
        name = env_name(field)
        if name in env:
            values[field] = env[name]
    values.update(overrides)
    try:
        # Values come in explicitly, so no second read of os.environ behind our back.
        return HubSettings.model_validate(values)
    except ValidationError as error:
        first = error.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else "?"
        shown = values.get(field, "")
        reason = first["msg"].removeprefix("Value error, ")
        raise ConfigError(f"bad setting {env_name(field)}={shown!s}: {reason}") from None


def _reject_unknown_variables(env: Mapping[str, str]) -> None:
    known = set(setting_names())
    for name in sorted(env):
        if name.startswith(ENV_PREFIX) and name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise ConfigError(f"unknown setting {name}{hint}; see `hub settings` for the list")
