"""Synthetic Chinese handwriting for every character of a vocabulary: ink from stroke medians, pictures from
handwriting-style fonts, deterministic by seed.

A class with stroke medians is written as ink (`inkrec.data.synth.ink`) most of the time and drawn from a font
otherwise (`font_share`); a class without medians (most of Big5's rarer characters) is drawn from fonts only.
Samples are addressed by (class, seed): training asks for new seeds every epoch, a validation set keeps its
seeds, and ``inkrec data synth hanzi`` writes the same samples to files.
"""

from __future__ import annotations

import hashlib
import os
import zipfile
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from inkrec.atomic import atomic_output
from inkrec.data.charsets import CHARSETS, charset
from inkrec.data.synth import glyphs as glyphs_module
from inkrec.data.synth.glyphs import GlyphSet, warp
from inkrec.data.synth.ink import SPACING, Style, buffers, synth_batch
from inkrec.data.synth.strokebank import StrokeBank, cache_dir, load_strokes
from inkrec.errors import ConfigError
from inkrec.preprocess import pictures
from inkrec.preprocess.pictures import QUICKDRAW_FRAME, to_model_input
from inkrec.preprocess.raster import rasterize_packed

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _seed32(seeds: np.ndarray) -> np.ndarray:
    """64-bit sample seeds mixed down to the 32 bits numba's generator takes (every bit counts)."""
    mixed = np.asarray(seeds, dtype=np.int64).astype(np.uint64) * _GOLDEN
    return (mixed >> np.uint64(32)).astype(np.int64)


