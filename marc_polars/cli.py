"""`marc-polars` / `python -m marc_polars`: read MARC files and summarise them."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence

import polars as pl

from marc_polars._read import SAMPLE, read_marc
from marc_polars.exceptions import MarcError


def tag_frequencies(df: pl.DataFrame, top: int = 10) -> pl.DataFrame:
    """The `top` most frequent tags: how many fields carry each, and in how many records."""
    return (
        df.select(pl.int_range(pl.len()).alias("record"), pl.col("fields"))
        .explode("fields")
        .select("record", pl.col("fields").struct.field("tag"))
        .group_by("tag")
        .agg(fields=pl.len(), records=pl.col("record").n_unique())
        .sort(["fields", "tag"], descending=[True, False])
        .head(top)
    )


def summarise(paths: Sequence[str]) -> str:
    size = sum(os.path.getsize(p) for p in paths)
    start = time.perf_counter()
    df = read_marc(list(paths))
    seconds = time.perf_counter() - start
    lines = [
        f"read {df.height:,} records ({size / 1e6:.1f} MB) from {len(paths)} file(s) in {seconds:.3f} s: "
        f"{df.height / seconds:,.0f} records/s, {size / 1e6 / seconds:,.1f} MB/s",
        "",
        "most frequent tags:",
        str(tag_frequencies(df)),
        "",
        "first rows:",
        str(df.head(5)),
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="marc-polars",
        description="Read MARC 21 files (ISO 2709) into a Polars DataFrame and summarise them.",
    )
    parser.add_argument("files", nargs="*", help=f"MARC files (default: the bundled sample, {SAMPLE})")
    args = parser.parse_args(argv)
    try:
        print(summarise(args.files or [SAMPLE]))
    except (MarcError, OSError) as error:
        print(f"marc-polars: {error}", file=sys.stderr)
        return 1
    return 0
