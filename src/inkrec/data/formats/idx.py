"""MNIST-family idx files: MNIST, EMNIST, Kuzushiji-MNIST, Fashion-MNIST, gzipped or not.

The idx layout: two zero bytes, a type code (0x08 ubyte, 0x09 sbyte, 0x0B i16, 0x0C i32, 0x0D f32,
0x0E f64), the number of dimensions, then one big-endian u32 per dimension and the data, big-endian,
row-major. Images are ``0x00000803`` (N, rows, cols), labels ``0x00000801`` (N,).

Uncompressed files are memory-mapped; ``.gz`` files are decompressed once into memory (an idx file of
the MNIST family is at most a few hundred MB, and gzip streams cannot be seeked into).

EMNIST stores every image transposed (written column by column, a legacy of its MATLAB conversion);
`load_idx(..., transpose=True)` (or `fix_emnist`) returns the upright view, free for memory-mapped data.

A data set is a folder of such files: its train pair and its t10k/test pair (the standard split), named
as the MNIST family names them; class names come from the mapping file the set ships, if any.
"""

from __future__ import annotations

import gzip
import math
import re
import zlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from inkrec.atomic import atomic_output
from inkrec.data.sources import BitmapArrays
from inkrec.errors import ConfigError, DataFormatError

NAME = "idx"
SUFFIXES = ()
DESCRIPTION = "MNIST-family idx files (train-images-idx3-ubyte[.gz] ...)"
# One data set whose files are recognised by name; other files beside them (mapping tables) belong to it.
FOLDER = "set"
_GZ_CHUNK = 1 << 24

IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
# MNIST-family image files: MNIST, Fashion-MNIST, Kuzushiji-MNIST (`train-images-idx3-ubyte.gz`,
# `t10k-images-idx3-ubyte.gz`), EMNIST (`emnist-balanced-train-images-idx3-ubyte.gz`), and the dotted
# variant some mirrors use (`train-images.idx3-ubyte`).
IDX_IMAGES = re.compile(r"^(?P<prefix>.*?)[-_.]?images[-_.]idx3[-_.]ubyte(?:\.gz)?$", re.IGNORECASE)
_IDX_NAME = re.compile(
    r"^(?P<prefix>.*?)[-_.]?(?P<kind>images|labels)[-_.]idx(?P<ndim>\d)[-_.]ubyte(?:\.gz)?$", re.IGNORECASE
)


def recognizes(path: Path) -> bool:
    return bool(IDX_IMAGES.match(path.name))


def read_idx_header(path: str | Path, head: bytes) -> tuple[np.dtype, tuple[int, ...], int]:
    """Parse the magic number and dimensions: (dtype, shape, data offset). `head` is the file's start."""
    if len(head) < 4:
        raise DataFormatError(path, f"too short for an idx header ({len(head)} bytes)")
    if head[0] != 0 or head[1] != 0 or head[2] not in IDX_DTYPES:
        raise DataFormatError(
            path,
            f"bad idx magic number 0x{head[:4].hex()}: expected 0x000008NN..0x00000ENN "
            "(is this an idx file? a gzipped file needs the .gz suffix)",
        )
    ndim = head[3]
    if ndim == 0:
        raise DataFormatError(path, "idx header declares 0 dimensions")
    offset = 4 + 4 * ndim
    if len(head) < offset:
        raise DataFormatError(path, f"truncated idx header: {ndim} dimensions need {offset} bytes")
    shape = tuple(int(d) for d in np.frombuffer(head[4:offset], dtype=">u4"))
    return IDX_DTYPES[head[2]], shape, offset


def load_idx(path: str | Path, *, transpose: bool = False) -> np.ndarray:
    """Read an idx file (``.gz`` or not) into an array of its shape and dtype.

    Uncompressed files come back as a read-only memmap; multi-byte types keep the file's big-endian
    dtype (numpy reads the values right either way).

    `transpose=True` swaps the last two axes of 3-D image data (EMNIST's stored orientation).
    Wrong magic, truncation and trailing bytes raise `DataFormatError` naming the file.
    """
    path = Path(path)
    try:
        if path.suffix == ".gz":
            arr = _load_gz(path)
        else:
            arr = _load_plain(path)
    except OSError as exc:
        raise DataFormatError(path, f"cannot read file: {exc}") from None
    if transpose:
        if arr.ndim != 3:
            raise DataFormatError(path, f"transpose applies to (N, rows, cols) images, not shape {arr.shape}")
        arr = arr.transpose(0, 2, 1)
    return arr


def fix_emnist(images: np.ndarray) -> np.ndarray:
    """EMNIST images as stored -> upright (a view: swap rows and columns of each image)."""
    return np.asarray(images).swapaxes(-1, -2)


