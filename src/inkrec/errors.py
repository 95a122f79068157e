"""Errors a user can act on.

Every failure caused by input (a corrupt file, a bad request, an unknown model name) raises a subclass of
`InkrecError`, so that the command line and the server can print one clear message instead of a traceback.
"""

from __future__ import annotations

from pathlib import Path


class InkrecError(Exception):
    """Base class for errors caused by what the user handed us."""


class DataFormatError(InkrecError, ValueError):
    """A data file is not in the format it claims to be in.

    Names the file and, where there is one, the record (line number, sample index, byte offset), so the
    user can find the bad spot.
    """

    def __init__(self, path: str | Path, message: str, record: str | int | None = None):
        self.path = str(path)
        self.record = record
        where = f"{self.path}" + (f" (record {record})" if record is not None else "")
        super().__init__(f"{where}: {message}")


class ConfigError(InkrecError, ValueError):
    """A command-line option or configuration value is invalid (unknown model, empty data set, ...)."""
