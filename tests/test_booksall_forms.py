"""All 250,000 BooksAll records through every form: as yaz-marcdump and pymarc write MARCXML and
MARC-in-JSON, read by `read_marc` as the ISO 2709 file reads; as `write_marc` writes them, read
back by `read_marc` to the same frame and by pymarc to the same records.

XML 1.0 cannot hold control characters other than tab, line feed and carriage return, and an XML
parser reads a raw carriage return as a line feed: a few BooksAll records hold such characters, and
their MARCXML forms are compared with the ISO 2709 frame so changed (`as_xml_holds_it`)."""

from __future__ import annotations

import io
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pymarc
import pytest

import marc_polars as mp
from marc_polars.exceptions import CharactersLeftOutWarning

from reference import record_row

#: Control characters XML 1.0 does not allow.
NOT_IN_XML = r"[\x00-\x08\x0b\x0c\x0e-\x1f]"


@pytest.fixture(scope="module")
def iso(booksall: Path) -> pl.DataFrame:
    return mp.read_marc(booksall)


def each_text(frame: pl.DataFrame, change) -> pl.DataFrame:  # type: ignore[no-untyped-def]
    """`frame` with `change` applied to every control field's data and subfield's value."""
    field, subfield = pl.element().struct, pl.element().struct
    return frame.with_columns(
        pl.col("fields").list.eval(
            pl.struct(
                field.field("tag"),
                field.field("ind1"),
                field.field("ind2"),
                change(field.field("data")).alias("data"),
                field.field("subfields")
                .list.eval(pl.struct(subfield.field("code"), change(subfield.field("value")).alias("value")))
                .alias("subfields"),
            )
        )
    )


def as_xml_holds_it(frame: pl.DataFrame, raw_carriage_returns: bool) -> pl.DataFrame:
    """The frame as MARCXML holds it: control characters XML does not allow left out, and a raw
    carriage return (as yaz and pymarc write it) read as a line feed."""

    def change(text: pl.Expr) -> pl.Expr:
        text = text.str.replace_all(NOT_IN_XML, "")
        if raw_carriage_returns:
            text = text.str.replace_all("\r\n", "\n", literal=True).str.replace_all("\r", "\n", literal=True)
        return text

    return each_text(frame, change)


def yaz(booksall: Path, form: str, out: Path) -> Path:
    if shutil.which("yaz-marcdump") is None:
        pytest.fail("yaz-marcdump is needed to write BooksAll's MARCXML and MARC-in-JSON: apt-get install yaz")
    with out.open("wb") as stream:
        subprocess.run(["yaz-marcdump", "-i", "marc", "-o", form, str(booksall)], stdout=stream, check=True)
    return out


def test_yaz_marcxml_reads_as_the_iso2709_file(booksall, iso, tmp_path):
    expected = as_xml_holds_it(iso, raw_carriage_returns=True)
    assert 0 < (iso["fields"] != expected["fields"]).sum() < 100  # a few records hold such characters
    assert mp.read_marc(yaz(booksall, "marcxml", tmp_path / "b.xml")).equals(expected)


def test_yaz_marc_in_json_reads_as_the_iso2709_file(booksall, iso, tmp_path):
    assert mp.read_marc(yaz(booksall, "json", tmp_path / "b.json")).equals(iso)


def pymarc_records(booksall: Path) -> Iterator[pymarc.Record]:
    with booksall.open("rb") as stream:
        yield from pymarc.MARCReader(stream, to_unicode=True, force_utf8=True)


def test_pymarcs_writers_output_reads_as_the_iso2709_file(booksall, iso, tmp_path):
    """pymarc's `XMLWriter` writes the control characters XML does not allow as they are: those
    records are not well-formed XML (expat, and so pymarc, stops at the first), and are skipped
    with `malformed_xml`; every other record reads as the ISO 2709 file does."""
    xml, json = tmp_path / "pymarc.xml", tmp_path / "pymarc.json"
    with xml.open("wb") as xml_out, json.open("w", encoding="utf-8") as json_out:
        xml_writer, json_writer = pymarc.XMLWriter(xml_out), pymarc.JSONWriter(json_out)
        for record in pymarc_records(booksall):
            xml_writer.write(record)
            json_writer.write(record)
        xml_writer.close(close_fh=False)
        json_writer.close(close_fh=False)
    assert mp.read_marc(json).equals(iso)
    report = mp.ReadReport()
    frame = mp.read_marc(xml, on_error="skip", report=report)
    holding = iso.with_row_index().filter(
        pl.col("fields")
        .list.eval(
            pl.element().struct.field("data").str.contains(NOT_IN_XML).fill_null(False)
            | pl.element()
            .struct.field("subfields")
            .list.eval(pl.element().struct.field("value").str.contains(NOT_IN_XML))
            .list.any()
            .fill_null(False)
        )
        .list.any()
    )["index"]
    assert [error.record for error in report.skipped] == holding.to_list()
    assert {error.code for error in report.skipped} == {"malformed_xml"}
    expected = as_xml_holds_it(iso, raw_carriage_returns=True).with_row_index()
    assert frame.equals(expected.filter(~pl.col("index").is_in(holding.implode())).drop("index"))


def row_hashes(records: Iterator[pymarc.Record]) -> list[int]:
    """A hash of each record's leader, tags, indicators and values, in order: 250,000 records'
    worth of comparison without holding them."""
    return [hash(repr(record_row(record))) for record in records]


def test_write_marc_round_trips_through_every_form(booksall, iso, tmp_path):
    xml, json, lines = tmp_path / "b.xml", tmp_path / "b.json", tmp_path / "b.ndjson"
    with pytest.warns(CharactersLeftOutWarning, match=r"^8 control character\(s\)"):
        mp.write_marc(iso, xml)
    mp.write_marc(iso, json)
    mp.write_marc(iso, lines)
    # Carriage returns are written as character references: only the other characters are lost.
    assert mp.read_marc(xml).equals(as_xml_holds_it(iso, raw_carriage_returns=False))
    assert mp.read_marc(json).equals(iso)
    assert mp.read_marc(lines).equals(iso)

    # pymarc reads them back to the records it reads from the ISO 2709 file, but for what XML
    # cannot hold. Its JSONReader loads a whole document at once: it reads the one-a-line form a
    # line at a time, each line the very record the JSON array holds (an array pymarc reads
    # whole: `test_the_json_array_is_one_document`).
    expected = row_hashes(pymarc_records(booksall))
    from_json = []
    with lines.open(encoding="utf-8") as stream:
        for line in stream:
            from_json.extend(row_hashes(iter(pymarc.JSONReader(line))))
    assert from_json == expected
    from_xml: list[int] = []
    pymarc.map_xml(lambda record: from_xml.append(hash(repr(record_row(record)))), str(xml))
    changed = as_xml_holds_it(iso, raw_carriage_returns=False)
    differing = (iso["fields"] != changed["fields"]).arg_true().to_list()
    assert len(from_xml) == len(expected)
    assert [i for i, (a, b) in enumerate(zip(from_xml, expected, strict=True)) if a != b] == differing


def test_the_json_array_is_one_document(iso, tmp_path):
    """The array `write_marc` writes is one JSON document, as pymarc's `JSONWriter` writes it."""
    out = io.BytesIO()
    head = iso.head(2_000)
    mp.write_marc(head, out, format="json")
    iso2709 = io.BytesIO()
    mp.write_marc(head, iso2709)
    expected = pymarc.MARCReader(iso2709.getvalue(), to_unicode=True, force_utf8=True)
    assert row_hashes(iter(pymarc.JSONReader(out.getvalue().decode()))) == row_hashes(expected)
