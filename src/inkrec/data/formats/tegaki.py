"""Tegaki character XML: online handwriting as the Tegaki project's tools record it.

Two layouts, both read: a single ``<character>`` file (``<utf8>`` the character, ``<strokes>`` of ``<stroke>``
of ``<point x y [timestamp]>``), and a ``<character-collection>`` of ``<set name=...>`` groups of such
characters. Points carry the pad's coordinates (often a 1000-unit box, y down) and, when recorded, the time in
ms, which becomes the strokes' third row as in Quick, Draw!'s raw format.

A data set is a file or a folder tree of them (``tegaki-lab/train/<corpus>/s1/97.xml``); its drawings are
brought into the simplified 0-255 space (simplified exactly like raw Quick, Draw! drawings when they carry
time), and where the tree has train and test (or eval) folders, that is its standard split. Files are parsed
by the standard library's expat, which resolves no external entity and bounds entity expansion.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from inkrec.data.drawing import Drawing
from inkrec.data.sources import StrokeLists
from inkrec.errors import DataFormatError
from inkrec.preprocess.strokes import canonical_strokes

NAME = "tegaki"
SUFFIXES = (".xml",)
DESCRIPTION = "Tegaki character XML files (single characters or collections)"
FOLDER = "tree"
MAX_FILE_BYTES = 256 << 20  # a collection of many thousand characters is tens of MB
_TEST_FOLDERS = {"test", "testing", "eval", "evaluation"}
_TRAIN_FOLDERS = {"train", "training"}


def recognizes(path: Path) -> bool:
    return path.suffix.lower() in SUFFIXES


def recognizes_folder(folder: Path, depth: int = 4) -> bool:
    """A Tegaki XML file within `depth` folder levels."""
    return bool(_xml_files(folder, depth, first_only=True))


def _xml_files(folder: Path, depth: int, *, first_only: bool = False) -> list[Path]:
    found: list[Path] = []
    for c in sorted(folder.iterdir()):
        if c.name.startswith("."):
            continue
        if c.is_file() and recognizes(c) and _looks_like_tegaki(c):
            found.append(c)
        elif c.is_dir() and depth > 0:
            found += _xml_files(c, depth - 1, first_only=first_only)
        if first_only and found:
            break
    return found


def _looks_like_tegaki(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            head = fh.read(512)
    except OSError:
        return False
    return b"<character" in head


def _number(path: Path, point: ET.Element, key: str, index: int) -> float:
    try:
        value = float(point.attrib[key])
    except KeyError:
        raise DataFormatError(path, f"a point without '{key}'", record=index) from None
    except ValueError:
        raise DataFormatError(path, f"point {key}={point.attrib[key]!r} is not a number", record=index) from None
    if not np.isfinite(value) or abs(value) > 1e7:
        raise DataFormatError(path, f"point {key}={value} is out of range", record=index)
    return value


def _character(path: Path, element: ET.Element, index: int) -> Drawing:
    label = (element.findtext("utf8") or "").strip()
    if not label:
        raise DataFormatError(path, "a character without <utf8>", record=index)
    strokes = []
    for stroke in element.iter("stroke"):
        points = stroke.findall("point")
        if not points:
            continue
        timed = all("timestamp" in p.attrib for p in points)
        rows = [[_number(path, p, "x", index) for p in points], [_number(path, p, "y", index) for p in points]]
        if timed:
            rows.append([_number(path, p, "timestamp", index) for p in points])
        strokes.append(np.asarray(rows, dtype=np.float64))
    if not strokes:
        raise DataFormatError(path, f"character {label!r} has no points", record=index)
    if len({s.shape[0] for s in strokes}) > 1:  # a drawing is timed throughout or not at all
        strokes = [s[:2] for s in strokes]
    return Drawing.from_checked(strokes, word=label, key_id=f"{path.stem}:{index}")


def iter_tegaki(path: str | Path) -> Iterator[Drawing]:
    """The characters of one Tegaki XML file (a single character or a collection), in file order."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise DataFormatError(path, f"larger than {MAX_FILE_BYTES >> 20} MB; not a Tegaki file")
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise DataFormatError(path, f"not well-formed XML ({exc})") from None
    except (LookupError, ValueError) as exc:  # an unknown or lying encoding declaration
        raise DataFormatError(path, f"cannot decode the XML ({type(exc).__name__}: {exc})") from None
    except OSError as exc:
        raise DataFormatError(path, f"cannot read file: {exc}") from None
    if root.tag == "character":
        yield _character(path, root, 0)
    elif root.tag == "character-collection":
        for i, element in enumerate(root.iter("character")):
            yield _character(path, element, i)
    else:
        raise DataFormatError(path, f"<{root.tag}> is neither <character> nor <character-collection>")


def _split_of(path: Path, root: Path) -> str | None:
    parts = {p.lower() for p in path.relative_to(root).parts[:-1]}
    if parts & _TEST_FOLDERS:
        return "test"
    if parts & _TRAIN_FOLDERS:
        return "train"
    return None


def open_source(path: Path, *, classes=None, progress: bool = True) -> StrokeLists:
    """A Tegaki XML file or a folder tree of them, read whole (Tegaki sets are small), in the 0-255 space."""
    files = [path] if path.is_file() else _xml_files(path, depth=6)
    if not files:
        raise DataFormatError(path, "no Tegaki XML files found")
    drawings, labels, splits = [], [], []
    for f in files:
        split = _split_of(f, path) if path.is_dir() else None
        for d in iter_tegaki(f):
            drawings.append(canonical_strokes(d.strokes))
            labels.append(d.word)
            splits.append(split)
    names, inverse = np.unique(np.asarray(labels, dtype=object).astype(str), return_inverse=True)
    if classes:
        wanted = set(classes)
        keep = [i for i, label in enumerate(labels) if label in wanted]
        if not keep:
            raise DataFormatError(path, f"none of the classes {sorted(wanted)[:10]} is in this Tegaki set")
        drawings = [drawings[i] for i in keep]
        splits = [splits[i] for i in keep]
        labels = [labels[i] for i in keep]
        names, inverse = np.unique(np.asarray(labels, dtype=object).astype(str), return_inverse=True)
    standard_test = None
    if "test" in splits and "train" in splits:
        standard_test = np.asarray([s == "test" for s in splits], dtype=bool)
    return StrokeLists(drawings, inverse.reshape(-1), [str(n) for n in names], name=NAME, path=path,
                       standard_test=standard_test)
