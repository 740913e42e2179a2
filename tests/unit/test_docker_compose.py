"""docker-compose.yml cannot run here; check that it parses and speaks the hub's settings."""

from __future__ import annotations

from typing import Any

import yaml

from hub.settings import PROJECT_ROOT, load_settings, setting_names

COMPOSE = PROJECT_ROOT / "docker-compose.yml"
HUB_SERVICES = ("worker", "api", "generator", "edifact", "ais")


def compose() -> dict[str, Any]:
    document = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(document, dict)
    return document


def test_the_stack_has_every_part() -> None:
    services = compose()["services"]
    assert {"kafka", "postgres", "worker", "api", "prometheus", "grafana"} <= set(services)
    assert services["kafka"]["image"].startswith("apache/kafka:4.")
    assert services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert services["worker"]["command"] == ["hub", "worker"]
    assert services["api"]["command"] == ["hub", "api"]


def test_hub_services_set_only_settings_the_hub_reads() -> None:
    known = set(setting_names())
    for name in HUB_SERVICES:
        environment = compose()["services"][name]["environment"]
        assert set(environment) <= known, f"{name}: {set(environment) - known}"
        assert {"HUB_KAFKA_BOOTSTRAP", "DATABASE_URL"} <= set(environment)


def test_hub_services_settings_are_valid_values() -> None:
    for name in HUB_SERVICES:
        environment = {
            key: str(value).replace("${POSTGRES_PASSWORD}", "secret")
            for key, value in compose()["services"][name]["environment"].items()
            if key != "HUB_STATE_DIR"
        }
        settings = load_settings(environment)
        assert settings.kafka.bootstrap == "kafka:9092"
        assert settings.database.url is not None
        assert "@postgres:5432/" in settings.database.url


def test_mounted_monitoring_files_exist() -> None:
    for service in ("prometheus", "grafana"):
        for volume in compose()["services"][service].get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("./"):
                assert (PROJECT_ROOT / source).exists(), f"{service} mounts missing {source}"


def test_tenants_reach_the_broker_only_through_sasl_and_the_acls() -> None:
    kafka = compose()["services"]["kafka"]
    environment = kafka["environment"]
    protocols = dict(
        pair.split(":") for pair in environment["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(",")
    )
    assert protocols["TENANTS"] == "SASL_PLAINTEXT"
    assert environment["KAFKA_LISTENER_NAME_TENANTS_SASL_ENABLED_MECHANISMS"] == "SCRAM-SHA-512"
    assert environment["KAFKA_AUTHORIZER_CLASS_NAME"].endswith(".StandardAuthorizer")
    assert environment["KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND"] == "false"
    # Only the tenant listener leaves the compose network; the super user's stays inside.
    assert kafka["ports"] == ["9094:9094"]
