"""Remote sources: object stores and HTTP, on real servers started here, on 127.0.0.1 only.

An S3-compatible server (moto's) and an HTTP server that answers range requests serve files of
`tests/data`; every reader, the split planner and the command line read them as they read the local
files. A missing object, a denied bucket and a refused connection are errors naming the URL.
"""

from __future__ import annotations

import gzip
import os
import re
import shutil
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest

import marc_polars as mp
from benchmarks import range_server
from marc_polars import cli

from conftest import DATA, local_s3

FILES = [
    Path(mp.SAMPLE),
    DATA / "broken" / "marc4j__pride-and-prejudice-with-many-errors.mrc",
    DATA / "forms" / "pulibrary__three_records_one_bad_utf8.xml",
    DATA / "forms" / "traject__test_data.utf8.json",
]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base URL of an HTTP server on 127.0.0.1 serving FILES and a gzipped sample."""
    folder = tmp_path_factory.mktemp("served")
    for path in FILES:
        shutil.copy(path, folder / path.name)
    (folder / "sample.mrc.gz").write_bytes(gzip.compress(Path(mp.SAMPLE).read_bytes()))
    server = range_server.server(folder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


#: The HTTP store's settings: plain http on 127.0.0.1.
HTTP = {"allow_http": "true"}


@pytest.fixture(scope="module")
def s3() -> Iterator[dict[str, str]]:
    """A local S3 with bucket `dumps` holding FILES and a gzipped sample under `marc/`, and a text
    file elsewhere; the storage options that reach it."""
    objects = {f"marc/{path.name}": path.read_bytes() for path in FILES}
    objects["marc/sample.mrc.gz"] = gzip.compress(Path(mp.SAMPLE).read_bytes())
    objects["other/notes.txt"] = b"not MARC"
    with local_s3("dumps", objects) as options:
        yield options


KEYS = {"include_file_paths": "path", "include_byte_offsets": "offset"}


def local(path: Path, **options: object) -> pl.DataFrame:
    return mp.read_marc(path, on_error="collect", **options)  # type: ignore[arg-type]


def same(remote: pl.DataFrame, local: pl.DataFrame) -> bool:
    """Whether two frames are equal but for the sources their errors name, and their record
    numbers (a split counts from its first record)."""
    unnamed = pl.col("error").str.replace(r"^(\w+): .*?: record \d+ at", "$1: at")
    return remote.with_columns(unnamed).equals(local.with_columns(unnamed))


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_a_file_over_http_reads_as_the_local_file(path, served):
    url = f"{served}/{path.name}"
    expected = local(path, include_byte_offsets="offset")
    assert same(mp.read_marc(url, on_error="collect", include_byte_offsets="offset", storage_options=HTTP), expected)
    lazy = mp.scan_marc(url, on_error="collect", include_byte_offsets="offset", storage_options=HTTP)
    assert same(lazy.collect(), expected)
    batches = mp.iter_batches(
        url, batch_size=50, on_error="collect", storage_options=HTTP, include_byte_offsets="offset"
    )
    assert same(pl.concat(batches), expected)


def test_a_compressed_file_over_http_is_decompressed_as_it_streams(served):
    url = f"{served}/sample.mrc.gz"
    assert mp.read_marc(url, storage_options=HTTP).equals(mp.read_marc(mp.SAMPLE))


def test_a_glob_over_s3_reads_every_object_it_matches_in_order(s3):
    # The store lists keys in name order; the local files' folders must not decide the order.
    mrc = sorted((p for p in FILES if p.suffix == ".mrc"), key=lambda p: p.name)
    frame = mp.read_marc("s3://dumps/marc/*.mrc", on_error="collect", storage_options=s3, **KEYS)
    assert frame["path"].unique(maintain_order=True).to_list() == [f"s3://dumps/marc/{p.name}" for p in mrc]
    expected = pl.concat([local(p, **KEYS) for p in mrc]).drop("path")
    assert same(frame.drop("path"), expected)
    lazy = mp.scan_marc("s3://dumps/marc/*.mrc", columns=mp.BIBLIOGRAPHIC, on_error="skip", storage_options=s3)
    assert lazy.collect().equals(mp.read_marc(mrc, columns=mp.BIBLIOGRAPHIC, on_error="skip"))


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_an_object_in_s3_read_in_splits_is_the_local_file(path, s3):
    url = f"s3://dumps/marc/{path.name}"
    splits = mp.plan_splits(url, 4096, storage_options=s3)
    assert splits[-1].end == path.stat().st_size
    frames = [mp.read_split(s, on_error="collect", include_byte_offsets="offset", storage_options=s3) for s in splits]
    assert same(pl.concat(frames), local(path, include_byte_offsets="offset"))


def test_a_compressed_object_is_one_split(s3):
    url = "s3://dumps/marc/sample.mrc.gz"
    [split] = mp.plan_splits(url, 4096, storage_options=s3)
    assert mp.read_split(split, storage_options=s3).equals(mp.read_marc(mp.SAMPLE))


def test_credentials_come_from_the_environment_when_not_given(s3, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3["aws_endpoint_url"])
    monkeypatch.setenv("AWS_ALLOW_HTTP", "true")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    assert mp.read_marc("s3://dumps/marc/booksall_sample.mrc").equals(mp.read_marc(mp.SAMPLE))


def test_the_command_line_reads_an_object_store(s3, tmp_path):
    out = tmp_path / "out.parquet"
    options = [f"--storage-option={key}={value}" for key, value in s3.items()]
    assert cli.main(["convert", "s3://dumps/marc/booksall_sample.mrc", "-o", str(out), *options]) == 0
    assert pl.read_parquet(out).equals(mp.read_marc(mp.SAMPLE))


def test_a_missing_object_is_file_not_found_naming_its_url(served, s3):
    with pytest.raises(FileNotFoundError, match=re.escape("s3://dumps/marc/missing.mrc")):
        mp.read_marc("s3://dumps/marc/missing.mrc", storage_options=s3)
    with pytest.raises(FileNotFoundError, match=re.escape(f"{served}/missing.mrc")):
        mp.read_marc(f"{served}/missing.mrc", storage_options=HTTP)
    with pytest.raises(FileNotFoundError, match=re.escape("s3://dumps/none/*.mrc")):
        mp.read_marc("s3://dumps/none/*.mrc", storage_options=s3)


def test_a_pattern_over_http_is_an_error_saying_why(served):
    with pytest.raises(OSError, match="lists no files"):
        mp.read_marc(f"{served}/*.mrc", storage_options=HTTP)


def test_a_refused_connection_is_an_error_naming_the_url():
    with socket.socket() as probe:  # a port on which nothing listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/dump.mrc"
    with pytest.raises(OSError, match=re.escape(url)):
        mp.read_marc(url, storage_options=HTTP)


def test_plain_http_is_refused_unless_allowed(served):
    with pytest.raises(OSError, match=re.escape(f"{served}/booksall_sample.mrc")):
        mp.read_marc(f"{served}/booksall_sample.mrc")
    assert os.environ.get("AWS_ALLOW_HTTP") is None
