"""`inkrec data fetch ...`: download Quick, Draw! and the MNIST family from their official sources.

The commands are thin: option parsing, a rich progress bar, one line per file, and one clear message
(exit code 2) instead of a traceback when something the user can fix goes wrong.
"""

import contextlib
from collections.abc import Callable, Iterator
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from inkrec.data.fetch import (
    EMNIST_SPLITS,
    IDX_SOURCES,
    QUICKDRAW_BASE_URL,
    FetchedFile,
    Fetcher,
    fetch_idx_dataset,
    fetch_quickdraw,
    quickdraw_categories,
)
from inkrec.errors import InkrecError

fetch_app = typer.Typer(
    help="Download data sets from their official sources (resumable, retried, checksummed).",
    no_args_is_help=True,
)


class QuickdrawFormat(str, Enum):
    numpy_bitmap = "numpy_bitmap"
    simplified = "simplified"
    raw = "raw"
    binary = "binary"


Retries = Annotated[int, typer.Option("--retries", min=0,
                                      help="Retries per file on connection errors and 5xx answers.")]
Timeout = Annotated[float, typer.Option("--timeout", min=1.0, help="Seconds without data before a retry.")]
Force = Annotated[bool, typer.Option("--force", help="Download again even if the manifest says the file is there.")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar and no per-file lines.")]
Verify = Annotated[bool, typer.Option("--verify/--no-verify",
                                      help="Check the published md5 (skip only for a mirror you trust).")]


@contextlib.contextmanager
def _session(quiet: bool, retries: int, timeout: float) -> Iterator[tuple[Fetcher, Callable[[FetchedFile], None]]]:
    """A Fetcher with a progress bar, and a per-file reporter; InkrecError becomes a message + exit 2."""
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
    except InkrecError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        typer.echo("interrupted; partial downloads are kept as .part files: run the same command to resume",
                   err=True)
        raise typer.Exit(130) from None


@fetch_app.command("quickdraw")
def quickdraw(
    categories: Annotated[str | None, typer.Option(
        "--categories", "-c", help="Comma-separated names (cat,dog), @FILE (one name a line) or all.")] = None,
    fmt: Annotated[QuickdrawFormat, typer.Option("--format", "-f", help="File format.")] = QuickdrawFormat.numpy_bitmap,
    dest: Annotated[Path | None, typer.Option(
        "--dest", "-d", help="Destination folder (default data/quickdraw/FORMAT).")] = None,
    max_per_class: Annotated[int | None, typer.Option(
        "--max-per-class", "-n", min=1, help="Only the first N drawings of each category (partial transfer).")] = None,
    base_url: Annotated[str, typer.Option("--base-url", help="Bucket root (or a mirror of its layout).")] = (
        QUICKDRAW_BASE_URL),
    list_categories: Annotated[bool, typer.Option("--list", help="Print the 345 official categories and exit.")] = False,
    force: Force = False,
    retries: Retries = 5,
    timeout: Timeout = 60.0,
    quiet: Quiet = False,
) -> None:
    """Quick, Draw! category files from the public `quickdraw_dataset` bucket (full/<format>/<category>)."""
    if list_categories:
        typer.echo("\n".join(quickdraw_categories()))
        return
    if not categories:
        typer.echo("error: --categories is required (cat,dog | @file | all)", err=True)
        raise typer.Exit(2)
    dest = dest or Path("data") / "quickdraw" / fmt.value
    with _session(quiet, retries, timeout) as (fetcher, report):
        files = fetch_quickdraw(categories, fmt.value, dest, max_per_class=max_per_class, base_url=base_url,
                                fetcher=fetcher, force=force, on_file=report)
    if not quiet:
        typer.echo(f"{len(files)} file(s) in {dest}", err=True)


def _idx_command(name: str) -> None:
    src = IDX_SOURCES[name]

    def command(
        dest: Annotated[Path | None, typer.Option(
            "--dest", "-d", help=f"Destination folder (default data/{name}).")] = None,
        base_url: Annotated[str | None, typer.Option(
            "--base-url", help=f"Mirror to use instead of {src.mirrors[0]}")] = None,
        verify: Verify = True,
        force: Force = False,
        retries: Retries = 5,
        timeout: Timeout = 60.0,
        quiet: Quiet = False,
    ) -> None:
        dest = dest or Path("data") / name
        with _session(quiet, retries, timeout) as (fetcher, report):
            files = fetch_idx_dataset(name, dest, base_url=base_url, verify=verify, fetcher=fetcher, force=force,
                                      on_file=report)
        if not quiet:
            typer.echo(f"{len(files)} file(s) in {dest}", err=True)

    command.__doc__ = f"{name}: the official gzipped idx files ({src.attribution})."
    fetch_app.command(name)(command)


for _name in ("mnist", "fashion-mnist", "kmnist"):
    _idx_command(_name)


@fetch_app.command("emnist")
def emnist(
    dest: Annotated[Path | None, typer.Option(
        "--dest", "-d", help="Destination folder (default data/emnist).")] = None,
    split: Annotated[str, typer.Option(
        "--split", "-s", help=f"Comma-separated splits to extract ({', '.join(EMNIST_SPLITS)}) or all.")] = "balanced",
    base_url: Annotated[str | None, typer.Option(
        "--base-url", help=f"Mirror to use instead of {IDX_SOURCES['emnist'].mirrors[0]}")] = None,
    verify: Verify = True,
    keep_archive: Annotated[bool, typer.Option(
        "--keep-archive/--remove-archive", help="Keep gzip.zip (536 MB) to extract other splits later.")] = True,
    force: Force = False,
    retries: Retries = 5,
    timeout: Timeout = 60.0,
    quiet: Quiet = False,
) -> None:
    """EMNIST: NIST's gzip.zip, then the idx files of the chosen split(s) extracted next to it."""
    dest = dest or Path("data") / "emnist"
    splits = [s.strip() for s in split.split(",") if s.strip()]
    with _session(quiet, retries, timeout) as (fetcher, report):
        files = fetch_idx_dataset("emnist", dest, base_url=base_url, verify=verify, fetcher=fetcher,
                                  force=force, splits=splits, keep_archive=keep_archive, on_file=report)
    if not quiet:
        typer.echo(f"{len(files)} file(s) in {dest}", err=True)


def register(data_app: typer.Typer) -> None:
    data_app.add_typer(fetch_app, name="fetch")
