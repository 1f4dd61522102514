from collections.abc import Iterable, Iterator, Sequence
from typing import Generic, TypedDict, TypeVar

import polars as pl

from marc_polars.exceptions import MarcError

# The dicts below exist only in this stub: at run time they are plain dicts.

class Projection(TypedDict):
    """The columns `iter_batches` and `schema` build, and how records are read."""

    leader: bool
    fields: bool
    #: (output name, MARCspec) of each MARCspec column.
    specs: list[tuple[str, str]]
    source_column: str | None
    offset_column: str | None
    encoding_column: str | None
    repairs_column: str | None
    encoding: str
    nfc: bool
    on_error: str

class Report(TypedDict):
    """`BatchIterator.report`: the tally of the read so far (the lists from the items asked for)."""

    rows: int
    collected: int
    repaired: int
    skipped: list[MarcError]
    #: (source, byte offset, length) of the padding skipped between records.
    junk: list[tuple[str, int, int]]
    #: (source, record, byte offset, offset in the record, code, count, detail) of each repair.
    repairs: list[tuple[str, int, int, int, str, int, str]]

class BatchIterator(Iterator[pl.DataFrame]):
    def __iter__(self) -> BatchIterator: ...
    def __next__(self) -> pl.DataFrame: ...
    def close(self) -> None: ...
    def report(self, skipped_from: int = 0, junk_from: int = 0, repairs_from: int = 0) -> Report: ...
    def progress(self) -> tuple[int, int]: ...

def iter_batches(
    sources: Sequence[object],
    columns: Projection | None = None,
    *,
    n_rows: int | None = None,
    threads: int = 0,
    chunk_size: int = ...,
    batch_size: int = ...,
    map_files: bool = False,
    compression: str | None = "infer",
    format: str = "auto",
    split: tuple[int, int] | None = None,
    storage_options: dict[str, str] | None = None,
) -> BatchIterator: ...
def read_frame(batches: BatchIterator) -> pl.DataFrame: ...
def schema(columns: Projection) -> pl.Schema: ...
def write_marc(
    frames: Iterable[pl.DataFrame],
    dest: object,
    *,
    format: str = "iso2709",
    compression: str | None = None,
    check: bool = True,
) -> tuple[int, int, int | None]: ...
def parse_spec(spec: str) -> bool: ...

#: The named-tuple classes `read_records` makes subfields and indicators of: pairs of strings.
_Subfield = TypeVar("_Subfield", bound=tuple[str, str])
_Indicators = TypeVar("_Indicators", bound=tuple[str, str])

class RawRecord(Generic[_Subfield, _Indicators]):
    """One record of a `RecordReader`; its fields are made as Python values when asked for."""

    @property
    def regular(self) -> bool: ...
    @property
    def leader(self) -> str: ...
    def bytes(self) -> bytes: ...
    def __len__(self) -> int: ...
    def find(self, tag: str) -> int: ...
    def field(self, index: int) -> tuple[str, str] | tuple[str, _Indicators, list[_Subfield]]:
        """`(tag, data)` for a control field, `(tag, indicators, subfields)` for a data field."""
    def all_fields(self) -> list[tuple[str, str] | tuple[str, _Indicators, list[_Subfield]]]: ...

class RecordReader(Iterator[RawRecord[_Subfield, _Indicators]]):
    def __iter__(self) -> RecordReader[_Subfield, _Indicators]: ...
    def __next__(self) -> RawRecord[_Subfield, _Indicators]: ...
    def close(self) -> None: ...

def read_records(
    sources: Sequence[object],
    subfield: type[_Subfield],
    indicators: type[_Indicators],
    *,
    force_utf8: bool = False,
    marc8: bool = True,
    threads: int = 0,
    chunk_size: int = ...,
) -> RecordReader[_Subfield, _Indicators]: ...

class FieldMaker(Generic[_Subfield, _Indicators]):
    """Makes fields, as `RawRecord.all_fields` gives them, from what the native readers read."""

    def __init__(self, subfield: type[_Subfield], indicators: type[_Indicators]) -> None: ...
    def marcxml(
        self, xml: bytes, *, strict: bool = False
    ) -> list[tuple[str | None, list[tuple[str, str] | tuple[str, _Indicators, list[_Subfield]]]]] | None:
        """The records of a well-formed MARCXML document as pymarc's `XmlHandler(strict)` makes
        them, as (leader text or None, fields); None where the handler is to read the document."""
    def json_record(
        self, record: object
    ) -> tuple[str, list[tuple[str, str] | tuple[str, _Indicators, list[_Subfield]]]] | None:
        """(leader, fields) of a plain MARC-in-JSON record object; None for any other object."""

def written(
    leader: str, fields: object, classes: tuple[type, type, type], form: str, root_attributes: str = ""
) -> str | bytes | None:
    """A record of the pymarc-compatible API, with leader text `leader` and `fields`, written as
    pymarc writes it in `form`: "iso2709" (UTF-8, bytes), "json" (str), "xml" (UTF-8, bytes),
    "xml_ascii" (bytes) or "text" (str); None unless every field is of the plain classes
    (`Field`, `Indicators`, `Subfield`), holding strings."""

def marc8_to_unicode(
    data: bytes | str, g0: int = 0x42, g1: int = 0x45, *, dialect: str = "marc21"
) -> tuple[str, list[tuple[int, str, int | None, int, int]], int, int]:
    """MARC-8 to NFC text, from the sets with final bytes g0/g1 (Basic Latin, ANSEL).

    Returns (text, problems, g0, g1): g0/g1 are the sets in force at the end. Each problem is
    (offset, kind, code, g0, g1), g0/g1 being the sets in force there, and kind one of:
    "unmapped_code" (code: the one- or three-byte code; a space was written),
    "truncated_multibyte" (code: the bytes of the cut EACC character; a space was written),
    "truncated_escape" (ESC written as U+001B, the bytes after it read as characters),
    "unknown_escape" (the ESC was dropped), "nonstandard_escape" (ESC F with no intermediate,
    designated as G0), "unknown_character_set" (code: its final byte), "dangling_combining"
    (combining marks with no base at the end, dropped), "pymarc_raises" (pymarc dialect: an
    escape sequence cut short where pymarc raises; decoding stopped there).

    dialect "marc21" follows MARC 21; "pymarc" reads as pymarc 5.4's marc8_to_unicode does, for
    scripts moved from pymarc, and also takes a str, each code point read as a byte (offsets are
    then character indices).
    """

def max_threads() -> int: ...
def set_max_threads(threads: int) -> None: ...

#: Bytes a source's compression (and form) is told by.
PREFIX_LEN: int

def compression_of(prefix: bytes) -> str | None: ...
def splittable(
    path: str, compression: str | None = "infer", format: str = "auto", storage_options: dict[str, str] | None = None
) -> tuple[int, bool]: ...
def glob_remote(pattern: str, storage_options: dict[str, str] | None = None) -> list[str]: ...
