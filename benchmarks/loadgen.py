"""A small closed-loop HTTP load generator for the serving benchmarks (loopback only).

N clients, each on its own keep-alive connection, send prepared requests back to back for a fixed time
and record each request's latency. It writes prebuilt request bytes to raw sockets and parses only the
status line and Content-Length, so the client costs a few tens of microseconds per request: on a small
machine it shares the CPU with the server it measures, and a heavy client would blame the server for
its own overhead. Servers that close the connection after each answer (HTTP/1.0, Flask's development
server) are handled by reconnecting, which is part of what their clients pay too.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from dataclasses import dataclass, field

import numpy as np

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def json_request(host: str, port: int, path: str, payload: dict) -> bytes:
    body = json.dumps(payload, separators=(",", ":")).encode()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nAccept: application/json\r\n\r\n"
    ).encode()
    return head + body


def multipart_request(
    host: str,
    port: int,
    path: str,
    file_bytes: bytes,
    fields: dict | None = None,
    filename: str = "drawing.png",
    mime: str = "image/png",
) -> bytes:
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in (fields or {}).items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        )
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        f"Content-Type: {mime}\r\n\r\n".encode()
        + file_bytes
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    body = b"".join(parts)
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {len(body)}\r\n"
        "Accept: application/json\r\n\r\n"
    ).encode()
    return head + body


@dataclass
class LoadResult:
    latencies_ms: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    errors: int = 0
    seconds: float = 0.0
    bodies: list[bytes] = field(default_factory=list)
    first_error: bytes | None = None

    def summary(self) -> dict:
        lat = np.asarray(self.latencies_ms) if self.latencies_ms else np.asarray([np.nan])
        ok = self.statuses.get(200, 0)
        return {
            "requests": len(self.latencies_ms),
            "ok": ok,
            "non_200": len(self.latencies_ms) - ok,
            "errors": self.errors,
            "statuses": dict(sorted(self.statuses.items())),
            "first_error": self.first_error.decode("utf-8", "replace") if self.first_error else None,
            "seconds": round(self.seconds, 2),
            "rps": round(len(self.latencies_ms) / self.seconds, 1) if self.seconds else 0.0,
            "p50_ms": round(float(np.percentile(lat, 50)), 3),
            "p90_ms": round(float(np.percentile(lat, 90)), 3),
            "p99_ms": round(float(np.percentile(lat, 99)), 3),
            "max_ms": round(float(lat.max()), 3),
        }


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    """(status, body, server keeps the connection open)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    version, status = lines[0].split(b" ", 2)[:2]
    length, close, chunked = None, version == b"HTTP/1.0", False
    for line in lines[1:]:
        key, _, value = line.partition(b":")
        key = key.strip().lower()
        value = value.strip().lower()
        if key == b"content-length":
            length = int(value)
        elif key == b"connection":
            close = value == b"close" if version != b"HTTP/1.0" else value != b"keep-alive"
        elif key == b"transfer-encoding" and b"chunked" in value:
            chunked = True
    if chunked:
        chunks = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip().split(b";")[0], 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                break
            chunks.append(await reader.readexactly(size))
            await reader.readexactly(2)
        body = b"".join(chunks)
    elif length is not None:
        body = await reader.readexactly(length)
    else:
        body = await reader.read()
        close = True
    return int(status), body, not close


async def _client(host, port, requests, offset, stop_at, result: LoadResult, keep_bodies: int):
    reader = writer = None
    i = offset
    while time.perf_counter() < stop_at:
        req = requests[i % len(requests)]
        i += 1
        t0 = time.perf_counter()
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection(host, port)
            writer.write(req)
            status, body, keep = await _read_response(reader)
        except (OSError, asyncio.IncompleteReadError, ValueError):
            result.errors += 1
            if writer is not None:
                writer.close()
            reader = writer = None
            await asyncio.sleep(0.001)
            continue
        result.latencies_ms.append((time.perf_counter() - t0) * 1e3)
        result.statuses[status] = result.statuses.get(status, 0) + 1
        if len(result.bodies) < keep_bodies:
            result.bodies.append(body)
        if status != 200 and result.first_error is None:
            result.first_error = body[:300]
        if not keep:
            writer.close()
            reader = writer = None
    if writer is not None:
        writer.close()


def run_load(
    host: str,
    port: int,
    requests: list[bytes],
    *,
    clients: int = 8,
    seconds: float = 30.0,
    warmup_s: float = 2.0,
    keep_bodies: int = 0,
) -> LoadResult:
    """Closed loop: `clients` connections, each sending the next request as soon as its answer is in."""
    if host not in LOOPBACK:
        raise ValueError("the load generator only targets loopback addresses")

    async def main() -> LoadResult:
        if warmup_s > 0:
            warm = LoadResult()
            stop = time.perf_counter() + warmup_s
            await asyncio.gather(*(_client(host, port, requests, k, stop, warm, 0) for k in range(clients)))
        result = LoadResult()
        t0 = time.perf_counter()
        stop = t0 + seconds
        await asyncio.gather(
            *(_client(host, port, requests, k * 7, stop, result, keep_bodies) for k in range(clients))
        )
        result.seconds = time.perf_counter() - t0
        return result

    try:
        import uvloop  # optional: the serve extra has it, a bare client machine may not

        return uvloop.run(main())
    except ModuleNotFoundError:
        return asyncio.run(main())
