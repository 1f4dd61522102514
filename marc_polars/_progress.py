"""A one-line progress display of a read (``progress=True``): bytes and records, and their rates.

A thread redraws the line a few times a second from the native reader's count of what it has
handed out, so the display moves while ``read_marc`` runs in Rust with the GIL released. In a
Jupyter notebook the line is an output that updates in place; elsewhere it is rewritten on
standard error with a carriage return, cut to the terminal's width: a line that wraps scrolls the
terminal at every redraw.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from types import TracebackType
from typing import Protocol

from marc_polars import _native

#: Seconds between redraws.
INTERVAL = 0.2
#: Characters of the bar.
WIDTH = 24
#: The narrowest bar worth drawing: narrower, the share alone says as much.
MIN_WIDTH = 10
#: The parts of the line that go, in this order, when the terminal is too narrow for them all.
DROPPED_FIRST = ("records/s", "MB/s", "seconds", "bar", "records")


def total_bytes(sources: Sequence[object]) -> int | None:
    """The size of the input, when every source's is known: files and bytes; not streams, nor
    compressed sources, whose bytes read (decompressed) are not those of their size."""
    total = 0
    for source in sources:
        if isinstance(source, str):
            if not os.path.isfile(source):
                return None
            try:
                with open(source, "rb") as file:
                    compressed = _native.compression_of(file.read(_native.PREFIX_LEN)) is not None
                total += os.path.getsize(source)
            except OSError:
                return None
        elif isinstance(source, (bytes, bytearray)):
            compressed = _native.compression_of(bytes(source[: _native.PREFIX_LEN])) is not None
            total += len(source)
        else:
            return None
        if compressed:
            return None
    return total


def line(
    done_bytes: int, records: int, seconds: float, total: int | None, limit: int | None, columns: int | None = None
) -> str:
    """`45% |#########...........| 108.3/241.7 MB  112,000 records  1.2 s  90.3 MB/s  93,000 records/s`;
    the share is of the records when `limit` caps them, else of the bytes when `total` is known.
    Given the `columns` of a terminal, the line is kept to `columns - 1` characters (one that
    reaches the last column wraps on some terminals): the bar is shortened, then parts dropped."""
    share = records / limit if limit else done_bytes / total if total else None
    parts = {"MB": f"{done_bytes / 1e6:,.1f}" + (f"/{total / 1e6:,.1f} MB" if total else " MB")}
    parts["records"] = f"{records:,} records"
    parts["seconds"] = f"{seconds:.1f} s"
    if seconds > 0:
        parts["MB/s"] = f"{done_bytes / 1e6 / seconds:,.1f} MB/s"
        parts["records/s"] = f"{records / seconds:,.0f} records/s"
    share = None if share is None else min(share, 1.0)
    if columns is None:
        return _joined(share, WIDTH, parts)
    return _fitted(share, parts, columns - 1)


def _joined(share: float | None, bar: int, parts: dict[str, str]) -> str:
    """The share (with a bar `bar` characters wide, if any) and the parts, two spaces apart."""
    shown = [] if share is None else [f"{share:4.0%}" + (_bar(share, bar) if bar else "")]
    return "  ".join([*shown, *parts.values()])


def _bar(share: float, width: int) -> str:
    filled = round(share * width)
    return f" |{'#' * filled}{'.' * (width - filled)}|"


def _fitted(share: float | None, parts: dict[str, str], room: int) -> str:
    """The line in at most `room` characters: the widest bar that fits (down to MIN_WIDTH), after
    dropping the fewest parts, least useful first; cut short if even the least does not fit."""
    for dropped in range(len(DROPPED_FIRST) + 1):
        gone = DROPPED_FIRST[:dropped]
        kept = {name: text for name, text in parts.items() if name not in gone}
        bare = _joined(share, 0, kept)
        with_bar = share is not None and "bar" not in gone
        bar = min(WIDTH, room - len(bare) - len(" ||"))
        if with_bar and bar >= MIN_WIDTH:
            return _joined(share, bar, kept)
        if not with_bar and len(bare) <= room:
            return bare
    return bare[: max(room, 0)]


def terminal_columns() -> int:
    """The width of the terminal the line is drawn on: `$COLUMNS` when set (as `shutil` honours
    it), else that of standard error's terminal, else what `shutil` finds (standard output's
    terminal, or 80). Standard error first: it is where the line goes, and standard output is
    often a pipe or a file."""
    if os.environ.get("COLUMNS", "").isdigit() and int(os.environ["COLUMNS"]) > 0:
        return int(os.environ["COLUMNS"])
    try:
        columns = os.get_terminal_size(sys.stderr.fileno()).columns
    except (AttributeError, ValueError, OSError):  # no standard error, or not a terminal
        columns = 0
    return columns or shutil.get_terminal_size().columns


class _DisplayHandle(Protocol):
    """What IPython's ``display(..., display_id=True)`` returns: an output that can be replaced."""

    def update(self, obj: object, *, raw: bool = ...) -> None: ...


def _notebook_display() -> Callable[[str], None] | None:
    """A function that shows a text output in place, in a Jupyter kernel; `None` elsewhere."""
    if "IPython" not in sys.modules:  # never imported: not a notebook, and not worth importing
        return None
    # Imported here, once a notebook has loaded IPython: it is no dependency of the package.
    from IPython import get_ipython  # noqa: PLC0415
    from IPython.display import display  # noqa: PLC0415

    ipython = get_ipython()
    if ipython is None or type(ipython).__name__ != "ZMQInteractiveShell":
        return None
    handle: _DisplayHandle | None = None

    def show(text: str) -> None:
        nonlocal handle
        if handle is None:
            handle = display({"text/plain": text}, raw=True, display_id=True)
        else:
            handle.update({"text/plain": text}, raw=True)

    return show


class Progress:
    """Shows the progress of `native` (a context manager: from enter to exit)."""

    def __init__(self, native: _native.BatchIterator, sources: Sequence[object], limit: int | None = None) -> None:
        self._native = native
        self._total = total_bytes(sources)
        self._limit = limit
        self._show = _notebook_display() or self._to_stderr
        self._width = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="marc-polars-progress", daemon=True)
        self._start = 0.0

    def _to_stderr(self, text: str) -> None:
        # Padded to the last line's width, so that a shorter line leaves nothing of it behind.
        sys.stderr.write("\r" + text.ljust(self._width))
        sys.stderr.flush()
        self._width = len(text)

    def _draw(self, complete: bool = False) -> None:
        done_bytes, records = self._native.progress()
        # A read that ended before its limit read all there was.
        limit = records if complete and self._limit else self._limit
        # Measured at each redraw, so that the line follows a terminal being resized.
        columns = None if self._show != self._to_stderr else terminal_columns()
        self._show(line(done_bytes, records, time.perf_counter() - self._start, self._total, limit, columns))

    def _run(self) -> None:
        while not self._stop.wait(INTERVAL):
            self._draw()

    def __enter__(self) -> Progress:
        self._start = time.perf_counter()
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join()
        self._draw(complete=kind is None)
        if self._show == self._to_stderr:
            sys.stderr.write("\n")
            sys.stderr.flush()


def shown(
    progress: bool, native: _native.BatchIterator, sources: Sequence[object], limit: int | None
) -> AbstractContextManager[object]:
    """A :class:`Progress` of `native` when `progress`, else a context that does nothing."""
    return Progress(native, sources, limit) if progress else contextlib.nullcontext()
