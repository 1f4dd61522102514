"""The DataFrame API: `read_marc`, `iter_batches` and `scan_marc`."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from importlib.resources import files
from typing import Literal, TypedDict

import polars as pl
from polars.io.plugins import register_io_source

from marc_polars import _native
from marc_polars._progress import shown
from marc_polars._report import ReadReport
from marc_polars._sources import NativeSource, Source, expand, is_stream, seekable

Columns = str | Sequence[str] | Mapping[str, str] | None

#: The columns of the lossless schema, in output order.
LOSSLESS_COLUMNS = ("leader", "fields")

#: Records per batch of `iter_batches` at most, unless asked otherwise.
DEFAULT_BATCH_SIZE = 50_000

#: Bytes of input per chunk (so per batch) of `read_marc`, which keeps every batch: smaller than the
#: native default (4 MiB, which bounds what `iter_batches` holds), as measured faster, warm above
#: all (BENCHMARKS.md).
READ_MARC_CHUNK_SIZE = 1 << 20

#: 1,000 Library of Congress records (BooksAll 2016, public domain), shipped with the package.
SAMPLE = str(files("marc_polars") / "data" / "booksall_sample.mrc")

#: Readable columns for bibliographic records, as MARCspecs: ``read_marc(f, columns=BIBLIOGRAPHIC)``.
BIBLIOGRAPHIC: dict[str, str] = {
    "control_number": "001",
    "title": "245[0]$a[0]",
    "author": "100[0]$a[0]",
    "isbns": "020$a",
    "publication_year": "008/07-10",
    "language": "008/35-37",
    "subjects": "6..$a",
}


#: The columns ``on_error="collect"`` and ``"repair"`` add: what is wrong with a record, and its
#: exact bytes (of a damaged or repaired record).
ERROR_COLUMNS = ("error", "raw")

OnError = Literal["raise", "skip", "collect", "repair"]

#: ``compression=``, pandas' names: found by the magic bytes, none, or one codec.
Compression = Literal["infer", "gzip", "zstd", "bz2", "xz"] | None

#: ``format=``: the form of the records, found by the first bytes or named.
Format = Literal["auto", "iso2709", "marcxml", "json"]


class _Reading(TypedDict):
    """How records are read, whatever the columns built: the native reader's options of that name."""

    encoding: str
    nfc: bool
    on_error: OnError


