"""MARCXML: real files from other projects read as pymarc reads them, BooksAll as yaz-marcdump writes
it read as its ISO 2709 form, records in other XML (OAI-PMH), and every kind of bad input named."""

from __future__ import annotations

import gzip
import io
import re
from pathlib import Path

import polars as pl
import pymarc
import pytest

import marc_polars as mp
from marc_polars import _native, exceptions

from conftest import DATA
from reference import frame_rows, record_row

FORMS = DATA / "forms"
TRAJECT_XML = FORMS / "traject__test_data.utf8.marc.xml"
TRAJECT_ISO = DATA / "traject__test_data.utf8.mrc"

#: MARCXML files of other projects that pymarc reads, and the `on_error` that reads each as pymarc
#: does: pymarc reads a datafield without indicators as blanks and leaves out elements MARCXML does
#: not have, which is damage here unless repaired.
AS_PYMARC = {
    "folio__xmlMarcRecord.xml": "raise",
    "marcli__bad": "raise",
    "mc2skos__authority_gnd-1020118989.xml": "raise",
    "mc2skos__authority_lcsh-sh2009007258.xml": "raise",
    "mc2skos__classification_bk-54.65.xml": "raise",
    "mc2skos__classification_ddc21en-6--98.xml": "raise",
    "mc2skos__classification_ddc23no-1--093-099.xml": "raise",
    "mc2skos__classification_rvk.xml": "raise",
    "pulibrary__broken_indicator.xml": "raise",
    "pulibrary__three_records_one_bad_utf8.xml": "raise",
    "rubymarc__messed_up_leader.xml": "raise",
    "solrmarc__specTestRecs_withBOM.xml": "raise",
    "traject__test_data.utf8.marc.xml": "raise",
    "marc4j__cruel-cruel-indicatorless-summerland.xml": "repair",
    "marc4j__1474920681_KOHA_LFL_6_with_comment.xml": "repair",
}


def pymarc_xml_rows(path: Path) -> list:
    return [record_row(record) for record in pymarc.parse_xml_to_array(str(path))]


@pytest.mark.parametrize("name", sorted(AS_PYMARC))
def test_marcxml_files_read_as_pymarc_reads_them(name):
    path = FORMS / name
    frame = mp.read_marc(path, on_error=AS_PYMARC[name])
    assert frame_rows(frame) == pymarc_xml_rows(path)
    if AS_PYMARC[name] == "repair":
        with pytest.raises(exceptions.RecordStructureInvalid, match=rf"{re.escape(name)}: record 0 at byte offset \d+"):
            mp.read_marc(path)


def test_repairs_say_what_was_changed():
    report = mp.ReadReport()
    path = FORMS / "marc4j__1474920681_KOHA_LFL_6_with_comment.xml"
    frame = mp.read_marc(path, on_error="repair", include_repairs="repairs", report=report)
    assert frame["repairs"].to_list() == [["element_dropped"]]
    assert "<identifier> is not an element of a MARCXML record" in report.repairs[0].detail
    frame = mp.read_marc(
        FORMS / "marc4j__cruel-cruel-indicatorless-summerland.xml", on_error="repair", include_repairs="r"
    )
    assert frame["r"].to_list() == [["missing_indicators"]]


@pytest.mark.parametrize(
    ("name", "error", "message"),
    [
        # pymarc keeps a two-letter subfield code, which ISO 2709 cannot hold.
        (
            "bibliotek__ClassificationRecord.xml",
            exceptions.RecordStructureInvalid,
            "a subfield of field 172 without a one-character code",
        ),
        # pymarc keeps an empty tag and empty indicators, which MARC 21 cannot hold.
        (
            "pulibrary__field_with_no_tag.xml",
            exceptions.RecordStructureInvalid,
            'tag "" is not three letters or digits',
        ),
        ("marcperl__namespace.xml", exceptions.RecordStructureInvalid, 'ind1 "" of field 022 is not one character'),
        # pymarc stops at the control character XML 1.0 does not allow, with expat's error.
        (
            "rubymarc__three-records-second-bad.xml",
            exceptions.XMLInvalid,
            "U\\+0007, a control character XML 1.0 does not allow",
        ),
    ],
)
def test_records_marc_21_cannot_hold_are_damage_naming_where(name, error, message):
    path = FORMS / name
    with pytest.raises(error, match=rf"{re.escape(name)}: record \d+ at byte offset \d+: .*{message}") as raised:
        mp.read_marc(path)
    data = path.read_bytes()
    start = raised.value.byte_offset
    assert data[start:].startswith(b"<record") or data[start:].startswith(b"<marc:record")
    frame = mp.read_marc(path, on_error="collect")
    damaged = frame.filter(pl.col("error").is_not_null())
    assert damaged.height == 1
    # The damaged record's exact bytes are kept: its element, whole.
    raw = damaged["raw"][0]
    assert raw == data[start : start + len(raw)] and raw.rstrip().endswith(b"record>")
    assert mp.read_marc(path, on_error="skip").height == frame.height - 1