@dataclass
class HanziSynth:
    """The synthesizer of one vocabulary (`classes`, in label order): a named one (`inkrec.data.charsets`) or
    any string of characters."""

    classes: tuple[str, ...]
    bank: StrokeBank
    glyphs: GlyphSet
    font_share: float = 0.25
    style: Style = field(default_factory=Style)
    _glyphs: dict = field(default_factory=dict, repr=False)

    @classmethod
    def open(cls, vocabulary: str = "zh", *, strokes: str | None = None, font_share: float = 0.25,
             style: Mapping | None = None) -> HanziSynth:
        if not 0.0 <= font_share <= 1.0:
            raise ConfigError(f"the share of font samples must be in [0, 1], got {font_share}")
        try:
            st = Style(**dict(style or {}))
        except TypeError as e:
            raise ConfigError(f"unknown handwriting style setting: {e}") from e
        classes = tuple(charset(vocabulary)) if vocabulary in CHARSETS else tuple(dict.fromkeys(vocabulary))
        synth = cls(classes, load_strokes(strokes), GlyphSet.installed(), font_share, st)
        missing = synth.unwritable
        if len(missing) == len(synth.classes):
            raise ConfigError(
                "no class of the vocabulary can be synthesized: neither stroke medians nor a handwriting font covers "
                "it (install fonts-arphic-ukai, fonts-lxgw-wenkai or fonts-cns11643-kai)"
            )
        return synth

    @cached_property
    def bank_index(self) -> np.ndarray:
        """Per class, its index in the stroke bank, or -1."""
        index = self.bank.index
        return np.array([index.get(c, -1) for c in self.classes], dtype=np.int64)

    @cached_property
    def fonts(self) -> list[list[int]]:
        """Per class, the fonts that draw it."""
        return [self.glyphs.fonts_for(c) for c in self.classes]

    @cached_property
    def has_font(self) -> np.ndarray:
        """Per class, whether some font draws it."""
        return np.array([bool(f) for f in self.fonts], dtype=bool)

    @cached_property
    def unwritable(self) -> list[str]:
        """Classes with neither medians nor a font: they cannot be synthesized."""
        return [c for c, b, f in zip(self.classes, self.bank_index, self.fonts) if b < 0 and not f]

    @cached_property
    def _max_points(self) -> int:
        """A bound on the points of one synthetic sample (longest character, with ligatures and drift)."""
        pts, so, co = self.bank.points, self.bank.stroke_off, self.bank.char_off
        seg = np.hypot(*np.diff(pts, axis=0).T)
        seg[so[1:-1] - 1] = 0.0  # no length between strokes
        per_stroke = np.add.reduceat(np.append(seg, 0.0), so[:-1])
        per_char = np.add.reduceat(per_stroke, co[:-1])
        strokes = np.diff(co)
        return int((per_char * 1.6 / SPACING + strokes * (8 + 1450 / (2 * SPACING))).max()) + 64

    def use_font(self, labels: np.ndarray, seeds: np.ndarray) -> np.ndarray:
        """Which samples are drawn from a font (decided by the sample's seed, so it is reproducible)."""
        labels = np.asarray(labels, dtype=np.int64)
        u = ((np.asarray(seeds, dtype=np.uint64) * _GOLDEN) >> np.uint64(11)).astype(np.float64) / 2.0**53
        has_ink = self.bank_index[labels] >= 0
        has_font = self.has_font[labels]
        return has_font & (~has_ink | (u < self.font_share))

    def ink(self, labels: np.ndarray, seeds: np.ndarray) -> tuple[np.ndarray, ...]:
        """Ink samples of classes `labels`, packed (xs, ys, stroke offsets, drawing offsets) in the simplified
        0-255 space; classes without medians give empty drawings."""
        labels = np.asarray(labels, dtype=np.int64)
        chars = self.bank_index[labels]
        xs, ys, s_off, d_off = buffers(self._max_points, len(labels))
        ok = chars >= 0
        sub = np.flatnonzero(ok)
        sxs, sys_, ss, sd = buffers(self._max_points, len(sub))
        p, k = synth_batch(self.bank.points, self.bank.stroke_off, self.bank.char_off, chars[sub],
                           _seed32(np.asarray(seeds)[sub]), self.style.as_array(), sxs, sys_, ss, sd)
        if len(sub) == len(labels):
            return sxs[:p], sys_[:p], ss[: k + 1], sd
        # spread back with empty drawings where a class has no medians
        counts = np.zeros(len(labels), dtype=np.int64)
        counts[sub] = np.diff(sd)
        d_off[0] = 0
        np.cumsum(counts, out=d_off[1:])
        return sxs[:p], sys_[:p], ss[: k + 1], d_off

    def drawings(self, labels: np.ndarray, seeds: np.ndarray) -> list[list[np.ndarray]]:
        """Ink samples as drawings: lists of (2, n) strokes, rounded to 0.1 unit."""
        xs, ys, s_off, d_off = self.ink(labels, seeds)
        out = []
        for d in range(len(labels)):
            out.append([
                np.round(np.stack([xs[s_off[s] : s_off[s + 1]], ys[s_off[s] : s_off[s + 1]]]), 1)
                for s in range(d_off[d], d_off[d + 1])
            ])
        return out

    def framed_glyph(self, label: int, font: int, size: int, line: float, pad: float) -> np.ndarray:
        """The class's glyph in `font`, framed as a picture at twice `size` (cached: framing is the slow part)."""
        key = (label, font, size, line, pad)
        glyph = self._glyphs.get(key)
        if glyph is None:
            picture = self.glyphs.render(self.classes[label], font)
            glyph = to_model_input(picture, 2 * size, canvas=QUICKDRAW_FRAME["canvas"], line_diameter=line,
                                   padding=pad)
            self._glyphs[key] = glyph
        return glyph

    def glyph_cache_path(self, size: int, line: float, pad: float) -> Path:
        """Where the framed glyphs of this vocabulary, these fonts and this framing are kept between runs: the
        name hashes everything that changes a framed pixel (the classes, each font file's path, size and
        modification time, the framing's parameters and the framing code itself)."""
        h = hashlib.sha256("".join(self.classes).encode())
        for path, index in self.glyphs.paths:
            st = os.stat(path)
            h.update(f"|{path}|{index}|{st.st_size}|{st.st_mtime_ns}".encode())
        h.update(f"|{size}|{line!r}|{pad!r}|{glyphs_module.RENDER}".encode())
        for module in (pictures, glyphs_module):
            h.update(Path(module.__file__).read_bytes())
        return cache_dir() / f"glyphs-{len(self.classes)}-{h.hexdigest()[:16]}.npz"

    def prepare_glyphs(self, size: int, *, preprocessing: Mapping | None = None, workers: int = 1,
                       progress: bool = True) -> Path:
        """Frame every (class, font) glyph once, before training, rather than as samples first need them.

        Framing costs ~25 ms a glyph and `zh` has ~40,000 of them: framed lazily, that is 17 core-minutes in
        every training process and every resume, in threads that then starve the model. So they are framed in
        `workers` threads (the framing releases the GIL) and kept in the cache (`INKREC_CACHE`), from where a
        later run loads them in seconds. Returns the cache file."""
        line, pad = self.preprocessing_defaults(preprocessing)
        pairs = [(label, font) for label, fonts in enumerate(self.fonts) for font in fonts]
        path = self.glyph_cache_path(size, line, pad)
        if path.is_file():
            try:
                with np.load(path, allow_pickle=False) as z:
                    labels, fonts, framed = z["labels"], z["fonts"], z["glyphs"]
                if len(labels) == len(pairs) and framed.shape[1:] == (2 * size, 2 * size):
                    for label, font, glyph in zip(labels.tolist(), fonts.tolist(), framed):
                        self._glyphs[(label, font, size, line, pad)] = glyph
                    return path
            except (OSError, KeyError, ValueError, zipfile.BadZipFile):
                pass  # a damaged or partial cache file: frame again and replace it
        framed = np.zeros((len(pairs), 2 * size, 2 * size), dtype=np.uint8)

        def frame(i: int) -> None:
            framed[i] = self.framed_glyph(pairs[i][0], pairs[i][1], size, line, pad)

        bar = tqdm(total=len(pairs), desc="framing glyphs", unit="glyph", disable=not progress, leave=False)
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            for _ in pool.map(frame, range(len(pairs))):
                bar.update()
        bar.close()
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_output(path, "wb") as f:
            np.savez_compressed(f, labels=np.array([p[0] for p in pairs], dtype=np.int32),
                                fonts=np.array([p[1] for p in pairs], dtype=np.int16), glyphs=framed)
        return path

    def font_bitmaps(self, labels: np.ndarray, seeds: np.ndarray, size: int, line: float, pad: float) -> np.ndarray:
        """Font samples: uint8 (N, size, size) framed glyphs, each warped by its own seed."""
        out = np.zeros((len(labels), size, size), dtype=np.uint8)
        for i, (label, seed) in enumerate(zip(labels, seeds)):
            fonts = self.fonts[int(label)]
            if fonts:
                rng = np.random.default_rng(int(seed))
                glyph = self.framed_glyph(int(label), fonts[int(rng.integers(len(fonts)))], size, line, pad)
                out[i] = warp(glyph, rng, size)
        return out

    @staticmethod
    def preprocessing_defaults(preprocessing: Mapping | None = None) -> tuple[float, float]:
        """(line diameter, padding) of a model's recorded preprocessing, the rasterizer's defaults else."""
        params = dict(preprocessing or {})
        return (float(params.get("line_diameter", QUICKDRAW_FRAME["line_diameter"])),
                float(params.get("padding", QUICKDRAW_FRAME["padding"])))

    def bitmaps(self, labels: Sequence[int], seeds: Sequence[int], size: int, *,
                preprocessing: Mapping | None = None) -> np.ndarray:
        """uint8 (N, size, size) model inputs: ink rasterized and fonts framed, as the model's
        `preprocessing` (line diameter, padding) says."""
        labels = np.asarray(labels, dtype=np.int64)
        seeds = np.asarray(seeds, dtype=np.int64)
        line, pad = self.preprocessing_defaults(preprocessing)
        font = self.use_font(labels, seeds)
        out = np.zeros((len(labels), size, size), dtype=np.uint8)
        ink_at = np.flatnonzero(~font)
        if len(ink_at):
            xs, ys, s_off, d_off = self.ink(labels[ink_at], seeds[ink_at])
            out[ink_at] = rasterize_packed(xs, ys, s_off, d_off, size, line_diameter=line, padding=pad)
        font_at = np.flatnonzero(font)
        if len(font_at):
            out[font_at] = self.font_bitmaps(labels[font_at], seeds[font_at], size, line, pad)
        return out
