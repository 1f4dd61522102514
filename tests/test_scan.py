"""scan_marc: lazy equals eager on both engines, and projections, filters and limits reach the decoder."""

from __future__ import annotations

import io
import os
import pathlib
from collections.abc import Callable

import polars as pl
import pytest

import marc_polars as mp
from marc_polars import _native, exceptions

from conftest import READABLE, TRUNCATED, record_lengths

SAMPLE_BYTES = pathlib.Path(mp.SAMPLE).read_bytes()
COLUMNS = {**mp.BIBLIOGRAPHIC, "leader": "leader", "type": "LDR/06", "fields": "fields"}


@pytest.fixture(scope="module")
def parts(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """The sample cut at record boundaries into three files: 300, 300 and 400 records."""
    folder = tmp_path_factory.mktemp("parts")
    ends = [0]
    for length in record_lengths(SAMPLE_BYTES):
        ends.append(ends[-1] + length)
    for name, (first, last) in zip(("a", "b", "c"), [(0, 300), (300, 600), (600, 1000)], strict=True):
        (folder / f"{name}.mrc").write_bytes(SAMPLE_BYTES[ends[first] : ends[last]])
    return folder


QUERIES: dict[str, Callable[[pl.LazyFrame], pl.LazyFrame]] = {
    "everything": lambda lf: lf,
    "head(0)": lambda lf: lf.head(0),
    "head crossing files": lambda lf: lf.head(350),
    "slice": lambda lf: lf.slice(290, 20),
    "filter matching nothing": lambda lf: lf.filter(pl.col("language") == "xxx"),
    "filter on a MARCspec column": lambda lf: lf.filter(pl.col("language") == "fre"),
    "filter then select": lambda lf: lf.filter(pl.col("subjects").list.len() > 1).select("title", "row"),
    "filter on the row index": lambda lf: lf.filter(pl.col("row").is_between(295, 305)).select("row", "path", "type"),
    "filter then head": lambda lf: lf.filter(pl.col("language") == "eng").head(3),
    "len": lambda lf: lf.select(pl.len()),
    "one column": lambda lf: lf.select("publication_year"),
    "group by": lambda lf: lf.group_by("language").agg(pl.len()).sort("language"),
}


@pytest.mark.parametrize("query", QUERIES, ids=str)
def test_lazy_equals_eager(parts: pathlib.Path, query: str):
    options = {"columns": COLUMNS, "row_index_name": "row", "include_file_paths": "path"}
    pattern = str(parts / "*.mrc")
    eager = QUERIES[query](mp.read_marc(pattern, **options).lazy()).collect()
    lazy = QUERIES[query](mp.scan_marc(pattern, **options))
    for engine in ("in-memory", "streaming"):
        assert lazy.collect(engine=engine).equals(eager), engine
        unoptimized = lazy.collect(engine=engine, optimizations=pl.QueryOptFlags.none())
        assert unoptimized.equals(eager), f"{engine} without optimizations"


def test_row_index_and_paths_continue_across_files(parts: pathlib.Path):
    df = mp.scan_marc(
        str(parts / "*.mrc"), columns=["001"], row_index_name="row", row_index_offset=7, include_file_paths="path"
    ).collect()
    assert df["row"].to_list() == list(range(7, 1007))
    assert df["path"].to_list() == [str(parts / n) for n in ("a.mrc",) * 300 + ("b.mrc",) * 300 + ("c.mrc",) * 400]
    assert df["001"].equals(mp.read_marc(SAMPLE_BYTES, columns=["001"])["001"])


def test_schema_is_known_before_reading(parts: pathlib.Path):
    lf = mp.scan_marc(str(parts / "*.mrc"), columns={"title": "245$a", "year": "008/07-10"}, row_index_name="i")
    assert lf.collect_schema() == pl.Schema({"i": pl.UInt32, "title": pl.List(pl.String), "year": pl.String})
    assert mp.scan_marc(mp.SAMPLE).collect_schema() == mp.read_marc(mp.SAMPLE, n_rows=0).schema
    plan = lf.explain()
    assert "MARC SCAN" in plan and str(parts / "a.mrc") in plan


@pytest.fixture
def native_calls(monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    """The options each scan passes to the native reader."""
    calls: list[dict] = []
    real = _native.iter_batches

    def spy(sources: list, columns: dict, **options: object) -> _native.BatchIterator:
        calls.append({**columns, **options})
        return real(sources, columns, **options)

    monkeypatch.setattr(_native, "iter_batches", spy)
    return calls


def test_only_projected_columns_are_built(native_calls: list[dict]):
    lf = mp.scan_marc(mp.SAMPLE, columns=COLUMNS)
    lf.select("title", "language").collect()
    assert native_calls[-1]["fields"] is False and native_calls[-1]["leader"] is False
    assert native_calls[-1]["specs"] == [("title", "245[0]$a[0]"), ("language", "008/35-37")]
    # A column that only the filter reads is built for the filter, then dropped.
    out = lf.filter(pl.col("type") == "a").select("title").collect()
    assert out.columns == ["title"]
    assert [name for name, _ in native_calls[-1]["specs"]] == ["title", "type"]
    lf.select("fields").collect(engine="streaming")
    assert native_calls[-1]["fields"] is True and native_calls[-1]["specs"] == []


def test_a_limit_stops_decoding(native_calls: list[dict]):
    # The file is truncated inside record 18: a head of 10 never reaches it.
    lf = mp.scan_marc(TRUNCATED)
    for engine in ("in-memory", "streaming"):
        assert lf.head(10).collect(engine=engine).height == 10
        assert native_calls[-1]["n_rows"] == 10
    with pytest.raises(exceptions.TruncatedRecord):
        lf.collect()


def test_batch_size_is_honoured(native_calls: list[dict]):
    lf = mp.scan_marc(mp.SAMPLE, columns=["001"], batch_size=64)
    for engine in ("in-memory", "streaming"):
        lf.collect(engine=engine)
        assert native_calls[-1]["batch_size"] == 64
    mp.scan_marc(mp.SAMPLE, columns=["001"]).collect()
    assert native_calls[-1]["batch_size"] == 100_000, "Polars' hint when none is given"
    sizes = [df.height for df in mp.iter_batches(mp.SAMPLE, batch_size=64, columns=["001"])]
    assert max(sizes) == 64 and sum(sizes) == 1000


def test_sink_parquet_equals_read_marc(tmp_path: pathlib.Path):
    out = tmp_path / "sample.parquet"
    mp.scan_marc(mp.SAMPLE, columns=COLUMNS).sink_parquet(out)
    assert pl.read_parquet(out).equals(mp.read_marc(mp.SAMPLE, columns=COLUMNS))


@pytest.mark.parametrize("path", READABLE, ids=lambda p: p.name)
def test_corpus_scans_equal_reads(path: pathlib.Path):
    lf = mp.scan_marc(path, row_index_name="row")
    eager = mp.read_marc(path, row_index_name="row")
    for engine in ("in-memory", "streaming"):
        assert lf.collect(engine=engine).equals(eager)


def test_file_objects_are_read_again_on_each_collect():
    stream = io.BytesIO(SAMPLE_BYTES)
    lf = mp.scan_marc(stream, columns=["001"])
    assert lf.collect().equals(lf.collect())
    assert lf.collect().height == 1000


def test_a_stream_that_cannot_seek_is_read_once():
    head = SAMPLE_BYTES[: sum(record_lengths(SAMPLE_BYTES)[:20])]
    read, write = os.pipe()
    with open(write, "wb") as w:
        w.write(head)
    with open(read, "rb") as pipe:
        lf = mp.scan_marc(pipe, columns=["001"])
        assert lf.collect().equals(mp.read_marc(head, columns=["001"]))
        with pytest.raises(ValueError, match="collected only once"):
            lf.collect()


def test_glob(parts: pathlib.Path, tmp_path: pathlib.Path):
    assert mp.read_marc(str(parts / "[ab].mrc")).height == 600
    assert mp.read_marc([parts / "c.mrc", str(parts / "a.*")]).height == 700
    with pytest.raises(FileNotFoundError, match="no file matches"):
        mp.read_marc(str(tmp_path / "*.mrc"))
    literal = tmp_path / "odd[1].mrc"
    literal.write_bytes(SAMPLE_BYTES)
    assert mp.read_marc(str(literal)).height == 1000  # an existing file is not a pattern
    with pytest.raises(FileNotFoundError):
        mp.read_marc(str(parts / "*.mrc"), glob=False)
