"""`marc-polars` / `python -m marc_polars`: read MARC files; convert, summarise or show them.

    marc-polars [FILE ...]                      summarise (default: the bundled sample)
    marc-polars convert FILE ... -o OUT         to Parquet, Arrow IPC, NDJSON or CSV, streaming
    marc-polars stats FILE ...                  records, encodings, record types, tags, errors
    marc-polars head [-n N] FILE ...            the first records, one field a line

A FILE is a path, a glob pattern, or `-` for standard input. Every command takes --on-error
(raise, skip, collect or repair); the summary, `convert` and `stats` show a progress line on
standard error when it is a terminal (--progress, --no-progress).
"""

from __future__ import annotations

import argparse
import glob as globbing
import os
import shutil
import stat
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TypedDict, get_args

import polars as pl

from marc_polars import __version__
from marc_polars._read import BIBLIOGRAPHIC, SAMPLE, Compression, Format, OnError, iter_batches, read_marc, scan_marc
from marc_polars._report import ReadReport
from marc_polars._sources import NativeSource, expand, is_url
from marc_polars._write import COMPRESSED, WriteFormat, output_of, write_frames
from marc_polars.exceptions import MarcError

#: The commands: what each takes, and what it does. Any other first word is a file to summarise.
COMMANDS = {
    "convert": (
        "FILE ... -o OUT",
        "convert MARC files to Parquet, Arrow IPC, NDJSON, CSV, or MARC records (ISO 2709, MARCXML, MARC-in-JSON), "
        "streaming",
    ),
    "stats": ("FILE ...", "records, encodings, record types, tag frequencies and errors"),
    "head": ("[-n N] FILE ...", "the first records, one field a line"),
}

#: What `--on-error` takes: `read_marc`'s `on_error` modes.
ON_ERROR = get_args(OnError)
#: The codecs' names, and "infer".
COMPRESSION = get_args(get_args(Compression)[0])

#: The file name that stands for standard input.
STDIN = "-"

#: Output formats by name, and the file extensions that imply them.
FORMATS = {
    "parquet": (".parquet",),
    "ipc": (".arrow", ".ipc", ".feather"),
    "ndjson": (".ndjson", ".jsonl"),
    "csv": (".csv",),
    "marc": (".mrc", ".marc"),
    "marcxml": (".xml",),
    "marcjson": (".json",),
}

#: The output formats that are records (written by `write_marc`, compressed by a further extension
#: such as `.gz`), and the form of each.
RECORDS: dict[str, WriteFormat] = {"marc": "iso2709", "marcxml": "marcxml", "marcjson": "json"}

#: Records per Parquet row group (IPC record batch) when `fields` is written (see `convert`).
LOSSLESS_ROW_GROUP = 2_000


def sources(files: Sequence[str], storage_options: dict[str, str] | None = None) -> list[NativeSource]:
    """What to read for the FILE arguments: paths, glob patterns expanded, and standard input for
    `-`."""
    if list(files).count(STDIN) > 1:
        raise ValueError("standard input (-) can be read only once")
    return expand([sys.stdin.buffer if name == STDIN else name for name in files], True, storage_options)


def input_size(sources: Sequence[NativeSource]) -> int | None:
    """Bytes to read, when known: files, and standard input redirected from a file (from where it
    stands); `None` for a pipe. Taken before the read, which leaves standard input at its end."""
    size = 0
    for source in sources:
        if is_url(source):  # its size would take a request; the progress line does without
            return None
        if isinstance(source, str):
            size += os.path.getsize(source)
            continue
        if isinstance(source, (bytes, bytearray)):  # not from the command line: no file to measure
            return None
        try:
            status = os.fstat(source.fileno())
            if not stat.S_ISREG(status.st_mode):
                return None
            size += status.st_size - source.tell()
        except (AttributeError, OSError, ValueError):
            return None
    return size


