"""Remote sources: BooksAll read from an HTTP server that answers range requests and from an
S3-compatible server (moto's), both started here on 127.0.0.1 in processes of their own, against
the same file read locally, and against downloading it whole from the same HTTP server (what the
server and the loopback can give). `_gz` cases read the gzipped file.

The servers are Python: their throughput, not the reader's, bounds the remote cases; the ratio to
`http_download` says how much of it the reader uses.

    python benchmarks/bench_remote.py [--repeat 3] [--file PATH]
"""

from __future__ import annotations

import gzip
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import polars as pl

import harness
import range_server

#: The bucket and key the S3 cases read.
S3_URL = "s3://bench/booksall.mrc"


def s3_options() -> dict[str, str]:
    return {
        "aws_endpoint_url": os.environ["BENCH_S3_ENDPOINT"],
        "aws_access_key_id": "bench",
        "aws_secret_access_key": "bench",
        "aws_region": "us-east-1",
        "allow_http": "true",
    }


def local(path: str) -> pl.DataFrame:
    import marc_polars as mp

    return mp.read_marc(path)


def local_gz(path: str) -> pl.DataFrame:
    import marc_polars as mp

    return mp.read_marc(os.environ["BENCH_GZ_PATH"])


def over_http(path: str) -> pl.DataFrame:
    import marc_polars as mp

    return mp.read_marc(os.environ["BENCH_HTTP"] + "/booksall.mrc", storage_options={"allow_http": "true"})


def over_http_gz(path: str) -> pl.DataFrame:
    import marc_polars as mp

    return mp.read_marc(os.environ["BENCH_HTTP"] + "/booksall.mrc.gz", storage_options={"allow_http": "true"})


def http_download(path: str) -> int:
    with urllib.request.urlopen(os.environ["BENCH_HTTP"] + "/booksall.mrc") as response:
        while response.read(8 << 20):
            pass
    return 250_000


def over_s3(path: str) -> pl.DataFrame:
    import marc_polars as mp

    return mp.read_marc(S3_URL, storage_options=s3_options())


CASES: dict[str, harness.Case] = {
    "local": ({}, local),
    "http_download": ({}, http_download),
    "http": ({}, over_http),
    "s3": ({}, over_s3),
    "local_gz": ({}, local_gz),
    "http_gz": ({}, over_http_gz),
}


def serve_http(folder: str, port: int) -> None:
    range_server.server(folder, port).serve_forever()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(port: int) -> None:
    for _ in range(200):
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"no server on port {port}")


def start_servers(file: str, folder: str) -> list[subprocess.Popen[bytes]]:
    """The HTTP server over `folder` (the file and its gzipped twin) and moto's S3 server holding
    the file; their addresses in the environment the cases inherit."""
    shutil.copy(file, Path(folder) / "booksall.mrc")
    gz = Path(folder) / "booksall.mrc.gz"
    gz.write_bytes(gzip.compress(Path(file).read_bytes(), compresslevel=6))
    http_port, s3_port = free_port(), free_port()
    servers = [
        subprocess.Popen([sys.executable, __file__, "--serve-http", folder, str(http_port)]),
        subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(s3_port)]),
    ]
    wait_for(http_port)
    wait_for(s3_port)
    os.environ["BENCH_HTTP"] = f"http://127.0.0.1:{http_port}"
    os.environ["BENCH_S3_ENDPOINT"] = f"http://127.0.0.1:{s3_port}"
    os.environ["BENCH_GZ_PATH"] = str(gz)
    import boto3

    options = s3_options()
    client = boto3.client(
        "s3",
        endpoint_url=options["aws_endpoint_url"],
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
        region_name="us-east-1",
    )
    client.create_bucket(Bucket="bench")
    client.upload_file(file, "bench", "booksall.mrc")
    return servers


if __name__ == "__main__":
    if sys.argv[1:2] == ["--serve-http"]:
        serve_http(sys.argv[2], int(sys.argv[3]))
    elif "--case" in sys.argv:
        harness.main(__file__, CASES, ["local", "http_download"], __doc__)
    else:
        file = sys.argv[sys.argv.index("--file") + 1] if "--file" in sys.argv else None
        if file is None:
            from benchmarks.fetch_data import booksall

            file = str(booksall())
        with tempfile.TemporaryDirectory() as folder:
            servers = start_servers(file, folder)
            try:
                harness.main(__file__, CASES, ["local", "http_download"], __doc__, default_file=lambda: file)
            finally:
                for server in servers:
                    server.terminate()
