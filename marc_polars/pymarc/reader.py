"""Record-at-a-time readers: ISO 2709 (`MARCReader`), MARC-in-JSON and MARCMaker text."""

from __future__ import annotations

import io
import itertools
import json
import os
import sys
from collections.abc import Callable, Iterator
from typing import IO, Any, Literal, NamedTuple, cast

from marc_polars._native import RawRecord, RecordReader
from marc_polars._sources import Source, native_source, source_name
from marc_polars.exceptions import MarcError
from marc_polars.pymarc._collector import CollectorPaused
from marc_polars.pymarc._decoded import FIELD_MAKER, DecodedRecord, make_field, native_records
from marc_polars.pymarc.constants import END_OF_RECORD
from marc_polars.pymarc.exceptions import (
    EndOfRecordNotFound,
    FatalReaderError,
    PymarcException,
    RecordLengthInvalid,
    TruncatedRecord,
)
from marc_polars.pymarc.field import Field, Indicators, Subfield
from marc_polars.pymarc.leader import Leader
from marc_polars.pymarc.record import Record

__all__ = ["JSONReader", "MARCMakerReader", "MARCReader", "Reader", "map_records"]

#: What `MARCReader` reads: raw ISO 2709 bytes, a binary file object or a path.
MarcSource = Source

_END_OF_RECORD = END_OF_RECORD.encode("ascii")


class Reader:
    """Base class of the iterating readers."""


class _Chunk(NamedTuple):
    """The bytes taken from the stream for one record, and why they are not a record, if so."""

    data: bytes
    error: FatalReaderError | None = None


def _read_up_to(file_handle: IO[bytes], size: int) -> bytes:
    """Up to `size` bytes, fewer only at the end of the stream.

    Unbuffered and pipe-like streams may return short reads before their end; asking again keeps
    such a stream from looking truncated.
    """
    data = file_handle.read(size)
    while data and len(data) < size:
        more = file_handle.read(size - len(data))
        if not more:
            break
        data += more
    return data


def _next_chunk(file_handle: IO[bytes]) -> _Chunk | None:
    """Frame the next record of an ISO 2709 stream by its leader's record length.

    Returns None at the end of the stream. Otherwise returns the bytes consumed for this record,
    with `error` set when they cannot be a record: `TruncatedRecord` (the stream ends first),
    `RecordLengthInvalid` (leader/00-04 is not a number) or `EndOfRecordNotFound` (the last byte
    is not 0x1D). Each of these errors leaves the stream position unreliable, so a reader stops
    after one. Nothing but the length and the terminator is checked here.
    """
    head = _read_up_to(file_handle, 5)
    if not head:
        return None
    if len(head) < 5:
        return _Chunk(head, TruncatedRecord())
    try:
        # int() rather than a digit check, so that lengths parse exactly as pymarc parses them.
        length = int(head)
    except ValueError:
        return _Chunk(head, RecordLengthInvalid())
    # A length too small to cover its own digits reads the rest of the stream, as pymarc's
    # read(length - 5) does.
    rest = file_handle.read() if length < 5 else _read_up_to(file_handle, length - 5)
    chunk = head + rest
    if len(chunk) < length:
        return _Chunk(chunk, TruncatedRecord())
    if chunk[-1:] != _END_OF_RECORD:
        return _Chunk(chunk, EndOfRecordNotFound())
    return _Chunk(chunk)