def throughput(records: int, size: int | None, seconds: float) -> str:
    """`1,000 records/s, 253.1 MB/s`: the MB/s when the size of the input is known."""
    seconds = max(seconds, 1e-9)
    return f"{records / seconds:,.0f} records/s" + (f", {size / 1e6 / seconds:,.1f} MB/s" if size is not None else "")


def damaged(report: ReadReport) -> str:
    """`; 2 damaged records skipped` or `kept`, or nothing for a read without damage."""
    return (f"; {len(report.skipped):,} damaged records skipped" if report.skipped else "") + (
        f"; {report.collected:,} damaged records kept" if report.collected else ""
    )


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


class Input(TypedDict):
    """How input files are read, whatever the command: `read_marc`'s options of those names."""

    compression: Compression
    format: Format
    storage_options: dict[str, str] | None


DEFAULT_INPUT = Input(compression="infer", format="auto", storage_options=None)


def input_options(args: argparse.Namespace) -> Input:
    options = dict(option.split("=", 1) for option in args.storage_option) if args.storage_option else None
    return Input(compression=args.compression, format=args.input_format, storage_options=options)


def summarise(files: Sequence[str], progress: bool, on_error: OnError = "raise", given: Input = DEFAULT_INPUT) -> str:
    paths = sources(files, given["storage_options"])
    size = input_size(paths)
    report = ReadReport()
    start = time.perf_counter()
    df = read_marc(paths, glob=False, on_error=on_error, report=report, progress=progress, **given)
    seconds = time.perf_counter() - start
    volume = f" ({size / 1e6:.1f} MB)" if size is not None else ""
    lines = [
        f"read {df.height:,} records{volume} from {len(paths)} file(s) in {seconds:.3f} s: "
        f"{throughput(df.height, size, seconds)}{damaged(report)}",
        "",
        "most frequent tags:",
        str(tag_frequencies(df)),
        "",
        "first rows:",
        str(df.head(5)),
    ]
    return "\n".join(lines)


def summary(args: argparse.Namespace) -> int:
    print(summarise(args.files or [SAMPLE], args.progress, args.on_error, input_options(args)))
    return 0


@contextmanager
def replacing(path: str) -> Iterator[str]:
    """A temporary file beside `path` to write, which replaces `path` once written whole: a failed
    or interrupted conversion leaves `path` as it was (the file it reads, say)."""
    path = os.path.realpath(path)  # a symbolic link is followed: the file it points to is replaced
    folder, name = os.path.split(path)
    descriptor, partial = tempfile.mkstemp(prefix=f".{name}.", suffix=".partial", dir=folder)
    os.close(descriptor)
    try:
        if os.path.exists(path):
            shutil.copymode(path, partial)
        yield partial
        os.replace(partial, path)
    finally:
        if os.path.exists(partial):
            os.unlink(partial)


def output_format(path: str, given: str | None) -> str:
    if given is not None:
        return given
    name = path.lower()
    root, last = os.path.splitext(name)
    if last in COMPRESSED and root.endswith(tuple(e for n in RECORDS for e in FORMATS[n])):
        name = root
    for fmt, extensions in FORMATS.items():
        if name.endswith(extensions):
            return fmt
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
    files = sources(args.files, input_options(args)["storage_options"])
    size = input_size(files)
    report = ReadReport()
    start = time.perf_counter()
    if fmt in RECORDS:
        if columns is not None or args.include_file_paths or args.include_byte_offsets:
            raise ValueError(
                f"{fmt} is written from the lossless columns: leave out --columns, --preset, --include-file-paths"
                " and --include-byte-offsets"
            )
        batches = iter_batches(
            files, glob=False, on_error=args.on_error, report=report, progress=args.progress, **input_options(args)
        )
        with batches, replacing(args.output) as partial:
            write_frames(batches, partial, RECORDS[fmt], output_of(args.output, RECORDS[fmt])[1], check=False)
        return converted(args.output, fmt, report, size, start)
    lf = scan_marc(
        files,
        glob=False,
        columns=columns,
        on_error=args.on_error,
        report=report,
        include_file_paths=args.include_file_paths,
        include_byte_offsets=args.include_byte_offsets,
        progress=args.progress,
        **input_options(args),
    )
    if fmt == "csv":
        lf = flat_for_csv(lf)
    # Parquet's and IPC's writers hold a row group (record batch) whole until it is written:
    # lossless rows are large (a few KB decoded), and 2,000 of them keep peak memory near 250 MB
    # on BooksAll, where Polars' default (some 80,000) takes 1.2 GB. Readable columns are small.
    rows = LOSSLESS_ROW_GROUP if "fields" in lf.collect_schema() else None
    with replacing(args.output) as partial:
        if fmt == "parquet":
            lf.sink_parquet(partial, row_group_size=rows, engine="streaming")
        elif fmt == "ipc":
            lf.sink_ipc(partial, record_batch_size=rows, engine="streaming")
        elif fmt == "ndjson":
            lf.sink_ndjson(partial, engine="streaming")
        else:
            lf.sink_csv(partial, engine="streaming")
    return converted(args.output, fmt, report, size, start)


