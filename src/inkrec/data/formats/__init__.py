"""The data formats inkrec reads, one module each, and the registry that picks one for a path.

Each format module reads its files, says from a name whether a file is one of its own (`recognizes`),
and opens a data set of them as a `Source` (`open_source(path, classes=, progress=)`). It also declares
`NAME`, `DESCRIPTION`, the `SUFFIXES` of its per-category files and how a folder of it looks (`FOLDER`):

- "set": one data set whose files are recognised by name (idx: `train-images-idx3-ubyte.gz` ...);
- "files": one file per category or writer, recognised by suffix (numpy_bitmap, ndjson, binary,
  sketchrnn, gnt, pot); a folder mixing two such formats is ambiguous;
- "tree": recognised by looking into the folder (`recognizes_folder`; the Traditional Chinese Handwriting
  layout, image folders, Tegaki XML trees).

Users point inkrec at whatever they downloaded, so detection works from names alone (never reading every
file), which keeps opening a 50-million-drawing folder instant; a path that matches nothing gets one
message listing what inkrec understands. Adding a format is one module and one line in `FORMATS`.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

from inkrec.data.formats import (
    binary,
    gnt,
    idx,
    image_folder,
    ndjson,
    numpy_bitmap,
    pot,
    sketchrnn,
    tchd,
    tegaki,
)
from inkrec.data.sources import Source
from inkrec.errors import DataFormatError

# Detection order within each folder kind is this order: the Traditional Chinese Handwriting layout before
# the general image folder (its archives and folders are image collections too).
FORMATS: dict[str, ModuleType] = {
    m.NAME: m for m in (numpy_bitmap, ndjson, binary, sketchrnn, idx, tchd, image_folder, gnt, pot, tegaki)
}

KNOWN_FORMATS_TEXT = "; ".join(m.DESCRIPTION for m in FORMATS.values())


def detect_format(path: str | Path) -> str:
    """The name of the format of `path` (a key of `FORMATS`); DataFormatError if none is recognised."""
    p = Path(path)
    if not p.exists():
        raise DataFormatError(p, "no such file or folder")
    if p.is_file():
        for m in FORMATS.values():
            if m.recognizes(p):
                return m.NAME
        raise DataFormatError(p, f"not a data format inkrec knows; expected {KNOWN_FORMATS_TEXT}")
    files = [c for c in p.iterdir() if not c.name.startswith(".") and c.is_file()]
    for m in _of_kind("set"):
        if any(m.recognizes(f) for f in files):
            return m.NAME
    found = [m.NAME for m in _of_kind("files") if any(m.recognizes(f) for f in files)]
    if len(found) > 1:
        raise DataFormatError(
            p,
            f"holds files of several formats ({', '.join(found)}); "
            "point at one file or a folder of one format",
        )
    if found:
        return found[0]
    for m in _of_kind("tree"):
        if m.recognizes_folder(p):
            return m.NAME
    raise DataFormatError(p, f"holds no data format inkrec knows; expected {KNOWN_FORMATS_TEXT}")


def _of_kind(kind: str) -> list[ModuleType]:
    return [m for m in FORMATS.values() if m.FOLDER == kind]


def open_source(path: str | Path, fmt: str | None = None, *, classes=None, progress: bool = True) -> Source:
    """Open the data at `path` (its format detected unless `fmt` names it) as a `Source`.

    `classes` restricts per-category formats to those files before any is opened.
    """
    path = Path(path)
    fmt = fmt or detect_format(path)
    if fmt not in FORMATS:
        raise DataFormatError(path, f"no reader for format {fmt!r}; inkrec reads {', '.join(FORMATS)}")
    return FORMATS[fmt].open_source(path, classes=classes, progress=progress)


def files_of_format(folder: Path, fmt: str) -> list[Path]:
    """The files of `fmt` in `folder`, sorted by name (hidden files skipped)."""
    m = FORMATS[fmt]
    return sorted(
        c for c in folder.iterdir() if c.is_file() and not c.name.startswith(".") and m.recognizes(c)
    )
