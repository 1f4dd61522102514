"""The reading pipeline: every backend, chunking, threads, the GIL, and the iterator's lifecycle."""

from __future__ import annotations

import gzip
import io
import os
import pathlib
import re
import subprocess
import threading
import time

import polars as pl
import pytest

import marc_polars as mp
from marc_polars import _native, exceptions
from marc_polars._sources import expand

from conftest import BROKEN, READABLE, record_lengths, run_python


def read_with(source, **options) -> pl.DataFrame:  # type: ignore[no-untyped-def]
    """read_marc with the native reader's tuning knobs (thread count, chunk size)."""
    return _native.read_frame(_native.iter_batches(expand(source, glob=False), map_files=True, **options))


SAMPLE_BYTES = pathlib.Path(mp.SAMPLE).read_bytes()
FILES = [pathlib.Path(mp.SAMPLE), *READABLE]


class NonSeekable(io.RawIOBase):
    """A pipe-like stream: no seek, no tell, short reads."""

    def __init__(self, data: bytes, most: int = 65_536) -> None:
        self._data, self._pos, self._most = data, 0, most

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        n = min(len(buffer), self._most, len(self._data) - self._pos)
        buffer[:n] = self._data[self._pos : self._pos + n]
        self._pos += n
        return n


class ReadBySubclass(io.BufferedReader):
    """An open file that is not a plain `io.BufferedReader`: read through `.read`, not its descriptor."""


def all_sources(path: pathlib.Path, tmp_path: pathlib.Path):
    """The same records through every backend, each made fresh (streams are read once)."""
    data = path.read_bytes()
    gz = tmp_path / (path.name + ".gz")
    gz.write_bytes(gzip.compress(data, compresslevel=1))
    return {
        "path": lambda: path,
        "str": lambda: str(path),
        "open file": lambda: open(path, "rb"),
        "unbuffered file": lambda: open(path, "rb", buffering=0),
        "file read by .read": lambda: ReadBySubclass(io.FileIO(path)),
        "BytesIO": lambda: io.BytesIO(data),
        "bytes": lambda: data,
        "bytearray": lambda: bytearray(data),
        "memoryview": lambda: memoryview(data),
        "memoryview slice": lambda: memoryview(b"\0" + data)[1:],
        "gzip": lambda: gzip.open(gz, "rb"),
        "non-seekable": lambda: NonSeekable(data),
    }


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_backend_and_thread_count_gives_the_same_frame(path: pathlib.Path, tmp_path: pathlib.Path):
    expected = mp.read_marc(path)
    for name, make in all_sources(path, tmp_path).items():
        for threads in [1, 2]:
            df = read_with(make(), threads=threads)
            assert df.equals(expected), (name, threads)
        assert pl.concat(mp.iter_batches(make(), batch_size=7)).equals(expected), name


@pytest.mark.parametrize("mode", ["rb", "r+b", "unbuffered"])
def test_an_open_file_is_read_from_where_it_stands_and_left_at_its_end(mode: str, tmp_path: pathlib.Path):
    data = SAMPLE_BYTES
    first = record_lengths(data)[0]
    expected = mp.read_marc(data[first:])
    path = tmp_path / "sample.mrc"
    path.write_bytes(data)

    def opened():  # type: ignore[no-untyped-def]
        # Returned open, for the `with` block below to close.
        handle = open(path, "rb", buffering=0) if mode == "unbuffered" else open(path, mode)  # noqa: SIM115
        handle.read(first)  # a buffered file reads ahead of its position
        return handle

    for read in [mp.read_marc, lambda f: pl.concat(mp.iter_batches(f, batch_size=100))]:
        with opened() as handle:
            assert read(handle).equals(expected), (mode, read)
            assert handle.tell() == len(data)
            assert handle.read() == b""


@pytest.mark.parametrize("path", BROKEN[:8], ids=lambda p: p.name)
def test_an_open_file_and_a_stream_report_damage_at_the_same_place(path: pathlib.Path):
    data = path.read_bytes()
    skip = 24  # the offsets count from where reading began
    errors = []
    with open(path, "rb") as file, ReadBySubclass(io.FileIO(path)) as subclassed, io.BytesIO(data) as stream:
        for handle in [file, subclassed, stream]:
            with pytest.raises(exceptions.MarcError) as info:
                handle.seek(skip)
                mp.read_marc(data[skip:] if isinstance(handle, io.BytesIO) else handle, on_error="raise")
            errors.append((type(info.value), info.value.record, info.value.byte_offset))
    assert errors[0] == errors[1] == errors[2]


