"""The pymarc-compatible reader against pymarc and mrrc 0.9.2 on the 250,000-record BooksAll file.

A record-at-a-time script, as old pymarc scripts are written: read every record and take the title
proper, `record["245"]["a"]` (by the shim also on BooksAll in MARC-8, made by YAZ); then one that
touches every field of every record; then, on the first 25,000 records, a cataloguer's whole script
(`legacy_script.py`: data elements, edits, all four writers, every output read back), whose outputs
are compared byte for byte after the table. Each run is a fresh process; the cases are interleaved
and repeated, and the median is reported.

    pip install mrrc==0.9.2
    python benchmarks/bench_shim.py [--repeat 3] [--file PATH]
"""

from __future__ import annotations

import filecmp
import sys
import tempfile
from pathlib import Path

import marc_polars.pymarc as shim

import harness
import legacy_script

#: Records the whole script reads.
SCRIPT_RECORDS = 25_000


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


def shim_245a_marc8(path: str) -> int:
    """The title script on BooksAll in MARC-8 (made by YAZ and cached), whatever `--file` says."""
    from benchmarks.fetch_data import booksall_marc8

    return shim_245a(str(booksall_marc8()))


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


def mrrc_all_fields(path: str) -> int:
    import mrrc

    with open(path, "rb") as handle:
        # mrrc's `fields` is a method.
        return sum(len(field.tag) for record in mrrc.MARCReader(handle) for field in record.fields())


def pymarc_script(path: str) -> int:
    import pymarc

    with tempfile.TemporaryDirectory() as out:
        return legacy_script.run(pymarc, path, Path(out), SCRIPT_RECORDS)


def shim_script(path: str) -> int:
    with tempfile.TemporaryDirectory() as out:
        return legacy_script.run(shim, path, Path(out), SCRIPT_RECORDS)


def same_script_outputs(path: str) -> bool:
    """Whether the whole script writes the same files with pymarc and with the shim."""
    import pymarc

    with tempfile.TemporaryDirectory() as out:
        legacy_script.run(pymarc, path, Path(out) / "pymarc", SCRIPT_RECORDS)
        legacy_script.run(shim, path, Path(out) / "shim", SCRIPT_RECORDS)
        ours, theirs = Path(out) / "shim", Path(out) / "pymarc"
        return all(filecmp.cmp(ours / name, theirs / name, shallow=False) for name in legacy_script.OUTPUTS)


CASES: dict[str, harness.Case] = {
    "pymarc_245a": ({}, pymarc_245a),
    "shim_245a": ({}, shim_245a),
    "shim_245a_marc8": ({}, shim_245a_marc8),
    "mrrc_245a": ({}, mrrc_245a),
    "pymarc_all_fields": ({}, pymarc_all_fields),
    "shim_all_fields": ({}, shim_all_fields),
    "mrrc_all_fields": ({}, mrrc_all_fields),
    "pymarc_script": ({}, pymarc_script),
    "shim_script": ({}, shim_script),
}

if __name__ == "__main__":
    baselines = ["pymarc_245a", "mrrc_245a", "pymarc_all_fields", "mrrc_all_fields", "pymarc_script"]
    medians = harness.main(__file__, CASES, baselines, __doc__)["first"]
    if medians and {"shim_245a", "shim_245a_marc8"} <= medians.keys():
        share = medians["shim_245a"] / medians["shim_245a_marc8"]
        print(f"- the shim iterates BooksAll in MARC-8 at {share:.0%} of its speed in UTF-8")
    chosen = sys.argv[sys.argv.index("--cases") + 1].split(",") if "--cases" in sys.argv else list(CASES)
    if "--case" not in sys.argv and "shim_script" in chosen:
        if "--file" in sys.argv:
            file = sys.argv[sys.argv.index("--file") + 1]
        else:
            from benchmarks.fetch_data import booksall

            file = str(booksall())
        same = same_script_outputs(file)
        print(f"- the whole script's outputs with pymarc and with the shim: {'identical' if same else 'DIFFERENT'}")
