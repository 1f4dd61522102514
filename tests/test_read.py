"""read_marc: the lossless frame, its options and its errors, checked against pymarc."""

from __future__ import annotations

import io
import pathlib

import polars as pl
import pymarc
import pytest

import marc_polars as mp
from marc_polars import _native, exceptions

from conftest import READABLE, TRUNCATED, record_lengths
from reference import frame_rows, pymarc_rows, record_row

SCHEMA = pl.Schema(
    {
        "leader": pl.String,
        "fields": pl.List(
            pl.Struct(
                {
                    "tag": pl.String,
                    "ind1": pl.String,
                    "ind2": pl.String,
                    "data": pl.String,
                    "subfields": pl.List(pl.Struct({"code": pl.String, "value": pl.String})),
                }
            )
        ),
    }
)

SAMPLE_BYTES = pathlib.Path(mp.SAMPLE).read_bytes()


def test_sample_matches_pymarc_record_for_record():
    df = mp.read_marc(mp.SAMPLE)
    assert df.schema == SCHEMA
    assert df.height == 1000
    assert frame_rows(df) == pymarc_rows(SAMPLE_BYTES)


@pytest.mark.parametrize("path", READABLE, ids=lambda p: p.name)
def test_corpus_files_match_pymarc(path: pathlib.Path):
    df = mp.read_marc(path)
    expected = pymarc_rows(path.read_bytes())
    assert df.height == len(expected) > 0
    assert frame_rows(df) == expected


# pymarc's own test files whose bytes are UTF-8 (or ASCII) and whose structure is intact.
PYMARC_UTF8_FILES = [
    "alphatag.dat",
    "diacritic.dat",
    "marc.dat",
    "marc8-to-unicode.dat",
    "multi_isbn.dat",
    "one.dat",
    "test.dat",
    "utf8_errors.dat",
    "utf8_invalid.mrc",
    "utf8_with_leader_flag.dat",
    "utf8_without_leader_flag.dat",
]


@pytest.mark.parametrize("name", PYMARC_UTF8_FILES)
def test_pymarc_own_utf8_files_match_pymarc(pymarc_test_dir: pathlib.Path, name: str):
    data = (pymarc_test_dir / name).read_bytes()
    expected = pymarc_rows(data)
    assert frame_rows(mp.read_marc(data)) == expected
    assert len(expected) > 0


def test_a_non_ascii_subfield_code_is_kept_as_read(pymarc_test_dir: pathlib.Path):
    # pymarc turns the code U+FFFD of this record's 260 into "b"; the frame keeps the character.
    df = mp.read_marc(pymarc_test_dir / "utf8_invalid.mrc")
    codes = df.select(pl.col("fields").explode().struct.field("subfields").explode().struct.field("code"))
    assert "\ufffd" in codes.to_series().to_list()


@pytest.mark.slow
def test_booksall_matches_pymarc_record_for_record(booksall: pathlib.Path):
    df = mp.read_marc(booksall)
    assert df.height == 250_000
    batch = 10_000
    with open(booksall, "rb") as handle:
        reader = pymarc.MARCReader(handle, to_unicode=True, force_utf8=True)
        for start in range(0, df.height, batch):
            ours = frame_rows(df.slice(start, batch))
            theirs = []
            for record in reader:
                assert record is not None, reader.current_exception
                theirs.append(record_row(record))
                if len(theirs) == batch:
                    break
            assert ours == theirs, f"records {start}..{start + batch} differ"
        assert next(reader, None) is None


def test_a_record_keeps_every_field_and_subfield_in_order():
    df = mp.read_marc(mp.SAMPLE, n_rows=1)
    record = SAMPLE_BYTES[: record_lengths(SAMPLE_BYTES)[0]]
    fields = df["fields"][0]
    # Rebuild the field data area from the frame: it must be the record's, byte for byte.
    rebuilt = b""
    for f in fields:
        if f["data"] is not None:
            rebuilt += f["data"].encode()
        else:
            rebuilt += (f["ind1"] + f["ind2"]).encode()
            rebuilt += b"".join(b"\x1f" + (s["code"] + s["value"]).encode() for s in f["subfields"])
        rebuilt += b"\x1e"
    base = int(record[12:17])
    assert rebuilt + b"\x1d" == record[base:]
    assert df["leader"][0].encode() == record[:24]


