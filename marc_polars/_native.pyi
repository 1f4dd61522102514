from collections.abc import Iterator, Sequence

import polars as pl

def read_frame(
    sources: Sequence[object],
    *,
    leader: bool = True,
    fields: bool = True,
    n_rows: int | None = None,
    threads: int = 0,
    chunk_size: int = ...,
) -> pl.DataFrame: ...

class BatchIterator(Iterator[pl.DataFrame]):
    def __iter__(self) -> BatchIterator: ...
    def __next__(self) -> pl.DataFrame: ...
    def close(self) -> None: ...

def iter_batches(
    sources: Sequence[object],
    *,
    leader: bool = True,
    fields: bool = True,
    n_rows: int | None = None,
    threads: int = 0,
    chunk_size: int = ...,
    batch_size: int = ...,
) -> BatchIterator: ...
def max_threads() -> int: ...
def set_max_threads(threads: int) -> None: ...
def _inject_panic(record: int | None) -> None: ...
