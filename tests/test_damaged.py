"""Damaged files from real life, under each `on_error` mode: what each yields, and that nothing is lost.

Every file of the corpus's `broken/` and `edge/` folders is read three ways. `OUTCOMES` states, file
by file, what `on_error="raise"` raises (class, record, byte offset), how many records are sound
(rows under "skip") and damaged (skipped under "skip", kept under "collect"), and how many bytes of
padding lie between records. Under "collect" the sound records, the `raw` bytes of the damaged
ones and the padding are walked through the file in order and must cover it exactly.
"""

from __future__ import annotations

import html
import io
import unicodedata

import polars as pl
import pymarc
import pytest

import marc_polars as mp
from marc_polars import exceptions

from conftest import BROKEN, DATA, EDGE

#: file: (what "raise" raises, or None when it reads whole; sound records; damaged records; padding).
OUTCOMES: dict[str, tuple[tuple[str, int, int] | None, int, int, int]] = {
    # A garbage leader whose length points past a cut-off end: one damaged record, read to the end.
    "filemarc__bad_example2.mrc": (("EndOfRecordNotFound", 0, 0), 0, 1, 0),
    # A newline after each record: padding (pymarc stops at the first one).
    "filemarc__music.mrc": (None, 3, 0, 3),
    # Declared length 15 bytes off: read by its terminator, then a newline.
    "filemarc__wronglen.mrc": (("EndOfRecordNotFound", 0, 0), 0, 1, 1),
    # A download cut off at 65,536 bytes: 18 records, then the truncated 19th.
    "marc4j__008008027.mrc": (("TruncatedRecord", 18, 62502), 18, 1, 0),
    # A MARC-8 byte (0xB2) as an indicator.
    "marc4j__185258.mrc": (("FieldInvalid", 0, 0), 0, 1, 0),
    # A 1,096,888-byte record (length field 99999) read by its terminator, whose directory cannot
    # address it; the records around it are sound (pymarc stops at it).
    "marc4j__bad_hathi_records.mrc": (("RecordDirectoryInvalid", 3, 6343), 4, 1, 0),
    # A field longer than 9,999 bytes breaks its directory entry.
    "marc4j__bad_oversize_field_bad_directory.mrc": (("RecordDirectoryInvalid", 1, 1571), 4, 1, 0),
    # A 123,375-byte record (its length field says 23375) read by its terminator; its directory
    # overflows. The two records after it are sound (pymarc reads none).
    "marc4j__bad_too_long_plus_2.mrc": (("FieldInvalid", 0, 0), 2, 1, 0),
    # A 214,804-byte record with length field 99999: read whole, but its directory overflows.
    "marc4j__datos-20161010-slice.mrc": (("RecordDirectoryInvalid", 0, 0), 0, 1, 0),
    "marc4j__error.mrc": (("EndOfRecordNotFound", 0, 0), 0, 1, 0),
    # MARC-8 escape sequences cut short.
    "marc4j__incomplete_esc_seq.mrc": (("InvalidEncoding", 0, 0), 0, 1, 0),
    # UTF-8 characters straddling subfield delimiters: the records are not valid UTF-8. pymarc
    # decodes each subfield on its own and makes subfield codes of continuation bytes.
    "marc4j__not_unimarc_errors_3.mrc": (("InvalidEncoding", 0, 0), 0, 3, 0),
    # 69 records with bad UTF-8 and 16 with bad directories among 383 (as pymarc finds too).
    "marc4j__pride-and-prejudice-with-many-errors.mrc": (("InvalidEncoding", 1, 665), 298, 85, 0),
    # The directory's terminator is missing. pymarc does not check it and reads the record.
    "marcperl__baddir.usmarc": (("RecordDirectoryInvalid", 0, 0), 0, 1, 1),
    # '-' as an indicator is still one ASCII character: sound. Then a newline.
    "marcperl__badind.usmarc": (None, 1, 0, 1),
    # A stray record terminator between records 1 and 2 (a one-byte damaged record), and one byte
    # after the last record (a truncated one). pymarc stops at the first.
    "marcperl__badldr.usmarc": (("RecordLengthInvalid", 2, 472), 6, 2, 0),
    # DOS end-of-file marks (0x1A) between records.
    "marcperl__cameleof.usmarc": (None, 10, 0, 3),
    # NUL filler between records.
    "marcperl__filler.usmarc": (None, 3, 0, 11),
    # Eight bytes of text: no record at all.
    "natlibfi__erroneous.iso2709": (("RecordLengthInvalid", 0, 0), 0, 1, 0),
    # An EACC code no set defines (pymarc writes a space for it).
    "rubymarc__bad_eacc_encoding.marc8.marc": (("InvalidEncoding", 0, 0), 0, 1, 0),
    # Both records declare one byte more than they have: each is read by its terminator.
    "rubymarc__cp866_multirecord.marc": (("EndOfRecordNotFound", 0, 0), 0, 2, 0),
    # Labelled UTF-8, holding MARC-8 bytes.
    "rubymarc__marc8_accented_chars.marc": (("InvalidEncoding", 0, 0), 0, 1, 0),
    # Declared length 2 short: read by its terminator, then a newline.
    "rubymarc__marc_with_bad_utf8.utf8.marc": (("EndOfRecordNotFound", 0, 0), 0, 1, 1),
    "rubymarc__utf8_with_bad_bytes.marc": (("InvalidEncoding", 0, 0), 0, 1, 0),
    # A MARC-8 diacritic (0xE2) as a subfield code: a code is ASCII (pymarc makes it 'â').
    "traject__bad_subfield_code.marc": (("InvalidEncoding", 0, 0), 0, 1, 0),
    "traject__bad_utf_byte.utf8.marc": (("InvalidEncoding", 0, 0), 0, 1, 0),
    # A tag with a space in it ("2 4"), which no directory entry may hold.
    "lcmarcedit__tag_with_a_space.mrc": (("RecordDirectoryInvalid", 0, 0), 0, 1, 0),
    # A UTF-8 character as an indicator: one character, kept (pymarc fails to decode it).
    "yaz__marc0.marc": (None, 1, 0, 0),
    # The length is written twice: five stray bytes (damaged), then a record whose directory lengths
    # are off, then a newline.
    "yaz__marc4.marc": (("EndOfRecordNotFound", 0, 0), 0, 2, 1),
    # Directory lengths that count characters, not bytes: fields end mid-character.
    "yaz__marc5.marc": (("FieldInvalid", 0, 0), 0, 1, 0),
    # edge/: odd but sound records.
    "filemarc__bad_example.mrc": (None, 1, 0, 0),
    "marc4j__bad-characters-in-various-fields.mrc": (None, 1, 0, 0),
    "marc4j__unordered-directory-entries.mrc": (None, 1, 0, 0),
    "rubymarc__non-numeric.dat": (None, 1, 0, 0),
    "rubymarc__random_tag_order.dat": (None, 1, 0, 0),
    "rubymarc__random_tag_order2.dat": (None, 1, 0, 0),
    "traject__emptyish_record.marc": (None, 1, 0, 0),
    "marc4j__bad_leaders_10_11.mrc": (None, 1, 0, 0),
    # A record with a newline after it, named .xml (pymarc stops at the newline).
    "marcli__test_bad.xml": (None, 1, 0, 1),
}

