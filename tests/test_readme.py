"""The README's examples run as written: each Python block in order, in one namespace, and each
command-line block, in a folder where the files they name are the bundled sample.

Blocks that show a signature (fenced ```python signature) are not examples. Shell blocks that
install, test or benchmark (their first word `pip`, `apt-get` or `python`) are what CI and
`benchmarks/` run themselves."""

from __future__ import annotations

import gzip
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

import marc_polars as mp

from conftest import ROOT

FENCE = re.compile(r"^```(\w+)( signature)?\n(.*?)^```$", re.MULTILINE | re.DOTALL)
BLOCKS = [(kind, text) for kind, signature, text in FENCE.findall((ROOT / "README.md").read_text()) if not signature]
PYTHON = [text for kind, text in BLOCKS if kind == "python"]
SHELL = [text for kind, text in BLOCKS if kind == "sh" and text.split()[0] not in ("pip", "apt-get", "python")]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The files the examples name: `catalogue.mrc`, `dumps/*.mrc`, `catalogue.mrc.gz`."""
    folder = tmp_path_factory.mktemp("readme")
    shutil.copy(mp.SAMPLE, folder / "catalogue.mrc")
    (folder / "dumps").mkdir()
    for name in ("a.mrc", "b.mrc"):
        shutil.copy(mp.SAMPLE, folder / "dumps" / name)
    (folder / "catalogue.mrc.gz").write_bytes(gzip.compress(Path(mp.SAMPLE).read_bytes()))
    return folder


@pytest.fixture(scope="module")
def namespace() -> dict[str, Any]:
    """One namespace for the Python blocks, which read as one session, top to bottom."""
    return {}


def test_the_readme_has_examples_of_each_kind():
    assert len(PYTHON) >= 10 and len(SHELL) >= 1


@pytest.mark.parametrize("block", PYTHON, ids=lambda text: text.splitlines()[0][:40])
def test_each_python_example_runs(block: str, folder: Path, namespace: dict[str, Any], monkeypatch):
    monkeypatch.chdir(folder)
    # The Arrow example hands its frame to pandas and DuckDB, which it leaves to the reader to import.
    namespace.setdefault("pd", pytest.importorskip("pandas"))
    namespace.setdefault("duckdb", pytest.importorskip("duckdb"))
    exec(compile(block, "README.md", "exec"), namespace)


@pytest.mark.parametrize("block", SHELL, ids=lambda text: text.splitlines()[0][:40])
def test_each_command_line_example_runs(block: str, folder: Path):
    for line in block.splitlines():
        done = subprocess.run(line, shell=True, cwd=folder, capture_output=True, text=True, timeout=300, check=False)
        assert done.returncode == 0, (line, done.stderr)
