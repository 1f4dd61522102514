"""pymarc 5.4.0's own test suite, unmodified, passes against `marc_polars.pymarc`.

The suite comes from pymarc's source distribution on PyPI and runs in a subprocess with pymarc
replaced by the shim (see `pymarc_suite/substitution.py`); the real pymarc is never loaded there.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parent / "pymarc_suite"))

import run

#: Tests in pymarc 5.4.0's suite.
PYMARC_TESTS = 174


def test_pymarc_own_suite_passes_against_the_shim():
    outcome = run.run()
    assert outcome.failed == [] and outcome.skipped == [], outcome.output[-5000:]
    assert outcome.passed == PYMARC_TESTS
