"""Atomic file output: a reader never sees a half-written data file.

Everything is written to a temporary file in the destination's own directory (same file system, so the
final `os.replace` is atomic) and renamed into place only after it was flushed and synced; on any error
the temporary file is removed and an existing destination is left untouched.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import numpy as np


@contextlib.contextmanager
def atomic_output(path: str | Path, mode: str = "wb", encoding: str | None = None) -> Iterator[IO]:
    """Open a temporary file next to `path` for writing; on success it replaces `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600 files; give the usual permissions
        with os.fdopen(fd, mode, encoding=encoding) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_bytes_atomic(path: str | Path, data: bytes) -> None:
    """Replace `path` with `data` in one step."""
    with atomic_output(path) as fh:
        fh.write(data)


def write_text_atomic(path: str | Path, text: str) -> None:
    """Replace `path` with `text` (UTF-8) in one step."""
    with atomic_output(path, "w", encoding="utf-8") as fh:
        fh.write(text)


def save_npy_atomic(path: str | Path, array: np.ndarray) -> None:
    """`np.save` without pickles, atomically."""
    with atomic_output(path) as fh:
        np.save(fh, np.asarray(array), allow_pickle=False)
