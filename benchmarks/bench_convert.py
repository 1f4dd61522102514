"""`marc-polars convert` against marctable 0.5.0 (Ed Summers' MARC to CSV/Parquet converter), MARC
to Parquet on the 250,000-record BooksAll file.

Cases, each a subprocess of the real console script, as a user would type it:

    marc-polars convert FILE -o OUT.parquet                          # lossless (the default preset)
    marc-polars convert FILE -o OUT.parquet --preset bibliographic
    marctable parquet FILE OUT.parquet                               # its default avram schema

The outputs differ in what they keep. Lossless is every record whole (leader; every field with its
indicators and subfield codes); bibliographic is seven columns (control number, title, author,
ISBNs, year, language, subjects). marctable (pymarc, then pyarrow) writes one column per tag of
the 215 in its MARC 21 schema, `F245` and so on, each field flattened to its subfield values
joined by spaces (a list for repeatable tags); it drops the leader, indicators, subfield codes and
tags outside the schema (9XX), and silently skips records pymarc cannot parse.

Each case is timed by wall clock from spawn to exit; its peak RSS is the `ru_maxrss` that
`os.wait4` returns for that child alone. The input is read once before timing, so no case pays for
the first read from disk. Cases are interleaved; the table gives the median time, the largest peak
RSS, the size and row count of the last output (every output must hold one row per record), and
marctable's time over the case's. marctable takes over a minute on the full file, hence its own repeat
count; `--n-records N` benchmarks on the first N records only, to check the ratio quickly.

    pip install marctable==0.5.0
    python benchmarks/bench_convert.py [--repeat 3] [--marctable-repeat 1] [--n-records N] [--file PATH]
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import harness

MARCTABLE_VERSION = "0.5.0"


def script(name: str) -> str:
    """The console script installed with this interpreter, run directly: a pyenv shim on PATH
    would add its own start-up (about 0.1 s) to every case."""
    path = Path(sysconfig.get_path("scripts")) / name
    if not path.exists():
        sys.exit(f"no console script {name!r} in {path.parent}")
    return str(path)


#: A case: (input, output) -> the command line that converts input to Parquet at output.
Command = Callable[[Path, Path], list[str]]
CASES: dict[str, Command] = {
    "marc-polars lossless": lambda src, out: [script("marc-polars"), "convert", str(src), "-o", str(out)],
    "marc-polars bibliographic": lambda src, out: [
        script("marc-polars"),
        "convert",
        str(src),
        "-o",
        str(out),
        "--preset",
        "bibliographic",
    ],
    "marctable": lambda src, out: [script("marctable"), "parquet", str(src), str(out)],
}
BASELINE = "marctable"


@dataclass
class Run:
    seconds: float
    peak_rss: int  # bytes


def require_marctable() -> None:
    try:
        version = importlib.metadata.version("marctable")
    except importlib.metadata.PackageNotFoundError:
        sys.exit(f"marctable is not installed: pip install marctable=={MARCTABLE_VERSION}")
    if version != MARCTABLE_VERSION:
        sys.exit(
            f"marctable {version} is installed, this benchmark pins {MARCTABLE_VERSION}: "
            f"pip install marctable=={MARCTABLE_VERSION}"
        )


def count_records(path: Path, limit: int | None = None) -> tuple[int, int]:
    """(records, bytes) of the first `limit` records (all when None), framed by the record length
    in leader/00-04, without parsing them."""
    size = path.stat().st_size
    records = offset = 0
    with open(path, "rb") as handle:
        while offset < size and (limit is None or records < limit):
            handle.seek(offset)
            length = handle.read(5)
            if not length.isdigit():
                raise ValueError(f"{path}: no record length at byte {offset}: {length!r}")
            offset += int(length)
            records += 1
    return records, min(offset, size)


def run(command: list[str], log: Path) -> Run:
    """Runs `command` to completion; its own peak RSS comes from wait4, not from the shared
    RUSAGE_CHILDREN, which holds the largest of all children so far."""
    with open(log, "wb") as out:
        start = time.perf_counter()
        child = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)  # tell Popen the child is reaped
    if child.returncode != 0:
        sys.exit(f"{' '.join(command)} exited with {child.returncode}:\n{log.read_text(errors='replace')[-3000:]}")
    return Run(seconds, usage.ru_maxrss * 1024)  # ru_maxrss is in KiB on Linux


def parquet_rows(path: Path) -> int:
    import polars as pl

    return int(pl.scan_parquet(path).select(pl.len()).collect().item())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each marc-polars case")
    parser.add_argument("--marctable-repeat", type=int, default=1, help="runs of marctable (over a minute each)")
    parser.add_argument("--n-records", type=int, help="convert only the first N records")
    parser.add_argument("--file", type=Path, help="MARC file (default: BooksAll, fetched and cached)")
    args = parser.parse_args()
    require_marctable()
    if args.file is None:
        from benchmarks.fetch_data import booksall

        args.file = booksall()

    repeats = {name: args.marctable_repeat if name == BASELINE else args.repeat for name in CASES}
    runs: dict[str, list[Run]] = {name: [] for name in CASES}
    with tempfile.TemporaryDirectory(prefix="bench_convert_") as folder:
        tmp = Path(folder)
        source = args.file
        records, size = count_records(source, args.n_records)
        if args.n_records is not None:
            source = tmp / f"first_{records}.mrc"
            with open(args.file, "rb") as whole:
                source.write_bytes(whole.read(size))
        source.read_bytes()  # into the page cache before any timing
        outputs = {name: tmp / f"{name.replace(' ', '_')}.parquet" for name in CASES}
        for rep in range(max(repeats.values())):
            for name, command in CASES.items():
                if rep < repeats[name]:
                    outputs[name].unlink(missing_ok=True)
                    runs[name].append(run(command(source, outputs[name]), tmp / "log.txt"))
                    print(f"# rep {rep + 1}/{repeats[name]} {name}: {runs[name][-1].seconds:.3f} s", file=sys.stderr)
        output_mb = {name: path.stat().st_size / 1e6 for name, path in outputs.items()}
        rows = {name: parquet_rows(path) for name, path in outputs.items()}

    median = {name: statistics.median(r.seconds for r in runs[name]) for name in CASES}
    which = "first " if args.n_records is not None else ""
    print(
        f"File: {args.file.name}, {which}{records:,} records, {size / 1e6:.1f} MB. "
        f"Median of {args.repeat} runs (marctable: {args.marctable_repeat}).\n"
    )
    print(f"Machine: {harness.machine()}, marctable {MARCTABLE_VERSION}\n")
    print(f"| case | seconds | MB/s | records/s | peak RSS (MB) | output (MB) | rows | x {BASELINE} |")
    print("|---|---|---|---|---|---|---|---|")
    for name, seconds in median.items():
        rss = max(r.peak_rss for r in runs[name])
        print(
            f"| {name} | {seconds:.3f} | {size / 1e6 / seconds:,.1f} | {records / seconds:,.0f} | {rss / 1e6:,.0f} "
            f"| {output_mb[name]:,.1f} | {rows[name]:,} | {median[BASELINE] / seconds:.2f}x |"
        )
    wrong = [f"{name}: {n:,} rows" for name, n in rows.items() if n != records]
    if wrong:
        sys.exit(f"\nExpected {records:,} rows in every output; " + "; ".join(wrong))


if __name__ == "__main__":
    main()
