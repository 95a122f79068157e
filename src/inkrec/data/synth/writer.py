"""A synthetic data set written to files in the formats inkrec reads, one file per class, streamed.

- ``ndjson``: ink in Quick, Draw!'s simplified format (the data set's own simplification: integer coordinates
  0-255, Ramer-Douglas-Peucker; ``word`` = the character),
  one ``<character>.ndjson`` per class: any stroke model, `inkrec data show` or the page's replay reads it.
  Classes without stroke medians (fonts only) have no ink and are skipped (and counted).
- ``npy``: bitmaps in Quick, Draw!'s numpy_bitmap layout (uint8 (N, size*size), white on black), one
  ``<character>.npy`` per class, ink and font samples mixed as training mixes them.

Sample j of class c has the seed (`seed`, c, j), so the same command writes the same files, and any one class
can be rewritten alone. Each file is written atomically: an interrupted run leaves whole files only, and a
rerun skips the classes already written.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from inkrec.atomic import atomic_output
from inkrec.data.synth.hanzi import HanziSynth
from inkrec.errors import ConfigError
from inkrec.preprocess.simplify import simplify

FORMATS = ("ndjson", "npy")


@dataclass
class WriteReport:
    written: int = 0  # classes written now
    kept: int = 0  # classes already there
    skipped: list[str] | None = None  # classes that cannot be written in this format
    samples: int = 0


def sample_seeds(seed: int, label: int, n: int) -> np.ndarray:
    """Seeds of samples 0..n-1 of class `label` (independent of which other classes are written)."""
    base = np.random.SeedSequence([seed, label, 0x5EED]).generate_state(1)[0] >> 1
    return (np.int64(base) << np.int64(20)) + np.arange(n, dtype=np.int64)


def _ndjson_lines(synth: HanziSynth, label: int, seeds: np.ndarray) -> bytes:
    char = synth.classes[label]
    lines = []
    for j, drawing in enumerate(synth.drawings(np.full(len(seeds), label), seeds)):
        strokes = [[s[0].astype(int).tolist(), s[1].astype(int).tolist()] for s in simplify(drawing)]
        record = {"word": char, "countrycode": "", "timestamp": "", "recognized": True,
                  "key_id": f"synth-{label}-{int(seeds[j])}", "drawing": strokes}
        lines.append(json.dumps(record, ensure_ascii=False))
    return ("\n".join(lines) + "\n").encode("utf-8")


def write_synth(synth: HanziSynth, out: Path, *, per_class: int, fmt: str = "ndjson", size: int = 64,
                seed: int = 0, classes: Iterable[int] | None = None,
                progress: Callable[[Iterable[int]], Iterable[int]] | None = None) -> WriteReport:
    if fmt not in FORMATS:
        raise ConfigError(f"unknown output format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if per_class < 1:
        raise ConfigError(f"--per-class must be at least 1, got {per_class}")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"{out} exists and is not a folder")
    out.mkdir(parents=True, exist_ok=True)
    report = WriteReport(skipped=[])
    labels = list(range(len(synth.classes)) if classes is None else classes)
    for label in progress(labels) if progress else labels:
        char = synth.classes[label]
        path = out / f"{char}.{fmt}"
        if path.exists():
            report.kept += 1
            continue
        seeds = sample_seeds(seed, label, per_class)
        if fmt == "ndjson":
            if synth.bank_index[label] < 0:
                report.skipped.append(char)
                continue
            with atomic_output(path, "wb") as f:
                f.write(_ndjson_lines(synth, label, seeds))
        else:
            if char in synth.unwritable:
                report.skipped.append(char)
                continue
            pixels = synth.bitmaps(np.full(per_class, label), seeds, size)
            with atomic_output(path, "wb") as f:
                np.save(f, pixels.reshape(per_class, size * size))
        report.written += 1
        report.samples += per_class
    return report
