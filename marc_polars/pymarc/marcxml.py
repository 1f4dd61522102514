"""MARCXML: SAX parsing into records, and records as ElementTree nodes."""

from __future__ import annotations

import os
import unicodedata
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from typing import IO, Literal, TypeGuard, cast
from xml.etree.ElementTree import _escape_attrib, _escape_cdata  # type: ignore[attr-defined]
from xml.parsers import expat
from xml.sax import make_parser
from xml.sax.handler import ContentHandler, feature_namespaces
from xml.sax.xmlreader import AttributesNSImpl

from marc_polars.pymarc._collector import CollectorPaused
from marc_polars.pymarc._decoded import FIELD_MAKER, FieldParts, make_field
from marc_polars.pymarc.field import Field, Indicators, Subfield
from marc_polars.pymarc.leader import Leader
from marc_polars.pymarc.marc8 import MARC8ToUnicode
from marc_polars.pymarc.record import Record, written_natively

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
    """Parse `xml_file` with namespace-aware SAX, sending the events to `handler`.

    An `XmlHandler` whose only change is its `process_record` is sent the records SAX would have it
    make, made faster without SAX where that is certain to give the same (see `_parsed_fast`).
    """
    if not (isinstance(handler, XmlHandler) and _follows_xml_handler(handler) and _parsed_fast(xml_file, handler)):
        _parse_by_sax(xml_file, handler)


def _parse_by_sax(xml_file: XmlSource, handler: ContentHandler) -> None:
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
    with CollectorPaused():
        parse_xml(xml_file, handler)
    return handler.records


#: The `ContentHandler` methods whose SAX events `_parsed_fast` stands for.
_SAX_METHODS = (
    "setDocumentLocator",
    "startDocument",
    "endDocument",
    "startPrefixMapping",
    "endPrefixMapping",
    "startElement",
    "endElement",
    "startElementNS",
    "endElementNS",
    "characters",
    "ignorableWhitespace",
    "processingInstruction",
    "skippedEntity",
)


def _follows_xml_handler(handler: XmlHandler) -> bool:
    """Whether `handler` does with SAX's events what `XmlHandler` does, from a clean start."""
    own = vars(handler)
    return (
        all(getattr(type(handler), name) is getattr(XmlHandler, name) and name not in own for name in _SAX_METHODS)
        and handler._record is None
        and handler._field is None
        and handler._subfield_code is None
    )


def _parsed_fast(xml_file: XmlSource, handler: XmlHandler) -> bool:
    """Sends `handler` the records SAX would have it make from `xml_file`, without SAX, if it can;
    False, with nothing sent, if `xml_file` is not a path or a binary file object that can be read
    again, or the document is not one read so (see `_records_of`)."""
    if isinstance(xml_file, str):
        if not os.path.isfile(xml_file):
            return False
        with open(xml_file, "rb") as handle:
            document = handle.read()
    elif _rereadable_bytes(xml_file):
        start = xml_file.tell()
        document = xml_file.read()
        xml_file.seek(start)
    else:
        return False
    records = _records_of(document, handler)
    if records is None:
        return False
    try:
        for record in records:
            handler.process_record(record)
    finally:
        if not isinstance(xml_file, str):
            xml_file.close()  # as SAX closes the file objects it parses
    return True


def _rereadable_bytes(xml_file: XmlSource) -> TypeGuard[IO[bytes]]:
    """Whether `xml_file` is a binary file object that can be read again from where it is."""
    try:
        return isinstance(xml_file.read(0), bytes) and xml_file.seekable()  # type: ignore[union-attr]
    except (AttributeError, OSError, ValueError):
        return False


def _records_of(document: bytes, handler: XmlHandler) -> Iterator[Record] | None:
    """The records `handler` would make of `document`, each made as its turn comes (so that an error
    in making one comes after those before it were sent, as with SAX); None if the document is not
    well-formed (SAX is to raise its error), has a type declaration (whose entities SAX resolves), or
    the native reader leaves it to SAX (see `marc_polars.marcxml::handler`)."""
    if not _well_formed_without_document_type(document):
        return None
    made = FIELD_MAKER.marcxml(document, strict=handler._strict)
    if made is None:
        return None
    form = handler.normalize_form
    return (_record(leader, fields, form) for leader, fields in made)


def _well_formed_without_document_type(document: bytes) -> bool:
    """Whether expat, configured as SAX configures it, reads `document` without error or type
    declaration."""

    def document_type(*_: object) -> None:
        raise _DocumentType

    parser = expat.ParserCreate(None, " ")
    parser.StartDoctypeDeclHandler = document_type
    try:
        parser.Parse(document, True)
    except (expat.ExpatError, _DocumentType):
        return False
    return True


