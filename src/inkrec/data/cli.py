"""`inkrec data ...`: every command of the data stage, thin over the modules that do the work.

- ``fetch quickdraw | mnist | fashion-mnist | kmnist | emnist | hwdb1.0 | hwdb1.1 | olhwdb1.0 | olhwdb1.1 |
  tchd | tchd-common``: downloads (`inkrec.data.download`);
- ``info | show | import-images``: looking at a data set (`inkrec.data.inspect`);
- ``simplify | rasterize``: whole Quick, Draw! files through the ink preprocessing (`inkrec.data.convert`);
- ``synth hanzi``: synthetic Chinese handwriting written to files (`inkrec.data.synth`).

Commands parse options, show progress and print one line per result. Errors a user can act on are raised
as `InkrecError`; the root command prints them (`error: ...`, exit status 2).
"""

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from enum import Enum
from functools import partial
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from inkrec.data import convert, inspect
from inkrec.data.charsets import CHARSETS
from inkrec.data.download.engine import FetchedFile, Fetcher
from inkrec.data.download.hanzi import HANZI_SOURCES, fetch_hanzi
from inkrec.data.download.mnist import EMNIST_SPLITS, IDX_SOURCES, fetch_idx_dataset
from inkrec.data.download.quickdraw import QUICKDRAW_BASE_URL, fetch_quickdraw, quickdraw_categories
from inkrec.data.synth.hanzi import HanziSynth
from inkrec.data.synth.writer import write_synth
from inkrec.errors import ConfigError

data_app = typer.Typer(help="Fetch, inspect, convert and preprocess data sets.", no_args_is_help=True)
fetch_app = typer.Typer(
    help="Download data sets from their official sources (resumable, retried, checksummed).",
    no_args_is_help=True,
)
data_app.add_typer(fetch_app, name="fetch")
_console = Console(stderr=True)


def register(app: typer.Typer) -> None:
    app.add_typer(data_app, name="data")


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=_console,
        transient=True,
    )


@contextmanager
def _tracking() -> Iterator[Callable[[Iterable, str], Iterable]]:
    """A `track(items, description)` that shows a transient progress bar."""
    with _progress() as bar:
        yield lambda items, description: bar.track(items, description=description)


# ============================================================================ fetch


class QuickdrawFormat(str, Enum):
    numpy_bitmap = "numpy_bitmap"
    simplified = "simplified"
    raw = "raw"
    binary = "binary"
    sketchrnn = "sketchrnn"


Retries = Annotated[
    int, typer.Option("--retries", min=0, help="Retries per file on connection errors and 5xx answers.")
]
Timeout = Annotated[float, typer.Option("--timeout", min=1.0, help="Seconds without data before a retry.")]
Force = Annotated[
    bool, typer.Option("--force", help="Download again even if the manifest says the file is there.")
]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar and no per-file lines.")]
Verify = Annotated[
    bool,
    typer.Option("--verify/--no-verify", help="Check the published md5 (skip only for a mirror you trust)."),
]


@contextmanager
def _session(
    quiet: bool, retries: int, timeout: float
) -> Iterator[tuple[Fetcher, Callable[[FetchedFile], None]]]:
    """A Fetcher with a progress bar, and a per-file reporter."""
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        disable=quiet,
    )

    def report(f: FetchedFile) -> None:
        if quiet:
            return
        what = "already there" if f.skipped else "fetched"
        extra = f", first {f.max_per_class} per class" if f.max_per_class else ""
        progress.console.print(f"{what}: {f.name} ({f.bytes:,} bytes{extra})", highlight=False, markup=False)

    def log(msg: str) -> None:
        if not quiet:
            progress.console.print(msg, highlight=False, markup=False)

    try:
        with progress, Fetcher(timeout=timeout, retries=retries, progress=progress, log=log) as fetcher:
            yield fetcher, report
    except KeyboardInterrupt:
        typer.echo(
            "interrupted; partial downloads are kept as .part files: run the same command to resume", err=True
        )
        raise typer.Exit(130) from None


def _fetch(dest: Path, quiet: bool, retries: int, timeout: float, recipe: Callable[..., list]) -> None:
    """Run one download recipe (called with the session's `fetcher` and `on_file`) and say where it put the
    files: the one shape every `inkrec data fetch` command shares."""
    with _session(quiet, retries, timeout) as (fetcher, report):
        files = recipe(fetcher=fetcher, on_file=report)
    if not quiet:
        typer.echo(f"{len(files)} file(s) in {dest}", err=True)


