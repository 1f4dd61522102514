"""Frames go to pyarrow, pandas and DuckDB through the Arrow interface, their strings not copied.

Read from a `bytes` object, the frame's string values point into that object's own buffer; exported
with Arrow's string views (`compat_level=pl.CompatLevel.newest()`), pyarrow's arrays point into the
same buffer, and so do pandas' Arrow-backed columns made from them.
"""

from __future__ import annotations

import ctypes
from pathlib import Path

import polars as pl
import pyarrow as pa
import pytest

import marc_polars as mp

pd = pytest.importorskip("pandas")
duckdb = pytest.importorskip("duckdb")


def address_of(data: bytes) -> int:
    return ctypes.cast(ctypes.c_char_p(data), ctypes.c_void_p).value or 0


def points_into(array: pa.Array, start: int, length: int) -> bool:
    """Whether a string-view array's data buffers all lie inside `start..start+length`."""
    buffers = [b for b in array.buffers()[2:] if b is not None and b.size > 0]
    return bool(buffers) and all(start <= b.address and b.address + b.size <= start + length for b in buffers)


@pytest.fixture(scope="module")
def sample() -> tuple[bytes, pl.DataFrame]:
    data = Path(mp.SAMPLE).read_bytes()
    return data, mp.read_marc(data)


def test_pyarrow_gets_the_input_bytes_not_a_copy(sample):
    data, df = sample
    before = pa.total_allocated_bytes()
    table = df.to_arrow(compat_level=pl.CompatLevel.newest())
    assert pa.total_allocated_bytes() - before == 0
    start = address_of(data)
    leader = table.column("leader").chunk(0)
    assert leader.type == pa.string_view()
    assert points_into(leader, start, len(data))
    values = table.column("fields").chunk(0).values.field("subfields").values.field("value")
    assert points_into(values, start, len(data))
    assert table.column("leader").to_pylist() == df["leader"].to_list()


def test_pandas_columns_are_the_arrow_arrays(sample):
    data, df = sample
    frame = df.to_arrow(compat_level=pl.CompatLevel.newest()).to_pandas(types_mapper=pd.ArrowDtype)
    leader = frame["leader"].array._pa_array.chunk(0)
    assert points_into(leader, address_of(data), len(data))
    assert frame["leader"].tolist() == df["leader"].to_list()


def test_duckdb_queries_the_frame_through_arrow(sample):
    _, df = sample
    types = df.select(pl.col("leader").str.slice(6, 1).alias("type"))
    records = df.to_arrow(compat_level=pl.CompatLevel.newest())  # noqa: F841 - DuckDB finds it by name
    counts = duckdb.sql(
        "select substr(leader, 7, 1) as type, count(*) as n from records group by type order by type"
    ).pl()
    expected = types.group_by("type").len("n").sort("type")
    assert counts["type"].to_list() == expected["type"].to_list()
    assert counts["n"].cast(pl.UInt32).to_list() == expected["n"].to_list()
    tags = duckdb.sql("select count(*) from (select unnest(fields) as f from records) where f.tag = '245'").fetchall()
    assert tags == [(df["fields"].list.eval(pl.element().struct.field("tag") == "245").list.sum().sum(),)]
