"""Bytes that are not MARC, read as MARC: how soon `on_error="raise"` answers, and how fast "skip",
"collect" and "repair" get through them, with `read_marc` and `iter_batches`.

    python benchmarks/bench_garbage.py [--repeat 3] [--megabytes 100]

Two inputs of the same size, made once (seeded) next to the BooksAll file: random bytes (a record
terminator every 256 bytes or so, digits now and then, no record), and the leader of a real record
followed by text with no record terminator anywhere (a record that never ends). A read that raises
is timed to the exception.
"""

from __future__ import annotations

import random
import sys

import harness

MEGABYTES = int(sys.argv[sys.argv.index("--megabytes") + 1]) if "--megabytes" in sys.argv else 100
if "--megabytes" in sys.argv:
    at = sys.argv.index("--megabytes")
    del sys.argv[at : at + 2]


def garbage(kind: str) -> str:
    """The input of this kind, made on first use."""
    from benchmarks.fetch_data import cache_dir

    path = cache_dir() / f"garbage-{kind}-{MEGABYTES}MB"
    if not path.exists():
        # Written a megabyte at a time: the peak RSS of this process is inherited by the cases'
        # processes, which it starts.
        generator = random.Random(17)
        partial = path.with_suffix(".partial")
        with open(partial, "wb") as out:
            if kind != "random":
                out.write(b"01234nam a2200289 a 4500")
            line = b"no record terminator in all of this text. "
            while (left := MEGABYTES * 1_000_000 - out.tell()) > 0:
                block = generator.randbytes(1 << 20) if kind == "random" else line * ((1 << 20) // len(line))
                out.write(block[:left])
        partial.replace(path)
    return str(path)


def case(kind: str, entry: str, on_error: str):  # type: ignore[no-untyped-def]
    def read(_: str) -> int:
        import marc_polars as mp
        from marc_polars import exceptions

        path = garbage(kind)
        try:
            if entry == "read_marc":
                return mp.read_marc(path, on_error=on_error).height  # type: ignore[arg-type]
            return sum(batch.height for batch in mp.iter_batches(path, on_error=on_error))  # type: ignore[arg-type]
        except exceptions.MarcError:
            return 0

    return read


CASES: dict[str, harness.Case] = {
    f"{kind}_{entry}_{on_error}": ({}, case(kind, entry, on_error))
    for kind in ("random", "leader_without_terminator")
    for entry in ("read_marc", "iter_batches")
    for on_error in ("raise", "skip", "collect", "repair")
}

if __name__ == "__main__":
    for kind in ("random", "leader_without_terminator"):
        garbage(kind)
    harness.main(__file__, CASES, [], __doc__, default_file=lambda: garbage("random"))
