"""`on_error="repair"`: real catalogues' quirks read as a careful cataloguer reads them, every change
reported, and nothing lost.

Each quirk is tested on a real record: the first record of the bundled Library of Congress sample
with that one quirk put in (the test says how), and, where the corpus has one, the real file that
has it. Every file of `tests/data` is then read under repair and compared with two other readers:
YAZ (`yaz-marcdump`, Debian package `yaz`) frames no more records than there are rows, and every
record pymarc 5.4.0 reads (permissive) has pymarc's structure.
"""

from __future__ import annotations

import io
import logging
import shutil
import subprocess
import warnings
from pathlib import Path

import polars as pl
import pymarc
import pytest

import marc_polars as mp
from marc_polars import exceptions

from conftest import BROKEN, DATA, EDGE, MARC8, READABLE, record_lengths

REPAIR = {"on_error": "repair", "include_repairs": "repairs"}


def first_record(path: Path = Path(mp.SAMPLE)) -> bytes:
    data = path.read_bytes()
    return data[: record_lengths(data)[0]]


def fields_of(record: bytes) -> list[tuple[bytes, bytes]]:
    """(tag, content without terminator) of each field, read from the directory."""
    base = int(record[12:17])
    directory = record[24 : base - 1]
    fields = []
    for at in range(0, len(directory), 12):
        entry = directory[at : at + 12]
        length, offset = int(entry[3:7]), int(entry[7:12])
        fields.append((entry[:3], record[base + offset : base + offset + length - 1]))
    return fields


def build(leader: bytes, fields: list[tuple[bytes, bytes]]) -> bytes:
    """A record of these fields: the directory, base address and length computed as ISO 2709 says."""
    directory, data = b"", b""
    for tag, content in fields:
        directory += tag + b"%04d%05d" % (len(content) + 1, len(data))
        data += content + b"\x1e"
    base = 24 + len(directory) + 1
    return (
        b"%05d" % (base + len(data) + 1)
        + leader[5:12]
        + b"%05d" % base
        + leader[17:24]
        + directory
        + b"\x1e"
        + data
        + b"\x1d"
    )


def with_field(record: bytes, tag: bytes, change) -> bytes:  # type: ignore[no-untyped-def]
    """`record` with the content of its first field tagged `tag` changed by `change`."""
    fields = fields_of(record)
    index = next(i for i, (t, _) in enumerate(fields) if t == tag)
    fields[index] = (fields[index][0], change(fields[index][1]))
    return build(record[:24], fields)


def repaired(data: bytes) -> tuple[pl.DataFrame, mp.ReadReport]:
    report = mp.ReadReport()
    return mp.read_marc(data, report=report, **REPAIR), report  # type: ignore[arg-type]


SOUND = first_record()
SOUND_FRAME = mp.read_marc(SOUND)


def field(df: pl.DataFrame, tag: str) -> dict:
    return next(f for f in df["fields"][0] if f["tag"] == tag)


def assert_repaired_as(record: bytes, codes: list[str], error: type[exceptions.MarcError]) -> pl.DataFrame:
    """`record` fails to read as it is, with `error`, and reads under repair with these repairs,
    reported at its number and offset, its exact bytes kept in `raw`."""
    with pytest.raises(error):
        mp.read_marc(record)
    df, report = repaired(record)
    assert df["repairs"].to_list() == [codes]
    assert df["error"].to_list() == [None] and df["raw"].to_list() == [record]
    assert (report.repaired, report.collected) == (1, 0)
    assert [(r.kind, r.record, r.byte_offset) for r in report.repairs] == [(c, 0, 0) for c in codes]
    return df


def test_stray_bytes_in_the_leader_positions_marc21_fixes():
    # Leader/20-23 and 10-11 hold what MARC 21 says they must; a byte there that is not ASCII
    # makes the record no UTF-8.
    record = SOUND[:10] + b"\xa02" + SOUND[12:20] + b"45\xa00" + SOUND[24:]
    df = assert_repaired_as(record, ["leader_counts", "leader_entry_map"], exceptions.InvalidEncoding)
    assert df.equals(
        SOUND_FRAME.with_columns(
            pl.lit(None, pl.String).alias("error"),
            pl.lit(record).alias("raw"),
            pl.lit(["leader_counts", "leader_entry_map"]).alias("repairs"),
        )
    )