#: For a child process: a stream that gives 4 KiB per `.read`, so that the reader is nearly always in
#: one, waiting for the GIL.
TRICKLE = (
    "import io\n"
    "class Trickle(io.RawIOBase):\n"
    "    def __init__(self, data): self._data, self._pos = data, 0\n"
    "    def readable(self): return True\n"
    "    def readinto(self, buffer):\n"
    "        n = min(len(buffer), 4096, len(self._data) - self._pos)\n"
    "        buffer[:n] = self._data[self._pos : self._pos + n]\n"
    "        self._pos += n\n"
    "        return n\n"
)


def test_two_threads_taking_batches_of_one_stream_do_not_deadlock(tmp_path: pathlib.Path):
    # One thread waits for a batch while the reader waits for the GIL to call `.read`; another
    # asks for the next batch meanwhile: it must wait without holding the GIL. In a child process,
    # so that a deadlock fails the test rather than the run.
    code = (
        "import io, threading, marc_polars as mp\n"
        "from marc_polars import _native\n" + TRICKLE + f"data = open({mp.SAMPLE!r}, 'rb').read() * 4\n"
        "for stream in (Trickle(data), Trickle(data)):\n"
        "    native = _native.iter_batches([stream], batch_size=50)\n"
        "    counts = []\n"
        "    def take():\n"
        "        counts.append(sum(batch.height for batch in native))\n"
        "    threads = [threading.Thread(target=take) for _ in range(2)]\n"
        "    for thread in threads: thread.start()\n"
        "    for thread in threads: thread.join()\n"
        "    print(sum(counts))\n"
    )
    child = run_python(code, cwd=tmp_path)
    assert child.stdout.split() == ["4000", "4000"], child.stderr


def test_damage_found_while_a_stream_is_still_being_read_is_raised_at_once(tmp_path: pathlib.Path):
    # The reader is then waiting for the GIL to call `.read`: the frame's end must not wait for it
    # with the GIL held. In a child process, so that a hang fails the test rather than the run.
    code = (
        "import io, marc_polars as mp\n" + TRICKLE + f"data = open({mp.SAMPLE!r}, 'rb').read() * 4\n"
        "try:\n"
        "    mp.read_marc(Trickle(b'99999' + data[5:]), on_error='raise')\n"
        "except mp.exceptions.MarcError as error:\n"
        "    print(type(error).__name__, error.record, error.byte_offset)\n"
    )
    child = run_python(code, cwd=tmp_path)
    assert child.stdout.split() == ["EndOfRecordNotFound", "0", "0"], child.stderr


def test_a_file_whose_reads_are_overridden_is_read_through_them(tmp_path: pathlib.Path):
    # Its descriptor is that of another file: reading the descriptor would give that file's records.
    class Substitute(io.FileIO):
        def __init__(self, path: pathlib.Path, data: bytes) -> None:
            super().__init__(path)
            self._data = io.BytesIO(data)

        def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
            return self._data.readinto(buffer)

        def read(self, size: int = -1) -> bytes:
            return self._data.read(size)

    other = tmp_path / "other.mrc"
    other.write_bytes(pathlib.Path(READABLE[0]).read_bytes())
    expected = mp.read_marc(SAMPLE_BYTES)
    assert mp.read_marc(io.BufferedReader(Substitute(other, SAMPLE_BYTES))).equals(expected)
    assert mp.read_marc(Substitute(other, SAMPLE_BYTES)).equals(expected)


def test_a_real_pipe(tmp_path: pathlib.Path):
    cat = subprocess.Popen(["cat", mp.SAMPLE], stdout=subprocess.PIPE)
    assert cat.stdout is not None
    try:
        assert mp.read_marc(cat.stdout).equals(mp.read_marc(mp.SAMPLE))
    finally:
        cat.wait()


@pytest.mark.slow
def test_booksall_through_every_backend(booksall: pathlib.Path, tmp_path: pathlib.Path):
    expected = mp.read_marc(booksall)
    assert expected.height == 250_000
    for name, make in all_sources(booksall, tmp_path).items():
        assert read_with(make(), threads=1).equals(expected), name
        assert mp.read_marc(make()).equals(expected), name
    batches = list(mp.iter_batches(booksall, batch_size=30_000))
    assert all(b.height <= 30_000 for b in batches)
    assert pl.concat(batches).equals(expected)


