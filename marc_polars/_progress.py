"""A one-line progress display of a read (``progress=True``): bytes and records, and their rates.

A thread redraws the line a few times a second from the native reader's count of what it has
handed out, so the display moves while ``read_marc`` runs in Rust with the GIL released. In a
Jupyter notebook the line is an output that updates in place; elsewhere it is rewritten on
standard error with a carriage return.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from types import TracebackType
from typing import Any

from marc_polars import _native

#: Seconds between redraws.
INTERVAL = 0.2
#: Characters of the bar.
WIDTH = 24


def total_bytes(sources: Sequence[object]) -> int | None:
    """The size of the input, when every source's is known: files and bytes; not streams."""
    total = 0
    for source in sources:
        if isinstance(source, str):
            try:
                total += os.path.getsize(source)
            except OSError:
                return None
        elif isinstance(source, (bytes, bytearray)):
            total += len(source)
        else:
            return None
    return total


def line(done_bytes: int, records: int, seconds: float, total: int | None, limit: int | None) -> str:
    """`45% |#########...........| 108.3/241.7 MB  112,000 records  1.2 s  90.3 MB/s  93,000 records/s`;
    the share is of the records when `limit` caps them, else of the bytes when `total` is known."""
    share = records / limit if limit else done_bytes / total if total else None
    parts = []
    if share is not None:
        share = min(share, 1.0)
        filled = round(share * WIDTH)
        parts.append(f"{share:4.0%} |{'#' * filled}{'.' * (WIDTH - filled)}|")
    parts.append(f"{done_bytes / 1e6:,.1f}" + (f"/{total / 1e6:,.1f} MB" if total else " MB"))
    parts.append(f"{records:,} records")
    parts.append(f"{seconds:.1f} s")
    if seconds > 0:
        parts.append(f"{done_bytes / 1e6 / seconds:,.1f} MB/s")
        parts.append(f"{records / seconds:,.0f} records/s")
    return "  ".join(parts)


def _notebook_display() -> Callable[[str], None] | None:
    """A function that shows a text output in place, in a Jupyter kernel; `None` elsewhere."""
    if "IPython" not in sys.modules:  # never imported: not a notebook, and not worth importing
        return None
    from IPython import get_ipython  # type: ignore[import-not-found]
    from IPython.display import display  # type: ignore[import-not-found]

    ipython = get_ipython()
    if ipython is None or type(ipython).__name__ != "ZMQInteractiveShell":
        return None
    handle: Any = None

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
        self._show(line(done_bytes, records, time.perf_counter() - self._start, self._total, limit))

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


def shown(progress: bool, native: _native.BatchIterator, sources: Sequence[object], limit: int | None) -> AbstractContextManager[object]:
    """A :class:`Progress` of `native` when `progress`, else a context that does nothing."""
    return Progress(native, sources, limit) if progress else contextlib.nullcontext()
