"""The `marc-polars` console script, run as a user runs it: in a subprocess, outputs read back."""

from __future__ import annotations

import bz2
import gzip
import io
import itertools
import lzma
import os
import re
import shutil
import struct
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pymarc
import pytest
import zstandard

import marc_polars as mp
from marc_polars import cli

from conftest import DATA

BROKEN = DATA / "broken" / "marc4j__pride-and-prejudice-with-many-errors.mrc"
#: Six sound records and two damaged ones: a leader that is not a number, and a truncated record.
BAD_LEADER = DATA / "broken" / "marcperl__badldr.usmarc"


def console_script() -> list[str]:
    script = shutil.which("marc-polars")
    return [script] if script else [sys.executable, "-m", "marc_polars"]


def run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*console_script(), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
        env=env and {**os.environ, **env},
        check=False,
    )


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
    expected = mp.read_marc(mp.SAMPLE, columns=mp.BIBLIOGRAPHIC).with_columns(
        pl.col(pl.List(pl.String)).list.join(" | ")
    )
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
    for heading in (
        "encodings:",
        "record types (leader/06):",
        "most frequent tags:",
        "errors:",
        "invalid_utf8",
        "bad_directory",
    ):
        assert heading in done.stdout


def test_head_prints_records_as_pymarc_does(tmp_path: Path):
    done = run("head", "-n", "3", mp.SAMPLE, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    theirs = [
        str(record) for record in itertools.islice(pymarc.MARCReader(io.BytesIO(Path(mp.SAMPLE).read_bytes())), 3)
    ]
    assert done.stdout.rstrip("\n").split("\n\n") == [t.rstrip("\n") for t in theirs]


def test_bad_arguments_and_inputs_exit_non_zero(tmp_path: Path):
    assert run("convert", mp.SAMPLE, cwd=tmp_path).returncode == 2  # no --output
    done = run("convert", mp.SAMPLE, "-o", str(tmp_path / "out.xyz"), cwd=tmp_path)
    assert done.returncode == 1 and "give --format" in done.stderr
    done = run("head", str(tmp_path / "missing.mrc"), cwd=tmp_path)
    assert done.returncode == 1 and "missing.mrc" in done.stderr


def run_on_terminal(*args: str, cwd: Path, columns: int = 200) -> tuple[int, str]:
    """Runs the console script with its standard error on a pseudo-terminal `columns` wide
    (standard output in a pipe); returns its exit code and what it wrote to the terminal."""
    # Unix only: imported at the top, they would keep the whole module from loading elsewhere.
    import fcntl  # noqa: PLC0415
    import pty  # noqa: PLC0415
    import termios  # noqa: PLC0415

    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    env = {key: value for key, value in os.environ.items() if key not in ("COLUMNS", "LINES")}
    try:
        with subprocess.Popen(
            [*console_script(), *args], stdout=subprocess.PIPE, stderr=follower, cwd=cwd, env=env
        ) as child:
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


@pytest.mark.parametrize(
    "command", [[], ["stats"], ["convert", "-o", "out.parquet"]], ids=["summary", "stats", "convert"]
)
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
    done = run(*args, "--progress", cwd=tmp_path, env={"COLUMNS": "200"})
    assert done.returncode == 0 and bar.search(done.stderr), done.stderr


def test_the_progress_line_fits_a_narrow_terminal(tmp_path: Path):
    code, terminal = run_on_terminal("stats", mp.SAMPLE, cwd=tmp_path, columns=60)
    assert code == 0 and "records" in terminal, terminal
    drawn = [part for part in re.split(r"[\r\n]+", terminal) if part]
    assert drawn and all(len(part) <= 59 for part in drawn), drawn


def test_a_reader_that_closes_the_pipe_is_no_error(tmp_path: Path):
    command = [*console_script(), "head", "-n", "1000", mp.SAMPLE]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path) as child:
        assert child.stdout is not None and child.stderr is not None
        assert child.stdout.readline().startswith(b"=LDR  ")
        child.stdout.close()  # as `| head -1` does: the rest, about a megabyte, goes to a closed pipe
        err = child.stderr.read().decode()
        assert child.wait(timeout=300) == 0 and err == "", err