def test_a_leader_byte_that_is_not_ascii_elsewhere_is_the_fill_character():
    record = SOUND[:17] + b"\xc2" + SOUND[18:]
    df = assert_repaired_as(record, ["leader_fill"], exceptions.InvalidEncoding)
    assert df["leader"][0] == SOUND[:17].decode() + "|" + SOUND[18:24].decode()


def test_three_indicators_keep_the_first_two_and_one_is_padded():
    three = with_field(SOUND, b"245", lambda c: c[:2] + b"0" + c[2:])
    df = assert_repaired_as(three, ["extra_indicators"], exceptions.FieldInvalid)
    assert df["fields"].equals(SOUND_FRAME["fields"])
    one = with_field(SOUND, b"245", lambda c: c[:1] + c[2:])
    df = assert_repaired_as(one, ["missing_indicators"], exceptions.FieldInvalid)
    assert (field(df, "245")["ind1"], field(df, "245")["ind2"]) == (field(SOUND_FRAME, "245")["ind1"], " ")


def test_a_real_export_with_a_tag_with_a_space_and_three_indicators():
    """Record 18 of a MarcEdit lesson file: tag `2 4` with indicators ` 10` (tests/data/PROVENANCE.md)."""
    record = (DATA / "broken" / "lcmarcedit__tag_with_a_space.mrc").read_bytes()
    df = assert_repaired_as(record, ["tag_characters", "extra_indicators"], exceptions.RecordDirectoryInvalid)
    spaced = field(df, "2 4")
    assert (spaced["ind1"], spaced["ind2"]) == (" ", "1")
    assert [s["code"] for s in spaced["subfields"]] == ["a", "b"]


def test_a_tag_with_a_space():
    record = with_field(SOUND, b"245", lambda c: c)
    record = record.replace(b"245", b"2 5", 1)
    df = assert_repaired_as(record, ["tag_characters"], exceptions.RecordDirectoryInvalid)
    assert [f["tag"] for f in df["fields"][0]] == [f["tag"].replace("245", "2 5") for f in SOUND_FRAME["fields"][0]]


def test_a_base_address_that_disagrees_with_the_directory():
    base = int(SOUND[12:17])
    for wrong in (base + 3, base - 12, 0):
        record = SOUND[:12] + b"%05d" % wrong + SOUND[17:]
        df = assert_repaired_as(record, ["base_address"], exceptions.MarcError)
        assert df["fields"].equals(SOUND_FRAME["fields"])
    # The base address is right, and the directory's terminator is another byte: read by the base.
    record = SOUND[: base - 1] + b"\x1f" + SOUND[base:]
    df = assert_repaired_as(record, ["directory_terminator"], exceptions.RecordDirectoryInvalid)
    assert df["fields"].equals(SOUND_FRAME["fields"])


def test_directory_lengths_that_count_characters_read_from_terminator_to_terminator():
    fields = fields_of(SOUND)
    record = build(SOUND[:24], fields)
    # Field 245's length in characters, one short of its bytes: it no longer ends on its terminator.
    entry = 24 + 12 * next(i for i, (t, _) in enumerate(fields) if t == b"245")
    length = int(record[entry + 3 : entry + 7])
    record = record[: entry + 3] + b"%04d" % (length - 1) + record[entry + 7 :]
    df = assert_repaired_as(record, ["field_bounds"], exceptions.FieldInvalid)
    assert df["fields"].equals(SOUND_FRAME["fields"])


def test_text_before_the_first_delimiter_is_kept_as_subfield_at():
    text_line = with_field(SOUND, b"245", lambda c: c[:2] + b"Text without a delimiter")
    df = assert_repaired_as(text_line, ["text_before_subfield"], exceptions.FieldInvalid)
    assert field(df, "245")["subfields"] == [{"code": "@", "value": "Text without a delimiter"}]
    before = with_field(SOUND, b"245", lambda c: c[:2] + b"Before" + c[2:])
    df = assert_repaired_as(before, ["text_before_subfield"], exceptions.FieldInvalid)
    assert field(df, "245")["subfields"] == [{"code": "@", "value": "Before"}, *field(SOUND_FRAME, "245")["subfields"]]
    # pymarc drops that text; the subfield written back keeps it.
    out = io.BytesIO()
    mp.write_marc(df.select("leader", "fields"), out)
    assert b"\x1f@Before\x1f" in out.getvalue()