@pytest.mark.parametrize("chunk_size", [1, 2, 3, 5, 24, 100, 999, 4096])
def test_chunk_boundaries_anywhere_in_a_record(chunk_size: int):
    # With blocks of `chunk_size` bytes, block boundaries fall at every position inside records.
    data = SAMPLE_BYTES[: sum(record_lengths(SAMPLE_BYTES)[:40])]
    expected = mp.read_marc(data)
    assert expected.height == 40
    for source in [io.BytesIO(data), data]:
        df = read_with(source, chunk_size=chunk_size, threads=2)
        assert df.equals(expected), (type(source), chunk_size)


def test_batches_respect_batch_size_and_row_index():
    batches = list(mp.iter_batches(mp.SAMPLE, batch_size=300, row_index_name="i", row_index_offset=5))
    assert [b.height for b in batches] == [300, 300, 300, 100]
    df = pl.concat(batches)
    assert df["i"].to_list() == list(range(5, 1005))
    assert df.drop("i").equals(mp.read_marc(mp.SAMPLE))


def test_iter_batches_keeps_raising_stop_iteration():
    batches = mp.iter_batches(mp.SAMPLE, n_rows=10)
    assert next(batches).height == 10
    for _ in range(3):
        with pytest.raises(StopIteration):
            next(batches)


def test_an_error_ends_the_batches_after_the_good_ones():
    cut = sum(record_lengths(SAMPLE_BYTES)[:500])
    damaged = SAMPLE_BYTES[:cut] + b"xxxxx" + SAMPLE_BYTES[cut + 5 :]
    batches = mp.iter_batches(damaged, batch_size=100)
    heights = [next(batches).height for _ in range(5)]
    assert heights == [100] * 5
    with pytest.raises(exceptions.RecordLengthInvalid) as info:
        next(batches)
    assert info.value.record == 500
    with pytest.raises(StopIteration):
        next(batches)


def _thread_names() -> list[str]:
    names = []
    for task in pathlib.Path("/proc/self/task").iterdir():
        try:
            names.append((task / "comm").read_text().strip())
        except FileNotFoundError:  # a thread that ended while the list was read
            continue
    return names


def _reader_threads() -> int:
    """Native reader threads alive in this process (Linux names them marc-polars-reader)."""
    return sum(1 for name in _thread_names() if name.startswith("marc-polars-rea"))


def _decoding_threads() -> int:
    """Native decoding threads alive in this process (named marc-polars-0, -1, ...)."""
    return sum(1 for name in _thread_names() if re.fullmatch(r"marc-polars-\d+", name))


@pytest.mark.skipif(not pathlib.Path("/proc/self/task").exists(), reason="needs Linux /proc")
def test_threads_of_thread_counts_no_longer_used_end():
    try:
        for threads in (2, 3, 4, 5, 6, 3):
            mp.set_max_threads(threads)
            assert mp.read_marc(SAMPLE_BYTES).height == 1000
            # A replaced pool's threads end soon after, not at once.
            deadline = time.monotonic() + 10
            while _decoding_threads() > threads and time.monotonic() < deadline:
                time.sleep(0.01)
            assert _decoding_threads() == threads
    finally:
        mp.set_max_threads(None)


@pytest.mark.skipif(not pathlib.Path("/proc/self/task").exists(), reason="needs Linux /proc")
def test_breaking_out_early_stops_the_reader(tmp_path: pathlib.Path):
    big = tmp_path / "big.mrc"
    big.write_bytes(SAMPLE_BYTES * 100)  # 100,000 records
    before = _reader_threads()
    start = time.perf_counter()
    for batch in mp.iter_batches(big, batch_size=10):
        assert batch.height == 10
        assert _reader_threads() == before + 1
        break
    elapsed = time.perf_counter() - start
    assert _reader_threads() == before
    # Reading everything takes many times longer; this is not a timing threshold but a sanity note.
    print(f"first batch and stop: {elapsed:.3f} s")


