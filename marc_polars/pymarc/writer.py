"""Writers of records to a file handle: ISO 2709, MARC-in-JSON, MARCMaker text and MARCXML."""

from __future__ import annotations

import json
from typing import IO, Any

from marc_polars.pymarc.exceptions import WriteNeedsRecord
from marc_polars.pymarc.marcxml import MARC_XML_NS, record_to_xml_utf8
from marc_polars.pymarc.record import Record, written_natively

__all__ = ["JSONWriter", "MARCWriter", "TextWriter", "Writer", "XMLWriter"]


class Writer:
    """Base writer: holds the handle, checks what is written and closes.

    Once closed, a writer keeps no handle and further writes are silently dropped.
    """

    def __init__(self, file_handle: IO[Any] | None) -> None:
        self.file_handle: IO[Any] | None = file_handle

    def write(self, record: Record) -> None:
        """Write one record; raises `WriteNeedsRecord` for anything but a `Record`."""
        if not isinstance(record, Record):
            raise WriteNeedsRecord

    def close(self, close_fh: bool = True) -> None:
        """Finish the output and let go of the handle, closing it too unless `close_fh` is False."""
        if close_fh and self.file_handle:
            self.file_handle.close()
        self.file_handle = None


class JSONWriter(Writer):
    """Writes a JSON array of MARC-in-JSON records to a text handle.

    The array is only complete once the writer is closed; `close(close_fh=False)` completes it
    and leaves the handle open (e.g. to read a `StringIO` afterwards).
    """

    def __init__(self, file_handle: IO[str] | None) -> None:
        super().__init__(file_handle)
        self.write_count = 0
        if self.file_handle:
            self.file_handle.write("[")

    def write(self, record: Record) -> None:
        super().write(record)
        if self.file_handle:
            if self.write_count:
                self.file_handle.write(",")
            # The text `json.dump` writes: natively, unless the record's class has its own `as_dict`;
            # otherwise at once by the C encoder (`json.dump` encodes in Python, piece by piece).
            text = written_natively(record, "json") if type(record).as_dict is Record.as_dict else None
            if text is None:
                text = json.dumps(record.as_dict(), separators=(",", ":"))
            self.file_handle.write(text)
            self.write_count += 1

    def close(self, close_fh: bool = True) -> None:
        if self.file_handle:
            self.file_handle.write("]")
        super().close(close_fh)


class MARCWriter(Writer):
    """Writes records in ISO 2709 transmission format to a binary handle."""

    def write(self, record: Record) -> None:
        super().write(record)
        if self.file_handle:
            self.file_handle.write(record.as_marc())


class TextWriter(Writer):
    """Writes records as MARCMaker text (`str(record)`) to a text handle, a blank line between."""

    def __init__(self, file_handle: IO[str] | None) -> None:
        super().__init__(file_handle)
        self.write_count = 0

    def write(self, record: Record) -> None:
        super().write(record)
        if self.file_handle:
            # Each record ends with a newline; one more makes the separating blank line.
            if self.write_count:
                self.file_handle.write("\n")
            self.file_handle.write(str(record))
            self.write_count += 1


class XMLWriter(Writer):
    """Writes records as a UTF-8 MARCXML `<collection>` to a binary handle.

    The document is only complete once the writer is closed; `close(close_fh=False)` completes it
    and leaves the handle open.
    """

    def __init__(self, file_handle: IO[bytes] | None) -> None:
        super().__init__(file_handle)
        if self.file_handle:
            self.file_handle.write(b'<?xml version="1.0" encoding="UTF-8"?>')
            self.file_handle.write(f'<collection xmlns="{MARC_XML_NS}">'.encode("ascii"))

    def write(self, record: Record) -> None:
        super().write(record)
        if self.file_handle:
            # The records inherit the collection's default namespace, so they declare none.
            self.file_handle.write(record_to_xml_utf8(record))

    def close(self, close_fh: bool = True) -> None:
        if self.file_handle:
            self.file_handle.write(b"</collection>")
        super().close(close_fh)
