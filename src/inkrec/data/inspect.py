"""Looking at a data set before training on it: what `inkrec data info | show | import-images` compute.

- `summary(path)`: the detected format, classes, samples per class, writers, the standard split and a
  histogram of image sizes (or of points per drawing for stroke data); the command prints it as tables.
- `grid_image(...)`: a labelled grid of samples, spread over the classes (`pick_samples`), as the models
  see them (white ink on black). Each label is drawn in the first font that has its characters
  (`inkrec.fonts`: ``INKREC_FONT``, installed fonts, and a small CJK font shipped for inkrec's own labels);
  only a label no font covers shows code points.
- `import_images(src, out)`: a folder of a person's own PNG/JPEG drawings, one sub-folder per class,
  becomes ``<class>.npy`` files in the numpy_bitmap layout (N, size*size), framed like Quick, Draw!
  bitmaps, ready for ``inkrec train``.

Long loops take a `track(items, description)` callable, so the command line can show a progress bar.
"""

from __future__ import annotations

import contextlib
import itertools
import math
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from inkrec import fonts
from inkrec.atomic import atomic_output, save_npy_atomic
from inkrec.data import formats
from inkrec.data.dataset import InkDataset, open_dataset
from inkrec.data.formats import gnt, image_folder, tchd
from inkrec.data.formats.image_folder import ImageFolder
from inkrec.errors import ConfigError, DataFormatError
from inkrec.preprocess.pictures import decode_image, normalize_ink, to_model_input

LABEL_HEIGHT = 16
GRID_PAD = 2

# `track(items, description)` yields the items, showing progress if it likes (rich's `Progress.track`).
Track = Callable[[Iterable, str], Iterable]


def _untracked(items: Iterable, description: str) -> Iterable:
    return items


# ============================================================================ info


@dataclass
class Summary:
    """What `inkrec data info` shows."""

    path: Path
    format: str
    dataset: InkDataset
    counts: np.ndarray  # samples per class
    split_sizes: tuple[int, int] | None  # (train, test) of the standard split, when asked for
    size_title: str  # "image size" or "points per drawing"
    sizes: Counter = field(default_factory=Counter)
    looked_at: int = 0  # samples whose size was read


def summary(
    path: Path, *, sample_limit: int = 5000, splits: bool = False, track: Track = _untracked
) -> Summary:
    """Format, classes, counts and a size histogram of the data set at `path`."""
    fmt = formats.detect_format(path)
    ds = open_dataset(path)
    split_sizes = None
    if splits:
        split_sizes = (
            len(open_dataset(path, split="train", progress=False)),
            len(open_dataset(path, split="test", progress=False)),
        )
    title, hist, looked = _size_histogram(ds, Path(path), fmt, sample_limit, track)
    return Summary(
        path=Path(path),
        format=fmt,
        dataset=ds,
        counts=ds.class_counts(),
        split_sizes=split_sizes,
        size_title=title,
        sizes=hist,
        looked_at=looked,
    )


def _size_histogram(
    ds: InkDataset, path: Path, fmt: str, limit: int, track: Track
) -> tuple[str, Counter, int]:
    """(title, Counter of sizes, how many samples were looked at)."""
    n = len(ds)
    if fmt == image_folder.NAME:
        folder = ImageFolder(path)
        picks = _spread(len(folder), limit)
        sizes: Counter = Counter()
        for i in track(picks, "reading image headers"):
            w, h = folder.image_size(int(i))
            sizes[f"{w}x{h}"] += 1
        return "image size", sizes, len(picks)
    if fmt == tchd.NAME:
        pictures = tchd.Pictures(path)
        picks = _spread(len(pictures), limit)
        sizes = Counter()
        for i in track(picks, "reading picture headers"):
            w, h = pictures.image_size(int(i))
            sizes[f"{w}x{h}"] += 1
        pictures.close()
        return "image size", sizes, len(picks)
    if fmt == gnt.NAME:
        files = [path] if path.is_file() else formats.files_of_format(path, fmt)
        sizes = Counter()
        for f in track(files, "reading record headers"):
            index = gnt.index_gnt(f)
            sizes.update(
                f"{w}x{h}" for w, h in zip(index.widths.tolist(), index.heights.tolist(), strict=True)
            )
        return "image size", sizes, sum(sizes.values())
    if ds.kind == "bitmap":
        side = ds.image_size
        return "image size", Counter({f"{side}x{side}": n}), n
    picks = _spread(n, limit)
    counts: Counter = Counter()
    for i in track(picks, "reading drawings"):
        strokes, _ = ds[int(i)]
        points = sum(np.asarray(s).shape[1] for s in strokes)
        counts[_bucket(points)] += 1
    return "points per drawing", counts, len(picks)


