"""A file export of the issuing countries' registrations, read and compared with the registry.

``hub issuers import FILE`` loads such a file (CSV or JSON, by its extension; the format is in
``docs/certificates.md``): issuing entities with the agreements they may certify for, and
officials with their PEM certificate, enablement period and revocation. Pure functions:
:func:`parse_export` checks every row (a problem names the file, the row and what is wrong) and
:func:`plan_import` compares the rows with a registry snapshot and says what would change; the
store applies the plan (:mod:`hub.db.issuer_import`).

The file adds and updates registrations; it removes none (an entity or official absent from
the file is left as it is), and it cannot take a revocation back.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from cryptography import x509

from hub.domain.certificates.issuer_registry import IssuerRegistry, fingerprint

CSV_COLUMNS = (
    "type",
    "country",
    "eh_id",
    "name",
    "agreements",
    "certificate_pem",
    "enabled_from",
    "enabled_to",
    "revoked_at",
    "revocation_reason",
)
"""The CSV header; ``type`` is ``entity`` or ``official``, ``agreements`` space-separated."""

_COUNTRY = re.compile(r"^[A-Z]{2}$")
_EH_ID = re.compile(r"^[A-Za-z0-9]{3}$")
_AGREEMENT = re.compile(r"^[A-Z0-9]{2,10}$")


class ExportError(ValueError):
    """A file that cannot be imported; the message names the file, the row and the problem."""


@dataclass(frozen=True, slots=True)
class EntityRow:
    """An issuing entity as the file registers it."""

    where: str
    """``row 3`` (CSV, the header is row 1) or ``entities[0]`` (JSON)."""
    country: str
    eh_id: str
    name: str
    agreements: tuple[str, ...]
    """Sorted, without repeats."""


@dataclass(frozen=True, slots=True)
class OfficialRow:
    """An official's certificate as the file registers it."""

    where: str
    country: str
    eh_id: str
    name: str
    """Empty: the certificate's subject."""
    certificate_pem: str
    fingerprint: str
    enabled_from: date | None
    enabled_to: date | None
    revoked_at: datetime | None
    """Aware (UTC when the file gives no offset); None: not revoked."""
    revocation_reason: str | None


@dataclass(frozen=True, slots=True)
class RegistryExport:
    """Every row of one file, checked."""

    source: str
    entities: tuple[EntityRow, ...]
    officials: tuple[OfficialRow, ...]


@dataclass(frozen=True, slots=True)
class ImportChange:
    """One registration the import changes."""

    action: str
    """``added``, ``changed`` or ``revoked``."""
    row: EntityRow | OfficialRow
    detail: str
    """One line: what and how, e.g. ``official 3f…  of AR/TST revoked from …``."""
    enablement: bool = False
    """An official to register (new) or whose name or enablement changes."""
    revocation: bool = False
    """An official whose revocation (time or reason) changes."""


@dataclass(frozen=True, slots=True)
class ImportPlan:
    """What importing a file changes, in the order it is applied (entities first)."""

    changes: tuple[ImportChange, ...]
    unchanged: int

    def counts(self) -> dict[str, int]:
        """How many rows are added, changed, revoked and unchanged."""
        counts = {"added": 0, "changed": 0, "revoked": 0}
        for change in self.changes:
            counts[change.action] += 1
        return {**counts, "unchanged": self.unchanged}

    def summary(self) -> str:
        """``2 added, 1 changed, 1 revoked, 3 unchanged``."""
        return ", ".join(f"{number} {action}" for action, number in self.counts().items())


def parse_export(source: str, text: str) -> RegistryExport:
    """Read and check every row of a registry export: CSV (``*.csv``) or JSON (``*.json``).

    Raises:
        ExportError: ``"<source>: <row>: <problem>"`` for the first bad row, or the file's
            problem (unknown extension, bad header, not JSON).
    """
    lowered = source.lower()
    if lowered.endswith(".csv"):
        rows = _csv_rows(source, text)
    elif lowered.endswith(".json"):
        rows = _json_rows(source, text)
    else:
        raise ExportError(f"{source}: the file must end in .csv or .json")
    entities: list[EntityRow] = []
    officials: list[OfficialRow] = []
    for where, kind, row in rows:
        try:
            if kind == "entity":
                entities.append(_entity(where, row))
            elif kind == "official":
                officials.append(_official(where, row))
            else:
                raise ValueError(f"type {kind!r} is neither entity nor official")
        except ValueError as error:
            raise ExportError(f"{source}: {where}: {error}") from None
    _no_repeats(source, [(e.where, (e.country, e.eh_id)) for e in entities], "entity")
    _no_repeats(source, [(o.where, o.fingerprint) for o in officials], "certificate")
    return RegistryExport(source, tuple(entities), tuple(officials))


