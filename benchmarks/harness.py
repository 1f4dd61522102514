"""Runs benchmark cases, each in a fresh subprocess so that its peak RSS is its own; the cases
are interleaved and repeated, and the median time is reported with the largest peak RSS."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sized
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parent.parent))

#: What a case returns: the number of records it read, or what it read (a DataFrame of that
#: many rows), which is freed once the case is timed: freeing a result is not part of making it.
Result = int | Sized

#: A case: (environment overrides, function(path) -> Result).
Case = tuple[dict[str, str], Callable[[str], Result]]


def run_one(func: Callable[[str], Result], path: str, warm: bool) -> dict:
    """Times `func` once in this fresh process (`seconds`: every page of the result is new to
    the process), and once more when `warm` (`warm_seconds`: memory freed by the first run is
    reused, as in a notebook that reads again). Modules are imported before timing."""
    import polars  # noqa: F401
    import pymarc  # noqa: F401

    import marc_polars  # noqa: F401

    start = time.perf_counter()
    read = func(path)
    seconds = time.perf_counter() - start
    records = read if isinstance(read, int) else len(read)
    del read
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result = {"seconds": seconds, "records": records, "peak_rss": peak_kib * 1024}
    if warm:
        start = time.perf_counter()
        read = func(path)
        result["warm_seconds"] = time.perf_counter() - start
        del read  # freed once timed, as above
    return result


def machine() -> str:
    import polars

    import marc_polars

    cpu = "unknown CPU"
    with contextlib.suppress(OSError, StopIteration), open("/proc/cpuinfo") as cpuinfo:
        cpu = next(line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name"))
    rustc = (
        subprocess.run(["rustc", "--version"], capture_output=True, text=True, check=False).stdout.strip() or "rustc ?"
    )
    return (
        f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}; "
        f"Python {platform.python_version()}, polars {polars.__version__}, pymarc 5.4.0, "
        f"marc_polars {marc_polars.__version__}, {rustc}"
    )


#: The suffix of a case run by the `--baseline` Python.
BASELINE = "@baseline"


def main(
    script: str,
    cases: dict[str, Case],
    baselines: list[str],
    doc: str,
    default_file: Callable[[], str] | None = None,
) -> dict[str, dict[str, float]]:
    """Parses the command line; in a child, runs one case; else runs them all and prints a table.
    Returns the median seconds of each case, of first runs and of warm runs (empty in a child).
    `default_file` makes the file read when `--file` is not given (BooksAll otherwise)."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--file", help="MARC file (default: BooksAll, fetched and cached)")
    parser.add_argument("--case", choices=sorted(cases), help=argparse.SUPPRESS)
    parser.add_argument("--cases", default=",".join(cases), help="comma-separated subset of cases")
    parser.add_argument("--warm", action="store_true", help="also time a second run in the same process")
    parser.add_argument(
        "--baseline",
        metavar="PYTHON",
        help=f"also run each case with this Python, where another version of marc_polars is installed "
        f"(say, the last release): those cases are named <case>{BASELINE}",
    )
    args = parser.parse_args()
    if args.file is None:
        if default_file is not None:
            args.file = default_file()
        else:
            from benchmarks.fetch_data import booksall

            args.file = str(booksall())
    if args.case:
        print(json.dumps(run_one(cases[args.case][1], args.file, args.warm)))
        return {"first": {}, "warm": {}}

    chosen = args.cases.split(",")
    names = chosen + ([name + BASELINE for name in chosen] if args.baseline else [])
    size = os.path.getsize(args.file)
    runs: dict[str, list[dict]] = {name: [] for name in names}
    for rep in range(args.repeat):
        for name in names:
            case = name.removesuffix(BASELINE)
            python = args.baseline if name.endswith(BASELINE) else sys.executable
            env = {**os.environ, **cases[case][0]}
            command = [python, script, "--case", case, "--file", args.file] + ["--warm"] * args.warm
            out = subprocess.run(command, env=env, check=True, capture_output=True, text=True).stdout
            runs[name].append(json.loads(out))
            print(f"# rep {rep + 1}/{args.repeat} {name}: {runs[name][-1]['seconds']:.3f} s", file=sys.stderr)

    median = {name: statistics.median(r["seconds"] for r in runs[name]) for name in names}
    warm = {name: statistics.median(r["warm_seconds"] for r in runs[name]) for name in names} if args.warm else {}
    records = runs[names[0]][0]["records"]
    print(f"File: {Path(args.file).name}, {records:,} records, {size / 1e6:.1f} MB. Median of {args.repeat} runs.\n")
    print(f"Machine: {machine()}\n")
    if args.baseline:
        where = subprocess.run(
            [args.baseline, "-c", "import marc_polars, os; print(os.path.dirname(marc_polars.__file__))"],
            capture_output=True,
            text=True,
            cwd="/",
            check=False,
        ).stdout.strip()
        print(f"Cases named <case>{BASELINE} ran with {args.baseline}, marc_polars from {where}.\n")
    present = [b for b in baselines if b in median]
    print(
        "| case | seconds | records/s | MB/s |"
        + "".join(f" x {b} |" for b in present)
        + " peak RSS (MB) | RSS / file |"
        + (" warm seconds | warm MB/s |" if warm else "")
    )
    print("|---|---|---|---|" + "---|" * len(present) + "---|---|" + ("---|---|" if warm else ""))
    for name in names:
        seconds = median[name]
        rss = max(r["peak_rss"] for r in runs[name])
        ratios = "".join(f" {median[b] / seconds:.2f}x |" for b in present)
        again = f" {warm[name]:.3f} | {size / 1e6 / warm[name]:,.1f} |" if warm else ""
        print(
            f"| {name} | {seconds:.3f} | {records / seconds:,.0f} | {size / 1e6 / seconds:,.1f} |{ratios} "
            f"{rss / 1e6:,.0f} | {rss / size:.2f} |{again}"
        )
    if args.baseline:
        for name in chosen:
            ours, theirs = median[name], median[name + BASELINE]
            print(f"- {name}: {ours:.3f} s, {theirs:.3f} s with the baseline: {ours / theirs - 1:+.1%} time")
    return {"first": median, "warm": warm}  # type: ignore[dict-item]