def _spread(n: int, limit: int) -> np.ndarray:
    """At most `limit` indices spread evenly over 0..n-1 (all when n <= limit)."""
    if n <= limit:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, limit).round().astype(np.int64))


def _bucket(points: int) -> str:
    edges = [0, 16, 32, 64, 128, 256, 512, 1024, 2048]
    for lo, hi in itertools.pairwise(edges):
        if points < hi:
            return f"{lo}-{hi - 1}"
    return f">={edges[-1]}"


def sort_sizes(key: str) -> tuple:
    """Order of the histogram's rows: by the numbers in the key (`28x28`, `16-31`, `>=2048`)."""
    digits = [int(t) for t in key.replace(">=", "").replace("x", "-").split("-") if t.isdigit()]
    return (digits or [0], key)


# ============================================================================ show


def pick_samples(labels: np.ndarray, n_classes: int, n: int, seed: int = 0) -> np.ndarray:
    """`n` sample indices spread over the classes: one of each class in turn (classes in seeded random
    order when there are more classes than places), random samples within a class."""
    rng = np.random.default_rng(seed)
    per_class = [rng.permutation(np.flatnonzero(labels == c)) for c in range(n_classes)]
    order = [c for c in range(n_classes) if len(per_class[c])]
    if len(order) > n:
        order = sorted(rng.choice(order, size=n, replace=False).tolist())
    picks: list[int] = []
    depth = 0
    while len(picks) < n and any(depth < len(per_class[c]) for c in order):
        for c in order:
            if depth < len(per_class[c]) and len(picks) < n:
                picks.append(int(per_class[c][depth]))
        depth += 1
    # group by class for a grid that reads class by class
    return np.asarray(sorted(picks, key=lambda i: (labels[i], i)), dtype=np.int64)


def label_text(label: str) -> tuple[str, Path | None]:
    """The text to draw for a label and the font file to draw it with (`inkrec.fonts`): the label itself
    in the first font that has all its characters, else (no such font) the label with its non-Latin
    characters as code points, in Pillow's default font."""
    path = fonts.font_for(label)
    if path is not None:
        return label, path
    return "".join(ch if ord(ch) < 0x250 else f"U+{ord(ch):04X}" for ch in label), None


