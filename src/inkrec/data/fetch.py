"""Download the public data sets: Quick, Draw! from its public bucket, and the MNIST family.

A full Quick, Draw! download is hundreds of files and tens of gigabytes over links that drop, so every
file is fetched the same careful way:

* into `<name>.part` next to the destination, continued with an HTTP `Range` request after a cut
  (guarded by `If-Range`, so a file that changed on the server is fetched from the start again);
* retried with exponential back-off on connection errors, time-outs and 5xx answers;
* checked against the checksum its source publishes, where it publishes one;
* renamed into place (`os.replace`) only when complete and verified, so a destination file is always whole.

`fetch-manifest.json` in the destination records each file's URL, size and sha256 (our own sums where
the source publishes none), which lets a second run skip what is already there and lets a user check
the files later. `max_per_class` fetches only the first N drawings of each category: ndjson and binary
files are streamed until N records arrived and the transfer is stopped; `.npy` files are fetched as
header + N rows with one bounded Range request and get a corrected header.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import difflib
import hashlib
import io
import json
import os
import random
import re
import struct
import time
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Protocol, Self
from urllib.parse import quote

import httpx
import numpy as np

from inkrec import __version__
from inkrec.atomic import atomic_output
from inkrec.errors import ConfigError, DataFormatError, InkrecError
from inkrec.jsonio import write_json

MANIFEST_NAME = "fetch-manifest.json"
MANIFEST_FORMAT = "inkrec-fetch/1"
_CHUNK = 256 * 1024

# --------------------------------------------------------------------------------------------------
# Errors


class FetchError(InkrecError):
    """A download failed in a way the user can act on (not found, network down, server error)."""

    def __init__(self, message: str, *, url: str | None = None, status: int | None = None):
        self.url = url
        self.status = status
        super().__init__(message)


class ChecksumError(FetchError):
    """The downloaded bytes are not the bytes the source published; the partial file was deleted."""


class _Retry(Exception):
    """A transfer attempt failed in a way that another attempt may fix."""


# --------------------------------------------------------------------------------------------------
# Sources

QUICKDRAW_BASE_URL = "https://storage.googleapis.com/quickdraw_dataset"
# format -> file extension in the bucket's `full/<format>/` folder
QUICKDRAW_FORMATS: dict[str, str] = {
    "numpy_bitmap": ".npy",
    "simplified": ".ndjson",
    "raw": ".ndjson",
    "binary": ".bin",
}
QUICKDRAW_LICENSE = "CC BY 4.0"
QUICKDRAW_ATTRIBUTION = "Quick, Draw! data set, Google (https://quickdraw.withgoogle.com/data), CC BY 4.0"


def quickdraw_categories() -> list[str]:
    """The 345 official Quick, Draw! category names, in the order of the data set's `categories.txt`."""
    text = resources.files("inkrec.data").joinpath("quickdraw_categories.txt").read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip()]


@dataclass(frozen=True)
class IdxSource:
    """An MNIST-family data set shipped as gzipped idx files (or, for EMNIST, a zip of them)."""

    name: str
    mirrors: tuple[str, ...]
    # file name on the server -> md5 its publisher lists (None where nobody publishes one)
    files: dict[str, str | None]
    license: str
    attribution: str


_MNIST_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")

