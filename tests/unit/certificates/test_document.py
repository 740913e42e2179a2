"""The COD as XML: writing, reading, and refusing what an attacker would send."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest
from lxml import etree

from hub.domain.certificates.document import (
    MAX_DOCUMENT_BYTES,
    DocumentError,
    UnreadableDocument,
    parse_document,
    unsigned_document,
)
from tests.unit.certificates.builders import CERTIFICATE, certificate, signed

Edit = Callable[[etree._Element], None]


def _edited(edit: Edit) -> bytes:
    """The unsigned :data:`CERTIFICATE` with ``edit`` applied to its tree."""
    root = unsigned_document(CERTIFICATE)
    edit(root)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _cod(root: etree._Element) -> etree._Element:
    found = root.find("CertOrigin/CODEH/CODExporter/COD")
    assert found is not None
    return found


def _set(path: str, text: str) -> Edit:
    def edit(root: etree._Element) -> None:
        element = _cod(root).find(path)
        assert element is not None, path
        element.text = text

    return edit


def _remove(path: str) -> Edit:
    def edit(root: etree._Element) -> None:
        for element in _cod(root).findall(path):
            parent = element.getparent()
            assert parent is not None
            parent.remove(element)

    return edit


def _repeat(path: str) -> Edit:
    def edit(root: etree._Element) -> None:
        element = _cod(root).find(path)
        assert element is not None
        element.addnext(copy.deepcopy(element))

    return edit


def _comment_inside(path: str) -> Edit:
    def edit(root: etree._Element) -> None:
        element = _cod(root).find(path)
        assert element is not None
        element.text = "1"  # <Quantity>1<!-- split -->0000</Quantity>: lxml's .text is "1"
        comment = etree.Comment(" split ")
        comment.tail = "0000"
        element.append(comment)

    return edit


def test_a_signed_certificate_reads_back_as_built() -> None:
    assert parse_document(signed()) == CERTIFICATE
    with_period = certificate(initial_date=date(2026, 3, 1), final_date=date(2026, 6, 30))
    assert parse_document(signed(with_period)) == with_period


def test_the_document_has_the_aladi_layout_without_namespaces() -> None:
    root = unsigned_document(CERTIFICATE)
    assert root.tag == "Envelope"
    codeh = root.find("CertOrigin/CODEH")
    assert codeh is not None and codeh.get("id") == "CODEH"
    cod = _cod(root)
    assert cod.get("id") == "COD"
    assert [child.tag for child in cod] == [
        "CertificateID", "Agreement", "Exporter", "Importer", "Invoices", "Goods",
        "CountryOfOrigin", "CertificateDate", "IssuingEntity",
    ]  # fmt: skip
    item = cod.find("Goods/GoodsItem")
    assert item is not None
    assert [(child.tag, child.text) for child in item] == [
        ("GoodsItemCode", "0803.90"),
        ("Description", "Organic bananas, fresh"),
        ("Quantity", "10000"),
        ("Unit", "KGM"),
        ("Value", "6500.00"),
        ("OriginRule", "Art. 3 lit. a"),
    ]
    assert all(isinstance(e.tag, str) and not e.tag.startswith("{") for e in root.iter())


def test_quantities_are_written_without_exponents() -> None:
    goods = (replace(CERTIFICATE.goods[0], quantity=Decimal("1E+4")),)
    document = signed(certificate(goods=goods))
    assert b"<Quantity>10000</Quantity>" in document
    assert parse_document(document).goods[0].quantity == Decimal(10000)


def test_pretty_printed_documents_read_the_same() -> None:
    root = unsigned_document(CERTIFICATE)
    etree.indent(root)
    assert parse_document(etree.tostring(root)) == CERTIFICATE


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (_remove("CertificateID"), "COD/CertificateID: missing"),
        (_set("Exporter/TaxID", "  "), "COD/Exporter/TaxID: empty"),
        (_remove("Importer/Name"), "COD/Importer/Name: missing"),
        (_set("Importer/Country", "Brasil"), "COD/Importer/Country: not an ISO 3166"),
        (_set("Agreement", "ACE-58"), "COD/Agreement: not an agreement code"),
        (_remove("Invoices/Invoice"), "COD/Invoices/Invoice: missing (at least one)"),
        (_remove("Invoices"), "COD/Invoices: missing"),
        (
            _set("Invoices/Invoice[2]/Date", "28/02/2026"),
            "COD/Invoices/Invoice[2]/Date: not an ISO date",
        ),
        (_remove("Goods/GoodsItem"), "COD/Goods/GoodsItem: missing (at least one)"),
        (
            _set("Goods/GoodsItem[2]/Quantity", "lots"),
            "COD/Goods/GoodsItem[2]/Quantity: not a decimal",
        ),
        (
            _set("Goods/GoodsItem[2]/Quantity", "1e4"),
            "COD/Goods/GoodsItem[2]/Quantity: not a decimal",
        ),
        (
            _set("Goods/GoodsItem[2]/Quantity", "NaN"),
            "COD/Goods/GoodsItem[2]/Quantity: not a decimal",
        ),
        (
            _set("Goods/GoodsItem[1]/Quantity", "0.000"),
            "COD/Goods/GoodsItem[1]/Quantity: must be above zero",
        ),
        (_set("Goods/GoodsItem[1]/Value", "-5"), "COD/Goods/GoodsItem[1]/Value: not a decimal"),
        (
            _set("Goods/GoodsItem[1]/GoodsItemCode", "0803"),
            "COD/Goods/GoodsItem[1]/GoodsItemCode: not an HS code",
        ),
        (
            _set("Goods/GoodsItem[1]/GoodsItemCode", "080390"),
            "COD/Goods/GoodsItem[1]/GoodsItemCode: not an HS code",
        ),
        (
            _set("Goods/GoodsItem[1]/GoodsItemCode", "0803.90.1"),
            "COD/Goods/GoodsItem[1]/GoodsItemCode: not an HS code",
        ),
        (
            _set("Goods/GoodsItem[1]/GoodsItemCode", "0803.90.11.22.33"),
            "COD/Goods/GoodsItem[1]/GoodsItemCode: not an HS code",
        ),
        (
            _set("Goods/GoodsItem[1]/GoodsItemCode", "٠٨٠٣.٩٠"),
            "COD/Goods/GoodsItem[1]/GoodsItemCode: not an HS code",
        ),
        (_remove("Goods/GoodsItem[1]/Unit"), "COD/Goods/GoodsItem[1]/Unit: missing"),
        (_remove("Goods/GoodsItem[1]/OriginRule"), "COD/Goods/GoodsItem[1]/OriginRule: missing"),
        (_set("CountryOfOrigin", "pe"), "COD/CountryOfOrigin: not an ISO 3166"),
        (_set("CertificateDate", "2026-02-30"), "COD/CertificateDate: not a calendar date"),
        (_set("CertificateDate", "20260302"), "COD/CertificateDate: not an ISO date"),
        (_set("IssuingEntity/EHId", "TS"), "COD/IssuingEntity/EHId: not 3 letters or digits"),
        (_set("IssuingEntity/EHCountry", "PER"), "COD/IssuingEntity/EHCountry: not an ISO 3166"),
        (_remove("IssuingEntity"), "COD/IssuingEntity: missing"),
        (_repeat("CertificateID"), "COD/CertificateID: appears 2 times"),
        (_repeat("Goods/GoodsItem/Quantity"), "COD/Goods/GoodsItem[1]/Quantity: appears 2 times"),
        (
            _comment_inside("Goods/GoodsItem/Quantity"),
            "COD/Goods/GoodsItem[1]/Quantity: must hold text only",
        ),
    ],
)
def test_missing_or_bad_content_is_refused_naming_the_element(edit: Edit, message: str) -> None:
    with pytest.raises(DocumentError) as raised:
        parse_document(_edited(edit))
    assert str(raised.value).startswith(message)
    assert not isinstance(raised.value, UnreadableDocument)


def test_a_validity_period_ending_before_it_starts_is_refused() -> None:
    reversed_period = certificate(initial_date=date(2026, 6, 1), final_date=date(2026, 3, 1))
    with pytest.raises(DocumentError, match="CertificateFinalDate: before"):
        parse_document(signed(reversed_period))


@pytest.mark.parametrize(
    "document",
    [
        b'<?xml version="1.0"?><!DOCTYPE Envelope [<!ENTITY x "PE-A58-1">]>'
        b"<Envelope><CertOrigin>&x;</CertOrigin></Envelope>",
        b'<?xml version="1.0"?><!DOCTYPE Envelope [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b"<Envelope>&x;</Envelope>",
        b'<!DOCTYPE Envelope SYSTEM "http://example.invalid/cod.dtd"><Envelope/>',
        b'<!DOCTYPE lolz [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
        b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>'
        b"<Envelope>&d;</Envelope>",
    ],
    ids=["internal-entity", "external-entity", "external-dtd", "entity-expansion"],
)
def test_doctypes_and_entities_are_refused(document: bytes) -> None:
    with pytest.raises(UnreadableDocument, match="DOCTYPE"):
        parse_document(document)


def test_the_doctype_of_a_real_certificate_is_refused_too() -> None:
    document = signed().replace(b"?>", b"?><!DOCTYPE Envelope>", 1)
    with pytest.raises(UnreadableDocument, match="DOCTYPE"):
        parse_document(document)


@pytest.mark.parametrize("document", [b"", b"not xml", b"<Envelope>", b"<Envelope></Other>"])
def test_malformed_xml_is_unreadable(document: bytes) -> None:
    with pytest.raises(UnreadableDocument, match="not well-formed"):
        parse_document(document)


def test_oversize_documents_are_refused_unparsed() -> None:
    document = signed()
    padded = document + b" " * (MAX_DOCUMENT_BYTES - len(document))
    assert parse_document(padded) == CERTIFICATE  # up to the cap, whitespace after the root is fine
    with pytest.raises(UnreadableDocument, match=f"more than the {MAX_DOCUMENT_BYTES}"):
        parse_document(padded + b" ")


def _second_cod(where: str, namespace: str | None = None) -> Edit:
    def edit(root: etree._Element) -> None:
        forged = copy.deepcopy(_cod(root))
        if namespace:
            forged.tag = f"{{{namespace}}}COD"
        certificate_id = forged.find("CertificateID")
        assert certificate_id is not None
        certificate_id.text = "FORGED"
        parent = root.find(where)
        assert parent is not None
        parent.append(forged)

    return edit


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (_second_cod("."), "COD: appears 2 times"),
        (_second_cod("CertOrigin/CODEH/CODExporter"), "COD: appears 2 times"),
        (_second_cod(".", namespace="urn:forged"), "COD: appears 2 times"),
        (
            lambda root: root.append(copy.deepcopy(root[0][0])),
            "CODEH: appears 2 times",
        ),
        (
            lambda root: root.append(etree.Element("Note", id="COD")),
            "Envelope: id 'COD' appears on 2 elements",
        ),
        (
            lambda root: root.append(etree.Element("Note", {"{urn:x}id": "CODEH"})),
            "Envelope: id 'CODEH' appears on 2 elements",
        ),
        (lambda root: _cod(root).attrib.pop("id"), "COD: the id attribute must be 'COD'"),
        (lambda root: root[0][0].set("id", "X"), "CODEH: the id attribute must be 'CODEH'"),
        (lambda root: setattr(root, "tag", "Wrapper"), "Envelope: the root element is 'Wrapper'"),
        (lambda root: setattr(root[0], "tag", "Other"), "Envelope/CertOrigin/CODEH: missing"),
    ],
)
def test_signature_wrapping_shapes_are_refused(edit: Edit, message: str) -> None:
    with pytest.raises(DocumentError) as raised:
        parse_document(_edited(edit))
    assert str(raised.value).startswith(message)


def test_fields_outside_the_signed_cod_are_ignored() -> None:
    def edit(root: etree._Element) -> None:
        etree.SubElement(root, "CertificateID").text = "FORGED"
        etree.SubElement(root[0][0], "Agreement").text = "A18"

    assert parse_document(_edited(edit)) == CERTIFICATE
