"""`marc_polars.pymarc` against pymarc 5.4.0, record for record.

Both read the same bytes; every record must give the same title, author, ISBN, publisher,
publication year, subjects, notes, `str()`, `as_marc()` and `as_dict()`, and every bad record the
same `None` with the same exception. pymarc's own test suite runs against the shim in
`test_pymarc_suite.py`.
"""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path

import pymarc
import pytest

import marc_polars
import marc_polars.pymarc as shim
from marc_polars.pymarc._decoded import DecodedRecord

from conftest import BROKEN, DATA, MARC8, READABLE, TRUNCATED, fetch_data, run_python

#: pymarc's own binary test files: MARC-8, UTF-8, UNIMARC and damaged records.
PYMARC_FILES = [
    "1251.dat",
    "alphatag.dat",
    "bad_eacc_encoding.dat",
    "bad_indicator.dat",
    "bad_marc8_escape.dat",
    "bad_records.mrc",
    "bad_subfield_code.dat",
    "diacritic.dat",
    "marc.dat",
    "marc8-to-unicode.dat",
    "marc8.dat",
    "multi_isbn.dat",
    "one.dat",
    "regression45.dat",
    "test.dat",
    "testunimarc.dat",
    "utf8_errors.dat",
    "utf8_invalid.mrc",
    "utf8_with_leader_flag.dat",
    "utf8_without_leader_flag.dat",
]
OPTIONS = {
    "default": {},
    "force_utf8": {"force_utf8": True},
    "replace": {"utf8_handling": "replace"},
    "raw": {"to_unicode": False},
}


def attempt(read):
    """What `read()` gives, or the name of the exception it raises (records read without
    `to_unicode` hold bytes, on which some of pymarc's properties raise)."""
    try:
        return read()
    except Exception as error:  # the exception is the answer compared
        return ("raises", type(error).__name__)


def describe(record) -> tuple:
    """What a script reads from a record."""
    return tuple(
        attempt(read)
        for read in (
            lambda: record.title,
            lambda: record.author,
            lambda: record.isbn,
            lambda: record.publisher,
            lambda: record.pubyear,
            lambda: [f.value() for f in record.subjects],
            lambda: [f.value() for f in record.notes],
            lambda: str(record),
            record.as_marc,
            record.as_dict,
        )
    )


def outcomes(module, target, **options) -> list:
    reader = module.MARCReader(target, **options)
    out = []
    for record in reader:
        if record is None:
            error = reader.current_exception
            out.append(("None", type(error).__name__, str(error), reader.current_chunk))
        else:
            out.append(describe(record))
    return out


def pymarc_file(pymarc_test_dir: Path, name: str) -> bytes:
    return (pymarc_test_dir / name).read_bytes()


@pytest.mark.parametrize("options", OPTIONS.values(), ids=OPTIONS.keys())
@pytest.mark.parametrize("name", PYMARC_FILES)
def test_pymarc_test_files_read_the_same(pymarc_test_dir, name, options):
    data = pymarc_file(pymarc_test_dir, name)
    assert outcomes(shim, data, **options) == outcomes(pymarc, data, **options)


@pytest.mark.parametrize("options", OPTIONS.values(), ids=OPTIONS.keys())
@pytest.mark.parametrize("path", [*READABLE, TRUNCATED, *MARC8, *BROKEN], ids=lambda p: p.name)
def test_corpus_files_read_the_same(path, options):
    data = path.read_bytes()
    assert outcomes(shim, data, **options) == outcomes(pymarc, data, **options)


class Unseekable(io.RawIOBase):
    """A pipe-like stream: reads only, no `seek`, no `tell`."""

    def __init__(self, data: bytes) -> None:
        self._inner = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        return self._inner.readinto(buffer)


