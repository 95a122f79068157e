"""The Traditional Chinese Handwriting data set (AI . FREE Team, 2020): pictures of characters written with
the Tegaki tools, one PNG per sample, the character in the file name.

As published, and read where they lie (nothing is concatenated or extracted first):

- the whole set (13,065 characters, 684,677 pictures of 300x300): one zip archive cut into byte slices
  ``all_data.zip.001``, ``all_data.zip.002``, ... (meant to be joined with ``cat``), its member names in Big5
  without the zip UTF-8 flag, laid out ``cleaned_data/<char>/<char>_<n>.png``. The slices are read as one
  archive through a file object that spans them;
- the common-characters set (4,803 characters, 250,712 pictures of 50x50): four independent zips as Google
  Drive cut a folder, ``cleaned_data(50_50)-20200420T071507Z-001.zip`` ... ``-004.zip``, each holding
  ``cleaned_data(50_50)/<char>_<n>.png``;
- either of them extracted: ``cleaned_data/<char>/<char>_<n>.png`` or all pictures in one folder.

A picture must be named ``<character>_<number>.png``; where it sits in a one-character folder, that folder
must be the same character. Anything else (a wrong name, a name decoded with the wrong code page, a corrupt
PNG, a truncated archive, a missing slice) is a `DataFormatError` naming the archive (or file) and the
member. `iter_tchd` streams (character, picture) pairs one member at a time; `open_source` indexes the
members (names only: opening a 684,677-picture archive reads its central directory, no picture) and decodes
a picture when a sample is asked for, framed to `FRAMED_SIZE` like every other picture data set (the ink
cropped and centred, as the Quick, Draw! rasterizer frames a drawing). The data set names no writers and
no split, so its split is the seeded random one.
"""

from __future__ import annotations

import bisect
import io
import os
import re
import threading
import zipfile
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path, PurePosixPath

import numpy as np
from PIL import Image, UnidentifiedImageError

from inkrec.data.formats.image_folder import member_names
from inkrec.data.sources import FRAMED_SIZE, Source, frame
from inkrec.data.zips import ZIP_ERRORS
from inkrec.errors import DataFormatError
from inkrec.preprocess.batch import resize_bitmaps
from inkrec.preprocess.pictures import decode_image, normalize_ink

NAME = "tchd"
SUFFIXES = (".zip",)
DESCRIPTION = (
    "the Traditional Chinese Handwriting data set (cleaned_data/<char>/<char>_<n>.png, its zip parts "
    "cleaned_data(50_50)-...-001.zip or its slices all_data.zip.001 ...)"
)
FOLDER = "tree"
PICTURE = re.compile(r"^(?P<label>.)_(?P<n>\d+)\.png$", re.IGNORECASE | re.DOTALL)
SLICE = re.compile(r"^(?P<archive>.+\.zip)\.(?P<n>\d{3})$", re.IGNORECASE)
# Names of the published archives: the Google Drive parts and the whole set's slices.
ARCHIVE = re.compile(r"^cleaned_data.*\.zip$|^all_data\.zip$", re.IGNORECASE)
# A picture of the data set is a few kB; a member claiming more is not one (checked before it is read).
MAX_MEMBER_BYTES = 16 << 20


def recognizes(path: Path) -> bool:
    """A published archive or one of its slices, by name."""
    return bool(ARCHIVE.match(path.name) or SLICE.match(path.name))


def recognizes_folder(folder: Path, depth: int = 2) -> bool:
    """Published archives or slices in the folder, or the extracted layout: a ``cleaned_data`` folder, or a
    one-character folder whose first picture is named after it."""
    try:
        children = sorted(c for c in folder.iterdir() if not c.name.startswith("."))
    except OSError:
        return False
    if any(c.is_file() and recognizes(c) for c in children):
        return True
    if folder.name.lower().startswith("cleaned_data") and any(c.is_dir() or _is_picture(c) for c in children):
        return True
    dirs = [c for c in children if c.is_dir()]
    for d in dirs[:3]:
        if len(d.name) == 1:
            first = next((f for f in sorted(d.iterdir()) if f.is_file() and f.suffix.lower() == ".png"), None)
            if first is not None and _label_of(first.name) == d.name:
                return True
    return depth > 0 and any(recognizes_folder(d, depth - 1) for d in dirs[:3])