def _load_plain(path: Path) -> np.ndarray:
    size = path.stat().st_size
    with open(path, "rb") as fh:
        head = fh.read(4 + 4 * 255)
    dtype, shape, offset = read_idx_header(path, head)
    expected = offset + math.prod(shape) * dtype.itemsize
    _check_size(path, size, expected, shape)
    if expected == offset:
        return np.zeros(shape, dtype=dtype)
    return np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=shape)


def _load_gz(path: Path) -> np.ndarray:
    """Decompress into memory that grows with the bytes really there (a header may claim 10^12 images)."""
    try:
        with gzip.open(path, "rb") as fh:
            head = fh.read(4)
            if len(head) == 4 and 0 < head[3]:
                head += fh.read(4 * head[3])
            dtype, shape, offset = read_idx_header(path, head)
            n = math.prod(shape) * dtype.itemsize
            data = bytearray()
            while len(data) < n:
                chunk = fh.read(min(n - len(data), _GZ_CHUNK))
                if not chunk:
                    break
                data += chunk
            if len(data) < n:
                _check_size(path, offset + len(data), offset + n, shape)
            if fh.read(1):
                raise DataFormatError(path, f"unexpected bytes after the data of shape {shape}")
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise DataFormatError(path, f"corrupt or truncated gzip stream: {exc}") from None
    return np.frombuffer(data, dtype=dtype).reshape(shape)


def _check_size(path: Path, size: int, expected: int, shape: tuple[int, ...]) -> None:
    if size < expected:
        raise DataFormatError(
            path,
            f"truncated: the header declares shape {shape} ({expected} bytes) but there are {size} bytes",
        )
    if size > expected:
        raise DataFormatError(path, f"{size - expected} unexpected bytes after the data of shape {shape}")


def write_idx(path: str | Path, array: np.ndarray) -> None:
    """Write an array as an idx file (gzipped when the name ends in ``.gz``), atomically."""
    arr = np.asarray(array)
    code = next(
        (k for k, v in IDX_DTYPES.items() if (v.kind, v.itemsize) == (arr.dtype.kind, arr.dtype.itemsize)),
        None,
    )
    if code is None:
        raise ValueError(f"dtype {arr.dtype} has no idx type code")
    be = arr.astype(IDX_DTYPES[code])
    header = bytes([0, 0, code, arr.ndim]) + np.asarray(arr.shape, dtype=">u4").tobytes()
    payload = header + np.ascontiguousarray(be).tobytes()
    with atomic_output(path, "wb") as fh:
        if str(path).endswith(".gz"):
            with gzip.GzipFile(fileobj=fh, mode="wb", mtime=0) as gz:
                gz.write(payload)
        else:
            fh.write(payload)


@dataclass(frozen=True)
class IdxPair:
    """An images file and its labels file, as the MNIST family ships them."""

    split: str  # "train" or "test"
    prefix: str  # e.g. "train", "t10k", "emnist-balanced-train"
    images: Path
    labels: Path


def find_idx_pairs(directory: str | Path) -> list[IdxPair]:
    """Pair ``*-images-idx3-ubyte[.gz]`` with ``*-labels-idx1-ubyte[.gz]`` files in a directory.

    Knows the names of MNIST and Fashion-MNIST (``train-``/``t10k-``), Kuzushiji-MNIST (``train-``,
    ``t10k-``) and EMNIST (``emnist-<set>-train-``/``-test-``). The split is ``test`` for names with
    ``t10k`` or ``test``, else ``train``.
    """
    directory = Path(directory)
    found: dict[tuple[str, str], Path] = {}
    for p in sorted(directory.iterdir()):
        m = _IDX_NAME.match(p.name)
        if m and p.is_file():
            key = (m.group("prefix"), m.group("kind").lower())
            if key not in found or p.suffix != ".gz":  # prefer the uncompressed (memory-mappable) copy
                found[key] = p
    pairs = []
    for (prefix, kind), p in sorted(found.items()):
        if kind != "images":
            continue
        labels = found.get((prefix, "labels"))
        if labels is None:
            raise DataFormatError(p, f"no labels file '{prefix}-labels-idx1-ubyte[.gz]' next to it")
        low = prefix.lower()
        split = "test" if ("t10k" in low or "test" in low) else "train"
        pairs.append(IdxPair(split=split, prefix=prefix, images=p, labels=labels))
    return pairs


def is_emnist(path: str | Path) -> bool:
    """EMNIST files are named ``emnist-<set>-...``; their images need `fix_emnist`."""
    return Path(path).name.lower().startswith("emnist")