def converted(output: str, fmt: str, report: ReadReport, size: int | None, start: float) -> int:
    """Says what `convert` wrote, and how fast."""
    seconds = time.perf_counter() - start
    rate = f", {size / 1e6 / max(seconds, 1e-9):,.1f} MB/s" if size is not None else ""
    print(f"{report.rows:,} records to {output} ({fmt}) in {seconds:.2f} s{rate}{damaged(report)}", file=sys.stderr)
    return 0


def stats(args: argparse.Namespace) -> int:
    report = ReadReport()
    df = read_marc(
        sources(args.files, input_options(args)["storage_options"]),
        glob=False,
        on_error=args.on_error,
        include_encoding="encoding",
        report=report,
        progress=args.progress,
        **input_options(args),
    )
    sound = df.filter(pl.col("error").is_null()) if "error" in df.columns else df
    print(f"{record_counts(df.height, report)}, padding between records: {report.junk_bytes:,} bytes")
    print("\nencodings:")
    print(df.group_by("encoding").len("records").sort("records", descending=True))
    print("\nrecord types (leader/06):")
    print(
        sound.group_by(pl.col("leader").str.slice(6, 1).alias("type")).len("records").sort("records", descending=True)
    )
    print("\nmost frequent tags:")
    print(tag_frequencies(sound, args.top))
    errors = error_kinds(df, report)
    if errors is not None:
        print("\nerrors:")
        print(errors)
    return 0


def record_counts(rows: int, report: ReadReport) -> str:
    if report.skipped:
        return f"records: {rows:,} ({len(report.skipped):,} damaged records skipped)"
    return f"records: {rows:,} ({report.collected:,} damaged)"


def error_kinds(df: pl.DataFrame, report: ReadReport) -> pl.DataFrame | None:
    """Damaged records by kind of damage (its code), skipped or kept; `None` if none."""
    kinds = [error.code for error in report.skipped]
    if "error" in df.columns:
        kinds += df["error"].drop_nulls().str.extract(r"^(\w+):").to_list()
    if not kinds:
        return None
    counts = pl.DataFrame({"error": kinds}, schema={"error": pl.String}).group_by("error").len("records")
    return counts.sort(["records", "error"], descending=[True, False])


class SubfieldRow(TypedDict):
    """A subfield of the lossless `fields` column, as Polars gives rows."""

    code: str
    value: str


class ControlFieldRow(TypedDict):
    """A control field of the lossless `fields` column, as Polars gives rows: `data`, no indicators."""

    tag: str
    ind1: None
    ind2: None
    data: str
    subfields: None


class DataFieldRow(TypedDict):
    """A data field of the lossless `fields` column, as Polars gives rows: indicators and subfields."""

    tag: str
    ind1: str
    ind2: str
    data: None
    subfields: list[SubfieldRow]


