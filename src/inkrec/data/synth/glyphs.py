"""Characters drawn by handwriting-style fonts, warped like paper and pen warp them.

Stroke medians exist for 9,574 characters; Big5's rarer ~6,000 exist only as glyphs. Kai fonts are the
closest printed style to careful handwriting (brush-written regular script), and Debian ships several that
cover GB2312 level 1 and all of Big5. Debian's Japanese handwriting fonts add what print lacks: pen and brush
semi-cursive forms, written by hand and digitised (strokes run together, components simplified, the hooks
and loops of a fast hand), for the ~2,600 GB2312 level-1 characters and the many traditional ones that
Japanese shares. A glyph is drawn large and framed as any picture of a character is
(`inkrec.preprocess.pictures.to_model_input`: cropped to the ink, strokes brought to the rasterizer's line
width), so a font sample is made like an uploaded photo; each sample then gets its own random smooth mesh warp
(an elastic distortion: Pillow's MESH transform, one C call) and a global affine. Framing costs ~10 ms, the
warp ~0.1 ms, so the synthesizer frames each (character, font) once and warps the framed glyph per sample.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from inkrec.fonts import covers

# Debian's handwriting-style fonts (file, face index), each used where installed.
FONTS: tuple[tuple[str, int], ...] = (
    # Kai (regular script), the regular weights only: bold samples are too heavy
    ("/usr/share/fonts/truetype/arphic/ukai.ttc", 0),  # fonts-arphic-ukai
    ("/usr/share/fonts/truetype/lxgw-wenkai/LXGWWenKai-Regular.ttf", 0),  # fonts-lxgw-wenkai
    ("/usr/share/fonts/truetype/lxgw-wenkai/LXGWWenKai-Light.ttf", 0),
    ("/usr/share/fonts/truetype/cns11643/TW-Kai-98_1.ttf", 0),  # fonts-cns11643-kai
    ("/usr/share/fonts/truetype/arphic-gkai00mp/gkai00mp.ttf", 0),  # fonts-arphic-gkai00mp
    ("/usr/share/fonts/truetype/arphic-bkai00mp/bkai00mp.ttf", 0),  # fonts-arphic-bkai00mp
    # written by hand: pen and brush, regular and semi-cursive (gyosho); framing brings every one to the
    # rasterizer's line width, so a brush's weight does not matter
    ("/usr/share/fonts/truetype/kiloji/kiloji.ttf", 0),  # fonts-kiloji
    ("/usr/share/fonts/truetype/klee/KleeOne-Regular.ttf", 0),  # fonts-klee
    ("/usr/share/fonts/truetype/aoyagi-soseki/aoyagi-soseki.ttf", 0),  # fonts-aoyagi-soseki
    ("/usr/share/fonts/truetype/aoyagi-kouzan-t/AoyagiKouzanT.ttf", 0),  # fonts-aoyagi-kouzan-t
    ("/usr/share/fonts/truetype/kouzan-mouhitsu/kouzan-mouhitsu.ttf", 0),  # fonts-kouzan-mouhitsu
    ("/usr/share/fonts/truetype/kouzan-mouhitsu/kouzan-mouhitsu-gyosho.ttf", 0),
)
RENDER = 96  # glyphs are drawn on a RENDER x RENDER canvas
_MESH = 4  # cells per side of the elastic warp's mesh


@dataclass(frozen=True)
class GlyphSet:
    """The installed handwriting-style fonts and, per character, which of them draw it."""

    paths: tuple[tuple[str, int], ...]

    @classmethod
    def installed(cls, extra: tuple[str, ...] = ()) -> GlyphSet:
        env = tuple(p for p in os.environ.get("INKREC_SYNTH_FONTS", "").split(os.pathsep) if p)
        found = [(p, 0) for p in (*extra, *env) if os.path.isfile(p)]
        found += [(p, i) for p, i in FONTS if os.path.isfile(p)]
        return cls(tuple(dict.fromkeys(found)))

    def fonts_for(self, char: str) -> list[int]:
        """Indices (into `paths`) of the fonts that draw `char`: mapped by the font's character map to a
        glyph with ink. Some fonts map whole blocks to empty glyphs, which would teach blank pictures."""
        return [i for i, (p, index) in enumerate(self.paths)
                if covers(p, {ord(char)}) and _has_ink(_font(p, index), char)]

    def render(self, char: str, font: int) -> np.ndarray:
        """uint8 (RENDER, RENDER) white glyph on black."""
        path, index = self.paths[font]
        img = Image.new("L", (RENDER, RENDER), 0)
        ImageDraw.Draw(img).text((RENDER / 2, RENDER / 2), char, fill=255, font=_font(path, index), anchor="mm")
        return np.asarray(img)


@cache
def _font(path: str, index: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, int(RENDER * 0.75), index=index)


def _has_ink(font: ImageFont.FreeTypeFont, char: str) -> bool:
    """Whether the glyph has an outline (an empty one's box has no height)."""
    _, top, _, bottom = font.getbbox(char)
    return bottom > top


def warp(picture: np.ndarray, rng: np.random.Generator, size: int | None = None) -> np.ndarray:
    """An elastic mesh warp combined with rotation, shear and aspect (each mesh cell's source corners are the
    regular grid under a random affine, jittered smoothly), resized to `size`: uint8 (size, size)."""
    img = Image.fromarray(picture)
    n = _MESH
    side = img.size[0]
    rot = rng.normal(0, 0.07)
    shear = rng.normal(0, 0.15)
    asp = float(np.exp(rng.normal(0, 0.12)))
    a = np.array([[np.cos(rot) * asp, -np.sin(rot) + shear], [np.sin(rot) * asp, np.cos(rot) / asp]])
    grid = np.linspace(0, side, n + 1)
    gx, gy = np.meshgrid(grid, grid)
    pts = np.stack([gx - side / 2, gy - side / 2], axis=-1) @ np.linalg.inv(a).T + side / 2
    pts += rng.normal(0, side * 0.035, size=pts.shape)
    mesh = []
    for i in range(n):
        for j in range(n):
            box = (int(grid[j]), int(grid[i]), int(grid[j + 1]), int(grid[i + 1]))
            quad = (*pts[i, j], *pts[i + 1, j], *pts[i + 1, j + 1], *pts[i, j + 1])
            mesh.append((box, tuple(float(v) for v in quad)))
    out = img.transform((side, side), Image.Transform.MESH, mesh, resample=Image.Resampling.BILINEAR)
    if size is not None and size != side:
        out = out.resize((size, size), Image.Resampling.BOX)
    return np.asarray(out)
