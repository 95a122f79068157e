"""inkrec.fonts: which font draws a label, read from the fonts' own character maps, down to the small
CJK font shipped with inkrec; and figures that name Chinese classes with it."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import onnx
from fontTools.ttLib import TTCollection, TTFont

from inkrec import fonts
from inkrec.figures import pyplot

REPO = Path(__file__).resolve().parents[1]

CHINESE_MNIST = "零一二三四五六七八九十百千万亿"


def test_without_system_fonts_the_shipped_font_draws_our_labels(no_system_fonts):
    assert fonts.font_for("五") == fonts.SHIPPED_FONT
    assert fonts.cjk_font() == fonts.SHIPPED_FONT
    assert fonts.font_for("house plant") == fonts.SHIPPED_FONT  # ASCII too
    assert fonts.font_for("中") is None  # not one of our labels: no font has it here


def test_the_shipped_font_has_every_label_of_the_bundled_models_and_is_small():
    for path in sorted((REPO / "models").glob("*.onnx")):
        meta = {p.key: p.value for p in onnx.load(str(path), load_external_data=False).metadata_props}
        info = json.loads(meta["inkrec"])
        if info.get("vocabulary"):  # a named character set: the system's Kai fonts draw it (set-up installs them)
            assert fonts.font_for("".join(info["labels"][:200])) not in (None, fonts.SHIPPED_FONT), path.name
            continue
        assert all(fonts.covers(fonts.SHIPPED_FONT, label) for label in info["labels"]), path.name
    assert fonts.covers(fonts.SHIPPED_FONT, CHINESE_MNIST + "…" + "".join(map(chr, range(0x21, 0x7F))))
    assert fonts.SHIPPED_FONT.stat().st_size < 64 * 1024
    assert (fonts.SHIPPED_FONT.parent / "ARPHICPL.TXT").read_text().startswith("ARPHIC PUBLIC LICENSE")


def test_character_maps_agree_with_fonttools():
    paths = [
        fonts.SHIPPED_FONT,
        *(p for p in map(Path, fonts.LATIN_FONTS + fonts.KNOWN_FONTS) if p.is_file()),
    ]
    for path in paths:
        font = TTCollection(str(path)).fonts[0] if path.suffix == ".ttc" else TTFont(str(path))
        cmap = {c for c, glyph in font.getBestCmap().items() if glyph != ".notdef"}
        probe = sorted(cmap)[::7] + list(range(0x4E00, 0x4E00 + 300)) + [0x10FFFD, 0x1F600, 0]
        assert [fonts.covers(path, chr(c)) for c in probe] == [c in cmap for c in probe], path


def test_a_named_font_comes_first_and_a_broken_one_is_skipped(monkeypatch, tmp_path):
    monkeypatch.setenv("INKREC_FONT", str(fonts.SHIPPED_FONT))
    assert fonts.font_for("cat") == fonts.SHIPPED_FONT
    broken = tmp_path / "broken.ttf"
    broken.write_bytes(b"\0\1\0\0" + bytes(40))
    monkeypatch.setenv("INKREC_FONT", str(broken))
    assert not fonts.covers(broken, "cat")
    assert fonts.font_for("五") is not None


def test_figures_draw_chinese_class_names(no_system_fonts):
    plt = pyplot()
    fig, ax = plt.subplots()
    ax.set_title("五 cat " + CHINESE_MNIST)
    ax.set_xticks(range(3), ["一", "二", "三"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig.canvas.draw()
    plt.close(fig)
    assert not [w for w in caught if "missing from font" in str(w.message)], [str(w.message) for w in caught]
