"""The pymarc-compatible reader against pymarc and mrrc 0.9.2 on the 250,000-record BooksAll file.

A record-at-a-time script, as old pymarc scripts are written: read every record and take the title
proper, `record["245"]["a"]`; then one that touches every field of every record. Each run is a
fresh process; the cases are interleaved and repeated, and the median is reported.

    pip install mrrc==0.9.2
    python benchmarks/bench_shim.py [--repeat 3] [--file PATH]
"""

from __future__ import annotations

import marc_polars.pymarc as shim

import harness


def _titles(reader) -> int:
    return sum(1 for record in reader if record["245"]["a"])


def _fields(reader) -> int:
    return sum(len(field.tag) for record in reader for field in record.fields)


def pymarc_245a(path: str) -> int:
    import pymarc

    with open(path, "rb") as handle:
        return _titles(pymarc.MARCReader(handle))


def shim_245a(path: str) -> int:
    with open(path, "rb") as handle:
        return _titles(shim.MARCReader(handle))


def mrrc_245a(path: str) -> int:
    import mrrc

    with open(path, "rb") as handle:
        return _titles(mrrc.MARCReader(handle))


def pymarc_all_fields(path: str) -> int:
    import pymarc

    with open(path, "rb") as handle:
        return _fields(pymarc.MARCReader(handle))


def shim_all_fields(path: str) -> int:
    with open(path, "rb") as handle:
        return _fields(shim.MARCReader(handle))


CASES: dict[str, harness.Case] = {
    "pymarc_245a": ({}, pymarc_245a),
    "shim_245a": ({}, shim_245a),
    "mrrc_245a": ({}, mrrc_245a),
    "pymarc_all_fields": ({}, pymarc_all_fields),
    "shim_all_fields": ({}, shim_all_fields),
}

if __name__ == "__main__":
    harness.main(__file__, CASES, ["pymarc_245a", "mrrc_245a", "pymarc_all_fields"], __doc__)
