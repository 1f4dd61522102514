"""Exceptions raised for damaged MARC data, and by the `marc_polars.pymarc` record API.

One hierarchy serves both. The reader raises subclasses of `MarcError`, which name the source,
the 0-based number of the record and the byte offset where that record starts in its source,
both in the message and as attributes (and, as `offset_in_record`, where in the record the
damage is). Each damage also has a stable code (`MarcError.code`, `DAMAGE_CODES`): what the
`error` column of `on_error="collect"` starts with. `marc_polars.pymarc` raises the classes under
`PymarcException`; where a damage has a name in both (a truncated record, say) it is the same
class, so either `except` clause catches it.

Every class can be raised without arguments; its message is then a fixed description of the
problem.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:  # for annotations only: the record API imports this module, and loads on first use
    from marc_polars.pymarc.field import Field


class PymarcException(Exception):
    """Base of every error of the record API."""

    #: The message when the exception was raised without one.
    default_message: ClassVar[str] = ""

    def __str__(self) -> str:
        if self.args:
            return super().__str__()
        return self.default_message


class FatalReaderError(PymarcException):
    """A damage after which a file cannot be read any further."""


class MarcError(PymarcException, ValueError):
    """A record that cannot be read as ISO 2709.

    `source` names the input, `record` is the record's 0-based number in it, `byte_offset` where
    the record starts in it, `offset_in_record` where in the record the damage was found, and
    `code` what kind of damage it is (a key of `DAMAGE_CODES`).
    """

    default_message = "Invalid MARC record"

    def __init__(
        self,
        message: str | None = None,
        source: str | None = None,
        record: int | None = None,
        byte_offset: int | None = None,
        offset_in_record: int | None = None,
        code: str | None = None,
    ) -> None:
        # No message keeps `args` empty, so that `str()` falls back to the class's description.
        super().__init__(*(() if message is None else (message,)))
        self.source = source
        self.record = record
        self.byte_offset = byte_offset
        self.offset_in_record = offset_in_record
        self.code = code


class RecordLengthInvalid(MarcError, FatalReaderError):
    """Leader/00-04 is not a number, or too small to hold a record."""

    default_message = "Invalid record length in first 5 bytes of record"


class TruncatedRecord(MarcError, FatalReaderError):
    """The input ends inside a record."""

    default_message = "Record length in leader is greater than the length of data"


class EndOfRecordNotFound(MarcError, FatalReaderError):
    """The record length does not point at a record terminator (0x1D)."""

    default_message = "Unable to locate end of record marker"


class BaseAddressInvalid(MarcError):
    """Leader/12-16 is not a number, or points outside the record."""

    default_message = "Base address exceeds size of record"


class RecordDirectoryInvalid(MarcError):
    """A directory entry is malformed or points outside the record."""

    default_message = "Invalid directory"


class FieldInvalid(MarcError):
    """A field lacks its terminator, or a data field lacks its two indicators."""

    default_message = "Invalid field"


class InvalidEncoding(MarcError):
    """The record's bytes are not valid in its character encoding."""

    default_message = "Invalid character encoding"


class XMLInvalid(MarcError):
    """A MARCXML record is not well-formed XML."""

    default_message = "Invalid XML"


class JSONInvalid(MarcError):
    """A MARC-in-JSON record is not well-formed JSON."""

    default_message = "Invalid JSON"


class RecordStructureInvalid(MarcError):
    """A MARCXML or MARC-in-JSON record is well-formed but not a MARC record: it has no leader, an
    element or member its form does not have, or a tag or indicator of the wrong length."""

    default_message = "Not a MARC record"


class UnknownFormatError(RecordLengthInvalid):
    """The input is not MARC records in a form that is read: it starts as an HTML page, a PDF, XML
    or JSON of another kind, or compressed bytes read as they are. Raised whatever ``on_error``
    says: it is the wrong input, not a damaged record. A subclass of `RecordLengthInvalid`, which
    is what pymarc raises for such input."""

    default_message = "The input is not MARC records in a form that is read"


#: Each damage code the reader gives, and the class it raises.
DAMAGE_CODES: dict[str, type[MarcError]] = {
    "bad_record_length": RecordLengthInvalid,
    "truncated": TruncatedRecord,
    "missing_record_terminator": EndOfRecordNotFound,
    "bad_base_address": BaseAddressInvalid,
    "bad_directory": RecordDirectoryInvalid,
    "field_out_of_bounds": RecordDirectoryInvalid,
    "missing_field_terminator": FieldInvalid,
    "bad_indicators": FieldInvalid,
    "invalid_utf8": InvalidEncoding,
    "invalid_marc8": InvalidEncoding,
    "malformed_xml": XMLInvalid,
    "malformed_json": JSONInvalid,
    "bad_structure": RecordStructureInvalid,
    "unknown_format": UnknownFormatError,
}


def from_code(code: str, message: str, source: str, record: int, byte_offset: int, offset_in_record: int) -> MarcError:
    """The exception for a damage the reader found, by its code."""
    return DAMAGE_CODES[code](message, source, record, byte_offset, offset_in_record, code)


class RecordLeaderInvalid(PymarcException):
    """The leader is not 24 characters long."""

    default_message = "Unable to extract record leader"


class NoFieldsFound(PymarcException):
    """The record's directory lists no fields."""

    default_message = "Unable to locate fields in record data"


class BaseAddressNotFound(PymarcException):
    """The base address in the leader is zero or negative."""

    default_message = "Unable to locate base address of record"


class WriteNeedsRecord(PymarcException):
    """A writer was given something other than a `Record`."""

    default_message = "Write requires a pymarc.Record object as an argument"


class NoActiveFile(PymarcException):
    """A writer was used after its file was closed."""

    default_message = "There is no active file to write to in call to write"


class FieldNotFound(PymarcException):
    """The field to remove is not in the record."""

    default_message = "Record does not contain the specified field"


class BadLeaderValue(PymarcException):
    """A value does not fit the leader position it is written to."""


class MissingLinkedFields(PymarcException):
    """A field's subfield 6 points at 880 fields the record lacks."""

    def __init__(self, field: Field) -> None:
        super().__init__(field)
        self.field = field

    def __str__(self) -> str:
        return f"{self.field.tag} field includes a subfield 6 but no linked fields could be found."


class CharactersLeftOutWarning(UserWarning):
    """Characters a form cannot hold were left out of the records written: control characters
    (other than tab, line feed and carriage return) in MARCXML, which XML 1.0 does not allow."""


class BadSubfieldCodeWarning(Warning):
    """A subfield code that is not ASCII; the record keeps an ASCII stand-in for it."""

    def __init__(self, subf: bytes) -> None:
        super().__init__(subf)
        self.subf = subf

    def __str__(self) -> str:
        return f"The subfield contained a non-ASCII subfield code: {self.subf!r}"


__all__ = [
    "DAMAGE_CODES",
    "BadLeaderValue",
    "BadSubfieldCodeWarning",
    "BaseAddressInvalid",
    "BaseAddressNotFound",
    "CharactersLeftOutWarning",
    "EndOfRecordNotFound",
    "FatalReaderError",
    "FieldInvalid",
    "FieldNotFound",
    "InvalidEncoding",
    "JSONInvalid",
    "MarcError",
    "MissingLinkedFields",
    "NoActiveFile",
    "NoFieldsFound",
    "PymarcException",
    "RecordDirectoryInvalid",
    "RecordLeaderInvalid",
    "RecordLengthInvalid",
    "RecordStructureInvalid",
    "TruncatedRecord",
    "UnknownFormatError",
    "WriteNeedsRecord",
    "XMLInvalid",
    "from_code",
]