def _is_picture(path: Path) -> bool:
    return path.is_file() and bool(PICTURE.match(path.name))


def _label_of(name: str) -> str | None:
    m = PICTURE.match(name)
    return m.group("label") if m else None


# ------------------------------------------------------------------------------------------ archives


class JoinedSlices(io.RawIOBase):
    """The byte slices of one archive (``all_data.zip.001`` ...) read as one seekable file, as ``cat`` would
    join them."""

    def __init__(self, slices: Sequence[Path]):
        super().__init__()
        self.slices = [Path(s) for s in slices]
        sizes = [s.stat().st_size for s in self.slices]
        self.starts = [0]
        for size in sizes:
            self.starts.append(self.starts[-1] + size)
        self._files = [open(s, "rb", buffering=0) for s in self.slices]  # closed in close()
        self._pos = 0

    @property
    def size(self) -> int:
        return self.starts[-1]

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self.size}[whence]
        if base + offset < 0:
            raise OSError(f"seek to {base + offset}, before the start")
        self._pos = base + offset
        return self._pos

    def readinto(self, buffer) -> int:
        view = memoryview(buffer).cast("B")
        done = 0
        while done < len(view) and self._pos < self.size:
            k = bisect.bisect_right(self.starts, self._pos) - 1
            within = self._pos - self.starts[k]
            want = min(len(view) - done, self.starts[k + 1] - self._pos)
            fh = self._files[k]
            fh.seek(within)
            got = fh.readinto(view[done : done + want])
            if not got:  # the slice shrank since it was measured
                raise OSError(f"{self.slices[k]} ended early")
            done += got
            self._pos += got
        return done

    def close(self) -> None:
        if not self.closed:
            for fh in self._files:
                fh.close()
        super().close()


class Archive:
    """One zip archive: a file, or the slices that make one."""

    def __init__(self, files: Sequence[Path]):
        self.files = [Path(f) for f in files]

    @property
    def name(self) -> str:
        """How errors name it: the file, or ``all_data.zip.001..003``."""
        if len(self.files) == 1:
            return str(self.files[0])
        return f"{self.files[0]}..{self.files[-1].suffix.lstrip('.')}"

    def open(self) -> zipfile.ZipFile:
        try:
            if len(self.files) == 1:
                return zipfile.ZipFile(self.files[0])
            return zipfile.ZipFile(JoinedSlices(self.files))
        except ZIP_ERRORS as exc:
            hint = ""
            if len(self.files) > 1:
                hint = f" (read as {len(self.files)} slices joined; is a slice missing or cut short?)"
            raise DataFormatError(self.name, f"not a readable zip archive: {exc}{hint}") from None


def find_archives(path: Path) -> list[Archive]:
    """The archives at `path` (a zip, a slice, or a folder of them): each whole zip alone, each sliced
    archive as its slices, numbered from 001 without a gap."""
    if path.is_file():
        m = SLICE.match(path.name)
        if m is None:
            return [Archive([path])]
        siblings = [c for c in path.parent.iterdir() if c.is_file()]
        return [_sliced(path.parent, m.group("archive"), siblings)]
    files = sorted(c for c in path.iterdir() if c.is_file() and not c.name.startswith("."))
    out = [Archive([f]) for f in files if f.suffix.lower() == ".zip" and ARCHIVE.match(f.name)]
    stems = sorted({m.group("archive") for f in files if (m := SLICE.match(f.name))})
    out += [_sliced(path, stem, files) for stem in stems]
    return out


