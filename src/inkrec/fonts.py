"""Fonts that can draw a given text, so that labels in any script render as themselves.

`inkrec data show` grids and the report figures name classes as the data names them: Quick, Draw!'s
English words, MNIST's digits, Chinese MNIST's numerals, CASIA's thousands of characters. A font is
picked per text: the first of these whose character map has every character of it (read from the font
file itself, so a font is never asked to draw a character it lacks and shows an empty box):

1. `INKREC_FONT`, a font file the user names;
2. DejaVu Sans, the Latin font the grids have always used;
3. the fonts fontconfig knows to cover the text (`fc-list :charset=...`), where fontconfig is installed;
4. the usual places of CJK fonts (`KNOWN_FONTS`): Debian's fonts-arphic-ukai and -uming,
   fonts-lxgw-wenkai, fonts-cns11643-kai, fonts-noto-cjk and fonts-wqy-*, and the macOS and Windows ones;
5. `SHIPPED_FONT`, shipped with inkrec: AR PL UKai cut to the characters of inkrec's own labels (ASCII,
   Chinese MNIST's numerals, the bundled models' labels; 30 kB), under the Arphic Public License
   (`fontdata/ARPHICPL.TXT`; `scripts/make_label_font.py` makes it).

Part of the ground layer: the standard library only.
"""

from __future__ import annotations

import bisect
import functools
import mmap
import os
import shutil
import struct
import subprocess
from pathlib import Path

SHIPPED_FONT = Path(__file__).resolve().parent / "fontdata" / "inkrec-labels-ukai.ttf"
LATIN_FONTS = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
)
KNOWN_FONTS = (
    "/usr/share/fonts/truetype/arphic/ukai.ttc",  # fonts-arphic-ukai
    "/usr/share/fonts/truetype/arphic/uming.ttc",  # fonts-arphic-uming
    "/usr/share/fonts/truetype/lxgw-wenkai/LXGWWenKai-Regular.ttf",  # fonts-lxgw-wenkai
    "/usr/share/fonts/truetype/cns11643/TW-Kai-98_1.ttf",  # fonts-cns11643-kai
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",  # fonts-noto-cjk
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",  # fonts-wqy-microhei
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",  # fonts-wqy-zenhei
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/usr/share/fonts/google-droid/DroidSansFallback.ttf",
    "/System/Library/Fonts/PingFang.ttc",
    "/System/Library/Fonts/Hiragino Sans GB.ttc",
    "/Library/Fonts/Arial Unicode.ttf",
    "C:/Windows/Fonts/msyh.ttc",
    "C:/Windows/Fonts/simhei.ttf",
)
# What "a CJK font" must draw, for figures that register one font for all their labels.
CJK_PROBE = "零一二三四五六七八九十百千万亿"
TRADITIONAL_PROBE = "國體說讀齣"  # traditional forms, which GB2312-only fonts lack
_FONT_SUFFIXES = (".ttf", ".ttc", ".otf", ".otc")


def font_for(text: str) -> Path | None:
    """The first font file (in the order above) that has a glyph for every character of `text`, or None."""
    chars = {ord(c) for c in text if not c.isspace()}
    for path in _candidates(text):
        if covers(path, chars):
            return path
    return None


def cjk_font() -> Path | None:
    """A font that draws Chinese labels (a system one where installed, else the shipped one). A figure registers
    one such font for all its labels, so one that has traditional characters too is preferred: a reading of a
    15,433-character model names both kinds."""
    return font_for(CJK_PROBE + TRADITIONAL_PROBE) or font_for(CJK_PROBE)


def covers(path: str | Path, text: str | set[int]) -> bool:
    """True if the font file at `path` maps every character of `text` (a string or code points) to a glyph."""
    chars = {ord(c) for c in text if not c.isspace()} if isinstance(text, str) else text
    lookup = _character_map(str(path))
    return lookup is not None and all(lookup(c) for c in chars)


