"""The `.marc` expressions are Polars expression plugins: evaluated in Rust, with no Python function
in the query, on either engine, serialisable, and in a lazy filter of a scan."""

from __future__ import annotations

import io
from pathlib import Path

import polars as pl
import pytest

import marc_polars as mp

from conftest import DATA, run_python

#: In a child process whose `cloudpickle` cannot be imported: Polars needs it for a query holding a
#: Python function, so the query runs only if there is none. Prints the rows found and the plan.
CHILD = """
import sys
sys.modules["cloudpickle"] = None
import polars as pl
import marc_polars as mp

query = (
    mp.scan_marc(sys.argv[1])
    .filter(pl.col("fields").marc.has("650$a"))
    .filter(pl.col("fields").marc.extract("008/35-37") == "fre")
)
for engine in ("in-memory", "streaming"):
    frame = query.collect(engine=engine)
    print(engine, frame.height, frame["leader"].to_list())
print(query.explain())
"""


def test_a_scan_filtered_by_marc_expressions_needs_no_python_function(tmp_path: Path):
    child = run_python(CHILD, mp.SAMPLE, cwd=tmp_path)
    assert child.returncode == 0, child.stderr
    decoded = mp.read_marc(mp.SAMPLE, columns={"leader": "leader", "subjects": "650$a", "language": "008/35-37"})
    expected = decoded.filter(pl.col("subjects").list.len() > 0, pl.col("language") == "fre")["leader"].to_list()
    lines = child.stdout.splitlines()
    assert expected and lines[:2] == [f"in-memory {len(expected)} {expected}", f"streaming {len(expected)} {expected}"]
    plan = "\n".join(lines[2:])
    # The filters reach the scan as plugin expressions of the native library.
    assert "marc_has()" in plan and "marc_extract()" in plan and "_native" in plan
    assert "map_batches" not in plan and "python_udf" not in plan.lower()


@pytest.mark.parametrize("path", [Path(mp.SAMPLE), DATA / "marc8" / "marc4j__brkrtest.mrc"], ids=lambda p: p.name)
def test_has_is_true_where_extract_selects_something(path: Path):
    df = mp.read_marc(path)
    specs = ["650$a", "245[0]$a[0]", "020$a", "880$6", "LDR/06", "001", "6..$a", "245^1"]
    for spec in specs:
        column = pl.col("leader" if spec.startswith("LDR") else "fields")
        values = df.select(column.marc.extract(spec).alias("values"), column.marc.has(spec).alias("has"))
        selected = (
            values["values"].list.len() > 0
            if values.schema["values"] == pl.List(pl.String)
            else values["values"].is_not_null()
        )
        assert values["has"].equals(selected.alias("has")), spec


def test_the_expressions_serialise_and_read_back():
    df = mp.read_marc(mp.SAMPLE, n_rows=100)
    expression = pl.col("fields").marc.extract("245$a").alias("title")
    read_back = pl.Expr.deserialize(io.BytesIO(expression.meta.serialize()))
    assert df.select(read_back).equals(df.select(expression))
    assert (
        df.filter(pl.col("fields").marc.has("650$a")).height
        == df.filter(pl.col("fields").marc.extract("650$a").list.len() > 0).height
    )


def test_null_rows_stay_null():
    df = mp.read_marc(mp.SAMPLE, n_rows=3).with_columns(
        pl.when(pl.int_range(pl.len()) == 1).then(None).otherwise(pl.col("fields")).alias("fields")
    )
    out = df.select(pl.col("fields").marc.has("245$a"), pl.col("fields").marc.extract("001").alias("id"))
    assert out["fields"].to_list() == [True, None, True] and out["id"].is_null().to_list() == [False, True, False]
