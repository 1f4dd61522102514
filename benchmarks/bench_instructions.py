"""Instructions the pymarc-compatible reader takes, counted by callgrind, against another build.

Timings on a shared machine move by tens of percent from run to run; instruction counts do not.
For this Python and the `--baseline` one (where another build of marc_polars is installed), each
script runs once under `valgrind --tool=callgrind` on the first `--records` BooksAll records: the
titles script (`record["245"]["a"]`), the every-field script, and a run that only imports the
package and opens the file, whose count is taken off the other two.

    apt-get install -y valgrind
    python benchmarks/bench_instructions.py --baseline PYTHON [--records 25000]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parent.parent))

from bench_convert import count_records

#: What each run does with the reader, after the same imports and the same open.
SCRIPT = """
import sys
import marc_polars.pymarc as pymarc

with open(sys.argv[1], "rb") as handle:
    if sys.argv[2] == "titles":
        print(sum(1 for record in pymarc.MARCReader(handle) if record["245"]["a"]))
    elif sys.argv[2] == "fields":
        print(sum(len(field.tag) for record in pymarc.MARCReader(handle) for field in record.fields))
"""

MODES = ("imports", "titles", "fields")


def instructions(python: str, script: Path, data: Path, mode: str) -> int:
    command = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", python, str(script), str(data), mode]
    done = subprocess.run(command, capture_output=True, text=True, check=True, cwd="/")
    collected = re.search(r"Collected : (\d+)", done.stderr)
    assert collected is not None, done.stderr
    return int(collected.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", metavar="PYTHON", required=True)
    parser.add_argument("--records", type=int, default=25_000)
    args = parser.parse_args()
    from benchmarks.fetch_data import booksall

    with tempfile.TemporaryDirectory() as folder:
        script, data = Path(folder) / "script.py", Path(folder) / "slice.mrc"
        script.write_text(SCRIPT)
        source = booksall()
        _, size = count_records(source, args.records)
        with open(source, "rb") as handle:
            data.write_bytes(handle.read(size))
        counts = {
            python: {mode: instructions(python, script, data, mode) for mode in MODES}
            for python in (sys.executable, args.baseline)
        }
    ours, theirs = counts[sys.executable], counts[args.baseline]
    print(f"First {args.records:,} BooksAll records; millions of instructions, less the imports' run.\n")
    print(f"| script | {sys.executable} | {args.baseline} | difference |")
    print("|---|---|---|---|")
    print(
        f"| imports and open | {ours['imports'] / 1e6:,.1f} | {theirs['imports'] / 1e6:,.1f} | "
        f"{ours['imports'] / theirs['imports'] - 1:+.1%} |"
    )
    for mode in MODES[1:]:
        mine, base = ours[mode] - ours["imports"], theirs[mode] - theirs["imports"]
        print(f"| {mode} | {mine / 1e6:,.1f} | {base / 1e6:,.1f} | {mine / base - 1:+.1%} |")


if __name__ == "__main__":
    main()
