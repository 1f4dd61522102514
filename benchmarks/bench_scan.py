"""scan_marc on the 250,000-record BooksAll file: MARCspec columns against the lossless frame, a
limit against a full read, and sink_parquet's memory. One fresh subprocess per measurement; cases
interleaved and repeated; medians. Prints a Markdown table for BENCHMARKS.md.

    python benchmarks/bench_scan.py [--repeat 3] [--file PATH]
"""

from __future__ import annotations

import os
import tempfile

import polars as pl

import harness

SPECS = {"title": "245$a", "language": "008/35-37", "subjects": "650$a"}


def read_marc(path: str) -> pl.DataFrame:
    import marc_polars as mp

    return mp.read_marc(path)


def scan_3_specs(path: str) -> pl.DataFrame:
    import marc_polars as mp

    return mp.scan_marc(path, columns=SPECS).collect()


def scan_3_specs_streaming(path: str) -> pl.DataFrame:
    import marc_polars as mp

    return mp.scan_marc(path, columns=SPECS).collect(engine="streaming")


def scan_head_1000(path: str) -> pl.DataFrame:
    import marc_polars as mp

    return mp.scan_marc(path).head(1000).collect()


def scan_filter_spec(path: str) -> pl.DataFrame:
    import marc_polars as mp

    return mp.scan_marc(path, columns={**SPECS, "fields": "fields"}).filter(pl.col("language") == "fre").collect()


def sink_parquet(path: str) -> int:
    import marc_polars as mp

    with tempfile.TemporaryDirectory() as folder:
        out = os.path.join(folder, "out.parquet")
        # Row groups of 2,000 records: the writer holds one row group in memory (its default: the whole file).
        mp.scan_marc(path).sink_parquet(out, row_group_size=2_000)
        return pl.scan_parquet(out).select(pl.len()).collect().item()


CASES: dict[str, harness.Case] = {
    "read_marc": ({}, read_marc),
    "scan_3_specs": ({}, scan_3_specs),
    "scan_3_specs_streaming": ({}, scan_3_specs_streaming),
    "scan_head_1000": ({}, scan_head_1000),
    "scan_filter_spec_keep_fields": ({}, scan_filter_spec),
    "sink_parquet": ({}, sink_parquet),
}

if __name__ == "__main__":
    harness.main(__file__, CASES, ["read_marc"], __doc__)