@fetch_app.command("quickdraw")
def fetch_quickdraw_command(
    categories: Annotated[
        str | None,
        typer.Option(
            "--categories", "-c", help="Comma-separated names (cat,dog), @FILE (one name a line) or all."
        ),
    ] = None,
    fmt: Annotated[
        QuickdrawFormat, typer.Option("--format", "-f", help="File format.")
    ] = QuickdrawFormat.numpy_bitmap,
    dest: Annotated[
        Path | None, typer.Option("--dest", "-d", help="Destination folder (default data/quickdraw/FORMAT).")
    ] = None,
    max_per_class: Annotated[
        int | None,
        typer.Option(
            "--max-per-class",
            "-n",
            min=1,
            help="Only the first N drawings of each category (partial transfer).",
        ),
    ] = None,
    base_url: Annotated[str, typer.Option("--base-url", help="Bucket root (or a mirror of its layout).")] = (
        QUICKDRAW_BASE_URL
    ),
    list_categories: Annotated[
        bool, typer.Option("--list", help="Print the 345 official categories and exit.")
    ] = False,
    force: Force = False,
    retries: Retries = 5,
    timeout: Timeout = 60.0,
    quiet: Quiet = False,
) -> None:
    """Quick, Draw! category files from the public `quickdraw_dataset` bucket (full/<format>/<category>,
    sketchrnn/<category>.npz)."""
    if list_categories:
        typer.echo("\n".join(quickdraw_categories()))
        return
    if not categories:
        raise ConfigError("--categories is required (cat,dog | @file | all)")
    dest = dest or Path("data") / "quickdraw" / fmt.value
    _fetch(dest, quiet, retries, timeout, partial(
        fetch_quickdraw, categories, fmt.value, dest, max_per_class=max_per_class, base_url=base_url, force=force))


def _idx_command(name: str) -> None:
    src = IDX_SOURCES[name]

    def command(
        dest: Annotated[
            Path | None, typer.Option("--dest", "-d", help=f"Destination folder (default data/{name}).")
        ] = None,
        base_url: Annotated[
            str | None, typer.Option("--base-url", help=f"Mirror to use instead of {src.mirrors[0]}")
        ] = None,
        verify: Verify = True,
        force: Force = False,
        retries: Retries = 5,
        timeout: Timeout = 60.0,
        quiet: Quiet = False,
    ) -> None:
        dest = dest or Path("data") / name
        _fetch(dest, quiet, retries, timeout, partial(
            fetch_idx_dataset, name, dest, base_url=base_url, verify=verify, force=force))

    command.__doc__ = f"{name}: the official gzipped idx files ({src.attribution})."
    fetch_app.command(name)(command)


for _name in ("mnist", "fashion-mnist", "kmnist"):
    _idx_command(_name)


@fetch_app.command("emnist")
def fetch_emnist_command(
    dest: Annotated[
        Path | None, typer.Option("--dest", "-d", help="Destination folder (default data/emnist).")
    ] = None,
    split: Annotated[
        str,
        typer.Option(
            "--split", "-s", help=f"Comma-separated splits to extract ({', '.join(EMNIST_SPLITS)}) or all."
        ),
    ] = "balanced",
    base_url: Annotated[
        str | None,
        typer.Option("--base-url", help=f"Mirror to use instead of {IDX_SOURCES['emnist'].mirrors[0]}"),
    ] = None,
    verify: Verify = True,
    keep_archive: Annotated[
        bool,
        typer.Option(
            "--keep-archive/--remove-archive", help="Keep gzip.zip (536 MB) to extract other splits later."
        ),
    ] = True,
    force: Force = False,
    retries: Retries = 5,
    timeout: Timeout = 60.0,
    quiet: Quiet = False,
) -> None:
    """EMNIST: NIST's gzip.zip, then the idx files of the chosen split(s) extracted next to it."""
    dest = dest or Path("data") / "emnist"
    splits = [s.strip() for s in split.split(",") if s.strip()]
    _fetch(dest, quiet, retries, timeout, partial(
        fetch_idx_dataset, "emnist", dest, base_url=base_url, verify=verify, force=force, splits=splits,
        keep_archive=keep_archive))


