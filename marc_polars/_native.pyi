from collections.abc import Sequence

import polars as pl

def read_frame(
    sources: Sequence[str | bytes | bytearray],
    *,
    leader: bool = True,
    fields: bool = True,
    n_rows: int | None = None,
    threads: int = 0,
    chunk_size: int = ...,
) -> pl.DataFrame: ...
def default_threads() -> int: ...
