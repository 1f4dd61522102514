"""MARC-8 against UTF-8: read_marc on the same BooksAll records in both encodings; and what
``on_error="collect"`` (the error and raw columns) costs on the UTF-8 file, where every record is
sound.

The MARC-8 version is made once, with Index Data's YAZ (`apt-get install yaz`:
`yaz-marcdump -f utf8 -t marc8 -l 9=32`), an encoder independent of this project, and cached next
to the BooksAll file. Each run is a fresh process; the cases are interleaved and repeated.

    python benchmarks/bench_encoding.py [--repeat 3]
"""

from __future__ import annotations

import os
import sys

import polars as pl

import harness


def read_utf8(path: str) -> pl.DataFrame:
    import marc_polars as mp

    return mp.read_marc(path)


def read_utf8_collecting(path: str) -> pl.DataFrame:
    import marc_polars as mp

    return mp.read_marc(path, on_error="collect")


def read_marc8(path: str) -> pl.DataFrame:
    import marc_polars as mp

    return mp.read_marc(os.environ["MARC8_FILE"])


if __name__ == "__main__":
    from benchmarks.fetch_data import booksall_marc8

    marc8 = booksall_marc8()
    cases: dict[str, harness.Case] = {
        "utf8": ({}, read_utf8),
        "marc8": ({"MARC8_FILE": str(marc8)}, read_marc8),
        "utf8_collect": ({}, read_utf8_collecting),
    }
    medians = harness.main(__file__, cases, ["utf8"], __doc__)["first"]
    if medians:
        print(f"\nMARC-8 reads at {medians['utf8'] / medians['marc8']:.0%} of the UTF-8 speed.")
    sys.exit(0)
