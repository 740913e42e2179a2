"""Settings: defaults, environment variables, and one clear line for every bad value."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.domain.reference import BUNDLED_PORTS_FILE
from hub.errors import ConfigError
from hub.settings import HubSettings, env_name, load_settings, setting_names


def test_defaults_describe_a_local_hub() -> None:
    settings = load_settings({})
    assert settings.uses_local_kafka
    assert settings.database_url is None
    assert settings.kafka_port == 9092
    assert settings.http_host == "127.0.0.1"
    assert settings.ports_file == BUNDLED_PORTS_FILE
    assert settings.topic("ingest.vessel") == "ingest.vessel"


def test_values_come_from_their_variables(tmp_path: Path) -> None:
    settings = load_settings(
        {
            "HUB_KAFKA_BOOTSTRAP": "broker-1:9092,broker-2:9092",
            "DATABASE_URL": "postgresql://hub:pw@db:5432/hub",
            "HUB_HTTP_PORT": "9000",
            "HUB_TOPIC_NAMESPACE": "staging.",
            "HUB_GENERATOR_ENABLED": "false",
            "HUB_STATE_DIR": str(tmp_path),
        }
    )
    assert settings.kafka_bootstrap == "broker-1:9092,broker-2:9092"
    assert not settings.uses_local_kafka
    assert settings.database_url == "postgresql://hub:pw@db:5432/hub"
    assert settings.http_port == 9000
    assert settings.generator_enabled is False
    assert settings.state_dir == tmp_path
    assert settings.topic("ingest.vessel") == "staging.ingest.vessel"


def test_every_field_has_a_variable_and_a_description() -> None:
    names = setting_names()
    assert len(names) == len(set(names)) == len(HubSettings.model_fields)
    assert env_name("database_url") == "DATABASE_URL"
    assert all(name.startswith("HUB_") for name in names if name != "DATABASE_URL")
    assert all(field.description for field in HubSettings.model_fields.values())


@pytest.mark.parametrize(
    ("variable", "value", "reason"),
    [
        ("HUB_HTTP_PORT", "eighty", "Input should be a valid integer"),
        ("HUB_HTTP_PORT", "70000", "Input should be less than or equal to 65535"),
        ("HUB_LOG_LEVEL", "loud", "Input should be 'debug', 'info', 'warning' or 'error'"),
        ("DATABASE_URL", "mysql://db/hub", "must start with postgresql://"),
        ("HUB_KAFKA_BOOTSTRAP", "broker", "'broker' is not host:port"),
        ("HUB_PORTS_FILE", "/nowhere/ports.csv", "file /nowhere/ports.csv does not exist"),
        ("HUB_TOPIC_NAMESPACE", "a b", "String should match pattern"),
        ("HUB_GENERATOR_RATE", "0", "Input should be greater than 0"),
    ],
)
def test_a_bad_value_is_one_line_naming_the_variable(
    variable: str, value: str, reason: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings({variable: value})
    message = str(raised.value)
    assert message.startswith(f"bad setting {variable}={value}: {reason}")
    assert "\n" not in message


def test_a_misspelt_variable_is_refused_with_the_likely_one() -> None:
    with pytest.raises(
        ConfigError, match=r"unknown setting HUB_HTTP_PROT \(did you mean HUB_HTTP_PORT\?\)"
    ):
        load_settings({"HUB_HTTP_PROT": "8080"})


def test_variables_of_other_programs_are_ignored() -> None:
    settings = load_settings({"PATH": "/bin", "KAFKA_HEAP_OPTS": "-Xmx1g", "HUBBLE": "1"})
    assert settings.http_port == 8080
