"""`marc-polars` / `python -m marc_polars`: read MARC files; convert, summarise or show them.

    marc-polars [FILE ...]                      summarise (default: the bundled sample)
    marc-polars convert FILE ... -o OUT         to Parquet, Arrow IPC, NDJSON or CSV, streaming
    marc-polars stats FILE ...                  records, encodings, record types, tags, errors
    marc-polars head [-n N] FILE ...            the first records, one field a line

Reading commands show a progress line on standard error when it is a terminal (--progress,
--no-progress).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence

import polars as pl

from marc_polars._read import BIBLIOGRAPHIC, SAMPLE, _expand, read_marc, scan_marc
from marc_polars._report import ReadReport
from marc_polars.exceptions import MarcError

#: Output formats by name, and the file extensions that imply them.
FORMATS = {"parquet": (".parquet",), "ipc": (".arrow", ".ipc", ".feather"), "ndjson": (".ndjson", ".jsonl"), "csv": (".csv",)}

#: Records per Parquet row group (IPC record batch) when `fields` is written (see `convert`).
LOSSLESS_ROW_GROUP = 2_000


def tag_frequencies(df: pl.DataFrame, top: int = 10) -> pl.DataFrame:
    """The `top` most frequent tags: how many fields carry each, and in how many records."""
    return (
        df.select(pl.int_range(pl.len()).alias("record"), pl.col("fields"))
        .explode("fields")
        .select("record", pl.col("fields").struct.field("tag"))
        .group_by("tag")
        .agg(fields=pl.len(), records=pl.col("record").n_unique())
        .sort(["fields", "tag"], descending=[True, False])
        .head(top)
    )


def summarise(patterns: Sequence[str], progress: bool) -> str:
    paths = _expand(list(patterns), glob=True)
    size = sum(os.path.getsize(p) for p in paths if isinstance(p, str))
    start = time.perf_counter()
    df = read_marc(paths, progress=progress)  # type: ignore[arg-type]
    seconds = time.perf_counter() - start
    lines = [
        f"read {df.height:,} records ({size / 1e6:.1f} MB) from {len(paths)} file(s) in {seconds:.3f} s: "
        f"{df.height / seconds:,.0f} records/s, {size / 1e6 / seconds:,.1f} MB/s",
        "",
        "most frequent tags:",
        str(tag_frequencies(df)),
        "",
        "first rows:",
        str(df.head(5)),
    ]
    return "\n".join(lines)


def output_format(path: str, given: str | None) -> str:
    if given is not None:
        return given
    for name, extensions in FORMATS.items():
        if path.lower().endswith(extensions):
            return name
    raise ValueError(f"cannot tell the format of {path!r} from its extension: give --format")


def flat_for_csv(lf: pl.LazyFrame) -> pl.LazyFrame:
    """CSV holds no lists or bytes: lists of strings are joined with ' | ', bytes written as hex."""
    schema = lf.collect_schema()
    if "fields" in schema:
        raise ValueError("CSV cannot hold the nested fields column: choose --columns or --preset")
    return lf.with_columns(
        *(pl.col(n).list.join(" | ") for n, t in schema.items() if isinstance(t, pl.List)),
        *(pl.col(n).bin.encode("hex") for n, t in schema.items() if t == pl.Binary),
    )


def convert(args: argparse.Namespace) -> int:
    columns: dict[str, str] | list[str] | None = BIBLIOGRAPHIC if args.preset == "bibliographic" else None
    if args.columns:
        columns = dict(spec.split("=", 1) if "=" in spec else (spec, spec) for spec in args.columns)
    fmt = output_format(args.output, args.format)
    report = ReadReport()
    lf = scan_marc(
        args.files,
        columns=columns,
        on_error=args.on_error,
        report=report,
        include_file_paths=args.include_file_paths,
        progress=args.progress,
    )
    if fmt == "csv":
        lf = flat_for_csv(lf)
    # Parquet's and IPC's writers hold a row group (record batch) whole until it is written:
    # lossless rows are large (a few KB decoded), and 2,000 of them keep peak memory near 250 MB
    # on BooksAll, where Polars' default (some 80,000) takes 1.2 GB. Readable columns are small.
    rows = LOSSLESS_ROW_GROUP if "fields" in lf.collect_schema() else None
    start = time.perf_counter()
    if fmt == "parquet":
        lf.sink_parquet(args.output, row_group_size=rows, engine="streaming")
    elif fmt == "ipc":
        lf.sink_ipc(args.output, record_batch_size=rows, engine="streaming")
    elif fmt == "ndjson":
        lf.sink_ndjson(args.output, engine="streaming")
    else:
        lf.sink_csv(args.output, engine="streaming")
    seconds = time.perf_counter() - start
    size = sum(os.path.getsize(p) for p in _expand(args.files, glob=True) if isinstance(p, str))
    print(
        f"{report.rows:,} records to {args.output} ({fmt}) in {seconds:.2f} s, {size / 1e6 / max(seconds, 1e-9):,.1f} MB/s"
        + (f"; {len(report.skipped):,} damaged records skipped" if report.skipped else "")
        + (f"; {report.collected:,} damaged records kept" if report.collected else ""),
        file=sys.stderr,
    )
    return 0


def stats(args: argparse.Namespace) -> int:
    report = ReadReport()
    df = read_marc(args.files, on_error="collect", include_encoding="encoding", report=report, progress=args.progress)
    sound = df.filter(pl.col("error").is_null())
    print(f"records: {df.height:,} ({report.collected:,} damaged), padding between records: {sum(j[2] for j in report.junk):,} bytes")
    print("\nencodings:")
    print(df.group_by("encoding").len("records").sort("records", descending=True))
    print("\nrecord types (leader/06):")
    print(sound.group_by(pl.col("leader").str.slice(6, 1).alias("type")).len("records").sort("records", descending=True))
    print("\nmost frequent tags:")
    print(tag_frequencies(sound, args.top))
    if report.collected:
        print("\nerrors:")
        print(df.filter(pl.col("error").is_not_null()).group_by(pl.col("error").str.extract(r"^(\w+):").alias("error")).len("records"))
    return 0


def format_record(leader: str, fields: list[dict]) -> str:
    """A record the way pymarc prints one: `=LDR  ...`, then `=TAG  ind1ind2$avalue...`, blanks
    in control fields and indicators shown as backslashes."""
    lines = [f"=LDR  {leader}"]
    for field in fields:
        if field["data"] is not None:
            lines.append(f"={field['tag']}  {field['data'].replace(' ', chr(92))}")
        else:
            indicators = "".join(i if i != " " else "\\" for i in (field["ind1"], field["ind2"]))
            subfields = "".join(f"${s['code']}{s['value']}" for s in field["subfields"])
            lines.append(f"={field['tag']}  {indicators}{subfields}")
    return "\n".join(lines)


def head(args: argparse.Namespace) -> int:
    df = read_marc(args.files, n_rows=args.n)
    print("\n\n".join(format_record(leader, fields) for leader, fields in df.iter_rows()))
    return 0


def add_progress(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=sys.stderr.isatty(),
        help="show a progress line on standard error (default: when it is a terminal)",
    )


def parser_for_commands() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="marc-polars", description="Read MARC 21 files (ISO 2709) with Polars.")
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("convert", help="convert MARC files to Parquet, Arrow IPC, NDJSON or CSV, streaming")
    add_progress(p)
    p.add_argument("files", nargs="+", help="MARC files or glob patterns")
    p.add_argument("-o", "--output", required=True, help="the file to write")
    p.add_argument("--format", choices=list(FORMATS), help="default: from the output's extension")
    p.add_argument("--columns", nargs="+", metavar="[NAME=]SPEC", help="columns to write: leader, fields or MARCspecs")
    p.add_argument("--preset", choices=["lossless", "bibliographic"], default="lossless", help="default: lossless")
    p.add_argument("--on-error", choices=["raise", "skip", "collect"], default="raise", help="default: raise")
    p.add_argument("--include-file-paths", metavar="NAME", help="add a column of this name holding each record's file")
    p.set_defaults(run=convert)
    p = commands.add_parser("stats", help="records, encodings, record types, tag frequencies and errors")
    p.add_argument("files", nargs="+")
    p.add_argument("--top", type=int, default=20, help="tags to list (default 20)")
    add_progress(p)
    p.set_defaults(run=stats)
    p = commands.add_parser("head", help="the first records, one field a line")
    p.add_argument("files", nargs="+")
    p.add_argument("-n", type=int, default=5, help="records to show (default 5)")
    p.set_defaults(run=head)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv and argv[0] in ("convert", "stats", "head"):
            args = parser_for_commands().parse_args(argv)
            return int(args.run(args))
        parser = argparse.ArgumentParser(
            prog="marc-polars",
            description="Read MARC 21 files (ISO 2709) into a Polars DataFrame and summarise them. "
            "Commands: convert, stats, head (marc-polars COMMAND --help).",
        )
        parser.add_argument("files", nargs="*", help=f"MARC files (default: the bundled sample, {SAMPLE})")
        add_progress(parser)
        args = parser.parse_args(argv)
        print(summarise(args.files or [SAMPLE], args.progress))
    except MarcError as error:
        print(f"marc-polars: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    except (OSError, ValueError, pl.exceptions.PolarsError) as error:
        print(f"marc-polars: {error}", file=sys.stderr)
        return 1
    return 0
