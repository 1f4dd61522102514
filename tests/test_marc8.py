"""MARC-8 records (leader/09 blank) read into the frame, decoded to Unicode.

Every value is compared with pymarc's `marc8_to_unicode` (NFC on both sides), and each MARC-8 file
that has a UTF-8 twin in the corpus with the twin. Where pymarc departs from MARC 21, the test says
which way and why, value by value (`pymarc_departs`).
"""

from __future__ import annotations

import io
import re
import unicodedata

import polars as pl
import pymarc
import pytest
from pymarc import marc8_mapping

import marc_polars as mp
from marc_polars import _native, exceptions

from conftest import DATA, MARC8, fetch_data

#: A double diacritic (ANSEL 0xEB/0xEC ligature, 0xFA/0xFB double tilde) is two half marks,
#: U+FE20/U+FE21 or U+FE22/U+FE23, one after each letter, in LC's own UTF-8 records (34,000 of
#: them in BooksAll), in pymarc and in YAZ; marc4j's converter, which made the UTF-8 twin of
#: brkrtest, writes the one mark spanning both letters (U+0361, U+0360), LC's table's <ucs>.
SPANNING = re.compile("(.)([\u0361\u0360])(.)")


def as_half_marks(value: str) -> str:
    """`value` with each spanning double diacritic written as its two half marks."""
    return SPANNING.sub(
        lambda m: (
            m[1] + ("\ufe20" if m[2] == "\u0361" else "\ufe22") + m[3] + ("\ufe21" if m[2] == "\u0361" else "\ufe23")
        ),
        value,
    )


def nfc(value: str | None) -> str | None:
    return None if value is None else unicodedata.normalize("NFC", value)


def values_of_frame(df) -> list[list[tuple]]:
    out = []
    for fields in df["fields"].to_list():
        out.append(
            [
                (f["tag"], f["data"])
                if f["data"] is not None
                else (f["tag"], [(s["code"], s["value"]) for s in f["subfields"]])
                for f in fields
            ]
        )
    return out


def values_of_pymarc(data: bytes) -> list[list[tuple] | None]:
    out: list[list[tuple] | None] = []
    for record in pymarc.MARCReader(io.BytesIO(data), to_unicode=True, hide_utf8_warnings=True):
        if record is None:
            out.append(None)
            continue
        out.append(
            [
                (f.tag, nfc(f.data)) if f.is_control_field() else (f.tag, [(s.code, nfc(s.value)) for s in f.subfields])
                for f in record.fields
            ]
        )
    return out


def pymarc_departs(ours: str, theirs: str) -> bool:
    """Whether `theirs` differs from `ours` only where pymarc departs from MARC 21."""
    # A set designated as G0 is read by its G0 codes (MARC 21); pymarc looks the G1 code up in the
    # G0 table and writes a space where it finds nothing (Cyrillic "решења" becomes "реше а").  # noqa: RUF003
    return len(ours) == len(theirs) and all(b in (a, " ") for a, b in zip(ours, theirs, strict=True))


def compare(ours: list[list[tuple]], theirs: list[list[tuple] | None], normalize: bool = True) -> tuple[int, list]:
    """Values compared, and those that differ: `ours` taken to NFC unless not `normalize`."""
    compared, differences = 0, []
    for number, (mine, reference) in enumerate(zip(ours, theirs, strict=True)):
        assert reference is not None, f"pymarc cannot read record {number}"
        for (tag, value), (ref_tag, ref_value) in zip(mine, reference, strict=True):
            assert tag == ref_tag
            pairs = (
                [(value, ref_value)]
                if isinstance(value, str) or value is None
                else [(v, rv) for (_, v), (_, rv) in zip(value, ref_value, strict=True)]
            )
            for v, rv in pairs:
                compared += 1
                if (nfc(v) if normalize else v) != rv and not pymarc_departs(v, rv):
                    differences.append((number, tag, v, rv))
    return compared, differences


@pytest.mark.parametrize("path", MARC8, ids=lambda p: p.name)
def test_marc8_files_decode_as_pymarc_decodes_them(path):
    data = path.read_bytes()
    try:
        frame = mp.read_marc(data)
    except exceptions.InvalidEncoding as error:
        # Bytes no MARC-8 set defines: pymarc writes a space for each; here the record is named.
        assert path.name in UNREADABLE, f"{path.name}: {error}"
        assert (error.record, error.byte_offset) == UNREADABLE[path.name]
        return
    assert path.name not in UNREADABLE
    compared, differences = compare(values_of_frame(frame), values_of_pymarc(data))
    assert compared > 0 and differences == []


#: MARC-8 files holding bytes that no MARC-8 set defines: (record, byte offset of the record).
#: pymarc writes a space for each such code and reads on.
UNREADABLE: dict[str, tuple[int, int]] = {
    # Its EACC sequences are mangled, as its name says: 0x4A2148 is no EACC character.
    "marc4j__chinese_mangled_multibyte.mrc": (0, 0),
    # The escape back to Latin is missing after Greek text: ':' (0x3A) is no Greek character.
    "marc4j__greekmissingcharsetchange.mrc": (0, 0),
    # Two bytes 0xFD inside an EACC run.
    "yaz__marc12.marc": (0, 0),
}


