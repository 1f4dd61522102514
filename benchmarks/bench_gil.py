"""How far a pure-Python thread gets while `read_marc` reads the BooksAll file in another thread,
against the same thread running alone: the share of its progress that the read leaves it.

    python benchmarks/bench_gil.py [--repeat 5] [--file PATH]

The thread counts in a loop. Alone, it counts while the main thread sleeps for as long as a read
takes; then it counts while the main thread runs `read_marc`, on all cores and on one. Each
measurement runs in a fresh subprocess; the medians are reported. A read that held the GIL would
leave the counting thread nothing; on two cores, two decoding threads and the counting thread share
the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time

import harness


def count_while(work) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """(counts a second of a counting thread while `work()` runs, seconds `work` took)."""
    counter = [0]
    stop = threading.Event()

    def count() -> None:
        while not stop.is_set():
            counter[0] += 1

    thread = threading.Thread(target=count)
    thread.start()
    time.sleep(0.1)  # the thread is running
    before, start = counter[0], time.perf_counter()
    result = work()
    seconds = time.perf_counter() - start
    counted = counter[0] - before
    stop.set()
    thread.join()
    del result  # freed after the count: freeing a frame is not part of reading it
    return counted / seconds, seconds


def measure(path: str, threads: int) -> dict[str, float]:
    import marc_polars as mp

    mp.set_max_threads(threads)
    during, seconds = count_while(lambda: mp.read_marc(path))
    alone, _ = count_while(lambda: time.sleep(seconds))
    return {"alone": alone, "during": during, "seconds": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--file", help="MARC file (default: BooksAll, fetched and cached)")
    parser.add_argument("--threads", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.file is None:
        from benchmarks.fetch_data import booksall

        args.file = str(booksall())
    if args.threads is not None:
        print(json.dumps(measure(args.file, args.threads)))
        return

    cores = os.cpu_count() or 1
    runs: dict[int, list[dict[str, float]]] = {cores: [], 1: []}
    for rep in range(args.repeat):
        for threads, measured in runs.items():
            command = [sys.executable, __file__, "--file", args.file, "--threads", str(threads)]
            out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
            measured.append(json.loads(out))
            print(f"# rep {rep + 1}/{args.repeat} {threads} thread(s): {measured[-1]}", file=sys.stderr)
    print(f"Median of {args.repeat} runs. Machine: {harness.machine()}\n")
    print("| read_marc threads | read seconds | counts/s alone | counts/s during the read | share |")
    print("|---|---|---|---|---|")
    for threads, results in runs.items():
        alone = statistics.median(r["alone"] for r in results)
        during = statistics.median(r["during"] for r in results)
        seconds = statistics.median(r["seconds"] for r in results)
        print(f"| {threads} | {seconds:.3f} | {alone:,.0f} | {during:,.0f} | {during / alone:.0%} |")


if __name__ == "__main__":
    main()
