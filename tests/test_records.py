"""`_native.records`: a lossless batch as plain Python values, one tuple per record, for
record-at-a-time readers; checked against the same frame read through Polars' own conversion."""

from __future__ import annotations

import pathlib

import polars as pl
import pytest

import marc_polars as mp
from marc_polars import _native

from conftest import READABLE


def through_polars(df: pl.DataFrame) -> list[tuple]:
    out = []
    for leader, fields in df.select("leader", "fields").iter_rows():
        converted = []
        for f in fields:
            if f["data"] is not None:
                converted.append((f["tag"], f["data"]))
            else:
                subfields = tuple(x for s in f["subfields"] for x in (s["code"], s["value"]))
                converted.append((f["tag"], f["ind1"], f["ind2"], subfields))
        out.append((leader, tuple(converted)))
    return out


@pytest.mark.parametrize("path", [pathlib.Path(mp.SAMPLE), *READABLE], ids=lambda p: p.name)
def test_records_equal_the_frame(path: pathlib.Path):
    df = mp.read_marc(path)
    records = [record for batch in mp.iter_batches(path, batch_size=100) for record in _native.records(batch)]
    assert records == through_polars(df)


def test_records_need_the_lossless_columns():
    with pytest.raises(ValueError, match="lossless leader and fields"):
        _native.records(mp.read_marc(mp.SAMPLE, columns=["leader"]))
    with pytest.raises(ValueError, match="not a lossless fields column"):
        _native.records(pl.DataFrame({"leader": ["x"], "fields": [1]}))
