"""Frames in memory of their own against frames mapped from their file, on the 250,000-record
BooksAll file: `read_marc`, `iter_batches` and a `scan_marc` of three MARCspecs, each by default
(the file read into memory the frame owns, in parallel) and with `memory_map=True` (the file
mapped, the frame's strings pointing into the page cache).

    python benchmarks/bench_owned.py [--repeat 5] [--file PATH] [--baseline PYTHON]

`--baseline` also runs each case with another Python, where an earlier marc_polars is installed
(say, a build of the commit before files were read into owned memory): the `*_memory_map` cases
need the option, so leave them out there with `--cases`. Each case is a first read in a fresh
process; cases are interleaved and repeated; medians.
"""

from __future__ import annotations

import polars as pl

import harness

SPECS = {"title": "245$a", "language": "008/35-37", "subjects": "650$a"}


def read_marc(memory_map: bool):  # type: ignore[no-untyped-def]
    def read(path: str) -> pl.DataFrame:
        import marc_polars as mp

        return mp.read_marc(path, **({"memory_map": True} if memory_map else {}))

    return read


def iter_batches(memory_map: bool):  # type: ignore[no-untyped-def]
    def read(path: str) -> int:
        import marc_polars as mp

        return sum(batch.height for batch in mp.iter_batches(path, **({"memory_map": True} if memory_map else {})))

    return read


def scan_3_specs(memory_map: bool):  # type: ignore[no-untyped-def]
    def read(path: str) -> pl.DataFrame:
        import marc_polars as mp

        return mp.scan_marc(path, columns=SPECS, **({"memory_map": True} if memory_map else {})).collect()

    return read


CASES: dict[str, harness.Case] = {
    "read_marc": ({}, read_marc(False)),
    "read_marc_memory_map": ({}, read_marc(True)),
    "iter_batches": ({}, iter_batches(False)),
    "iter_batches_memory_map": ({}, iter_batches(True)),
    "scan_3_specs": ({}, scan_3_specs(False)),
    "scan_3_specs_memory_map": ({}, scan_3_specs(True)),
}

if __name__ == "__main__":
    medians = harness.main(__file__, CASES, ["read_marc_memory_map"], __doc__)["first"]
    for case in ("read_marc", "iter_batches", "scan_3_specs"):
        if {case, f"{case}_memory_map"} <= medians.keys():
            share = medians[f"{case}_memory_map"] / medians[case]
            print(f"{case}: owned memory at {share:.0%} of the speed of memory_map=True")
        if {case, case + harness.BASELINE} <= medians.keys():
            print(f"{case}: at {medians[case + harness.BASELINE] / medians[case]:.0%} of the baseline's speed")
