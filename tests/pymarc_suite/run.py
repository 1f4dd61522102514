"""Run pymarc 5.4.0's own, unmodified test suite against `marc_polars.pymarc`.

pymarc's tests come from its source distribution on PyPI (fetched and cached by
`benchmarks/fetch_data.py`). They open their data files relative to the working directory, so
they run from a temporary copy, with `substitution.py` as their conftest.

    python tests/pymarc_suite/run.py [pytest arguments, e.g. -k marc8]
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.append(str(HERE.parent.parent))

from benchmarks import fetch_data  # noqa: E402


@dataclass
class Outcome:
    passed: int = 0
    failed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    output: str = ""

    @property
    def total(self) -> int:
        return self.passed + len(self.failed) + len(self.skipped)


def run(*pytest_args: str, impl: str = "marc_polars.pymarc") -> Outcome:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        shutil.copytree(fetch_data.pymarc_tests(), work / "test")
        shutil.copy(HERE / "substitution.py", work / "conftest.py")
        junit = work / "junit.xml"
        completed = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "test",
                "-p",
                "no:cacheprovider",
                "-q",
                f"--junitxml={junit}",
                *pytest_args,
            ],
            cwd=work,
            env={**os.environ, "MARC_IMPL": impl},
            capture_output=True,
            text=True,
            check=False,  # the failures are read from the JUnit report
        )
        outcome = Outcome(output=completed.stdout + completed.stderr)
        if not junit.exists():
            raise RuntimeError(f"pymarc's test suite did not run:\n{outcome.output}")
        for case in ET.parse(junit).iter("testcase"):
            name = f"{case.get('classname')}.{case.get('name')}"
            if case.find("failure") is not None or case.find("error") is not None:
                outcome.failed.append(name)
            elif case.find("skipped") is not None:
                outcome.skipped.append(name)
            else:
                outcome.passed += 1
        return outcome


if __name__ == "__main__":
    result = run(*sys.argv[1:])
    print(result.output)
    print(f"{result.passed} passed, {len(result.failed)} failed, {len(result.skipped)} skipped of {result.total}")
    for name in result.failed:
        print("FAILED", name)
