"""Stroke medians of Chinese characters, from npm's `hanzi-writer-data` (Make Me a Hanzi), packed once.

The package holds one JSON file per character (9,574 of them) with each stroke's outline and its median:
the pen's centre line, as a few points in a 1024-unit box with y up (Make Me a Hanzi's glyph space, whose top
is y = 900). Medians are what a writer's pen follows, in the printed stroke order, which makes them the
right seed for synthetic handwriting; the outlines are not needed.

Reading 9,574 small JSON files takes seconds, so the medians are packed into one ``.npz`` (int16 points,
stroke and character offsets; ~1.5 MB) beside a cache key of the package's version, and read from there
afterwards. The package is found at `INKREC_HANZI_STROKES`, then in the project's ``web/node_modules`` (the
set-up installs it there), or given explicitly: its folder, or the ``.tgz`` that ``npm pack
hanzi-writer-data`` downloads (read in place).
"""

from __future__ import annotations

import io
import json
import os
import tarfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from inkrec.atomic import atomic_output
from inkrec.errors import ConfigError, DataFormatError

PACKAGE = "hanzi-writer-data"
ENV = "INKREC_HANZI_STROKES"
GLYPH_TOP = 900  # Make Me a Hanzi's glyph space: y up, top at 900, 1024 units tall
BOX = 1024
_REPO_NODE_MODULES = Path(__file__).resolve().parents[4] / "web" / "node_modules" / PACKAGE


@dataclass(frozen=True)
class StrokeBank:
    """Every character's stroke medians, y down in a 1024 box: ``points[stroke_off[s]:stroke_off[s+1]]`` is
    stroke s, and character i's strokes are ``char_off[i]:char_off[i+1]``, in the printed order."""

    chars: tuple[str, ...]
    points: np.ndarray  # float32 (P, 2)
    stroke_off: np.ndarray  # int64 (S + 1,)
    char_off: np.ndarray  # int64 (C + 1,)
    version: str = ""

    def __len__(self) -> int:
        return len(self.chars)

    @property
    def index(self) -> dict[str, int]:
        return _index(self.chars)

    def __contains__(self, char: str) -> bool:
        return char in self.index

    def strokes(self, char: str) -> list[np.ndarray]:
        """The medians of `char` as (2, n) arrays (x row, y row), the layout of inkrec's drawings."""
        i = self.index[char]
        return [
            self.points[self.stroke_off[s] : self.stroke_off[s + 1]].T.copy()
            for s in range(self.char_off[i], self.char_off[i + 1])
        ]


@cache
def _index(chars: tuple[str, ...]) -> dict[str, int]:
    return {c: i for i, c in enumerate(chars)}


def find_package(path: str | Path | None = None) -> Path:
    """The hanzi-writer-data folder or tarball to read: `path`, else `INKREC_HANZI_STROKES`, else the
    project's own ``web/node_modules``."""
    for candidate in (path, os.environ.get(ENV), _REPO_NODE_MODULES):
        if candidate:
            p = Path(candidate).expanduser()
            if p.exists():
                return p
            if candidate is not _REPO_NODE_MODULES:
                raise ConfigError(f"stroke data not found: {p} does not exist")
    raise ConfigError(
        f"the stroke data of npm's {PACKAGE} was not found: install it (`npm install {PACKAGE}`, or the "
        f"project's set-up, which puts it in web/node_modules) and pass its folder with --strokes or set {ENV}"
    )


def _members(package: Path) -> Iterator[tuple[str, bytes]]:
    """(file name, bytes) of the package's files, from its folder or its npm tarball."""
    if package.is_dir():
        for f in sorted(package.iterdir()):
            if f.is_file() and f.suffix == ".json":
                yield f.name, f.read_bytes()
        return
    try:
        with tarfile.open(package, "r:*") as tar:
            for m in tar:
                if m.isfile():
                    fh = tar.extractfile(m)
                    if fh is not None:
                        yield Path(m.name).name, fh.read()
    except (tarfile.TarError, OSError, EOFError) as e:
        raise DataFormatError(package, f"not a readable {PACKAGE} folder or npm tarball ({e})") from e