IDX_SOURCES: dict[str, IdxSource] = {
    # yann.lecun.com publishes no sums; these md5s of the original files are the ones the widely used
    # torchvision MNIST loader verifies (identical on both mirrors).
    "mnist": IdxSource(
        name="mnist",
        mirrors=("https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"),
        files=dict(zip(_MNIST_FILES, (
            "f68b3c2dcbeaaa9fbdd348bbdeb94873",
            "d53e105ee54ea40749a09fcbcd1e9432",
            "9fb629c4189551a2d022fa330f9573f3",
            "ec29112dd5afa0611ce80d1b7f02629c",
        ))),
        license="CC BY-SA 3.0",
        attribution="MNIST database, Yann LeCun and Corinna Cortes (http://yann.lecun.com/exdb/mnist/)",
    ),
    # md5s as published in the "Get the Data" table of github.com/zalandoresearch/fashion-mnist README.
    "fashion-mnist": IdxSource(
        name="fashion-mnist",
        mirrors=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
        files=dict(zip(_MNIST_FILES, (
            "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
            "25c81989df183df01b3e8a0aad5dffbe",
            "bef4ecab320f06d8554ea6380940ec79",
            "bb300cfdad3c16e7a12a480ee83cd310",
        ))),
        license="MIT",
        attribution="Fashion-MNIST, Zalando Research (https://github.com/zalandoresearch/fashion-mnist), MIT",
    ),
    # Kuzushiji-MNIST in MNIST format from ROIS-DS CODH (github.com/rois-codh/kmnist); md5s of the
    # published files as verified by torchvision's KMNIST loader.
    "kmnist": IdxSource(
        name="kmnist",
        mirrors=("http://codh.rois.ac.jp/kmnist/dataset/kmnist/",),
        files=dict(zip(_MNIST_FILES, (
            "bdb82020997e1d708af4cf47b453dcf7",
            "e144d726b3acfaa3e44228e80efcd344",
            "5c965bf0a639b31b8f53240b1b52f4d7",
            "7320c461ea6c1c855c0b718fb2a4b134",
        ))),
        license="CC BY-SA 4.0",
        attribution='"KMNIST Dataset" (created by CODH), adapted from "Kuzushiji Dataset" (created by NIJL '
                    "and others), doi:10.20676/00000341, CC BY-SA 4.0",
    ),
    # NIST ships EMNIST as one zip of gzipped idx files; md5 of gzip.zip as verified by torchvision's
    # EMNIST loader.
    "emnist": IdxSource(
        name="emnist",
        mirrors=("https://biometrics.nist.gov/cs_links/EMNIST/", "https://www.itl.nist.gov/iaui/vip/cs_links/EMNIST/"),
        files={"gzip.zip": "58c8d27c78d21e728a6bc7b3cc06412e"},
        license="NIST public data (see https://www.nist.gov/itl/products-and-services/emnist-dataset)",
        attribution="EMNIST, Cohen, Afshar, Tapson and van Schaik (2017), NIST Special Database 19",
    ),
}
EMNIST_SPLITS = ("byclass", "bymerge", "balanced", "letters", "digits", "mnist")


def emnist_members(split: str) -> list[str]:
    """The idx members of NIST's gzip.zip that make up one EMNIST split."""
    return [f"gzip/emnist-{split}-{part}-{kind}-ubyte.gz" for part in ("train", "test")
            for kind in ("images-idx3", "labels-idx1")]


def emnist_mapping_member(split: str) -> str:
    """The split's label -> character-code table, extracted too when the archive has it."""
    return f"gzip/emnist-{split}-mapping.txt"


# --------------------------------------------------------------------------------------------------
# Stopping a stream after N records


class RecordLimit(Protocol):
    """Watches a byte stream and says where the N-th record ends."""

    def feed(self, data: bytes) -> int | None:
        """Consume `data`; return how many of its bytes to keep if the N-th record ends inside it."""


class NdjsonLineLimit:
    """Stop an ndjson stream after `n` complete lines."""

    def __init__(self, n: int):
        self.remaining = n

    def feed(self, data: bytes) -> int | None:
        pos = 0
        while self.remaining > 0:
            nl = data.find(b"\n", pos)
            if nl < 0:
                return None
            pos = nl + 1
            self.remaining -= 1
        return pos


class BinaryRecordLimit:
    """Stop a Quick, Draw! `.bin` stream after `n` complete drawings.

    Record layout (the data set's binary_file_parser.py): key_id u64, countrycode 2 bytes, recognized i8,
    timestamp u32, n_strokes u16, then per stroke n_points u16, n_points x bytes, n_points y bytes.
    """

    _HEAD = 8 + 2 + 1 + 4  # bytes before n_strokes

    def __init__(self, n: int):
        self.remaining = n
        self._buf = bytearray()  # bytes of the record in progress

    @classmethod
    def _record_size(cls, buf: bytearray, start: int) -> int | None:
        p = start + cls._HEAD
        if len(buf) < p + 2:
            return None
        (n_strokes,) = struct.unpack_from("<H", buf, p)
        p += 2
        for _ in range(n_strokes):
            if len(buf) < p + 2:
                return None
            (n_points,) = struct.unpack_from("<H", buf, p)
            p += 2 + 2 * n_points
        return p - start if p <= len(buf) else None

    def feed(self, data: bytes) -> int | None:
        carried = len(self._buf)
        self._buf += data
        pos = 0
        while self.remaining > 0:
            size = self._record_size(self._buf, pos)
            if size is None:
                break
            pos += size
            self.remaining -= 1
        if self.remaining == 0:
            return pos - carried
        del self._buf[:pos]
        return None


# --------------------------------------------------------------------------------------------------
# The downloader


