"""Synthetic data sets: samples made on demand, new ones every epoch, named like a data set.

``synth:hanzi?charset=zh&per_class=8`` is a data set to `inkrec train --data` (and `inkrec data synth hanzi`
writes the same samples to files). Options, all optional:

- ``charset``: the vocabulary (`inkrec.data.charsets`; default ``zh``), or ``chars``: the characters
  themselves, in label order (a vocabulary of one's own: ``chars=零一二三``);
- ``per_class``: training samples of a class per epoch (default 8), times ``boost`` for common characters;
- ``boost``: ``A,B``: GB2312 level-1 classes get A times, other Big5 common ones B times the samples
  (default ``3,2``): people write common characters far more often, so a model should know them best;
- ``val_per_class`` / ``test_per_class``: fixed samples per class for validation and test (default 1);
- ``fonts``: share of samples drawn from fonts for characters that have stroke medians (default 0.25);
- ``strokes``: the hanzi-writer-data folder, tarball or packed ``.npz`` (default: found, see `strokebank`);
- any `inkrec.data.synth.ink.Style` field (``join=0.8``, ``smoothing=6`` ...).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from functools import cached_property
from urllib.parse import parse_qsl, urlsplit

import numpy as np

from inkrec.data.charsets import charset
from inkrec.data.synth.hanzi import HanziSynth
from inkrec.data.synth.ink import Style
from inkrec.errors import ConfigError

PREFIX = "synth:"
SYNTHESIZERS = ("hanzi",)
_STYLE_KEYS = {f.name for f in fields(Style)}


def is_synth(data: str) -> bool:
    return str(data).startswith(PREFIX)


@dataclass(frozen=True)
class SynthSpec:
    """A parsed ``synth:NAME?OPTIONS`` data set."""

    name: str
    charset: str = "zh"
    chars: str | None = None
    per_class: int = 8
    boost: tuple[int, int] = (3, 2)
    val_per_class: int = 1
    test_per_class: int = 1
    fonts: float = 0.25
    strokes: str | None = None
    style: tuple[tuple[str, float], ...] = ()

    @classmethod
    def parse(cls, text: str) -> SynthSpec:
        if not is_synth(text):
            raise ConfigError(f"not a synthetic data set: {text!r} (expected {PREFIX}NAME?OPTIONS)")
        parts = urlsplit(text[len(PREFIX):])
        name = parts.path
        if name not in SYNTHESIZERS:
            raise ConfigError(f"unknown synthesizer {name!r}; known: {', '.join(SYNTHESIZERS)}")
        kw: dict = {}
        style: dict[str, float] = {}
        try:
            for key, value in parse_qsl(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query)):
                if key in ("per_class", "val_per_class", "test_per_class"):
                    kw[key] = int(value)
                elif key == "fonts":
                    kw[key] = float(value)
                elif key == "boost":
                    a, b = (int(v) for v in value.split(","))
                    kw[key] = (a, b)
                elif key in ("charset", "strokes", "chars"):
                    kw[key] = value
                elif key in _STYLE_KEYS:
                    style[key] = float(value)
                else:
                    raise ConfigError(f"unknown option {key!r} of {text!r}")
        except ValueError as e:
            raise ConfigError(f"cannot read the options of {text!r}: {e}") from e
        spec = cls(name, style=tuple(sorted(style.items())), **kw)
        charset(spec.charset)  # a clear error for an unknown vocabulary
        if spec.chars is not None and (len(set(spec.chars)) != len(spec.chars) or len(spec.chars) < 2):
            raise ConfigError(f"{text!r}: chars must be two or more different characters")
        if spec.per_class < 1 or min(spec.boost) < 1 or spec.val_per_class < 0 or spec.test_per_class < 0:
            raise ConfigError(f"{text!r}: per_class and boost must be at least 1, val/test_per_class at least 0")
        return spec

    @cached_property
    def synthesizer(self) -> HanziSynth:
        return HanziSynth.open(self.chars or self.charset, strokes=self.strokes, font_share=self.fonts,
                               style=dict(self.style))

    @property
    def vocabulary(self) -> str:
        """The vocabulary's name, or its characters for a vocabulary of one's own."""
        return self.charset if self.chars is None else self.chars

    def class_repeats(self) -> np.ndarray:
        """Training samples per class per epoch."""
        common = set(charset("gb2312-1"))
        frequent = set(charset("big5-common"))
        a, b = self.boost
        return np.array(
            [self.per_class * (a if c in common else b if c in frequent else 1) for c in self.synthesizer.classes],
            dtype=np.int64,
        )