@dataclass(frozen=True)
class _Columns:
    """The output columns, in order, each with what it is made from (a lossless column's name or a
    MARCspec), then the columns of each record's encoding, its error and raw bytes, its repairs
    and its source; and how records are read (`encoding`, `nfc`, `on_error`)."""

    made_from: dict[str, str]
    source_column: str | None
    encoding_column: str | None
    repairs_column: str | None
    reading: _Reading
    offset_column: str | None = None

    @staticmethod
    def of(
        columns: Columns,
        include_file_paths: str | None = None,
        include_encoding: str | None = None,
        encoding: str = "auto",
        nfc: bool = False,
        on_error: OnError = "raise",
        include_repairs: str | None = None,
        include_byte_offsets: str | None = None,
    ) -> _Columns:
        if include_repairs and on_error != "repair":
            raise ValueError(f'include_repairs lists the repairs of on_error="repair", not of {on_error!r}')
        if columns is None:
            columns = LOSSLESS_COLUMNS
        if isinstance(columns, str):
            columns = [columns]
        pairs = list(columns.items()) if isinstance(columns, Mapping) else [(c, c) for c in columns]
        extra = [
            *([include_encoding] if include_encoding else []),
            *(ERROR_COLUMNS if on_error in ("collect", "repair") else ()),
            *([include_repairs] if include_repairs else []),
            *([include_file_paths] if include_file_paths else []),
            *([include_byte_offsets] if include_byte_offsets else []),
        ]
        made_from: dict[str, str] = {}
        for name, what in pairs:
            if name in made_from or name in extra:
                raise ValueError(f"column name {name!r} is used twice")
            made_from[name] = what
        if len(set(extra)) < len(extra):
            raise ValueError(f"column names {extra} are used twice")
        for name, what in made_from.items():
            if what not in LOSSLESS_COLUMNS and name in LOSSLESS_COLUMNS and name in made_from.values():
                raise ValueError(f"column name {name!r} is used twice: by a MARCspec and by the lossless column")
        reading: _Reading = {"encoding": encoding, "nfc": nfc, "on_error": on_error}
        # The specs, the encoding and on_error are checked by the native reader, when it is given them.
        return _Columns(made_from, include_file_paths, include_encoding, include_repairs, reading, include_byte_offsets)

    def _native_name(self, name: str) -> str:
        """The name of the native column that becomes `name`: lossless columns keep theirs."""
        what = self.made_from.get(name)
        return what if what in LOSSLESS_COLUMNS else name

    def names(self) -> list[str]:
        return [
            *self.made_from,
            *([self.encoding_column] if self.encoding_column else []),
            *(ERROR_COLUMNS if self.reading["on_error"] in ("collect", "repair") else ()),
            *([self.repairs_column] if self.repairs_column else []),
            *([self.source_column] if self.source_column else []),
            *([self.offset_column] if self.offset_column else []),
        ]

    def native(self, names: Sequence[str]) -> _native.Projection:
        """The native reader's options to build just `names` (the error columns come with
        `on_error="collect"` and `"repair"` whether asked for or not)."""
        made_from = [self.made_from[n] for n in names if n in self.made_from]
        specs = [(n, w) for n in names if (w := self.made_from.get(n)) is not None and w not in LOSSLESS_COLUMNS]
        return {
            "leader": "leader" in made_from,
            "fields": "fields" in made_from,
            "specs": specs,
            "source_column": self.source_column if self.source_column in names else None,
            "offset_column": self.offset_column if self.offset_column in names else None,
            "encoding_column": self.encoding_column if self.encoding_column in names else None,
            "repairs_column": self.repairs_column if self.repairs_column in names else None,
            **self.reading,
        }

    def select(self, df: pl.DataFrame, names: Sequence[str]) -> pl.DataFrame:
        """A native batch as the columns `names`, in that order."""
        native = [self._native_name(n) for n in names]
        if native == list(names):
            # Picked eagerly: `DataFrame.select` goes through the query engine, 2 ms a call.
            return df if df.columns == native else df[native]
        return df.select(pl.col(w).alias(n) for w, n in zip(native, names, strict=True))

    def schema(self, row_index_name: str | None) -> pl.Schema:
        names = self.names()
        native = _native.schema(self.native(names))
        schema = pl.Schema({n: native[self._native_name(n)] for n in names})
        if row_index_name is None:
            return schema
        index_dtype = pl.DataFrame().with_row_index(row_index_name).schema[row_index_name]
        return pl.Schema({row_index_name: index_dtype, **schema})


def _check(n_rows: int | None, batch_size: int | None = None) -> None:
    if n_rows is not None and n_rows < 0:
        raise ValueError(f"n_rows must be >= 0, got {n_rows}")
    if batch_size is not None and batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")


