"""Errors the API answers with: one JSON shape for all of them, `{"error": {"code": ..., "message": ...}}`."""

from __future__ import annotations

import json

from pydantic import ValidationError


class ApiError(Exception):
    """A request we refuse, with the HTTP status and a stable machine-readable code."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def error_body(code: str, message: str) -> bytes:
    return json.dumps({"error": {"code": code, "message": message}}, ensure_ascii=False).encode()


def validation_message(errors: list[dict]) -> tuple[str, str]:
    """(code, message) for pydantic's errors about a request: what a client needs to fix, briefly."""
    broken = next((e for e in errors if e.get("type") == "json_invalid"), None)
    if broken is not None:
        return "invalid_json", f"body is not valid JSON: {broken.get('ctx', {}).get('error', broken.get('msg'))}"
    parts = []
    for e in errors[:5]:
        loc = ".".join(str(p) for p in e.get("loc", ()) if p != "body")
        if loc == "strokes" and e.get("type") == "too_short":
            return "empty_drawing", "the drawing has no strokes"
        parts.append(f"{loc or 'body'}: {e.get('msg')}")
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    return "invalid_request", "; ".join(parts) + more


def invalid_body(exc: ValidationError) -> ApiError:
    """The ApiError for a request body that pydantic refused: 400 for broken JSON, else 422."""
    code, message = validation_message(exc.errors())
    return ApiError(400 if code == "invalid_json" else 422, code, message)
