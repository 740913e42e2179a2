"""The ALADI digital certificate of origin (COD) as an XML document, and reading one safely.

SPEC §3: ``Envelope/CertOrigin/CODEH[@id=CODEH]/CODExporter/COD[@id=COD]``. The exporter signs
``#COD`` (its ``ds:Signature`` is the last child of ``CODExporter``); the official of the issuing
entity signs ``#CODEH`` (its ``ds:Signature`` is the last child of ``CODEH``, so it covers the
exporter's signature). The COD elements have no XML namespace; only the signatures use ``ds:``.

Submitted documents are untrusted, so reading one is defensive:

- the parser resolves no entities, fetches nothing from the network and keeps lxml's limits on
  huge trees; a ``DOCTYPE`` is refused outright and documents over :data:`MAX_DOCUMENT_BYTES`
  are not parsed at all;
- exactly one ``COD``, ``CODEH`` and ``CODExporter`` element, and no ``id`` value twice
  (XML signature wrapping hides a second, unsigned copy of the signed element somewhere else);
- the fields are read only from ``Envelope/CertOrigin/CODEH/CODExporter/COD``, the signed element;
- a field holds text only: a comment inside one (``<Quantity>1<!---->0</Quantity>``) would let
  the text lxml reads differ from the text canonicalisation signs.

Errors (both are ``ValueError``; the rules report either as ``SCHEMA_INVALID``)::

    DocumentError            content missing or malformed; the message names the element
    └── UnreadableDocument   not XML the hub will read at all (too big, malformed, DOCTYPE)
"""

from __future__ import annotations

import datetime
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final, TypeVar

from lxml import etree

from schemas.models import AGREEMENT_PATTERN, COUNTRY_PATTERN

__all__ = [
    "CODEH_PATH",
    "COD_PATH",
    "EXPORTER_PATH",
    "MAX_DOCUMENT_BYTES",
    "CertificateOfOrigin",
    "CertifiedGoods",
    "DocumentError",
    "Invoice",
    "Party",
    "UnreadableDocument",
    "parse_document",
    "read_xml",
    "signed_elements",
    "unsigned_document",
]

MAX_DOCUMENT_BYTES: Final = 1024 * 1024
"""Bigger documents are refused unparsed: a real COD is a few KiB, and the cap bounds the memory
and time an adversarial document can cost the worker (which verifies every submission)."""

CODEH_PATH: Final = "CertOrigin/CODEH"
"""Where the official's signed element sits, relative to ``Envelope``."""
EXPORTER_PATH: Final = "CertOrigin/CODEH/CODExporter"
"""Where the exporter's signature sits, relative to ``Envelope``."""
COD_PATH: Final = "CertOrigin/CODEH/CODExporter/COD"
"""The element the exporter signs and the only place the fields are read from."""

# Digits as [0-9]: Python's \d also matches other scripts' digits.
_GOODS_CODE = re.compile(r"^[0-9]{4}\.[0-9]{2}(\.[0-9]{2}){0,2}$")
_ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_DECIMAL = re.compile(r"^[0-9]+(\.[0-9]+)?$")
_COUNTRY = re.compile(COUNTRY_PATTERN)
_AGREEMENT = re.compile(AGREEMENT_PATTERN)
_EH_ID = re.compile(r"^[A-Za-z0-9]{3}$")
# Elements that must appear once in the whole document: a second one is a wrapping attempt.
_UNIQUE_ELEMENTS: Final = ("CODEH", "CODExporter", "COD")
_UNIQUE_XPATH: Final = "//*[" + " or ".join(f"local-name()='{n}'" for n in _UNIQUE_ELEMENTS) + "]"

_T = TypeVar("_T")


class DocumentError(ValueError):
    """The document does not parse or misses required content (reason ``SCHEMA_INVALID``).

    The message starts with the element concerned, e.g.
    ``"COD/Goods/GoodsItem[2]/Quantity: not a decimal"``.
    """


class UnreadableDocument(DocumentError):
    """Not XML the hub reads at all: too big, not well-formed, or with a DOCTYPE."""


@dataclass(frozen=True, slots=True)
class Party:
    """The exporter or the importer."""

    name: str
    tax_id: str
    country: str
    """ISO 3166 alpha-2."""