def test_n_rows_stops_early_and_keeps_the_first_records():
    full = mp.read_marc(mp.SAMPLE)
    for n in [0, 1, 7, 999, 1000, 5000]:
        df = mp.read_marc(mp.SAMPLE, n_rows=n)
        assert df.height == min(n, 1000)
        assert df.equals(full.head(n))
    with pytest.raises(ValueError, match="n_rows"):
        mp.read_marc(mp.SAMPLE, n_rows=-1)


def test_n_rows_does_not_read_past_what_it_needs():
    # A damaged record after the first 10 is never decoded when only 10 are asked for.
    lengths = record_lengths(SAMPLE_BYTES)
    cut = sum(lengths[:10])
    damaged = SAMPLE_BYTES[:cut] + b"xxxxx" + SAMPLE_BYTES[cut + 5 :]
    assert mp.read_marc(damaged, n_rows=10).height == 10
    with pytest.raises(exceptions.RecordLengthInvalid):
        mp.read_marc(damaged, n_rows=11)


def test_columns_projection():
    full = mp.read_marc(mp.SAMPLE)
    leader = mp.read_marc(mp.SAMPLE, columns=["leader"])
    assert leader.columns == ["leader"]
    assert leader.equals(full.select("leader"))
    fields = mp.read_marc(mp.SAMPLE, columns=["fields"])
    assert fields.columns == ["fields"]
    assert fields.equals(full.select("fields"))
    swapped = mp.read_marc(mp.SAMPLE, columns=["fields", "leader"])
    assert swapped.columns == ["fields", "leader"]
    with pytest.raises(ValueError, match=r"unknown column 'title'.*at position 3"):
        mp.read_marc(mp.SAMPLE, columns=["title"])


def test_row_index():
    df = mp.read_marc(mp.SAMPLE, n_rows=5, row_index_name="row", row_index_offset=100)
    assert df.columns == ["row", "leader", "fields"]
    assert df["row"].to_list() == [100, 101, 102, 103, 104]
    assert mp.read_marc(mp.SAMPLE, n_rows=3, row_index_name="i")["i"].to_list() == [0, 1, 2]


def test_every_source_type_gives_the_same_frame():
    expected = mp.read_marc(mp.SAMPLE)
    for source in [
        pathlib.Path(mp.SAMPLE),
        SAMPLE_BYTES,
        bytearray(SAMPLE_BYTES),
        memoryview(SAMPLE_BYTES),
        io.BytesIO(SAMPLE_BYTES),
    ]:
        assert mp.read_marc(source).equals(expected), type(source)


def test_a_list_of_sources_is_read_in_order():
    half = sum(record_lengths(SAMPLE_BYTES)[:400])
    df = mp.read_marc([SAMPLE_BYTES[:half], SAMPLE_BYTES[half:]], row_index_name="i")
    assert df.drop("i").equals(mp.read_marc(mp.SAMPLE))
    assert df["i"].to_list() == list(range(1000))


@pytest.mark.parametrize("source", [42, 1.5, None, object(), ["ok", 3]])
def test_other_source_types_raise_type_error(source):
    with pytest.raises(TypeError, match=r"expected str, os\.PathLike, bytes or a binary file-like object"):
        mp.read_marc(source)


def test_text_mode_file_raises_type_error(tmp_path):
    path = tmp_path / "x.mrc"
    path.write_bytes(SAMPLE_BYTES[:2000])
    with open(path, encoding="latin-1") as handle, pytest.raises(TypeError, match="text-mode"):
        mp.read_marc(handle)


def test_empty_input_gives_an_empty_frame_with_the_schema(tmp_path):
    empty = tmp_path / "empty.mrc"
    empty.write_bytes(b"")
    for source in [b"", empty]:
        df = mp.read_marc(source)
        assert df.height == 0
        assert df.schema == SCHEMA


def test_missing_file_raises_file_not_found():
    with pytest.raises(FileNotFoundError, match=r"no_such_file\.mrc"):
        mp.read_marc("no_such_file.mrc")