def read_marc(
    source: Source | Sequence[Source],
    *,
    columns: Columns = None,
    n_rows: int | None = None,
    row_index_name: str | None = None,
    row_index_offset: int = 0,
    glob: bool = True,
    include_file_paths: str | None = None,
    include_byte_offsets: str | None = None,
    encoding: str = "auto",
    nfc: bool = False,
    include_encoding: str | None = None,
    on_error: OnError = "raise",
    include_repairs: str | None = None,
    report: ReadReport | None = None,
    progress: bool = False,
    memory_map: bool = False,
    compression: Compression = "infer",
    format: Format = "auto",
    storage_options: dict[str, str] | None = None,
) -> pl.DataFrame:
    """Read MARC 21 records (ISO 2709, MARCXML or MARC-in-JSON) into a DataFrame, one row per record.

    Parameters
    ----------
    source
        A path (``str`` or ``os.PathLike``, a glob pattern when ``glob``), the URL of an object in
        an object store (``s3://``, ``gs://``, ``az://``; a glob pattern when ``glob``, listed by
        prefix) or on an HTTP server (``http(s)://``), ``bytes``/``bytearray``/
        ``memoryview`` holding the records, a binary file object (read in large blocks; an open
        regular file through its descriptor, from where it stands, and left at its end), or a list
        of these, read one after another.
    columns
        What to build, in output order: ``"leader"``, ``"fields"`` and MARCspecs (``"245$a"``,
        ``"008/35-37"``: the column is named after the spec), or a dict of output name to either.
        Default: the lossless ``leader`` and ``fields``. A column not asked for is never built.
    n_rows
        Stop after this many records (damaged ones included).
    row_index_name, row_index_offset
        Add a first column of that name numbering the rows from ``row_index_offset``.
    glob
        Expand glob patterns (``"dumps/*.mrc"``) in paths.
    include_file_paths
        Add a column of that name holding each record's source (its path, for files).
    include_byte_offsets
        Add a last column of that name (``UInt64``) holding the byte offset where each record
        starts in its source (decompressed, for a compressed file): with ``include_file_paths``,
        a key that names each record and orders records across reads.
    encoding
        ``"auto"``: as leader/09 says, UTF-8 (``a``) or MARC-8 (blank), except that a record
        labelled MARC-8 whose bytes are valid UTF-8 without escape sequences is read as UTF-8 (a
        common mislabelling). ``"utf-8"``, ``"marc-8"`` or ``"latin-1"`` read every record so.
        MARC-8 is decoded to Unicode, combining marks after their base letter.
    nfc
        Normalise text decoded from MARC-8 to NFC. By default it keeps MARC 21's decomposed order,
        each base letter followed by its combining marks, as the Library of Congress's own UTF-8
        records have it: a MARC-8 record then reads as its UTF-8 twin does. UTF-8 text is never
        changed.
    include_encoding
        Add a column of that name saying which encoding each record was read in: ``"utf-8"``,
        ``"marc-8"`` or ``"latin-1"``.
    on_error
        What to do with a damaged record (bad framing, directory, indicators or encoding):
        ``"raise"`` the typed exception naming the source, record number and byte offset;
        ``"skip"`` it (``report`` counts it and keeps its error); ``"collect"`` it as a row
        whose ``error`` column says what is wrong and whose ``raw`` column holds its exact bytes,
        its other columns holding what could be read of it (``error`` and ``raw`` are null on
        sound records); or ``"repair"`` it: read what real catalogues' quirks leave readable
        (stray leader bytes, one or three indicators, a tag with a space, a base address or
        directory lengths that lie, text before the first subfield delimiter, bytes outside
        MARC-8's tables or not UTF-8), keeping its exact bytes in ``raw`` and each repair in
        ``report`` (and ``include_repairs``); a record no repair reads is kept as under
        ``"collect"``. Whether a record is damaged never depends on the columns asked for.
        Padding between records (line ends, 0x1A, NUL, a byte order mark at the start) is
        skipped in every mode and reported; a record longer than the 99,999 bytes its length
        can say is read by its terminator.
    include_repairs
        With ``on_error="repair"``, add a column of that name listing the codes of the repairs
        made to each record (empty for a record read as it is): ``record_length``,
        ``leader_counts``, ``leader_entry_map``, ``leader_fill``, ``base_address``,
        ``directory_terminator``, ``tag_characters``, ``field_bounds``, ``missing_indicators``,
        ``extra_indicators``, ``text_before_subfield`` (the text is kept as subfield ``@``),
        ``indicator_replaced``, ``subfield_code_replaced``, ``marc8_replaced``,
        ``utf8_replaced``, ``read_as_marc8``, ``element_dropped``.
    report
        A :class:`ReadReport` to fill with what the read skipped or collected.
    progress
        Show a progress line while reading (input bytes and records, their rates and, when the
        size of the input is known, the share read): in place in a Jupyter notebook, else on
        standard error.
    memory_map
        Map files into memory rather than read them: the frame's strings then point into the
        page cache instead of memory of its own. Only where nothing changes the files while the
        frame lives: rewriting a mapped file changes the frame's values, and truncating it makes
        the process crash (SIGBUS) when they are read. By default files are read into memory the
        frame owns, in parallel, and a frame never depends on its files.
    compression
        ``"infer"``: decompress a source whose first bytes are those of gzip (multi-member files
        too), zstd, bzip2 or xz, whatever its name; ``None``: read the bytes as they are;
        ``"gzip"``, ``"zstd"``, ``"bz2"`` or ``"xz"``: decompress every source so. Decompression
        runs on a thread of its own, ahead of the decoding threads, in bounded memory.
    format
        ``"auto"``: each source's form told by its first bytes (after decompression): ISO 2709
        records, MARCXML (a ``collection``, bare ``record`` elements, or records in other XML such
        as an OAI-PMH response) or MARC-in-JSON (a JSON array of records, one record a line, or
        records one after another). ``"iso2709"``, ``"marcxml"`` or ``"json"`` read every source
        so. Input that is none of them raises :class:`~marc_polars.exceptions.UnknownFormatError`
        naming what it looks like. MARCXML and MARC-in-JSON text is Unicode, read in the encoding
        an XML declaration names (UTF-8 or ISO-8859-1) or as UTF-8, never as leader/09 says:
        ``encoding`` does not apply to it.

    storage_options
        The settings of the object store remote sources are read from, with the keys Polars'
        ``scan_parquet`` takes (``aws_endpoint_url``, ``aws_region``, ``aws_access_key_id``,
        ``google_service_account``, ``azure_storage_account_name``, ``allow_http``...); what they
        leave out is taken from the environment (``AWS_*``, ``GOOGLE_*``, ``AZURE_*``). Remote
        objects are read by concurrent range requests, off the GIL, in the memory a file takes.

    Returns
    -------
    polars.DataFrame
        ``leader: String`` and ``fields: List(Struct{tag, ind1, ind2, data,
        subfields: List(Struct{code, value})})``, fields and subfields in record order, or the
        columns asked for. A MARCspec column is ``String`` when the spec selects at most one value
        (``"001"``, ``"245[0]$a[0]"``), else ``List(String)``.

    Raises
    ------
    marc_polars.exceptions.MarcError
        (a subclass of it) for a damaged record under ``on_error="raise"``, naming the source,
        record number and byte offset.
    ValueError
        for an invalid MARCspec, naming it and the position of the error.
    """
    _check(n_rows)
    plan = _Columns.of(
        columns, include_file_paths, include_encoding, encoding, nfc, on_error, include_repairs, include_byte_offsets
    )
    sources = expand(source, glob, storage_options)
    df = read_frame(
        sources,
        plan,
        report,
        progress,
        n_rows,
        map_files=memory_map,
        compression=compression,
        format=format,
        storage_options=storage_options,
    )
    if row_index_name is not None:
        df = df.with_row_index(row_index_name, offset=row_index_offset)
    return df


