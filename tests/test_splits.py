"""Byte offsets and splits: every record's offset in its source, and files read in byte ranges.

Every real file of `tests/data` (ISO 2709 sound, damaged and odd, MARCXML, MARC-in-JSON), cut into
splits of many sizes and read split by split, gives the frame `read_marc` gives, and the splits'
reports add up to its report.
"""

from __future__ import annotations

import gzip
import random
from pathlib import Path

import hypothesis.strategies as st
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings

import marc_polars as mp
from marc_polars import cli, exceptions

from conftest import BROKEN, DATA, EDGE, MARC8, READABLE, TRUNCATED

FORMS = sorted(p for p in (DATA / "forms").iterdir() if p.suffix in (".xml", ".json"))
FILES = sorted({*READABLE, *BROKEN, *EDGE, *MARC8, TRUNCATED, *FORMS})


def readable(path: Path) -> bool:
    try:
        mp.read_marc(path, columns="leader", on_error="collect")
    except exceptions.UnknownFormatError:
        return False
    except exceptions.MarcError:  # a truncated download: its records are read up to the error
        return True
    return True


SPLITTABLE = [p for p in FILES if readable(p)]


def test_the_files_tried_are_of_every_kind():
    kinds = {p.suffix for p in SPLITTABLE}
    assert len(SPLITTABLE) > 80 and {".xml", ".json", ".mrc"} <= kinds
    assert set(BROKEN) <= set(SPLITTABLE)


@pytest.mark.parametrize("path", SPLITTABLE, ids=lambda p: p.name)
def test_each_record_starts_at_its_byte_offset(path):
    data = path.read_bytes()
    df = mp.read_marc(path, columns=["leader"], on_error="collect", include_byte_offsets="offset")
    offsets = df["offset"].to_list()
    assert df.schema["offset"] == pl.UInt64
    assert offsets == sorted(set(offsets)), "offsets increase"
    for offset, raw, leader in zip(offsets, df["raw"], df["leader"], strict=True):
        if raw is not None:
            assert data[offset : offset + len(raw)] == raw
        elif data[offset : offset + 1] in (b"<", b"{"):
            # A MARCXML record element, or a MARC-in-JSON object.
            tag = data[offset : offset + 40].split(b">")[0].split()[0]
            assert tag.startswith(b"{") or tag.endswith(b"record"), tag
        else:
            length = int(data[offset : offset + 5])
            assert data[offset + length - 1] == 0x1D and leader[:5] == data[offset : offset + 5].decode()


def test_offsets_are_the_same_from_every_entry_point_and_count_from_each_source():
    path = DATA / "broken" / "marc4j__pride-and-prejudice-with-many-errors.mrc"
    read = mp.read_marc(path, columns=["001"], on_error="collect", include_byte_offsets="at")
    lazy = mp.scan_marc(path, columns=["001"], on_error="collect", include_byte_offsets="at")
    assert lazy.select("at").collect()["at"].equals(read["at"])
    batches = pl.concat(
        mp.iter_batches(path, batch_size=7, columns=["001"], on_error="collect", include_byte_offsets="at")
    )
    assert batches.equals(read)
    twice = mp.read_marc([path, path.read_bytes()], columns=["001"], on_error="collect", include_byte_offsets="at")
    assert twice["at"].to_list() == read["at"].to_list() * 2
    assert mp.read_marc(path, on_error="collect", include_byte_offsets="at").columns[-1] == "at"


def test_a_compressed_file_gives_the_offsets_of_its_decompressed_bytes(tmp_path):
    packed = tmp_path / "sample.mrc.gz"
    packed.write_bytes(gzip.compress(Path(mp.SAMPLE).read_bytes()))
    plain = mp.read_marc(mp.SAMPLE, columns=["001"], include_byte_offsets="offset")
    assert mp.read_marc(packed, columns=["001"], include_byte_offsets="offset").equals(plain)


def test_the_command_line_writes_byte_offsets(tmp_path):
    out = tmp_path / "out.parquet"
    assert (
        cli.main(["convert", mp.SAMPLE, "-o", str(out), "--preset", "bibliographic", "--include-byte-offsets", "at"])
        == 0
    )
    expected = mp.read_marc(mp.SAMPLE, columns=mp.BIBLIOGRAPHIC, include_byte_offsets="at")
    assert pl.read_parquet(out).equals(expected)


def read_in_splits(path: Path, size: int, on_error: str = "collect") -> tuple[pl.DataFrame, mp.ReadReport]:
    """`path` read split by split, the frames in offset order, and the splits' reports added up."""
    frames, total = [], mp.ReadReport()
    for split in mp.plan_splits(path, size):
        report = mp.ReadReport()
        frames.append(mp.read_split(split, on_error=on_error, include_byte_offsets="offset", report=report))  # type: ignore[arg-type]
        total.rows += report.rows
        total.collected += report.collected
        total.skipped += report.skipped
        total.junk += report.junk
    return pl.concat(frames).sort("offset"), total