@dataclass
class Download:
    """What one `Fetcher.fetch` call did."""

    path: Path
    url: str
    bytes: int  # size of the final file
    sha256: str
    md5: str
    resumed_from: int = 0  # bytes already in the .part file when this call started
    received: int = 0  # bytes transferred by this call
    attempts: int = 1
    stopped_early: bool = False  # the transfer was cut on purpose (record limit or byte range)


class _Progress(Protocol):  # the part of rich.progress.Progress we use
    def add_task(self, description: str, total: float | None = ..., **kw: Any) -> Any: ...
    def update(self, task_id: Any, **kw: Any) -> None: ...
    def advance(self, task_id: Any, advance: float = ...) -> None: ...
    def remove_task(self, task_id: Any) -> None: ...


@dataclass
class _Attempt:
    """State of the current transfer into a .part file."""

    part: Path
    meta_path: Path
    url: str
    end: int | None
    limit_factory: Callable[[], RecordLimit] | None
    received: int = 0
    stopped_early: bool = False


class Fetcher:
    """HTTP downloads that resume, retry, verify and land atomically.

    One `httpx.Client` (connection reuse across hundreds of files), a read time-out so a stalled server
    cannot hang a run, and a rich progress bar per file (bytes, speed, time left) when `progress` is given.
    """

    def __init__(self, *, timeout: float = 60.0, retries: int = 5, backoff: float = 1.0,
                 progress: _Progress | None = None, client: httpx.Client | None = None,
                 log: Callable[[str], None] | None = None):
        if retries < 0:
            raise ConfigError("retries must be >= 0")
        if timeout <= 0:
            raise ConfigError("timeout must be > 0")
        self.retries = retries
        self.backoff = backoff
        self.progress = progress
        self.log = log or (lambda msg: None)
        self._own_client = client is None
        self.client = client or httpx.Client(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 30.0)),
            follow_redirects=True,
            # Ranges count bytes as stored; a transparently compressed body would break resumption.
            headers={"User-Agent": f"inkrec/{__version__}", "Accept-Encoding": "identity"},
        )

    def close(self) -> None:
        if self._own_client:
            self.client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- public ------------------------------------------------------------------------------------

    def fetch(self, url: str, dest: str | Path, *, md5: str | None = None,
              end: int | None = None, limit: Callable[[], RecordLimit] | None = None,
              finalize: Callable[[Path, Path], None] | None = None, label: str | None = None) -> Download:
        """Download `url` to `dest`.

        `md5`: the published checksum; a mismatch deletes the partial file and raises ChecksumError.
        `end`: fetch only bytes [0, end). `limit`: a factory of a RecordLimit that ends the transfer
        after N records. `finalize(part, dest)` turns the complete .part into `dest` (default: rename).
        """
        dest = Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        part = dest.with_name(dest.name + ".part")
        state = _Attempt(part=part, meta_path=dest.with_name(dest.name + ".part.json"), url=url,
                         end=end, limit_factory=limit)
        self._check_part_meta(state)
        resumed_from = part.stat().st_size if part.exists() else 0
        task = self._task(label or dest.name)
        attempts, failures = 0, 0
        try:
            while True:
                attempts += 1
                before = state.received
                try:
                    self._transfer(state, task)
                    break
                except (_Retry, httpx.TransportError) as exc:
                    failures = 1 if state.received > before else failures + 1  # progress resets the count
                    have = part.stat().st_size if part.exists() else 0
                    if failures > self.retries:
                        raise FetchError(
                            f"{url}: download failed after {attempts} attempt(s): {_describe(exc)}. "
                            f"{have} bytes are kept in {part}; run the same command again to resume.",
                            url=url) from None
                    delay = min(self.backoff * 2 ** (failures - 1), 60.0) * (1 + 0.25 * random.random())
                    self.log(f"{dest.name}: {_describe(exc)}; retrying in {delay:.1f} s from byte {have}")
                    time.sleep(delay)
        finally:
            self._end_task(task)

        digests = _digests(part)
        if md5 is not None and digests["md5"] != md5.lower():
            size = part.stat().st_size
            part.unlink()
            state.meta_path.unlink(missing_ok=True)
            raise ChecksumError(
                f"{url}: checksum mismatch: md5 of the {size} downloaded bytes is {digests['md5']}, the source "
                f"publishes {md5}. The partial file was deleted; the mirror may be corrupt or changed "
                "(use --no-verify only if you trust it).", url=url)
        if finalize is None:
            os.replace(part, dest)
            size = dest.stat().st_size
        else:
            finalize(part, dest)
            part.unlink(missing_ok=True)
            size = dest.stat().st_size
            digests = _digests(dest)
        state.meta_path.unlink(missing_ok=True)
        return Download(path=dest, url=url, bytes=size, sha256=digests["sha256"], md5=digests["md5"],
                        resumed_from=resumed_from, received=state.received, attempts=attempts,
                        stopped_early=state.stopped_early)

    def read_prefix(self, url: str, n: int) -> tuple[bytes, int | None]:
        """The first `n` bytes of `url` (one bounded Range request) and the full size if the server says."""
        failures = 0
        while True:
            try:
                with self.client.stream("GET", url, headers={"Range": f"bytes=0-{n - 1}"}) as r:
                    self._raise_for_status(r, url)
                    total = _total_size(r)
                    buf = bytearray()
                    for chunk in r.iter_raw(_CHUNK):
                        buf += chunk
                        if len(buf) >= n:  # a server that ignores Range sends everything: stop reading
                            break
                    return bytes(buf[:n]), total
            except (_Retry, httpx.TransportError) as exc:
                failures += 1
                if failures > self.retries:
                    raise FetchError(f"{url}: download failed: {_describe(exc)}", url=url) from None
                time.sleep(min(self.backoff * 2 ** (failures - 1), 60.0))

    # -- internals ---------------------------------------------------------------------------------

    def _check_part_meta(self, state: _Attempt) -> None:
        """A .part left by a download of another URL is not ours to continue."""
        meta = _read_json(state.meta_path)
        if state.part.exists() and meta is not None and meta.get("url") != state.url:
            state.part.unlink()
            state.meta_path.unlink(missing_ok=True)

    def _transfer(self, state: _Attempt, task: Any) -> None:
        part, end = state.part, state.end
        offset = part.stat().st_size if part.exists() else 0
        limit = state.limit_factory() if state.limit_factory else None

        # What is already in the .part may be all we need.
        if end is not None and offset >= end:
            _truncate(part, end)
            state.stopped_early = True
            return
        if limit is not None and offset:
            keep = _feed_file(limit, part)
            if keep is not None:
                _truncate(part, keep)
                state.stopped_early = True
                return

        headers: dict[str, str] = {}
        if offset or end is not None:
            headers["Range"] = f"bytes={offset}-" + (str(end - 1) if end is not None else "")
            validator = (_read_json(state.meta_path) or {}).get("validator") if offset else None
            if validator:
                headers["If-Range"] = validator

        with self.client.stream("GET", state.url, headers=headers) as r:
            if r.status_code == 416 and offset:
                total = _total_size(r)
                if total == offset:  # the .part already holds the whole file
                    return
                part.unlink()  # the file on the server is not what our .part is a prefix of
                raise _Retry(f"server refused to resume at byte {offset}; starting over")
            self._raise_for_status(r, state.url)
            if r.status_code == 206:
                start = _content_range_start(r)
                if start != offset:
                    part.unlink(missing_ok=True)
                    raise _Retry(f"server answered a range from byte {start}, asked for {offset}; starting over")
                mode = "ab"
            else:  # 200: the server ignored the Range (or the file changed): start over
                if offset:
                    self.log(f"{part.name}: server does not resume this file; starting over")
                offset = 0
                mode = "wb"
                if state.limit_factory:
                    limit = state.limit_factory()
            total = _total_size(r)
            want = min(total, end) if (total is not None and end is not None) else (end if end is not None else total)
            write_json(state.meta_path, {"url": state.url, "validator": _validator(r), "total": total}, sort_keys=True)
            if self.progress is not None:
                self.progress.update(task, total=want, completed=offset)

            pos = offset
            with open(part, mode) as fh:
                for chunk in r.iter_raw():  # unbuffered: every byte that arrived is kept if the link drops
                    if end is not None and pos + len(chunk) >= end:
                        chunk = chunk[: end - pos]
                        state.stopped_early = True
                    if limit is not None:
                        keep = limit.feed(chunk)
                        if keep is not None:
                            chunk = chunk[:keep]
                            state.stopped_early = True
                    fh.write(chunk)
                    pos += len(chunk)
                    state.received += len(chunk)
                    if self.progress is not None:
                        self.progress.advance(task, len(chunk))
                    if state.stopped_early:
                        return
            if want is not None and pos < want:
                raise _Retry(f"connection closed after {pos} of {want} bytes")

    @staticmethod
    def _raise_for_status(r: httpx.Response, url: str) -> None:
        code = r.status_code
        if code in (200, 206):
            return
        if code in (404, 410):
            raise FetchError(f"{url}: not found (HTTP {code})", url=url, status=code)
        if code == 429 or code >= 500:
            raise _Retry(f"HTTP {code} {r.reason_phrase}")
        raise FetchError(f"{url}: HTTP {code} {r.reason_phrase}", url=url, status=code)

    def _task(self, label: str) -> Any:
        return self.progress.add_task(label, total=None) if self.progress is not None else None

    def _end_task(self, task: Any) -> None:
        if self.progress is not None:
            self.progress.remove_task(task)
            refresh = getattr(self.progress, "refresh", None)
            if refresh is not None:  # so lines printed next do not redraw the finished bar
                refresh()


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if isinstance(exc, _Retry) else f"{type(exc).__name__}: {text}"


