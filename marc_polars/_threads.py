"""How many threads decode."""

from __future__ import annotations

from marc_polars import _native


def max_threads() -> int:
    """The number of threads that decode records: all cores unless set otherwise."""
    return _native.max_threads()


def set_max_threads(threads: int | None) -> None:
    """Use ``threads`` decoding threads from now on; ``None`` restores the default (the
    ``MARC_POLARS_MAX_THREADS`` environment variable if set, else every core)."""
    if threads is not None and threads < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    _native.set_max_threads(threads or 0)