def format_record(leader: str, fields: list[ControlFieldRow | DataFieldRow] | None, error: str | None = None) -> str:
    """A record the way pymarc prints one: `=LDR  ...`, then `=TAG  ind1ind2$avalue...`, blanks
    in control fields and indicators shown as backslashes. A damaged record kept by
    `--on-error collect` is what could be read of it, after a `# damaged: ...` line saying why."""
    lines = [f"# damaged: {error}"] if error is not None else []
    lines.append(f"=LDR  {leader}")
    for field in fields or []:
        if field["data"] is not None:
            lines.append(f"={field['tag']}  {field['data'].replace(' ', chr(92))}")
        else:
            indicators = "".join(i if i != " " else "\\" for i in (field["ind1"], field["ind2"]))
            subfields = "".join(f"${s['code']}{s['value']}" for s in field["subfields"])
            lines.append(f"={field['tag']}  {indicators}{subfields}")
    return "\n".join(lines)


def head(args: argparse.Namespace) -> int:
    df = read_marc(
        sources(args.files, input_options(args)["storage_options"]),
        glob=False,
        n_rows=args.n,
        on_error=args.on_error,
        **input_options(args),
    )
    error = pl.col("error") if "error" in df.columns else pl.lit(None, pl.String)
    records = df.select("leader", "fields", error).iter_rows()
    print("\n\n".join(format_record(leader, fields, error) for leader, fields, error in records))
    return 0


def add_progress(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=sys.stderr.isatty(),
        help="show a progress line on standard error (default: when it is a terminal)",
    )


def add_on_error(parser: argparse.ArgumentParser, default: str = "raise") -> None:
    parser.add_argument(
        "--on-error",
        choices=ON_ERROR,
        default=default,
        help=f"what to do with a damaged record, as read_marc's on_error (default: {default})",
    )


def add_input(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--compression",
        choices=[*COMPRESSION, None],
        default="infer",
        type=lambda name: None if name.lower() == "none" else name.lower(),
        metavar="{" + ",".join([*COMPRESSION, "none"]) + "}",
        help="infer (the default: by the first bytes, whatever the name), none, or the codec of every file",
    )
    parser.add_argument(
        "--input-format",
        choices=get_args(Format),
        default="auto",
        help="auto (the default: by the first bytes), or the form of every file's records",
    )
    parser.add_argument(
        "--storage-option",
        action="append",
        metavar="KEY=VALUE",
        type=lambda option: option if "=" in option else parser.error(f"--storage-option {option}: KEY=VALUE"),
        help="a setting of the object store URLs are read from (aws_endpoint_url=..., allow_http=true), repeatable",
    )


def add_files(parser: argparse.ArgumentParser, nargs: str = "+", default: str = "") -> None:
    parser.add_argument(
        "files", nargs=nargs, metavar="FILE", help=f"MARC files, glob patterns, or - for standard input{default}"
    )


def add_command(commands: argparse._SubParsersAction[argparse.ArgumentParser], name: str) -> argparse.ArgumentParser:
    usage, does = COMMANDS[name]
    return commands.add_parser(name, help=does, description=f"marc-polars {name} {usage}: {does}.")


def parser_for_commands() -> argparse.ArgumentParser:
    description = "Read MARC 21 files (ISO 2709, MARCXML or MARC-in-JSON) with Polars."
    parser = argparse.ArgumentParser(prog="marc-polars", description=description)
    commands = parser.add_subparsers(dest="command", required=True)
    p = add_command(commands, "convert")
    add_progress(p)
    add_files(p)
    p.add_argument("-o", "--output", required=True, help="the file to write")
    p.add_argument(
        "--format",
        choices=list(FORMATS),
        help="default: from the output's extension (marc: .mrc .marc, marcxml: .xml, marcjson: .json; "
        "a further .gz, .zst, .bz2 or .xz compresses them)",
    )
    p.add_argument("--columns", nargs="+", metavar="[NAME=]SPEC", help="columns to write: leader, fields or MARCspecs")
    p.add_argument("--preset", choices=["lossless", "bibliographic"], default="lossless", help="default: lossless")
    add_on_error(p)
    add_input(p)
    p.add_argument("--include-file-paths", metavar="NAME", help="add a column of this name holding each record's file")
    p.add_argument(
        "--include-byte-offsets", metavar="NAME", help="add a column of this name holding each record's byte offset"
    )
    p.set_defaults(run=convert)
    p = add_command(commands, "stats")
    add_files(p)
    p.add_argument("--top", type=int, default=20, help="tags to list (default 20)")
    # Reporting errors is what stats is for: it keeps the damaged records unless told otherwise.
    add_on_error(p, default="collect")
    add_input(p)
    add_progress(p)
    p.set_defaults(run=stats)
    p = add_command(commands, "head")
    add_files(p)
    p.add_argument("-n", type=int, default=5, help="records to show (default 5)")
    add_on_error(p)
    add_input(p)
    p.set_defaults(run=head)
    return parser


