"""Whole Quick, Draw! files through the ink preprocessing (`inkrec data simplify | rasterize`).

- ``simplify IN.ndjson -o OUT.ndjson``: raw drawings -> the "simplified" format (every other field of
  each record kept), streamed record by record.
- ``rasterize IN(.ndjson|.bin) -o OUT.npy [--size 28]``: drawings -> a numpy_bitmap-style array
  (N, size*size) uint8, rasterized in chunks and streamed into the .npy; raw drawings (with a time
  row) are simplified first, because the rasterizer works in the simplified 0-255 space.

Both write atomically (a reader never sees half a file) and show progress. A drawing without any
point is refused with the file and record named: Quick, Draw! files never hold one, so it means the
file is not what it claims to be.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
from rich.progress import Progress

from inkrec.atomic import atomic_output
from inkrec.data import npy
from inkrec.data.drawing import Drawing
from inkrec.data.formats.binary import iter_binary
from inkrec.data.formats.ndjson import iter_ndjson, write_ndjson
from inkrec.errors import ConfigError, DataFormatError
from inkrec.preprocess.raster import MAX_SIZE, pack_drawings, rasterize_packed
from inkrec.preprocess.simplify import simplify

CHUNK = 4096  # drawings rasterized per batch
NPY_HEADER_BYTES = 128  # reserved for the .npy header, written once N is known: fits any N


# ------------------------------------------------------------------------------------------ reading


def _iter_drawings(path: Path) -> Iterator[Drawing]:
    name = path.name.lower()
    if name.endswith(".bin"):
        return iter_binary(path)
    if name.endswith((".ndjson", ".ndjson.gz", ".jsonl", ".json")):
        return iter_ndjson(path)
    raise ConfigError(f"{path}: unknown drawing format (expected .ndjson or .bin)")


def _count_records(path: Path) -> int | None:
    """Number of lines of a plain ndjson file (a quick pass over the bytes), else None."""
    if not path.name.lower().endswith((".ndjson", ".jsonl")):
        return None
    n = 0
    last = b"\n"
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 22):
            n += chunk.count(b"\n")
            last = chunk[-1:]
    return n + (last != b"\n")


def _check_input(path: Path) -> Path:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: no such file")
    return path


def _tracked(items: Iterable, total: int | None, label: str, progress: Progress | None) -> Iterator:
    if progress is None:
        yield from items
        return
    task = progress.add_task(label, total=total)
    for item in items:
        yield item
        progress.advance(task)


# ------------------------------------------------------------------------------------------ the work


def simplify_file(src: str | Path, dst: str | Path, *, progress: Progress | None = None) -> int:
    """Raw ndjson -> simplified ndjson (metadata kept); returns the number of drawings written."""
    src = _check_input(src)

    def simplified() -> Iterator[Drawing]:
        drawings = _tracked(_iter_drawings(src), _count_records(src), f"simplify {src.name}", progress)
        for i, d in enumerate(drawings):
            try:
                strokes = simplify(d.strokes)
            except ValueError as exc:
                raise DataFormatError(src, str(exc), record=i + 1) from None
            yield Drawing(
                strokes=strokes,
                word=d.word,
                key_id=d.key_id,
                countrycode=d.countrycode,
                recognized=d.recognized,
                timestamp=d.timestamp,
            )

    return write_ndjson(dst, simplified())


def rasterize_file(
    src: str | Path, dst: str | Path, *, size: int = 28, progress: Progress | None = None
) -> tuple[int, bool]:
    """Drawings (.ndjson or .bin) -> (N, size*size) uint8 .npy; returns (N, whether raw drawings were
    simplified first)."""
    src = _check_input(src)
    if isinstance(size, bool) or not 1 <= int(size) <= MAX_SIZE:
        raise ConfigError(f"--size must be from 1 to {MAX_SIZE}, got {size}")
    size = int(size)
    n = 0
    raw_seen = False
    drawings = _tracked(_iter_drawings(src), _count_records(src), f"rasterize {src.name}", progress)
    with atomic_output(dst, "wb") as fh:
        fh.write(b"\0" * NPY_HEADER_BYTES)  # the header goes here once N is known
        chunk: list = []
        for i, d in enumerate(drawings):
            strokes = d.strokes
            if not any(s.shape[1] for s in strokes):
                raise DataFormatError(src, "the drawing has no points", record=i + 1)
            if d.has_time:
                raw_seen = True
                try:
                    strokes = simplify(strokes)
                except ValueError as exc:
                    raise DataFormatError(src, str(exc), record=i + 1) from None
            chunk.append(strokes)
            if len(chunk) == CHUNK:
                n += _write_chunk(fh, chunk, size)
                chunk = []
        if chunk:
            n += _write_chunk(fh, chunk, size)
        fh.seek(0)
        fh.write(npy.header_bytes((n, size * size), np.uint8, length=NPY_HEADER_BYTES))
    return n, raw_seen


def _write_chunk(fh: io.BufferedIOBase, chunk: list, size: int) -> int:
    xs, ys, s_off, d_off = pack_drawings(chunk)
    fh.write(rasterize_packed(xs, ys, s_off, d_off, size).tobytes())
    return len(chunk)
