"""MARCXML and MARC-in-JSON: `read_marc` of BooksAll's MARCXML (as `yaz-marcdump -o marcxml` writes
it) and MARC-in-JSON (as `write_marc` writes it, a JSON array as pymarc's `JSONWriter` writes one)
against pymarc's `parse_xml_to_array` and `JSONReader` and against `yaz-marcdump` reading the same
MARCXML (to ISO 2709, into /dev/null); `iter_batches` of each form and `convert` of the MARCXML to
Parquet for memory; `write_marc` to each form.

The forms are made once and cached next to the BooksAll file. MB/s is of each form's own bytes.

    python benchmarks/bench_forms.py [--repeat 3] [--cases a,b]
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import polars as pl

import harness


def xml_form(path: str) -> str:
    """BooksAll as yaz-marcdump writes it in MARCXML, made once."""
    target = Path(path + ".yaz.xml")
    if not target.exists():
        print(f"# making {target.name}", file=sys.stderr)
        partial = target.with_suffix(".partial")
        with partial.open("wb") as out:
            subprocess.run(["yaz-marcdump", "-i", "marc", "-o", "marcxml", path], stdout=out, check=True)
        partial.rename(target)
    return str(target)


def json_form(path: str) -> str:
    """BooksAll as `write_marc` writes it in MARC-in-JSON, made once (in a child, whose memory is
    its own: a case inherits its parent's peak RSS)."""
    target = Path(path + ".json")
    if not target.exists():
        print(f"# making {target.name}", file=sys.stderr)
        code = "import sys, marc_polars as mp; mp.write_marc(mp.read_marc(sys.argv[1]), sys.argv[2])"
        subprocess.run([sys.executable, "-c", code, path, str(target)], check=True)
    return str(target)


def read(form: Callable[[str], str]) -> Callable[[str], pl.DataFrame]:
    def run(path: str) -> pl.DataFrame:
        import marc_polars as mp

        return mp.read_marc(form(path))

    return run


def read_iso(path: str) -> pl.DataFrame:
    import marc_polars as mp

    return mp.read_marc(path)


def pymarc_xml(path: str) -> int:
    import pymarc

    return len(pymarc.parse_xml_to_array(xml_form(path)))


def pymarc_json(path: str) -> int:
    import pymarc

    with open(json_form(path), encoding="utf-8") as text:
        return sum(1 for _ in pymarc.JSONReader(text.read()))


def yaz_xml(path: str) -> int:
    command = ["yaz-marcdump", "-i", "marcxml", "-o", "marc", xml_form(path)]
    subprocess.run(command, stdout=subprocess.DEVNULL, check=True)
    return 0


def iterate(form: Callable[[str], str]) -> Callable[[str], int]:
    def run(path: str) -> int:
        import marc_polars as mp

        return sum(batch.height for batch in mp.iter_batches(form(path)))

    return run


def convert(form: Callable[[str], str]) -> Callable[[str], int]:
    def run(path: str) -> int:
        from marc_polars.cli import main

        with tempfile.TemporaryDirectory() as folder:
            main(["convert", form(path), "-o", os.path.join(folder, "out.parquet"), "--no-progress"])
        return 0

    return run


def write(extension: str) -> Callable[[str], int]:
    def run(path: str) -> int:
        import warnings

        import marc_polars as mp

        frame = mp.read_marc(path)
        with tempfile.TemporaryDirectory() as folder, warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the control characters XML cannot hold
            return mp.write_marc(frame, os.path.join(folder, "out" + extension))

    return run


CASES: dict[str, harness.Case] = {
    "read_marc_iso2709": ({}, read_iso),
    "read_marc_marcxml": ({}, read(xml_form)),
    "read_marc_json": ({}, read(json_form)),
    "pymarc_parse_xml_to_array": ({}, pymarc_xml),
    "pymarc_JSONReader": ({}, pymarc_json),
    "yaz_marcdump_marcxml": ({}, yaz_xml),
    "iter_batches_marcxml": ({}, iterate(xml_form)),
    "iter_batches_json": ({}, iterate(json_form)),
    "convert_marcxml_to_parquet": ({}, convert(xml_form)),
    "convert_json_to_parquet": ({}, convert(json_form)),
    "write_marc_marcxml": ({}, write(".xml")),
    "write_marc_json": ({}, write(".json")),
}

if __name__ == "__main__":
    if "--case" not in sys.argv:  # made once, before any case is timed
        file = sys.argv[sys.argv.index("--file") + 1] if "--file" in sys.argv else None
        if file is None:
            from benchmarks.fetch_data import booksall

            file = str(booksall())
        file = os.path.abspath(file)
        if shutil.which("yaz-marcdump") is None:
            sys.exit("yaz-marcdump is needed: apt-get install yaz")
        sizes = {"marcxml": os.path.getsize(xml_form(file)), "json": os.path.getsize(json_form(file))}
    medians = harness.main(__file__, CASES, ["read_marc_iso2709"], __doc__)["first"]
    for form, pymarc_case, other in [
        ("marcxml", "pymarc_parse_xml_to_array", "yaz_marcdump_marcxml"),
        ("json", "pymarc_JSONReader", None),
    ]:
        ours = medians.get(f"read_marc_{form}")
        if ours is None:
            continue
        line = f"read_marc of the {form} form: {sizes[form] / 1e6 / ours:,.0f} MB/s"
        for case in (pymarc_case, other):
            if case is not None and case in medians:
                line += f", {medians[case] / ours:.1f}x {case}"
        print(line)
    sys.exit(0)