class MARCReader(Reader):
    """Iterate over the records of ISO 2709 data: bytes, a binary file object or a path.

    A record that cannot be read is yielded as None; `current_exception` then says why and
    `current_chunk` holds its bytes. After a framing error (a `FatalReaderError`: bad length,
    truncation, no end of record) iteration stops, since the next record's start is unknown.

    With `to_unicode`, records are decoded from MARC-8 or UTF-8 according to leader/09;
    `force_utf8` decodes UTF-8 whatever the leader says, `utf8_handling` is the codec error
    handler ('strict', 'replace', 'ignore') and `file_encoding` the charset of records that are
    neither. `permissive` is accepted for compatibility.

    `on_error` (keyword only, marc_polars's own) changes what happens to a record that cannot be
    read: by default it is yielded as None, as pymarc does; ``"raise"`` raises its exception
    instead (`current_chunk` holds its bytes); ``"skip"`` leaves it out and appends its exception to `skipped`.
    A framing error still ends the iteration after it (``read_marc(..., on_error=...)`` reads on
    past damaged framing).
    """

    _current_chunk: bytes | None = None
    _current_exception: Exception | None = None
    #: Under `on_error`: the number of the next record, and its byte offset in the source.
    _next_number = 0
    _next_offset = 0
    #: Under `on_error`: the number and byte offset of the record last read.
    _location = (0, 0)
    #: The record last read natively: its bytes become `current_chunk` only if asked for.
    _current_raw: RawRecord[Subfield, Indicators] | None = None
    _exhausted = False

    def __init__(
        self,
        marc_target: MarcSource,
        to_unicode: bool = True,
        force_utf8: bool = False,
        hide_utf8_warnings: bool = False,
        utf8_handling: str = "strict",
        file_encoding: str = "iso8859-1",
        permissive: bool = False,
        *,
        on_error: Literal["raise", "skip"] | None = None,
    ) -> None:
        super().__init__()
        if on_error not in (None, "raise", "skip"):
            raise ValueError(f'on_error must be None, "raise" or "skip", got {on_error!r}')
        self.on_error = on_error
        #: The exceptions of the records left out under ``on_error="skip"``, in order.
        self.skipped: list[Exception] = []
        self.to_unicode = to_unicode
        self.force_utf8 = force_utf8
        self.hide_utf8_warnings = hide_utf8_warnings
        self.utf8_handling = utf8_handling
        self.file_encoding = file_encoding
        self.permissive = permissive
        try:
            source = native_source(marc_target)
        except TypeError:
            # Taken for a file object, and failing as it fails in pymarc.
            source = cast(IO[bytes], marc_target)
        self.file_handle: IO[bytes]
        if isinstance(source, str):
            self.file_handle = open(source, "rb")  # noqa: SIM115 - closed by close()
        elif isinstance(source, (bytes, bytearray)):
            self.file_handle = io.BytesIO(source)
        else:
            self.file_handle = source
        # Records are decoded natively, in batches and in parallel, as long as the framing holds;
        # after a framing error the rest is read here, the way pymarc reads it, from where the
        # native reader stopped. Without `to_unicode` every record would take the slow path.
        marc8 = file_encoding == "iso8859-1"  # records not in UTF-8 are MARC-8, read as pymarc reads it
        native = native_records(source, self.file_handle, force_utf8, marc8) if to_unicode else None
        self._native: RecordReader[Subfield, Indicators] | None = native[0] if native else None
        self._native_start = native[1] if native else 0
        self._source_name = source_name(source)
        self._next_offset = self._native_start if native else _position(self.file_handle)

    @property
    def current_chunk(self) -> bytes | None:
        """The bytes of the record last read, good or bad."""
        if self._current_raw is not None:
            self._current_chunk = self._current_raw.bytes()
            self._current_raw = None
        return self._current_chunk

    @property
    def current_exception(self) -> Exception | None:
        """Why the record last read was yielded as None; None if it was read."""
        return self._current_exception

    def close(self) -> None:
        """Close the file handle (also one passed in by the caller)."""
        if self._native is not None:
            self._native.close()
            self._native = None
        self.file_handle.close()

    def __iter__(self) -> MARCReader:
        return self

    def __next__(self) -> Record | None:
        record = self._next_record()
        while record is None and self.on_error is not None:
            assert self._current_exception is not None
            error = self._located(self._current_exception)
            if self.on_error == "raise":
                raise error
            self.skipped.append(error)
            record = self._next_record()
        return record

    def _read(self, length: int) -> None:
        """Notes that the record just read is `length` bytes long (under `on_error` only)."""
        self._location = (self._next_number, self._next_offset)
        self._next_number += 1
        self._next_offset += length

    def _located(self, error: Exception) -> Exception:
        """`error` naming the source, record number and byte offset of the record last read, in
        its `source`, `record` and `byte_offset` attributes and in its message: a `MarcError` of
        the same class; another exception (a decoding error, pymarc's way) keeps its class and
        gets them in a note, where Python has notes."""
        number, offset = self._location
        where = f"{self._source_name}: record {number} at byte offset {offset}"
        if isinstance(error, MarcError):
            located = type(error)(f"{where}: {error}", self._source_name, number, offset)
            located.__cause__ = error.__cause__
            return located
        # Attributes its class does not declare, so set by name.
        for name, value in (("source", self._source_name), ("record", number), ("byte_offset", offset)):
            setattr(error, name, value)
        if hasattr(error, "add_note"):
            error.add_note(where)
        return error

    def _next_record(self) -> Record | None:
        if self._exhausted or isinstance(self._current_exception, FatalReaderError):
            raise StopIteration
        self._current_exception = None
        self._current_chunk = None
        self._current_raw = None
        native = self._native
        if native is not None:
            try:
                raw = next(native)
            except StopIteration:
                # The native reader read the source to its end (not necessarily through the handle).
                self._native = None
                self._exhausted = True
                self._current_chunk = b""
                raise
            except MarcError as error:
                # A framing error: pymarc's own framing goes on from the record that has it.
                self._native = None
                self.file_handle.seek(self._native_start + (error.byte_offset or 0))
                self._next_offset = self._native_start + (error.byte_offset or 0)
            else:
                if raw.regular:
                    self._current_raw = raw
                    if self.on_error is not None:  # where records are, kept only for errors
                        self._read(int(raw.leader[:5]))  # the length of a regular record
                    return DecodedRecord.from_raw(raw, self.force_utf8)
                self._current_chunk = raw.bytes()
                self._read(len(self._current_chunk))
                return self._decode(self._current_chunk)
        framed = _next_chunk(self.file_handle)
        if framed is None:
            self._current_chunk = b""
            raise StopIteration
        self._read(len(framed.data))
        self._current_chunk = framed.data
        if framed.error is not None:
            self._current_exception = framed.error
            return None
        return self._decode(framed.data)

    def _decode(self, data: bytes) -> Record | None:
        """`data` as a Record the way pymarc decodes it, or None with `current_exception` set."""
        try:
            return Record(
                data,
                to_unicode=self.to_unicode,
                force_utf8=self.force_utf8,
                hide_utf8_warnings=self.hide_utf8_warnings,
                utf8_handling=self.utf8_handling,
                file_encoding=self.file_encoding,
            )
        except Exception as exc:  # any decoding failure makes this one record None
            self._current_exception = exc
            return None