def _sliced(folder: Path, archive: str, files: Sequence[Path]) -> Archive:
    numbered = {}
    for f in files:
        m = SLICE.match(f.name)
        if m and m.group("archive") == archive:
            numbered[int(m.group("n"))] = f
    have = sorted(numbered)
    want = list(range(1, len(have) + 1))
    if have != want:
        missing = sorted(set(range(1, max(have) + 1)) - set(have))
        raise DataFormatError(
            folder / archive,
            f"slices {', '.join(f'{n:03d}' for n in missing)} are missing "
            f"(found {', '.join(f'{n:03d}' for n in have)}); fetch them again",
        )
    return Archive([numbered[n] for n in have])


# ------------------------------------------------------------------------------------------ members


class Pictures:
    """Every picture of the data set at a path: (where it is, its character), decoded on demand.

    ``archives`` are the zips read (empty for an extracted folder); ``archive_of`` says which one holds each
    sample (-1: a file under ``path``); ``members`` are zipfile's own member names (or relative paths).
    One zip handle per archive and process (a handle inherited through fork would share its file offset).
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        if not self.path.exists():
            raise DataFormatError(self.path, "no such file or folder")
        self.archives = find_archives(self.path)
        members: list[str] = []
        archive_of: list[int] = []
        labels: list[str] = []
        if self.archives:
            for a, archive in enumerate(self.archives):
                with archive.open() as zf:
                    try:
                        infos = [i for i in zf.infolist() if not i.is_dir()]
                    except ZIP_ERRORS as exc:  # an empty member name, for one
                        raise DataFormatError(archive.name, f"corrupt zip directory: {exc!r}") from None
                for info, name in zip(infos, member_names(infos)):
                    label = self._check(archive.name, name)
                    if label is not None:
                        members.append(info.filename)
                        archive_of.append(a)
                        labels.append(label)
        else:
            for rel in _folder_pictures(self.path):
                label = self._check(str(self.path), rel)
                if label is not None:
                    members.append(rel)
                    archive_of.append(-1)
                    labels.append(label)
        if not members:
            raise DataFormatError(self.path, "holds no pictures named <character>_<number>.png")
        self.members = members
        self.archive_of = np.asarray(archive_of, dtype=np.int32)
        self.classes = sorted(set(labels))
        index = {c: k for k, c in enumerate(self.classes)}
        self.labels = np.asarray([index[c] for c in labels], dtype=np.int64)
        self._lock = threading.Lock()
        self._zips: dict[int, zipfile.ZipFile] = {}
        self._pid: int | None = None

    @staticmethod
    def _check(where: str, name: str) -> str | None:
        """The character of member `name`, None for what is no picture (folders' junk, other files)."""
        parts = PurePosixPath(name).parts
        if not parts or any(p.startswith(".") or p == "__MACOSX" for p in parts):
            return None
        if PurePosixPath(name).suffix.lower() != ".png":
            return None
        label = _label_of(parts[-1])
        if label is None:
            raise DataFormatError(
                where,
                f"member {name!r} is not named <character>_<number>.png as the data set names its pictures"
                + (" (were its names decoded with the wrong code page?)" if not name.isascii() else ""),
            )
        if len(parts) >= 2 and len(parts[-2]) == 1 and parts[-2] != label:
            raise DataFormatError(
                where, f"member {name!r}: the file name says {label!r} but its folder says {parts[-2]!r}"
            )
        return label

    def __len__(self) -> int:
        return len(self.members)

    def name(self, i: int) -> str:
        """How errors name sample i: ``archive:member`` or the file's path."""
        a = int(self.archive_of[i])
        if a < 0:
            return str(self.path / self.members[i])
        return f"{self.archives[a].name}:{self.members[i]}"

    def _zip(self, a: int) -> zipfile.ZipFile:
        if self._pid != os.getpid():  # a forked worker opens its own handles
            self._zips, self._pid = {}, os.getpid()
        zf = self._zips.get(a)
        if zf is None:
            zf = self._zips[a] = self.archives[a].open()
        return zf

    def read_bytes(self, i: int) -> bytes:
        """The PNG file of sample i, as stored."""
        a = int(self.archive_of[i])
        if a < 0:
            try:
                return (self.path / self.members[i]).read_bytes()
            except OSError as exc:
                raise DataFormatError(self.name(i), f"cannot read: {exc.strerror or exc}") from None
        try:
            with self._lock:
                zf = self._zip(a)
                info = zf.getinfo(self.members[i])
                if info.file_size > MAX_MEMBER_BYTES:
                    raise DataFormatError(
                        self.name(i), f"member claims {info.file_size:,} bytes; a picture is a few kB"
                    )
                return zf.read(info)
        except ZIP_ERRORS as exc:
            raise DataFormatError(self.name(i), f"corrupt zip member: {exc}") from None

    def load(self, i: int) -> np.ndarray:
        """Sample i decoded to uint8 grey (H, W), as stored (dark ink on white)."""
        return decode_image(self.read_bytes(i), name=self.name(i))

    def image_size(self, i: int) -> tuple[int, int]:
        """(width, height) of sample i from its PNG header, without decoding pixels."""
        try:
            with Image.open(io.BytesIO(self.read_bytes(i)), formats=["PNG"]) as im:
                return im.size
        except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError, SyntaxError) as exc:
            raise DataFormatError(self.name(i), f"not a readable PNG: {exc}") from None

    def close(self) -> None:
        for zf in self._zips.values():
            zf.close()
        self._zips = {}

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_zips"], state["_pid"], state["_lock"] = {}, None, None
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()