def read_frame(
    sources: list[NativeSource],
    plan: _Columns,
    report: ReadReport | None,
    progress: bool = False,
    n_rows: int | None = None,
    **options: object,
) -> pl.DataFrame:
    """The frame of `plan`'s columns read from `sources` with the native reader's `options`;
    `report` filled with what was left out, and a progress line shown if asked."""
    names = plan.names()
    batches = _native.iter_batches(
        sources,
        plan.native(names),
        n_rows=n_rows,
        chunk_size=READ_MARC_CHUNK_SIZE,
        **options,  # type: ignore[arg-type]
    )
    try:
        with shown(progress, batches, sources, n_rows):
            df = plan.select(_native.read_frame(batches), names)
    finally:
        if report is not None:
            report._start()
            report._update(batches)
    return df


def iter_batches(
    source: Source | Sequence[Source],
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    columns: Columns = None,
    n_rows: int | None = None,
    row_index_name: str | None = None,
    row_index_offset: int = 0,
    glob: bool = True,
    include_file_paths: str | None = None,
    include_byte_offsets: str | None = None,
    encoding: str = "auto",
    nfc: bool = False,
    include_encoding: str | None = None,
    on_error: OnError = "raise",
    include_repairs: str | None = None,
    report: ReadReport | None = None,
    progress: bool = False,
    memory_map: bool = False,
    compression: Compression = "infer",
    format: Format = "auto",
    storage_options: dict[str, str] | None = None,
) -> BatchReader:
    """Read MARC 21 records as DataFrames of at most ``batch_size`` records each, in input order.

    Takes the same sources and options as :func:`read_marc`; ``pl.concat`` of the batches equals
    ``read_marc``'s frame. Records are decoded ahead on all threads while memory stays bounded,
    whatever the size of the input. Leaving a ``for`` loop over it early stops the reading and
    ends the batches, as do ``.close()`` and the end of a ``with`` block around it. ``report`` is
    kept up to date as batches are handed out.
    """
    _check(n_rows, batch_size)
    plan = _Columns.of(
        columns, include_file_paths, include_encoding, encoding, nfc, on_error, include_repairs, include_byte_offsets
    )
    names = plan.names()
    options = plan.native(names)
    sources = expand(source, glob, storage_options)
    native = _native.iter_batches(
        sources,
        options,
        batch_size=batch_size,
        n_rows=n_rows,
        map_files=memory_map,
        compression=compression,
        format=format,
        storage_options=storage_options,
    )
    display = shown(progress, native, sources, n_rows)
    return BatchReader(native, plan, names, row_index_name, row_index_offset, report, display)


