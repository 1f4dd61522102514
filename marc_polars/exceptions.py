"""Exceptions raised for damaged MARC data.

Every error names the source, the 0-based number of the record and the byte offset where that
record starts in its source, both in its message and as attributes.
"""

from __future__ import annotations


class MarcError(ValueError):
    """A record that cannot be read as ISO 2709."""

    def __init__(
        self,
        message: str,
        source: str | None = None,
        record: int | None = None,
        byte_offset: int | None = None,
    ) -> None:
        super().__init__(message)
        self.source = source
        self.record = record
        self.byte_offset = byte_offset


class RecordLengthInvalid(MarcError):
    """Leader/00-04 is not a number, or too small to hold a record."""


class TruncatedRecord(MarcError):
    """The input ends inside a record."""


class EndOfRecordNotFound(MarcError):
    """The record length does not point at a record terminator (0x1D)."""


class BaseAddressInvalid(MarcError):
    """Leader/12-16 is not a number, or points outside the record."""


class RecordDirectoryInvalid(MarcError):
    """A directory entry is malformed or points outside the record."""


class FieldInvalid(MarcError):
    """A field lacks its terminator, or a data field lacks its two indicators."""


class InvalidEncoding(MarcError):
    """The record's bytes are not valid in its character encoding."""


__all__ = [
    "BaseAddressInvalid",
    "EndOfRecordNotFound",
    "FieldInvalid",
    "InvalidEncoding",
    "MarcError",
    "RecordDirectoryInvalid",
    "RecordLengthInvalid",
    "TruncatedRecord",
]
