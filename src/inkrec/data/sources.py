"""Where a data set's samples live: the `Source` interface and the storage layouts several formats share.

A source numbers every sample of a data set 0..n-1 in file order ("global rows") and knows each row's
class, its standard test flag and (where the data has one) its writer. It fetches one sample or a batch
of them without ever holding the whole data set in memory. The layouts here are shared by formats; a
layout only one format has lives in that format's module (`inkrec.data.formats.image_folder.ImageFiles`,
`inkrec.data.formats.gnt.GntRecords`):

- `BitmapArrays`: uint8 bitmaps in per-file arrays, memory-mapped where the file allows (numpy_bitmap
  .npy, uncompressed idx), concatenated virtually; batches are gathered file by file, with positional
  reads straight from the page cache into the batch, so the resident set stays bounded however large
  the files are.
- `IndexedRecords`: drawings in per-category files (ndjson lines, .bin records) found by byte offsets
  recorded in one streaming pass; a sample is one seek and one parse by the format's reader.
- `StrokeLists`: drawings small enough to live in memory (sketch-rnn .npz).

Parsing is the formats' job (`inkrec.data.formats`); sources only decide which bytes to hand them.
"""

from __future__ import annotations

import difflib
import errno
import mmap
import os
import re
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np
from tqdm import tqdm

from inkrec.data.splits import head_tail_test_mask, ordered_writer_test_mask
from inkrec.errors import ConfigError, DataFormatError
from inkrec.preprocess.batch import rasterize_drawings, resize_bitmaps
from inkrec.preprocess.pictures import to_model_input
from inkrec.preprocess.spec import InputSpec

try:
    import resource
except ImportError:  # not on Windows
    resource = None  # type: ignore[assignment]

BITMAP = "bitmap"
STROKES = "strokes"


class Source:
    """Common interface; subclasses fill the attributes in __init__."""

    kind: str = BITMAP
    name: str = ""  # "quickdraw-bitmap", "quickdraw-strokes", "idx", "image-folder", "gnt", "sketchrnn"
    path: str = ""
    image_size: int | None = None
    class_names: list[str]
    labels: np.ndarray  # int64 per global row, index into class_names
    writers: np.ndarray | None = None  # per global row, or None when the data names no writers
    standard_test: np.ndarray | None = None  # bool per global row, or None: no standard cut (seeded random)

    def __len__(self) -> int:
        return len(self.labels)

    def sample(self, row: int):
        """Bitmap (uint8 HxW, white ink on black) or strokes (list of (2|3, n) arrays) of one row."""
        raise NotImplementedError

    def bitmaps(self, rows: np.ndarray, size: int | None) -> np.ndarray:
        """uint8 (N, size, size) for the given global rows, in that order."""
        raise NotImplementedError

    def release_pages(self) -> None:
        """Drop any memory-mapped pages this process holds (the page cache keeps them)."""


# --------------------------------------------------------------------------------------------- bitmaps


def _find_mmap(arr) -> mmap.mmap | None:
    seen = 0
    obj = arr
    while obj is not None and seen < 16:
        mm = getattr(obj, "_mmap", None)
        if isinstance(mm, mmap.mmap):
            return mm
        if isinstance(obj, mmap.mmap):
            return obj
        obj = getattr(obj, "base", None)
        seen += 1
    return None


def _file_rows(arr: np.ndarray) -> tuple[str, int] | None:
    """(file, byte offset of row 0) when `arr` is a C-ordered memory map of whole rows of one file, so
    rows can be read with positional reads instead of through the mapping; else None."""
    if not isinstance(arr, np.memmap) or not arr.flags.c_contiguous or not arr.filename or len(arr) == 0:
        return None
    mm = _find_mmap(arr)
    if mm is None:
        return None
    # `memmap.offset` is the file offset the map was opened at; check the array really starts there.
    start = np.frombuffer(mm, dtype=np.uint8).ctypes.data
    mapped_from = int(arr.offset) - int(arr.offset) % mmap.ALLOCATIONGRANULARITY
    if arr.ctypes.data - start != int(arr.offset) - mapped_from:
        return None
    return str(arr.filename), int(arr.offset)


