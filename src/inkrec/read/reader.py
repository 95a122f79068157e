"""`LineReader`: a model and a line (a picture or strokes) in, the text and each character's box and ranked
alternatives out.

Every candidate character (a run of pieces, `search.Priors.spans`) becomes exactly the input the model reads
for one drawing: strokes are simplified and rasterized like a single drawing (`preprocess.batch`), a
picture's pieces are framed like a single uploaded picture (`ink_bitmap`), and where other pieces' ink lies
inside a candidate's box it is also read as that whole window (`PictureLine.window`) and the two readings
averaged. All candidates go through the model in one batch, and the search picks the path.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from inkrec.errors import DataFormatError
from inkrec.preprocess.batch import bitmap_batch, ink_bitmap, rasterize_drawings, stroke_batch
from inkrec.preprocess.pictures import DEFAULT_MAX_PIXELS, decode_image
from inkrec.preprocess.spec import STROKES
from inkrec.read.errors import LineError
from inkrec.read.search import PICTURE_PRIORS, Priors, best_path
from inkrec.read.segment import InkLine, PictureLine, ink_pieces, picture_pieces
from inkrec.runtime import metadata as md
from inkrec.runtime.onnx_model import OnnxModel

MAX_LINE_WIDTH = 20_000  # pixels: a picture of one line wider than this is refused before decoding
TOP_K = 5


@dataclass
class Character:
    box: list[float]  # x0, y0, x1, y1 in the input's coordinates (picture pixels or pen units)
    candidates: list[dict]  # {"label", "probability"}, most likely first


@dataclass
class Reading:
    characters: list[Character] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "".join(c.candidates[0]["label"] for c in self.characters)

    def to_json(self) -> dict:
        return {
            "text": self.text,
            "characters": [{"box": c.box, "candidates": c.candidates} for c in self.characters],
        }


class LineReader:
    """Reads lines with one model; LineError when the model cannot read lines. `priors` apply to pictures
    and ink alike; by default pictures use `PICTURE_PRIORS` and ink the plain `Priors` (as the page does),
    each with the fields the model's metadata sets for itself (`line_priors`)."""

    def __init__(self, model: OnnxModel, *, priors: Priors | None = None, top_k: int = TOP_K):
        if not md.reads_lines(model.meta):
            raise LineError(
                "model_reads_no_lines",
                f"model {model.id!r} does not read lines of characters (its labels are not single "
                "characters, or its metadata says \"lines\": false)",
            )
        self.model = model
        self.priors = priors or Priors().updated(md.line_priors(model.meta, "ink"))
        self.picture_priors = priors or PICTURE_PRIORS.updated(md.line_priors(model.meta, "pictures"))
        self.top_k = top_k

    @staticmethod
    def _search(priors: Priors, pieces, probs: np.ndarray, spans: list[tuple[int, int]]) -> list[int]:
        scores = np.log(np.maximum(probs.max(axis=1), 1e-12)) + priors.shape_scores(pieces, spans)
        return best_path(len(pieces), spans, scores)

    def picture_candidates(self, grey: np.ndarray) -> tuple[PictureLine, list[tuple[int, int]], np.ndarray]:
        """The over-segmented line, its candidate spans and the model's probabilities for each: everything
        before the search (benchmarks re-run the search under other priors, or trace errors, from here)."""
        line = picture_pieces(grey)
        spans = self.picture_priors.spans(line.pieces)
        # a span with other pieces' ink in its box is read twice, alone and as the whole window, and the two
        # readings averaged: cuts through crossing characters leave a stroke on the wrong side now and then
        windowed = [k for k, (i, j) in enumerate(spans) if line.intruded(i, j)]
        crops = [line.crop(i, j) for i, j in spans] + [line.window(*spans[k]) for k in windowed]
        bitmaps = np.stack([ink_bitmap(c, self.model.spec) for c in crops])
        probs = self.model.predict(bitmap_batch(bitmaps, self.model.spec))
        out = probs[: len(spans)]
        out[windowed] = (out[windowed] + probs[len(spans):]) / 2.0
        return line, spans, out

    def read_picture(self, grey: np.ndarray) -> Reading:
        """A decoded grey picture of one line (any polarity, lighting and size)."""
        if self.model.kind == STROKES:
            raise LineError("unsupported_input", f"model {self.model.id!r} reads strokes, not pictures")
        line, spans, probs = self.picture_candidates(grey)
        path = self._search(self.picture_priors, line.pieces, probs, spans)
        return Reading([
            Character(line.to_picture(line.pieces.span_box(*spans[k])), self.model.top_k(probs[k], self.top_k))
            for k in path
        ])

    def read_image(
        self, data: bytes | str | Path, *, max_pixels: int = DEFAULT_MAX_PIXELS, name: str | None = None
    ) -> Reading:
        """A picture file or its bytes: its size checked from the header before decoding."""
        label = str(name or (data if isinstance(data, (str, Path)) else "<image bytes>"))
        width = _header_width(data)
        if width is not None and width > MAX_LINE_WIDTH:
            raise LineError(
                "image_too_large",
                f"{label}: the picture is {width:,} pixels wide; a line is read from pictures at most "
                f"{MAX_LINE_WIDTH:,} pixels wide (scale it down)",
                status=413,
            )
        return self.read_picture(decode_image(data, max_pixels=max_pixels, name=name))

    def ink_candidates(self, strokes: list[np.ndarray]) -> tuple[InkLine, list[tuple[int, int]], np.ndarray]:
        """The over-segmented line of strokes, its candidate spans and the model's probabilities for each
        (`picture_candidates`' twin for ink)."""
        line = ink_pieces(strokes)
        spans = self.priors.spans(line.pieces)
        drawings = [line.strokes_of(i, j) for i, j in spans]
        spec = self.model.spec
        if self.model.kind == STROKES:
            return line, spans, self.model.predict(*stroke_batch(drawings, spec))
        return line, spans, self.model.predict(bitmap_batch(rasterize_drawings(drawings, spec, raw=True), spec))

    def read_strokes(self, strokes: list[np.ndarray]) -> Reading:
        """Strokes of one line, (2|3, n) arrays [x; y(; t)] in any pen coordinates (y down)."""
        line, spans, probs = self.ink_candidates(strokes)
        path = self._search(self.priors, line.pieces, probs, spans)
        return Reading([
            Character([round(float(v), 2) for v in line.pieces.span_box(*spans[k])],
                      self.model.top_k(probs[k], self.top_k))
            for k in path
        ])


def _header_width(data: bytes | str | Path) -> int | None:
    """The picture's width from its header (None when Pillow cannot tell; the decoder then says why)."""
    try:
        with Image.open(data if isinstance(data, (str, Path)) else io.BytesIO(bytes(data))) as im:
            return int(im.size[0])
    except FileNotFoundError:
        raise DataFormatError(str(data), "no such image file") from None
    except Exception:  # noqa: BLE001 - not a picture Pillow knows, or a bomb: decode_image says which
        return None
