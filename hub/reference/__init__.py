"""Reference data the hub ships with: the default ports (and, later, integration mechanisms)."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from hub.errors import ConfigError

_UNLOCODE = re.compile(r"^[A-Z]{2}[A-Z2-9]{3}$")
_COLUMNS = ("unlocode", "name", "country", "lat", "lon")


@dataclass(frozen=True, slots=True)
class Port:
    unlocode: str
    name: str
    country: str
    lat: float
    lon: float


def load_ports(path: Path) -> list[Port]:
    """Read a ports CSV (unlocode,name,country,lat,lon). Raises ConfigError naming the line."""
    ports: list[Port] = []
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if tuple(reader.fieldnames or ()) != _COLUMNS:
            raise ConfigError(f"{path}: header must be {','.join(_COLUMNS)}")
        for line, row in enumerate(reader, start=2):
            try:
                port = Port(
                    unlocode=row["unlocode"].strip(),
                    name=row["name"].strip(),
                    country=row["country"].strip(),
                    lat=float(row["lat"]),
                    lon=float(row["lon"]),
                )
            except (TypeError, ValueError) as error:
                raise ConfigError(f"{path}:{line}: {error}") from None
            if not _UNLOCODE.match(port.unlocode) or port.unlocode[:2] != port.country:
                raise ConfigError(f"{path}:{line}: bad UN/LOCODE {port.unlocode!r}")
            if not (-90 <= port.lat <= 90 and -180 <= port.lon <= 180):
                raise ConfigError(f"{path}:{line}: coordinates out of range")
            ports.append(port)
    if not ports:
        raise ConfigError(f"{path}: no ports")
    return ports