def _position(handle: IO[bytes]) -> int:
    """Where `handle` stands, 0 if it cannot say (a pipe)."""
    try:
        return handle.tell()
    except (AttributeError, ValueError, OSError):
        return 0


def map_records(f: Callable[[Record | None], object], *files: MarcSource) -> None:
    """Call `f` on every record of each of `files`, in order (None for unreadable records)."""
    for source in files:
        reader = MARCReader(source)
        try:
            for record in reader:
                f(record)
        finally:
            # Close only what the reader opened itself; the caller's handles stay open.
            if reader.file_handle is not source:
                reader.close()


def _text_handle(target: bytes | bytearray | str | os.PathLike[str] | IO[str], encoding: str | None) -> IO[str]:
    """A text handle on a file object, an existing path, or the text itself."""
    if isinstance(target, io.IOBase) or callable(getattr(target, "read", None)):
        # Whatever its class, an object with .read() is read as a text file object.
        return cast(IO[str], target)
    if isinstance(target, os.PathLike) or (isinstance(target, str) and os.path.exists(target)):
        return open(target, encoding=encoding)  # the caller closes it
    if isinstance(target, (bytes, bytearray)):
        return io.StringIO(bytes(target).decode(encoding or "utf-8"))
    # The text itself; anything else fails here.
    return io.StringIO(cast(str, target))


#: Records of MARC-in-JSON made at once.
_JSON_BATCH = 1000


class _Unreadable(NamedTuple):
    """A record that could not be made, by the error making it raised."""

    error: Exception


def _attempt(make: Callable[[dict[str, Any]], Record], obj: dict[str, Any]) -> Record | _Unreadable:
    try:
        return make(obj)
    except Exception as error:  # raised when the record's turn comes, as making it then would
        return _Unreadable(error)


