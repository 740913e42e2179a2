"""Reference ports: the bundled file loads, and a broken file names its line."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.errors import ConfigError
from hub.reference import load_ports
from hub.settings import BUNDLED_PORTS_FILE


def test_the_bundled_ports_are_28_communities_in_14_countries() -> None:
    ports = load_ports(BUNDLED_PORTS_FILE)
    assert len(ports) == 28
    assert len({port.country for port in ports}) == 14
    assert len({port.unlocode for port in ports}) == 28


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("code,name\nPECLL,Callao\n", "header must be"),
        ("unlocode,name,country,lat,lon\nPECLL,Callao,PE,north,-77.1\n", ":2: could not convert"),
        ("unlocode,name,country,lat,lon\nPECLL,Callao,CL,-12.05,-77.15\n", ":2: bad UN/LOCODE"),
        ("unlocode,name,country,lat,lon\nPECLL,Callao,PE,-112.05,-77.15\n", ":2: coordinates"),
        ("unlocode,name,country,lat,lon\n", "no ports"),
    ],
)
def test_a_broken_ports_file_names_the_problem(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "ports.csv"
    path.write_text(content)
    with pytest.raises(ConfigError, match=message):
        load_ports(path)
