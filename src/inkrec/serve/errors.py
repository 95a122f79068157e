"""Errors the API answers with: one JSON shape for all of them, `{"error": {"code": ..., "message": ...}}`."""

from __future__ import annotations

import json


class ApiError(Exception):
    """A request we refuse, with the HTTP status and a stable machine-readable code."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def error_body(code: str, message: str) -> bytes:
    return json.dumps({"error": {"code": code, "message": message}}, ensure_ascii=False).encode()
