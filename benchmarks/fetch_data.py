"""Fetch and cache the real data the benchmarks and the slow tests use.

pymarc 5.4.0's source distribution on PyPI carries 250,000 Library of Congress records
(BooksAll 2016 part 01, UTF-8, 241 MB, public domain) and pymarc's own test suite. This script
downloads it once with pip and keeps the pieces under the cache directory:
`$MARC_POLARS_CACHE`, else `~/.cache/marc_polars`.

    python benchmarks/fetch_data.py          # prints the path of the BooksAll file
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

PYMARC_VERSION = "5.4.0"
BOOKSALL = "BooksAll.2016.part01.utf8"
BOOKSALL_SIZE = 241_731_867


def cache_dir() -> Path:
    root = os.environ.get("MARC_POLARS_CACHE") or Path.home() / ".cache" / "marc_polars"
    path = Path(root) / f"pymarc-{PYMARC_VERSION}"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _fetch_sdist(into: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--no-deps",
                "--no-binary",
                ":all:",
                f"pymarc=={PYMARC_VERSION}",
                "-d",
                tmp,
            ],
            check=True,
        )
        (sdist,) = Path(tmp).glob("pymarc-*.tar.gz")
        prefix = f"pymarc-{PYMARC_VERSION}/"
        with tarfile.open(sdist) as tar:
            for member in tar.getmembers():
                name = member.name.removeprefix(prefix)
                if member.isfile() and (name == BOOKSALL or name.startswith("test/")):
                    target = into / name
                    target.parent.mkdir(parents=True, exist_ok=True)
                    partial = target.with_suffix(target.suffix + ".partial")
                    with tar.extractfile(member) as src, open(partial, "wb") as dst:  # type: ignore[union-attr]
                        while block := src.read(1 << 20):
                            dst.write(block)
                    partial.replace(target)


def booksall() -> Path:
    """The path of the 250,000-record BooksAll file, fetched on first use."""
    path = cache_dir() / BOOKSALL
    if not path.exists() or path.stat().st_size != BOOKSALL_SIZE:
        _fetch_sdist(cache_dir())
    return path


def booksall_marc8() -> Path:
    """BooksAll converted to MARC-8 (leader/09 blank) by YAZ, an encoder independent of this project
    (`apt-get install yaz`), made on first use and cached beside it."""
    utf8 = booksall()
    target = utf8.with_name(utf8.name + ".marc8")
    if not target.exists():
        if shutil.which("yaz-marcdump") is None:
            raise RuntimeError("yaz-marcdump makes the MARC-8 version of BooksAll: apt-get install yaz")
        partial = target.with_suffix(".partial")
        with open(partial, "wb") as out:
            subprocess.run(
                ["yaz-marcdump", "-i", "marc", "-o", "marc", "-f", "utf8", "-t", "marc8", "-l", "9=32", str(utf8)],
                stdout=out,
                check=True,
            )
        partial.replace(target)
    return target


def pymarc_tests() -> Path:
    """The folder of pymarc's own test suite and its data files, fetched on first use."""
    path = cache_dir() / "test"
    if not (path / "test_reader.py").exists():
        _fetch_sdist(cache_dir())
    return path


if __name__ == "__main__":
    print(booksall())
