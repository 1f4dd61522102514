"""Compressed BooksAll: `read_marc` of its gzip, zstd, bzip2 and xz forms against the plain file, and
against each format's own command-line decompressor writing to /dev/null (`gzip -dc` and the like),
which is what a read that decompresses first would cost before any decoding; `iter_batches` of the
gzip form for memory.

The compressed forms are made once, by Python's `gzip`, `bz2` and `lzma` modules and the
`zstandard` binding of the reference zstd library, at each tool's default level, and cached next to
the BooksAll file. MB/s is of the decompressed MARC.

    python benchmarks/bench_compressed.py [--repeat 3] [--cases a,b]
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import polars as pl

import harness


def zstd_writer(file: BinaryIO) -> BinaryIO:
    import zstandard

    return zstandard.ZstdCompressor(level=3).stream_writer(file)  # type: ignore[return-value]


#: Each codec: the extension of its cached file, a compressing writer around a file, and the
#: command that decompresses it to standard output.
CODECS: dict[str, tuple[str, Callable[[BinaryIO], BinaryIO], list[str]]] = {
    "gzip": (".gz", lambda file: gzip.GzipFile(fileobj=file, mode="wb"), ["gzip", "-dc"]),
    "zstd": (".zst", zstd_writer, ["zstd", "-dcq"]),
    "bz2": (".bz2", lambda file: bz2.BZ2File(file, "wb"), ["bzip2", "-dc"]),
    "xz": (".xz", lambda file: lzma.LZMAFile(file, "wb"), ["xz", "-dc"]),  # noqa: SIM115 (closed by its caller)
}


def compressed_form(path: str, codec: str) -> str:
    """The cached `codec` form of `path`, made if it is not there yet, in a stream: the process
    stays small, and so do the cases it starts (a child inherits its parent's peak RSS)."""
    extension, writer, _ = CODECS[codec]
    target = Path(path + extension)
    if not target.exists():
        print(f"# making {target.name}", file=sys.stderr)
        partial = target.with_suffix(target.suffix + ".partial")
        with open(path, "rb") as plain, open(partial, "wb") as file, writer(file) as packed:
            shutil.copyfileobj(plain, packed, 1 << 20)
        partial.rename(target)
    return str(target)


def read_plain(path: str) -> pl.DataFrame:
    import marc_polars as mp

    return mp.read_marc(path)


def read_compressed(codec: str) -> Callable[[str], pl.DataFrame]:
    def read(path: str) -> pl.DataFrame:
        import marc_polars as mp

        return mp.read_marc(compressed_form(path, codec))

    return read


def decompress_only(codec: str) -> Callable[[str], int]:
    def run(path: str) -> int:
        with open(compressed_form(path, codec), "rb") as packed:
            subprocess.run(CODECS[codec][2], stdin=packed, stdout=subprocess.DEVNULL, check=True)
        return 0

    return run


def iterate_gzip(path: str) -> int:
    import marc_polars as mp

    return sum(batch.height for batch in mp.iter_batches(compressed_form(path, "gzip")))


CASES: dict[str, harness.Case] = {
    "plain": ({}, read_plain),
    **{f"read_marc_{codec}": ({}, read_compressed(codec)) for codec in CODECS},
    **{f"{codec}_dc": ({}, decompress_only(codec)) for codec in CODECS if shutil.which(CODECS[codec][2][0])},
    "iter_batches_gzip": ({}, iterate_gzip),
}

if __name__ == "__main__":
    if "--case" not in sys.argv:  # made once, before any case is timed
        file = sys.argv[sys.argv.index("--file") + 1] if "--file" in sys.argv else None
        if file is None:
            from benchmarks.fetch_data import booksall

            file = str(booksall())
        for codec in CODECS:
            compressed_form(os.path.abspath(file), codec)
    medians = harness.main(__file__, CASES, ["plain", "gzip_dc"], __doc__)["first"]
    for codec in CODECS:
        if f"{codec}_dc" in medians and f"read_marc_{codec}" in medians:
            ratio = medians[f"{codec}_dc"] / medians[f"read_marc_{codec}"]
            print(f"read_marc of the {codec} form: {ratio:.2f}x as fast as decompressing it alone")
    sys.exit(0)