def _hanzi_command(name: str) -> None:
    src = HANZI_SOURCES[name]
    casia = src.extract is not None

    def command(
        dest: Annotated[
            Path | None, typer.Option("--dest", "-d", help=f"Destination folder (default data/{name}).")
        ] = None,
        split: Annotated[
            str, typer.Option("--split", "-s", help="train, test or train,test (CASIA archives).")
        ] = "train,test",
        base_url: Annotated[
            str | None, typer.Option("--base-url", help=f"Mirror of the layout of {src.base_url}")
        ] = None,
        verify: Verify = True,
        keep_archives: Annotated[
            bool,
            typer.Option(
                "--keep-archives/--remove-archives",
                help="Keep the downloaded zips once their writer files are extracted (CASIA).",
            ),
        ] = True,
        force: Force = False,
        retries: Retries = 5,
        timeout: Timeout = 60.0,
        quiet: Quiet = False,
    ) -> None:
        dest = dest or Path("data") / name
        splits = [s.strip() for s in split.split(",") if s.strip()]
        _fetch(dest, quiet, retries, timeout, partial(
            fetch_hanzi, name, dest, base_url=base_url, splits=splits, verify=verify, keep_archives=keep_archives,
            force=force))

    what = (
        f"CASIA-{name.upper()}: train and test archives ({src.description}), "
        f"their {src.extract} writer files extracted next to them"
        if casia
        else f"the Traditional Chinese Handwriting data set: {src.description}, read in place by inkrec"
    )
    command.__doc__ = what + "."
    fetch_app.command(name)(command)


for _name in HANZI_SOURCES:
    _hanzi_command(_name)


# ============================================================================ info | show | import-images


@data_app.command("info")
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
    with _tracking() as track:
        s = inspect.summary(path, sample_limit=sample_limit, splits=splits, track=track)
    ds, counts = s.dataset, s.counts
    out = Console()
    table = Table(title=f"{path}", show_header=False, title_justify="left")
    table.add_column("", style="bold")
    table.add_column("")
    table.add_row("format", s.format)
    table.add_row("source", ds.source)
    table.add_row(
        "kind", ds.kind + (f" ({ds.image_size}x{ds.image_size} as served)" if ds.image_size else "")
    )
    table.add_row("samples", f"{len(ds):,}")
    table.add_row("classes", f"{len(ds.classes):,}")
    if len(counts):
        table.add_row(
            "per class", f"min {counts.min():,}, median {int(np.median(counts)):,}, max {counts.max():,}"
        )
    if ds.writers is not None:
        table.add_row("writers", f"{len(np.unique(ds.writers)):,}")
    if s.split_sizes is not None:
        table.add_row("standard split", f"train {s.split_sizes[0]:,} / test {s.split_sizes[1]:,}")
    out.print(table)

    per_class = Table(title="samples per class", title_justify="left")
    per_class.add_column("#", justify="right", style="dim")
    per_class.add_column("class")
    per_class.add_column("samples", justify="right")
    for i, (name, c) in enumerate(zip(ds.classes, counts, strict=True)):
        per_class.add_row(str(i), name, f"{int(c):,}")
    out.print(per_class)

    sizes = Table(
        title=f"{s.size_title}s"
        + (f" ({s.looked_at:,} of {len(ds):,} samples)" if s.looked_at < len(ds) else ""),
        title_justify="left",
    )
    sizes.add_column(s.size_title + (" (w x h)" if s.size_title == "image size" else ""))
    sizes.add_column("samples", justify="right")
    sizes.add_column("")
    top = max(s.sizes.values()) if s.sizes else 1
    for key in sorted(s.sizes, key=inspect.sort_sizes):
        sizes.add_row(key, f"{s.sizes[key]:,}", "█" * max(1, round(30 * s.sizes[key] / top)))
    out.print(sizes)


@data_app.command("show")
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
    img, samples, classes = inspect.show(path, output, n=n, seed=seed, cell=cell, cols=cols, split=split)
    typer.echo(f"wrote {output} ({img.width}x{img.height}, {samples} samples of {classes} classes)")


@data_app.command("import-images")
def import_images_command(
    src: Annotated[Path, typer.Argument(help="Folder (or .zip) with one sub-folder of pictures per class.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the <class>.npy files.")],
    size: Annotated[int, typer.Option("--size", min=8, max=256, help="Bitmap side in pixels.")] = 28,
    strict: Annotated[bool, typer.Option("--strict", help="Stop at the first unreadable picture.")] = False,
) -> None:
    """Turn a folder of your own drawings into numpy_bitmap-style <class>.npy files (N, size*size)."""
    with _tracking() as track:
        done = inspect.import_images(src, out, size=size, strict=strict, track=track)
    for msg in done.skipped:
        _console.print(f"[yellow]skipped:[/] {msg}", highlight=False, soft_wrap=True)
    typer.echo(
        f"wrote {done.written} drawings of {done.classes} classes to {out} ({size}x{size})"
        + (f"; skipped {len(done.skipped)} unreadable pictures" if done.skipped else "")
    )


