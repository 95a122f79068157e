"""Pictures of results: one matplotlib set-up and one way to save a figure or a grey image as a PNG.

matplotlib belongs to the training extra, so it is imported when a figure is first made, not when this
module is; the serving install never draws figures. The set-up adds a font that draws Chinese class names
(`inkrec.fonts`) as a fallback after the default family, so reports of Chinese data sets name their
classes. Everything is written atomically.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from inkrec import fonts
from inkrec.atomic import write_bytes_atomic


def pyplot():
    """matplotlib.pyplot on the file-only Agg backend (no display needed)."""
    import matplotlib  # optional extra (train): only figure-making commands need it

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt  # after the backend is chosen

    _add_label_font(matplotlib)
    return plt


def _add_label_font(matplotlib) -> None:
    """Make a CJK font the fallback family: matplotlib draws each glyph in the first family that has it."""
    path = fonts.cjk_font()
    if path is None:
        return
    from matplotlib import font_manager  # optional extra (train), imported with matplotlib above

    font_manager.fontManager.addfont(str(path))
    name = font_manager.FontProperties(fname=str(path)).get_name()
    family = list(matplotlib.rcParams["font.family"])
    if name not in family:
        matplotlib.rcParams["font.family"] = [*family, name]


def save_figure(fig, path: str | Path, dpi: int = 100) -> None:
    """Write a matplotlib figure as a PNG (cropped to its content) and close it."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    pyplot().close(fig)
    write_bytes_atomic(path, buf.getvalue())


def save_png(image: np.ndarray, path: str | Path, scale: int = 3) -> None:
    """A uint8 grey image as a PNG, enlarged with nearest-neighbour so 28x28 pixels stay visible."""
    img = Image.fromarray(np.ascontiguousarray(image, dtype=np.uint8), mode="L")
    if scale > 1:
        img = img.resize((img.width * scale, img.height * scale), Image.Resampling.NEAREST)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    write_bytes_atomic(path, buf.getvalue())