def plan_import(export: RegistryExport, registry: IssuerRegistry) -> ImportPlan:
    """What importing ``export`` into ``registry`` changes (nothing for a row equal to what is
    registered).

    Raises:
        ExportError: a row the registry refuses: an agreement not configured, an official of an
            entity neither in the file nor registered, a certificate registered for another
            entity, a revocation missing from the file for an official revoked in the registry.
    """
    changes: list[ImportChange] = []
    unchanged = 0

    def refuse(row: EntityRow | OfficialRow, problem: str) -> ExportError:
        return ExportError(f"{export.source}: {row.where}: {problem}")

    for entity in export.entities:
        if unknown := [code for code in entity.agreements if code not in registry.agreements]:
            raise refuse(entity, f"agreement {unknown[0]} is not configured (HUB_AGREEMENTS_FILE)")
        key = f"{entity.country}/{entity.eh_id}"
        agreements = " ".join(entity.agreements) or "none"
        current = registry.entities.get((entity.country, entity.eh_id))
        if current is None:
            changes.append(
                ImportChange("added", entity, f"entity {key} {entity.name!r} ({agreements})")
            )
        elif current.name != entity.name or current.agreements != frozenset(entity.agreements):
            was = " ".join(sorted(current.agreements)) or "none"
            changes.append(
                ImportChange(
                    "changed", entity, f"entity {key} {entity.name!r} ({agreements}; was {was})"
                )
            )
        else:
            unchanged += 1
    in_file = {(entity.country, entity.eh_id) for entity in export.entities}
    for official in export.officials:
        key = f"{official.country}/{official.eh_id}"
        if (official.country, official.eh_id) not in in_file | set(registry.entities):
            raise refuse(official, f"issuing entity {key} is neither in the file nor registered")
        who = f"official {official.fingerprint[:16]}… of {key}"
        registered = registry.officials.get(official.fingerprint)
        revoked = _revocation(official)
        if registered is None:
            changes.append(
                ImportChange(
                    "added",
                    official,
                    f"{who} {_period(official.enabled_from, official.enabled_to)}{revoked}",
                    enablement=True,
                    revocation=official.revoked_at is not None,
                )
            )
            continue
        if (registered.country, registered.eh_id) != (official.country, official.eh_id):
            raise refuse(
                official,
                f"certificate {official.fingerprint[:16]}… is registered for "
                f"{registered.country}/{registered.eh_id}",
            )
        if registered.revoked_at is not None and official.revoked_at is None:
            raise refuse(
                official,
                f"{who} is revoked from {registered.revoked_at.isoformat()} and the file says it "
                "is not: a revocation cannot be taken back",
            )
        enablement = (official.enabled_from, official.enabled_to) != (
            registered.enabled_from,
            registered.enabled_to,
        ) or (bool(official.name) and official.name != registered.name)
        revocation = official.revoked_at is not None and (
            official.revoked_at,
            official.revocation_reason,
        ) != (registered.revoked_at, registered.revocation_reason)
        if revocation:
            changes.append(
                ImportChange(
                    "revoked", official, f"{who}{revoked}", enablement=enablement, revocation=True
                )
            )
        elif enablement:
            was = _period(registered.enabled_from, registered.enabled_to)
            period = _period(official.enabled_from, official.enabled_to)
            changes.append(
                ImportChange("changed", official, f"{who} {period} (was {was})", enablement=True)
            )
        else:
            unchanged += 1
    return ImportPlan(tuple(changes), unchanged)


def _csv_rows(source: str, text: str) -> list[tuple[str, str, Mapping[str, Any]]]:
    reader = csv.DictReader(io.StringIO(text))
    try:
        if tuple(name.strip() for name in reader.fieldnames or ()) != CSV_COLUMNS:
            raise ExportError(f"{source}: row 1: the header must be {','.join(CSV_COLUMNS)}")
        rows: list[tuple[str, str, Mapping[str, Any]]] = []
        for number, row in enumerate(reader, start=2):
            if None in row or any(value is None for value in row.values()):
                raise ExportError(f"{source}: row {number}: expected {len(CSV_COLUMNS)} columns")
            fields = {name.strip(): value for name, value in row.items()}
            fields["agreements"] = fields["agreements"].split()
            rows.append((f"row {number}", fields["type"].strip(), fields))
    except csv.Error as error:  # a field over the csv module's limit, a stray quote …
        raise ExportError(f"{source}: line {max(reader.line_num, 1)}: not CSV: {error}") from None
    return rows


