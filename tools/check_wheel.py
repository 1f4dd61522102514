"""Installs a built wheel as a new user would and runs the package's main job with it.

A fresh virtual environment is made in a temporary folder; its PATH holds the environment's own
scripts and every folder of the caller's PATH that has no `cargo` or `rustc` in it, so that nothing
can be compiled. Into it `pip` installs the wheel and, from the package index, its dependencies as
wheels only (`--only-binary=:all:`). Then, from a folder outside the source tree, `marc-polars` reads
the bundled sample and a `read_marc` and a `scan_marc` query run. The wheel's tags are printed.

    python tools/check_wheel.py dist/marc_polars-*.whl [--python python3.13]

Exits non-zero, saying what failed, if any step fails. Runs on Linux, macOS and Windows.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

#: The query run in the new environment: the sample read whole and scanned lazily, checked against
#: each other, and where the package was loaded from printed (it must be the new environment).
QUERY = """
import os
import sys

import polars as pl
import marc_polars as mp

loaded, prefix = os.path.realpath(mp.__file__), os.path.realpath(sys.prefix)
assert loaded.startswith(prefix), f"marc_polars loaded from {loaded}, not from {prefix}"

frame = mp.read_marc(mp.SAMPLE)
english = mp.scan_marc(mp.SAMPLE, columns=mp.BIBLIOGRAPHIC).filter(pl.col("language") == "eng")
counted = english.select(pl.len()).collect().item()
assert frame.height == 1000 and 0 < counted <= frame.height, (frame.height, counted)
print(f"Python {sys.version.split()[0]}: marc_polars {mp.__version__} from {mp.__file__}")
print(f"read_marc: {frame.height} records; scan_marc: {counted} in English")
"""


def wheel_tags(wheel: Path) -> list[str]:
    """The `Tag:` lines of the wheel's WHEEL file: the interpreters, ABIs and platforms it serves."""
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/WHEEL"))
        lines = archive.read(name).decode().splitlines()
    return [line.split(":", 1)[1].strip() for line in lines if line.startswith("Tag:")]


def path_without_compilers() -> list[str]:
    """The caller's PATH less every folder that holds a Rust compiler or its build tool."""
    return [
        folder
        for folder in os.environ.get("PATH", "").split(os.pathsep)
        if folder and not any(shutil.which(tool, path=folder) for tool in ("cargo", "rustc"))
    ]


def run(command: list[str], env: dict[str, str], cwd: Path) -> None:
    print("$", " ".join(command), flush=True)
    subprocess.run(command, env=env, cwd=cwd, check=True)


def check(wheel: Path, interpreter: str) -> None:
    print(f"Wheel: {wheel.name}, {wheel.stat().st_size / 1e6:.1f} MB")
    for tag in wheel_tags(wheel):
        print(f"Tag: {tag}")
    with tempfile.TemporaryDirectory(prefix="marc_polars_wheel_") as folder:
        home = Path(folder)
        environment = home / "venv"
        subprocess.run([interpreter, "-m", "venv", str(environment)], check=True)
        scripts = environment / ("Scripts" if os.name == "nt" else "bin")
        path = os.pathsep.join([str(scripts), *path_without_compilers()])
        for tool in ("cargo", "rustc"):
            if found := shutil.which(tool, path=path):
                raise SystemExit(f"{tool} is still on the new environment's PATH: {found}")
        env = {**os.environ, "PATH": path, "VIRTUAL_ENV": str(environment), "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
        env.pop("PYTHONPATH", None)
        python = str(scripts / "python")
        run([python, "-m", "pip", "install", "-q", "--only-binary=:all:", str(wheel.resolve())], env, home)
        run([str(scripts / "marc-polars")], env, home)
        run([python, "-c", QUERY], env, home)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("wheel", type=Path)
    parser.add_argument("--python", default=sys.executable, help="the Python that makes the environment")
    args = parser.parse_args()
    check(args.wheel, args.python)


if __name__ == "__main__":
    main()