def test_truncated_last_record_names_record_and_offset():
    # A real file cut off at 65,536 bytes by its download.
    path = TRUNCATED
    data = path.read_bytes()
    lengths = record_lengths(data)
    complete = sum(lengths[:-1])
    assert complete < len(data) < complete + lengths[-1]
    with pytest.raises(exceptions.TruncatedRecord) as info:
        mp.read_marc(path)
    error = info.value
    assert (error.source, error.record, error.byte_offset) == (str(path), len(lengths) - 1, complete)
    assert f"record {len(lengths) - 1} at byte offset {complete}" in str(error)
    assert str(path) in str(error)
    # The complete records before it are fine.
    assert mp.read_marc(path, n_rows=len(lengths) - 1).height == len(lengths) - 1


def damaged_sample(record: int, at: int, value: bytes) -> tuple[bytes, int]:
    """The sample with bytes at `at` of record `record` replaced; returns it and that record's offset."""
    offset = sum(record_lengths(SAMPLE_BYTES)[:record])
    pos = offset + at
    return SAMPLE_BYTES[:pos] + value + SAMPLE_BYTES[pos + len(value) :], offset


def first_field(record: int, rank: int = 0) -> tuple[int, int, int]:
    """(directory entry position, field start, field length) of a record's `rank`-th field."""
    offset = sum(record_lengths(SAMPLE_BYTES)[:record])
    data = SAMPLE_BYTES[offset:]
    base = int(data[12:17])
    entry = 24 + 12 * rank
    return entry, base + int(data[entry + 7 : entry + 12]), int(data[entry + 3 : entry + 7])


@pytest.mark.parametrize(
    ("damage", "error"),
    [
        ((5, 0, b"12x45"), exceptions.RecordLengthInvalid),
        ((5, 12, b"99999"), exceptions.BaseAddressInvalid),
        ((5, 24 + 4, b"X"), exceptions.RecordDirectoryInvalid),
        ((5, 24 + 7, b"99999"), exceptions.RecordDirectoryInvalid),
        ((5, 4, b"0"), exceptions.EndOfRecordNotFound),
    ],
    ids=["length-not-a-number", "base-address-outside", "directory-not-numeric", "field-outside", "length-wrong"],
)
def test_structural_damage_names_source_record_and_offset(damage, error):
    data, offset = damaged_sample(*damage)
    with pytest.raises(error) as info:
        mp.read_marc(data)
    assert isinstance(info.value, exceptions.MarcError)
    assert (info.value.source, info.value.record, info.value.byte_offset) == ("<bytes #0>", 5, offset)
    assert f"record 5 at byte offset {offset}" in str(info.value)


def test_invalid_utf8_names_record_offset_and_field():
    _, start, _ = first_field(7, rank=5)
    data, offset = damaged_sample(7, start + 4, b"\xff")
    with pytest.raises(exceptions.InvalidEncoding, match="invalid UTF-8") as info:
        mp.read_marc(data)
    assert (info.value.record, info.value.byte_offset) == (7, offset)


def test_missing_field_terminator():
    _, start, length = first_field(3, rank=2)
    data, offset = damaged_sample(3, start + length - 1, b"X")
    with pytest.raises(exceptions.FieldInvalid, match="field terminator") as info:
        mp.read_marc(data)
    assert (info.value.record, info.value.byte_offset) == (3, offset)


def test_the_first_error_in_file_order_is_raised():
    # Record 2 has bad UTF-8 and record 600 a bad length: record 2 wins, whatever the threads do.
    _, start, _ = first_field(2, rank=5)
    data, _ = damaged_sample(2, start + 4, b"\xff")
    offset = sum(record_lengths(SAMPLE_BYTES)[:600])
    data = data[:offset] + b"abcde" + data[offset + 5 :]
    with pytest.raises(exceptions.InvalidEncoding) as info:
        mp.read_marc(data)
    assert info.value.record == 2


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("chunk_size", [1, 5_000, 100_000])
def test_chunking_and_threads_do_not_change_the_frame(chunk_size: int, threads: int):
    expected = mp.read_marc(mp.SAMPLE)
    for source in [mp.SAMPLE, SAMPLE_BYTES]:
        batches = _native.iter_batches([source], threads=threads, chunk_size=chunk_size, map_files=True)
        df = _native.read_frame(batches)
        assert df.equals(expected), (type(source), chunk_size, threads)
        assert df.n_chunks() > 1 or chunk_size > len(SAMPLE_BYTES)