def _total_size(r: httpx.Response) -> int | None:
    """Full size of the resource: from Content-Range (`bytes a-b/N`, `bytes */N`) or Content-Length."""
    cr = r.headers.get("Content-Range")
    if cr:
        m = re.match(r"bytes\s+(?:\d+-\d+|\*)/(\d+)", cr)
        if m:
            return int(m.group(1))
        m = re.match(r"bytes\s+\d+-(\d+)/\*", cr)
        return int(m.group(1)) + 1 if m else None
    cl = r.headers.get("Content-Length")
    return int(cl) if cl and cl.isdigit() and r.status_code == 200 else None


def _content_range_start(r: httpx.Response) -> int | None:
    m = re.match(r"bytes\s+(\d+)-", r.headers.get("Content-Range", ""))
    return int(m.group(1)) if m else None


def _validator(r: httpx.Response) -> str | None:
    """What `If-Range` may carry: a strong ETag, else the Last-Modified date."""
    etag = r.headers.get("ETag")
    if etag and not etag.startswith("W/"):
        return etag
    return r.headers.get("Last-Modified")


def _feed_file(limit: RecordLimit, path: Path) -> int | None:
    consumed = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            keep = limit.feed(chunk)
            if keep is not None:
                return consumed + keep
            consumed += len(chunk)
    return None


