"""`inkrec data info | show | import-images`: look at a data set before training on it.

- ``info PATH``: the detected format, classes, samples per class and a histogram of image sizes (or of
  points per drawing for stroke data), as rich tables.
- ``show PATH -o grid.png``: a labelled grid of samples, spread over the classes, as the models see
  them (white ink on black). Labels in any script render when a font for it is installed (CJK fonts
  are looked up in the usual places, or ``INKREC_FONT``); otherwise the code point is shown.
- ``import-images DIR --out DIR``: a folder of a person's own PNG/JPEG drawings, one sub-folder per
  class, becomes ``<class>.npy`` files in the numpy_bitmap layout (N, size*size), framed like Quick,
  Draw! bitmaps, ready for ``inkrec train``.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from PIL import Image, ImageDraw, ImageFont
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from inkrec.errors import ConfigError, InkrecError

# Fonts tried for labels, in order (Latin first; CJK families for Chinese labels).
FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/wenquanyi/wqy-microhei/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/usr/share/fonts/google-droid/DroidSansFallback.ttf",
    "/System/Library/Fonts/PingFang.ttc",
    "/System/Library/Fonts/Hiragino Sans GB.ttc",
    "/Library/Fonts/Arial Unicode.ttf",
    "C:/Windows/Fonts/msyh.ttc",
    "C:/Windows/Fonts/simhei.ttf",
    "C:/Windows/Fonts/arial.ttf",
)
LABEL_HEIGHT = 16
GRID_PAD = 2
_console = Console(stderr=True)


@contextlib.contextmanager
def _user_errors() -> Iterator[None]:
    """Errors the user can fix end the command with their message and exit code 2, not a traceback."""
    try:
        yield
    except InkrecError as exc:
        _console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=_console,
        transient=True,
    )


# ============================================================================ info


def _size_histogram(ds, path: Path, fmt: str, limit: int) -> tuple[str, Counter, int]:
    """(title, Counter of sizes, how many samples were looked at)."""
    from inkrec.data import detect

    n = len(ds)
    if fmt == detect.IMAGE_FOLDER:
        from inkrec.data.image_folder import ImageFolder

        folder = ImageFolder(path)
        picks = _spread(len(folder), limit)
        sizes: Counter = Counter()
        with _progress() as bar:
            for i in bar.track(picks, description="reading image headers"):
                w, h = folder.image_size(int(i))
                sizes[f"{w}x{h}"] += 1
        return "image size", sizes, len(picks)
    if fmt == detect.GNT:
        from inkrec.data.gnt import index_gnt

        files = [path] if path.is_file() else detect.files_of_format(path, fmt)
        sizes = Counter()
        with _progress() as bar:
            for f in bar.track(files, description="reading record headers"):
                index = index_gnt(f)
                sizes.update(
                    f"{w}x{h}" for w, h in zip(index.widths.tolist(), index.heights.tolist(), strict=True)
                )
        return "image size", sizes, sum(sizes.values())
    if ds.kind == "bitmap":
        side = ds.image_size
        return "image size", Counter({f"{side}x{side}": n}), n
    picks = _spread(n, limit)
    counts: Counter = Counter()
    with _progress() as bar:
        for i in bar.track(picks, description="reading drawings"):
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
    for lo, hi in zip(edges, edges[1:], strict=False):
        if points < hi:
            return f"{lo}-{hi - 1}"
    return f">={edges[-1]}"


def _sort_sizes(key: str) -> tuple:
    digits = [int(t) for t in key.replace(">=", "").replace("x", "-").split("-") if t.isdigit()]
    return (digits or [0], key)


def info_command(
    path: Annotated[Path, typer.Argument(help="A data file or folder (any format inkrec reads).")],
    sample_limit: Annotated[
        int,
        typer.Option("--sample-limit", min=1, help="Look at most this many samples for the size histogram."),
    ] = 5000,
    splits: Annotated[
        bool, typer.Option("--splits", help="Also count the standard train/test split.")
    ] = False,
) -> None:
    """Format, classes, samples per class and image sizes of a data set."""
    with _user_errors():
        from inkrec.data import detect
        from inkrec.data.dataset import open_dataset

        fmt = detect.detect_format(path)
        ds = open_dataset(path)
        counts = ds.class_counts()
        out = Console()
        summary = Table(title=f"{path}", show_header=False, title_justify="left")
        summary.add_column("", style="bold")
        summary.add_column("")
        summary.add_row("format", fmt)
        summary.add_row("source", ds.source)
        summary.add_row(
            "kind", ds.kind + (f" ({ds.image_size}x{ds.image_size} as served)" if ds.image_size else "")
        )
        summary.add_row("samples", f"{len(ds):,}")
        summary.add_row("classes", f"{len(ds.classes):,}")
        if len(counts):
            summary.add_row(
                "per class", f"min {counts.min():,}, median {int(np.median(counts)):,}, max {counts.max():,}"
            )
        if ds.writers is not None:
            summary.add_row("writers", f"{len(np.unique(ds.writers)):,}")
        if splits:
            train = len(open_dataset(path, split="train", progress=False))
            test = len(open_dataset(path, split="test", progress=False))
            summary.add_row("standard split", f"train {train:,} / test {test:,}")
        out.print(summary)

        per_class = Table(title="samples per class", title_justify="left")
        per_class.add_column("#", justify="right", style="dim")
        per_class.add_column("class")
        per_class.add_column("samples", justify="right")
        for i, (name, c) in enumerate(zip(ds.classes, counts, strict=True)):
            per_class.add_row(str(i), name, f"{int(c):,}")
        out.print(per_class)

        title, hist, looked = _size_histogram(ds, Path(path), fmt, sample_limit)
        sizes = Table(
            title=f"{title}s" + (f" ({looked:,} of {len(ds):,} samples)" if looked < len(ds) else ""),
            title_justify="left",
        )
        sizes.add_column(title + (" (w x h)" if title == "image size" else ""))
        sizes.add_column("samples", justify="right")
        sizes.add_column("")
        top = max(hist.values()) if hist else 1
        for key in sorted(hist, key=_sort_sizes):
            sizes.add_row(key, f"{hist[key]:,}", "█" * max(1, round(30 * hist[key] / top)))
        out.print(sizes)


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


def _load_font(size: int, path: str | None = None) -> list[ImageFont.ImageFont | ImageFont.FreeTypeFont]:
    fonts: list = []
    for candidate in ([path] if path else []) + [os.environ.get("INKREC_FONT", "")] + list(FONT_CANDIDATES):
        if candidate and os.path.isfile(candidate):
            with contextlib.suppress(OSError):
                fonts.append(ImageFont.truetype(candidate, size))
    fonts.append(ImageFont.load_default(size=size) if hasattr(ImageFont, "load_default") else None)
    return [f for f in fonts if f is not None]


def _render_char(font, ch: str) -> bytes | None:
    img = Image.new("L", (4 * LABEL_HEIGHT, 2 * LABEL_HEIGHT), 0)
    try:
        ImageDraw.Draw(img).text((2, 2), ch, font=font, fill=255)
    except (UnicodeError, OSError, ValueError):
        return None
    return img.tobytes() if img.getbbox() else None


def _has_glyphs(font, text: str) -> bool:
    """True if `font` draws every character of `text` (not nothing, not its 'missing glyph' box)."""
    missing = {_render_char(font, probe) for probe in ("\U0010fffd", "\ufffe")} - {None}
    for ch in text:
        if ch.isspace():
            continue
        drawn = _render_char(font, ch)
        if drawn is None or drawn in missing:
            return False
    return True


def label_text(label: str, fonts: Sequence) -> tuple[str, object]:
    """The text to draw for a label and the font to draw it with: the label itself in the first font
    that has all its characters, else the label with its non-Latin characters as code points."""
    for font in fonts:
        if _has_glyphs(font, label):
            return label, font
    readable = "".join(ch if ord(ch) < 0x250 else f"U+{ord(ch):04X}" for ch in label)
    return readable, fonts[-1]


def grid_image(
    bitmaps: np.ndarray,
    labels: Sequence[str],
    *,
    cols: int | None = None,
    cell: int = 64,
    font_path: str | None = None,
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
    fonts = _load_font(LABEL_HEIGHT - 4, font_path)
    cache: dict[str, tuple[str, object]] = {}
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
            cache[label] = label_text(label, fonts)
        text, font = cache[label]
        while len(text) > 1 and draw.textlength(text, font=font) > cell:
            text = text[:-2] + "…"
        draw.text((x + 1, y + cell + 1), text, fill=(230, 230, 230), font=font)
    return canvas


def show_command(
    path: Annotated[Path, typer.Argument(help="A data file or folder (any format inkrec reads).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="PNG file to write.")],
    n: Annotated[int, typer.Option("--n", "-n", min=1, max=4096, help="How many samples.")] = 64,
    seed: Annotated[int, typer.Option("--seed", help="Which samples (seeded).")] = 0,
    cell: Annotated[int, typer.Option("--cell", min=8, max=512, help="Pixels per sample in the grid.")] = 64,
    cols: Annotated[
        int | None, typer.Option("--cols", min=1, help="Columns (default: a square grid).")
    ] = None,
    split: Annotated[str, typer.Option("--split", help="all, train or test.")] = "all",
) -> None:
    """A labelled grid of samples as a PNG, spread over the classes, as models see them."""
    with _user_errors():
        from inkrec.atomic import atomic_output
        from inkrec.data.dataset import open_dataset

        if output.suffix.lower() != ".png":
            raise ConfigError(f"--output must be a .png file, got {output}")
        ds = open_dataset(path, split=split)
        picks = pick_samples(ds.labels, len(ds.classes), n, seed)
        bitmaps = ds.bitmaps(picks)
        names = [ds.classes[int(ds.labels[i])] for i in picks]
        img = grid_image(bitmaps, names, cols=cols, cell=cell)
        with atomic_output(output) as fh:
            img.save(fh, "PNG")
        typer.echo(
            f"wrote {output} ({img.width}x{img.height}, {len(picks)} samples of {len(set(names))} classes)"
        )


# ============================================================================ import-images


def _safe_file_name(name: str) -> str:
    bad = '/\\\0:*?"<>|'
    out = "".join("_" if ch in bad or ord(ch) < 32 else ch for ch in name).strip(" .")
    return out or "_"


def import_images_command(
    src: Annotated[Path, typer.Argument(help="Folder (or .zip) with one sub-folder of pictures per class.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the <class>.npy files.")],
    size: Annotated[int, typer.Option("--size", min=8, max=256, help="Bitmap side in pixels.")] = 28,
    strict: Annotated[bool, typer.Option("--strict", help="Stop at the first unreadable picture.")] = False,
) -> None:
    """Turn a folder of your own drawings into numpy_bitmap-style <class>.npy files (N, size*size)."""
    with _user_errors():
        from inkrec.atomic import save_npy_atomic
        from inkrec.data.image_folder import ImageFolder
        from inkrec.errors import DataFormatError
        from inkrec.preprocess.pictures import decode_image, normalize_ink, to_model_input

        folder = ImageFolder(src)
        names = {c: _safe_file_name(c) for c in folder.classes}
        if len(set(names.values())) != len(names):
            raise ConfigError("two class names map to the same file name; rename the class folders")
        rows: dict[int, list[np.ndarray]] = {k: [] for k in range(len(folder.classes))}
        skipped: list[str] = []
        with _progress() as bar:
            for i in bar.track(range(len(folder)), description="importing pictures"):
                try:
                    grey = decode_image(
                        folder.read_bytes(i), name=folder.name(i), max_side=max(1024, 8 * size)
                    )
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
        for msg in skipped:
            _console.print(f"[yellow]skipped:[/] {msg}", highlight=False, soft_wrap=True)
        n_classes = sum(1 for v in rows.values() if v)
        typer.echo(
            f"wrote {written} drawings of {n_classes} classes to {out} ({size}x{size})"
            + (f"; skipped {len(skipped)} unreadable pictures" if skipped else "")
        )


def register(data_app: typer.Typer) -> None:
    data_app.command("info")(info_command)
    data_app.command("show")(show_command)
    data_app.command("import-images")(import_images_command)
