"""Writing MARCXML and MARC-in-JSON (an array, or one record a line), plain or compressed: read back
by `read_marc` to the same frame, and by pymarc to the records pymarc reads from the ISO 2709 file."""

from __future__ import annotations

import gzip
import io
import json
import warnings
from pathlib import Path

import polars as pl
import pymarc
import pytest
import zstandard

import marc_polars as mp
import marc_polars.pymarc as shim
from marc_polars.cli import main
from marc_polars.exceptions import CharactersLeftOutWarning

from conftest import DATA, READABLE
from reference import record_row

TRAJECT = DATA / "traject__test_data.utf8.mrc"


def plain_rows(frame: pl.DataFrame) -> list:
    """The rows of a lossless frame as `record_row` gives pymarc's records."""
    rows = []
    for leader, fields in frame.select("leader", "fields").iter_rows():
        out = []
        for f in fields:
            subfields = None if f["subfields"] is None else [(s["code"], s["value"]) for s in f["subfields"]]
            out.append((f["tag"], f["ind1"], f["ind2"], f["data"], subfields))
        rows.append((leader, out))
    return rows


def pymarc_xml_rows(data: bytes) -> list:
    return [record_row(r) for r in pymarc.parse_xml_to_array(io.BytesIO(data))]


def pymarc_json_rows(data: bytes) -> list:
    return [record_row(r) for r in pymarc.JSONReader(data.decode())]


#: Real files whose records hold control characters XML 1.0 cannot hold.
CONTROL_CHARACTERS = {"marc4j__bad-characters-in-various-fields.mrc"}


@pytest.mark.parametrize("path", READABLE, ids=lambda p: p.name)
def test_every_form_written_reads_back_to_the_frame_and_to_pymarcs_records(path, tmp_path):
    frame = mp.read_marc(path)
    expected = plain_rows(frame)
    for name, read_by_pymarc in [("out.xml", pymarc_xml_rows), ("out.json", pymarc_json_rows), ("out.ndjson", None)]:
        out = tmp_path / name
        if name == "out.xml" and path.name in CONTROL_CHARACTERS:
            with pytest.warns(CharactersLeftOutWarning):
                mp.write_marc(frame, out)
            assert mp.read_marc(out).height == frame.height
            continue
        assert mp.write_marc(frame, out) == frame.height
        assert mp.read_marc(out).equals(frame), name
        if read_by_pymarc is not None:
            assert read_by_pymarc(out.read_bytes()) == expected, name


def test_the_form_and_compression_come_from_the_name_or_are_given(tmp_path):
    frame = mp.read_marc(TRAJECT)
    mp.write_marc(frame, tmp_path / "a.xml.gz")
    assert gzip.decompress((tmp_path / "a.xml.gz").read_bytes()).startswith(b"<?xml")
    mp.write_marc(frame, tmp_path / "a.json.zst")
    assert (
        zstandard.ZstdDecompressor().decompressobj().decompress((tmp_path / "a.json.zst").read_bytes()).startswith(b"[")
    )
    mp.write_marc(frame, tmp_path / "a.mrc.gz")
    assert gzip.decompress((tmp_path / "a.mrc.gz").read_bytes()) == TRAJECT.read_bytes()
    for name in ("a.xml.gz", "a.json.zst", "a.mrc.gz"):
        assert mp.read_marc(tmp_path / name).equals(frame), name
    mp.write_marc(frame, tmp_path / "records.dat", format="marcxml")
    assert (tmp_path / "records.dat").read_bytes().startswith(b"<?xml")
    lines = tmp_path / "b.ndjson"
    mp.write_marc(frame, lines)
    records = [json.loads(line) for line in lines.read_text(encoding="utf-8").splitlines()]
    assert len(records) == frame.height and records[0]["leader"] == frame["leader"][0]
    buffer = io.BytesIO()
    assert mp.write_marc(frame, buffer, format="json") == frame.height
    assert mp.read_marc(buffer.getvalue()).equals(frame)


