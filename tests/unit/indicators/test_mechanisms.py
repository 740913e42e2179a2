"""The integration mechanisms file: the bundled one loads, and a broken one names its line."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub import settings
from hub.domain.indicators.mechanisms import BUNDLED_MECHANISMS_FILE, load_mechanisms
from hub.errors import ConfigError

HEADER = "mechanism,name,member_countries\n"


def test_the_bundled_file_has_the_five_mechanisms() -> None:
    mechanisms = load_mechanisms(BUNDLED_MECHANISMS_FILE)
    assert sorted(mechanisms) == ["CAN", "CARICOM", "MERCOSUR", "PA", "SICA"]
    assert mechanisms["PA"].countries == {"CL", "CO", "MX", "PE"}
    assert mechanisms["CAN"].name == "Andean Community"
    assert {code for code, m in mechanisms.items() if "CO" in m.countries} == {"CAN", "PA"}
    assert BUNDLED_MECHANISMS_FILE.parent.name == "reference"
    assert BUNDLED_MECHANISMS_FILE.parent.parent.name == "domain"


def test_the_setting_defaults_to_the_bundled_file() -> None:
    """The setting names the domain's bundled file."""
    assert settings.setting_field("reference.mechanisms_file").default == BUNDLED_MECHANISMS_FILE


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            "code,name,countries\nPA,Pacific Alliance,CL\n",
            "header must be mechanism,name,member_countries",
        ),
        (HEADER, "no mechanisms"),
        (HEADER + "PA,Pacific Alliance,CL CO\npa,Lower,CL\n", ":3: bad mechanism code 'pa'"),
        (
            HEADER + "PA,Pacific Alliance,CL CO\nCAN,Andean Community,BO Colombia\n",
            ":3: bad ISO 3166-1 alpha-2 country code 'Colombia'",
        ),
        (HEADER + "PA,Pacific Alliance,CL\nPA,Again,PE\n", ":3: mechanism PA appears twice"),
        (HEADER + "PA,,CL\n", ":2: mechanism PA has no name"),
        (HEADER + "PA,Pacific Alliance,\n", ":2: mechanism PA has no member countries"),
        (HEADER + "PA,Pacific Alliance,CL CL\n", ":2: mechanism PA lists a country twice"),
        (HEADER + "PA,Pacific Alliance\n", ":2: fewer than 3 fields"),
        (HEADER + "PA,Pacific Alliance,CL,extra\n", ":2: more than 3 fields"),
    ],
)
def test_a_broken_file_names_the_line(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "mechanisms.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load_mechanisms(path)
    assert str(raised.value).startswith(str(path))
    assert message in str(raised.value)


def test_a_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_mechanisms(tmp_path / "absent.csv")