def test_the_second_of_three_records_is_the_bad_one():
    path = FORMS / "rubymarc__three-records-second-bad.xml"
    report = mp.ReadReport()
    frame = mp.read_marc(path, on_error="skip", report=report)
    assert frame.height == 2 and [e.record for e in report.skipped] == [1]


def test_marcxml_equals_its_iso2709_twin():
    assert mp.read_marc(TRAJECT_XML).equals(mp.read_marc(TRAJECT_ISO))


def read_in_chunks(source: object, chunk_size: int) -> pl.DataFrame:
    """Read as `read_marc` does, but in chunks of `chunk_size` bytes: records start mid-document in
    every part read in parallel."""
    batches = _native.iter_batches([source], chunk_size=chunk_size, threads=2)
    return _native.read_frame(batches)


@pytest.mark.parametrize("chunk_size", [1, 700, 4096, 1 << 20])
def test_parts_read_in_parallel_frame_as_the_whole(chunk_size):
    whole = mp.read_marc(TRAJECT_XML)
    data = TRAJECT_XML.read_bytes()
    assert read_in_chunks(data, chunk_size).equals(whole)
    assert read_in_chunks(io.BytesIO(data), chunk_size).equals(whole)
    assert read_in_chunks(str(TRAJECT_XML), chunk_size).equals(whole)


def records_of(document: bytes) -> list[bytes]:
    return re.findall(rb"<record>.*?</record>", document, re.S)


def test_records_in_an_oai_pmh_response_with_a_prefix_bound_on_its_root():
    """An OAI-PMH ListRecords response: `record` elements of the OAI namespace each wrap a header
    and a MARC record whose prefix `marc:` the root binds; read in parts that start mid-document."""
    records = [
        r.replace(b"<record>", b"<marc:record>")
        .replace(b"</record>", b"</marc:record>")
        .replace(b"<leader", b"<marc:leader")
        .replace(b"</leader", b"</marc:leader")
        for r in records_of(TRAJECT_XML.read_bytes())
    ]
    items = b"".join(
        b"<record><header><identifier>oai:example:%d</identifier><datestamp>2024-01-01</datestamp></header>"
        b"<metadata>%s</metadata></record>\n" % (i, record)
        for i, record in enumerate(records)
    )
    response = (
        b'<?xml version="1.0" encoding="UTF-8"?>\n'
        b'<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/" xmlns:marc="http://www.loc.gov/MARC21/slim">'
        b'<responseDate>2024-01-01T00:00:00Z</responseDate><request verb="ListRecords">https://example.org/oai</request>'
        b"<ListRecords>\n" + items + b"<resumptionToken/></ListRecords></OAI-PMH>\n"
    )
    whole = mp.read_marc(TRAJECT_ISO)
    assert mp.read_marc(response).equals(whole)
    for chunk_size in (1, 1000, 10_000):
        assert read_in_chunks(response, chunk_size).equals(whole)


def test_a_record_namespace_bound_on_the_record_itself():
    record = records_of(TRAJECT_XML.read_bytes())[0]
    bound = record.replace(b"<record>", b'<record xmlns="http://www.loc.gov/MARC21/slim">')
    assert frame_rows(mp.read_marc(bound)) == frame_rows(mp.read_marc(TRAJECT_ISO, n_rows=1))