@dataclass(frozen=True, slots=True)
class Invoice:
    """A commercial invoice the certificate covers."""

    number: str
    date: datetime.date


@dataclass(frozen=True, slots=True)
class CertifiedGoods:
    """One certified goods item."""

    code: str
    """``GoodsItemCode``: HS/NALADISA as ``dddd.dd[.dd[.dd]]``, e.g. ``"0803.90"``."""
    description: str
    quantity: Decimal
    unit: str
    """UN/ECE Recommendation 20 code, e.g. ``KGM``, ``NAR``, ``LTR``."""
    value_usd: Decimal
    origin_rule: str
    """Free text, e.g. ``"Art. 3 lit. a"``."""

    @property
    def hs_digits(self) -> str:
        """The code without dots: ``"0803.90"`` -> ``"080390"``."""
        return self.code.replace(".", "")


@dataclass(frozen=True, slots=True)
class CertificateOfOrigin:
    """The content of a COD: what the exporter signs."""

    certificate_id: str
    agreement: str
    """E.g. ``"A18"``, ``"A58"``, ``"CA01"`` (:data:`schemas.models.AGREEMENT_PATTERN`)."""
    exporter: Party
    importer: Party
    invoices: tuple[Invoice, ...]
    goods: tuple[CertifiedGoods, ...]
    country_of_origin: str
    certificate_date: datetime.date
    issuing_entity: str
    """``EHId``: 3 letters or digits."""
    issuing_country: str
    """``EHCountry``."""
    initial_date: datetime.date | None = None
    """``CertificateInitialDate``: start of an explicit validity period."""
    final_date: datetime.date | None = None
    """``CertificateFinalDate``: end of an explicit validity period."""


# --- writing ----------------------------------------------------------------------------------


def unsigned_document(cod: CertificateOfOrigin) -> etree._Element:
    """The ``Envelope`` tree of ``cod``, without signatures (see ``signing.sign_document``).

    The fields are written as given, not checked: :func:`parse_document` is where content is
    checked, so that a malformed certificate can still be built (and signed) to test that.
    """
    envelope = etree.Element("Envelope")
    codeh = etree.SubElement(etree.SubElement(envelope, "CertOrigin"), "CODEH", id="CODEH")
    element = etree.SubElement(etree.SubElement(codeh, "CODExporter"), "COD", id="COD")
    _leaf(element, "CertificateID", cod.certificate_id)
    _leaf(element, "Agreement", cod.agreement)
    for tag, party in (("Exporter", cod.exporter), ("Importer", cod.importer)):
        holder = etree.SubElement(element, tag)
        _leaf(holder, "Name", party.name)
        _leaf(holder, "TaxID", party.tax_id)
        _leaf(holder, "Country", party.country)
    invoices = etree.SubElement(element, "Invoices")
    for invoice in cod.invoices:
        holder = etree.SubElement(invoices, "Invoice")
        _leaf(holder, "Number", invoice.number)
        _leaf(holder, "Date", invoice.date.isoformat())
    goods = etree.SubElement(element, "Goods")
    for item in cod.goods:
        holder = etree.SubElement(goods, "GoodsItem")
        _leaf(holder, "GoodsItemCode", item.code)
        _leaf(holder, "Description", item.description)
        _leaf(holder, "Quantity", f"{item.quantity:f}")  # never exponent notation
        _leaf(holder, "Unit", item.unit)
        _leaf(holder, "Value", f"{item.value_usd:f}")
        _leaf(holder, "OriginRule", item.origin_rule)
    _leaf(element, "CountryOfOrigin", cod.country_of_origin)
    _leaf(element, "CertificateDate", cod.certificate_date.isoformat())
    if cod.initial_date is not None:
        _leaf(element, "CertificateInitialDate", cod.initial_date.isoformat())
    if cod.final_date is not None:
        _leaf(element, "CertificateFinalDate", cod.final_date.isoformat())
    entity = etree.SubElement(element, "IssuingEntity")
    _leaf(entity, "EHId", cod.issuing_entity)
    _leaf(entity, "EHCountry", cod.issuing_country)
    return envelope


def _leaf(parent: etree._Element, tag: str, text: str) -> None:
    etree.SubElement(parent, tag).text = text


