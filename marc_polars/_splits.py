"""Byte ranges of files, for engines that spread one dump over processes or machines (Ray, Dask,
Spark): a planner that cuts files into splits, and a reader of one split."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from marc_polars import _native
from marc_polars._read import Columns, Compression, Format, OnError, _Columns, read_frame
from marc_polars._report import ReadReport
from marc_polars._sources import Source, expand

#: Bytes per split unless asked otherwise: large enough that a split's start-up (some 15 ms of a Ray
#: Data task's scheduling) is little beside its reading, small enough that a dump of a few GB keeps
#: many workers busy. 128 MiB is also Spark's partition size and Ray Data's largest block.
DEFAULT_SPLIT_SIZE = 128 << 20


@dataclass(frozen=True)
class Split:
    """Bytes ``start`` to ``end`` of the file at ``path``, and the records that start there.

    A split's reader starts at the first record start at or after ``start`` and reads past ``end``
    to finish its last record, where the next split's reader starts: read one by one, the splits of
    a file give each of its records exactly once, as :func:`read_marc` reads them.
    """

    path: str
    start: int
    end: int


def plan_splits(
    paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    split_size: int = DEFAULT_SPLIT_SIZE,
    *,
    glob: bool = True,
    compression: Compression = "infer",
    format: Format = "auto",
    storage_options: dict[str, str] | None = None,
) -> list[Split]:
    """Cuts files into splits of ``split_size`` bytes, in order, for :func:`read_split` to read
    anywhere: in other processes, on other machines.

    ISO 2709, MARCXML and MARC-in-JSON one record after another (a line each, or not) split; a
    compressed file, or MARC-in-JSON written as one array, is one split covering the whole file.
    Each file's first bytes are read to tell which, as ``compression`` and ``format`` say. Paths
    may be URLs of remote objects and patterns of them, read with ``storage_options`` as
    :func:`read_marc` reads them.
    """
    if split_size < 1:
        raise ValueError(f"split_size must be >= 1, got {split_size}")
    splits: list[Split] = []
    listed: list[Source] = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    for path in expand(listed, glob, storage_options):
        if not isinstance(path, str):
            raise TypeError(f"plan_splits takes paths, not {type(path).__name__}")
        length, splittable = _native.splittable(path, compression, format, storage_options)
        if not splittable:
            splits.append(Split(path, 0, length))
            continue
        splits.extend(
            Split(path, start, min(start + split_size, length)) for start in range(0, max(length, 1), split_size)
        )
    return splits


def read_split(
    split: Split,
    *,
    columns: Columns = None,
    include_file_paths: str | None = None,
    include_byte_offsets: str | None = None,
    encoding: str = "auto",
    nfc: bool = False,
    include_encoding: str | None = None,
    on_error: OnError = "raise",
    include_repairs: str | None = None,
    report: ReadReport | None = None,
    compression: Compression = "infer",
    format: Format = "auto",
    storage_options: dict[str, str] | None = None,
) -> pl.DataFrame:
    """The records of one split of :func:`plan_splits`, with :func:`read_marc`'s columns and options.

    Errors name the file and the byte offset of the damaged record; record numbers count from the
    split's first record, which the split's reader cannot number in the file without reading all
    of it before. A split of a file that does not split reads the whole file if it starts at 0,
    and nothing otherwise.
    """
    plan = _Columns.of(
        columns, include_file_paths, include_encoding, encoding, nfc, on_error, include_repairs, include_byte_offsets
    )
    return read_frame(
        [split.path],
        plan,
        report,
        compression=compression,
        format=format,
        split=(split.start, split.end),
        storage_options=storage_options,
    )
