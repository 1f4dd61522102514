"""`progress=True`: a progress line of bytes and records read, redrawn while the read runs."""

from __future__ import annotations

import io
import os
import re

import polars as pl
import pytest

import marc_polars as mp
from marc_polars._progress import WIDTH, line

SIZE = os.path.getsize(mp.SAMPLE)
MB = f"{SIZE / 1e6:,.1f}"


@pytest.fixture(autouse=True)
def wide_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """A terminal wide enough for the whole line, whatever runs the tests (a narrow one is tested)."""
    monkeypatch.setenv("COLUMNS", "200")


def redraws(err: str) -> list[str]:
    """The lines drawn, in order: each starts with a carriage return; the last ends the line."""
    assert err.endswith("\n"), err
    return [part.rstrip() for part in err[:-1].split("\r")[1:]]


def test_the_line_says_share_bytes_records_and_rates():
    assert line(50_000_000, 1_000, 2.0, 200_000_000, None) == (
        f" 25% |{'#' * (WIDTH // 4)}{'.' * (WIDTH - WIDTH // 4)}|"
        "  50.0/200.0 MB  1,000 records  2.0 s  25.0 MB/s  500 records/s"
    )
    # A limit on the records gives the share; a stream's size is not known.
    assert line(50_000_000, 10, 1.0, None, 40).startswith(f" 25% |{'#' * (WIDTH // 4)}")
    assert line(1_500_000, 10, 0.0, None, None) == "1.5 MB  10 records  0.0 s"


def test_read_marc_shows_the_whole_read(capfd: pytest.CaptureFixture[str]):
    df = mp.read_marc(mp.SAMPLE, progress=True)
    assert df.height == 1_000
    last = redraws(capfd.readouterr().err)[-1]
    assert last.startswith(f"100% |{'#' * WIDTH}|  {MB}/{MB} MB  1,000 records  "), last
    assert re.search(r"  [\d,.]+ MB/s  [\d,]+ records/s$", last), last


def test_no_progress_unless_asked(capfd: pytest.CaptureFixture[str]):
    mp.read_marc(mp.SAMPLE)
    list(mp.iter_batches(mp.SAMPLE))
    mp.scan_marc(mp.SAMPLE).collect()
    assert capfd.readouterr().err == ""


def test_every_entry_point_shows_it(capfd: pytest.CaptureFixture[str]):
    frames = {
        "iter_batches": pl.concat(mp.iter_batches(mp.SAMPLE, batch_size=300, progress=True)),
        "scan_marc": mp.scan_marc(mp.SAMPLE, progress=True).collect(),
    }
    err = capfd.readouterr().err
    finals = [part for part in err.split("\n") if part]
    assert len(finals) == 2, err
    for name, frame in frames.items():
        assert frame.equals(mp.read_marc(mp.SAMPLE)), name
    for final in finals:
        assert final.split("\r")[-1].startswith(f"100% |{'#' * WIDTH}|  {MB}/{MB} MB  1,000 records"), final


def test_a_limit_or_a_stream(capfd: pytest.CaptureFixture[str]):
    mp.read_marc(mp.SAMPLE, n_rows=100, progress=True)
    assert redraws(capfd.readouterr().err)[-1].startswith(f"100% |{'#' * WIDTH}|  ")
    # A limit beyond the input: the read ends complete.
    mp.read_marc(mp.SAMPLE, n_rows=5_000, progress=True)
    assert redraws(capfd.readouterr().err)[-1].startswith(f"100% |{'#' * WIDTH}|  {MB}/{MB} MB  1,000 records")
    with open(mp.SAMPLE, "rb") as handle:
        mp.read_marc(io.BytesIO(handle.read()), progress=True)
    # A file object's size is not known: bytes and records, no share.
    assert redraws(capfd.readouterr().err)[-1].startswith(f"{MB} MB  1,000 records")


def test_a_failed_read_ends_its_line(capfd: pytest.CaptureFixture[str]):
    with pytest.raises(mp.MarcError):
        mp.read_marc(b"00026     2200025   4500\x1e\x1d" + b"not a record", progress=True)
    assert capfd.readouterr().err.endswith("\n")


@pytest.mark.slow
def test_the_line_moves_during_a_long_read(booksall, capfd: pytest.CaptureFixture[str]):
    mp.set_max_threads(1)  # a slower read, redrawn more often whatever the machine
    try:
        df = mp.read_marc(booksall, progress=True)
    finally:
        mp.set_max_threads(None)
    drawn = redraws(capfd.readouterr().err)
    read = [float(re.match(r".*?([\d,.]+)/[\d,.]+ MB", d).group(1).replace(",", "")) for d in drawn]  # type: ignore[union-attr]
    assert len(drawn) >= 2 and read == sorted(read), drawn
    assert drawn[-1].startswith(f"100% |{'#' * WIDTH}|") and f"{df.height:,} records" in drawn[-1]


def test_the_line_fits_the_width_it_is_given():
    whole = line(108_300_000, 112_000, 1.2, 241_700_000, None)
    assert line(108_300_000, 112_000, 1.2, 241_700_000, None, columns=len(whole) + 1) == whole
    for columns in range(1, len(whole) + 1):
        fitted = line(108_300_000, 112_000, 1.2, 241_700_000, None, columns=columns)
        assert len(fitted) <= columns - 1, (columns, fitted)
    # Narrower: a shorter bar first, then the rates, the time, the bar and the records go.
    assert line(108_300_000, 112_000, 1.2, 241_700_000, None, columns=80) == (
        f" 45% |{'#' * 9}{'.' * 12}|  108.3/241.7 MB  112,000 records  1.2 s  90.2 MB/s"
    )
    assert line(108_300_000, 112_000, 1.2, 241_700_000, None, columns=60) == (
        f" 45% |{'#' * 5}{'.' * 7}|  108.3/241.7 MB  112,000 records  1.2 s"
    )
    assert line(108_300_000, 112_000, 1.2, 241_700_000, None, columns=40) == " 45%  108.3/241.7 MB  112,000 records"
    assert line(108_300_000, 112_000, 1.2, 241_700_000, None, columns=30) == " 45%  108.3/241.7 MB"
    # Without a share, only as much goes as must.
    assert line(1_500_000, 10, 0.5, None, None, columns=30) == "1.5 MB  10 records  0.5 s"


def test_the_drawn_line_fits_the_terminal(monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]):
    monkeypatch.setenv("COLUMNS", "60")
    mp.read_marc(mp.SAMPLE, progress=True)
    err = capfd.readouterr().err
    drawn = err[:-1].split("\r")[1:]
    assert drawn and all(len(d) <= 59 for d in drawn), drawn
    assert drawn[-1].startswith("100% |#"), drawn[-1]
    assert f"{MB}/{MB} MB  1,000 records" in drawn[-1], drawn[-1]
