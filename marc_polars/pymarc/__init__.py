"""A record-at-a-time API with pymarc's names and behaviour.

Scripts written for pymarc run unchanged after ``import marc_polars.pymarc as pymarc``::

    import marc_polars.pymarc as pymarc

    with open("catalogue.mrc", "rb") as handle:
        for record in pymarc.MARCReader(handle):
            print(record.title)
"""

from __future__ import annotations

from marc_polars.pymarc.constants import (
    DIRECTORY_ENTRY_LEN,
    END_OF_FIELD,
    END_OF_RECORD,
    LEADER_LEN,
    SUBFIELD_INDICATOR,
)
from marc_polars.pymarc.exceptions import (
    BadLeaderValue,
    BadSubfieldCodeWarning,
    BaseAddressInvalid,
    BaseAddressNotFound,
    EndOfRecordNotFound,
    FatalReaderError,
    FieldNotFound,
    MissingLinkedFields,
    NoActiveFile,
    NoFieldsFound,
    PymarcException,
    RecordDirectoryInvalid,
    RecordLeaderInvalid,
    RecordLengthInvalid,
    TruncatedRecord,
    WriteNeedsRecord,
)
from marc_polars.pymarc.field import Field, Indicators, RawField, Subfield, map_marc8_field
from marc_polars.pymarc.leader import Leader
from marc_polars.pymarc.marc8 import MARC8ToUnicode, marc8_to_unicode
from marc_polars.pymarc.marcjson import JSONHandler, parse_json_to_array
from marc_polars.pymarc.marcxml import (
    MARC_XML_NS,
    MARC_XML_SCHEMA,
    XSI_NS,
    XmlHandler,
    map_xml,
    parse_xml,
    parse_xml_to_array,
    record_to_xml,
    record_to_xml_node,
)
from marc_polars.pymarc.reader import JSONReader, MARCMakerReader, MARCReader, Reader, map_records
from marc_polars.pymarc.record import Record, map_marc8_record, normalize_subfield_code
from marc_polars.pymarc.writer import JSONWriter, MARCWriter, TextWriter, Writer, XMLWriter

__all__ = [
    "DIRECTORY_ENTRY_LEN",
    "END_OF_FIELD",
    "END_OF_RECORD",
    "LEADER_LEN",
    "MARC_XML_NS",
    "MARC_XML_SCHEMA",
    "SUBFIELD_INDICATOR",
    "XSI_NS",
    "BadLeaderValue",
    "BadSubfieldCodeWarning",
    "BaseAddressInvalid",
    "BaseAddressNotFound",
    "EndOfRecordNotFound",
    "FatalReaderError",
    "Field",
    "FieldNotFound",
    "Indicators",
    "JSONHandler",
    "JSONReader",
    "JSONWriter",
    "Leader",
    "MARC8ToUnicode",
    "MARCMakerReader",
    "MARCReader",
    "MARCWriter",
    "MissingLinkedFields",
    "NoActiveFile",
    "NoFieldsFound",
    "PymarcException",
    "RawField",
    "Reader",
    "Record",
    "RecordDirectoryInvalid",
    "RecordLeaderInvalid",
    "RecordLengthInvalid",
    "Subfield",
    "TextWriter",
    "TruncatedRecord",
    "WriteNeedsRecord",
    "Writer",
    "XMLWriter",
    "XmlHandler",
    "map_marc8_field",
    "map_marc8_record",
    "map_records",
    "map_xml",
    "marc8_to_unicode",
    "normalize_subfield_code",
    "parse_json_to_array",
    "parse_xml",
    "parse_xml_to_array",
    "record_to_xml",
    "record_to_xml_node",
]
