"""marc_polars.ray on a local Ray cluster of two CPUs: BooksAll read by Ray tasks in 8 MiB splits
and in the default 64 MiB ones (every block's Arrow table fetched to the driver) against
`read_marc` of the file, a projected read of three MARCspecs (in the same splits) against
`scan_marc(...).collect()`, and `plan_splits` cutting the file into 1,000 splits.

A Ray case starts its cluster and reads once before it is timed: the time is that of a read on a
running cluster whose workers have read before. Its peak RSS is the driver's alone (the blocks live
in Ray's object store, shared memory the driver maps). One fresh subprocess per measurement; cases
interleaved and repeated; medians.

    python benchmarks/bench_ray.py [--repeat 3] [--file PATH]
"""

from __future__ import annotations

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
    "scan_3_specs": ({}, scan_3_specs),
    "ray_3_specs_8mib": ({}, ray_blocks(SPECS)),
    # The default split size: a task's start-up, which Ray Data's scheduling makes some 20 ms,
    # weighs less beside a projected read of a larger split.
    "ray_3_specs_64mib": ({}, ray_blocks(SPECS, 64 << 20)),
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
        for ray_case, ours in [*pairs, ("ray_read_marc_64mib", "read_marc"), ("ray_3_specs_64mib", "scan_3_specs")]:
            if ray_case in medians and ours in medians:
                print(f"- {ray_case}: {medians[ours] / medians[ray_case]:.2f}x the speed of {ours}")
        print(f"- plan_splits into {PLANNED:,} splits: {plan_seconds(file, repeat):.4f} s (median of {repeat})")
    sys.exit(0)