# ============================================================================ simplify | rasterize


@data_app.command("simplify")
def simplify_command(
    src: Annotated[Path, typer.Argument(help="Raw Quick, Draw! drawings (.ndjson).")],
    out: Annotated[Path, typer.Option("-o", "--out", help="Where to write the simplified .ndjson.")],
) -> None:
    """Simplify raw drawings exactly as the Quick, Draw! data set does (align, scale to 0-255,
    resample at 1 unit, Ramer-Douglas-Peucker with epsilon 2)."""
    with _progress() as progress:
        n = convert.simplify_file(src, out, progress=progress)
    _console.print(f"wrote {n} simplified drawings to {out}")


@data_app.command("rasterize")
def rasterize_command(
    src: Annotated[Path, typer.Argument(help="Drawings: simplified or raw .ndjson, or .bin.")],
    out: Annotated[Path, typer.Option("-o", "--out", help="Where to write the (N, size*size) uint8 .npy.")],
    size: Annotated[int, typer.Option("--size", help="Bitmap side in pixels (28 = numpy_bitmap).")] = 28,
) -> None:
    """Rasterize drawings as the Quick, Draw! numpy_bitmap files were made (same pixels)."""
    with _progress() as progress:
        n, raw = convert.rasterize_file(src, out, size=size, progress=progress)
    note = " (raw drawings were simplified first)" if raw else ""
    _console.print(f"wrote {n} bitmaps of {size}x{size} to {out}{note}")


synth_app = typer.Typer(help="Write synthetic data sets (the samples `inkrec train --data synth:...` learns from).",
                        no_args_is_help=True)
data_app.add_typer(synth_app, name="synth")


@synth_app.command("hanzi")
def synth_hanzi_command(
    out: Annotated[Path, typer.Option("-o", "--out", help="Folder to write (one file per character).")],
    charset_name: Annotated[str, typer.Option("--charset", help=f"Vocabulary: {', '.join(CHARSETS)}.")] = "zh",
    per_class: Annotated[int, typer.Option("--per-class", help="Samples of every character.")] = 20,
    fmt: Annotated[str, typer.Option("--format", help="ndjson: ink (simplified strokes); npy: bitmaps.")] = "ndjson",
    size: Annotated[int, typer.Option("--size", help="Bitmap side in pixels (npy).")] = 64,
    seed: Annotated[int, typer.Option("--seed", help="Seed: the same seed writes the same samples.")] = 0,
    chars: Annotated[str | None, typer.Option("--chars", help="Only these characters (of the vocabulary).")] = None,
    fonts: Annotated[float, typer.Option("--fonts", help="Share of font samples where medians exist (npy).")] = 0.25,
    strokes: Annotated[str | None, typer.Option("--strokes", help="hanzi-writer-data folder, .tgz or packed .npz.")] = None,
) -> None:
    """Synthesize Chinese handwriting: stroke medians written as many writers would (cursive included) and Kai
    fonts warped, for every character of a vocabulary."""
    synth = HanziSynth.open(charset_name, strokes=strokes, font_share=fonts)
    labels = None
    if chars:
        index = {c: i for i, c in enumerate(synth.classes)}
        unknown = [c for c in chars if c not in index]
        if unknown:
            raise ConfigError(f"not in the vocabulary {charset_name!r}: {''.join(unknown)}")
        labels = [index[c] for c in dict.fromkeys(chars)]
    with _progress() as progress:
        task = progress.add_task("synthesizing", total=len(labels or synth.classes))

        def advance(items):
            for item in items:
                yield item
                progress.advance(task)

        report = write_synth(synth, out, per_class=per_class, fmt=fmt, size=size, seed=seed, classes=labels,
                             progress=advance)
    _console.print(f"wrote {report.samples} samples of {report.written} characters to {out}"
                   + (f"; {report.kept} already there" if report.kept else ""))
    if report.skipped:
        what = "without stroke medians (fonts only; use --format npy)" if fmt == "ndjson" else "with no source"
        _console.print(f"skipped {len(report.skipped)} characters {what}: {''.join(report.skipped[:20])}"
                       + ("..." if len(report.skipped) > 20 else ""))