FILES = [*BROKEN, *EDGE]


def test_every_damaged_and_edge_file_is_stated():
    assert sorted(p.name for p in FILES) == sorted(OUTCOMES)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_each_mode_yields_what_is_stated(path):
    raised, sound, damaged, padding = OUTCOMES[path.name]
    if raised is None:
        assert mp.read_marc(path).height == sound
    else:
        with pytest.raises(exceptions.MarcError) as info:
            mp.read_marc(path)
        error = info.value
        assert (type(error).__name__, error.record, error.byte_offset) == raised
        assert error.source == str(path) and str(path) in str(error)
    skip = mp.ReadReport()
    assert mp.read_marc(path, on_error="skip", report=skip).height == sound
    assert (skip.rows, len(skip.skipped), skip.collected, skip.junk_bytes) == (sound, damaged, 0, padding)
    collect = mp.ReadReport()
    df = mp.read_marc(path, on_error="collect", report=collect)
    assert (df.height, collect.collected, df["error"].null_count(), collect.junk_bytes) == (
        sound + damaged,
        damaged,
        sound,
        padding,
    )
    # The records skipped are the records collected, with the same errors.
    errors = df["error"].drop_nulls().to_list()
    assert [f"{e.code}: {e}" for e in skip.skipped] == errors
    if raised is not None:
        # The error column starts with the damage's code, the code of the class raised.
        code = errors[0].split(": ")[0]
        assert exceptions.DAMAGE_CODES[code].__name__ == raised[0]


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_collect_accounts_for_every_byte(path):
    data = path.read_bytes()
    report = mp.ReadReport()
    df = mp.read_marc(path, on_error="collect", report=report)
    junk = {offset: length for _, offset, length in report.junk}
    rows = iter(df.select("leader", "raw").iter_rows())
    pos = 0
    while pos < len(data):
        if pos in junk:
            assert all(b in b"\r\n\x1a\x00 " for b in data[pos : pos + junk[pos]])
            pos += junk.pop(pos)
            continue
        leader, raw = next(rows)
        if raw is not None:
            assert data[pos : pos + len(raw)] == raw
            pos += len(raw)
        else:
            # A sound record: its leader as read, its length as declared, ending on a terminator.
            length = int(leader[:5])
            assert data[pos : pos + 24].decode() == leader
            assert data[pos + length - 1] == 0x1D
            pos += length
    assert pos == len(data) and not junk and next(rows, None) is None


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_entry_point_agrees(path):
    """iter_batches and scan_marc give read_marc's frame and report, in every mode."""
    for on_error in ("skip", "collect"):
        expected_report = mp.ReadReport()
        expected = mp.read_marc(path, on_error=on_error, report=expected_report)
        batches_report = mp.ReadReport()
        batches = list(mp.iter_batches(path, on_error=on_error, batch_size=2, report=batches_report))
        assert pl.concat(batches, how="vertical").equals(expected) if batches else expected.height == 0
        scan_report = mp.ReadReport()
        assert mp.scan_marc(path, on_error=on_error, report=scan_report).collect().equals(expected)
        for report in (batches_report, scan_report):
            assert (report.rows, report.collected, report.junk) == (
                expected_report.rows,
                expected_report.collected,
                expected_report.junk,
            )
            assert [str(e) for e in report.skipped] == [str(e) for e in expected_report.skipped]


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
@pytest.mark.parametrize("part", [7, 300, 4096])
def test_parts_framed_from_guessed_record_starts_read_as_framing_from_the_start(path, part, monkeypatch):
    """read_marc frames a whole input in parts that start where it guesses a record starts; in
    parts of a few bytes, guesses fall inside damaged records too. iter_batches frames its input
    record after record from the start: both give the same frame, report and error."""
    data = path.read_bytes()
    monkeypatch.setattr("marc_polars._read.READ_MARC_CHUNK_SIZE", part)

    def outcome(read):  # type: ignore[no-untyped-def]
        report = mp.ReadReport()
        try:
            df = read(report)
        except exceptions.MarcError as error:
            return (type(error), error.record, error.byte_offset, str(error))
        return (df.rows(), report.rows, report.collected, report.junk, [str(e) for e in report.skipped])

    for on_error in ("raise", "skip", "collect"):
        in_parts = outcome(lambda report, on_error=on_error: mp.read_marc(data, on_error=on_error, report=report))
        from_start = outcome(
            lambda report, on_error=on_error: pl.concat(
                [
                    mp.read_marc(b"", on_error=on_error),
                    *mp.iter_batches(data, on_error=on_error, batch_size=1_000_000, report=report),
                ]
            )
        )
        assert in_parts == from_start, on_error


