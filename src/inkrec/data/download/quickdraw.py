"""The Quick, Draw! catalogue: its 345 categories and the file layouts of its public bucket.

`full/<format>/<category><ext>` holds the numpy_bitmap (.npy), simplified and raw (.ndjson) and binary
(.bin) files; `sketchrnn/<category>.npz` the sketch-rnn stroke-3 files (fetched whole: a zip archive
cannot be cut after N drawings). Files land as
`dest/<category><ext>`, the layout the readers open. `max_per_class` fetches only the first N drawings of
each category: ndjson and binary files are streamed until N records arrived and the transfer is stopped;
`.npy` files are fetched as header + N rows with one bounded Range request and get a corrected header.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Iterable
from importlib import resources
from pathlib import Path
from urllib.parse import quote

from inkrec.atomic import atomic_output
from inkrec.data import npy
from inkrec.data.download.engine import (
    Download,
    FetchedFile,
    Fetcher,
    FetchError,
    Manifest,
    fetcher_scope,
    locked,
    now,
)
from inkrec.data.formats import binary, ndjson
from inkrec.data.terms import dataset_terms
from inkrec.errors import ConfigError, DataFormatError, InkrecError

QUICKDRAW_BASE_URL = "https://storage.googleapis.com/quickdraw_dataset"
# format -> file extension of its category files
QUICKDRAW_FORMATS: dict[str, str] = {
    "numpy_bitmap": ".npy",
    "simplified": ".ndjson",
    "raw": ".ndjson",
    "binary": ".bin",
    "sketchrnn": ".npz",
}
# format -> its folder in the bucket (the four `full/` formats, and sketch-rnn's own folder)
QUICKDRAW_FOLDERS: dict[str, str] = {
    "numpy_bitmap": "full/numpy_bitmap",
    "simplified": "full/simplified",
    "raw": "full/raw",
    "binary": "full/binary",
    "sketchrnn": "sketchrnn",
}
QUICKDRAW_LICENSE = dataset_terms("quickdraw", None)["license"]
QUICKDRAW_ATTRIBUTION = dataset_terms("quickdraw", None)["attribution"]


def quickdraw_categories() -> list[str]:
    """The 345 official Quick, Draw! category names, in the order of the data set's `categories.txt`."""
    text = (
        resources.files("inkrec.data.download")
        .joinpath("quickdraw_categories.txt")
        .read_text(encoding="utf-8")
    )
    return [line.strip() for line in text.splitlines() if line.strip()]


def resolve_categories(spec: str | Iterable[str], *, strict: bool = True) -> list[str]:
    """`cat,dog`, `@file` (one name a line, `#` comments) or `all` -> official category names.

    Names match case-insensitively. With `strict`, a name that is not an official category is refused
    with the closest official names; without (a custom mirror may carry more), it is kept as written.
    """
    official = quickdraw_categories()
    if isinstance(spec, str):
        spec = spec.strip()
        if spec == "all":
            return official
        if spec.startswith("@"):
            path = Path(spec[1:]).expanduser()
            try:
                lines = path.read_text(encoding="utf-8").splitlines()
            except OSError as exc:
                raise ConfigError(f"cannot read the category list {path}: {exc.strerror or exc}") from None
            names = [ln.split("#", 1)[0].strip() for ln in lines]
        else:
            names = spec.split(",")
    else:
        names = list(spec)
    names = [n.strip() for n in names if n and n.strip()]
    if not names:
        raise ConfigError("no categories given (use e.g. --categories cat,dog, @file or all)")
    by_lower = {c.lower(): c for c in official}
    out: list[str] = []
    unknown: list[str] = []
    for n in names:
        name = by_lower.get(n.lower(), n)
        if name not in by_lower.values():
            unknown.append(n)
        if name not in out:
            out.append(name)
    if unknown and strict:
        hints = []
        for n in unknown:
            close = difflib.get_close_matches(n.lower(), list(by_lower), n=3, cutoff=0.6)
            hint = f" (did you mean {', '.join(repr(by_lower[c]) for c in close)}?)" if close else ""
            hints.append(f"{n!r}{hint}")
        raise ConfigError(
            "not a Quick, Draw! category: "
            + "; ".join(hints)
            + ". The 345 official names are listed by `inkrec data fetch quickdraw --list`."
        )
    return out


def quickdraw_url(base_url: str, fmt: str, category: str) -> str:
    """URL of one category file in the bucket layout (`full/<format>/<category><ext>`,
    `sketchrnn/<category>.npz`; names URL-quoted)."""
    return f"{base_url.rstrip('/')}/{QUICKDRAW_FOLDERS[fmt]}/{quote(category)}{QUICKDRAW_FORMATS[fmt]}"