def parser_for_summary() -> argparse.ArgumentParser:
    width = max(len(f"{name} {usage}") for name, (usage, _) in COMMANDS.items())
    listed = "\n".join(f"  {f'{name} {usage}':{width}}  {does}" for name, (usage, does) in COMMANDS.items())
    parser = argparse.ArgumentParser(
        prog="marc-polars",
        usage="%(prog)s [-h] [--version] [COMMAND] [options] [FILE ...]",
        description="Read MARC 21 files (ISO 2709, MARCXML or MARC-in-JSON) into a Polars DataFrame and summarise "
        "them: the records, the time taken, the most frequent tags and the first rows.",
        epilog=f"commands (marc-polars COMMAND --help for their options):\n{listed}\n\n"
        'A first word that is not a command is a FILE: a path, a glob pattern (quoted: "dumps/*.mrc"), '
        "or - for standard input.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"marc-polars {__version__}")
    add_files(parser, nargs="*", default=f" (default: the bundled sample, {SAMPLE})")
    add_on_error(parser)
    add_input(parser)
    add_progress(parser)
    parser.set_defaults(run=summary)
    return parser


def names_a_file(word: str) -> bool:
    """Whether a word that is not a command is a file to summarise rather than a mistyped command:
    `-`, an existing path, or a word with a directory separator, an extension or glob magic."""
    separators = [os.sep, *([os.altsep] if os.altsep else [])]
    return (
        word == STDIN
        or os.path.exists(word)
        or any(separator in word for separator in separators)
        or bool(os.path.splitext(word)[1])
        or globbing.has_magic(word)
    )


def parse(argv: list[str]) -> argparse.Namespace:
    if argv and argv[0] in COMMANDS:
        return parser_for_commands().parse_args(argv)
    parser = parser_for_summary()
    args = parser.parse_args(argv)
    first = args.files[0] if args.files else None
    if first is not None and not names_a_file(first):
        if first in COMMANDS:  # after an option: `marc-polars --no-progress stats ...`
            parser.error(f"put the command first, then its options: marc-polars {first} [options] FILE ...")
        parser.error(f"unknown command {first!r} (the commands are {', '.join(COMMANDS)}), and no file of that name")
    return args


def silence_stdout() -> None:
    """Points standard output at the null device, once its reader has closed the pipe: what is
    left in its buffer would fail again in the interpreter's last flush, with a traceback."""
    try:
        descriptor = sys.stdout.fileno()
    except (AttributeError, ValueError, OSError):  # not a file: nothing is flushed to it at exit
        return
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, descriptor)
    os.close(null)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return run(list(sys.argv[1:] if argv is None else argv))
    except BrokenPipeError:
        # A reader that stops early (`marc-polars head FILE | head -1`) has what it wanted.
        silence_stdout()
        return 0


def run(argv: list[str]) -> int:
    try:
        args = parse(argv)
        return int(args.run(args))
    except BrokenPipeError:
        raise
    except MarcError as error:
        print(f"marc-polars: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    except (OSError, ValueError, pl.exceptions.PolarsError) as error:
        print(f"marc-polars: {error}", file=sys.stderr)
        return 1
    finally:
        # Here, where a closed pipe is caught, rather than at exit, where it is not.
        sys.stdout.flush()