# --- reading ----------------------------------------------------------------------------------


def read_xml(document: bytes) -> etree._Element:
    """The root element of ``document``, parsed with the untrusted-input settings above.

    Raises:
        UnreadableDocument: over :data:`MAX_DOCUMENT_BYTES`, not well-formed, or with a DOCTYPE.
    """
    if len(document) > MAX_DOCUMENT_BYTES:
        raise UnreadableDocument(
            f"document: {len(document)} bytes, more than the {MAX_DOCUMENT_BYTES} allowed"
        )
    # A parser per call: lxml parsers keep state and must not be shared between threads.
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, huge_tree=False, remove_comments=False
    )
    try:
        root = etree.fromstring(document, parser=parser)
    except etree.XMLSyntaxError as error:
        raise UnreadableDocument(f"document: not well-formed XML: {error}") from None
    docinfo = root.getroottree().docinfo
    if docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise UnreadableDocument("document: a DOCTYPE is not allowed (no DTDs, no entities)")
    return root


def signed_elements(root: etree._Element) -> tuple[etree._Element, etree._Element, etree._Element]:
    """``(CODEH, CODExporter, COD)`` of a parsed document, after the anti-wrapping checks.

    Raises:
        DocumentError: the root is not ``Envelope``; ``COD``, ``CODEH`` or ``CODExporter``
            is missing from its place, appears more than once, or lacks its ``id``; or an
            ``id`` value appears twice.
    """
    if root.tag != "Envelope":
        raise DocumentError(f"Envelope: the root element is {root.tag!r}, not 'Envelope'")
    # XPath by local name, in any namespace: a reference resolves "#COD" by the id attribute's
    # local name, and a namespaced copy of COD is still a copy.
    names = Counter(_local(element.tag) for element in _xpath(root, _UNIQUE_XPATH))
    ids = Counter(str(value) for value in _xpath(root, "//@*[local-name()='id']"))
    for name in _UNIQUE_ELEMENTS:
        if names[name] > 1:
            raise DocumentError(f"{name}: appears {names[name]} times; one signed element only")
    if repeated := sorted(value for value, count in ids.items() if count > 1):
        raise DocumentError(f"Envelope: id {repeated[0]!r} appears on {ids[repeated[0]]} elements")
    codeh = _at(root, CODEH_PATH)
    exporter = _at(root, EXPORTER_PATH)
    cod = _at(root, COD_PATH)
    for element, wanted in ((codeh, "CODEH"), (cod, "COD")):
        if element.get("id") != wanted:
            raise DocumentError(f"{wanted}: the id attribute must be {wanted!r}")
    return codeh, exporter, cod


def _at(root: etree._Element, path: str) -> etree._Element:
    element = root.find(path)
    if element is None:
        raise DocumentError(f"Envelope/{path}: missing")
    return element


def _xpath(root: etree._Element, query: str) -> list[Any]:
    """The nodes (elements or attribute values) ``query`` selects."""
    found = root.xpath(query)
    assert isinstance(found, list)  # a node-set query always gives a list
    return found


def _local(name: str) -> str:
    """``"{namespace}tag"`` -> ``"tag"``."""
    return name.rpartition("}")[2]


