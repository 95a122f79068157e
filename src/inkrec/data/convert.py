"""`inkrec data simplify | rasterize`: the ink preprocessing over whole Quick, Draw! files.

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

import contextlib
import io
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from inkrec.errors import ConfigError, DataFormatError, InkrecError

CHUNK = 4096  # drawings rasterized per batch
_NPY_HEADER_LEN = 128  # bytes reserved for the .npy header (magic, version, dict): fits any N
_console = Console(stderr=True)


# ------------------------------------------------------------------------------------------ reading


def _iter_drawings(path: Path) -> Iterator:
    from inkrec.data import quickdraw

    name = path.name.lower()
    if name.endswith(".bin"):
        return quickdraw.iter_binary(path)
    if name.endswith((".ndjson", ".ndjson.gz", ".jsonl", ".json")):
        return quickdraw.iter_ndjson(path)
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


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=_console,
        transient=True,
    )


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
    from inkrec.data.drawing import Drawing
    from inkrec.data.quickdraw import write_ndjson
    from inkrec.preprocess.simplify import simplify

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
    from inkrec.atomic import atomic_output
    from inkrec.preprocess.raster import MAX_SIZE, pack_drawings, rasterize_packed
    from inkrec.preprocess.simplify import simplify

    src = _check_input(src)
    if isinstance(size, bool) or not 1 <= int(size) <= MAX_SIZE:
        raise ConfigError(f"--size must be from 1 to {MAX_SIZE}, got {size}")
    size = int(size)
    n = 0
    raw_seen = False
    drawings = _tracked(_iter_drawings(src), _count_records(src), f"rasterize {src.name}", progress)
    with atomic_output(dst, "wb") as fh:
        fh.write(b"\0" * _NPY_HEADER_LEN)  # the header goes here once N is known
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
                n += _write_chunk(fh, chunk, size, pack_drawings, rasterize_packed)
                chunk = []
        if chunk:
            n += _write_chunk(fh, chunk, size, pack_drawings, rasterize_packed)
        fh.seek(0)
        fh.write(_npy_header(n, size * size))
    return n, raw_seen


def _write_chunk(fh: io.BufferedIOBase, chunk: list, size: int, pack: Callable, raster: Callable) -> int:
    xs, ys, s_off, d_off = pack(chunk)
    fh.write(raster(xs, ys, s_off, d_off, size).tobytes())
    return len(chunk)


def _npy_header(rows: int, cols: int) -> bytes:
    """A version 1.0 .npy header for a C-ordered uint8 (rows, cols) array, padded to exactly
    _NPY_HEADER_LEN bytes (so it can be written after the data)."""
    fields = "{'descr': '|u1', 'fortran_order': False, 'shape': (" + f"{rows}, {cols}), " + "}"
    body_len = _NPY_HEADER_LEN - 10  # magic (6) + version (2) + header length (2)
    text = fields.ljust(body_len - 1) + "\n"
    if len(text) != body_len:
        raise ValueError("too many drawings for the .npy header")  # ~10^100 rows; cannot happen
    return b"\x93NUMPY\x01\x00" + body_len.to_bytes(2, "little") + text.encode("latin1")


# ------------------------------------------------------------------------------------------ CLI


@contextlib.contextmanager
def _user_errors() -> Iterator[None]:
    try:
        yield
    except InkrecError as exc:
        _console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None


def register(data_app: typer.Typer) -> None:
    @data_app.command("simplify")
    def simplify_cmd(
        src: Annotated[Path, typer.Argument(help="Raw Quick, Draw! drawings (.ndjson).")],
        out: Annotated[Path, typer.Option("-o", "--out", help="Where to write the simplified .ndjson.")],
    ) -> None:
        """Simplify raw drawings exactly as the Quick, Draw! data set does (align, scale to 0-255,
        resample at 1 unit, Ramer-Douglas-Peucker with epsilon 2)."""
        with _user_errors(), _progress() as progress:
            n = simplify_file(src, out, progress=progress)
        _console.print(f"wrote {n} simplified drawings to {out}")

    @data_app.command("rasterize")
    def rasterize_cmd(
        src: Annotated[Path, typer.Argument(help="Drawings: simplified or raw .ndjson, or .bin.")],
        out: Annotated[
            Path, typer.Option("-o", "--out", help="Where to write the (N, size*size) uint8 .npy.")
        ],
        size: Annotated[int, typer.Option("--size", help="Bitmap side in pixels (28 = numpy_bitmap).")] = 28,
    ) -> None:
        """Rasterize drawings as the Quick, Draw! numpy_bitmap files were made (same pixels)."""
        with _user_errors(), _progress() as progress:
            n, raw = rasterize_file(src, out, size=size, progress=progress)
        note = " (raw drawings were simplified first)" if raw else ""
        _console.print(f"wrote {n} bitmaps of {size}x{size} to {out}{note}")
