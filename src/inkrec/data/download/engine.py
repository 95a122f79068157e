"""Downloads that resume, retry, verify and land atomically: the engine under every catalogue.

A full Quick, Draw! download is hundreds of files and tens of gigabytes over links that drop, so every
file is fetched the same careful way:

* into `<name>.part` next to the destination, continued with an HTTP `Range` request after a cut
  (guarded by `If-Range`, so a file that changed on the server is fetched from the start again);
* retried with exponential back-off on connection errors, time-outs and 5xx answers;
* checked against the checksum its source publishes, where it publishes one;
* renamed into place (`os.replace`) only when complete and verified, so a destination file is always whole;
* under a lock per destination file (`locked`, `fcntl.flock` on a hidden `.<name>.lock` beside it), so two
  processes fetching into one folder never share a `.part` file: the second waits, then finds the file
  there and verified.

`fetch-manifest.json` in the destination records each file's URL, size and sha256 (our own sums where
the source publishes none), which lets a second run skip what is already there (after checking that the
file still has that sha256: a damaged file is fetched again) and lets a user check the files later. Its
updates re-read it under its own lock, so processes fetching into one folder keep each other's entries.
A `RecordLimit` ends a transfer after N records (the formats know where records end), and `end=` after
N bytes. The catalogues (`inkrec.data.download.quickdraw`, `.mnist`) know where each
data set lives and how its files are laid out.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import json
import os
import random
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol, Self

import httpx

from inkrec import __version__
from inkrec.atomic import atomic_output
from inkrec.data.zips import ZIP_ERRORS
from inkrec.errors import ConfigError, DataFormatError, InkrecError
from inkrec.jsonio import write_json

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; concurrent fetches into one folder are not guarded
    fcntl = None  # type: ignore[assignment]

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
# Stopping a stream after N records


class RecordLimit(Protocol):
    """Watches a byte stream and says where the N-th record ends."""

    def feed(self, data: bytes) -> int | None:
        """Consume `data`; return how many of its bytes to keep if the N-th record ends inside it."""


# --------------------------------------------------------------------------------------------------
# One process at a time per destination file

_held = threading.local()  # this thread's locks: path -> [descriptor, depth]


@contextlib.contextmanager
def locked(path: str | Path, log: Callable[[str], None] | None = None) -> Iterator[None]:
    """Hold the lock of destination file `path` (re-entrant within a thread).

    The lock is `fcntl.flock` on `.<name>.lock` next to `path`, removed again on release; a waiter that
    wakes on a lock file already removed takes the new one, so exactly one holder exists at a time.
    """
    path = Path(path).absolute()
    held = _held.__dict__.setdefault("locks", {})
    key = str(path)
    if key in held:
        held[key][1] += 1
        try:
            yield
        finally:
            held[key][1] -= 1
        return
    lock_path = path.with_name(f".{path.name}.lock")
    fd = _acquire(lock_path, log, path.name)
    held[key] = [fd, 1]
    try:
        yield
    finally:
        del held[key]
        if fd is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(lock_path)
            os.close(fd)


def _acquire(lock_path: Path, log: Callable[[str], None] | None, name: str) -> int | None:
    if fcntl is None:
        return None
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    waited = False
    while True:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if log is not None and not waited:
                    log(f"{name}: another process is fetching it; waiting")
                waited = True
                fcntl.flock(fd, fcntl.LOCK_EX)
            mine = os.fstat(fd)
            try:
                now_there = os.stat(lock_path)
            except FileNotFoundError:
                now_there = None
            if now_there is not None and (now_there.st_dev, now_there.st_ino) == (mine.st_dev, mine.st_ino):
                return fd
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)  # the holder removed this lock file on release: take the current one


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
    total: int | None = None  # size of the whole resource, when the server said


class Fetcher:
    """HTTP downloads that resume, retry, verify and land atomically.

    One `httpx.Client` (connection reuse across hundreds of files), a read time-out so a stalled server
    cannot hang a run, and a rich progress bar per file (bytes, speed, time left) when `progress` is given.
    """

    def __init__(
        self,
        *,
        timeout: float = 60.0,
        retries: int = 5,
        backoff: float = 1.0,
        progress: _Progress | None = None,
        client: httpx.Client | None = None,
        log: Callable[[str], None] | None = None,
    ):
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

    def fetch(
        self,
        url: str,
        dest: str | Path,
        *,
        md5: str | None = None,
        end: int | None = None,
        limit: Callable[[], RecordLimit] | None = None,
        finalize: Callable[[Path, Path], None] | None = None,
        label: str | None = None,
    ) -> Download:
        """Download `url` to `dest`.

        `md5`: the published checksum; a mismatch deletes the partial file and raises ChecksumError.
        `end`: fetch only bytes [0, end). `limit`: a factory of a RecordLimit that ends the transfer
        after N records. `finalize(part, dest)` turns the complete .part into `dest` (default: rename).
        Holds `dest`'s lock throughout, so the `.part` file is this process's alone.
        """
        dest = Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        with locked(dest, self.log):
            return self._fetch_locked(
                url, dest, md5=md5, end=end, limit=limit, finalize=finalize, label=label
            )

    def _fetch_locked(
        self,
        url: str,
        dest: Path,
        *,
        md5: str | None,
        end: int | None,
        limit: Callable[[], RecordLimit] | None,
        finalize: Callable[[Path, Path], None] | None,
        label: str | None,
    ) -> Download:
        part = dest.with_name(dest.name + ".part")
        state = _Attempt(
            part=part,
            meta_path=dest.with_name(dest.name + ".part.json"),
            url=url,
            end=end,
            limit_factory=limit,
        )
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
                            url=url,
                        ) from None
                    delay = min(self.backoff * 2 ** (failures - 1), 60.0) * (1 + 0.25 * random.random())
                    self.log(f"{dest.name}: {_describe(exc)}; retrying in {delay:.1f} s from byte {have}")
                    time.sleep(delay)
        finally:
            self._end_task(task)

        size = part.stat().st_size
        if state.total is not None and not state.stopped_early and size != state.total:
            part.unlink()
            state.meta_path.unlink(missing_ok=True)
            raise FetchError(
                f"{url}: got {size} bytes, the server announced {state.total}; the partial file "
                "was deleted, run the same command again",
                url=url,
            )
        sums = digests(part)
        if md5 is not None and sums["md5"] != md5.lower():
            size = part.stat().st_size
            part.unlink()
            state.meta_path.unlink(missing_ok=True)
            raise ChecksumError(
                f"{url}: checksum mismatch: md5 of the {size} downloaded bytes is {sums['md5']}, the source "
                f"publishes {md5}. The partial file was deleted; the mirror may be corrupt or changed "
                "(use --no-verify only if you trust it).",
                url=url,
            )
        if finalize is None:
            os.replace(part, dest)
            size = dest.stat().st_size
        else:
            finalize(part, dest)
            part.unlink(missing_ok=True)
            size = dest.stat().st_size
            sums = digests(dest)
        state.meta_path.unlink(missing_ok=True)
        return Download(
            path=dest,
            url=url,
            bytes=size,
            sha256=sums["sha256"],
            md5=sums["md5"],
            resumed_from=resumed_from,
            received=state.received,
            attempts=attempts,
            stopped_early=state.stopped_early,
        )

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
                    state.total = total
                    return
                part.unlink()  # the file on the server is not what our .part is a prefix of
                raise _Retry(f"server refused to resume at byte {offset}; starting over")
            self._raise_for_status(r, state.url)
            if r.status_code == 206:
                start = _content_range_start(r)
                if start != offset:
                    part.unlink(missing_ok=True)
                    raise _Retry(
                        f"server answered a range from byte {start}, asked for {offset}; starting over"
                    )
                mode = "ab"
            else:  # 200: the server ignored the Range (or the file changed): start over
                if offset:
                    self.log(f"{part.name}: server does not resume this file; starting over")
                offset = 0
                mode = "wb"
                if state.limit_factory:
                    limit = state.limit_factory()
            total = _total_size(r)
            state.total = total
            want = (
                min(total, end)
                if (total is not None and end is not None)
                else (end if end is not None else total)
            )
            write_json(
                state.meta_path,
                {"url": state.url, "validator": _validator(r), "total": total},
                sort_keys=True,
            )
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


def digests(path: Path) -> dict[str, str]:
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
    """`fetch-manifest.json`: what each fetched file is, so runs can skip it and users can verify it.

    Read afresh on every question (another process may have added to it) and updated under its lock by
    re-reading, changing one entry and replacing the file atomically.
    """

    def __init__(self, dest: Path):
        self.path = dest / MANIFEST_NAME

    def _read(self) -> tuple[dict[str, dict], dict[str, dict]]:
        data = _read_json(self.path) or {}
        files, sources = data.get("files"), data.get("sources")
        return (
            dict(files) if isinstance(files, dict) else {},
            dict(sources) if isinstance(sources, dict) else {},
        )

    @property
    def files(self) -> dict[str, dict]:
        return self._read()[0]

    def current(
        self, name: str, *, url: str, max_per_class: int | None = None, md5: str | None = None, dest: Path
    ) -> FetchedFile | None:
        """The recorded entry if `dest/name` is present, is what was asked for and still has the recorded
        size and sha256 (a file that fails is not current, so it is fetched again)."""
        entry = self.files.get(name)
        path = dest / name
        if not isinstance(entry, dict) or not path.is_file():
            return None
        if entry.get("url") != url or entry.get("max_per_class") != max_per_class:
            return None
        if md5 is not None and entry.get("md5") != md5:
            return None
        return verified_entry(path, entry)

    def add(self, f: FetchedFile, *, source: str, license: str, attribution: str) -> None:
        with locked(self.path):
            files, sources = self._read()
            files[f.name] = f.record()
            sources[source] = {"license": license, "attribution": attribution}
            self._write(files, sources)

    def remove(self, name: str) -> None:
        with locked(self.path):
            files, sources = self._read()
            if files.pop(name, None) is not None:
                self._write(files, sources)

    def _write(self, files: dict, sources: dict) -> None:
        write_json(
            self.path,
            {"format": MANIFEST_FORMAT, "sources": sources, "files": dict(sorted(files.items()))},
            sort_keys=True,
        )


def verified_entry(path: Path, entry: dict) -> FetchedFile | None:
    """The manifest `entry` of `path` as a skipped FetchedFile if the file still has its size and sha256."""
    if path.stat().st_size != entry.get("bytes") or digests(path)["sha256"] != entry.get("sha256"):
        return None
    return FetchedFile(
        name=path.name,
        skipped=True,
        **{k: v for k, v in entry.items() if k in FetchedFile.__dataclass_fields__ and k != "name"},
    )


def extract_member(zf, member, archive: Path, target: Path, manifest: Manifest, *, source: str, license: str,
                   attribution: str) -> FetchedFile:
    """Copy one member (a name or ZipInfo) of an open zip `archive` to `target` atomically, and record it in
    the manifest as extracted from the archive (trusted as far as the archive's own checksum was)."""
    name = getattr(member, "filename", member)
    sha = hashlib.sha256()
    try:
        with zf.open(member) as fh, atomic_output(target) as out:
            while chunk := fh.read(1 << 20):
                sha.update(chunk)
                out.write(chunk)
    except ZIP_ERRORS as exc:
        raise DataFormatError(archive, f"corrupt member {name}: {exc}") from None
    archive_entry = manifest.files.get(archive.name, {})
    verified = str(archive_entry.get("checksum", "")).startswith("md5 verified")
    got = FetchedFile(
        name=target.name,
        url=f"{archive_entry.get('url', archive.name)}#{name}",
        bytes=target.stat().st_size,
        sha256=sha.hexdigest(),
        source=source,
        checksum="in an archive whose md5 was verified" if verified else "none published",
        extracted_from=archive.name,
        fetched_at=now(),
    )
    manifest.add(got, source=source, license=license, attribution=attribution)
    return got


def now() -> str:
    return _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat()


@contextlib.contextmanager
def fetcher_scope(fetcher: Fetcher | None) -> Iterator[Fetcher]:
    """The given Fetcher, or a new one closed at the end."""
    if fetcher is not None:
        yield fetcher
    else:
        with Fetcher() as f:
            yield f
