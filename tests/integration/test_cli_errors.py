"""Bad configuration ends `hub run` with one clear line and a non-zero status."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

from hub.settings import PROJECT_ROOT
from tests.integration.helpers import Services, free_port, hub_environment


def run_hub(environment: dict[str, str], timeout_s: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hub", "run"],
        env=hub_environment(**environment),
        capture_output=True,
        text=True,
        timeout=timeout_s,
        cwd=PROJECT_ROOT,
        check=False,
    )


def the_one_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = (result.stdout + result.stderr).strip().splitlines()
    assert len(lines) == 1, f"expected one line, got:\n{result.stdout}{result.stderr}"
    assert lines[0].startswith("hub: error: ")
    return lines[0]


def test_an_unknown_setting_value_names_the_variable(tmp_path: Path) -> None:
    result = run_hub({"HUB_LOG_LEVEL": "verbose", "HUB_STATE_DIR": str(tmp_path)})
    assert result.returncode == 2
    line = the_one_line(result)
    assert "HUB_LOG_LEVEL=verbose" in line
    assert "'debug', 'info', 'warning' or 'error'" in line


def test_a_misspelt_setting_is_refused_with_a_suggestion(tmp_path: Path) -> None:
    result = run_hub({"HUB_KAFKA_PROT": "9092", "HUB_STATE_DIR": str(tmp_path)})
    assert result.returncode == 2
    assert "unknown setting HUB_KAFKA_PROT (did you mean HUB_KAFKA_PORT?)" in the_one_line(result)


def test_an_unreachable_database_url_is_named_without_its_password(
    services: Services, tmp_path: Path
) -> None:
    dead = free_port()
    result = run_hub(
        {
            "HUB_KAFKA_BOOTSTRAP": services.bootstrap,
            "DATABASE_URL": f"postgresql://hub:s3cret@127.0.0.1:{dead}/hub",
            "HUB_STATE_DIR": str(tmp_path),
            "HUB_HTTP_PORT": str(free_port()),
        }
    )
    assert result.returncode == 1
    line = the_one_line(result)
    assert f"cannot reach PostgreSQL at postgresql://hub:***@127.0.0.1:{dead}/hub" in line
    assert "(DATABASE_URL)" in line
    assert "s3cret" not in line


def test_an_unreachable_kafka_bootstrap_is_named(tmp_path: Path) -> None:
    dead = free_port()
    result = run_hub(
        {
            "HUB_KAFKA_BOOTSTRAP": f"127.0.0.1:{dead}",
            "HUB_STATE_DIR": str(tmp_path),
            "HUB_HTTP_PORT": str(free_port()),
        }
    )
    assert result.returncode == 1
    assert f"cannot reach Kafka at 127.0.0.1:{dead} (HUB_KAFKA_BOOTSTRAP)" in the_one_line(result)


def test_a_taken_kafka_port_stops_the_main_job(tmp_path: Path) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        result = run_hub(
            {
                "HUB_KAFKA_PORT": str(taken),
                "HUB_KAFKA_CONTROLLER_PORT": str(free_port()),
                "HUB_KAFKA_TENANT_PORT": str(free_port()),
                "HUB_STATE_DIR": str(tmp_path),
                "HUB_HTTP_PORT": str(free_port()),
            }
        )
    assert result.returncode == 1
    line = the_one_line(result)
    assert f"port {taken} (HUB_KAFKA_PORT) on 127.0.0.1 is already in use" in line


def test_a_taken_http_port_stops_the_main_job_before_anything_starts(tmp_path: Path) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        result = run_hub({"HUB_HTTP_PORT": str(taken), "HUB_STATE_DIR": str(tmp_path)})
    assert result.returncode == 2
    assert f"port {taken} (HUB_HTTP_PORT)" in the_one_line(result)
    assert not (tmp_path / "kafka").exists(), "nothing should start when the API cannot"