def _folder_pictures(root: Path) -> list[str]:
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d != "__MACOSX")
        rel = os.path.relpath(dirpath, root)
        for f in sorted(filenames):
            if not f.startswith(".") and f.lower().endswith(".png"):
                out.append(f if rel == "." else f"{rel.replace(os.sep, '/')}/{f}")
    return out


def iter_tchd(path: str | Path) -> Iterator[tuple[str, np.ndarray]]:
    """Stream (character, picture) pairs in archive order, one member read at a time: uint8 grey (H, W)
    as stored (dark ink on white)."""
    pictures = Pictures(path)
    try:
        for i in range(len(pictures)):
            yield pictures.classes[int(pictures.labels[i])], pictures.load(i)
    finally:
        pictures.close()


# ------------------------------------------------------------------------------------------ data set


class TchdPictures(Source):
    """The data set's pictures, framed to `FRAMED_SIZE` white ink on black."""

    name = NAME

    def __init__(self, path: str | Path):
        self.path = str(path)
        self.pictures = Pictures(path)
        self.class_names = list(self.pictures.classes)
        self.labels = self.pictures.labels
        self.image_size = FRAMED_SIZE

    def sample(self, row: int) -> np.ndarray:
        return frame(normalize_ink(self.pictures.load(int(row))), self.image_size)

    def bitmaps(self, rows: np.ndarray, size: int | None = None) -> np.ndarray:
        rows = np.asarray(rows).reshape(-1)
        out = np.empty((len(rows), self.image_size, self.image_size), dtype=np.uint8)

        def one(i: int) -> None:
            out[i] = self.sample(rows[i])

        workers = min(4, os.cpu_count() or 1, len(rows) // 16)
        if workers > 1:  # Pillow decodes with the GIL released
            with ThreadPoolExecutor(workers) as pool:
                list(pool.map(one, range(len(rows))))
        else:
            for i in range(len(rows)):
                one(i)
        if size is not None and size != self.image_size:
            out = resize_bitmaps(out, size)
        return out


def open_source(path: Path, *, classes=None, progress: bool = True) -> TchdPictures:
    return TchdPictures(path)
