"""The `marc-polars` console script, run as a user runs it: in a subprocess, outputs read back."""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl
import pymarc
import pytest

import marc_polars as mp

from conftest import DATA

BROKEN = DATA / "broken" / "marc4j__pride-and-prejudice-with-many-errors.mrc"


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    script = shutil.which("marc-polars")
    command = [script] if script else [sys.executable, "-m", "marc_polars"]
    return subprocess.run([*command, *args], capture_output=True, text=True, cwd=cwd, timeout=300)


def test_without_a_command_it_summarises_the_sample(tmp_path: Path):
    done = run(cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "read 1,000 records" in done.stdout and "most frequent tags" in done.stdout


def test_the_summary_takes_glob_patterns(tmp_path: Path):
    for name in ("a.mrc", "b.mrc"):
        shutil.copy(mp.SAMPLE, tmp_path / name)
    done = run("*.mrc", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "read 2,000 records" in done.stdout and "from 2 file(s)" in done.stdout


@pytest.mark.parametrize("fmt", ["parquet", "ipc", "ndjson"])
def test_convert_writes_the_lossless_frame(fmt: str, tmp_path: Path):
    out = tmp_path / f"sample.{ {'ipc': 'arrow'}.get(fmt, fmt) }"
    done = run("convert", mp.SAMPLE, "-o", str(out), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "1,000 records" in done.stderr
    expected = mp.read_marc(mp.SAMPLE)
    back = {"parquet": pl.read_parquet, "ipc": pl.read_ipc, "ndjson": pl.read_ndjson}[fmt](out)
    if fmt == "ndjson":
        back = back.cast(expected.schema)  # type: ignore[arg-type]
    assert back.equals(expected)


def test_convert_to_csv_joins_lists(tmp_path: Path):
    out = tmp_path / "titles.csv"
    done = run("convert", mp.SAMPLE, "-o", str(out), "--preset", "bibliographic", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    expected = mp.read_marc(mp.SAMPLE, columns=mp.BIBLIOGRAPHIC).with_columns(pl.col(pl.List(pl.String)).list.join(" | "))
    assert pl.read_csv(out, infer_schema=False).equals(expected)
    done = run("convert", mp.SAMPLE, "-o", str(out), cwd=tmp_path)
    assert done.returncode == 1 and "CSV cannot hold the nested fields column" in done.stderr


def test_convert_with_chosen_columns_and_error_modes(tmp_path: Path):
    out = tmp_path / "out.parquet"
    done = run("convert", str(BROKEN), "-o", str(out), "--columns", "id=001", "245$a", cwd=tmp_path)
    assert done.returncode == 1 and "InvalidEncoding" in done.stderr and str(BROKEN) in done.stderr
    done = run("convert", str(BROKEN), "-o", str(out), "--columns", "id=001", "--on-error", "skip", cwd=tmp_path)
    assert done.returncode == 0 and "85 damaged records skipped" in done.stderr
    assert pl.read_parquet(out).equals(mp.read_marc(BROKEN, columns={"id": "001"}, on_error="skip"))
    done = run("convert", str(BROKEN), "-o", str(out), "--on-error", "collect", cwd=tmp_path)
    assert done.returncode == 0 and "85 damaged records kept" in done.stderr
    assert pl.read_parquet(out)["raw"].drop_nulls().len() == 85


def test_stats(tmp_path: Path):
    done = run("stats", str(BROKEN), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "records: 383 (85 damaged)" in done.stdout
    for heading in ("encodings:", "record types (leader/06):", "most frequent tags:", "errors:", "InvalidEncoding"):
        assert heading in done.stdout


def test_head_prints_records_as_pymarc_does(tmp_path: Path):
    done = run("head", "-n", "3", mp.SAMPLE, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    theirs = [str(record) for _, record in zip(range(3), pymarc.MARCReader(io.BytesIO(Path(mp.SAMPLE).read_bytes())))]
    assert done.stdout.rstrip("\n").split("\n\n") == [t.rstrip("\n") for t in theirs]


def test_bad_arguments_and_inputs_exit_non_zero(tmp_path: Path):
    assert run("convert", mp.SAMPLE, cwd=tmp_path).returncode == 2  # no --output
    done = run("convert", mp.SAMPLE, "-o", str(tmp_path / "out.xyz"), cwd=tmp_path)
    assert done.returncode == 1 and "give --format" in done.stderr
    done = run("head", str(tmp_path / "missing.mrc"), cwd=tmp_path)
    assert done.returncode == 1 and "missing.mrc" in done.stderr


def run_on_terminal(*args: str, cwd: Path) -> tuple[int, str]:
    """Runs the console script with its standard error on a pseudo-terminal (standard output in a
    pipe); returns its exit code and what it wrote to the terminal."""
    import pty

    script = shutil.which("marc-polars")
    command = [script] if script else [sys.executable, "-m", "marc_polars"]
    leader, follower = pty.openpty()
    try:
        child = subprocess.Popen([*command, *args], stdout=subprocess.PIPE, stderr=follower, cwd=cwd)
        os.close(follower)
        child.stdout.read()  # type: ignore[union-attr]
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 1 << 16)
            except OSError:  # the terminal is closed once the child has exited
                break
            if not chunk:
                break
            chunks.append(chunk)
        return child.wait(timeout=300), b"".join(chunks).decode()
    finally:
        os.close(leader)


@pytest.mark.parametrize("command", [[], ["stats"], ["convert", "-o", "out.parquet"]], ids=["summary", "stats", "convert"])
def test_progress_on_a_terminal_not_in_a_pipe(command: list[str], tmp_path: Path):
    args = [*command[:1], mp.SAMPLE, *command[1:]]
    size = f"{os.path.getsize(mp.SAMPLE) / 1e6:,.1f}"
    bar = re.compile(rf"(?:^|[\r\n])100% \|#+\|  {re.escape(size)}/{re.escape(size)} MB  1,000 records  .* records/s")
    code, terminal = run_on_terminal(*args, cwd=tmp_path)
    assert code == 0 and bar.search(terminal), terminal
    code, terminal = run_on_terminal(*args, "--no-progress", cwd=tmp_path)
    assert code == 0 and "records/s" not in terminal and "\r100%" not in terminal, terminal
    done = run(*args, cwd=tmp_path)
    assert done.returncode == 0 and "records/s" not in done.stderr and "\r" not in done.stderr, done.stderr
    done = run(*args, "--progress", cwd=tmp_path)
    assert done.returncode == 0 and bar.search(done.stderr), done.stderr