class BatchReader:
    """The batches of :func:`iter_batches`, in input order: an iterator that stops reading, and
    ends, when the ``for`` loop over it is left early, when it is closed, or when a ``with``
    block around it ends.

    The native batches become the columns asked for, numbered, then filtered by `predicate` and
    cut to `output` (for scans); `display` (a progress line, or nothing) is shown while they are
    read."""

    def __init__(
        self,
        native: _native.BatchIterator,
        plan: _Columns,
        names: list[str],
        row_index_name: str | None,
        offset: int,
        report: ReadReport | None,
        display: AbstractContextManager[object],
        predicate: pl.Expr | None = None,
        output: list[str] | None = None,
    ) -> None:
        self._native, self._plan, self._names = native, plan, names
        self._row_index_name, self._offset = row_index_name, offset
        self._report, self._display = report, display
        self._predicate, self._output = predicate, output
        self._shown = False
        self._closed = False
        if report is not None:
            report._start()

    def __iter__(self) -> Iterator[pl.DataFrame]:
        # A generator of its own for each loop: the loop holds the only reference to it, so
        # leaving the loop finalises it, and that closes the reader.
        try:
            while True:
                try:
                    batch = next(self)
                except StopIteration:
                    return
                yield batch
        finally:
            self.close()

    def __next__(self) -> pl.DataFrame:
        if self._closed:
            raise StopIteration
        if not self._shown:
            self._display.__enter__()
            self._shown = True
        try:
            df = next(self._native)
        except BaseException:
            self.close()
            raise
        if self._report is not None:
            self._report._update(self._native)
        df = self._plan.select(df, self._names)
        if self._row_index_name is not None:
            df = df.with_row_index(self._row_index_name, offset=self._offset)
            self._offset += df.height
        if self._predicate is not None:
            df = df.filter(self._predicate)
        return df if self._output is None else df.select(self._output)

    def close(self) -> None:
        """Stops reading: the threads stop, and the batches end here."""
        if self._closed:
            return
        self._closed = True
        if self._report is not None:
            self._report._update(self._native)
        self._native.close()
        if self._shown:
            self._display.__exit__(None, None, None)

    def __enter__(self) -> BatchReader:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def scan_marc(
    source: Source | Sequence[Source],
    *,
    columns: Columns = None,
    n_rows: int | None = None,
    row_index_name: str | None = None,
    row_index_offset: int = 0,
    glob: bool = True,
    include_file_paths: str | None = None,
    include_byte_offsets: str | None = None,
    encoding: str = "auto",
    nfc: bool = False,
    include_encoding: str | None = None,
    on_error: OnError = "raise",
    include_repairs: str | None = None,
    report: ReadReport | None = None,
    batch_size: int | None = None,
    progress: bool = False,
    memory_map: bool = False,
    compression: Compression = "infer",
    format: Format = "auto",
    storage_options: dict[str, str] | None = None,
) -> pl.LazyFrame:
    """Lazily read MARC 21 records: a LazyFrame whose projections, filters and limits reach the decoder.

    Takes :func:`read_marc`'s sources and options. Only the columns a query uses are built (a query
    on MARCspec columns never builds ``fields``), filters are applied to each batch as it is
    decoded, and a limit stops the decoding. ``batch_size`` (records per batch) overrides the hint
    Polars gives. Each ``collect`` reads the sources again (and starts ``report`` afresh); a file
    object is read from where it stood when the scan was made, which a non-seekable stream allows
    once only.
    """
    _check(n_rows, batch_size)
    plan = _Columns.of(
        columns, include_file_paths, include_encoding, encoding, nfc, on_error, include_repairs, include_byte_offsets
    )
    sources = expand(source, glob, storage_options)
    schema = plan.schema(row_index_name)
    # Each seekable stream, by its place in `sources`, and where it stood when the scan was made.
    starts = {i: (s, s.tell()) for i, s in enumerate(sources) if is_stream(s) and seekable(s)}
    used = False

    def batches(
        with_columns: list[str] | None, predicate: pl.Expr | None, limit: int | None, size: int | None
    ) -> Iterator[pl.DataFrame]:
        nonlocal used
        for stream, start in starts.values():
            stream.seek(start)
        if used and any(is_stream(s) and i not in starts for i, s in enumerate(sources)):
            raise ValueError("this scan reads a stream that cannot seek: it can be collected only once")
        used = True
        output = list(schema) if with_columns is None else with_columns
        needed = [*output, *(c for c in _predicate_columns(predicate) if c not in output)]
        # Polars may ask for the row index alone (to count rows): build the first column then.
        names = [n for n in plan.names() if n in needed] or plan.names()[:1]
        rows = min((n for n in (n_rows, limit) if n is not None), default=None)
        options = plan.native(names)
        native = _native.iter_batches(
            sources,
            options,
            batch_size=batch_size or size or DEFAULT_BATCH_SIZE,
            n_rows=rows,
            map_files=memory_map,
            compression=compression,
            format=format,
            storage_options=storage_options,
        )
        display = shown(progress, native, sources, rows)
        yield from BatchReader(
            native, plan, names, row_index_name, row_index_offset, report, display, predicate, output
        )

    detail = ", ".join(s if isinstance(s, str) else type(s).__name__ for s in sources)
    return register_io_source(
        batches, schema=schema, validate_schema=True, explain_name="MARC SCAN", explain_detail=detail
    )


def _predicate_columns(predicate: pl.Expr | None) -> list[str]:
    return [] if predicate is None else predicate.meta.root_names()
