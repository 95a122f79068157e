"""Image collections with the class in the path: a folder, or the same inside a ``.zip`` (read lazily).

Layouts understood (a single wrapping folder, as zips usually have, is looked through):

- ``<class>/<image>``: one sub-folder per class (Chinese MNIST, Kaggle-style folders, the Traditional
  Chinese Handwriting data set after its deployment script).
- ``<split>/<class>/<image>`` with split one of train/training/test/testing/val/valid/validation (any
  case): CASIA-HWDB PNG conversions (``Train/<char>/*.png``, ``Test/<char>/*.png``). `splits` tells each
  sample's split.
- ``<label>_<n>.<ext>`` in one folder: the Traditional Chinese Handwriting archives as published
  (``cleaned_data(50_50)/人_001.png``): the label is the part before the first underscore.

Writers are parsed from file names where the data set records them: Chinese MNIST's ``writerNNN_SS``
and the Kaggle original's ``input_<suite>_<sample>_<code>`` (the suite is the writer).

Zip member names without the archive's UTF-8 flag are decoded as UTF-8, else Big5 (the Traditional
Chinese archives), else GB18030 (CASIA conversions made on Chinese Windows), whichever decodes every
name of the archive; ``name_encoding=`` forces one.

As a data set (`ImageFiles`), collections whose images all have one square size (Chinese MNIST: 64x64)
keep it; others are framed to `FRAMED_SIZE`. Split folders give the standard split, else writers in the
file names (the first 80% of writers train), else none (seeded random).
"""

from __future__ import annotations

import io
import os
import re
import threading
import zipfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path, PurePosixPath
from typing import Self

import numpy as np
from PIL import Image, UnidentifiedImageError

from inkrec.data.sources import FRAMED_SIZE, Source, frame
from inkrec.data.splits import ordered_writer_test_mask
from inkrec.data.zips import ZIP_ERRORS
from inkrec.errors import DataFormatError
from inkrec.preprocess.batch import resize_bitmaps
from inkrec.preprocess.pictures import DEFAULT_MAX_PIXELS, decode_image, normalize_ink

NAME = "image_folder"
SUFFIXES = ()
DESCRIPTION = "a folder with one sub-folder of images per class (or such a .zip)"
# Recognised by looking into the folder tree (images within a few levels), not by its files' names.
FOLDER = "tree"
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp"})
SPLIT_NAMES = {
    "train": "train",
    "training": "train",
    "test": "test",
    "testing": "test",
    "val": "val",
    "valid": "val",
    "validation": "val",
}
_WRITER_PATTERNS = (
    re.compile(r"writer[-_]?(\d+)", re.IGNORECASE),  # Chinese MNIST: writer012_03.jpg
    re.compile(
        r"^input_(\d+)_\d+_\d+$", re.IGNORECASE
    ),  # Chinese MNIST on Kaggle: input_<suite>_<sample>_<code>
)
_LABEL_IN_NAME = re.compile(r"^(?P<label>[^_]+)_.+$")
# cp950 (Big5 with Microsoft's additions) before big5hkscs: the Traditional Chinese archives were zipped on
# Taiwanese Windows; GB18030 last, as it decodes almost any bytes.
ZIP_NAME_ENCODINGS = ("utf-8", "cp950", "big5hkscs", "gb18030")


def recognizes(path: Path) -> bool:
    """A zip archive of pictures (a folder is recognised by `recognizes_folder`)."""
    return path.suffix.lower() == ".zip"


def recognizes_folder(folder: Path, depth: int = 3) -> bool:
    """An image file within `depth` folder levels (class folders, split/class folders, a wrapper folder)."""
    subdirs = []
    for c in folder.iterdir():
        if c.name.startswith(".") or c.name == "__MACOSX":
            continue
        if c.is_file() and c.suffix.lower() in IMAGE_SUFFIXES:
            return True
        if c.is_dir():
            subdirs.append(c)
    return depth > 0 and any(recognizes_folder(d, depth - 1) for d in sorted(subdirs))