def read_whole(path: Path, on_error: str = "collect") -> tuple[pl.DataFrame, mp.ReadReport]:
    report = mp.ReadReport()
    return mp.read_marc(path, on_error=on_error, include_byte_offsets="offset", report=report), report  # type: ignore[arg-type]


def drop_record_numbers(error: str | None) -> str | None:
    """The error column's text without the record's number, which a split counts from its own
    first record."""
    return None if error is None else error.split(": record ")[0] + error.split(" at byte offset")[1]


def same(split: pl.DataFrame, whole: pl.DataFrame) -> None:
    if "error" in whole.columns:
        strip = pl.col("error").map_elements(drop_record_numbers, return_dtype=pl.String)
        split, whole = split.with_columns(strip), whole.with_columns(strip)
    assert split.equals(whole)


@pytest.mark.parametrize("path", SPLITTABLE, ids=lambda p: p.name)
def test_every_file_read_in_1_kib_splits_is_the_file_read_whole(path):
    (split, split_report), (whole, whole_report) = read_in_splits(path, 1024), read_whole(path)
    same(split, whole)
    assert (split_report.rows, split_report.collected) == (whole_report.rows, whole_report.collected)
    assert sorted(split_report.junk) == sorted(whole_report.junk)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    path=st.sampled_from([*BROKEN, *EDGE, *FORMS]),
    size=st.integers(512, 40_000),
    on_error=st.sampled_from(["skip", "collect"]),
)
def test_files_read_in_splits_of_any_size_are_the_files_read_whole(path, size, on_error):
    if path not in SPLITTABLE:
        return
    (split, split_report), (whole, whole_report) = read_in_splits(path, size, on_error), read_whole(path, on_error)
    same(split, whole)
    skipped = sorted(e.byte_offset for e in split_report.skipped)
    assert skipped == [e.byte_offset for e in whole_report.skipped]


def test_a_split_of_a_damaged_file_raises_naming_the_file_and_offset():
    path = DATA / "broken" / "marc4j__pride-and-prejudice-with-many-errors.mrc"
    with pytest.raises(exceptions.MarcError) as whole:
        mp.read_marc(path)
    splits = mp.plan_splits(path, 1 << 30)
    assert len(splits) == 1
    with pytest.raises(type(whole.value)) as split:
        mp.read_split(splits[0])
    assert (split.value.source, split.value.byte_offset) == (str(path), whole.value.byte_offset)


def test_the_planner_cuts_files_in_order_and_leaves_compressed_files_and_json_arrays_whole(tmp_path):
    sample = Path(mp.SAMPLE)
    size = sample.stat().st_size
    splits = mp.plan_splits(sample, 100_000)
    assert [(s.start, s.end) for s in splits] == [(a, min(a + 100_000, size)) for a in range(0, size, 100_000)]
    packed = tmp_path / "sample.mrc.gz"
    packed.write_bytes(gzip.compress(sample.read_bytes()))
    array = tmp_path / "sample.json"
    mp.write_marc(mp.read_marc(sample), array)
    assert array.read_bytes().lstrip()[:1] == b"["
    assert mp.plan_splits([packed, array], 10) == [
        mp.Split(str(packed), 0, packed.stat().st_size),
        mp.Split(str(array), 0, array.stat().st_size),
    ]
    # Read by the split that starts at 0 alone.
    assert mp.read_split(mp.Split(str(packed), 0, 10)).equals(mp.read_marc(sample))
    assert mp.read_split(mp.Split(str(packed), 10, 20)).height == 0
    ndjson = tmp_path / "sample.ndjson"
    mp.write_marc(mp.read_marc(sample), ndjson)
    assert len(mp.plan_splits(ndjson, 100_000)) > 1
    with pytest.raises(ValueError, match="split_size"):
        mp.plan_splits(sample, 0)


@pytest.mark.parametrize("suffix", [".mrc", ".xml", ".ndjson"])
def test_the_sample_in_every_form_reads_alike_in_splits(suffix, tmp_path):
    path = tmp_path / f"sample{suffix}"
    mp.write_marc(mp.read_marc(mp.SAMPLE), path)
    expected = mp.read_marc(path, include_byte_offsets="offset", include_file_paths="path")
    for size in (999, 65_536, random.Random(suffix).randrange(1_000, 400_000)):
        frames = [
            mp.read_split(s, include_byte_offsets="offset", include_file_paths="path")
            for s in mp.plan_splits(path, size)
        ]
        assert pl.concat(frames).equals(expected), size
