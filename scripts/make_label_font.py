"""Make the small CJK font shipped for labels (src/inkrec/fontdata/): Debian's AR PL UKai, cut to the
characters inkrec's labels use, so `inkrec data show` and the reports draw Chinese labels on a machine
without any CJK font.

Dev-time only: needs Debian's fonts-arphic-ukai (apt-get install fonts-arphic-ukai) and fontTools (part of
the train extra, through matplotlib). Run from the repository root:

    python scripts/make_label_font.py [--chars EXTRA]

The characters: printable ASCII, the ellipsis the grids shorten labels with, the Chinese numerals of
Chinese MNIST, and every label of the bundled models (models/*.onnx metadata). The Arphic Public License
asks for its text beside the font (copied unaltered) and a notice in the modified file (the font's
description and version name say how and when it was cut).
"""

from __future__ import annotations

import argparse
import datetime
import gzip
import json
import shutil
from pathlib import Path

import onnx
from fontTools import subset
from fontTools.ttLib import TTCollection

REPO = Path(__file__).resolve().parents[1]
SOURCE = Path("/usr/share/fonts/truetype/arphic/ukai.ttc")
LICENSE = Path("/usr/share/doc/fonts-arphic-ukai/license/english/ARPHICPL.TXT.gz")
OUT = REPO / "src" / "inkrec" / "fontdata"
FONT_NAME = "inkrec-labels-ukai.ttf"
FAMILY = "inkrec labels (AR PL UKai subset)"
CHINESE_MNIST = "零一二三四五六七八九十百千万亿"


def model_labels() -> str:
    chars = set()
    for path in sorted((REPO / "models").glob("*.onnx")):
        meta = {p.key: p.value for p in onnx.load(str(path), load_external_data=False).metadata_props}
        info = json.loads(meta["inkrec"])
        if info.get("vocabulary"):
            continue  # a named character set (hanzi: 15,433 characters) is drawn with the system's Kai fonts
        for label in info.get("labels", []):
            chars.update(label)
    return "".join(sorted(chars))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chars", default="", help="Further characters to keep.")
    args = parser.parse_args()
    text = "".join(chr(c) for c in range(0x20, 0x7F)) + "…" + CHINESE_MNIST + model_labels() + args.chars
    chars = sorted(set(text))
    font = TTCollection(str(SOURCE)).fonts[0]  # AR PL UKai CN
    options = subset.Options()
    options.hinting = False
    options.desubroutinize = True
    options.name_IDs = ["*"]
    options.notdef_outline = True
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=[ord(c) for c in chars])
    subsetter.subset(font)
    today = datetime.date.today().isoformat()
    notice = (f"Modified by the inkrec project on {today}: cut to the {len(chars)} characters inkrec's labels use "
              "(scripts/make_label_font.py), hinting removed, renamed. Derived from AR PL UKai CN "
              "(Arphic Technology, Arne Goetje); under the Arphic Public License (ARPHICPL.TXT).")
    names = font["name"]
    for record in list(names.names):
        if record.nameID in (1, 4, 16):
            names.setName(FAMILY, record.nameID, record.platformID, record.platEncID, record.langID)
        elif record.nameID == 6:
            names.setName("inkrec-labels-ukai", 6, record.platformID, record.platEncID, record.langID)
        elif record.nameID == 3:
            names.setName(f"{FAMILY} {today}", 3, record.platformID, record.platEncID, record.langID)
    names.setName(notice, 10, 3, 1, 0x409)  # description
    names.setName(notice, 10, 1, 0, 0)
    OUT.mkdir(parents=True, exist_ok=True)
    font.save(OUT / FONT_NAME)
    with gzip.open(LICENSE, "rb") as src, open(OUT / "ARPHICPL.TXT", "wb") as dst:
        shutil.copyfileobj(src, dst)
    print(f"{OUT / FONT_NAME}: {(OUT / FONT_NAME).stat().st_size:,} bytes, {len(chars)} characters")


if __name__ == "__main__":
    main()