def parse_document(document: bytes) -> CertificateOfOrigin:
    """The certificate in ``document``, read from the signed ``COD`` element only.

    Checks that every required element is there, once and not empty; dates are ISO
    ``yyyy-mm-dd``; quantities and values are plain decimals, quantities above zero; goods codes
    are ``dddd.dd[.dd[.dd]]``; countries are 2 capital letters; ``EHId`` is 3 letters or
    digits; there is at least one invoice and one goods item; an explicit validity period does
    not end before it starts. Signatures are not checked here (``signing.check_signatures``).

    Raises:
        UnreadableDocument: see :func:`read_xml`.
        DocumentError: anything else; the message names the element.
    """
    _, _, cod = signed_elements(read_xml(document))
    reader = _Reader(cod, "COD")
    invoices = tuple(
        Invoice(number=item.text("Number"), date=item.date("Date"))
        for item in reader.many("Invoices", "Invoice")
    )
    goods = tuple(
        CertifiedGoods(
            code=item.matching("GoodsItemCode", _GOODS_CODE, "not an HS code dddd.dd[.dd[.dd]]"),
            description=item.text("Description"),
            quantity=item.quantity("Quantity"),
            unit=item.text("Unit"),
            value_usd=item.decimal("Value"),
            origin_rule=item.text("OriginRule"),
        )
        for item in reader.many("Goods", "GoodsItem")
    )
    entity = reader.child("IssuingEntity")
    certificate = CertificateOfOrigin(
        certificate_id=reader.text("CertificateID"),
        agreement=reader.matching("Agreement", _AGREEMENT, "not an agreement code"),
        exporter=_party(reader.child("Exporter")),
        importer=_party(reader.child("Importer")),
        invoices=invoices,
        goods=goods,
        country_of_origin=reader.country("CountryOfOrigin"),
        certificate_date=reader.date("CertificateDate"),
        issuing_entity=entity.matching("EHId", _EH_ID, "not 3 letters or digits"),
        issuing_country=entity.country("EHCountry"),
        initial_date=reader.optional("CertificateInitialDate", reader.date),
        final_date=reader.optional("CertificateFinalDate", reader.date),
    )
    if (
        certificate.initial_date is not None
        and certificate.final_date is not None
        and certificate.final_date < certificate.initial_date
    ):
        raise DocumentError("COD/CertificateFinalDate: before CertificateInitialDate")
    return certificate


def _party(reader: _Reader) -> Party:
    return Party(
        name=reader.text("Name"),
        tax_id=reader.text("TaxID"),
        country=reader.country("Country"),
    )


@dataclass(frozen=True, slots=True)
class _Reader:
    """Reads the children of one element; errors name the child by its path from ``COD``."""

    element: etree._Element
    path: str

    def child(self, tag: str) -> _Reader:
        """The one ``tag`` child (missing or repeated: DocumentError)."""
        found = self.element.findall(tag)
        if not found:
            raise DocumentError(f"{self.path}/{tag}: missing")
        if len(found) > 1:
            raise DocumentError(f"{self.path}/{tag}: appears {len(found)} times")
        return _Reader(found[0], f"{self.path}/{tag}")

    def many(self, holder: str, tag: str) -> list[_Reader]:
        """The ``tag`` children of the one ``holder`` child; at least one."""
        parent = self.child(holder)
        found = parent.element.findall(tag)
        if not found:
            raise DocumentError(f"{parent.path}/{tag}: missing (at least one)")
        return [_Reader(item, f"{parent.path}/{tag}[{n}]") for n, item in enumerate(found, 1)]

    def optional(self, tag: str, read: Callable[[str], _T]) -> _T | None:
        """``read(tag)`` if the element is there, else None."""
        return read(tag) if self.element.find(tag) is not None else None

    def text(self, tag: str) -> str:
        """The stripped text of the one ``tag`` child, which holds text only, not empty."""
        leaf = self.child(tag)
        if len(leaf.element):  # child elements, comments or processing instructions
            raise DocumentError(f"{leaf.path}: must hold text only")
        text = (leaf.element.text or "").strip()
        if not text:
            raise DocumentError(f"{leaf.path}: empty")
        return text

    def matching(self, tag: str, pattern: re.Pattern[str], problem: str) -> str:
        text = self.text(tag)
        if not pattern.match(text):
            raise DocumentError(f"{self.path}/{tag}: {problem}: {text!r}")
        return text

    def country(self, tag: str) -> str:
        return self.matching(tag, _COUNTRY, "not an ISO 3166 alpha-2 country")

    def date(self, tag: str) -> datetime.date:
        text = self.matching(tag, _ISO_DATE, "not an ISO date yyyy-mm-dd")
        try:
            return datetime.date.fromisoformat(text)
        except ValueError:
            raise DocumentError(f"{self.path}/{tag}: not a calendar date: {text!r}") from None

    def decimal(self, tag: str) -> Decimal:
        return Decimal(self.matching(tag, _DECIMAL, "not a decimal"))

    def quantity(self, tag: str) -> Decimal:
        value = self.decimal(tag)
        if value <= 0:
            raise DocumentError(f"{self.path}/{tag}: must be above zero")
        return value
