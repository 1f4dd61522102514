"""marc_polars.ray on a local Ray cluster of two CPUs: BooksAll read by Ray tasks in 8 MiB splits
and in 64 MiB and the default 128 MiB ones (every block's Arrow table fetched to the driver) against
`read_marc` of the file, a projected read of three MARCspecs (in the same splits, and in 128 MiB
ones) against `scan_marc(...).collect()`, and `plan_splits` cutting the file into 1,000 splits.
`ray_blocks_without_reading_64mib` is the floor under the lossless Ray reads: Ray Data handing over
blocks of the same rows and bytes, made without reading anything.

A Ray case starts its cluster and reads once before it is timed: the time is that of a read on a
running cluster whose workers have read before. Its peak RSS is the driver's alone (the blocks live
in Ray's object store, shared memory the driver maps). One fresh subprocess per measurement; cases
interleaved and repeated; medians.

    python benchmarks/bench_ray.py [--repeat 3] [--file PATH]
"""

from __future__ import annotations

import functools
import os
import statistics
import sys
import time
from collections.abc import Callable

import polars as pl

import harness

SPECS = {"title": "245$a", "language": "008/35-37", "subjects": "650$a"}
#: Bytes per split of the Ray reads.
SPLIT_SIZE = 8 << 20
#: Splits planned by the planning case.
PLANNED = 1_000


def read_marc(path: str) -> pl.DataFrame:
    import marc_polars as mp

    return mp.read_marc(path)


def scan_3_specs(path: str) -> pl.DataFrame:
    import marc_polars as mp

    return mp.scan_marc(path, columns=SPECS).collect()


def ray_blocks(columns: dict[str, str] | None, split_size: int = SPLIT_SIZE) -> Callable[[str], int]:
    def run(path: str) -> int:
        import ray

        import marc_polars.ray as mpr

        tables = ray.get(mpr.read_marc(path, columns=columns, split_size=split_size).to_arrow_refs())
        return sum(table.num_rows for table in tables)

    return run


def ray_blocks_without_reading(split_size: int) -> Callable[[str], int]:
    """Ray Data handing over blocks as large as those of the lossless read in splits of
    `split_size`, made without reading (one `large_string` column of as many rows and bytes): what
    Ray's scheduling and object store cost alone, the floor under `ray_read_marc_*`."""

    def run(path: str) -> int:
        import numpy as np
        import pyarrow as pa
        import ray
        from ray.data import Datasource, ReadTask
        from ray.data.block import BlockMetadata

        import marc_polars as mp

        # The lossless frame's Arrow bytes and rows per byte of input, measured on the sample.
        sample = mp.read_marc(mp.SAMPLE).to_arrow()
        per_byte = sample.nbytes / os.path.getsize(mp.SAMPLE)
        rows_per_byte = sample.num_rows / os.path.getsize(mp.SAMPLE)

        def block(size: int) -> list[pa.Table]:
            rows = max(1, round(size * rows_per_byte))
            data = np.full(max(0, round(size * per_byte) - 8 * (rows + 1)), ord("x"), dtype=np.uint8)
            offsets = np.linspace(0, len(data), rows + 1).astype(np.int64)
            strings = pa.LargeStringArray.from_buffers(rows, pa.py_buffer(offsets), pa.py_buffer(data))
            return [pa.table({"fields": strings})]

        class Blocks(Datasource):  # type: ignore[misc]
            def estimate_inmemory_data_size(self) -> int:
                return os.path.getsize(path)

            def get_read_tasks(self, parallelism: int, per_task_row_limit: int | None = None, data_context=None):
                sizes = [split.end - split.start for split in mp.plan_splits(path, split_size)]
                return [
                    ReadTask(
                        functools.partial(block, size),
                        BlockMetadata(num_rows=None, size_bytes=size, exec_stats=None, input_files=None),
                    )
                    for size in sizes
                ]

        blocks = len(mp.plan_splits(path, split_size))
        tables = ray.get(ray.data.read_datasource(Blocks(), override_num_blocks=blocks).to_arrow_refs())
        return sum(table.num_rows for table in tables)

    return run


def start_cluster() -> None:
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    ray.data.DataContext.get_current().enable_progress_bars = False


def plan_seconds(path: str, repeat: int) -> float:
    """The median time `plan_splits` takes to cut `path` into `PLANNED` splits."""
    import marc_polars as mp

    size = -(-os.path.getsize(path) // PLANNED)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        splits = mp.plan_splits(path, size)
        times.append(time.perf_counter() - start)
        assert len(splits) == PLANNED, len(splits)
    return statistics.median(times)


CASES: dict[str, harness.Case] = {
    "read_marc": ({}, read_marc),
    "ray_read_marc_8mib": ({}, ray_blocks(None)),
    "ray_read_marc_64mib": ({}, ray_blocks(None, 64 << 20)),
    "ray_read_marc_128mib": ({}, ray_blocks(None, 128 << 20)),
    "ray_blocks_without_reading_64mib": ({}, ray_blocks_without_reading(64 << 20)),
    "scan_3_specs": ({}, scan_3_specs),
    "ray_3_specs_8mib": ({}, ray_blocks(SPECS)),
    # The default split size: a task's start-up, which Ray Data's scheduling makes some 20 ms,
    # weighs less beside a projected read of a larger split.
    "ray_3_specs_64mib": ({}, ray_blocks(SPECS, 64 << 20)),
    "ray_3_specs_128mib": ({}, ray_blocks(SPECS, 128 << 20)),
}

if __name__ == "__main__":
    case = sys.argv[sys.argv.index("--case") + 1] if "--case" in sys.argv else None
    if case is not None and case.startswith("ray_"):
        start_cluster()
        CASES[case][1](sys.argv[sys.argv.index("--file") + 1])  # the warm-up read, not timed
    medians = harness.main(__file__, CASES, ["read_marc", "scan_3_specs"], __doc__)["first"]
    if case is None:
        file = sys.argv[sys.argv.index("--file") + 1] if "--file" in sys.argv else None
        if file is None:
            from benchmarks.fetch_data import booksall

            file = str(booksall())
        repeat = int(sys.argv[sys.argv.index("--repeat") + 1]) if "--repeat" in sys.argv else 3
        pairs = [("ray_read_marc_8mib", "read_marc"), ("ray_3_specs_8mib", "scan_3_specs")]
        larger = [
            ("ray_read_marc_64mib", "read_marc"),
            ("ray_blocks_without_reading_64mib", "read_marc"),
            ("ray_3_specs_64mib", "scan_3_specs"),
            ("ray_3_specs_128mib", "scan_3_specs"),
        ]
        for ray_case, ours in [*pairs, *larger]:
            if ray_case in medians and ours in medians:
                print(f"- {ray_case}: {medians[ours] / medians[ray_case]:.2f}x the speed of {ours}")
        print(f"- plan_splits into {PLANNED:,} splits: {plan_seconds(file, repeat):.4f} s (median of {repeat})")
    sys.exit(0)
