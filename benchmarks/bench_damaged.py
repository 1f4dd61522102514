"""`read_marc` of a BooksAll in which every 300th record is damaged, against the sound file.

    python benchmarks/bench_damaged.py [--repeat 3] [--file PATH]

The damaged copy (made once, next to the file) has a byte that is not UTF-8 in the field data of
every 300th record: 834 of BooksAll's 250,000 records, at least one in every 1 MiB part that
`read_marc` frames and decodes on its own. Cases: the sound file; the damaged copy under
`on_error="skip"` and `"collect"`, on all threads and on one. Each damaged record's error names its
record number, which a part learns only once the parts before it are framed.
"""

from __future__ import annotations

import sys
from pathlib import Path

import polars as pl

import harness

#: Every this many records, one is damaged.
EVERY = 300


def damaged_copy(path: str) -> str:
    """The copy of `path` with every `EVERY`-th record damaged, made if it is not there yet."""
    out = Path(path).with_name(f"{Path(path).name}.damaged-every-{EVERY}")
    if out.exists():
        return str(out)
    data = bytearray(Path(path).read_bytes())
    pos = number = 0
    while pos + 24 <= len(data):
        if number % EVERY == 0:
            base_address = int(data[pos + 12 : pos + 17])
            data[pos + base_address + 5] = 0xFF  # inside the first field's data
        pos += int(data[pos : pos + 5])
        number += 1
    partial = out.with_suffix(".partial")
    partial.write_bytes(data)
    partial.replace(out)
    return str(out)


def read_sound(path: str) -> pl.DataFrame:
    import marc_polars as mp

    return mp.read_marc(path)


def read_damaged(on_error: str):  # type: ignore[no-untyped-def]
    def read(path: str) -> pl.DataFrame:
        import marc_polars as mp

        return mp.read_marc(damaged_copy(path), on_error=on_error)

    return read


CASES: dict[str, harness.Case] = {
    "sound": ({}, read_sound),
    "damaged_skip": ({}, read_damaged("skip")),
    "damaged_skip_1_thread": ({"MARC_POLARS_MAX_THREADS": "1"}, read_damaged("skip")),
    "damaged_collect": ({}, read_damaged("collect")),
    "damaged_collect_1_thread": ({"MARC_POLARS_MAX_THREADS": "1"}, read_damaged("collect")),
}

if __name__ == "__main__":
    # Made before any case is timed.
    if "--file" in sys.argv:
        damaged_copy(sys.argv[sys.argv.index("--file") + 1])
    else:
        from benchmarks.fetch_data import booksall

        damaged_copy(str(booksall()))
    harness.main(__file__, CASES, ["sound"], __doc__)
