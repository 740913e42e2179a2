"""The regional integration mechanisms: the third level of the indicators (SPEC §4).

The file is ``hub/domain/reference/mechanisms.csv`` unless the hub is told otherwise: one mechanism
a line, ``mechanism,name,member_countries``, the members as space-separated ISO 3166-1 alpha-2
codes (``PA,Pacific Alliance,CL CO MX PE``). A country may belong to several mechanisms.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Final

from hub.domain.indicators.model import Mechanism
from hub.domain.reference import BUNDLED_MECHANISMS_FILE
from hub.errors import ConfigError

__all__ = ["BUNDLED_MECHANISMS_FILE", "load_mechanisms"]

# PA, CAN, MERCOSUR, SICA, CARICOM: the file ships with the other reference data
# (hub.domain.reference); the setting's default (hub.settings) is the same path.

_COLUMNS: Final = ("mechanism", "name", "member_countries")
_CODE: Final = re.compile(r"^[A-Z][A-Z0-9]{1,15}$")
_COUNTRY: Final = re.compile(r"^[A-Z]{2}$")


def load_mechanisms(path: Path) -> dict[str, Mechanism]:
    """Read a mechanisms CSV (``mechanism,name,member_countries``) into mechanisms by code.

    A code is 2 to 16 capitals or digits starting with a capital; the name must not be empty;
    the members are at least one ISO 3166-1 alpha-2 code, each once.

    Raises:
        ConfigError: the file cannot be read, its header is not the one above, it has no
            mechanism, or a line is malformed or repeats a code (the message names the line).
    """
    mechanisms: dict[str, Mechanism] = {}
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            if tuple(reader.fieldnames or ()) != _COLUMNS:
                raise ConfigError(f"{path}: header must be {','.join(_COLUMNS)}")
            for line, row in enumerate(reader, start=2):
                mechanism = _mechanism(row, f"{path}:{line}")
                if mechanism.code in mechanisms:
                    raise ConfigError(f"{path}:{line}: mechanism {mechanism.code} appears twice")
                mechanisms[mechanism.code] = mechanism
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot read the mechanisms: {error}") from None
    if not mechanisms:
        raise ConfigError(f"{path}: no mechanisms")
    return mechanisms


def _mechanism(row: dict[str | None, str | list[str] | None], where: str) -> Mechanism:
    if None in row:
        raise ConfigError(f"{where}: more than {len(_COLUMNS)} fields")
    code, name, members = (row.get(column) for column in _COLUMNS)
    if not isinstance(code, str) or not isinstance(name, str) or not isinstance(members, str):
        raise ConfigError(f"{where}: fewer than {len(_COLUMNS)} fields")
    code, name, countries = code.strip(), name.strip(), members.split()
    if not _CODE.match(code):
        raise ConfigError(f"{where}: bad mechanism code {code!r}")
    if not name:
        raise ConfigError(f"{where}: mechanism {code} has no name")
    if not countries:
        raise ConfigError(f"{where}: mechanism {code} has no member countries")
    if bad := [country for country in countries if not _COUNTRY.match(country)]:
        raise ConfigError(f"{where}: bad ISO 3166-1 alpha-2 country code {bad[0]!r}")
    if len(set(countries)) != len(countries):
        raise ConfigError(f"{where}: mechanism {code} lists a country twice")
    return Mechanism(code=code, name=name, countries=frozenset(countries))