def _font(path: Path | None, size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    if path is not None:
        with contextlib.suppress(OSError):
            return ImageFont.truetype(str(path), size)
    return ImageFont.load_default(size=size)


def grid_image(
    bitmaps: np.ndarray,
    labels: Sequence[str],
    *,
    cols: int | None = None,
    cell: int = 64,
) -> Image.Image:
    """A labelled grid: each bitmap scaled to `cell` pixels with its label underneath, on dark grey."""
    n = len(bitmaps)
    if n == 0:
        raise ConfigError("nothing to show: the data set has no samples")
    cols = cols or math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    w = cols * (cell + GRID_PAD) + GRID_PAD
    h = rows * (cell + LABEL_HEIGHT + GRID_PAD) + GRID_PAD
    canvas = Image.new("RGB", (w, h), (40, 40, 40))
    draw = ImageDraw.Draw(canvas)
    cache: dict[str, tuple[str, ImageFont.ImageFont | ImageFont.FreeTypeFont]] = {}
    for k in range(n):
        r, c = divmod(k, cols)
        x = GRID_PAD + c * (cell + GRID_PAD)
        y = GRID_PAD + r * (cell + LABEL_HEIGHT + GRID_PAD)
        tile = Image.fromarray(np.asarray(bitmaps[k], dtype=np.uint8), mode="L").resize(
            (cell, cell), Image.Resampling.NEAREST if bitmaps[k].shape[0] <= cell else Image.Resampling.BOX
        )
        canvas.paste(tile.convert("RGB"), (x, y))
        label = str(labels[k])
        if label not in cache:
            text, path = label_text(label)
            cache[label] = text, _font(path, LABEL_HEIGHT - 4)
        text, font = cache[label]
        while len(text) > 1 and draw.textlength(text, font=font) > cell:
            text = text[:-2] + "…"
        draw.text((x + 1, y + cell + 1), text, fill=(230, 230, 230), font=font)
    return canvas


def show(
    path: Path,
    output: Path,
    *,
    n: int = 64,
    seed: int = 0,
    cell: int = 64,
    cols: int | None = None,
    split: str = "all",
) -> tuple[Image.Image, int, int]:
    """Write a grid of `n` samples of the data set at `path` to the PNG `output`.

    Returns (the image, samples shown, classes shown)."""
    if output.suffix.lower() != ".png":
        raise ConfigError(f"--output must be a .png file, got {output}")
    ds = open_dataset(path, split=split)
    picks = pick_samples(ds.labels, len(ds.classes), n, seed)
    bitmaps = ds.bitmaps(picks)
    names = [ds.classes[int(ds.labels[i])] for i in picks]
    img = grid_image(bitmaps, names, cols=cols, cell=cell)
    with atomic_output(output) as fh:
        img.save(fh, "PNG")
    return img, len(picks), len(set(names))


# ============================================================================ import-images


def _safe_file_name(name: str) -> str:
    bad = '/\\\0:*?"<>|'
    out = "".join("_" if ch in bad or ord(ch) < 32 else ch for ch in name).strip(" .")
    return out or "_"


@dataclass
class Imported:
    """What `import_images` wrote and what it could not read."""

    written: int
    classes: int
    skipped: list[str]


def import_images(
    src: Path, out: Path, *, size: int = 28, strict: bool = False, track: Track = _untracked
) -> Imported:
    """A folder (or .zip) of pictures, one sub-folder per class -> `<class>.npy` numpy_bitmap files in `out`.

    Unreadable pictures are skipped and listed, or stop the import with `strict`.
    """
    folder = ImageFolder(src)
    names = {c: _safe_file_name(c) for c in folder.classes}
    if len(set(names.values())) != len(names):
        raise ConfigError("two class names map to the same file name; rename the class folders")
    rows: dict[int, list[np.ndarray]] = {k: [] for k in range(len(folder.classes))}
    skipped: list[str] = []
    for i in track(range(len(folder)), "importing pictures"):
        try:
            grey = decode_image(folder.read_bytes(i), name=folder.name(i), max_side=max(1024, 8 * size))
        except DataFormatError as exc:
            if strict:
                raise
            skipped.append(str(exc))
            continue
        bitmap = to_model_input(normalize_ink(grey), size)
        rows[folder.samples[i][1]].append(bitmap.reshape(-1))
    if not any(rows.values()):
        raise DataFormatError(src, "no picture could be read")
    out.mkdir(parents=True, exist_ok=True)
    written = 0
    for k, cls in enumerate(folder.classes):
        if not rows[k]:
            continue
        save_npy_atomic(out / f"{names[cls]}.npy", np.stack(rows[k]).astype(np.uint8))
        written += len(rows[k])
    return Imported(written=written, classes=sum(1 for v in rows.values() if v), skipped=skipped)