def test_bytes_that_are_not_utf8_or_not_marc8_are_replacement_characters():
    bad_utf8 = with_field(SOUND, b"245", lambda c: c.replace(b"\x1fa", b"\x1fa\xff", 1))
    df = assert_repaired_as(bad_utf8, ["utf8_replaced"], exceptions.InvalidEncoding)
    assert field(df, "245")["subfields"][0]["value"].startswith("\ufffd")
    marc8 = first_record(DATA / "marc8" / "yaz__booksall_sample.marc8")
    bad_marc8 = with_field(marc8, b"245", lambda c: c.replace(b"\x1fa", b"\x1fa\xcf", 1))
    df = assert_repaired_as(bad_marc8, ["marc8_replaced"], exceptions.InvalidEncoding)
    assert field(df, "245")["subfields"][0]["value"].startswith("\ufffd")
    # Real files: an EACC code no set defines; EACC cut short by a missing escape.
    for name, path in [
        ("rubymarc__bad_eacc_encoding.marc8.marc", DATA / "broken"),
        ("yaz__marc12.marc", DATA / "marc8"),
    ]:
        df, report = repaired((path / name).read_bytes())
        assert df["error"].null_count() == df.height and {r.kind for r in report.repairs} == {"marc8_replaced"}
        assert any("\ufffd" in str(value) for value in df["fields"].to_list())


def test_a_record_labelled_utf8_holding_marc8_is_read_as_marc8():
    df, _ = repaired((DATA / "broken" / "rubymarc__marc8_accented_chars.marc").read_bytes())
    assert df["repairs"].to_list() == [["read_as_marc8"]]
    assert "\ufffd" not in str(df["fields"].to_list())


def test_a_non_ascii_subfield_code_is_read_as_pymarc_reads_it():
    df, _ = repaired((DATA / "broken" / "traject__bad_subfield_code.marc").read_bytes())
    assert df["repairs"].to_list() == [["subfield_code_replaced"]]
    assert [s["code"] for s in field(df, "260")["subfields"]] == ["a", "a", "c"]


def test_a_record_length_that_lies_is_read_by_the_terminator():
    record = b"%05d" % (len(SOUND) + 7) + SOUND[5:]
    # Framed by its terminator in every mode, but damaged unless repaired.
    collected = mp.read_marc(record, on_error="collect")
    assert collected["error"][0].startswith("missing_record_terminator: ")
    df = assert_repaired_as(record, ["record_length"], exceptions.EndOfRecordNotFound)
    assert df["fields"].equals(SOUND_FRAME["fields"])


@pytest.mark.parametrize("on_error", ["raise", "skip", "collect", "repair"])
def test_a_byte_order_mark_before_the_first_record_is_skipped_in_every_mode(on_error: str):
    data = Path(mp.SAMPLE).read_bytes()
    report = mp.ReadReport()
    df = mp.read_marc(b"\xef\xbb\xbf" + data, on_error=on_error, report=report)  # type: ignore[arg-type]
    expected = mp.read_marc(data, on_error=on_error)  # type: ignore[arg-type]
    if on_error in ("collect", "repair"):
        df, expected = df.drop("raw"), expected.drop("raw")
    assert df.equals(expected) and [j[1:] for j in report.junk] == [(0, 3)]
    batches = mp.ReadReport()
    assert pl.concat(mp.iter_batches(b"\xef\xbb\xbf" + data, on_error=on_error, report=batches)).height == 1000  # type: ignore[arg-type]
    assert [j[1:] for j in batches.junk] == [(0, 3)]


def test_include_repairs_needs_repair_and_sits_after_error_and_raw():
    with pytest.raises(ValueError, match="include_repairs"):
        mp.read_marc(SOUND, include_repairs="repairs")
    df = mp.read_marc(
        SOUND, on_error="repair", include_repairs="repairs", include_file_paths="path", include_encoding="encoding"
    )
    assert df.columns == ["leader", "fields", "encoding", "error", "raw", "repairs", "path"]
    assert df.schema["repairs"] == pl.List(pl.String) and df["repairs"].to_list() == [[]]
    lazy = mp.scan_marc(SOUND, on_error="repair", include_repairs="repairs")
    assert lazy.select("repairs").collect()["repairs"].to_list() == [[]]


# --- Every file of tests/data, against YAZ and pymarc --------------------------------------------

ISO2709 = sorted({*READABLE, *BROKEN, *EDGE, *MARC8, DATA / "marc4j__008008027.mrc"})