def _version(package: Path) -> str:
    if package.is_dir():
        meta = package / "package.json"
        if meta.is_file():
            return str(json.loads(meta.read_text(encoding="utf-8")).get("version", ""))
        return ""
    return package.name


def read_package(package: Path) -> StrokeBank:
    """Read every ``<char>.json`` of the package (slow: seconds; `load_strokes` caches the result)."""
    chars: list[str] = []
    points: list[np.ndarray] = []
    stroke_off = [0]
    char_off = [0]
    for name, data in _members(package):
        stem, suffix = os.path.splitext(name)
        if suffix != ".json" or len(stem) != 1 or name == "package.json":
            continue
        try:
            medians = json.loads(data.decode("utf-8"))["medians"]
            strokes = [np.asarray(m, dtype=np.float32).reshape(-1, 2) for m in medians]
        except (ValueError, KeyError, TypeError) as e:
            raise DataFormatError(package / name, f"not a {PACKAGE} character file ({e})") from e
        strokes = [s for s in strokes if len(s)]
        if not strokes:
            continue
        for s in strokes:
            s[:, 1] = GLYPH_TOP - s[:, 1]  # y up -> y down, top at 0
            points.append(s)
            stroke_off.append(stroke_off[-1] + len(s))
        chars.append(stem)
        char_off.append(len(stroke_off) - 1)
    if not chars:
        raise DataFormatError(package, f"no character files of {PACKAGE} found")
    return StrokeBank(
        tuple(chars),
        np.concatenate(points).astype(np.float32),
        np.asarray(stroke_off, dtype=np.int64),
        np.asarray(char_off, dtype=np.int64),
        _version(package),
    )


def save_bank(bank: StrokeBank, path: Path) -> None:
    with atomic_output(path, "wb") as f:
        np.savez_compressed(
            f,
            chars=np.array("".join(bank.chars)),
            points=bank.points.round().astype(np.int16),
            stroke_off=bank.stroke_off,
            char_off=bank.char_off,
            version=np.array(bank.version),
        )


def load_bank(path: Path) -> StrokeBank:
    """A packed bank (``.npz`` of plain arrays; read without pickle)."""
    try:
        with np.load(path, allow_pickle=False) as z:
            chars = str(z["chars"])
            return StrokeBank(
                tuple(chars),
                z["points"].astype(np.float32),
                z["stroke_off"].astype(np.int64),
                z["char_off"].astype(np.int64),
                str(z["version"]),
            )
    except (OSError, KeyError, ValueError) as e:
        raise DataFormatError(path, f"not a packed stroke bank ({e})") from e


def cache_dir() -> Path:
    root = os.environ.get("INKREC_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "inkrec"
    )
    return Path(root)


@cache
def load_strokes(path: str | None = None) -> StrokeBank:
    """The stroke bank: a packed ``.npz`` given directly, or the package (folder or tarball) packed on first
    use into the cache (`INKREC_CACHE`, default ``~/.cache/inkrec``)."""
    if path and str(path).endswith(".npz"):
        return load_bank(Path(path))
    package = find_package(path)
    key = f"{PACKAGE}-{_version(package) or 'local'}-{zlib.crc32(str(package.resolve()).encode()):08x}.npz"
    packed = cache_dir() / key
    if packed.is_file():
        try:
            return load_bank(packed)
        except DataFormatError:
            pass  # a damaged cache file is rebuilt below
    bank = read_package(package)
    packed.parent.mkdir(parents=True, exist_ok=True)
    save_bank(bank, packed)
    return bank


def pack_tarball_bytes(files: dict[str, bytes]) -> bytes:
    """An npm-style tarball (``package/<name>``) of `files`: what tests and users without npm can build."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(f"package/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()