def test_collected_records_keep_what_can_be_read():
    """The 85 damaged records of a real file, beside its clean twin: their titles are still read.

    Its 16 records with a byte lost from the directory are read by the entries that still point at
    whole fields; its 69 records labelled UTF-8 but holding MARC-8 bytes are read as MARC-8. The
    damaged file also escapes '&' and "'" as XML entities, which its twin does not.
    """
    columns = {"id": "001", "title": "245[0]$a[0]"}
    damaged = mp.read_marc(
        DATA / "broken" / "marc4j__pride-and-prejudice-with-many-errors.mrc", on_error="collect", columns=columns
    )
    clean = mp.read_marc(DATA / "marc4j__pride-and-prejudice-fixed.mrc", columns=columns)
    assert damaged.height == clean.height
    twins = clean.with_row_index().join(damaged.with_row_index(), on="index", suffix="_damaged")
    twins = twins.filter(pl.col("error").is_not_null())
    assert twins.height == 85

    def text(value: str | None) -> str | None:
        return None if value is None else unicodedata.normalize("NFC", html.unescape(value))

    differ = [row["index"] for row in twins.iter_rows(named=True) if text(row["title_damaged"]) != text(row["title"])]
    # 292, 295, 297: Latin-1 bytes (not MARC-8) in a record labelled UTF-8, read as MARC-8 without
    # a fault, so wrongly; 303: MARC-8 CJK whose escape sequences the XML escaping broke.
    assert differ == [292, 295, 297, 303]
    # The control number is kept but where the lost directory byte was in its own entry: in each
    # of the 16 damaged directories.
    lost = twins.filter(pl.col("id") != pl.col("id_damaged").fill_null(""))
    assert lost["error"].str.starts_with("bad_directory: ").all() and lost.height == 16
    assert lost["id_damaged"].null_count() == 16


