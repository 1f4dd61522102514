"""`write_marc`: the lossless columns back to ISO 2709."""

from __future__ import annotations

import os
from typing import IO

import polars as pl

from marc_polars import _native
from marc_polars._read import _Columns

Destination = str | os.PathLike[str] | IO[bytes]


def write_marc(frame: pl.DataFrame | pl.LazyFrame, dest: Destination) -> int:
    """Write a frame in the lossless schema (``leader``, ``fields``) as ISO 2709 records.

    Each row becomes one record, its fields in list order: a field with ``data`` is written as a
    control field, any other as its two indicators and its subfields. The record length, base
    address and directory are computed anew, and leader/09 is set to ``a`` (UTF-8); every other
    leader position is written as it is. ``write_marc(read_marc(f), out)`` gives back the bytes of
    ``f`` for well-formed UTF-8 records. Other columns are ignored.

    ``dest`` is a path or a binary file object (its ``.write`` is called with blocks of about
    4 MiB). A path is written whole or not at all: to a temporary file beside it, renamed over it
    once complete, so that a failed or interrupted write leaves the file as it was, and writing
    back to the file the frame was read from is safe. A LazyFrame is collected first.

    Returns the number of records written.

    Raises
    ------
    ValueError
        before anything is written, if a column is missing or of the wrong type, or a record cannot
        be written: a leader that is not 24 ASCII characters, a tag that is not 3 ASCII characters,
        an indicator that is not one character, a null where a value must be, a field longer than
        9,999 bytes or a record longer than 99,999. The message names the row.
    """
    if isinstance(frame, pl.LazyFrame):
        frame = frame.collect()
    lossless = _Columns.of(None).schema(None)
    for name, dtype in lossless.items():
        if name not in frame.schema:
            raise ValueError(f"the frame has no {name!r} column (the lossless schema has leader and fields)")
        if frame.schema[name] != dtype:
            raise ValueError(f"column {name!r} is {frame.schema[name]}, not the lossless schema's {dtype}")
    if isinstance(dest, os.PathLike):
        dest = os.fspath(dest)
    # Only the lossless columns cross to the writer: other columns may be of any type.
    return _native.write_marc(frame.select(*lossless), dest)
