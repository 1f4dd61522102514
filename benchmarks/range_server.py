"""An HTTP server that answers range requests, as object stores and web servers do: for the remote
sources' tests and benchmark, on 127.0.0.1."""

from __future__ import annotations

import http.server
import os
import re
from pathlib import Path


class RangeHandler(http.server.SimpleHTTPRequestHandler):
    """Serves a folder, answering `Range: bytes=a-b` with 206 and those bytes, copied from the file
    by the kernel."""

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        asked = re.fullmatch(r"bytes=(\d+)-(\d*)", self.headers.get("Range", ""))
        path = Path(self.translate_path(self.path))
        if asked is None or not path.is_file():
            super().do_GET()
            return
        size = path.stat().st_size
        start, end = int(asked[1]), min(int(asked[2] or size - 1), size - 1)
        self.send_response(206)
        self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.send_header("Content-Length", str(end - start + 1))
        self.end_headers()
        with open(path, "rb") as file:
            self.wfile.flush()
            os.sendfile(self.connection.fileno(), file.fileno(), start, end - start + 1)


def server(folder: str | Path, port: int = 0) -> http.server.ThreadingHTTPServer:
    """A server of `folder` on 127.0.0.1 (`port` 0: any free one), not yet serving."""
    return http.server.ThreadingHTTPServer(("127.0.0.1", port), lambda *a: RangeHandler(*a, directory=str(folder)))
