"""read_marc against pymarc on the 250,000-record BooksAll file.

Each measurement runs in a fresh subprocess, so that its peak RSS is its own; the cases are
interleaved, repeated, and the median is reported. Prints a Markdown table for BENCHMARKS.md.

    python benchmarks/bench_read.py [--repeat 3] [--file PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parent.parent))


def pymarc_frame(path: str):
    """What a pymarc user writes to get the same information into a DataFrame."""
    import polars as pl
    import pymarc

    rows = []
    with open(path, "rb") as handle:
        for record in pymarc.MARCReader(handle, to_unicode=True, force_utf8=True):
            fields = []
            for f in record.fields:
                if f.is_control_field():
                    fields.append({"tag": f.tag, "ind1": None, "ind2": None, "data": f.data, "subfields": None})
                else:
                    subfields = [{"code": s.code, "value": s.value} for s in f.subfields]
                    fields.append({"tag": f.tag, "ind1": f.indicator1, "ind2": f.indicator2, "data": None,
                                   "subfields": subfields})
            rows.append({"leader": str(record.leader), "fields": fields})
    subfield = pl.Struct({"code": pl.String, "value": pl.String})
    field = pl.Struct({"tag": pl.String, "ind1": pl.String, "ind2": pl.String, "data": pl.String,
                       "subfields": pl.List(subfield)})
    return pl.DataFrame(rows, schema={"leader": pl.String, "fields": pl.List(field)})


def run_case(case: str, path: str) -> dict:
    """Runs one case in this process and returns its figures."""
    if case.startswith("read_marc"):
        import marc_polars as mp

        start = time.perf_counter()
        records = mp.read_marc(path).height
    elif case == "pymarc_dataframe":
        start = time.perf_counter()
        records = pymarc_frame(path).height
    elif case == "pymarc_iterate":
        import pymarc

        start = time.perf_counter()
        with open(path, "rb") as handle:
            records = sum(1 for _ in pymarc.MARCReader(handle, to_unicode=True, force_utf8=True))
    else:
        raise ValueError(case)
    seconds = time.perf_counter() - start
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"seconds": seconds, "records": records, "peak_rss": peak_kib * 1024}


CASES = {
    "read_marc": {},
    "read_marc_1_thread": {"MARC_POLARS_MAX_THREADS": "1"},
    "pymarc_iterate": {},
    "pymarc_dataframe": {},
}


def measure(case: str, path: str) -> dict:
    env = {**os.environ, **CASES[case]}
    out = subprocess.run([sys.executable, __file__, "--case", case, "--file", path], env=env,
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def versions() -> str:
    import polars
    import pymarc

    import marc_polars

    cpu = "unknown CPU"
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    rustc = subprocess.run(["rustc", "--version"], capture_output=True, text=True).stdout.strip() or "rustc ?"
    return (f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}; Python {platform.python_version()}, "
            f"polars {polars.__version__}, pymarc {pymarc.__version__ if hasattr(pymarc, '__version__') else '5.4.0'}, "
            f"marc_polars {marc_polars.__version__}, {rustc}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--file", help="MARC file (default: BooksAll, fetched and cached)")
    parser.add_argument("--case", choices=sorted(CASES), help=argparse.SUPPRESS)
    parser.add_argument("--cases", default=",".join(CASES), help="comma-separated subset of cases")
    args = parser.parse_args()
    if args.file is None:
        from benchmarks.fetch_data import booksall

        args.file = str(booksall())
    if args.case:
        print(json.dumps(run_case(args.case, args.file)))
        return

    cases = args.cases.split(",")
    size = os.path.getsize(args.file)
    runs: dict[str, list[dict]] = {case: [] for case in cases}
    for rep in range(args.repeat):
        for case in cases:
            runs[case].append(measure(case, args.file))
            print(f"# rep {rep + 1}/{args.repeat} {case}: {runs[case][-1]['seconds']:.3f} s", file=sys.stderr)

    median = {case: statistics.median(r["seconds"] for r in runs[case]) for case in cases}
    records = runs[cases[0]][0]["records"]
    print(f"File: {Path(args.file).name}, {records:,} records, {size / 1e6:.1f} MB. Median of {args.repeat} runs.\n")
    print(f"Machine: {versions()}\n")
    print("| case | seconds | records/s | MB/s | x pymarc→DataFrame | x pymarc iterate | peak RSS (MB) | RSS / file |")
    print("|---|---|---|---|---|---|---|---|")
    for case in cases:
        seconds = median[case]
        rss = max(r["peak_rss"] for r in runs[case])
        ratio = lambda base: f"{median[base] / seconds:.1f}x" if base in median else "-"  # noqa: E731
        print(f"| {case} | {seconds:.3f} | {records / seconds:,.0f} | {size / 1e6 / seconds:,.1f} | "
              f"{ratio('pymarc_dataframe')} | {ratio('pymarc_iterate')} | {rss / 1e6:,.0f} | {rss / size:.2f} |")
    if "read_marc" in median and "read_marc_1_thread" in median:
        print(f"\nAll threads vs 1 thread: {median['read_marc_1_thread'] / median['read_marc']:.2f}x")


if __name__ == "__main__":
    main()