def member_names(infos: Sequence[zipfile.ZipInfo], encodings: Sequence[str] = ZIP_NAME_ENCODINGS) -> list[str]:
    """The members' names as their archive's maker wrote them: names flagged UTF-8 as they are, the others
    (which zipfile reads as cp437) in the first of `encodings` that decodes every one of them."""
    raw = [i.filename.encode("cp437") if not (i.flag_bits & 0x800) else None for i in infos]
    for enc in encodings:
        try:
            return [i.filename if r is None else r.decode(enc) for i, r in zip(infos, raw)]
        except (UnicodeDecodeError, LookupError):
            continue
    return [i.filename for i in infos]


def _is_junk(parts: Sequence[str]) -> bool:
    return any(p.startswith(".") or p == "__MACOSX" for p in parts)


def writer_of(name: str) -> int | None:
    """Writer id recorded in an image file name, or None."""
    stem = PurePosixPath(name).stem
    for pattern in _WRITER_PATTERNS:
        m = pattern.search(stem)
        if m:
            return int(m.group(1))
    return None


class ImageFolder:
    """Samples of a class-per-folder image collection (folder or ``.zip``), decoded on demand.

    Attributes: ``classes`` (sorted names), ``samples`` (list of (member, label index), member being the
    path relative to the folder, or the zip member name), ``writers`` (int64 array per sample, or None
    when a name carries none), ``splits`` (per-sample "train"/"test"/"val" for split layouts, else None),
    ``layout`` ("class-folders", "split-class-folders" or "label-in-name").

    `load(i)` returns the picture as decoded (uint8 grey, its own polarity); `load_ink(i)` normalises it to
    white ink on black (`inkrec.preprocess.pictures.normalize_ink`).
    """

    def __init__(
        self, path: str | Path, *, name_encoding: str | None = None, max_pixels: int = DEFAULT_MAX_PIXELS
    ):
        self.path = Path(path)
        self.max_pixels = max_pixels
        self._name_encoding = name_encoding
        self._lock = threading.Lock()
        self._zip: zipfile.ZipFile | None = None
        self._zip_pid: int | None = None
        if not self.path.exists():
            raise DataFormatError(self.path, "no such file or folder")
        self.is_zip = self.path.is_file()
        if self.is_zip:
            names, self._member_of = self._zip_names()
        else:
            names = self._dir_names()
            self._member_of = None
        self._build(names)

    # -------------------------------------------------------------------------------- listing

    def _dir_names(self) -> list[str]:
        out = []
        root = str(self.path)
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d != "__MACOSX")
            rel = os.path.relpath(dirpath, root)
            for f in filenames:
                if f.startswith(".") or os.path.splitext(f)[1].lower() not in IMAGE_SUFFIXES:
                    continue
                out.append(f if rel == "." else f"{rel.replace(os.sep, '/')}/{f}")
        return out

    def _zip_names(self) -> tuple[list[str], dict[str, zipfile.ZipInfo]]:
        try:
            with zipfile.ZipFile(self.path) as zf:
                infos = [i for i in zf.infolist() if not i.is_dir()]
        except ZIP_ERRORS as exc:
            raise DataFormatError(self.path, f"not a readable zip archive: {exc}") from None
        encodings = (self._name_encoding,) if self._name_encoding else ZIP_NAME_ENCODINGS
        decoded = member_names(infos, encodings)
        member_of: dict[str, zipfile.ZipInfo] = {}
        for info, name in zip(infos, decoded):
            parts = PurePosixPath(name).parts
            if not parts or _is_junk(parts) or PurePosixPath(name).suffix.lower() not in IMAGE_SUFFIXES:
                continue
            member_of[name] = info
        return list(member_of), member_of

    def _build(self, names: list[str]) -> None:
        if not names:
            raise DataFormatError(self.path, f"holds no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
        names = sorted(names)
        parts = [PurePosixPath(n).parts for n in names]
        prefix = 0
        # look through wrapping folders (a zip's top folder), but keep split folders (Train/Test)
        while True:
            firsts = {p[prefix] for p in parts if len(p) > prefix + 1}
            if len(firsts) != 1 or any(len(p) <= prefix + 1 for p in parts):
                break
            first = next(iter(firsts))
            depth_after = min(len(p) for p in parts) - prefix - 1
            if first.lower() in SPLIT_NAMES and depth_after >= 2:
                break
            if depth_after >= 2:
                prefix += 1
                continue
            # everything is <wrapper>/<file>: a single class folder, or a wrapper of label_n files
            labels = {_label_in_name(p[-1]) for p in parts}
            if None not in labels and len(labels) > 1:
                prefix += 1
            break
        rel = [p[prefix:] for p in parts]
        folder_layout = any(len(p) >= 2 for p in rel)
        keep = [i for i, p in enumerate(rel) if len(p) >= 2] if folder_layout else list(range(len(rel)))
        labels: list[str] = []
        splits: list[str | None] = []
        for i in keep:
            p = rel[i]
            if folder_layout:
                labels.append(p[-2])
                splits.append(SPLIT_NAMES.get(p[0].lower()) if len(p) >= 3 else None)
            else:
                label = _label_in_name(p[0])
                if label is None:
                    raise DataFormatError(
                        self.path,
                        f"cannot tell the class of {names[i]!r}: put the images in one sub-folder per class, "
                        "or name them <label>_<n>.png",
                    )
                labels.append(label)
                splits.append(None)
        self.members = [names[i] for i in keep]
        self.classes = sorted(set(labels))
        index = {c: k for k, c in enumerate(self.classes)}
        self.samples = [(m, index[lab]) for m, lab in zip(self.members, labels)]
        self.labels = np.asarray([s[1] for s in self.samples], dtype=np.int64)
        if folder_layout and all(s is not None for s in splits):
            self.splits: list[str] | None = [s for s in splits if s is not None]
            self.layout = "split-class-folders"
        else:
            self.splits = None
            self.layout = "class-folders" if folder_layout else "label-in-name"
        writers = [writer_of(m) for m in self.members]
        self.writers: np.ndarray | None = (
            np.asarray(writers, dtype=np.int64) if all(w is not None for w in writers) else None
        )

    # -------------------------------------------------------------------------------- access

    def __len__(self) -> int:
        return len(self.samples)

    def __repr__(self) -> str:
        return (
            f"ImageFolder({str(self.path)!r}, {len(self)} images, {len(self.classes)} classes, {self.layout})"
        )

    def name(self, i: int) -> str:
        """How errors name sample i: the file path, or ``archive.zip:member``."""
        member = self.samples[i][0]
        return f"{self.path}:{member}" if self.is_zip else str(self.path / member)

    def read_bytes(self, i: int) -> bytes:
        """The encoded image file of sample i."""
        member = self.samples[i][0]
        if not self.is_zip:
            try:
                return (self.path / member).read_bytes()
            except OSError as exc:
                raise DataFormatError(self.name(i), f"cannot read image: {exc.strerror or exc}") from None
        assert self._member_of is not None
        info = self._member_of[member]
        try:
            with self._lock:
                zf = self._zipfile()
                return zf.read(info)
        except ZIP_ERRORS as exc:
            raise DataFormatError(self.name(i), f"corrupt zip member: {exc}") from None

    def _zipfile(self) -> zipfile.ZipFile:
        # One handle per process: a handle inherited through fork would share its file offset with the
        # parent's (DataLoader workers), so a forked child opens its own.
        if self._zip is None or self._zip_pid != os.getpid():
            self._zip = zipfile.ZipFile(self.path)
            self._zip_pid = os.getpid()
        return self._zip

    def load(self, i: int) -> np.ndarray:
        """Sample i decoded to uint8 grey (H, W), polarity as stored."""
        member = self.samples[i][0]
        if not self.is_zip:
            return decode_image(self.path / member, max_pixels=self.max_pixels)
        return decode_image(self.read_bytes(i), max_pixels=self.max_pixels, name=self.name(i))

    def load_ink(self, i: int) -> np.ndarray:
        """Sample i as white ink on black, background removed, faint ink stretched."""
        return normalize_ink(self.load(i))

    def image_size(self, i: int) -> tuple[int, int]:
        """(width, height) of sample i from its header, without decoding pixels."""
        src: object = self.path / self.samples[i][0] if not self.is_zip else io.BytesIO(self.read_bytes(i))
        try:
            with Image.open(src) as im:  # type: ignore[arg-type]
                return im.size
        except (
            UnidentifiedImageError,
            Image.DecompressionBombError,
            OSError,
            ValueError,
            SyntaxError,
        ) as exc:
            raise DataFormatError(self.name(i), f"not a readable image: {exc}") from None

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()
            self._zip = None

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_zip"] = None
        state["_zip_pid"] = None
        state["_lock"] = None
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _label_in_name(filename: str) -> str | None:
    m = _LABEL_IN_NAME.match(PurePosixPath(filename).stem)
    return m.group("label") if m else None


# ------------------------------------------------------------------------------------------ data set


class ImageFiles(Source):
    """A class-per-folder image collection (folder or .zip), decoded and normalised per sample."""

    name = "image-folder"

    def __init__(self, path: str | Path):
        self.path = str(path)
        self.folder = ImageFolder(path)
        self.class_names = list(self.folder.classes)
        self.labels = np.asarray([label for _, label in self.folder.samples], dtype=np.int64)
        self.writers = self.folder.writers
        folder_splits = self.folder.splits
        if folder_splits is not None and len(set(folder_splits)) > 1:
            self.standard_test = np.asarray([s != "train" for s in folder_splits], dtype=bool)
        elif self.writers is not None and len(np.unique(self.writers)) >= 2:
            self.standard_test = ordered_writer_test_mask(self.writers)
        else:
            self.standard_test = None
        self.image_size = self._common_size()

    def _common_size(self) -> int:
        """The images' side if a sample of headers shows one square size, else FRAMED_SIZE."""
        n = len(self.labels)
        probe = np.unique(np.linspace(0, n - 1, min(n, 32)).round().astype(int))
        sizes = {tuple(self.folder.image_size(int(i))) for i in probe}
        if len(sizes) == 1:
            ((w, h),) = sizes
            if w == h:
                return int(w)
        return FRAMED_SIZE

    def sample(self, row: int) -> np.ndarray:
        img = self.folder.load_ink(int(row))
        if img.shape != (self.image_size, self.image_size):
            img = frame(img, self.image_size)
        return img

    def bitmaps(self, rows: np.ndarray, size: int | None = None) -> np.ndarray:
        rows = np.asarray(rows).reshape(-1)
        s = self.image_size
        out = np.empty((len(rows), s, s), dtype=np.uint8)

        def one(i: int) -> None:
            out[i] = self.sample(rows[i])

        workers = min(self.decode_threads, len(rows) // 16)
        if workers > 1:
            # Pillow decodes and numpy reduces with the GIL released: threads use the other cores.
            with ThreadPoolExecutor(workers) as pool:
                list(pool.map(one, range(len(rows))))
        else:
            for i in range(len(rows)):
                one(i)
        if size is not None and size != s:
            out = resize_bitmaps(out, size)
        return out

    # Threads decoding one batch (1 = none).
    decode_threads = min(4, os.cpu_count() or 1)


def open_source(path: Path, *, classes=None, progress: bool = True) -> ImageFiles:
    return ImageFiles(path)