@pytest.mark.skipif(not pathlib.Path("/proc/self/task").exists(), reason="needs Linux /proc")
def test_a_loop_left_early_ends_the_batches_it_was_reading(tmp_path: pathlib.Path):
    big = tmp_path / "big.mrc"
    big.write_bytes(SAMPLE_BYTES * 100)  # far more parts than are read ahead: the reader waits
    before = _reader_threads()
    batches = mp.iter_batches(big, batch_size=10)
    for _batch in batches:
        assert _reader_threads() == before + 1
        break
    assert _reader_threads() == before
    with pytest.raises(StopIteration):
        next(batches)
    assert list(batches) == []
    # Taken by next() alone, batches go on until closed; a with block closes them.
    with mp.iter_batches(big, batch_size=10) as batches:
        assert [next(batches).height, next(batches).height] == [10, 10]
    assert list(batches) == [] and _reader_threads() == before


class Boom(Exception):
    pass


class FailingFile(io.RawIOBase):
    def __init__(self, data: bytes, fail_after: int) -> None:
        self._data, self._served, self._fail_after = data, 0, fail_after
        self.error = Boom("disk on fire")

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        if self._served >= self._fail_after:
            raise self.error
        chunk = self._data[self._served : self._served + min(n, 10_000)]
        self._served += len(chunk)
        return chunk


def test_an_exception_from_read_propagates_unchanged():
    source = FailingFile(SAMPLE_BYTES, fail_after=50_000)
    with pytest.raises(Boom) as info:
        mp.read_marc(source)
    assert info.value is source.error
    source = FailingFile(SAMPLE_BYTES, fail_after=0)
    with pytest.raises(Boom):
        list(mp.iter_batches(source))


def test_read_returning_text_is_a_type_error():
    class TextRead:
        def read(self, n: int = -1) -> str:
            return "00000"

    with pytest.raises(TypeError, match="not bytes"):
        mp.read_marc(TextRead())


def test_eight_python_threads_each_reading_their_own_file(tmp_path: pathlib.Path):
    files = []
    for i in range(8):
        records = SAMPLE_BYTES[: sum(record_lengths(SAMPLE_BYTES)[: 100 + 100 * i])]
        path = tmp_path / f"part{i}.mrc"
        path.write_bytes(records)
        files.append(path)
    expected = [mp.read_marc(f.read_bytes()) for f in files]
    results: dict[int, pl.DataFrame] = {}

    def work(i: int) -> None:
        if i % 2:
            results[i] = mp.read_marc(files[i])
            return
        with open(files[i], "rb") as file:
            results[i] = mp.read_marc(file)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i in range(8):
        assert results[i].equals(expected[i]), i


def test_the_gil_is_released_while_reading(tmp_path: pathlib.Path):
    big = tmp_path / "big.mrc"
    big.write_bytes(SAMPLE_BYTES * 60)
    counter = [0]
    stop = threading.Event()

    def count() -> None:
        while not stop.is_set():
            counter[0] += 1

    thread = threading.Thread(target=count)
    thread.start()
    try:
        time.sleep(0.05)
        before = counter[0]
        df = mp.read_marc(big)
        during = counter[0] - before
    finally:
        stop.set()
        thread.join()
    assert df.height == 60_000
    # Had the read held the GIL, the counting thread could not have run at all during it.
    assert during > 1000, during


def test_thread_count_settings():
    default = mp.max_threads()
    assert default >= 1
    try:
        mp.set_max_threads(1)
        assert mp.max_threads() == 1
        assert mp.read_marc(mp.SAMPLE).equals(read_with(mp.SAMPLE, threads=2))
    finally:
        mp.set_max_threads(None)
    assert mp.max_threads() == default
    with pytest.raises(ValueError):
        mp.set_max_threads(0)


def test_the_environment_variable_sets_the_thread_count(tmp_path: pathlib.Path):
    code = "import marc_polars as mp; print(mp.max_threads())"
    env = {**os.environ, "MARC_POLARS_MAX_THREADS": "3"}
    out = run_python(code, cwd=tmp_path, env=env)
    assert out.stdout.strip() == "3", out.stderr


def test_a_batch_iterator_is_collected_once():
    batches = _native.iter_batches([mp.SAMPLE])
    assert _native.read_frame(batches).equals(mp.read_marc(mp.SAMPLE))
    with pytest.raises(ValueError, match="already read"):
        _native.read_frame(batches)
    with pytest.raises(StopIteration):
        next(batches)
