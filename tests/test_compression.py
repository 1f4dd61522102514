"""Compressed input, found by its magic bytes whatever its name, and input that is not MARC records
in a form that is read, named for what it looks like."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import shutil
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest
import zstandard

import marc_polars as mp
import marc_polars.pymarc as shim
from marc_polars.exceptions import UnknownFormatError

from conftest import DATA

SAMPLE_BYTES = Path(mp.SAMPLE).read_bytes()

#: Each codec by its `compression=` name, with the file extension and a compressor from outside
#: this package (Python's own, and the zstd reference library's binding).
COMPRESSORS: dict[str, tuple[str, Callable[[bytes], bytes]]] = {
    "gzip": (".gz", lambda data: gzip.compress(data, compresslevel=1)),
    "zstd": (".zst", lambda data: zstandard.ZstdCompressor(level=1).compress(data)),
    "bz2": (".bz2", lambda data: bz2.compress(data, compresslevel=1)),
    "xz": (".xz", lambda data: lzma.compress(data, preset=0)),
}


def in_members(codec: str, data: bytes) -> bytes:
    """`data` compressed in two members (frames, streams) one after the other, as `cat a.gz b.gz`
    makes, cut in the middle of a record."""
    compress = COMPRESSORS[codec][1]
    half = len(data) // 2 + 17
    return compress(data[:half]) + compress(data[half:])


@pytest.fixture(scope="module")
def expected() -> pl.DataFrame:
    return mp.read_marc(mp.SAMPLE)


@pytest.mark.parametrize("codec", COMPRESSORS)
def test_every_codec_reads_as_the_plain_file_from_every_kind_of_source(codec, expected, tmp_path):
    packed = in_members(codec, SAMPLE_BYTES)
    named = tmp_path / f"sample.mrc{COMPRESSORS[codec][0]}"
    named.write_bytes(packed)
    unnamed = tmp_path / "sample"
    unnamed.write_bytes(packed)
    with open(unnamed, "rb") as file:
        sources = [named, str(unnamed), packed, bytearray(packed), io.BytesIO(packed), file]
        for source in sources:
            assert mp.read_marc(source).equals(expected), (codec, type(source))
    assert mp.read_marc(named, compression=codec).equals(expected)
    assert mp.scan_marc(unnamed).collect().equals(expected)
    assert (
        mp.scan_marc(named, columns={"title": "245$a"})
        .collect()
        .equals(mp.read_marc(mp.SAMPLE, columns={"title": "245$a"}))
    )
    assert pl.concat(mp.iter_batches(named, batch_size=300)).equals(expected)
    # A list of sources, compressed and plain, is read in order.
    assert mp.read_marc([named, mp.SAMPLE]).equals(pl.concat([expected, expected]))


def test_the_record_api_reads_compressed_files_as_pymarc_reads_the_plain_one(tmp_path):
    packed = tmp_path / "sample.mrc.gz"
    packed.write_bytes(in_members("gzip", SAMPLE_BYTES))
    with open(packed, "rb") as compressed, open(mp.SAMPLE, "rb") as plain:
        pairs = zip(shim.MARCReader(compressed), shim.MARCReader(plain), strict=True)
        assert all(a.as_marc() == b.as_marc() for a, b in pairs)


def test_compression_none_reads_the_bytes_as_they_are_and_says_what_they_are(tmp_path):
    packed = tmp_path / "sample.mrc.gz"
    packed.write_bytes(gzip.compress(SAMPLE_BYTES))
    with pytest.raises(UnknownFormatError, match=r"sample\.mrc\.gz: record 0 at byte offset 0: .*gzip-compressed data"):
        mp.read_marc(packed, compression=None)
    # Plain records read the same with compression=None.
    assert mp.read_marc(mp.SAMPLE, compression=None).height == 1000


def test_a_codec_asked_for_that_the_file_is_not_in_is_an_error_naming_the_file():
    with pytest.raises(OSError, match=r"booksall_sample\.mrc: zstd data cannot be decompressed past byte 0 "):
        mp.read_marc(mp.SAMPLE, compression="zstd")
    with pytest.raises(ValueError, match=r'unknown compression "zip": "infer", None, "gzip", "zstd", "bz2", "xz"'):
        mp.read_marc(mp.SAMPLE, compression="zip")  # type: ignore[arg-type]


@pytest.mark.parametrize("codec", COMPRESSORS)
@pytest.mark.parametrize("on_error", ["raise", "skip"])
def test_a_truncated_compressed_file_is_an_error_saying_where(codec, on_error, tmp_path):
    packed = COMPRESSORS[codec][1](SAMPLE_BYTES)
    cut = tmp_path / f"cut{COMPRESSORS[codec][0]}"
    cut.write_bytes(packed[: len(packed) * 2 // 3])
    pattern = rf"cut\{COMPRESSORS[codec][0]}: {codec} data cannot be decompressed past byte \d+ of its content"
    with pytest.raises(OSError, match=pattern):
        mp.read_marc(cut, on_error=on_error)


#: Inputs that are not ISO 2709, from other projects' test data or made as users meet them, and
#: what the error calls them.
NOT_ISO2709 = [
    (DATA / "forms" / "natlibfi__oai-marcxml_2RecordsFrom.xml", "XML without a MARCXML record in its first 64 KiB"),
    (DATA / "forms" / "traject__sample-oai-pmh.xml", "XML without a MARCXML record in its first 64 KiB"),
    (DATA / "forms" / "pulibrary__991227840000541_holdings.xml", "XML without a MARCXML record in its first 64 KiB"),
    (
        DATA / "forms" / "marc4j__marc-json.json",
        'JSON without a MARC-in-JSON record\'s "leader" or "fields" in its first bytes',
    ),
]


@pytest.mark.parametrize(("path", "looks"), NOT_ISO2709, ids=lambda value: getattr(value, "name", None))
@pytest.mark.parametrize("on_error", ["raise", "skip", "collect", "repair"])
def test_records_in_another_form_are_named_under_every_on_error(path, looks, on_error):
    message = (
        rf"{path.name}: record 0 at byte offset 0: this is not MARC 21 in a form read here: it looks like {looks};"
    )
    with pytest.raises(UnknownFormatError, match=message) as raised:
        mp.read_marc(path, on_error=on_error)
    assert raised.value.code == "unknown_format" and raised.value.source == str(path)


@pytest.mark.parametrize(
    ("data", "looks"),
    [
        (b"<!DOCTYPE html>\n<html><head><title>404 Not Found</title></head></html>\n", "an HTML page"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "a PDF document"),
        (b"Dear cataloguer, the records you asked for are attached to this message as a file.\n", "text"),
    ],
    ids=["html", "pdf", "text"],
)
def test_a_download_that_is_no_marc_is_named_plain_or_compressed(data, looks, tmp_path):
    with pytest.raises(UnknownFormatError, match=rf"<bytes #0>: .*it looks like {looks};"):
        mp.read_marc(data, on_error="skip")
    packed = tmp_path / "dump.mrc.gz"
    packed.write_bytes(gzip.compress(data))
    with pytest.raises(UnknownFormatError, match=rf"dump\.mrc\.gz: .*it looks like {looks}, once gzip-decompressed;"):
        mp.read_marc(packed, on_error="skip")


def test_iso2709_under_a_misleading_name_is_read_as_iso2709():
    """marcli's test file: an ISO 2709 record named `.xml` (its last record cut off)."""
    frame = mp.read_marc(DATA / "edge" / "marcli__test_bad.xml", on_error="skip")
    assert frame.height >= 1 and frame["leader"][0][:5].isdigit()


def test_booksall_compressed_reads_as_the_plain_file(booksall, tmp_path_factory):
    """Every codec, under its name and renamed without extension, by `read_marc` and `scan_marc`:
    the whole of BooksAll, many blocks of compressed and decompressed data."""
    plain = mp.read_marc(booksall)
    folder = tmp_path_factory.mktemp("booksall")
    data = booksall.read_bytes()
    for codec, (extension, compress) in COMPRESSORS.items():
        named = folder / f"booksall{extension}"
        named.write_bytes(compress(data))
        unnamed = folder / "booksall"
        shutil.move(named, unnamed)
        assert mp.read_marc(unnamed).equals(plain), codec
        shutil.move(unnamed, named)
        assert mp.scan_marc(named).collect().equals(plain), codec
        named.unlink()
