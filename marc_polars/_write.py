"""`write_marc`: the lossless columns back to records, as ISO 2709, MARCXML or MARC-in-JSON."""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable
from typing import IO, Literal

import polars as pl

from marc_polars import _native
from marc_polars._read import _Columns
from marc_polars.exceptions import CharactersLeftOutWarning

Destination = str | os.PathLike[str] | IO[bytes]

#: ``format=`` of `write_marc`: the form records are written in.
WriteFormat = Literal["iso2709", "marcxml", "json", "ndjson"]

#: The form a file's name asks for, by its extension (after a compression's): ISO 2709 otherwise.
EXTENSIONS: dict[str, WriteFormat] = {".xml": "marcxml", ".json": "json", ".ndjson": "ndjson", ".jsonl": "ndjson"}

#: The compression a file's name asks for, by its last extension.
COMPRESSED = {".gz": "gzip", ".zst": "zstd", ".bz2": "bz2", ".xz": "xz"}


def write_marc(frame: pl.DataFrame | pl.LazyFrame, dest: Destination, format: WriteFormat | None = None) -> int:
    """Write a frame in the lossless schema (``leader``, ``fields``) as ISO 2709, MARCXML or
    MARC-in-JSON records.

    Each row becomes one record, its fields in list order: a field with ``data`` is written as a
    control field, any other as its two indicators and its subfields. Other columns are ignored.

    ``format`` is ``"iso2709"``, ``"marcxml"`` (a ``collection``, one ``record`` a line),
    ``"json"`` (a JSON array of MARC-in-JSON records, as pymarc's ``JSONWriter`` writes them) or
    ``"ndjson"`` (one MARC-in-JSON record a line); by default a path's extension says which:
    ``.xml``, ``.json``, ``.ndjson`` or ``.jsonl``, anything else ISO 2709. A path ending in
    ``.gz``, ``.zst``, ``.bz2`` or ``.xz`` is compressed so (``dump.xml.gz``: gzip-compressed
    MARCXML). In ISO 2709 the record length, base address and directory are computed anew, and
    leader/09 is set to ``a`` (UTF-8); in MARCXML and MARC-in-JSON the leader is written as it is.
    ``write_marc(read_marc(f), out)`` gives back the bytes of ``f`` for well-formed UTF-8 ISO 2709
    records, and ``read_marc`` reads any form written back to the same frame, but for what XML 1.0
    cannot hold: control characters other than tab, line feed and carriage return (a stray
    subfield delimiter at the end of a control field, say) are left out of MARCXML (in a leader,
    tag, indicator or subfield code, whose characters are positions, replaced by the fill
    character ``|``), with a :class:`~marc_polars.exceptions.CharactersLeftOutWarning` counting
    them.

    ``dest`` is a path or a binary file object (its ``.write`` is called with blocks of about
    4 MiB). A path is written whole or not at all: to a temporary file beside it, renamed over it
    once complete, so that a failed or interrupted write leaves the file as it was, and writing
    back to the file the frame was read from is safe. A LazyFrame is collected first.

    Returns the number of records written.

    Raises
    ------
    ValueError
        leaving the destination as it was, if a column is missing or of the wrong type, or a record cannot
        be written: a leader that is not 24 ASCII characters, a tag that is not 3 ASCII characters,
        an indicator that is not one character, a null where a value must be, or (in ISO 2709) a
        field longer than 9,999 bytes or a record longer than 99,999. The message names the row.
    """
    if isinstance(frame, pl.LazyFrame):
        frame = frame.collect()
    lossless = _lossless(frame.schema)
    # Only the lossless columns cross to the writer: other columns may be of any type. A path is
    # written to a temporary file that replaces it only once whole, so a record that cannot be
    # written leaves it as it was; a file object's stream cannot be taken back: it is checked first.
    check = not isinstance(dest, (str, os.PathLike))
    return write_frames([frame.select(*lossless)], dest, *output_of(dest, format), check=check)


def _lossless(schema: pl.Schema) -> pl.Schema:
    """The lossless schema, which `schema` must have."""
    lossless = _Columns.of(None).schema(None)
    for name, dtype in lossless.items():
        if name not in schema:
            raise ValueError(f"the frame has no {name!r} column (the lossless schema has leader and fields)")
        if schema[name] != dtype:
            raise ValueError(f"column {name!r} is {schema[name]}, not the lossless schema's {dtype}")
    return lossless


def output_of(dest: Destination, format: WriteFormat | None) -> tuple[WriteFormat, str | None]:
    """The form and compression `dest` is written in: as given, else by its name's extensions."""
    if isinstance(dest, os.PathLike):
        dest = os.fspath(dest)
    if not isinstance(dest, str):
        return format or "iso2709", None
    root, last = os.path.splitext(dest.lower())
    compression = COMPRESSED.get(last)
    if compression is not None:
        last = os.path.splitext(root)[1]
    return format or EXTENSIONS.get(last, "iso2709"), compression


def write_frames(
    frames: Iterable[pl.DataFrame], dest: Destination, form: WriteFormat, compression: str | None, check: bool
) -> int:
    """Writes lossless `frames` one after another as the records of one file in `form`, compressed
    with `compression`; `check`: all of them (a list) before writing any."""
    if isinstance(dest, os.PathLike):
        dest = os.fspath(dest)
    rows, left_out, first = _native.write_marc(frames, dest, format=form, compression=compression, check=check)
    if left_out:
        warnings.warn(
            f"{left_out:,} control character(s) that XML 1.0 cannot hold were left out (or, where a "
            f"character is a position, replaced by |), the first in row {first}",
            CharactersLeftOutWarning,
            stacklevel=3,
        )
    return rows
