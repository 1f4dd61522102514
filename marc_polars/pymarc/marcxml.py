"""MARCXML: SAX parsing into records, and records as ElementTree nodes."""

from __future__ import annotations

import unicodedata
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import IO, Literal
from xml.sax import make_parser
from xml.sax.handler import ContentHandler, feature_namespaces
from xml.sax.xmlreader import AttributesNSImpl

from marc_polars.pymarc.field import Field, Indicators
from marc_polars.pymarc.leader import Leader
from marc_polars.pymarc.marc8 import MARC8ToUnicode
from marc_polars.pymarc.record import Record

__all__ = [
    "MARC_XML_NS",
    "MARC_XML_SCHEMA",
    "XSI_NS",
    "XmlHandler",
    "map_xml",
    "parse_xml",
    "parse_xml_to_array",
    "record_to_xml",
    "record_to_xml_node",
]

XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
MARC_XML_NS = "http://www.loc.gov/MARC21/slim"
MARC_XML_SCHEMA = f"{MARC_XML_NS} http://www.loc.gov/standards/marcxml/schema/MARC21slim.xsd"

#: What the parsing functions take: a path, a URL, or a file object (text or binary).
XmlSource = str | IO[str] | IO[bytes]

#: The forms `unicodedata.normalize` takes.
NormalizeForm = Literal["NFC", "NFD", "NFKC", "NFKD"]

_Name = tuple[str | None, str]


class XmlHandler(ContentHandler):
    """Builds records from the SAX events of MARCXML (namespace-aware parsing).

    Each finished record goes to `process_record`, which appends it to `records`; override it to
    handle records one at a time instead of keeping them all. With `strict`, elements outside the
    MARCXML namespace are skipped; `normalize_form` ('NFC', 'NFD', 'NFKC', 'NFKD') normalises all
    text with `unicodedata.normalize`.
    """

    def __init__(self, strict: bool = False, normalize_form: NormalizeForm | None = None) -> None:
        super().__init__()
        self.records: list[Record] = []
        self.normalize_form = normalize_form
        self._strict = strict
        self._record: Record | None = None
        self._field: Field | None = None
        self._subfield_code: str | None = None
        self._text: list[str] = []

    def startElementNS(self, name: _Name, qname: str | None, attrs: AttributesNSImpl) -> None:
        uri, element = name
        if self._strict and uri != MARC_XML_NS:
            return
        self._text = []
        if element == "record":
            self._record = Record()
        elif element == "controlfield":
            # The text is set when the element ends; the tag alone decides nothing here.
            self._field = Field(attrs.getValue((None, "tag")))
        elif element == "datafield":
            indicators = Indicators(attrs.get((None, "ind1"), " "), attrs.get((None, "ind2"), " "))
            self._field = Field(attrs.getValue((None, "tag")), indicators=indicators)
        elif element == "subfield":
            self._subfield_code = attrs.getValue((None, "code"))

    def endElementNS(self, name: _Name, qname: str | None) -> None:
        uri, element = name
        if self._strict and uri != MARC_XML_NS:
            return
        text = "".join(self._text)
        self._text = []
        if self.normalize_form is not None:
            text = unicodedata.normalize(self.normalize_form, text)

        if element == "record" and self._record is not None:
            record, self._record = self._record, None
            self.process_record(record)
        elif element == "leader" and self._record is not None:
            self._record.leader = Leader(text)
        elif element == "controlfield" and self._record is not None and self._field is not None:
            self._field.data = text
            self._record.add_field(self._field)
            self._field = None
        elif element == "datafield" and self._record is not None and self._field is not None:
            self._record.add_field(self._field)
            self._field = None
        elif element == "subfield" and self._field is not None and self._subfield_code:
            # An empty code is dropped with its subfield, as pymarc drops it.
            self._field.add_subfield(self._subfield_code, text)
            self._subfield_code = None

    def characters(self, content: str) -> None:
        self._text.append(content)

    def process_record(self, record: Record) -> None:
        """Receive each record as its closing tag is parsed."""
        self.records.append(record)


def parse_xml(xml_file: XmlSource, handler: ContentHandler) -> None:
    """Parse `xml_file` with namespace-aware SAX, sending the events to `handler`."""
    parser = make_parser()
    parser.setContentHandler(handler)
    parser.setFeature(feature_namespaces, True)
    parser.parse(xml_file)


class _CallingHandler(XmlHandler):
    """An `XmlHandler` that calls `function` on each record, as it is parsed, rather than keep it."""

    def __init__(self, function: Callable[[Record], object]) -> None:
        super().__init__()
        self._function = function

    def process_record(self, record: Record) -> None:
        self._function(record)


def map_xml(function: Callable[[Record], object], *files: XmlSource) -> None:
    """Call `function` on each record of each MARCXML file, as it is parsed."""
    handler = _CallingHandler(function)
    for xml_file in files:
        parse_xml(xml_file, handler)


def parse_xml_to_array(
    xml_file: XmlSource, strict: bool = False, normalize_form: NormalizeForm | None = None
) -> list[Record]:
    """All records of a MARCXML file (path, file object or file-like object), as a list.

    `strict` and `normalize_form` are those of `XmlHandler`.
    """
    handler = XmlHandler(strict, normalize_form)
    parse_xml(xml_file, handler)
    return handler.records


def record_to_xml(record: Record, quiet: bool = False, namespace: bool = False) -> bytes:
    """The record as a MARCXML `<record>` element, serialised in ASCII with character references."""
    return ET.tostring(record_to_xml_node(record, quiet, namespace))


def record_to_xml_node(record: Record, quiet: bool = False, namespace: bool = False) -> ET.Element:
    """The record as a MARCXML `<record>` ElementTree element.

    With `namespace`, the element declares the MARCXML namespace and schema location. Values
    still held as bytes (records read with `to_unicode=False`) are converted from MARC-8;
    `quiet` silences that conversion's warnings.
    """
    marc8: MARC8ToUnicode | None = None

    def text(value: str | bytes | None) -> str:
        nonlocal marc8
        if isinstance(value, str):
            return value
        if value is None:  # a control field without data: MARC-8 conversion of nothing
            return ""
        if marc8 is None:
            marc8 = MARC8ToUnicode(quiet=quiet)
        return marc8.translate(value)

    root = ET.Element("record")
    if namespace:
        # Written as plain attributes so the element serialises without ElementTree prefixes.
        root.set("xmlns", MARC_XML_NS)
        root.set("xmlns:xsi", XSI_NS)
        root.set("xsi:schemaLocation", MARC_XML_SCHEMA)
    ET.SubElement(root, "leader").text = str(record.leader)
    for field in record.fields:
        if field.control_field:
            node = ET.SubElement(root, "controlfield", {"tag": field.tag})
            node.text = text(field.data)
        else:
            node = ET.SubElement(
                root, "datafield", {"ind1": field.indicator1, "ind2": field.indicator2, "tag": field.tag}
            )
            for subfield in field.subfields:
                ET.SubElement(node, "subfield", code=subfield.code).text = text(subfield.value)
    return root