@pytest.mark.parametrize(
    "args",
    [[mp.SAMPLE], ["stats", mp.SAMPLE], ["head", mp.SAMPLE], ["--help"]],
    ids=["summary", "stats", "head", "help"],
)
def test_every_command_takes_a_closed_pipe_quietly(
    args: list[str], monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
):
    reader, writer = os.pipe()
    os.close(reader)
    with open(writer, "w") as closed:
        monkeypatch.setattr(sys, "stdout", closed)
        try:
            code = cli.main(args)
        except SystemExit as stopped:  # --help
            code = stopped.code  # type: ignore[assignment]
        monkeypatch.undo()
    assert code == 0 and capfd.readouterr().err == ""


def test_version(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    with pytest.raises(SystemExit) as stopped:
        cli.main(["--version"])
    assert stopped.value.code == 0 and capsys.readouterr().out == f"marc-polars {mp.__version__}\n"
    # The console script, which may be another installation than the one imported here.
    done = run("--version", cwd=tmp_path)
    assert done.returncode == 0 and re.fullmatch(r"marc-polars \S+\n", done.stdout), done


def test_help_lists_the_commands_and_options(tmp_path: Path):
    done = run("--help", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    for word in ("convert", "stats", "head", "--version", "--on-error", "--progress", "standard input"):
        assert word in done.stdout, word
    for command in ("convert", "stats", "head"):
        done = run(command, "--help", cwd=tmp_path)
        assert done.returncode == 0 and "--on-error" in done.stdout and "repair" in done.stdout, done.stdout


def read_from_standard_input(how: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Runs the console script with the sample on its standard input: a file, or a pipe."""
    if how == "file":
        with open(mp.SAMPLE, "rb") as stdin:
            done = subprocess.run(
                [*console_script(), *args], stdin=stdin, capture_output=True, cwd=cwd, timeout=300, check=False
            )
    else:
        data = Path(mp.SAMPLE).read_bytes()
        done = subprocess.run(
            [*console_script(), *args], input=data, capture_output=True, cwd=cwd, timeout=300, check=False
        )
    return subprocess.CompletedProcess(done.args, done.returncode, done.stdout.decode(), done.stderr.decode())


@pytest.mark.parametrize("how", ["pipe", "file"])
def test_a_dash_reads_standard_input(how: str, tmp_path: Path):
    done = read_from_standard_input(how, "-", cwd=tmp_path)
    assert done.returncode == 0 and "read 1,000 records" in done.stdout, done.stderr
    done = read_from_standard_input(how, "stats", "-", cwd=tmp_path)
    assert done.returncode == 0 and "records: 1,000 (0 damaged)" in done.stdout, done.stderr
    done = read_from_standard_input(how, "head", "-n", "2", "-", cwd=tmp_path)
    assert done.returncode == 0 and done.stdout == run("head", "-n", "2", mp.SAMPLE, cwd=tmp_path).stdout, done.stderr
    done = read_from_standard_input(how, "convert", "-", "-o", "out.parquet", cwd=tmp_path)
    assert done.returncode == 0 and "1,000 records" in done.stderr, done.stderr
    assert pl.read_parquet(tmp_path / "out.parquet").equals(mp.read_marc(mp.SAMPLE))
    done = read_from_standard_input(how, "stats", "-", "-", cwd=tmp_path)
    assert done.returncode == 1 and "standard input" in done.stderr, done.stderr


def test_an_unknown_command_is_no_file_name(tmp_path: Path):
    done = run("frobnicate", cwd=tmp_path)
    assert done.returncode == 2 and "unknown command 'frobnicate'" in done.stderr, done.stderr
    assert "convert, stats, head" in done.stderr
    done = run("--no-progress", "stats", mp.SAMPLE, cwd=tmp_path)
    assert done.returncode == 2 and "marc-polars stats" in done.stderr, done.stderr


@pytest.mark.parametrize("name", ["sample.mrc", "catalogue", "dumps/sample", "sam*"])
def test_a_file_name_is_still_summarised(name: str, tmp_path: Path):
    (tmp_path / "dumps").mkdir()
    shutil.copy(mp.SAMPLE, tmp_path / name.replace("*", "ple"))
    done = run(name, cwd=tmp_path)
    assert done.returncode == 0 and "read 1,000 records" in done.stdout, done.stderr


def test_a_missing_file_is_still_a_missing_file(tmp_path: Path):
    for name in ("missing.mrc", "dumps/missing", "missing*.mrc"):
        done = run(name, cwd=tmp_path)
        assert (
            done.returncode == 1
            and "missing" in done.stderr
            and ("No such file" in done.stderr or "no file matches" in done.stderr)
        ), done.stderr


def test_every_reading_command_takes_on_error(tmp_path: Path):
    bad = str(BAD_LEADER)
    done = run(bad, cwd=tmp_path)
    assert done.returncode == 1 and "RecordLengthInvalid" in done.stderr and bad in done.stderr, done.stderr
    done = run(bad, "--on-error", "skip", cwd=tmp_path)
    assert done.returncode == 0 and "read 6 records" in done.stdout and "2 damaged records skipped" in done.stdout, (
        done.stdout
    )
    done = run(bad, "--on-error", "collect", cwd=tmp_path)
    assert done.returncode == 0 and "read 8 records" in done.stdout and "2 damaged records kept" in done.stdout, (
        done.stdout
    )

    assert run("head", bad, cwd=tmp_path).returncode == 1
    done = run("head", "-n", "10", bad, "--on-error", "skip", cwd=tmp_path)
    assert done.returncode == 0 and done.stdout.count("=LDR  ") == 6, done.stdout
    done = run("head", "-n", "10", bad, "--on-error", "collect", cwd=tmp_path)
    assert done.returncode == 0 and done.stdout.count("=LDR  ") == 8, done.stdout
    assert "bad_record_length" in done.stdout and "truncated" in done.stdout

    done = run("stats", bad, cwd=tmp_path)  # stats collects the damaged records unless told otherwise
    assert done.returncode == 0 and "records: 8 (2 damaged)" in done.stdout, done.stdout
    done = run("stats", bad, "--on-error", "skip", cwd=tmp_path)
    assert done.returncode == 0 and "records: 6 (2 damaged records skipped)" in done.stdout, done.stdout
    assert "bad_record_length" in done.stdout and "truncated" in done.stdout
    done = run("stats", bad, "--on-error", "raise", cwd=tmp_path)
    assert done.returncode == 1 and "RecordLengthInvalid" in done.stderr, done.stderr

    out = str(tmp_path / "out.parquet")
    done = run("convert", bad, "-o", out, "--on-error", "skip", cwd=tmp_path)
    assert done.returncode == 0 and pl.read_parquet(out).height == 6, done.stderr


#: How each compression makes its files, by its `--compression` name.
COMPRESSIONS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": gzip.compress,
    "bz2": bz2.compress,
    "xz": lzma.compress,
    "zstd": zstandard.compress,
}


@pytest.mark.parametrize("compression", list(COMPRESSIONS))
def test_compressed_input_reads_as_the_plain_file_in_every_command(compression: str, tmp_path: Path):
    packed = tmp_path / "sample.mrc.z"
    packed.write_bytes(COMPRESSIONS[compression](Path(mp.SAMPLE).read_bytes()))
    for args in (["stats"], ["head"]):
        plain, unpacked = (run(*args, str(path), cwd=tmp_path) for path in (mp.SAMPLE, packed))
        assert unpacked.returncode == 0 and unpacked.stdout == plain.stdout, (args, unpacked.stderr)
    done = run("convert", str(packed), "-o", str(tmp_path / "out.parquet"), "--compression", compression, cwd=tmp_path)
    assert done.returncode == 0 and pl.read_parquet(tmp_path / "out.parquet").equals(mp.read_marc(mp.SAMPLE))
    with open(packed, "rb") as stdin:
        done = subprocess.run(
            [*console_script(), "head", "-"], stdin=stdin, capture_output=True, text=True, cwd=tmp_path, check=False
        )
    assert done.returncode == 0 and done.stdout == run("head", mp.SAMPLE, cwd=tmp_path).stdout, done.stderr
    # Told to read the bytes as they are, it says what they are.
    done = run("head", str(packed), "--compression", "none", cwd=tmp_path)
    assert done.returncode == 1 and f"it looks like {compression}-compressed data, read as it is" in done.stderr