def fetch_quickdraw(
    categories: str | Iterable[str],
    fmt: str,
    dest: str | Path,
    *,
    max_per_class: int | None = None,
    base_url: str = QUICKDRAW_BASE_URL,
    fetcher: Fetcher | None = None,
    force: bool = False,
    on_file: Callable[[FetchedFile], None] | None = None,
) -> list[FetchedFile]:
    """Fetch Quick, Draw! category files into `dest/<category><ext>` (the layout the readers open).

    A failing category does not stop the others; the failures are raised together at the end.
    """
    if fmt not in QUICKDRAW_FORMATS:
        raise ConfigError(
            f"unknown Quick, Draw! format {fmt!r}; choose one of {', '.join(QUICKDRAW_FORMATS)}"
        )
    if max_per_class is not None and max_per_class < 1:
        raise ConfigError("--max-per-class must be at least 1")
    if max_per_class is not None and fmt == "sketchrnn":
        raise ConfigError(
            "sketch-rnn .npz files are zip archives, fetched whole: drop --max-per-class "
            "(open_dataset's max_per_class caps them when they are read)"
        )
    strict = base_url.rstrip("/") == QUICKDRAW_BASE_URL
    names = resolve_categories(categories, strict=strict)
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    manifest = Manifest(dest)
    done: list[FetchedFile] = []
    failed: list[tuple[str, InkrecError]] = []
    with fetcher_scope(fetcher) as f:
        for category in names:
            name = category + QUICKDRAW_FORMATS[fmt]
            url = quickdraw_url(base_url, fmt, category)
            try:
                with locked(dest / name, f.log):  # another process may be fetching this very file
                    got = (
                        None
                        if force
                        else manifest.current(name, url=url, max_per_class=max_per_class, dest=dest)
                    )
                    if got is None:
                        got = _fetch_quickdraw_file(f, url, dest / name, fmt, max_per_class)
                        manifest.add(
                            got,
                            source="quickdraw",
                            license=QUICKDRAW_LICENSE,
                            attribution=QUICKDRAW_ATTRIBUTION,
                        )
            except FetchError as exc:
                if exc.status == 404:
                    exc = FetchError(
                        f"category {category!r} ({fmt}) not found at {url} (HTTP 404)"
                        + _category_hint(category),
                        url=url,
                        status=404,
                    )
                failed.append((category, exc))
                continue
            except InkrecError as exc:
                failed.append((category, exc))
                continue
            done.append(got)
            if on_file is not None:
                on_file(got)
    if failed:
        if len(failed) == 1 and not done:
            raise failed[0][1]
        lines = "\n".join(f"  {c}: {e}" for c, e in failed)
        raise FetchError(f"{len(failed)} of {len(names)} Quick, Draw! files failed:\n{lines}")
    return done


def _category_hint(category: str) -> str:
    official = quickdraw_categories()
    if category in official:
        return ""
    close = difflib.get_close_matches(category, official, n=3, cutoff=0.6)
    return "; not an official category" + (f" (did you mean {', '.join(map(repr, close))}?)" if close else "")


def _fetch_quickdraw_file(
    f: Fetcher, url: str, dest: Path, fmt: str, max_per_class: int | None
) -> FetchedFile:
    if max_per_class is None:
        dl = f.fetch(url, dest)
    elif fmt == "numpy_bitmap":
        dl = _fetch_npy_rows(f, url, dest, max_per_class)
    elif fmt == "binary":
        dl = f.fetch(url, dest, limit=lambda: binary.RecordLimit(max_per_class))
    else:
        dl = f.fetch(url, dest, limit=lambda: ndjson.LineLimit(max_per_class))
    return FetchedFile(
        name=dest.name,
        url=url,
        bytes=dl.bytes,
        sha256=dl.sha256,
        source="quickdraw",
        max_per_class=max_per_class,
        fetched_at=now(),
    )


def _fetch_npy_rows(f: Fetcher, url: str, dest: Path, n: int) -> Download:
    """Header + first `n` rows of a remote `.npy`, written as a valid `.npy` with the corrected shape."""
    head, total = f.read_prefix(url, 4096)
    length = npy.header_length(head[: npy.PREFIX_BYTES], url)
    if length > len(head):  # a long header: fetch all of it
        if length > npy.PREFIX_BYTES + npy.MAX_HEADER_BYTES:
            raise DataFormatError(url, f"the .npy header claims {length} bytes")
        head, total = f.read_prefix(url, length)
    header = npy.parse_header(head, url)
    shape = header.shape
    if header.dtype.hasobject:
        raise DataFormatError(url, "object arrays (pickles) are refused")
    if header.fortran_order and len(shape) > 1:
        raise DataFormatError(url, "Fortran-ordered arrays cannot be cut to their first rows")
    if len(shape) < 1:
        raise DataFormatError(url, f"a 0-d array (shape {shape}) has no rows to take")
    row_bytes = header.dtype.itemsize * math.prod(shape[1:])
    rows = min(n, shape[0])
    end = header.offset + rows * row_bytes
    if total is not None and total < end:
        raise DataFormatError(
            url, f"truncated: header says {shape[0]} rows but the file has only {total} bytes"
        )

    def finalize(part: Path, final: Path) -> None:
        size = part.stat().st_size
        if size != end:
            raise DataFormatError(url, f"truncated: got {size} of the {end} bytes for {rows} rows")
        with atomic_output(final) as out, open(part, "rb") as src:
            out.write(npy.header_bytes((rows, *shape[1:]), header.dtype))
            src.seek(header.offset)
            while chunk := src.read(1 << 20):
                out.write(chunk)

    return f.fetch(url, dest, end=end, finalize=finalize)
