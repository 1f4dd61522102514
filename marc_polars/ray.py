"""MARC records as a Ray Dataset: files cut into splits, each split read by a Ray task.

>>> import marc_polars as mp
>>> import marc_polars.ray as mpr
>>> import polars as pl
import pyarrow as pa
>>> import ray
>>> ds = mpr.read_marc("dumps/*.mrc", columns=mp.BIBLIOGRAPHIC)    # lazy: read when consumed
>>> for batch in ds.iter_batches(batch_format="pyarrow", batch_size=None):
...     frame = pl.from_arrow(batch)                               # one split's records
>>> frame = pl.concat(pl.from_arrow(t) for t in ray.get(ds.to_arrow_refs()))  # all of them
>>> titles = ds.select_columns(["title"])                          # only "title" is built

Needs the ``ray`` extra: ``pip install "marc_polars[ray]"``. The files must be readable at the same
paths on every node that runs a read task: URLs of an object store (``s3://...``, with
``storage_options``), or a shared file system, as with Ray's own readers.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

try:
    import ray
    from ray.data import Dataset, Datasource, ReadTask
    from ray.data.block import BlockMetadata
except ImportError as error:  # the extra is not installed
    raise ImportError('marc_polars.ray needs Ray Data: pip install "marc_polars[ray]"') from error

import polars as pl
import pyarrow as pa

import marc_polars as mp
from marc_polars._read import Columns, Compression, Format, OnError, _Columns
from marc_polars._report import ReadReport
from marc_polars._splits import Split
from marc_polars.exceptions import MarcError

Paths = str | os.PathLike[str] | Sequence[str | os.PathLike[str]]

#: The column a read asked for no column builds (``Dataset.count``): Ray counts a block's rows by its
#: columns, and the byte offsets are the cheapest column to build.
_ROWS = "byte_offset"


class _Reports:
    """The Ray actor that gathers the ReadReport of each split, by the split's place in the plan.

    Keyed rather than appended to: a task that runs again (its worker lost, or the dataset executed
    once more) sends its split's report again, and it replaces the first, so no split counts twice.
    """

    def __init__(self) -> None:
        self._by_split: dict[int, ReadReport] = {}

    def put(self, index: int, report: ReadReport) -> None:
        self._by_split[index] = report

    def in_order(self) -> list[ReadReport]:
        return [self._by_split[index] for index in sorted(self._by_split)]


def _merge(reports: Sequence[ReadReport], into: ReadReport) -> None:
    """Fills `into` with the sum of `reports` (the splits' tallies, in plan order, so input order)."""
    into.rows = sum(r.rows for r in reports)
    into.collected = sum(r.collected for r in reports)
    into.repaired = sum(r.repaired for r in reports)
    into.skipped = [error for r in reports for error in r.skipped]
    into.junk = [junk for r in reports for junk in r.junk]
    into.repairs = [repair for r in reports for repair in r.repairs]


def _read(split: Split, index: int, options: dict[str, Any], keep: list[str], reports: Any) -> list[Any]:
    """A read task's work: one split read into one Arrow block of the columns `keep`, and its
    report, when one is gathered, sent before the block is handed over (or the error raised)."""
    report = ReadReport() if reports is not None else None
    try:
        table = _to_arrow(mp.read_split(split, report=report, **options))
    finally:
        if reports is not None:
            ray.get(reports.put.remote(index, report))
    # Drops the error columns, which come with `on_error` whether kept or not.
    return [table if table.column_names == keep else table.select(keep)]


@functools.cache
def _converters() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(mp.max_threads(), thread_name_prefix="marc-polars-arrow")


def _to_arrow(frame: pl.DataFrame) -> pa.Table:
    """`frame` as an Arrow table, converted in as many slices as the reader has threads, at once.

    Polars converts a frame on one thread (each string view to a `large_string`, a copy of every
    value: as long as the read itself), without the GIL: in slices, a task converts its split in
    half the time on two threads, while Ray Data runs one task at a time, as it does at first.
    """
    threads = mp.max_threads()
    if threads < 2 or frame.height < 2 * threads:
        return frame.to_arrow()
    step = -(-frame.height // threads)
    slices = [frame.slice(offset, step) for offset in range(0, frame.height, step)]
    return pa.concat_tables(_converters().map(pl.DataFrame.to_arrow, slices))


class MarcDatasource(Datasource):  # type: ignore[misc]
    """A Ray Data datasource of MARC files: :func:`read_marc` is ``ray.data.read_datasource`` of it.

    The files are planned into splits by :func:`marc_polars.plan_splits` when the datasource is made
    (in the driver), and each split is one read task and one block, read by
    :func:`marc_polars.read_split`. Takes the options of :func:`read_marc` but ``report``; with
    ``gather_reports=True`` each task also sends its split's :class:`~marc_polars.ReadReport` to a
    small actor (which lives as long as the datasource), summed by :meth:`fill_report`.

    Supports projection pushdown: ``Dataset.select_columns`` reaches the read tasks, which build only
    the columns selected (and ``Dataset.count`` only the byte offsets).
    """

    def __init__(
        self,
        paths: Paths,
        *,
        columns: Columns = None,
        split_size: int | None = None,
        glob: bool = True,
        include_file_paths: str | None = None,
        include_byte_offsets: str | None = None,
        encoding: str = "auto",
        nfc: bool = False,
        include_encoding: str | None = None,
        on_error: OnError = "raise",
        include_repairs: str | None = None,
        compression: Compression = "infer",
        format: Format = "auto",
        storage_options: dict[str, str] | None = None,
        gather_reports: bool = False,
    ) -> None:
        super().__init__()
        self._projection_map: dict[str, str] | None = None  # None: every column; Ray sets it by copies
        sizing = {} if split_size is None else {"split_size": split_size}
        self._splits = mp.plan_splits(
            paths, **sizing, glob=glob, compression=compression, format=format, storage_options=storage_options
        )
        self._columns = _Columns.of(columns).made_from
        self._extras = {
            "include_file_paths": include_file_paths,
            "include_byte_offsets": include_byte_offsets,
            "include_encoding": include_encoding,
            "include_repairs": include_repairs,
        }
        self._reading = {
            "encoding": encoding,
            "nfc": nfc,
            "on_error": on_error,
            "compression": compression,
            "format": format,
            "storage_options": storage_options,
        }
        # Made from no input: it checks the options and MARCspecs here, in the driver, before any task.
        self._schema = mp.scan_marc(
            b"",
            columns=self._columns,
            include_file_paths=include_file_paths,
            include_byte_offsets=include_byte_offsets,
            include_encoding=include_encoding,
            include_repairs=include_repairs,
            encoding=encoding,
            nfc=nfc,
            on_error=on_error,
        ).collect_schema()
        self._reports = ray.remote(num_cpus=0)(_Reports).remote() if gather_reports else None

    @property
    def splits(self) -> list[Split]:
        """The splits, one per read task, in order."""
        return list(self._splits)

    def supports_projection_pushdown(self) -> bool:
        return True

    def estimate_inmemory_data_size(self) -> int:
        # The bytes of input: the lossless columns take about as much in Arrow, a projection less.
        return sum(split.end - split.start for split in self._splits)

    def get_read_tasks(
        self, parallelism: int, per_task_row_limit: int | None = None, data_context: Any = None
    ) -> list[ReadTask]:
        # One task per split whatever `parallelism` asks for: the splits are sized by `split_size`.
        options, built = self._plan()
        keep = built.names()
        # The blocks' Arrow schema, converted as the tasks convert their frames.
        schema = pl.DataFrame(schema=built).to_arrow().schema
        return [
            ReadTask(
                functools.partial(_read, split, index, options, keep, self._reports),
                BlockMetadata(
                    num_rows=None, size_bytes=split.end - split.start, exec_stats=None, input_files=[split.path]
                ),
                schema=schema,
                per_task_row_limit=per_task_row_limit,
            )
            for index, split in enumerate(self._splits)
        ]

    def fill_report(self, report: ReadReport) -> None:
        """Fills `report` with the sum of the reports of the splits read so far, in input order.

        Complete once every read task has run (the dataset materialised or consumed to its end);
        a split read again counts once.
        """
        if self._reports is None:
            raise ValueError("this datasource gathers no reports: make it with gather_reports=True")
        _merge(ray.get(self._reports.in_order.remote()), report)

    def _kept(self) -> list[str]:
        """The output columns after Ray's projection pushdown, in the order it asks for them."""
        names = self._schema.names()
        if self._projection_map is None:
            return names
        unknown = [name for name in self._projection_map if name not in names]
        if unknown:
            raise ValueError(f"columns {unknown} are not read: this read's columns are {names}")
        return list(self._projection_map)

    def _plan(self) -> tuple[dict[str, Any], pl.Schema]:
        """`read_split`'s options to build the columns kept by Ray's projection pushdown and no other
        (but the error columns, which `on_error` brings), and the blocks' schema."""
        keep = self._kept()
        if not keep:
            return {"columns": {}, "include_byte_offsets": _ROWS, **self._reading}, pl.Schema({_ROWS: pl.UInt64})
        columns = {name: what for name, what in self._columns.items() if name in keep}
        extras = {option: name for option, name in self._extras.items() if name in keep}
        return {"columns": columns, **extras, **self._reading}, pl.Schema({name: self._schema[name] for name in keep})


def read_marc(
    paths: Paths,
    *,
    columns: Columns = None,
    split_size: int | None = None,
    glob: bool = True,
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
    concurrency: int | None = None,
    num_cpus: float | None = None,
) -> Dataset:
    """Read MARC 21 files (ISO 2709, MARCXML or MARC-in-JSON) into a Ray Dataset, one row per record.

    The files are cut into splits of about ``split_size`` bytes (default: that of
    :func:`marc_polars.plan_splits`, 128 MiB) in the driver, and each split is read by one Ray task
    into one Arrow block: every record is read once, each block holds its split's records in file
    order, and together the blocks hold the frame :func:`marc_polars.read_marc` reads. Ray hands
    the blocks over as their tasks end unless ``DataContext.execution_options.preserve_order`` is
    set: ``include_file_paths`` and ``include_byte_offsets`` are the key that orders the records.
    A compressed file, or MARC-in-JSON written as one array, is one split.

    The columns and options are those of :func:`marc_polars.read_marc` (``paths`` are paths or glob
    patterns, not bytes or file objects), and ``concurrency`` and ``num_cpus`` those of
    ``ray.data.read_datasource``: how many read tasks run at once, and the CPUs each reserves (each
    task reads its split on threads of its own, ``marc_polars.max_threads()``).

    The dataset is lazy: the files are read when it is consumed (``iter_batches``, ``to_arrow_refs``,
    ``materialize``, ``write_parquet``...), and ``select_columns`` reaches the read tasks, which then
    build only the columns selected. Each block is a ``pyarrow.Table``: ``pl.from_arrow(block)`` is
    the split's frame.

    ``report``: given a :class:`~marc_polars.ReadReport`, the read is done at once, here: the
    dataset returned is materialised (its blocks in Ray's object store), and ``report`` holds the
    sum of every split's tally, in input order, as ``marc_polars.read_marc`` would fill it (but
    that the record number in each error counts from its split's first record, which the byte
    offset places in the file). Each read task sends its split's report to a small actor before
    handing over its block; a task run again replaces its split's report, so none counts twice.

    Under ``on_error="raise"`` a damaged record fails its task and so the read, at once: Ray Data
    retries a task whose worker was lost (by default without limit) but not one that raised, unless
    ``DataContext.retried_map_errors`` says so. With ``report`` the exception raised here is the
    :class:`~marc_polars.MarcError` itself; when a lazy dataset is consumed, Ray raises its
    ``RayTaskError``, which is also an instance of the error's class (``except mp.MarcError`` catches
    it) and holds the error as ``.cause``.
    """
    source = MarcDatasource(
        paths,
        columns=columns,
        split_size=split_size,
        glob=glob,
        include_file_paths=include_file_paths,
        include_byte_offsets=include_byte_offsets,
        encoding=encoding,
        nfc=nfc,
        include_encoding=include_encoding,
        on_error=on_error,
        include_repairs=include_repairs,
        compression=compression,
        format=format,
        storage_options=storage_options,
        gather_reports=report is not None,
    )
    # As many blocks as splits: else Ray cuts each split's block into pieces to reach its default block count.
    blocks = len(source.splits) or None
    dataset: Dataset = ray.data.read_datasource(
        source, concurrency=concurrency, num_cpus=num_cpus, override_num_blocks=blocks
    )
    if report is None:
        return dataset
    try:
        return dataset.materialize()
    except ray.exceptions.RayTaskError as error:
        cause = _marc_error(error)
        if cause is None:
            raise
        raise cause from None
    finally:
        source.fill_report(report)  # what the splits read before an error, as read_marc fills it then


def _marc_error(error: BaseException) -> MarcError | None:
    """The MarcError a Ray task raised, out of Ray's wrapping of it, if that is what failed, with
    the message the reader gave it."""
    cause: BaseException | None = error
    while cause is not None and not (isinstance(cause, MarcError) and not isinstance(cause, ray.exceptions.RayError)):
        cause = getattr(cause, "cause", None) or cause.__cause__
    if cause is not None and cause.args and isinstance(cause.args[0], str):
        # Ray Data appends its advice on retrying transient errors to the message ("\nFailed to ... after 1/1
        # attempts"): a damaged record is not transient.
        cause.args = (cause.args[0].split("\nFailed to ", 1)[0], *cause.args[1:])
    return cause


__all__ = ["MarcDatasource", "read_marc"]
