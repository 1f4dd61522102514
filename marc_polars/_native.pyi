from collections.abc import Iterator, Sequence
from typing import Any

import polars as pl

class BatchIterator(Iterator[pl.DataFrame]):
    def __iter__(self) -> BatchIterator: ...
    def __next__(self) -> pl.DataFrame: ...
    def close(self) -> None: ...

def iter_batches(
    sources: Sequence[object],
    *,
    leader: bool = True,
    fields: bool = True,
    specs: Sequence[tuple[str, str]] = (),
    source_column: str | None = None,
    encoding: str = "auto",
    n_rows: int | None = None,
    threads: int = 0,
    chunk_size: int = ...,
    batch_size: int = ...,
    map_files: bool = False,
) -> BatchIterator: ...
def read_frame(batches: BatchIterator) -> pl.DataFrame: ...
def schema(
    *,
    leader: bool = True,
    fields: bool = True,
    specs: Sequence[tuple[str, str]] = (),
    source_column: str | None = None,
) -> pl.Schema: ...
def parse_spec(spec: str) -> bool: ...
def extract(series: pl.Series, spec: str) -> pl.Series: ...

class RawRecord:
    """One record of a `RecordReader`; its fields are made as Python values when asked for."""

    @property
    def regular(self) -> bool: ...
    @property
    def leader(self) -> str: ...
    def bytes(self) -> bytes: ...
    def __len__(self) -> int: ...
    def find(self, tag: str) -> int: ...
    def field(self, index: int) -> tuple[Any, ...]: ...
    def all_fields(self) -> list[tuple[Any, ...]]: ...

class RecordReader(Iterator[RawRecord]):
    def __iter__(self) -> RecordReader: ...
    def __next__(self) -> RawRecord: ...
    def close(self) -> None: ...

def read_records(
    sources: Sequence[object],
    subfield: type,
    indicators: type,
    *,
    force_utf8: bool = False,
    threads: int = 0,
    chunk_size: int = ...,
) -> RecordReader: ...
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
def _inject_panic(record: int | None) -> None: ...