def _json_rows(source: str, text: str) -> list[tuple[str, str, Mapping[str, Any]]]:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise ExportError(f"{source}: not JSON: {error}") from None
    except RecursionError:
        raise ExportError(f"{source}: not JSON: nested too deep") from None
    if not isinstance(document, dict) or set(document) - {"entities", "officials"}:
        raise ExportError(f'{source}: expected an object {{"entities": [...], "officials": [...]}}')
    rows: list[tuple[str, str, Mapping[str, Any]]] = []
    for part, kind in (("entities", "entity"), ("officials", "official")):
        items = document.get(part, [])
        if not isinstance(items, list):
            raise ExportError(f"{source}: {part}: expected a list")
        for index, item in enumerate(items):
            where = f"{part}[{index}]"
            if not isinstance(item, dict):
                raise ExportError(f"{source}: {where}: expected an object")
            known = set(CSV_COLUMNS) - {"type"}
            if unknown := sorted(set(item) - known):
                raise ExportError(f"{source}: {where}: unknown field {unknown[0]!r}")
            rows.append((where, kind, item))
    return rows


def _entity(where: str, row: Mapping[str, Any]) -> EntityRow:
    country, eh_id = _key(row)
    name = _text(row, "name")
    if not name:
        raise ValueError("the entity needs a name")
    agreements = row.get("agreements") or []
    if not isinstance(agreements, list) or not all(isinstance(a, str) for a in agreements):
        raise ValueError("agreements must be a list of codes")
    if bad := [code for code in agreements if not _AGREEMENT.match(code)]:
        raise ValueError(f"agreement code {bad[0]!r} is not 2-10 capital letters or digits")
    for field in ("certificate_pem", "enabled_from", "enabled_to", "revoked_at"):
        if _text(row, field):
            raise ValueError(f"{field} is for an official, not an entity")
    return EntityRow(where, country, eh_id, name, tuple(sorted(set(agreements))))


def _official(where: str, row: Mapping[str, Any]) -> OfficialRow:
    country, eh_id = _key(row)
    pem = _text(row, "certificate_pem")
    if not pem:
        raise ValueError("certificate_pem is empty")
    try:
        certificates = x509.load_pem_x509_certificates(pem.encode())
    except ValueError as error:
        raise ValueError(f"certificate_pem is not a PEM X.509 certificate ({error})") from None
    if len(certificates) != 1:
        raise ValueError(f"certificate_pem holds {len(certificates)} certificates, not one")
    enabled_from = _date(row, "enabled_from")
    enabled_to = _date(row, "enabled_to")
    if enabled_from and enabled_to and enabled_to < enabled_from:
        raise ValueError(f"enabled_to {enabled_to} is before enabled_from {enabled_from}")
    revoked_at = _moment(row, "revoked_at")
    reason = _text(row, "revocation_reason") or None
    if reason and revoked_at is None:
        raise ValueError("revocation_reason without revoked_at")
    if row.get("agreements"):
        raise ValueError("agreements are the entity's, not an official's")
    return OfficialRow(
        where=where,
        country=country,
        eh_id=eh_id,
        name=_text(row, "name"),
        certificate_pem=pem,
        fingerprint=fingerprint(certificates[0]),
        enabled_from=enabled_from,
        enabled_to=enabled_to,
        revoked_at=revoked_at,
        revocation_reason=reason,
    )


def _key(row: Mapping[str, Any]) -> tuple[str, str]:
    country, eh_id = _text(row, "country"), _text(row, "eh_id")
    if not _COUNTRY.match(country):
        raise ValueError(f"country {country!r} is not an ISO 3166 alpha-2 code")
    if not _EH_ID.match(eh_id):
        raise ValueError(f"eh_id {eh_id!r} is not 3 letters or digits")
    return country, eh_id


def _text(row: Mapping[str, Any], field: str) -> str:
    value = row.get(field)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValueError(f"{field} must be text")
    return value.strip()


def _date(row: Mapping[str, Any], field: str) -> date | None:
    text = _text(row, field)
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{field} {text!r} is not a date YYYY-MM-DD") from None


def _moment(row: Mapping[str, Any], field: str) -> datetime | None:
    text = _text(row, field)
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{field} {text!r} is not an ISO 8601 time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _no_repeats(source: str, keyed: Sequence[tuple[str, object]], what: str) -> None:
    seen: dict[object, str] = {}
    for where, key in keyed:
        if key in seen:
            raise ExportError(f"{source}: {where}: the same {what} as {seen[key]}")
        seen[key] = where


def _period(start: date | None, end: date | None) -> str:
    if start is None and end is None:
        return "enabled without limits"
    if end is None:
        return f"enabled from {start}"
    if start is None:
        return f"enabled to {end}"
    return f"enabled {start}..{end}"


def _revocation(official: OfficialRow) -> str:
    if official.revoked_at is None:
        return ""
    reason = f": {official.revocation_reason}" if official.revocation_reason else ""
    return f" revoked from {official.revoked_at.isoformat()}{reason}"
