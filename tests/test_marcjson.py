"""MARC-in-JSON: real files from other projects read as pymarc reads them, the three layouts dumps
come in (an array, one record a line, objects one after another), BooksAll as yaz-marcdump writes
it, and bad input named."""

from __future__ import annotations

import gzip
import re

import pymarc
import pytest
from test_write_forms import plain_rows

import marc_polars as mp
from marc_polars import _native, exceptions

from conftest import DATA
from reference import record_row

FORMS = DATA / "forms"
TRAJECT_ISO = DATA / "traject__test_data.utf8.mrc"

#: MARC-in-JSON files of other projects that pymarc's JSONReader reads.
AS_PYMARC = [
    "folio__parsedAuthorityRecord.json",
    "folio__parsedHoldingsRecord.json",
    "marc4j__legal-json-marc-in-json.json",
    "marc4j__marc-in-json.json",
    "yaz__marc7.json",
]


@pytest.mark.parametrize("name", AS_PYMARC)
def test_marc_in_json_files_read_as_pymarc_reads_them(name):
    path = FORMS / name
    expected = [record_row(r) for r in pymarc.JSONReader(path.read_text(encoding="utf-8"))]
    assert plain_rows(mp.read_marc(path)) == expected


def test_one_record_a_line_equals_its_iso2709_twin():
    """traject's NDJSON (which pymarc, reading one JSON document, cannot read)."""
    assert mp.read_marc(FORMS / "traject__test_data.utf8.json").equals(mp.read_marc(TRAJECT_ISO))


def layouts() -> dict[str, bytes]:
    lines = (FORMS / "traject__test_data.utf8.json").read_bytes().splitlines()
    return {
        "array": b"[" + b",\n".join(lines) + b"]",
        "lines": b"\n".join(lines) + b"\n",
        "objects": b"".join(lines),
        "pretty": b"\n".join(re.sub(rb'", "', b'",\n  "', line) for line in lines),
    }


@pytest.mark.parametrize("layout", ["array", "lines", "objects", "pretty"])
@pytest.mark.parametrize("chunk_size", [1, 900, 1 << 20])
def test_every_layout_reads_the_same_in_parts_read_in_parallel(layout, chunk_size):
    data = layouts()[layout]
    expected = mp.read_marc(TRAJECT_ISO)
    assert mp.read_marc(data).equals(expected)
    assert _native.read_frame(_native.iter_batches([data], chunk_size=chunk_size, threads=2)).equals(expected)


def test_gzip_compressed_json_without_extension(tmp_path):
    packed = tmp_path / "dump"
    packed.write_bytes(gzip.compress(layouts()["lines"]))
    assert mp.read_marc(packed).equals(mp.read_marc(TRAJECT_ISO))


def test_json_that_is_no_marc_in_json_is_named():
    with pytest.raises(
        exceptions.UnknownFormatError, match='it looks like JSON without a MARC-in-JSON record\'s "leader"'
    ):
        mp.read_marc(FORMS / "marc4j__marc-json.json")
    with pytest.raises(exceptions.UnknownFormatError, match="it looks like JSON without"):
        mp.read_marc(b'{"type": "FeatureCollection", "features": []}')


def test_a_raw_line_end_inside_a_string_is_malformed_json_naming_where():
    """marc4j's illegal file: JSON does not allow a control character in a string."""
    path = FORMS / "marc4j__illegal-marc-in-json.json"
    with pytest.raises(
        exceptions.JSONInvalid, match=r"illegal-marc-in-json\.json: record 0 at byte offset 0: malformed JSON"
    ):
        mp.read_marc(path)
    frame = mp.read_marc(path, on_error="collect")
    assert frame.height == 1 and frame["raw"][0] == path.read_bytes().strip()


@pytest.mark.parametrize(
    ("bad", "error", "message"),
    [
        (
            b'{"leader": "00000nam a2200000 a 4500", "fields": [{"245": "a title"}]}',
            exceptions.RecordStructureInvalid,
            "245",
        ),
        (b'{"fields": []}', exceptions.RecordStructureInvalid, "no leader"),
        (
            b'{"leader": "00000nam a2200000 a 4500", "fields": [{"245": {"ind1": " ", "ind2": " ", '
            b'"subfields": [{"a": 1}]}}]}',
            exceptions.RecordStructureInvalid,
            "subfield $a of field 245",
        ),
        (b'{"leader": "00000nam a2200000 a 4500", "fields": [}', exceptions.JSONInvalid, "malformed JSON"),
    ],
    ids=["string-under-data-tag", "no-leader", "number-value", "syntax"],
)
def test_bad_records_are_typed_errors_naming_where(bad, error, message):
    lines = layouts()["lines"].splitlines()
    data = b"\n".join([lines[0], bad, lines[1]]) + b"\n"
    with pytest.raises(
        error, match=rf"<bytes #0>: record 1 at byte offset {len(lines[0]) + 1}: .*{re.escape(message)}"
    ):
        mp.read_marc(data)
    report = mp.ReadReport()
    assert mp.read_marc(data, on_error="skip", report=report).height == 2
    assert report.skipped[0].record == 1


def test_a_dump_cut_short_is_truncated():
    data = layouts()["array"]
    cut = data[: len(data) // 2]
    with pytest.raises(exceptions.TruncatedRecord, match=r"<bytes #0>: record \d+ at byte offset \d+"):
        mp.read_marc(cut)
