"""A real HTTP server on loopback that serves `../shared/datasets` in the official download layouts.

`/full/<format>/<category><ext>` is the Quick, Draw! bucket layout (and `/sketchrnn/<category>.npz`, served
from `sketchrnn`, a folder a test fills), `/mnist/<file>` the MNIST mirror layout; `extra` maps further URL paths to files a test made. The server honours single byte ranges,
`If-Range`, HEAD, and can misbehave on purpose: cut the connection after K body bytes (once, on the
first answer longer than K), answer 503, stall, send slowly, or ignore Range. Every request is logged (path, Range, If-Range, status, bytes sent).
"""

from __future__ import annotations

import email.utils
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from inkrec.data.download.engine import Fetcher


class DatasetServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, datasets: Path):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.datasets = datasets
        self.extra: dict[str, Path] = {}
        self.sketchrnn: Path | None = None  # folder of <category>.npz served as /sketchrnn/
        self.log: list[dict] = []
        self.cut_after: dict[str, int] = {}  # path -> close the socket after K body bytes
        self.fail_times: dict[str, int] = {}  # path -> answer 503 this many times
        self.stall: dict[str, float] = {}  # path -> send the headers, then sleep this long (once)
        self.slow: dict[str, float] = {}  # path -> sleep this long after every 64 KiB sent (every answer)
        self.ignore_range = False
        self.lock = threading.Lock()

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def handle_error(self, request, client_address) -> None:
        """A client that hangs up (as a partial download does on purpose) is not a server error."""
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)

    def resolve(self, path: str) -> Path | None:
        if path in self.extra:
            return self.extra[path]
        parts = path.strip("/").split("/")
        if len(parts) == 3 and parts[0] == "full" and parts[1] in ("numpy_bitmap", "simplified", "raw", "binary"):
            candidate = self.datasets / "quickdraw" / parts[1] / parts[2]
        elif len(parts) == 2 and parts[0] == "sketchrnn" and self.sketchrnn is not None:
            candidate = self.sketchrnn / parts[1]
        elif len(parts) == 2 and parts[0] == "mnist":
            candidate = self.datasets / "mnist" / parts[1]
        else:
            return None
        return candidate if candidate.is_file() else None

    def requests_for(self, path: str) -> list[dict]:
        with self.lock:
            return [r for r in self.log if r["path"] == path]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: DatasetServer

    def log_message(self, format: str, *args: object) -> None:  # keep test output clean
        pass

    def do_HEAD(self) -> None:
        self._serve(body=False)

    def do_GET(self) -> None:
        self._serve(body=True)

    def _serve(self, body: bool) -> None:
        srv = self.server
        raw_path = urlsplit(self.path).path
        path = unquote(raw_path)
        entry = {"path": path, "raw_path": raw_path, "range": self.headers.get("Range"),
                 "if_range": self.headers.get("If-Range"), "status": None, "sent": 0}
        with srv.lock:
            srv.log.append(entry)
            fail = srv.fail_times.get(path, 0)
            if fail:
                srv.fail_times[path] = fail - 1
            cut = srv.cut_after.get(path)
            stall = srv.stall.pop(path, None)
            slow = srv.slow.get(path)
        file = srv.resolve(path)
        if fail:
            return self._status(entry, 503, "Service Unavailable")
        if file is None:
            return self._status(entry, 404, "Not Found")
        st = file.stat()
        size = st.st_size
        etag = f'"{size:x}-{st.st_mtime_ns:x}"'
        start, stop = 0, size - 1
        status = 200
        rng = self.headers.get("Range")
        if_range = self.headers.get("If-Range")
        if rng and not srv.ignore_range and (if_range is None or if_range == etag):
            spec = rng.removeprefix("bytes=")
            a, _, b = spec.partition("-")
            if a == "":
                start = max(0, size - int(b))
            else:
                start = int(a)
                stop = min(int(b), size - 1) if b else size - 1
            if start >= size:
                entry["status"] = 416
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{size}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            status = 206
        length = stop - start + 1
        with srv.lock:  # a cut applies once, to the first answer that is longer than K bytes
            if cut is not None and cut < length and body:
                del srv.cut_after[path]
            else:
                cut = None
        entry["status"] = status
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(length))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("ETag", etag)
        self.send_header("Last-Modified", email.utils.formatdate(st.st_mtime, usegmt=True))
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{stop}/{size}")
        self.end_headers()
        if not body:
            return
        budget = length if cut is None else min(cut, length)
        try:
            with open(file, "rb") as fh:
                fh.seek(start)
                while budget > 0:
                    chunk = fh.read(min(64 * 1024, budget))
                    if not chunk:
                        break
                    self.wfile.write(chunk)
                    entry["sent"] += len(chunk)
                    budget -= len(chunk)
                    if stall is not None:
                        self.wfile.flush()
                        time.sleep(stall)
                        stall = None
                    if slow:
                        self.wfile.flush()
                        time.sleep(slow)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
            return
        if cut is not None and cut < length:  # drop the connection mid-body
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _status(self, entry: dict, code: int, text: str) -> None:
        entry["status"] = code
        payload = text.encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


@pytest.fixture
def server(datasets: Path):
    srv = DatasetServer(datasets)
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join(timeout=5)


@pytest.fixture
def fetcher():
    """A Fetcher with test-sized back-off and time-out (quiet: no progress bar)."""
    with Fetcher(timeout=5.0, retries=3, backoff=0.01) as f:
        yield f