SOURCES = {
    "bytes": lambda path: path.read_bytes(),
    "bytearray": lambda path: bytearray(path.read_bytes()),
    "memoryview": lambda path: memoryview(path.read_bytes()),
    "str": str,
    "pathlike": lambda path: path,
    "file": lambda path: open(path, "rb"),  # noqa: SIM115 - the reader under test is given it open
    "BytesIO": lambda path: io.BytesIO(path.read_bytes()),
    "unseekable": lambda path: Unseekable(path.read_bytes()),
    "gzip": lambda path: gzip.GzipFile(fileobj=io.BytesIO(gzip.compress(path.read_bytes()))),
}


@pytest.mark.parametrize("kind", SOURCES)
@pytest.mark.parametrize("path", [DATA / "traject__test_data.utf8.mrc", TRUNCATED], ids=lambda p: p.name)
def test_every_source_reads_like_bytes_in_pymarc(path, kind):
    reader_input = SOURCES[kind](path)
    assert outcomes(shim, reader_input) == outcomes(pymarc, path.read_bytes())


def test_a_framing_error_mid_file_hands_over_at_its_offset():
    # Record 18 is cut short: 18 records are read natively, then pymarc's own reading reports
    # the truncation and stops, as pymarc does.
    reader = shim.MARCReader(TRUNCATED.read_bytes())
    records = list(reader)
    assert len(records) == 19 and records[-1] is None
    assert all(type(r) is DecodedRecord for r in records[:-1])
    assert isinstance(reader.current_exception, shim.exceptions.TruncatedRecord)
    assert isinstance(reader.current_exception, marc_polars.MarcError)


def _fields_of(record) -> list[tuple[object, ...]]:
    return [(f.tag, f.data, f.indicators, [tuple(s) for s in f.subfields]) for f in record.fields]


def test_the_fast_path_is_taken_for_utf8_and_marc8_records_pymarc_reads_without_a_word(pymarc_test_dir, capfd):
    utf8 = list(shim.MARCReader(marc_polars.SAMPLE))
    assert len(utf8) == 1000 and all(type(r) is DecodedRecord for r in utf8)
    data = pymarc_file(pymarc_test_dir, "marc8.dat")
    marc8 = list(shim.MARCReader(data))
    assert marc8 and all(type(r) is DecodedRecord for r in marc8)
    assert [_fields_of(r) for r in marc8] == [_fields_of(r) for r in pymarc.MARCReader(data)]
    # Records in another encoding than MARC-8 are pymarc's to decode.
    latin1 = list(shim.MARCReader(data, file_encoding="cp1252"))
    assert latin1 and all(type(r) is shim.Record for r in latin1)
    forced = list(shim.MARCReader(pymarc_file(pymarc_test_dir, "utf8_without_leader_flag.dat"), force_utf8=True))
    assert forced and all(type(r) is DecodedRecord for r in forced)
    # A code MARC-8 does not map: pymarc writes a warning, so the record is read its way, warning included.
    at = data.index(b"\x1fa") + 2
    unmapped = data[:at] + b"\xbf" + data[at + 1 :]
    capfd.readouterr()
    mixed = list(shim.MARCReader(unmapped))
    shim_warning = capfd.readouterr().err
    theirs = list(pymarc.MARCReader(unmapped))
    assert type(mixed[0]) is shim.Record and all(type(r) is DecodedRecord for r in mixed[1:])
    assert shim_warning and shim_warning == capfd.readouterr().err
    assert [_fields_of(r) for r in mixed] == [_fields_of(r) for r in theirs]


def _digests(module, path: Path) -> list[int]:
    """A hash of each record's leader and fields as `module`'s MARCReader reads them."""
    with open(path, "rb") as handle:
        return [hash((str(r.leader), repr(_fields_of(r)))) if r else 0 for r in module.MARCReader(handle)]


@pytest.mark.slow
def test_booksall_in_marc8_reads_as_pymarc_reads_it(capfd):
    """All 250,000 BooksAll records in MARC-8 (made by YAZ): the same records as pymarc's, and the
    same warnings, for the records pymarc warns about (all the rest are decoded natively)."""
    path = fetch_data.booksall_marc8()
    capfd.readouterr()
    ours = _digests(shim, path)
    our_warnings = capfd.readouterr().err
    assert ours == _digests(pymarc, path)
    assert our_warnings == capfd.readouterr().err
    assert len(ours) == 250_000