class _DocumentType(Exception):
    """A document type declaration: what SAX does with its entities decides the events."""


def _record(leader: str | None, fields: list[FieldParts], form: NormalizeForm | None) -> Record:
    """The record `XmlHandler` makes of a record the native reader read."""
    record = Record()
    if form is not None:
        leader = None if leader is None else unicodedata.normalize(form, leader)
        fields = [_normalized(parts, form) for parts in fields]
    if leader is not None:
        record.leader = Leader(leader)
    record.fields = [make_field(parts) for parts in fields]
    return record


def _normalized(parts: FieldParts, form: NormalizeForm) -> FieldParts:
    """A field's text (not its tag, indicators or codes, which are attributes) normalised."""
    if len(parts) == 2:
        return parts[0], unicodedata.normalize(form, parts[1])
    tag, indicators, subfields = parts
    return tag, indicators, [Subfield(code, unicodedata.normalize(form, value)) for code, value in subfields]


class _Text:
    """A value as element text: a string as it is, bytes (a record read with `to_unicode=False`)
    converted from MARC-8 (`quiet` silences the conversion's warnings), no data as no text."""

    def __init__(self, quiet: bool) -> None:
        self._quiet = quiet
        self._marc8: MARC8ToUnicode | None = None

    def __call__(self, value: str | bytes | None) -> str:
        if isinstance(value, str):
            return value
        if value is None:  # a control field without data: MARC-8 conversion of nothing
            return ""
        if self._marc8 is None:
            self._marc8 = MARC8ToUnicode(quiet=self._quiet)
        return self._marc8.translate(value)


#: The root element's attributes with `namespace`: written as plain attributes, so that the element
#: serialises without ElementTree prefixes.
_NAMESPACE_ATTRIBUTES = {"xmlns": MARC_XML_NS, "xmlns:xsi": XSI_NS, "xsi:schemaLocation": MARC_XML_SCHEMA}
_ROOT_ATTRIBUTES = "".join(f' {key}="{_escape_attrib(value)}"' for key, value in _NAMESPACE_ATTRIBUTES.items())


def _element(name: str, attributes: str, text: str) -> str:
    """One element without children, as ElementTree writes it: empty text makes an empty tag."""
    if text:
        return f"<{name}{attributes}>{_escape_cdata(text)}</{name}>"
    return f"<{name}{attributes} />"


def _record_xml(record: Record, quiet: bool, namespace: bool) -> str:
    """The element `record_to_xml_node` makes, as `ElementTree.tostring` writes it, without making
    it: a tree costs far more to build than its text. Escaped by ElementTree's own functions, so
    that the text is the one it writes."""
    text = _Text(quiet)
    parts = [f"<record{_ROOT_ATTRIBUTES if namespace else ''}>", _element("leader", "", str(record.leader))]
    for field in record.fields:
        tag = _escape_attrib(field.tag)
        if field.control_field:
            parts.append(_element("controlfield", f' tag="{tag}"', text(field.data)))
            continue
        ind1, ind2 = _escape_attrib(field.indicator1), _escape_attrib(field.indicator2)
        parts.append(f'<datafield ind1="{ind1}" ind2="{ind2}" tag="{tag}"')
        subfields = [
            _element("subfield", f' code="{_escape_attrib(subfield.code)}"', text(subfield.value))
            for subfield in field.subfields
        ]
        parts.append(f">{''.join(subfields)}</datafield>" if subfields else " />")
    parts.append("</record>")
    return "".join(parts)


def record_to_xml(record: Record, quiet: bool = False, namespace: bool = False) -> bytes:
    """The record as a MARCXML `<record>` element, serialised in ASCII with character references."""
    root = _ROOT_ATTRIBUTES if namespace else ""
    xml = written_natively(record, "xml_ascii", root)
    if xml is not None:
        return cast(bytes, xml)
    return _record_xml(record, quiet, namespace).encode("ascii", "xmlcharrefreplace")


def record_to_xml_utf8(record: Record) -> bytes:
    """The record as a MARCXML `<record>` element in UTF-8, as `XMLWriter` writes each record."""
    xml = written_natively(record, "xml")
    if xml is not None:
        return cast(bytes, xml)
    return _record_xml(record, False, False).encode("utf-8", "xmlcharrefreplace")


def record_to_xml_node(record: Record, quiet: bool = False, namespace: bool = False) -> ET.Element:
    """The record as a MARCXML `<record>` ElementTree element.

    With `namespace`, the element declares the MARCXML namespace and schema location. Values
    still held as bytes (records read with `to_unicode=False`) are converted from MARC-8;
    `quiet` silences that conversion's warnings.
    """
    text = _Text(quiet)
    root = ET.Element("record", _NAMESPACE_ATTRIBUTES if namespace else {})
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