def _truncate(path: Path, size: int) -> None:
    with open(path, "r+b") as fh:
        fh.truncate(size)


def _digests(path: Path) -> dict[str, str]:
    md5, sha = hashlib.md5(usedforsecurity=False), hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            md5.update(chunk)
            sha.update(chunk)
    return {"md5": md5.hexdigest(), "sha256": sha.hexdigest()}


def _read_json(path: Path) -> dict | None:
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None
    return obj if isinstance(obj, dict) else None


# --------------------------------------------------------------------------------------------------
# The manifest of a destination folder


@dataclass
class FetchedFile:
    """One file in a destination folder, as recorded in its manifest."""

    name: str
    url: str
    bytes: int
    sha256: str
    source: str
    md5: str | None = None
    checksum: str = "none published"  # or "md5 verified (published)" / "md5 not verified (--no-verify)"
    max_per_class: int | None = None
    extracted_from: str | None = None
    fetched_at: str = ""
    skipped: bool = field(default=False, compare=False)  # already there, nothing downloaded

    def record(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("name")
        d.pop("skipped")
        return {k: v for k, v in d.items() if v is not None}


class Manifest:
    """`fetch-manifest.json`: what each fetched file is, so runs can skip it and users can verify it."""

    def __init__(self, dest: Path):
        self.path = dest / MANIFEST_NAME
        data = _read_json(self.path) or {}
        self.files: dict[str, dict] = dict(data.get("files") or {})
        self.sources: dict[str, dict] = dict(data.get("sources") or {})

    def current(self, name: str, *, url: str, max_per_class: int | None = None, md5: str | None = None,
                dest: Path) -> FetchedFile | None:
        """The recorded entry if `dest/name` is present and is what was asked for."""
        entry = self.files.get(name)
        path = dest / name
        if not entry or not path.is_file():
            return None
        if entry.get("url") != url or entry.get("max_per_class") != max_per_class:
            return None
        if path.stat().st_size != entry.get("bytes"):
            return None
        if md5 is not None and entry.get("md5") != md5:
            return None
        return FetchedFile(name=name, skipped=True, **{k: v for k, v in entry.items()
                                                        if k in FetchedFile.__dataclass_fields__})

    def add(self, f: FetchedFile, *, source: str, license: str, attribution: str) -> None:
        self.files[f.name] = f.record()
        self.sources[source] = {"license": license, "attribution": attribution}
        self.save()

    def remove(self, name: str) -> None:
        if self.files.pop(name, None) is not None:
            self.save()

    def save(self) -> None:
        write_json(self.path, {"format": MANIFEST_FORMAT, "sources": self.sources,
                               "files": dict(sorted(self.files.items()))}, sort_keys=True)


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat()


# --------------------------------------------------------------------------------------------------
# Quick, Draw!


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
        raise ConfigError("not a Quick, Draw! category: " + "; ".join(hints)
                          + ". The 345 official names are listed by `inkrec data fetch quickdraw --list`.")
    return out


def quickdraw_url(base_url: str, fmt: str, category: str) -> str:
    """URL of one category file in the bucket layout `full/<format>/<category><ext>` (names URL-quoted)."""
    return f"{base_url.rstrip('/')}/full/{fmt}/{quote(category)}{QUICKDRAW_FORMATS[fmt]}"


def fetch_quickdraw(categories: str | Iterable[str], fmt: str, dest: str | Path, *,
                    max_per_class: int | None = None, base_url: str = QUICKDRAW_BASE_URL,
                    fetcher: Fetcher | None = None, force: bool = False,
                    on_file: Callable[[FetchedFile], None] | None = None) -> list[FetchedFile]:
    """Fetch Quick, Draw! category files into `dest/<category><ext>` (the layout the readers open).

    A failing category does not stop the others; the failures are raised together at the end.
    """
    if fmt not in QUICKDRAW_FORMATS:
        raise ConfigError(f"unknown Quick, Draw! format {fmt!r}; choose one of {', '.join(QUICKDRAW_FORMATS)}")
    if max_per_class is not None and max_per_class < 1:
        raise ConfigError("--max-per-class must be at least 1")
    strict = base_url.rstrip("/") == QUICKDRAW_BASE_URL
    names = resolve_categories(categories, strict=strict)
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    manifest = Manifest(dest)
    done: list[FetchedFile] = []
    failed: list[tuple[str, InkrecError]] = []
    with _fetcher_scope(fetcher) as f:
        for category in names:
            name = category + QUICKDRAW_FORMATS[fmt]
            url = quickdraw_url(base_url, fmt, category)
            try:
                got = None if force else manifest.current(name, url=url, max_per_class=max_per_class, dest=dest)
                if got is None:
                    got = _fetch_quickdraw_file(f, url, dest / name, fmt, max_per_class)
                    manifest.add(got, source="quickdraw", license=QUICKDRAW_LICENSE,
                                 attribution=QUICKDRAW_ATTRIBUTION)
            except FetchError as exc:
                if exc.status == 404:
                    exc = FetchError(f"category {category!r} ({fmt}) not found at {url} (HTTP 404)"
                                     + _category_hint(category), url=url, status=404)
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


def _fetch_quickdraw_file(f: Fetcher, url: str, dest: Path, fmt: str, max_per_class: int | None) -> FetchedFile:
    if max_per_class is None:
        dl = f.fetch(url, dest)
    elif fmt == "numpy_bitmap":
        dl = _fetch_npy_rows(f, url, dest, max_per_class)
    elif fmt == "binary":
        dl = f.fetch(url, dest, limit=lambda: BinaryRecordLimit(max_per_class))
    else:
        dl = f.fetch(url, dest, limit=lambda: NdjsonLineLimit(max_per_class))
    return FetchedFile(name=dest.name, url=url, bytes=dl.bytes, sha256=dl.sha256, source="quickdraw",
                       max_per_class=max_per_class, fetched_at=_now())


def _fetch_npy_rows(f: Fetcher, url: str, dest: Path, n: int) -> Download:
    """Header + first `n` rows of a remote `.npy`, written as a valid `.npy` with the corrected shape."""
    head, total = f.read_prefix(url, 4096)
    shape, dtype, data_offset = _parse_npy_header(head, url)
    if data_offset > len(head):  # a very long header: fetch all of it
        head, total = f.read_prefix(url, data_offset)
        shape, dtype, data_offset = _parse_npy_header(head, url)
    if len(shape) < 1:
        raise DataFormatError(url, f"a 0-d array (shape {shape}) has no rows to take")
    row_bytes = dtype.itemsize * int(np.prod(shape[1:], dtype=np.int64))
    rows = min(n, shape[0])
    end = data_offset + rows * row_bytes
    if total is not None and total < end:
        raise DataFormatError(url, f"truncated: header says {shape[0]} rows but the file has only {total} bytes")

    def finalize(part: Path, final: Path) -> None:
        size = part.stat().st_size
        if size != end:
            raise DataFormatError(url, f"truncated: got {size} of the {end} bytes for {rows} rows")
        header = {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False,
                  "shape": (rows, *shape[1:])}
        with atomic_output(final) as out, open(part, "rb") as src:
            try:
                np.lib.format.write_array_header_1_0(out, header)
            except ValueError:  # header over 64 KiB: format 2.0
                np.lib.format.write_array_header_2_0(out, header)
            src.seek(data_offset)
            while chunk := src.read(1 << 20):
                out.write(chunk)

    return f.fetch(url, dest, end=end, finalize=finalize)


def _parse_npy_header(head: bytes, url: str) -> tuple[tuple[int, ...], np.dtype, int]:
    """Shape, dtype and data offset from the first bytes of a `.npy` (no pickles: object dtypes refused)."""
    fp = io.BytesIO(head)
    try:
        major, _minor = np.lib.format.read_magic(fp)
    except ValueError as exc:
        raise DataFormatError(url, f"not a .npy file: {exc}") from None
    hlen_size = 2 if major == 1 else 4
    if major not in (1, 2, 3):
        raise DataFormatError(url, f"unsupported .npy format version {major}")
    if len(head) < 8 + hlen_size:
        raise DataFormatError(url, "truncated .npy header")
    (hlen,) = struct.unpack_from("<H" if hlen_size == 2 else "<I", head, 8)
    data_offset = 8 + hlen_size + hlen
    if len(head) < data_offset:
        return (), np.dtype("u1"), data_offset
    fp.seek(0)
    np.lib.format.read_magic(fp)
    try:
        if major == 1:
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(fp, max_header_size=1 << 20)
        else:
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(fp, max_header_size=1 << 20)
    except (ValueError, SyntaxError) as exc:
        raise DataFormatError(url, f"bad .npy header: {exc}") from None
    if dtype.hasobject:
        raise DataFormatError(url, "object arrays (pickles) are refused")
    if fortran and len(shape) > 1:
        raise DataFormatError(url, "Fortran-ordered arrays cannot be cut to their first rows")
    return tuple(int(s) for s in shape), dtype, data_offset


# --------------------------------------------------------------------------------------------------
# MNIST family


def fetch_idx_dataset(name: str, dest: str | Path, *, base_url: str | None = None, verify: bool = True,
                      fetcher: Fetcher | None = None, force: bool = False, splits: Iterable[str] | None = None,
                      keep_archive: bool = True,
                      on_file: Callable[[FetchedFile], None] | None = None) -> list[FetchedFile]:
    """Fetch MNIST, Fashion-MNIST, Kuzushiji-MNIST (idx .gz files) or EMNIST (one zip, then extracted).

    `base_url` replaces the official mirrors. `verify=False` skips the published md5s (a mirror that
    re-packed the files); the sha256 of what arrived is still recorded in the manifest.
    """
    if name not in IDX_SOURCES:
        raise ConfigError(f"unknown data set {name!r}; choose one of {', '.join(IDX_SOURCES)}")
    src = IDX_SOURCES[name]
    mirrors = (base_url,) if base_url else src.mirrors
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    manifest = Manifest(dest)
    out: list[FetchedFile] = []
    chosen = _emnist_splits(splits) if name == "emnist" else []
    if chosen and not force:  # extracted files already in place: the archive is not needed again
        have = [_extracted_entry(manifest, dest, Path(m).name) for s in chosen for m in emnist_members(s)]
        if all(have):
            for got in have:
                if on_file is not None:
                    on_file(got)
            if not keep_archive:
                (dest / "gzip.zip").unlink(missing_ok=True)
                manifest.remove("gzip.zip")
            return have
    with _fetcher_scope(fetcher) as f:
        for fname, md5 in src.files.items():
            want_md5 = md5 if verify else None
            got = _fetch_from_mirrors(f, manifest, src, fname, want_md5, mirrors, dest, force, published=md5)
            out.append(got)
            if on_file is not None:
                on_file(got)
    if chosen:
        for extracted in _extract_emnist(dest / "gzip.zip", dest, chosen, manifest, src, force):
            out.append(extracted)
            if on_file is not None:
                on_file(extracted)
        if not keep_archive:
            (dest / "gzip.zip").unlink(missing_ok=True)
            manifest.remove("gzip.zip")
    return out


def _fetch_from_mirrors(f: Fetcher, manifest: Manifest, src: IdxSource, fname: str, md5: str | None,
                        mirrors: tuple[str, ...], dest: Path, force: bool, published: str | None) -> FetchedFile:
    errors: list[str] = []
    for mirror in mirrors:
        url = mirror.rstrip("/") + "/" + quote(fname)
        if not force:
            got = manifest.current(fname, url=url, md5=md5, dest=dest)
            if got is None:
                got = _adopt_verified(dest / fname, url, md5, src)
            if got is not None:
                return got
        try:
            dl = f.fetch(url, dest / fname, md5=md5)
        except ChecksumError:
            raise
        except FetchError as exc:
            errors.append(str(exc))
            continue
        if md5 is not None:
            checksum = "md5 verified (published)"
        else:
            checksum = "md5 not verified (--no-verify)" if published else "none published"
        got = FetchedFile(name=fname, url=url, bytes=dl.bytes, sha256=dl.sha256, md5=dl.md5, source=src.name,
                          checksum=checksum, fetched_at=_now())
        manifest.add(got, source=src.name, license=src.license, attribution=src.attribution)
        return got
    raise FetchError(f"{src.name}: could not fetch {fname}:\n  " + "\n  ".join(errors))


def _adopt_verified(path: Path, url: str, md5: str | None, src: IdxSource) -> FetchedFile | None:
    """A file already in place whose md5 matches the published one need not be fetched again."""
    if md5 is None or not path.is_file():
        return None
    d = _digests(path)
    if d["md5"] != md5:
        return None
    return FetchedFile(name=path.name, url=url, bytes=path.stat().st_size, sha256=d["sha256"], md5=d["md5"],
                       source=src.name, checksum="md5 verified (published)", fetched_at=_now(), skipped=True)


def _emnist_splits(splits: Iterable[str] | None) -> list[str]:
    chosen = list(splits) if splits else ["balanced"]
    if chosen == ["all"]:
        return list(EMNIST_SPLITS)
    bad = [s for s in chosen if s not in EMNIST_SPLITS]
    if bad:
        raise ConfigError(f"unknown EMNIST split(s) {', '.join(bad)}; choose from {', '.join(EMNIST_SPLITS)} or all")
    return chosen


def _extracted_entry(manifest: Manifest, dest: Path, name: str) -> FetchedFile | None:
    entry = manifest.files.get(name)
    path = dest / name
    if not entry or not entry.get("extracted_from") or not path.is_file() or entry.get("bytes") != path.stat().st_size:
        return None
    return FetchedFile(name=name, skipped=True, **{k: v for k, v in entry.items()
                                                   if k in FetchedFile.__dataclass_fields__})


def _extract_emnist(archive: Path, dest: Path, splits: list[str], manifest: Manifest, src: IdxSource,
                    force: bool) -> Iterator[FetchedFile]:
    """Extract the idx files of the chosen splits from NIST's gzip.zip, each atomically."""
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        raise DataFormatError(archive, f"not a readable zip archive: {exc}") from None
    with zf:
        names = set(zf.namelist())
        for split in splits:
            mapping = emnist_mapping_member(split)
            for member in emnist_members(split) + ([mapping] if mapping in names else []):
                if member not in names:
                    raise DataFormatError(archive, f"has no member {member} (split {split!r})")
                target = dest / Path(member).name
                current = None if force else _extracted_entry(manifest, dest, target.name)
                if current is not None:
                    yield current
                    continue
                sha = hashlib.sha256()
                try:
                    with zf.open(member) as src_fh, atomic_output(target) as out:
                        while chunk := src_fh.read(1 << 20):
                            sha.update(chunk)
                            out.write(chunk)
                except (zipfile.BadZipFile, OSError, EOFError) as exc:
                    raise DataFormatError(archive, f"corrupt member {member}: {exc}") from None
                archive_entry = manifest.files.get(archive.name, {})
                verified = str(archive_entry.get("checksum", "")).startswith("md5 verified")
                got = FetchedFile(name=target.name, url=f"{archive_entry.get('url', archive.name)}#{member}",
                                  bytes=target.stat().st_size, sha256=sha.hexdigest(), source=src.name,
                                  checksum="in an archive whose md5 was verified" if verified else "none published",
                                  extracted_from=archive.name, fetched_at=_now())
                manifest.add(got, source=src.name, license=src.license, attribution=src.attribution)
                yield got


@contextlib.contextmanager
def _fetcher_scope(fetcher: Fetcher | None) -> Iterator[Fetcher]:
    if fetcher is not None:
        yield fetcher
    else:
        with Fetcher() as f:
            yield f
