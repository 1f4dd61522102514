"""The reading pipeline on the 250,000-record BooksAll file: threads, backends, streaming memory.

    python benchmarks/bench_pipeline.py [--repeat 3] [--file PATH]

Cases: `read_marc` from a path on all threads and on one; from an open file object (a plain open
file, read through its descriptor as its path is); from a file object read by `.read` calls of
the chunk size (a subclass of the open file, so its descriptor is not used: what a gzip stream,
a pipe or a socket gets); from the same file object made to hand over one record per `.read`
call (as a record-at-a-time reader would); from `bytes` (shared, not copied) and `bytearray`
(copied); `iter_batches`, which holds one batch at a time; and `read_marc`'s own reading of a path
in chunks of 1 (its own), 4, 16 and 64 MiB.
"""

from __future__ import annotations

import io

import polars as pl

import harness


def read_path(path: str) -> pl.DataFrame:
    import marc_polars as mp

    return mp.read_marc(path)


def read_file_object(path: str) -> pl.DataFrame:
    import marc_polars as mp

    with open(path, "rb") as handle:
        return mp.read_marc(handle)


class ReadCalls(io.BufferedReader):
    """An open file read by `.read` calls: the reader uses only the descriptors of plain files."""


def read_file_object_by_read_calls(path: str) -> pl.DataFrame:
    import marc_polars as mp

    with ReadCalls(io.FileIO(path)) as handle:
        return mp.read_marc(handle)


class OneRecordPerRead(io.RawIOBase):
    """A file object whose `.read(n)` returns at most the rest of the current record."""

    def __init__(self, handle: io.BufferedReader) -> None:
        self._handle = handle
        self._record = b""  # what is left of the current record

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        if not self._record:
            leader = self._handle.read(5)
            if len(leader) < 5:
                return leader
            self._record = leader + self._handle.read(int(leader) - 5)
        data, self._record = self._record[:n], self._record[n:]
        return data


def read_one_record_per_call(path: str) -> pl.DataFrame:
    import marc_polars as mp

    with open(path, "rb") as handle:
        return mp.read_marc(OneRecordPerRead(handle))


def read_bytes(path: str) -> pl.DataFrame:
    import marc_polars as mp

    with open(path, "rb") as file:
        data = file.read()
    return mp.read_marc(data)


def read_bytearray(path: str) -> pl.DataFrame:
    import marc_polars as mp

    with open(path, "rb") as file:
        data = bytearray(file.read())
    return mp.read_marc(data)


def read_with_chunks_of(mib: int):  # type: ignore[no-untyped-def]
    def read(path: str) -> pl.DataFrame:
        from marc_polars import _native

        batches = _native.iter_batches([path], chunk_size=mib << 20, map_files=False)
        return _native.read_frame(batches)

    return read


def iterate_batches(path: str) -> int:
    import marc_polars as mp

    return sum(batch.height for batch in mp.iter_batches(path))


CASES: dict[str, harness.Case] = {
    "path": ({}, read_path),
    "path_1_thread": ({"MARC_POLARS_MAX_THREADS": "1"}, read_path),
    "file_object": ({}, read_file_object),
    "file_object_read_calls": ({}, read_file_object_by_read_calls),
    "file_object_1_record_per_read": ({}, read_one_record_per_call),
    "bytes": ({}, read_bytes),
    "bytearray": ({}, read_bytearray),
    "iter_batches": ({}, iterate_batches),
    "path_chunks_1MiB": ({}, read_with_chunks_of(1)),
    "path_chunks_4MiB": ({}, read_with_chunks_of(4)),
    "path_chunks_16MiB": ({}, read_with_chunks_of(16)),
    "path_chunks_64MiB": ({}, read_with_chunks_of(64)),
}

if __name__ == "__main__":
    medians = harness.main(__file__, CASES, ["path_1_thread", "path"], __doc__)
    for run, median in medians.items():
        if {"path", "path_1_thread", "file_object"} <= median.keys():
            print(
                f"\n{run} runs: all threads vs 1 thread {median['path_1_thread'] / median['path']:.2f}x; "
                f"file object at {median['path'] / median['file_object']:.0%} of path throughput"
            )
        if {"path", "file_object_read_calls"} <= median.keys():
            print(
                f"{run} runs: file object read by .read calls at "
                f"{median['path'] / median['file_object_read_calls']:.0%} of path throughput"
            )