def _process_file_rss() -> int | None:
    """Bytes of file-backed memory (mapped files, shared libraries) resident in this process (Linux)."""
    try:
        with open("/proc/self/statm", "rb") as fh:
            fields = fh.read().split()
    except OSError:
        return None
    return int(fields[2]) * mmap.PAGESIZE


# Positional reads where the platform has them (the resident set never grows), else through the maps.
_DEFAULT_READ_MODE = "pread" if hasattr(os, "preadv") else "mmap"


def _raise_open_file_limit() -> bool:
    """Raise the soft limit of open files to the hard limit (a data set of hundreds of category files,
    opened for train and test, can pass a soft limit of 1024); True if it was raised."""
    if resource is None:
        return False
    try:
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if hard == resource.RLIM_INFINITY or hard > soft:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            return True
    except (OSError, ValueError):
        pass
    return False


class BitmapArrays(Source):
    """Bitmaps in a list of uint8 arrays (n_i, H, W) seen as one virtual concatenation, without copies.

    Two ways to read rows of memory-mapped files (`read_mode`):

    - "pread" (default when the files are larger than `page_budget`): positional reads (`os.preadv`, one
      per run of consecutive rows) straight into the batch array. The page cache serves them; nothing
      is mapped into the process, so its resident set does not grow with the data set at all.
    - "mmap" (default for smaller sets): `np.take` through the maps. A touched row maps its whole
      page-cache folio (up to 2 MB on recent kernels) into the process, which counts in its RSS; so
      every 32 rows the process's file-backed RSS is measured (/proc/self/statm) and, once it has grown
      by `page_budget` since the last release, the maps' pages are handed back (madvise DONTNEED; the
      page cache keeps them). Fastest while everything fits the budget; at scale it refaults after
      every release (`benchmarks/memmap_scale.py` measures both).

    In-memory arrays (decompressed .gz idx, `materialize()`) are plain `np.take`. `reopen` (a picklable
    callable returning the same list) lets a pickled source (a DataLoader worker, a DDP rank) open the
    files again instead of shipping gigabytes of pixels. The budget is per process.
    """

    def __init__(
        self,
        arrays: Sequence[np.ndarray],
        labels: np.ndarray,
        class_names: list[str],
        *,
        name: str,
        path: str | Path,
        standard_test: np.ndarray | None = None,
        writers: np.ndarray | None = None,
        reopen=None,
        page_budget: int = 512 << 20,
    ):
        self.name = name
        self.path = str(path)
        self.class_names = list(class_names)
        self.labels = np.asarray(labels, dtype=np.int64)
        self.standard_test = standard_test
        self.writers = writers
        self.page_budget = int(page_budget)
        self.read_mode = ""  # chosen in _set_arrays from the data size
        self._reopen = reopen
        self._set_arrays(arrays)

    def _set_arrays(self, arrays: Sequence[np.ndarray]) -> None:
        shapes = {a.shape[1:] for a in arrays}
        if len(shapes) != 1:
            raise DataFormatError(self.path, f"files hold bitmaps of different sizes: {sorted(shapes)}")
        (shape,) = shapes
        self.image_shape = shape
        self.image_size = shape[0] if shape[0] == shape[1] else None
        self._maps = [m for m in (_find_mmap(a) for a in arrays) if m is not None]
        self._files = [_file_rows(a) for a in arrays]
        self._all_files = all(spec is not None for spec in self._files)
        mapped_bytes = sum(a.nbytes for a, spec in zip(arrays, self._files) if spec is not None)
        if not self.read_mode:
            # A set that fits the page budget may stay mapped whole (np.take, fastest); larger ones are
            # read with positional reads, so their resident set never grows.
            self.read_mode = "mmap" if mapped_bytes <= self.page_budget else _DEFAULT_READ_MODE
        self._row0_offsets = np.asarray([spec[1] if spec else 0 for spec in self._files], dtype=np.int64)
        self._arrays = [np.asarray(a) for a in arrays]  # plain ndarray views: no memmap subclass overhead
        sizes = np.asarray([len(a) for a in arrays], dtype=np.int64)
        self.file_starts = np.concatenate([[0], np.cumsum(sizes)])[:-1]
        self.file_sizes = sizes
        self._row_bytes = int(np.prod(shape))
        self._fds: dict[int, int] = {}
        self._fd_pid = os.getpid()
        self._since_check = 0
        self._rss_at_release = None
        self._lock = threading.Lock()

    def __getstate__(self):
        state = self.__dict__.copy()
        if self._reopen is not None:
            state["_arrays"] = None
            state["_maps"] = None
        for key in ("_lock", "_fds"):
            state.pop(key, None)
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._fds = {}
        self._fd_pid = os.getpid()
        self._lock = threading.Lock()
        if self._arrays is None:
            self._set_arrays(self._reopen())

    def __del__(self):
        for fd in getattr(self, "_fds", {}).values():
            try:
                os.close(fd)
            except OSError:
                pass

    def _locate(self, row: int) -> tuple[int, int]:
        f = int(np.searchsorted(self.file_starts, row, side="right")) - 1
        return f, row - int(self.file_starts[f])

    def sample(self, row: int) -> np.ndarray:
        f, r = self._locate(int(row))
        out = np.empty(self.image_shape, dtype=np.uint8)
        if self._files[f] is not None and self.read_mode == "pread":
            path, offset = self._files[f]
            rb = self._row_bytes
            if os.preadv(self._fd(f), [memoryview(out.reshape(-1))], offset + r * rb) != rb:
                raise DataFormatError(path, f"file ended early while reading row {r}")
        else:
            out[...] = self._arrays[f][r]
            self._account(self._row_bytes)
        return out

    def bitmaps(self, rows: np.ndarray, size: int | None = None) -> np.ndarray:
        rows = np.asarray(rows, dtype=np.int64).reshape(-1)
        out = np.empty((len(rows),) + self.image_shape, dtype=np.uint8)
        if len(rows):
            if len(rows) > 1 and np.any(rows[1:] < rows[:-1]):
                # Read in file order (locality, one pass per file), then put back in request order.
                order = np.argsort(rows, kind="stable")
                buf = np.empty_like(out)
                self._gather_sorted(rows[order], buf)
                out[order] = buf
            else:
                self._gather_sorted(rows, out)
        if size is not None and out.shape[1:] != (size, size):
            out = resize_bitmaps(out, size)
        return out

    def _gather_sorted(self, rows: np.ndarray, out: np.ndarray) -> None:
        """Copy sorted global `rows` into the C-contiguous `out`."""
        if self.read_mode == "pread" and self._all_files:
            self._pread_sorted(rows, out)
            return
        bounds = np.searchsorted(rows, np.append(self.file_starts, np.iinfo(np.int64).max))
        for f in np.flatnonzero(bounds[1:] > bounds[:-1]):
            lo, hi = bounds[f], bounds[f + 1]
            local = rows[lo:hi] - self.file_starts[f]
            if self.read_mode == "pread" and self._files[f] is not None:
                self._pread_sorted(rows[lo:hi], out[lo:hi])
                continue
            if hi - lo == 1:
                out[lo] = self._arrays[f][local[0]]
            elif local[-1] - local[0] == hi - lo - 1 and np.all(np.diff(local) == 1):  # one contiguous run
                out[lo:hi] = self._arrays[f][local[0] : local[-1] + 1]
            else:
                np.take(self._arrays[f], local, axis=0, out=out[lo:hi])
            self._account((hi - lo) * self._row_bytes)

    def _fd(self, f: int) -> int:
        if self._fd_pid != os.getpid():  # a forked worker opens its own descriptors
            self._fds, self._fd_pid = {}, os.getpid()
        fd = self._fds.get(f)
        if fd is None:
            try:
                fd = os.open(self._files[f][0], os.O_RDONLY)
            except OSError as exc:
                if exc.errno != errno.EMFILE or not _raise_open_file_limit():
                    raise DataFormatError(self._files[f][0], f"cannot open: {exc.strerror or exc}") from None
                fd = os.open(self._files[f][0], os.O_RDONLY)
            self._fds[f] = fd
        return fd

    def _pread_sorted(self, rows: np.ndarray, out: np.ndarray) -> None:
        """Read sorted global `rows` (all in plain files) into `out` (C-contiguous): one `os.preadv` per
        run of consecutive rows of one file, all bookkeeping vectorised over the batch."""
        rb = self._row_bytes
        files = np.searchsorted(self.file_starts, rows, side="right") - 1
        offsets = self._row0_offsets[files] + (rows - self.file_starts[files]) * rb
        if len(rows) > 1:
            breaks = np.flatnonzero((np.diff(files) != 0) | (np.diff(rows) != 1)) + 1
            starts = np.concatenate(([0], breaks))
            ends = np.concatenate((breaks, [len(rows)]))
        else:
            starts, ends = np.zeros(1, np.int64), np.ones(1, np.int64)
        fd_of = {int(f): self._fd(int(f)) for f in np.unique(files)}
        view = memoryview(out.reshape(-1))
        preadv = os.preadv
        for f, off, s, e in zip(
            files[starts].tolist(), offsets[starts].tolist(), starts.tolist(), ends.tolist()
        ):
            if preadv(fd_of[f], [view[s * rb : e * rb]], off) != (e - s) * rb:
                raise DataFormatError(
                    self._files[f][0], "file ended early while reading rows (was it changed on disk?)"
                )

    def _account(self, touched: int) -> None:
        """Through-the-mapping reads: every 32 rows touched, measure the file-backed RSS and release the
        mapped pages if it grew by `page_budget` since the last release. (One touched row can map a
        whole 2 MB folio of the page cache, so estimates from the bytes copied are useless.)"""
        if not self._maps:
            return
        self._since_check += touched
        if self._since_check < 32 * self._row_bytes:
            return
        self._since_check = 0
        rss = _process_file_rss()
        if rss is None:
            return
        if self._rss_at_release is None:
            self._rss_at_release = rss
        elif rss - self._rss_at_release > self.page_budget:
            self.release_pages()

    def release_pages(self) -> None:
        with self._lock:
            for m in self._maps:
                try:
                    m.madvise(mmap.MADV_DONTNEED)
                except (OSError, ValueError, AttributeError):  # closed map, or no madvise on this platform
                    pass
            self._since_check = 0
            self._rss_at_release = _process_file_rss()