def test_control_characters_xml_cannot_hold_are_left_out_with_a_warning(tmp_path):
    frame = mp.read_marc(TRAJECT, n_rows=3)
    fields = pl.col("fields").list.eval(
        pl.struct(
            pl.element().struct.field("tag"),
            pl.element().struct.field("ind1"),
            pl.element().struct.field("ind2"),
            (pl.element().struct.field("data") + "\x1f\r").alias("data"),
            pl.element().struct.field("subfields"),
        )
    )
    odd = frame.with_columns(fields)
    controls = frame["fields"].list.eval(pl.element().struct.field("data")).explode().drop_nulls().len()
    out = tmp_path / "odd.xml"
    with pytest.warns(
        CharactersLeftOutWarning,
        match=rf"^{controls} control character\(s\) that XML 1.0 cannot hold were left out .*, the first in row 0",
    ):
        mp.write_marc(odd, out)
    # The carriage return is kept (as a character reference), the subfield delimiter left out.
    back = mp.read_marc(out)
    control = back["fields"].list.eval(pl.element().struct.field("data")).explode().drop_nulls()
    assert control.str.ends_with("\r").all() and not control.str.contains("\x1f").any()
    # JSON holds every character.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mp.write_marc(odd, tmp_path / "odd.json")
    assert mp.read_marc(tmp_path / "odd.json").equals(odd)


def test_a_frame_that_cannot_be_written_writes_nothing(tmp_path):
    frame = mp.read_marc(TRAJECT)
    bad = frame.with_columns(
        pl.when(pl.int_range(pl.len()) == 7).then(pl.lit("short")).otherwise(pl.col("leader")).alias("leader")
    )
    out = tmp_path / "out.xml"
    out.write_bytes(b"kept")
    with pytest.raises(ValueError, match=r"row 7: leader \"short\" is not 24 ASCII characters"):
        mp.write_marc(bad, out)
    assert out.read_bytes() == b"kept"


def test_convert_writes_records_in_every_form(tmp_path):
    frame = mp.read_marc(TRAJECT)
    for name in ("out.xml", "out.json", "out.mrc", "out.xml.gz", "out.json.zst"):
        assert main(["convert", str(TRAJECT), "-o", str(tmp_path / name), "--no-progress"]) == 0
        assert mp.read_marc(tmp_path / name).equals(frame), name
    # And back: MARCXML in, ISO 2709 out.
    assert main(["convert", str(tmp_path / "out.xml.gz"), "-o", str(tmp_path / "again.mrc"), "--no-progress"]) == 0
    assert (tmp_path / "again.mrc").read_bytes() == TRAJECT.read_bytes()


def test_the_shims_writers_write_what_pymarcs_write(tmp_path):
    records = list(pymarc.MARCReader(TRAJECT.read_bytes(), to_unicode=True, force_utf8=True))
    ours = list(shim.MARCReader(TRAJECT.read_bytes(), to_unicode=True, force_utf8=True))
    for module, writer in [(pymarc, "XMLWriter"), (pymarc, "JSONWriter")]:
        theirs_out, ours_out = (
            io.BytesIO() if writer == "XMLWriter" else io.StringIO(),
            io.BytesIO() if writer == "XMLWriter" else io.StringIO(),
        )
        w = getattr(module, writer)(theirs_out)
        for r in records:
            w.write(r)
        w.close(close_fh=False)
        w = getattr(shim, writer)(ours_out)
        for r in ours:
            w.write(r)
        w.close(close_fh=False)
        assert ours_out.getvalue() == theirs_out.getvalue(), writer
    assert [shim.record_to_xml(r) for r in ours] == [pymarc.record_to_xml(r) for r in records]
    xml = Path(tmp_path / "t.xml")
    mp.write_marc(mp.read_marc(TRAJECT), xml)
    assert [record_row(r) for r in shim.parse_xml_to_array(str(xml))] == [
        record_row(r) for r in pymarc.parse_xml_to_array(str(xml))
    ]
    text = tmp_path / "t.json"
    mp.write_marc(mp.read_marc(TRAJECT), text)
    assert [record_row(r) for r in shim.JSONReader(text.read_text(encoding="utf-8"))] == pymarc_json_rows(
        text.read_bytes()
    )
