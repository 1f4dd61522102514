"""What a release promises about the installed package: one version, set in Cargo.toml, and an
extension built for the stable ABI. (The wheel itself is built and installed in a clean
environment by `.ci/run`, with tools/check_wheel.py.)"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

import pytest

import marc_polars as mp
from marc_polars import _native

from conftest import ROOT


def cargo_version() -> str:
    with open(ROOT / "Cargo.toml", "rb") as manifest:
        return str(tomllib.load(manifest)["package"]["version"])


def test_the_version_is_cargo_tomls_and_nowhere_else():
    with open(ROOT / "pyproject.toml", "rb") as project:
        metadata = tomllib.load(project)["project"]
    assert "version" not in metadata and "version" in metadata["dynamic"]
    assert mp.__version__ == cargo_version()


def test_the_changelog_starts_with_this_version():
    heading = re.search(r"^## (\S+)", (ROOT / "CHANGELOG.md").read_text(encoding="utf-8"), re.MULTILINE)
    assert heading is not None and heading.group(1) == cargo_version()


@pytest.mark.skipif(sys.platform == "win32", reason="Windows names no ABI in an extension's file name")
def test_the_extension_is_built_for_the_stable_abi():
    # An abi3 extension is named `_native.abi3.so`; one tied to a Python version carries its tag
    # (`_native.cpython-311-x86_64-linux-gnu.so`), and only that Python can load it.
    assert Path(_native.__file__).name == "_native.abi3.so"