#: Records no repair reads, file by file, and why: kept as under "collect", with their error.
LEFT_DAMAGED = {
    # The leader is 16 bytes long: 8 of its bytes are missing, so nothing after it is where it says.
    "filemarc__bad_example2.mrc": 1,
    # A download cut off inside its last record.
    "marc4j__008008027.mrc": 1,
    # A field of 11,242 bytes made its directory entry 13 bytes long: the entries after it are
    # out of step, and their tags cannot be known for sure.
    "marc4j__bad_oversize_field_bad_directory.mrc": 1,
    # A 123,375-byte record whose directory entries overflow past 99,999 bytes of data.
    "marc4j__bad_too_long_plus_2.mrc": 1,
    # 557 directory entries of 13 bytes (six-digit offsets past 99,999).
    "marc4j__datos-20161010-slice.mrc": 1,
    # 16 records whose directory lost a byte: the first tag of each cannot be known.
    "marc4j__pride-and-prejudice-with-many-errors.mrc": 16,
    # A stray record terminator between records, and one stray byte after the last record.
    "marcperl__badldr.usmarc": 2,
    # Eight bytes of text, no record at all.
    "natlibfi__erroneous.iso2709": 1,
    # The record length written twice: five stray bytes before the record.
    "yaz__marc4.marc": 1,
}


def yaz_records(path: Path) -> int:
    """The records YAZ reads from a file (its MARCXML output's records), whatever it warns."""
    if shutil.which("yaz-marcdump") is None:
        pytest.fail("yaz-marcdump is needed to compare record counts: apt-get install yaz")
    out = subprocess.run(["yaz-marcdump", "-o", "marcxml", str(path)], capture_output=True, check=False).stdout
    return out.count(b"<record")


@pytest.mark.parametrize("path", ISO2709, ids=lambda p: p.name)
def test_every_file_reads_under_repair_with_no_fewer_rows_than_yaz_finds(path: Path, record_property):
    report = mp.ReadReport()
    df = mp.read_marc(path, report=report, **REPAIR)  # type: ignore[arg-type]
    left = df["error"].drop_nulls().len()
    record_property("left_damaged", f"{path.name}: {left} of {df.height}")
    assert df.height >= yaz_records(path)
    assert left == LEFT_DAMAGED.get(path.name, 0), df["error"].drop_nulls().to_list()
    assert report.collected == left and report.repaired == df["repairs"].list.len().gt(0).sum()
    # Rows are the sound records, the repaired ones and those no repair reads, as under collect.
    collected = mp.read_marc(path, on_error="collect")
    assert df.height == collected.height
    assert df.filter(pl.col("repairs").list.len() > 0).height == collected["error"].drop_nulls().len() - left


def structure(fields: list[dict]) -> list[tuple]:
    """Tags, indicators and subfield codes, the subfield a repair adds for text before the first
    delimiter and empty subfields (which pymarc drops) left out."""
    return [
        (f["tag"], None, None)
        if f["data"] is not None
        else (f["tag"], (f["ind1"], f["ind2"]), [s["code"] for s in f["subfields"] if s["code"] not in ("@", "")])
        for f in fields
    ]


def pymarc_structures(data: bytes) -> list[list[tuple] | None]:
    out: list[list[tuple] | None] = []
    logging.disable(logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for record in pymarc.MARCReader(
                io.BytesIO(data), permissive=True, hide_utf8_warnings=True, utf8_handling="replace"
            ):
                out.append(
                    None
                    if record is None
                    else [
                        (f.tag, None, None)
                        if f.is_control_field()
                        else (f.tag, (f.indicator1, f.indicator2), [s.code for s in f.subfields])
                        for f in record.fields
                    ]
                )
    finally:
        logging.disable(logging.NOTSET)
    return out


@pytest.mark.parametrize("path", ISO2709, ids=lambda p: p.name)
def test_every_record_pymarc_reads_has_its_structure_under_repair(path: Path):
    """pymarc (permissive) yields None for a record it cannot read and stops at a framing error;
    every record it does read has the same tags, indicators and subfield codes under repair."""
    data = path.read_bytes()
    ours = [structure(fields) for fields in mp.read_marc(data, **REPAIR)["fields"].to_list()]  # type: ignore[arg-type]
    theirs = pymarc_structures(data)
    # pymarc stops at a framing error: only the records it reached are compared.
    compared = [(a, b) for a, b in zip(ours, theirs, strict=False) if b is not None]
    assert all(a == b for a, b in compared)
