"""The DataFrame API: `read_marc` and `iter_batches`."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator, Sequence
from importlib.resources import files
from typing import IO, Union

import polars as pl

from marc_polars import _native

Source = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview, IO[bytes]]

#: The columns of the lossless schema, in output order.
LOSSLESS_COLUMNS = ("leader", "fields")

#: Records per batch of `iter_batches` at most, unless asked otherwise.
DEFAULT_BATCH_SIZE = 50_000

#: 1,000 Library of Congress records (BooksAll 2016, public domain), shipped with the package.
SAMPLE = str(files("marc_polars") / "data" / "booksall_sample.mrc")


def _native_source(source: object) -> object:
    """What the native reader takes: a path `str`, `bytes`/`bytearray`, or a binary file object."""
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        return path if isinstance(path, str) else os.fsdecode(path)
    if isinstance(source, (bytes, bytearray)):
        return source
    if isinstance(source, memoryview):
        whole = isinstance(source.obj, bytes) and source.c_contiguous and source.nbytes == len(source.obj)
        # A view of a whole bytes object is read in place; any other view is copied once.
        return source.obj if whole else source.tobytes()
    if isinstance(source, io.TextIOBase):
        raise TypeError("expected a binary file object, got a text-mode file: open it with 'rb'")
    if callable(getattr(source, "read", None)):
        return source
    raise TypeError(
        "expected str, os.PathLike, bytes or a binary file-like object with .read(), "
        f"got {type(source).__name__}"
    )


def _native_sources(source: Source | Sequence[Source]) -> list[object]:
    if isinstance(source, (list, tuple)):
        return [_native_source(s) for s in source]
    return [_native_source(source)]


def _projection(columns: Sequence[str] | None) -> list[str]:
    if columns is None:
        return list(LOSSLESS_COLUMNS)
    if isinstance(columns, str):
        columns = [columns]
    unknown = [c for c in columns if c not in LOSSLESS_COLUMNS]
    if unknown:
        raise ValueError(f"unknown column(s) {unknown}: the columns are {list(LOSSLESS_COLUMNS)}")
    return list(dict.fromkeys(columns))


def _native_options(columns: Sequence[str] | None, n_rows: int | None) -> tuple[list[str], dict[str, object]]:
    """The selected columns, in output order, and the native reader's options for them."""
    if n_rows is not None and n_rows < 0:
        raise ValueError(f"n_rows must be >= 0, got {n_rows}")
    selected = _projection(columns)
    return selected, {"leader": "leader" in selected, "fields": "fields" in selected, "n_rows": n_rows}


def read_marc(
    source: Source | Sequence[Source],
    *,
    columns: Sequence[str] | None = None,
    n_rows: int | None = None,
    row_index_name: str | None = None,
    row_index_offset: int = 0,
) -> pl.DataFrame:
    """Read MARC 21 records (ISO 2709) into a DataFrame, one row per record.

    Parameters
    ----------
    source
        A path (``str`` or ``os.PathLike``), ``bytes``/``bytearray``/``memoryview`` holding the
        records, a binary file object (read in large blocks), or a list of these, read one after
        another.
    columns
        Which of ``"leader"`` and ``"fields"`` to build (default both). An unselected column is
        never built.
    n_rows
        Stop after this many records.
    row_index_name, row_index_offset
        Add a first column of that name numbering the rows from ``row_index_offset``.

    Returns
    -------
    polars.DataFrame
        ``leader: String`` and ``fields: List(Struct{tag, ind1, ind2, data,
        subfields: List(Struct{code, value})})``, fields and subfields in record order.

    Raises
    ------
    marc_polars.exceptions.MarcError
        (a subclass of it) for a damaged record, naming the source, record number and byte offset.
    """
    selected, options = _native_options(columns, n_rows)
    # Files are mapped rather than read in blocks: the frame keeps all of their text anyway.
    batches = _native.iter_batches(_native_sources(source), map_files=True, **options)
    df = _native.read_frame(batches).select(selected)
    if row_index_name is not None:
        df = df.with_row_index(row_index_name, offset=row_index_offset)
    return df


def iter_batches(
    source: Source | Sequence[Source],
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    columns: Sequence[str] | None = None,
    n_rows: int | None = None,
    row_index_name: str | None = None,
    row_index_offset: int = 0,
) -> Iterator[pl.DataFrame]:
    """Read MARC 21 records as DataFrames of at most ``batch_size`` records each, in input order.

    Takes the same sources and options as :func:`read_marc`; ``pl.concat`` of the batches equals
    ``read_marc``'s frame. Records are decoded ahead on all threads while memory stays bounded,
    whatever the size of the input. Leaving the loop early stops the reading.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    selected, options = _native_options(columns, n_rows)
    native = _native.iter_batches(_native_sources(source), batch_size=batch_size, **options)
    return _batches(native, selected, row_index_name, row_index_offset)


def _batches(
    native: _native.BatchIterator, selected: list[str], row_index_name: str | None, offset: int
) -> Iterator[pl.DataFrame]:
    try:
        for df in native:
            df = df.select(selected)
            if row_index_name is not None:
                df = df.with_row_index(row_index_name, offset=offset)
                offset += df.height
            yield df
    finally:
        native.close()
