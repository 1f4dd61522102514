from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
# Appended, not prepended: the installed package, not the source folder, is what the tests import.
sys.path.append(str(ROOT))

from benchmarks import fetch_data  # noqa: E402


@pytest.fixture(scope="session")
def booksall() -> Path:
    return fetch_data.booksall()


@pytest.fixture(scope="session")
def pymarc_test_dir() -> Path:
    return fetch_data.pymarc_tests()