# --------------------------------------------------------------------------------------------- records


def rows_by_file(file_starts: np.ndarray, rows: np.ndarray):
    """For each file that global `rows` touch: (file index, positions in `rows`, rows within that file), so a
    reader can fetch all of one file's records in one call."""
    files = np.searchsorted(file_starts, rows, side="right") - 1
    for f in np.unique(files):
        pos = np.flatnonzero(files == f)
        yield int(f), pos, rows[pos] - file_starts[f]


class WriterFiles(Source):
    """Records in one file per writer (CASIA's `1001-c.gnt`, `1043-c.pot`), indexed by byte offset.

    `_index` reads each file's record offsets and labels once (`index_file(path)` returns an object with
    `offsets` and `labels`); writers come from the file names, and the standard split is writer-disjoint (the
    first 80% of writers train: CASIA's official 1001-1240 / 1241-1300 cut).
    """

    def _index(self, files: Sequence[Path], index_file: Callable, *, path: str | Path, what: str,
               progress: bool) -> None:
        self.path = str(path)
        self.files = [Path(f) for f in files]
        if not self.files:
            raise DataFormatError(path, f"no {what} files found")
        offsets, tags, sizes = [], [], []
        for p in indexing_progress(self.files, progress, f"indexing {what}"):
            index = index_file(p)
            offsets.append(compact_offsets(index.offsets))
            tags.extend(index.labels)
            sizes.append(len(index.offsets))
        self._offsets = offsets
        self.file_sizes = np.asarray(sizes, dtype=np.int64)
        self.file_starts = np.concatenate([[0], np.cumsum(self.file_sizes)])[:-1].astype(np.int64)
        names, inverse = np.unique(np.asarray(tags, dtype=object).astype(str), return_inverse=True)
        self.class_names = [str(c) for c in names]
        self.labels = inverse.reshape(-1).astype(np.int64)
        file_writers = [file_writer(p) for p in self.files]
        if all(w is not None for w in file_writers) and len(set(file_writers)) >= 2:
            self.writers = np.repeat(np.asarray(file_writers, dtype=np.int64), self.file_sizes)
        else:
            self.writers = np.repeat(np.asarray([p.stem for p in self.files]), self.file_sizes)
        self.standard_test = ordered_writer_test_mask(self.writers) if len(self.files) >= 2 else None

    def records(self, rows, read_at: Callable[[Path, list[int]], list]) -> list:
        """`read_at`'s records for the given global rows, in that order (one call per file touched)."""
        rows = np.asarray(rows, dtype=np.int64).reshape(-1)
        out: list = [None] * len(rows)
        for f, pos, local in rows_by_file(self.file_starts, rows):
            for p, record in zip(pos, read_at(self.files[f], self._offsets[f][local].tolist())):
                out[p] = record
        return out


