"""A legacy pymarc script (`benchmarks/legacy_script.py`: read, edit, write in all four forms, read
back) run with pymarc 5.4.0 and with `marc_polars.pymarc`: every file it writes must be the same,
byte for byte, on the sample, on every real file of `tests/data` and pymarc's own test files, and
on the first 25,000 BooksAll records (slow); and all of BooksAll written by each writer (slow).
"""

from __future__ import annotations

import filecmp
import io
from pathlib import Path

import pymarc
import pytest

import marc_polars as mp
import marc_polars.pymarc as shim
from benchmarks import legacy_script

from conftest import DATA, MARC8, READABLE

#: pymarc's own files that it reads whole (the damaged ones are `test_shim.py`'s).
PYMARC_FILES = ["marc8.dat", "test.dat", "utf8_with_leader_flag.dat", "diacritic.dat", "regression45.dat"]


def outcome(module, source: Path, out: Path, limit: int | None = None) -> object:
    """The records the script writes with `module`, or the exception it ends with."""
    try:
        return legacy_script.run(module, source, out, limit)
    except Exception as error:  # the exception is the answer compared
        return ("raises", type(error).__name__, str(error).replace(str(out), "<out>"))


def same_outputs(source: Path, tmp_path: Path, limit: int | None = None) -> int:
    ours = outcome(shim, source, tmp_path / "shim", limit)
    theirs = outcome(pymarc, source, tmp_path / "pymarc", limit)
    assert ours == theirs
    for name in legacy_script.OUTPUTS:
        if (tmp_path / "pymarc" / name).exists():
            assert filecmp.cmp(tmp_path / "shim" / name, tmp_path / "pymarc" / name, shallow=False), name
    return ours if isinstance(ours, int) else 0


def test_the_sample_gives_the_same_files(tmp_path):
    assert same_outputs(Path(mp.SAMPLE), tmp_path) == 1000
    # The outputs are real: each form read back holds every record written.
    assert len((tmp_path / "shim" / "read_back.tsv").read_text().splitlines()) == 3 * 1000


@pytest.mark.parametrize("path", [*READABLE, *MARC8], ids=lambda p: p.name)
def test_every_real_file_gives_the_same_files(path, tmp_path):
    same_outputs(path, tmp_path)


@pytest.mark.parametrize("name", PYMARC_FILES)
def test_pymarc_own_files_give_the_same_files(name, pymarc_test_dir, tmp_path):
    assert same_outputs(pymarc_test_dir / name, tmp_path) > 0


@pytest.mark.slow
def test_booksall_gives_the_same_files(booksall, tmp_path):
    assert same_outputs(booksall, tmp_path, limit=25_000) == 25_000


def write_all(module, source: Path, out: Path) -> None:
    """Every record of `source`, as read, written by each of `module`'s four writers."""
    out.mkdir()
    with open(source, "rb") as handle:
        writers = [
            module.MARCWriter(open(out / "records.mrc", "wb")),  # noqa: SIM115 - the writers close them
            module.XMLWriter(open(out / "records.xml", "wb")),  # noqa: SIM115
            module.JSONWriter(open(out / "records.json", "w", encoding="utf-8")),  # noqa: SIM115
            module.TextWriter(open(out / "records.txt", "w", encoding="utf-8")),  # noqa: SIM115
        ]
        for record in module.MARCReader(handle):
            for writer in writers:
                writer.write(record)
        for writer in writers:
            writer.close()


@pytest.mark.slow
def test_every_writer_writes_all_of_booksall_as_pymarc_writes_it(booksall, tmp_path):
    write_all(shim, booksall, tmp_path / "shim")
    write_all(pymarc, booksall, tmp_path / "pymarc")
    for name in ("records.mrc", "records.xml", "records.json", "records.txt"):
        assert filecmp.cmp(tmp_path / "shim" / name, tmp_path / "pymarc" / name, shallow=False), name


#: Every MARCXML file of tests/data: collections, bare records, OAI-PMH, namespaces and prefixes, a
#: byte order mark, a comment, and damaged documents.
XML_FILES = sorted((DATA / "forms").glob("*.xml"))
XML_OPTIONS = {"default": {}, "strict": {"strict": True}, "nfd": {"normalize_form": "NFD"}}


def parsed(module, source, **options) -> object:
    """What `parse_xml_to_array` gives: each record's MARC-in-JSON, or the exception raised."""
    try:
        return [record.as_dict() for record in module.parse_xml_to_array(source, **options)]
    except Exception as error:  # the exception is the answer compared
        return ("raises", type(error).__name__, str(error))


@pytest.mark.parametrize("options", XML_OPTIONS.values(), ids=XML_OPTIONS.keys())
@pytest.mark.parametrize("path", XML_FILES, ids=lambda p: p.name)
def test_parse_xml_to_array_gives_pymarc_records(path, options):
    expected = parsed(pymarc, str(path), **options)
    assert parsed(shim, str(path), **options) == expected
    with open(path, "rb") as handle:
        assert parsed(shim, handle, **options) == expected
    text = {"encoding": "utf-8", "errors": "replace"}
    with open(path, **text) as ours, open(path, **text) as theirs:  # text handles: parsed by SAX
        assert parsed(shim, ours, **options) == parsed(pymarc, theirs, **options)


@pytest.mark.parametrize("name", ["batch.xml", "utf8.xml", "bad_tag.xml"])
def test_parse_xml_to_array_gives_pymarc_records_of_pymarc_own_files(name, pymarc_test_dir):
    path = pymarc_test_dir / name
    assert parsed(shim, str(path)) == parsed(pymarc, str(path))
    assert parsed(shim, io.BytesIO(path.read_bytes())) == parsed(pymarc, io.BytesIO(path.read_bytes()))
