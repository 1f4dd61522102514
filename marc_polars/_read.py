"""The DataFrame API: `read_marc`."""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from importlib.resources import files
from typing import IO, Union

import polars as pl

from marc_polars import _native

Source = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview, IO[bytes]]

#: The columns of the lossless schema, in output order.
LOSSLESS_COLUMNS = ("leader", "fields")

#: 1,000 Library of Congress records (BooksAll 2016, public domain), shipped with the package.
SAMPLE = str(files("marc_polars") / "data" / "booksall_sample.mrc")


def _native_source(source: object) -> str | bytes | bytearray:
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        return path if isinstance(path, str) else os.fsdecode(path)
    if isinstance(source, (bytes, bytearray)):
        return source
    if isinstance(source, memoryview):
        return source.tobytes()
    if isinstance(source, io.TextIOBase):
        raise TypeError("expected a binary file object, got a text-mode file: open it with 'rb'")
    read = getattr(source, "read", None)
    if callable(read):
        data = read()
        if not isinstance(data, (bytes, bytearray)):
            raise TypeError(f"the file object's .read() returned {type(data).__name__}, not bytes")
        return data
    raise TypeError(
        "expected str, os.PathLike, bytes or a binary file-like object with .read(), "
        f"got {type(source).__name__}"
    )


def _native_sources(source: Source | Sequence[Source]) -> list[str | bytes | bytearray]:
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
        records, a binary file object, or a list of these, read one after another.
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
    if n_rows is not None and n_rows < 0:
        raise ValueError(f"n_rows must be >= 0, got {n_rows}")
    selected = _projection(columns)
    df = _native.read_frame(
        _native_sources(source),
        leader="leader" in selected,
        fields="fields" in selected,
        n_rows=n_rows,
    )
    df = df.select(selected)
    if row_index_name is not None:
        df = df.with_row_index(row_index_name, offset=row_index_offset)
    return df
