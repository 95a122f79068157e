"""The server's outer layer (plain ASGI: microseconds): limits, deadlines, headers, last-resort errors.

- Cross-origin isolation on every response (COOP same-origin, COEP require-corp): the page runs the
  model with multi-threaded WebAssembly, which browsers only allow in an isolated page, and isolation
  needs the headers on every file the page loads.
- A request body cap, checked on the declared Content-Length AND while the body streams in (a client can
  lie about, or leave out, Content-Length).
- A deadline per API request: a request that takes too long (a slow client, a huge picture) gets a 503
  JSON answer instead of tying up the server.
- Anything unexpected becomes a 500 JSON error (and a log line) instead of a dropped connection.
"""

from __future__ import annotations

import asyncio
import logging

from inkrec.serve.errors import error_body

log = logging.getLogger("inkrec.serve")

ISOLATION_HEADERS = [
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-embedder-policy", b"require-corp"),
]


class BodyTooLarge(Exception):
    """Raised from `receive` when a request body passes its cap."""

    def __init__(self, limit: int):
        super().__init__(f"request body is larger than {limit:,} bytes")
        self.limit = limit


class ServeGuard:
    def __init__(
        self,
        app,
        *,
        max_json_bytes: int,
        max_upload_bytes: int,
        timeout_s: float,
        deadline_prefix: str = "/v1/",
    ):
        self.app = app
        self.max_json_bytes = max_json_bytes
        self.max_upload_bytes = max_upload_bytes
        self.timeout_s = timeout_s
        self.deadline_prefix = deadline_prefix

    def _limit_for(self, content_type: bytes) -> int:
        return self.max_upload_bytes if content_type.startswith(b"multipart/") else self.max_json_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_isolated(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message = dict(message)
                message["headers"] = [*message.get("headers", ()), *ISOLATION_HEADERS]
            await send(message)

        async def answer(status: int, code: str, text: str, close: bool = False):
            if started:
                return
            body = error_body(code, text)
            headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
            if close:
                headers.append((b"connection", b"close"))
            await send_isolated({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body})

        content_type, declared = b"", None
        for key, value in scope["headers"]:
            if key == b"content-type":
                content_type = value.lower()
            elif key == b"content-length":
                declared = value
        limit = self._limit_for(content_type)
        if declared is not None:
            try:
                declared_len = int(declared)
            except ValueError:
                await answer(400, "bad_request", "Content-Length is not a number", close=True)
                return
            if declared_len > limit:
                await answer(413, "payload_too_large", f"request body is larger than {limit:,} bytes", True)
                return

        received = 0

        async def receive_capped():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        try:
            if scope.get("path", "").startswith(self.deadline_prefix):
                async with asyncio.timeout(self.timeout_s):  # a timer on this task, no extra task
                    await self.app(scope, receive_capped, send_isolated)
            else:
                await self.app(scope, receive_capped, send_isolated)
        except BodyTooLarge as exc:
            await answer(413, "payload_too_large", str(exc), close=True)
        except TimeoutError:
            await answer(503, "timeout", f"the request took longer than {self.timeout_s:g} s", close=True)
        except Exception:
            log.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
            await answer(500, "internal_error", "internal error (logged on the server)")