class JSONReader(Reader):
    """Iterate over the records of MARC-in-JSON: one record object or an array of them.

    `marc_target` is a file object, a path or the JSON text. The whole document is loaded at once
    (`stream` is accepted, but not supported).
    """

    def __init__(
        self,
        marc_target: bytes | str | os.PathLike[str] | IO[str],
        encoding: str = "utf-8",
        stream: bool = False,
    ) -> None:
        self.encoding = encoding
        self.file_handle = _text_handle(marc_target, encoding)
        if stream:
            sys.stderr.write("JSONReader cannot stream: all records are loaded into memory\n")
        # strict=False: catalogue data does carry raw control characters inside strings.
        with CollectorPaused():
            self.records: Any = json.load(self.file_handle, strict=False)
        if self.file_handle is not marc_target:
            self.file_handle.close()  # opened (or wrapped) here, and read whole
        self.iter: Iterator[Record | _Unreadable] | None = None  # made from `records` when first asked for

    def _objects(self) -> Iterator[dict[str, Any]]:
        if isinstance(self.records, dict) or not hasattr(self.records, "__iter__"):
            return iter([self.records])
        return iter(self.records)

    def _made(self) -> Iterator[Record | _Unreadable]:
        """The records of `records`, made a batch at a time with the collector paused: made one at
        a time between a script's statements, each would pay for the collector's passes over all
        the script holds (see `_collector`). A record that cannot be made is its error, raised in
        its turn."""
        objects = self._objects()
        while batch := list(itertools.islice(objects, _JSON_BATCH)):
            with CollectorPaused():
                made = [_attempt(self._record, obj) for obj in batch]
            yield from made

    def __iter__(self) -> JSONReader:
        # Each iteration starts over from the first record, made anew.
        self.iter = None
        return self

    def __next__(self) -> Record:
        if self.iter is None:
            self.iter = self._made()
        made = next(self.iter)
        if isinstance(made, _Unreadable):
            raise made.error
        return made

    @staticmethod
    def _record(obj: dict[str, Any]) -> Record:
        record = Record()
        plain = FIELD_MAKER.json_record(obj)
        if plain is not None:
            leader, parts = plain
            record.leader = Leader(leader)
            record.fields = [make_field(field) for field in parts]
            return record
        record.leader = Leader(obj["leader"])
        fields = record.fields
        for entry in obj["fields"]:
            tag, value = next(iter(entry.items()))
            # pymarc's test, whose `in` raises for a value `in` does not take (a number).
            if "subfields" in value and hasattr(value, "update"):
                # Each subfield object normally holds one code; any extra codes are kept in order.
                subfields = [Subfield(code, text) for sub in value["subfields"] for code, text in sub.items()]
                fields.append(Field.made(tag, Indicators(value["ind1"], value["ind2"]), subfields))
            else:
                fields.append(Field(tag=tag, data=value))
        return record


class MARCMakerReader(Reader):
    r"""Iterate over records in MARCMaker text, as `str(record)` and `TextWriter` write it.

    `target` is a text file object, a path (read with `encoding`) or the text itself. Records are
    separated by a blank line; each line is `=TAG  data`, with `=LDR` for the leader and
    `=TAG  12$aone$btwo` for data fields. The text is read whole and the handle closed.
    """

    def __init__(self, target: bytes | str | os.PathLike[str] | IO[str], encoding: str = "utf-8") -> None:
        file_handle = _text_handle(target, encoding)
        try:
            text = file_handle.read()
        finally:
            file_handle.close()
        self.records: list[str] = text.split("\n\n")
        self.iter: Iterator[str] = iter(self.records)

    def _parse_line(self, line: str) -> Leader | Field:
        """The leader or field that one MARCMaker line holds."""
        if line[:1] != "=":
            raise ValueError('Line should start with a "=".')
        if line[4:6] != "  ":
            raise ValueError("Tag should be separated from the rest of the field by two spaces.")
        tag, data = line[1:4], line[6:]
        if tag == "LDR":
            return Leader(data)
        if tag < "010":
            return Field(tag, data=data)
        # data[2] is the '$' of the first subfield; splitting after it leaves no empty piece.
        subfields = [Subfield(piece[:1], piece[1:]) for piece in data[3:].split("$")]
        return Field(tag, indicators=Indicators(data[0], data[1]), subfields=subfields)

    def __iter__(self) -> MARCMakerReader:
        return self

    def __next__(self) -> Record:
        text = next(self.iter)
        record = Record()
        for line in text.splitlines():
            try:
                parsed = self._parse_line(line)
            except Exception as exc:
                raise PymarcException(f'Unable to parse line "{line}"') from exc
            if isinstance(parsed, Leader):
                record.leader = parsed
            else:
                record.add_field(parsed)
        return record