def _candidates(text: str) -> list[Path]:
    wide = "".join(sorted({c for c in text if ord(c) > 0x7F}))
    paths = [os.environ.get("INKREC_FONT", ""), *LATIN_FONTS]
    if wide:
        paths += fontconfig_fonts(wide)
    paths += [*KNOWN_FONTS, str(SHIPPED_FONT)]
    seen: dict[str, Path] = {}
    for p in paths:
        if p and p not in seen and os.path.isfile(p):
            seen[p] = Path(p)
    return list(seen.values())


@functools.lru_cache(maxsize=256)
def fontconfig_fonts(chars: str) -> list[str]:
    """Font files fontconfig says cover all of `chars` (TrueType and OpenType only), or none without it."""
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return []
    charset = " ".join(f"{ord(c):x}" for c in chars)
    try:
        out = subprocess.run(
            [fc_list, f":charset={charset}", "file"], capture_output=True, text=True, timeout=10, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    files = {line.rsplit(":", 1)[0].strip() for line in out.splitlines() if line.strip()}
    return sorted(f for f in files if f.lower().endswith(_FONT_SUFFIXES))


# ------------------------------------------------------------------------------------------ cmap


@functools.lru_cache(maxsize=64)
def _character_map(path: str):
    """A function code point -> has a glyph, from the first font of the file's `cmap` table (TrueType,
    OpenType, and collections); None for a file that is not such a font."""
    try:
        with open(path, "rb") as fh:
            data = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)  # CJK fonts are tens of MB
        return _parse_cmap(data)
    except (OSError, struct.error, IndexError, KeyError, ValueError):
        return None


def _parse_cmap(data: mmap.mmap):
    start = 0
    if data[:4] == b"ttcf":
        (start,) = struct.unpack_from(">I", data, 12)
    (num_tables,) = struct.unpack_from(">H", data, start + 4)
    tables = {}
    for i in range(num_tables):
        tag, _checksum, offset, _length = struct.unpack_from(">4sIII", data, start + 12 + 16 * i)
        tables[tag] = offset
    cmap = tables[b"cmap"]
    (_version, count) = struct.unpack_from(">HH", data, cmap)
    subtables = {}
    for i in range(count):
        platform, encoding, offset = struct.unpack_from(">HHI", data, cmap + 4 + 8 * i)
        subtables[(platform, encoding)] = cmap + offset
    for key in ((3, 10), (0, 6), (0, 4), (3, 1), (0, 3)):
        if key in subtables:
            at = subtables[key]
            (fmt,) = struct.unpack_from(">H", data, at)
            if fmt == 12:
                return _format12(data, at)
            if fmt == 4:
                return _format4(data, at)
    raise ValueError("no Unicode character map")


def _format12(data: mmap.mmap, at: int):
    (n,) = struct.unpack_from(">I", data, at + 12)
    groups = [struct.unpack_from(">III", data, at + 16 + 12 * i) for i in range(n)]
    groups.sort()
    ends = [g[1] for g in groups]

    def has(c: int) -> bool:
        i = bisect.bisect_left(ends, c)
        if i == len(groups) or c < groups[i][0]:
            return False
        return groups[i][2] + c - groups[i][0] != 0

    return has


def _format4(data: mmap.mmap, at: int):
    (seg2,) = struct.unpack_from(">H", data, at + 6)
    n = seg2 // 2
    ends = struct.unpack_from(f">{n}H", data, at + 14)
    starts = struct.unpack_from(f">{n}H", data, at + 16 + seg2)
    deltas = struct.unpack_from(f">{n}h", data, at + 16 + 2 * seg2)
    range_at = at + 16 + 3 * seg2
    ranges = struct.unpack_from(f">{n}H", data, range_at)

    def has(c: int) -> bool:
        i = bisect.bisect_left(ends, c)
        if c > 0xFFFF or i == n or c < starts[i]:
            return False
        if ranges[i] == 0:
            return (c + deltas[i]) & 0xFFFF != 0
        where = range_at + 2 * i + ranges[i] + 2 * (c - starts[i])
        if where + 2 > len(data):
            return False
        (glyph,) = struct.unpack_from(">H", data, where)
        return glyph != 0 and (glyph + deltas[i]) & 0xFFFF != 0

    return has
