"""Reference ports and agreements: the bundled files load, and a broken file names its line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from connectors.traffic_profiles import AGREEMENTS
from hub.domain.reference import (
    BUNDLED_AGREEMENTS_FILE,
    BUNDLED_PORTS_FILE,
    load_agreements,
    load_ports,
)
from hub.errors import ConfigError


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
        ("unlocode,name,country,lat,lon,berths\nPECLL,Callao,PE,-12.05,-77.15,0\n", ":2: berths"),
        (
            "unlocode,name,country,lat,lon,berths\nPECLL,Callao,PE,-12.05,-77.15,many\n",
            ":2: invalid",
        ),
    ],
)
def test_a_broken_ports_file_names_the_problem(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "ports.csv"
    path.write_text(content)
    with pytest.raises(ConfigError, match=message):
        load_ports(path)


def test_berths_are_an_optional_column(tmp_path: Path) -> None:
    assert {port.unlocode: port.berths for port in load_ports(BUNDLED_PORTS_FILE)}["PECLL"] == 7
    assert all((port.berths or 0) >= 1 for port in load_ports(BUNDLED_PORTS_FILE))
    without = tmp_path / "without.csv"
    without.write_text("unlocode,name,country,lat,lon\nPECLL,Callao,PE,-12.05,-77.15\n")
    assert [port.berths for port in load_ports(without)] == [None]
    empty_cell = tmp_path / "empty.csv"
    empty_cell.write_text("unlocode,name,country,lat,lon,berths\nPECLL,Callao,PE,-12.05,-77.15,\n")
    assert [port.berths for port in load_ports(empty_cell)] == [None]


def test_the_bundled_agreements_cover_every_agreement_the_generator_invokes() -> None:
    agreements = {
        agreement.code: agreement for agreement in load_agreements(BUNDLED_AGREEMENTS_FILE)
    }
    assert set(AGREEMENTS.values()) <= agreements.keys()
    assert agreements["A18"].schedule == ()  # MERCOSUR: every HS code
    assert agreements["A24"].validity_days == 365
    assert agreements["A08"].covers("080610") and not agreements["A08"].covers("170114")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("code,name\nA18,MERCOSUR\n", "header must be code,name,validity_days,schedule"),
        ("code,name,validity_days,schedule\nA-18,MERCOSUR,,\n", ":2: bad agreement code 'A-18'"),
        ("code,name,validity_days,schedule\nA18,MERCOSUR,half a year,\n", ":2: validity_days"),
        ("code,name,validity_days,schedule\nA18,MERCOSUR,,08 fruit\n", ":2: schedule entries must be HS digits: 'fruit'"),
        ("code,name,validity_days,schedule\nA18,M,,\nA18,M,,\n", "appears twice"),
    ],
)  # fmt: skip
def test_a_broken_agreements_file_names_the_problem(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "agreements.csv"
    path.write_text(content)
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_agreements(path)