@pytest.mark.parametrize("name", sorted(UNREADABLE))
def test_an_unreadable_marc8_byte_is_named_by_its_offset_in_the_record(name: str):
    data = (DATA / "marc8" / name).read_bytes()
    with pytest.raises(exceptions.InvalidEncoding) as info:
        mp.read_marc(data)
    error = info.value
    record = data[error.byte_offset :]
    at = error.offset_in_record
    assert f"at byte {at} of the record" in str(error)
    # The offset counts from the record's first byte, not from the value that holds it: the value
    # around it, decoded on its own, fails that many bytes into it.
    start = max(record.rfind(b"\x1f", 0, at) + 2, record.rfind(b"\x1e", 0, at) + 1)
    end = min(i for i in (record.find(b"\x1f", at), record.find(b"\x1e", at)) if i >= 0)
    _, problems, _, _ = _native.marc8_to_unicode(record[start:end])
    assert start + problems[0][0] == at


def test_a_marc8_file_decodes_to_its_utf8_twin():
    # marc4j's converter, which made this twin, composes to NFC and writes spanning marks.
    marc8 = mp.read_marc(DATA / "marc8" / "marc4j__brkrtest.mrc", nfc=True)
    utf8 = mp.read_marc(DATA / "marc4j__brkrtest_UTF8.mrc")
    ours, twin = values_of_frame(marc8), values_of_frame(utf8)

    def norm(value: str | None) -> str | None:
        return None if value is None else nfc(as_half_marks(value))

    normalized = [
        [(tag, norm(v) if isinstance(v, str) or v is None else [(c, norm(x)) for c, x in v]) for tag, v in record]
        for record in twin
    ]
    compared, differences = compare(ours, normalized)
    assert compared > 0 and differences == []


def test_encoding_overrides_the_leader():
    marc8 = (DATA / "marc8" / "marc4j__brkrtest.mrc").read_bytes()
    with pytest.raises(exceptions.InvalidEncoding, match="UTF-8"):
        mp.read_marc(marc8, encoding="utf-8")
    # Read as Latin-1, each byte is the character of its code: nothing is decoded from ANSEL.
    latin1 = mp.read_marc(marc8, encoding="latin-1")
    raw = [
        v
        for record in values_of_frame(latin1)
        for _, value in record
        for v in ([value] if isinstance(value, str) or value is None else [x for _, x in value])
    ]
    assert any("\u00e2" in v for v in raw if v)  # ANSEL's acute, 0xE2, as the Latin-1 letter
    assert mp.read_marc(marc8, encoding="marc-8").equals(mp.read_marc(marc8))
    # A UTF-8 file forced through MARC-8 is no longer what UTF-8 reading gives.
    utf8 = (DATA / "marc4j__brkrtest_UTF8.mrc").read_bytes()
    with pytest.raises(exceptions.InvalidEncoding):
        mp.read_marc(utf8, encoding="marc-8")
    with pytest.raises(ValueError, match="unknown encoding"):
        mp.read_marc(marc8, encoding="ebcdic")


def test_scans_and_batches_decode_marc8_too():
    path = DATA / "marc8" / "marc4j__brkrtest.mrc"
    frame = mp.read_marc(path)
    assert mp.scan_marc(path).collect().equals(frame)
    assert pl.concat(mp.iter_batches(path, batch_size=3)).equals(frame)
    titles = mp.read_marc(path, columns=["245$a"])["245$a"].to_list()
    assert titles == [
        record["245"]
        for record in mp.read_marc(path).select(pl.col("fields").marc.extract("245$a").alias("245")).to_dicts()
    ]


def test_the_sample_converted_to_marc8_reads_as_the_sample():
    # Converted by YAZ, an independent MARC-8 encoder (tests/data/PROVENANCE.md). By default the
    # text is LC's own, mostly decomposed: the same strings, not normalised.
    marc8 = mp.read_marc(DATA / "marc8" / "yaz__booksall_sample.marc8")
    utf8 = mp.read_marc(mp.SAMPLE)
    assert marc8.height == utf8.height == 1000
    compared, differences = compare(values_of_frame(marc8), values_of_frame(utf8), normalize=False)
    assert compared > 10_000 and differences == []
    # NFC on request: what pymarc gives.
    composed = values_of_frame(mp.read_marc(DATA / "marc8" / "yaz__booksall_sample.marc8", nfc=True))
    twin = [
        [(tag, nfc(v) if isinstance(v, str) or v is None else [(c, nfc(x)) for c, x in v]) for tag, v in record]
        for record in values_of_frame(utf8)
    ]
    assert compare(composed, twin, normalize=False)[1] == []