def test_fields_made_on_demand_are_the_fields_of_the_record():
    record = next(iter(shim.MARCReader(marc_polars.SAMPLE)))
    title = record["245"]
    assert record["245"] is title and record.get("245") is title
    assert "245" in record and "999" not in record and record.get("999") is None
    with pytest.raises(KeyError):
        record["999"]
    assert title in record.fields and record.fields.index(title) == [f.tag for f in record.fields].index("245")
    # Once the list is made, the record is an ordinary one: edits show everywhere.
    title["a"] = "Changed"
    record.remove_field(record["001"])
    record.add_ordered_field(shim.Field("599", shim.Indicators(" ", " "), [shim.Subfield("a", "Note.")]))
    again = shim.Record(record.as_marc())
    assert again["245"]["a"] == "Changed" and "001" not in again and again["599"]["a"] == "Note."


def test_edits_before_the_list_is_made_are_kept():
    record = next(iter(shim.MARCReader(marc_polars.SAMPLE)))
    record["245"].add_subfield("z", "added")
    assert record.fields[[f.tag for f in record.fields].index("245")]["z"] == "added"
    assert "added" in str(record)


def test_close_stops_reading_and_closes_the_file():
    with open(DATA / "traject__test_data.utf8.mrc", "rb") as handle:
        reader = shim.MARCReader(handle)
        next(reader)
        reader.close()
        assert handle.closed


