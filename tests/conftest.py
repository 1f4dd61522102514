from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
# Appended, not prepended: the installed package, not the source folder, is what the tests import.
sys.path.append(str(ROOT))

from benchmarks import fetch_data  # noqa: E402

#: The truncated download, tested for its error; every other file in tests/data reads whole.
TRUNCATED = DATA / "marc4j__008008027.mrc"
#: Real files that read without error (UTF-8 or plain ASCII), all of which pymarc reads too.
READABLE = sorted(p for p in DATA.iterdir() if p.is_file() and p.suffix not in (".md", ".txt") and p != TRUNCATED)
#: Real MARC-8 files (leader/09 blank), of every script MARC-8 has.
MARC8 = sorted((DATA / "marc8").iterdir())
#: Damaged files from real life: bad lengths, directories, indicators, encodings, truncations.
BROKEN = sorted((DATA / "broken").iterdir())
#: The corpus's odd but sound records (`edge/`): seven read whole and sit in tests/data, two do not.
EDGE = sorted(
    [
        *(
            DATA / name
            for name in (
                "filemarc__bad_example.mrc",
                "marc4j__bad-characters-in-various-fields.mrc",
                "marc4j__unordered-directory-entries.mrc",
                "rubymarc__non-numeric.dat",
                "rubymarc__random_tag_order.dat",
                "rubymarc__random_tag_order2.dat",
                "traject__emptyish_record.marc",
            )
        ),
        *(DATA / "edge").iterdir(),
    ]
)


def run_python(
    code: str, *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Runs Python `code` in a child process, with `args` as `sys.argv[1:]`: for what could hang or
    abort, so that it fails its test rather than the run. `cwd` should be away from the source
    tree, whose package folder would shadow the installed package."""
    command = [sys.executable, "-c", code, *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=cwd, env=env, check=False)


@contextlib.contextmanager
def local_s3(bucket: str, objects: Mapping[str, bytes]) -> Iterator[dict[str, str]]:
    """An S3 server (moto's) on 127.0.0.1 for as long as the block runs, with `bucket` holding
    `objects` by key; yields the storage options that reach it."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        endpoint = "http://{}:{}".format(*server.get_host_and_port())
        keys = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
        client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", **keys)
        client.create_bucket(Bucket=bucket)
        for key, body in objects.items():
            client.put_object(Bucket=bucket, Key=key, Body=body)
        yield {"aws_endpoint_url": endpoint, **keys, "aws_region": "us-east-1", "allow_http": "true"}
    finally:
        server.stop()


def record_lengths(data: bytes) -> list[int]:
    """Record lengths read straight from the leaders, independently of the reader under test."""
    lengths, pos = [], 0
    while pos + 5 <= len(data):
        lengths.append(int(data[pos : pos + 5]))
        pos += lengths[-1]
    return lengths


@pytest.fixture(scope="session")
def booksall() -> Path:
    return fetch_data.booksall()


@pytest.fixture(scope="session")
def pymarc_test_dir() -> Path:
    return fetch_data.pymarc_tests()


def pytest_terminal_summary(terminalreporter) -> None:  # type: ignore[no-untyped-def]
    """Lists, file by file, the records that no repair reads (recorded by tests/test_repair.py)."""
    left = [
        value
        for report in terminalreporter.stats.get("passed", []) + terminalreporter.stats.get("failed", [])
        for name, value in report.user_properties
        if name == "left_damaged"
    ]
    if left:
        terminalreporter.write_sep("-", 'records left damaged under on_error="repair" (of rows), by file')
        for line in left:
            if not line.split(": ")[-1].startswith("0 of"):
                terminalreporter.write_line(line)
        terminalreporter.write_line(f"every other of the {len(left)} files: none")