def test_an_iso_8859_1_document_is_read_in_its_declared_encoding():
    path = FORMS / "mc2skos__classification_bk-54.65.xml"
    text = path.read_text(encoding="utf-8")
    assert not text.isascii()
    body = text[text.index("?>") + 2 :] if text.startswith("<?xml") else text
    latin1 = ('<?xml version="1.0" encoding="ISO-8859-1"?>' + body).encode("latin-1")
    frame = mp.read_marc(latin1, include_encoding="encoding")
    assert frame.drop("encoding").equals(mp.read_marc(path))
    assert frame["encoding"].to_list() == ["latin-1"]


def test_a_declared_encoding_not_read_is_named():
    document = b'<?xml version="1.0" encoding="Shift_JIS"?>\n<collection><record></record></collection>'
    with pytest.raises(exceptions.UnknownFormatError, match=r'MARCXML in "Shift_JIS", an encoding not read here'):
        mp.read_marc(document)


def test_marcxml_compressed_and_without_extension(tmp_path):
    packed = tmp_path / "harvest"
    packed.write_bytes(gzip.compress(TRAJECT_XML.read_bytes()))
    assert mp.read_marc(packed).equals(mp.read_marc(TRAJECT_ISO))
    assert mp.scan_marc(packed).select("leader").collect().equals(mp.read_marc(TRAJECT_ISO, columns=["leader"]))


def test_format_names_the_form():
    data = TRAJECT_XML.read_bytes()
    assert mp.read_marc(data, format="marcxml").equals(mp.read_marc(TRAJECT_ISO))
    with pytest.raises(exceptions.UnknownFormatError, match="it looks like XML;"):
        mp.read_marc(data, format="iso2709")
    with pytest.raises(ValueError, match='unknown format "xml"'):
        mp.read_marc(data, format="xml")  # type: ignore[arg-type]


def document(*records: bytes) -> bytes:
    return (
        b'<?xml version="1.0"?>\n<collection xmlns="http://www.loc.gov/MARC21/slim">\n'
        + b"\n".join(records)
        + b"\n</collection>\n"
    )


LEADER = b"<leader>00000nam a2200000 a 4500</leader>"


@pytest.mark.parametrize(
    ("record", "error", "message"),
    [
        (
            b'<record><controlfield tag="001">1</controlfield></record>',
            exceptions.RecordStructureInvalid,
            "the record has no leader",
        ),
        (
            b"<record><leader>short</leader></record>",
            exceptions.RecordStructureInvalid,
            'the leader "short" is 5 characters, not 24',
        ),
        (
            b"<record>" + LEADER + b'<datafield tag="245" ind1="1" ind2="0"><subfield code="a">x</datafield></record>',
            exceptions.XMLInvalid,
            "malformed XML",
        ),
        (
            b"<record>" + LEADER + b'<controlfield tag="245">x</controlfield></record>',
            exceptions.RecordStructureInvalid,
            "tag 245 is a <controlfield>",
        ),
        (
            b"<record>"
            + LEADER
            + b'<datafield tag="245" ind1="1" ind2="0"><subfield code="a">x &bogus; y</subfield></datafield></record>',
            exceptions.XMLInvalid,
            "unknown entity &bogus;",
        ),
        (
            b"<record>"
            + LEADER
            + b'<datafield tag="245" ind1="1" ind2="0"><subfield code="a">\xff</subfield></datafield></record>',
            exceptions.InvalidEncoding,
            "invalid UTF-8",
        ),
    ],
    ids=["no-leader", "short-leader", "unclosed-subfield", "control-under-data-tag", "unknown-entity", "bad-utf8"],
)
def test_bad_records_are_typed_errors_naming_where(record, error, message):
    good = records_of(TRAJECT_XML.read_bytes())[0]
    data = document(good, record, good)
    start = data.index(record)
    with pytest.raises(error, match=rf"<bytes #0>: record 1 at byte offset {start}: .*{re.escape(message)}"):
        mp.read_marc(data)
    report = mp.ReadReport()
    assert mp.read_marc(data, on_error="skip", report=report).height == 2
    assert report.skipped[0].record == 1


def test_a_document_cut_short_inside_a_record_is_truncated(tmp_path):
    data = TRAJECT_XML.read_bytes()
    cut = data[: len(data) // 2]
    start = cut.rindex(b"<record")
    with pytest.raises(
        exceptions.TruncatedRecord, match=rf"<bytes #0>: record \d+ at byte offset {start}: the input ends inside"
    ):
        mp.read_marc(cut)
    assert mp.read_marc(cut, on_error="skip").height == cut.count(b"</record>")