def test_dropping_a_reader_part_way_leaves_no_reader_thread(tmp_path):
    # 40 copies of the sample (31 MB): far more than one decoding thread reads ahead (two 4 MiB
    # chunks), so the reader thread is still there after the first record, waiting for the consumer.
    code = (
        "import gc, os, pathlib, marc_polars.pymarc as p, marc_polars as mp\n"
        "mp.set_max_threads(1)\n"
        "def readers():\n"
        "    names = []\n"
        "    for t in os.listdir('/proc/self/task'):\n"
        "        try: names.append(open(f'/proc/self/task/{t}/comm').read().strip())\n"
        "        except FileNotFoundError: pass\n"
        "    return sum(n == 'marc-polars-rea' for n in names)\n"
        "r = p.MARCReader(pathlib.Path(mp.SAMPLE).read_bytes() * 40); next(r)\n"
        "before = readers(); del r; gc.collect()\n"
        "print(before, readers())\n"
    )
    done = run_python(code, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["1", "0"]


def test_marc_polars_reexports_the_reader():
    assert marc_polars.MARCReader is shim.MARCReader


@pytest.mark.slow
def test_booksall_reads_the_same_as_pymarc(booksall):
    with open(booksall, "rb") as ours, open(booksall, "rb") as theirs:
        count = 0
        for mine, reference in zip(shim.MARCReader(ours), pymarc.MARCReader(theirs), strict=True):
            assert type(mine) is DecodedRecord
            assert describe(mine) == describe(reference), f"record {count}"
            count += 1
    assert count == 250_000


def test_on_error_raises_or_skips_what_pymarc_yields_as_none():
    path = DATA / "broken" / "marc4j__pride-and-prejudice-with-many-errors.mrc"
    reader = shim.MARCReader(path.read_bytes())
    outcomes = [(record is None, type(reader.current_exception)) for record in reader]
    nones = [kind for is_none, kind in outcomes if is_none]
    skipping = shim.MARCReader(path.read_bytes(), on_error="skip")
    kept = list(skipping)
    assert len(kept) == len(outcomes) - len(nones) and None not in kept
    assert [type(e) for e in skipping.skipped] == nones
    raising = shim.MARCReader(path.read_bytes(), on_error="raise")
    first_bad = [is_none for is_none, _ in outcomes].index(True)
    for _ in range(first_bad):
        assert next(raising) is not None
    with pytest.raises(nones[0]):
        next(raising)
    # The reading goes on after a record's error, as it does after a None.
    read, raised = first_bad, 1
    while True:
        try:
            next(raising)
            read += 1
        except StopIteration:
            break
        except Exception:  # each bad record raises its own pymarc exception
            raised += 1
    assert (read, raised) == (len(outcomes) - len(nones), len(nones))
    with pytest.raises(ValueError, match="on_error"):
        shim.MARCReader(path.read_bytes(), on_error="collect")  # type: ignore[arg-type]


def test_errors_under_on_error_name_source_record_and_offset():
    """Each record left out or raised names where it is, as `read_marc` does for the same record."""
    path = DATA / "broken" / "marc4j__pride-and-prejudice-with-many-errors.mrc"
    report = marc_polars.ReadReport()
    marc_polars.read_marc(path, on_error="skip", report=report)
    expected = [(e.record, e.byte_offset) for e in report.skipped]
    with open(path, "rb") as handle:
        skipping = shim.MARCReader(handle, on_error="skip")
        list(skipping)
    assert [(e.record, e.byte_offset) for e in skipping.skipped] == expected
    for error in skipping.skipped:
        # pymarc's own exception (here UnicodeDecodeError), told where the record is.
        assert error.source == str(path)  # type: ignore[attr-defined]
        where = f"{path}: record {error.record} at byte offset {error.byte_offset}"  # type: ignore[attr-defined]
        assert where in (
            str(error) if isinstance(error, marc_polars.MarcError) else getattr(error, "__notes__", [where])
        )
    raising = shim.MARCReader(path.read_bytes(), on_error="raise")
    with pytest.raises(type(skipping.skipped[0])) as raised:
        list(raising)
    assert (raised.value.source, raised.value.record, raised.value.byte_offset) == ("<bytes>", *expected[0])  # type: ignore[attr-defined]


def test_a_framing_error_under_on_error_names_where_it_is():
    path = TRUNCATED
    with pytest.raises(marc_polars.MarcError) as expected:
        marc_polars.read_marc(path)
    with pytest.raises(type(expected.value)) as raised:
        list(shim.MARCReader(str(path), on_error="raise"))
    error = raised.value
    assert (error.source, error.record, error.byte_offset) == (
        str(path),
        expected.value.record,
        expected.value.byte_offset,
    )
    assert str(error).startswith(f"{path}: record {error.record} at byte offset {error.byte_offset}: ")


def json_outcomes(module, text: str) -> list:
    """Each turn of a JSONReader over `text`: the record's MARC-in-JSON, or the exception raised."""
    reader, out, turns = iter(module.JSONReader(text)), [], len(json.loads(text)) + 1
    while len(out) < turns:
        try:
            out.append(next(reader).as_dict())
        except StopIteration:
            return out
        except Exception as error:  # the exception is the answer compared, and reading goes on
            out.append(("raises", type(error).__name__, str(error)))
    return out


def test_json_reader_raises_for_a_bad_record_in_its_turn_and_reads_on():
    with open(marc_polars.SAMPLE, "rb") as handle:
        records = [record.as_dict() for record in shim.MARCReader(handle)] * 3  # several of its batches
    records[3] = {"fields": records[3]["fields"]}  # no leader
    records[1200] = {**records[1200], "fields": [{"650": {"ind1": " ", "subfields": []}}]}  # no second indicator
    text = json.dumps(records)
    outcomes = json_outcomes(shim, text)
    assert outcomes == json_outcomes(pymarc, text)
    assert [type(o) for o in outcomes].count(tuple) == 2 and len(outcomes) == 3000
    # Each iteration starts over, with records made anew.
    reader = shim.JSONReader(json.dumps(records[:3]))
    first, again = list(reader), list(reader)
    assert [r.as_dict() for r in first] == [r.as_dict() for r in again] and first[0] is not again[0]
