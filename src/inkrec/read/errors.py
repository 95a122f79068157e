"""What can be wrong with a line, with a stable code the API answers with."""

from __future__ import annotations

from inkrec.errors import InkrecError


class LineError(InkrecError, ValueError):
    """A line that cannot be read: no ink, too long, too large. `code` is the API's error code and `status`
    its HTTP status."""

    def __init__(self, code: str, message: str, status: int = 422):
        super().__init__(message)
        self.code = code
        self.status = status
        self.message = message
