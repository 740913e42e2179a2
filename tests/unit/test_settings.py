"""Settings: defaults, environment variables, and one clear line for every bad value."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from hub.domain.reference import BUNDLED_PORTS_FILE
from hub.errors import ConfigError
from hub.settings import (
    GROUPS,
    VARIABLES,
    HubSettings,
    env_name,
    load_settings,
    setting_field,
    setting_names,
)


def test_defaults_describe_a_local_hub() -> None:
    settings = load_settings({})
    assert settings.kafka.uses_local
    assert settings.database.url is None
    assert settings.kafka.port == 9092
    assert settings.api.http_host == "127.0.0.1"
    assert settings.reference.ports_file == BUNDLED_PORTS_FILE
    assert settings.topic("ingest.vessel") == "ingest.vessel"
    assert settings.open_data.min_count == 5
    assert settings.open_data.licence == "CC-BY-4.0"


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
    assert settings.kafka.bootstrap == "broker-1:9092,broker-2:9092"
    assert not settings.kafka.uses_local
    assert settings.database.url == "postgresql://hub:pw@db:5432/hub"
    assert settings.api.http_port == 9000
    assert settings.generator.enabled is False
    assert settings.state_dir == tmp_path
    assert settings.topic("ingest.vessel") == "staging.ingest.vessel"


def test_every_field_has_a_variable_and_a_description() -> None:
    names = setting_names()
    top_level = [field for field in HubSettings.model_fields if field not in GROUPS]
    grouped = [
        f"{group}.{field}" for group, model in GROUPS.items() for field in model.model_fields
    ]
    fields = top_level + grouped
    assert len(names) == len(set(names)) == len(fields) == len(set(VARIABLES.values()))
    assert set(VARIABLES.values()) == set(fields)
    assert env_name("database.url") == "DATABASE_URL"
    assert all(name.startswith("HUB_") for name in names if name != "DATABASE_URL")
    assert all(setting_field(path).description for path in fields)


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
        ("HUB_OPEN_DATA_MIN_COUNT", "0", "Input should be greater than or equal to 1"),
        ("HUB_OPEN_DATA_MIN_COUNT", "five", "Input should be a valid integer"),
        ("HUB_OPEN_DATA_LICENCE_URL", "ftp://licence", "String should match pattern"),
        ("HUB_OPEN_DATA_RATE_PER_S", "-1", "Input should be greater than 0"),
        ("HUB_INDICATORS_LONG_MAX_EVENTS", "0", "Input should be greater than or equal to 1"),
        ("HUB_INDICATORS_LONG_INTERVAL_S", "0", "Input should be greater than 0"),
        ("HUB_INDICATORS_LONG_INTERVAL_S", "604801", "Input should be less than or equal to"),
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
    assert settings.api.http_port == 8080


def test_the_variables_keep_their_names_whatever_the_groups() -> None:
    settings = load_settings(
        {
            "HUB_KAFKA_PORT": "19092",
            "HUB_WORKER_ID": "hub-b",
            "HUB_LATE_GRACE_HOURS": "2",
            "HUB_MECHANISMS_FILE": str(BUNDLED_PORTS_FILE),
            "HUB_GENERATOR_SEED": "7",
        }
    )
    assert settings.kafka.port == 19092
    assert settings.worker.id == "hub-b"
    assert settings.rules.late_grace_hours == 2
    assert settings.reference.mechanisms_file == BUNDLED_PORTS_FILE
    assert settings.generator.seed == 7
    assert env_name("kafka.port") == "HUB_KAFKA_PORT"
    assert env_name("worker.metrics_port") == "HUB_WORKER_METRICS_PORT"


def test_a_group_given_in_code_keeps_the_rest_of_its_variables(tmp_path: Path) -> None:
    settings = load_settings(
        {"HUB_KAFKA_BOOTSTRAP": "broker:9092", "HUB_TOPIC_PARTITIONS": "3"},
        state_dir=tmp_path,
        kafka={"topic_namespace": "test."},
    )
    assert settings.state_dir == tmp_path
    assert settings.kafka.bootstrap == "broker:9092"
    assert settings.kafka.topic_partitions == 3
    assert settings.topic("ingest.vessel") == "test.ingest.vessel"


def test_a_bad_value_given_in_code_names_its_variable() -> None:
    with pytest.raises(ConfigError, match=r"^bad setting HUB_WORKER_BATCH_SIZE=0: "):
        load_settings({}, worker={"batch_size": 0})


def test_a_flat_name_given_in_code_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"^bad setting kafka_port=1: Extra inputs"):
        load_settings({}, kafka_port=1)


def test_settings_are_frozen() -> None:
    settings = load_settings({})
    with pytest.raises(ValidationError):
        settings.kafka.port = 1