def file_writer(path: str | Path) -> int | None:
    """The writer number in a CASIA file name (``1001-c.gnt`` -> 1001), or None."""
    m = re.match(r"^(\d+)", Path(path).stem)
    return int(m.group(1)) if m else None


class IndexedRecords(Source):
    """Drawings in per-category files (Quick, Draw! ndjson or .bin), read by byte offset.

    One streaming pass per file (the format's `offsets` function) records the byte offset of every
    drawing; the index costs 4-8 bytes per drawing, the drawings stay on disk, and a batch is one
    `read_at` call per file touched. Both functions are module-level, so a pickled source (a DataLoader
    worker) carries them by name.
    """

    kind = STROKES
    name = "quickdraw-strokes"

    def __init__(
        self,
        files: Sequence[Path],
        class_names: list[str],
        *,
        fmt: str,
        path: str | Path,
        offsets: Callable[[Path], np.ndarray],
        read_at: Callable[[Path, Iterable[int]], list],
        progress: bool = True,
    ):
        self.fmt = fmt
        self.path = str(path)
        self.files = [Path(f) for f in files]
        self.class_names = list(class_names)
        self._read_at = read_at
        index, sizes = [], []
        for p in indexing_progress(self.files, progress, f"indexing {fmt}"):
            o = np.asarray(offsets(p), dtype=np.int64)
            index.append(compact_offsets(o))
            sizes.append(len(o))
        self._offsets = index
        self.file_sizes = np.asarray(sizes, dtype=np.int64)
        self.file_starts = np.concatenate([[0], np.cumsum(self.file_sizes)])[:-1].astype(np.int64)
        self.labels = np.repeat(np.arange(len(self.files), dtype=np.int64), self.file_sizes)
        self.standard_test = head_tail_test_mask(self.file_starts, self.file_sizes)
        self.raw = bool(len(self.labels)) and self.drawing(0).has_time

    def drawings(self, rows) -> list:
        """`Drawing`s of the given global rows, in that order (one reader call per file touched)."""
        rows = np.asarray(rows, dtype=np.int64).reshape(-1)
        out: list = [None] * len(rows)
        for f, pos, local in rows_by_file(self.file_starts, rows):
            for p, d in zip(pos, self._read_at(self.files[f], self._offsets[f][local].tolist())):
                out[p] = d
        return out

    def drawing(self, row: int):
        return self.drawings([row])[0]

    def sample(self, row: int) -> list[np.ndarray]:
        return self.drawing(row).strokes

    def bitmaps(self, rows: np.ndarray, size: int | None = None) -> np.ndarray:
        return rasterize_strokes([d.strokes for d in self.drawings(rows)], size, raw=self.raw)


