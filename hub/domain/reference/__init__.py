"""Reference data the hub ships with: the default ports, their areas, the trade agreements and the
integration mechanisms. The files sit next to this module; settings may name others."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from hub.domain.certificates.issuer_registry import Agreement
from hub.errors import ConfigError

BUNDLED_PORTS_FILE = Path(__file__).resolve().parent / "ports.csv"
BUNDLED_PORT_AREAS_FILE = Path(__file__).resolve().parent / "port_areas.json"
BUNDLED_AGREEMENTS_FILE = Path(__file__).resolve().parent / "agreements.csv"
BUNDLED_MECHANISMS_FILE = Path(__file__).resolve().parent / "mechanisms.csv"

_UNLOCODE = re.compile(r"^[A-Z]{2}[A-Z2-9]{3}$")
_COLUMNS = ("unlocode", "name", "country", "lat", "lon")
_AGREEMENT_COLUMNS = ("code", "name", "validity_days", "schedule")
_AGREEMENT_CODE = re.compile(r"^[A-Z0-9]{3,4}$")
_HS_PREFIX = re.compile(r"^[0-9]{2,8}$")
_BERTHS = "berths"


@dataclass(frozen=True, slots=True)
class Port:
    unlocode: str
    name: str
    country: str
    lat: float
    lon: float
    berths: int | None = None
    """Container berths, what berth occupancy is measured against (None: not configured, so
    the port has no berth occupancy)."""


def load_ports(path: Path) -> list[Port]:
    """Read a ports CSV: ``unlocode,name,country,lat,lon`` and optionally ``berths`` (the number
    of container berths; an empty cell leaves it unset). Raises ConfigError naming the line."""
    ports: list[Port] = []
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        header = tuple(reader.fieldnames or ())
        if header not in (_COLUMNS, (*_COLUMNS, _BERTHS)):
            raise ConfigError(f"{path}: header must be {','.join(_COLUMNS)}[,{_BERTHS}]")
        for line, row in enumerate(reader, start=2):
            try:
                port = Port(
                    unlocode=row["unlocode"].strip(),
                    name=row["name"].strip(),
                    country=row["country"].strip(),
                    lat=float(row["lat"]),
                    lon=float(row["lon"]),
                    berths=int(berths) if (berths := (row.get(_BERTHS) or "").strip()) else None,
                )
            except (TypeError, ValueError) as error:
                raise ConfigError(f"{path}:{line}: {error}") from None
            if not _UNLOCODE.match(port.unlocode) or port.unlocode[:2] != port.country:
                raise ConfigError(f"{path}:{line}: bad UN/LOCODE {port.unlocode!r}")
            if not (-90 <= port.lat <= 90 and -180 <= port.lon <= 180):
                raise ConfigError(f"{path}:{line}: coordinates out of range")
            if port.berths is not None and port.berths < 1:
                raise ConfigError(f"{path}:{line}: berths must be at least 1, not {port.berths}")
            ports.append(port)
    if not ports:
        raise ConfigError(f"{path}: no ports")
    return ports


def load_agreements(path: Path) -> list[Agreement]:
    """Read an agreements CSV (``code,name,validity_days,schedule``): ``validity_days`` empty
    means the hub's default, ``schedule`` lists the HS prefixes the agreement covers (2 to 8
    digits, space-separated; empty: every HS code). Raises ConfigError naming the line."""
    agreements: list[Agreement] = []
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if tuple(reader.fieldnames or ()) != _AGREEMENT_COLUMNS:
            raise ConfigError(f"{path}: header must be {','.join(_AGREEMENT_COLUMNS)}")
        for line, row in enumerate(reader, start=2):
            code, days = row["code"].strip(), row["validity_days"].strip()
            schedule = tuple(row["schedule"].split())
            if not _AGREEMENT_CODE.match(code):
                raise ConfigError(f"{path}:{line}: bad agreement code {code!r}")
            if days and (not days.isdigit() or int(days) < 1):
                raise ConfigError(f"{path}:{line}: validity_days must be a whole number of days")
            if bad := [prefix for prefix in schedule if not _HS_PREFIX.match(prefix)]:
                raise ConfigError(f"{path}:{line}: schedule entries must be HS digits: {bad[0]!r}")
            agreements.append(
                Agreement(
                    code=code,
                    name=row["name"].strip(),
                    validity_days=int(days) if days else None,
                    schedule=schedule,
                )
            )
    if len({a.code for a in agreements}) != len(agreements):
        raise ConfigError(f"{path}: an agreement code appears twice")
    return agreements