def test_skipped_records_are_the_ones_pymarc_cannot_read():
    """pymarc yields None for exactly the records "skip" leaves out of this file."""
    path = DATA / "broken" / "marc4j__pride-and-prejudice-with-many-errors.mrc"
    report = mp.ReadReport()
    mp.read_marc(path, on_error="skip", report=report)
    theirs = [
        i for i, r in enumerate(pymarc.MARCReader(io.BytesIO(path.read_bytes()), hide_utf8_warnings=True)) if r is None
    ]
    assert [e.record for e in report.skipped] == theirs


def test_a_damaged_record_stops_after_every_record_before_it():
    """Under "raise", iter_batches hands out every record before the damaged one."""
    path = DATA / "broken" / "marcperl__badldr.usmarc"
    batches = mp.iter_batches(path, batch_size=1)
    got = []
    with pytest.raises(exceptions.RecordLengthInvalid):
        for batch in batches:
            got.append(batch.height)
    assert sum(got) == 2


def test_the_encoding_column_says_how_each_record_was_read():
    frame = mp.read_marc([DATA / "marc8" / "marc4j__brkrtest.mrc", mp.SAMPLE], include_encoding="encoding", n_rows=1010)
    counts = dict(frame.group_by("encoding").len().iter_rows())
    assert counts["utf-8"] >= 1000 and counts["marc-8"] >= 1
    with pytest.raises(ValueError, match="used twice"):
        mp.read_marc(mp.SAMPLE, include_encoding="leader")
    with pytest.raises(ValueError, match="on_error"):
        mp.read_marc(mp.SAMPLE, on_error="ignore")  # type: ignore[arg-type]