class StrokeLists(Source):
    """Strokes held in memory (sketch-rnn .npz: a few MB per category)."""

    kind = STROKES

    def __init__(
        self, drawings: list[list[np.ndarray]], labels, class_names, *, name, path, standard_test=None
    ):
        self.name = name
        self.path = str(path)
        self._drawings = drawings
        self.labels = np.asarray(labels, dtype=np.int64)
        self.class_names = list(class_names)
        self.standard_test = standard_test
        self.raw = False

    def sample(self, row: int) -> list[np.ndarray]:
        return self._drawings[int(row)]

    def bitmaps(self, rows: np.ndarray, size: int | None = None) -> np.ndarray:
        return rasterize_strokes(
            [self._drawings[int(r)] for r in np.asarray(rows).reshape(-1)], size, raw=False
        )


def rasterize_strokes(drawings: list[list[np.ndarray]], size: int | None, *, raw: bool) -> np.ndarray:
    """Strokes -> uint8 (N, size, size) with THE rasterizer; raw drawings are simplified first (the
    rasterizer works in the simplified 0-255 space)."""
    return rasterize_drawings(drawings, InputSpec(size=int(size or 28)), raw=raw)


# --------------------------------------------------------------------------------------------- pictures


# Pictures of differing sizes (CASIA PNG conversions, .gnt characters) are framed to this square size.
FRAMED_SIZE = 64