#: Characters YAZ's MARC-8 encoder, which makes the MARC-8 twin of BooksAll, does not write as
#: MARC-8's tables have them: U+3013 GETA MARK is written as EACC 0x6F7624, which LC's table reads
#: as U+E8B0 (U+3013 is only that code's <alt>); the compatibility ideographs U+FA1D and U+FA25,
#: which older tables (pymarc's among them) give for EACC 0x215061 and 0x215C32 where LC's tables
#: now have 精 U+7CBE and 逸 U+9038, are not written at all (YAZ's own reading of its twin lacks them
#: too).
YAZ_ENCODES_OTHERWISE = frozenset("\u3013\ufa1d\ufa25")


def marc8_repertoire() -> frozenset[str]:
    """The characters MARC-8 can hold, as pymarc's tables (independent of the decoder under test)
    list them, with the half marks and joiners LC's own UTF-8 records write for MARC-8's."""
    chars = {chr(c) for c in range(0x20, 0x7F)} | set("\ufe20\ufe21\ufe22\ufe23\u200c\u200d\u0098\u009c")
    for table in marc8_mapping.CODESETS.values():
        chars.update(chr(value[0]) for value in table.values())
    return frozenset(chars)


@pytest.mark.slow
def test_booksall_in_marc8_reads_as_lc_wrote_it_in_utf8(booksall):
    """The 250,000 records of BooksAll converted to MARC-8 by YAZ read, with default options, as
    the Library of Congress's UTF-8 records: every tag, indicator, control field and subfield value
    the same, not normalised, on every record whose characters MARC-8 can hold."""
    utf8 = mp.read_marc(booksall)
    marc8 = mp.read_marc(fetch_data.booksall_marc8())
    assert marc8.height == utf8.height == 250_000
    # The leaders differ in the record length (MARC-8 takes other bytes) and leader/09 only.
    outside = pl.col("leader").str.slice(5, 4) + pl.col("leader").str.slice(10)
    assert utf8.select(outside).equals(marc8.select(outside))
    texts = utf8.select(
        pl.col("fields")
        .list.eval(
            pl.concat_str(
                pl.element().struct.field("data").fill_null(""),
                pl.element().struct.field("subfields").list.eval(pl.element().struct.field("value")).list.join(""),
            )
        )
        .list.join("")
    ).to_series()
    repertoire = marc8_repertoire() - YAZ_ENCODES_OTHERWISE
    holdable = pl.Series([set(text) <= repertoire for text in texts])
    differing = utf8["fields"] != marc8["fields"]
    print(
        f"{holdable.sum():,} records compared; {(~holdable).sum():,} hold characters MARC-8 cannot "
        f"(or YAZ does not write); {(differing & ~holdable).sum():,} of these read otherwise"
    )
    assert holdable.sum() > 248_000
    assert (differing & holdable).sum() == 0


def test_a_record_labelled_marc8_holding_utf8_is_read_as_utf8():
    """rust-marc's marc-8.sample: leader/09 blank, bytes UTF-8 with combining marks. pymarc trusts
    the leader and returns mojibake; here the record is read as UTF-8, and the encoding column says
    so."""
    path = DATA / "rustmarc__marc-8.sample.mrc"
    frame = mp.read_marc(path, include_encoding="encoding")
    assert frame["leader"].str.slice(9, 1).to_list() == [" "]
    assert frame["encoding"].to_list() == ["utf-8"]
    assert frame.drop("encoding").equals(mp.read_marc(path, encoding="utf-8"))
    ours = [
        v
        for record in values_of_frame(frame)
        for _, value in record
        for v in ([value] if isinstance(value, str) else [x for _, x in value])
    ]
    theirs = [
        v
        for record in values_of_pymarc(path.read_bytes())
        for _, value in record  # type: ignore[union-attr]
        for v in ([value] if isinstance(value, str) else [x for _, x in value])
    ]
    assert any(not v.isascii() for v in ours)
    differing = [(a, b) for a, b in zip(ours, theirs, strict=True) if nfc(a) != b]
    # pymarc reads the UTF-8 bytes as MARC-8: every non-ASCII value comes out differently.
    assert differing and all(not a.isascii() for a, _ in differing)


def test_nfc_false_keeps_marks_after_their_letters_uncomposed():
    path = DATA / "marc8" / "marc4j__brkrtest.mrc"
    composed = values_of_frame(mp.read_marc(path, nfc=True))
    decomposed = values_of_frame(mp.read_marc(path))
    assert decomposed == values_of_frame(mp.read_marc(path, nfc=False))
    flat = [
        [
            v
            for record in frame
            for _, value in record
            for v in ([value] if isinstance(value, str) else [x for _, x in value])
        ]
        for frame in (composed, decomposed)
    ]
    pairs = list(zip(*flat, strict=True))
    assert all(nfc(d) == c for c, d in pairs)
    assert sum(c != d for c, d in pairs) > 10
    # UTF-8 records are never changed, NFC or not.
    utf8 = DATA / "marc4j__brkrtest_UTF8.mrc"
    assert mp.read_marc(utf8, nfc=True).equals(mp.read_marc(utf8))
