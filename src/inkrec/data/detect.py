"""Which data format a path holds, decided from names alone.

Users point inkrec at whatever they downloaded: one file, a folder of per-category files, an MNIST-style
folder of idx files, a folder of class sub-folders. Guessing from file names (never from reading every
file) keeps opening a 50-million-drawing folder instant, and a path that matches nothing gets one clear
message listing what inkrec understands.
"""

from __future__ import annotations

import re
from pathlib import Path

from inkrec.errors import DataFormatError

# Format names (what detect_format returns).
NUMPY_BITMAP = "numpy_bitmap"
NDJSON = "ndjson"
BINARY = "binary"
SKETCHRNN = "sketchrnn"
IDX = "idx"
IMAGE_FOLDER = "image_folder"
GNT = "gnt"

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp"})

# One file suffix per format of per-category files (the Quick, Draw! layouts, sketch-rnn, CASIA .gnt).
_SUFFIX_FORMATS = {
    ".npy": NUMPY_BITMAP,
    ".ndjson": NDJSON,
    ".bin": BINARY,
    ".npz": SKETCHRNN,
    ".gnt": GNT,
}

# MNIST-family image files: MNIST, Fashion-MNIST, Kuzushiji-MNIST (`train-images-idx3-ubyte.gz`,
# `t10k-images-idx3-ubyte.gz`), EMNIST (`emnist-balanced-train-images-idx3-ubyte.gz`), and the dotted
# variant some mirrors use (`train-images.idx3-ubyte`).
IDX_IMAGES = re.compile(r"^(?P<prefix>.*?)[-_.]?images[-_.]idx3[-_.]ubyte(?:\.gz)?$", re.IGNORECASE)

KNOWN_FORMATS_TEXT = (
    "a Quick, Draw! file or folder of them (.npy numpy_bitmap, .ndjson simplified/raw, .bin binary), "
    "sketch-rnn .npz, MNIST-family idx files (train-images-idx3-ubyte[.gz] ...), a folder with one "
    "sub-folder of images per class (or such a .zip), or CASIA .gnt files"
)


def detect_format(path: str | Path) -> str:
    """Return the format name of `path` (one of the module constants); raise DataFormatError if unknown."""
    p = Path(path)
    if not p.exists():
        raise DataFormatError(p, "no such file or folder")
    if p.is_file():
        return _detect_file(p)
    return _detect_dir(p)


def _detect_file(p: Path) -> str:
    if IDX_IMAGES.match(p.name):
        return IDX
    suffix = p.suffix.lower()
    if suffix in _SUFFIX_FORMATS:
        return _SUFFIX_FORMATS[suffix]
    if suffix == ".zip":
        return IMAGE_FOLDER
    raise DataFormatError(p, f"not a data format inkrec knows; expected {KNOWN_FORMATS_TEXT}")


def _detect_dir(p: Path) -> str:
    children = [c for c in p.iterdir() if not c.name.startswith(".")]
    files = [c for c in children if c.is_file()]
    if any(IDX_IMAGES.match(f.name) for f in files):
        return IDX
    found = sorted({_SUFFIX_FORMATS[f.suffix.lower()] for f in files if f.suffix.lower() in _SUFFIX_FORMATS})
    if len(found) > 1:
        raise DataFormatError(
            p,
            f"holds files of several formats ({', '.join(found)}); point at one file or a folder of one format",
        )
    if found:
        return found[0]
    if _has_image(p, depth=3):
        return IMAGE_FOLDER
    raise DataFormatError(p, f"holds no data format inkrec knows; expected {KNOWN_FORMATS_TEXT}")


def _has_image(folder: Path, depth: int) -> bool:
    """An image file within `depth` folder levels (class folders, split/class folders, a wrapper folder)."""
    subdirs = []
    for c in folder.iterdir():
        if c.name.startswith(".") or c.name == "__MACOSX":
            continue
        if c.is_file() and c.suffix.lower() in IMAGE_SUFFIXES:
            return True
        if c.is_dir():
            subdirs.append(c)
    return depth > 0 and any(_has_image(d, depth - 1) for d in sorted(subdirs))


def files_of_format(folder: Path, fmt: str) -> list[Path]:
    """The per-category files of `fmt` in `folder`, sorted by name (hidden files skipped)."""
    suffixes = [s for s, f in _SUFFIX_FORMATS.items() if f == fmt]
    return sorted(
        c
        for c in folder.iterdir()
        if c.is_file() and not c.name.startswith(".") and c.suffix.lower() in suffixes
    )