def frame(ink: np.ndarray, size: int) -> np.ndarray:
    """White-on-black ink of any size -> (size, size): cropped to the ink, scaled and centred like the
    Quick, Draw! rasterizer frames a drawing, stroke widths kept as written."""
    return to_model_input(ink, size, line_diameter=None)


# --------------------------------------------------------------------------------------------- helpers


def compact_offsets(a: np.ndarray) -> np.ndarray:
    """Offsets below 4 GiB fit uint32: halves the index of a 35-million-drawing data set."""
    a = np.asarray(a)
    if len(a) == 0 or int(a.max()) < 2**32:
        return a.astype(np.uint32)
    return a.astype(np.int64)


def indexing_progress(files: Sequence[Path], enabled: bool, desc: str, min_bytes: int = 256 << 20):
    """Files wrapped in a progress bar when indexing them takes long enough to be worth one."""
    files = list(files)
    if not enabled or sum(f.stat().st_size for f in files) < min_bytes:
        return files
    return tqdm(files, desc=desc, unit="file", leave=False)


def category_files(path: Path, suffixes: Iterable[str], classes) -> tuple[list[Path], list[str]]:
    """Per-category files (a folder's files with one of `suffixes`, or the one file `path`) and their
    category names (file stems, sorted), restricted to `classes` before any file is opened."""
    suffixes = {s.lower() for s in suffixes}
    if path.is_file():
        files = [path]
    else:
        files = sorted(
            c
            for c in path.iterdir()
            if c.is_file() and not c.name.startswith(".") and c.suffix.lower() in suffixes
        )
    if not files:
        raise DataFormatError(path, f"no {'/'.join(sorted(suffixes))} files found")
    by_name: dict[str, Path] = {}
    for f in files:
        by_name.setdefault(f.stem, f)
    all_names = sorted(by_name)
    if classes is None:
        names = all_names
    else:
        wanted = set(classes)
        names = [c for c in all_names if c in wanted]
        unknown = [c for c in classes if c not in by_name]
        if unknown:
            raise ConfigError(unknown_classes_message(unknown, all_names, path))
    return [by_name[n] for n in names], names


def unknown_classes_message(unknown: list[str], names: list[str], path: Path) -> str:
    parts = []
    for c in unknown:
        close = difflib.get_close_matches(c, names, n=3)
        parts.append(f"{c!r}" + (f" (did you mean {', '.join(map(repr, close))}?)" if close else ""))
    shown = ", ".join(names[:20]) + (f", ... ({len(names)} in all)" if len(names) > 20 else "")
    return f"unknown class {', '.join(parts)} in {path}; it has: {shown}"