def class_names(directory: str | Path, prefix: str, labels: np.ndarray) -> dict[int, str]:
    """Names for the label values in `labels`, from the mapping file the data set ships, if any.

    EMNIST: ``emnist-<set>-mapping.txt`` (label, ASCII code). Kuzushiji-MNIST: ``kmnist_classmap.csv``
    (index, codepoint, char). Otherwise the label numbers themselves ("0".."9" for MNIST).
    """
    directory = Path(directory)
    values = np.unique(np.asarray(labels))
    names = {int(v): str(int(v)) for v in values}
    m = re.match(r"^(emnist-[a-z]+)-", prefix.lower())
    if m and (directory / f"{m.group(1)}-mapping.txt").is_file():
        mapping = directory / f"{m.group(1)}-mapping.txt"
        for i, line in enumerate(mapping.read_text(encoding="ascii", errors="replace").splitlines(), 1):
            parts = line.split()
            if not parts:
                continue
            try:
                label, code = int(parts[0]), int(parts[1])
                names[label] = chr(code)
            except (ValueError, IndexError):
                raise DataFormatError(mapping, "expected 'label ascii_code'", record=f"line {i}") from None
    elif (directory / "kmnist_classmap.csv").is_file() and not prefix.lower().startswith("k49"):
        cmap = directory / "kmnist_classmap.csv"
        for line in cmap.read_text(encoding="utf-8").splitlines()[1:]:
            parts = line.split(",")
            if len(parts) >= 3 and parts[0].strip().isdigit():
                names[int(parts[0])] = parts[2].strip()
    return {int(v): names[int(v)] for v in values}


# ------------------------------------------------------------------------------------------ data set


def open_source(path: Path, *, classes=None, progress: bool = True) -> BitmapArrays:
    """An MNIST-family data set: its train pair then its t10k/test pair, concatenated virtually."""
    folder = path.parent if path.is_file() else path
    pairs = _pairs(path)
    arrays, labels, test = [], [], []
    for pair in pairs:
        images = load_idx(pair.images, transpose=is_emnist(pair.images))
        if images.ndim != 3 or 0 in images.shape[1:]:
            raise DataFormatError(pair.images, f"expected (n, rows, cols) images, found shape {images.shape}")
        lab = load_idx(pair.labels)
        if lab.dtype.kind not in "iu":
            raise DataFormatError(pair.labels, f"labels must be integers, not {lab.dtype}")
        lab = np.asarray(lab).astype(np.int64).reshape(-1)
        if len(lab) != len(images):
            raise DataFormatError(
                pair.labels, f"{len(lab)} labels for {len(images)} images in {pair.images.name}"
            )
        arrays.append(images)
        labels.append(lab)
        test.append(np.full(len(lab), pair.split == "test"))
    raw_labels = np.concatenate(labels)
    names_by_label = class_names(folder, pairs[0].prefix, raw_labels)
    ids = np.asarray(sorted(names_by_label), dtype=np.int64)  # label order (EMNIST's mapping, "0".."9")
    is_test = np.concatenate(test)
    return BitmapArrays(
        arrays,
        np.searchsorted(ids, raw_labels),
        _unique_names([names_by_label[int(v)] for v in ids], ids.tolist()),
        name="idx",
        path=path,
        standard_test=is_test if is_test.any() and not is_test.all() else None,
        reopen=_Reopener([p.images for p in pairs]),
    )


def _unique_names(names: list[str], ids: list[int]) -> list[str]:
    """Class names must be unique; a mapping that repeats one gets the label number appended."""
    seen = Counter(names)
    return [n if seen[n] == 1 else f"{n} ({i})" for n, i in zip(names, ids)]


def _set_name(prefix: str) -> str:
    """`emnist-balanced-train` -> `emnist-balanced`; `train`, `t10k` -> `` (plain MNIST names)."""
    return re.sub(r"[-_.]?(train|t10k|test)$", "", prefix, flags=re.IGNORECASE)


def _pairs(path: Path) -> list[IdxPair]:
    """The idx pairs of one data set at `path` (a folder, or one of its images files), train first."""
    folder = path.parent if path.is_file() else path
    pairs = find_idx_pairs(folder)
    if not pairs:
        raise DataFormatError(path, "no idx images files with matching labels files")
    sets = sorted({_set_name(p.prefix) for p in pairs})
    if path.is_file():
        chosen = next((p for p in pairs if p.images.name == path.name or p.labels.name == path.name), None)
        if chosen is None:
            raise DataFormatError(path, "is not an idx images file with a labels file next to it")
        wanted = _set_name(chosen.prefix)
    elif len(sets) > 1:
        raise ConfigError(
            f"{path} holds several idx data sets ({', '.join(s or '(plain MNIST names)' for s in sets)}); "
            "point at the train-images file of the one you want"
        )
    else:
        wanted = sets[0]
    chosen_pairs = [p for p in pairs if _set_name(p.prefix) == wanted]
    return sorted(chosen_pairs, key=lambda p: p.split != "train")


class _Reopener:
    """Picklable: loads (maps, or decompresses) the same idx images files again in another process."""

    def __init__(self, images_files: list[Path]):
        self.images_files = [str(f) for f in images_files]

    def __call__(self):
        return [load_idx(f, transpose=is_emnist(f)) for f in self.images_files]
