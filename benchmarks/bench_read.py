"""read_marc against pymarc on the 250,000-record BooksAll file.

Each measurement runs in a fresh subprocess, so that its peak RSS is its own; the cases are
interleaved, repeated, and the median is reported. Prints a Markdown table for BENCHMARKS.md.

    python benchmarks/bench_read.py [--repeat 3] [--file PATH]
"""

from __future__ import annotations

import polars as pl

import harness


def pymarc_frame(path: str) -> pl.DataFrame:
    """What a pymarc user writes to get the same information into a DataFrame."""
    import pymarc

    rows = []
    with open(path, "rb") as handle:
        for record in pymarc.MARCReader(handle, to_unicode=True, force_utf8=True):
            fields = []
            for f in record.fields:
                if f.is_control_field():
                    fields.append({"tag": f.tag, "ind1": None, "ind2": None, "data": f.data, "subfields": None})
                else:
                    subfields = [{"code": s.code, "value": s.value} for s in f.subfields]
                    fields.append(
                        {"tag": f.tag, "ind1": f.indicator1, "ind2": f.indicator2, "data": None, "subfields": subfields}
                    )
            rows.append({"leader": str(record.leader), "fields": fields})
    subfield = pl.Struct({"code": pl.String, "value": pl.String})
    field = pl.Struct(
        {"tag": pl.String, "ind1": pl.String, "ind2": pl.String, "data": pl.String, "subfields": pl.List(subfield)}
    )
    return pl.DataFrame(rows, schema={"leader": pl.String, "fields": pl.List(field)})


def read_marc(path: str) -> pl.DataFrame:
    import marc_polars as mp

    return mp.read_marc(path)


def pymarc_iterate(path: str) -> int:
    import pymarc

    with open(path, "rb") as handle:
        return sum(1 for _ in pymarc.MARCReader(handle, to_unicode=True, force_utf8=True))


CASES: dict[str, harness.Case] = {
    "read_marc": ({}, read_marc),
    "read_marc_1_thread": ({"MARC_POLARS_MAX_THREADS": "1"}, read_marc),
    "pymarc_iterate": ({}, pymarc_iterate),
    "pymarc_dataframe": ({}, pymarc_frame),
}

if __name__ == "__main__":
    baselines = ["pymarc_dataframe", "pymarc_iterate", "read_marc_1_thread"]
    medians = harness.main(__file__, CASES, baselines, __doc__)
    median = medians["first"]
    if "read_marc" in median and "read_marc_1_thread" in median:
        print(f"\nAll threads vs 1 thread: {median['read_marc_1_thread'] / median['read_marc']:.2f}x")
