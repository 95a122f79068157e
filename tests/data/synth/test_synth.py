"""The handwriting synthesizer: real stroke data (npm hanzi-writer-data) and real Kai fonts, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from fontTools.fontBuilder import FontBuilder  # installed with matplotlib (dev extra)
from fontTools.pens.ttGlyphPen import TTGlyphPen

from inkrec.data.dataset import open_dataset
from inkrec.data.synth import SynthSpec
from inkrec.data.synth.glyphs import GlyphSet
from inkrec.data.synth.hanzi import HanziSynth
from inkrec.data.synth.strokebank import find_package, load_strokes, pack_tarball_bytes, read_package
from inkrec.data.synth.writer import write_synth
from inkrec.errors import ConfigError, DataFormatError

CHARS = "永國书说一"


@pytest.fixture(scope="module")
def package() -> Path:
    return find_package()  # the set-up installs hanzi-writer-data in web/node_modules; missing is a failure


@pytest.fixture(scope="module")
def synth() -> HanziSynth:
    return HanziSynth.open(CHARS + "龘")


def test_medians_read_from_the_package_folder_and_its_tarball_agree(package: Path, tmp_path: Path):
    files = {f"{c}.json": (package / f"{c}.json").read_bytes() for c in "永一"}
    files["package.json"] = b'{"name": "hanzi-writer-data", "version": "0"}'
    tgz = tmp_path / "hanzi-writer-data-0.tgz"
    tgz.write_bytes(pack_tarball_bytes(files))
    bank = read_package(tgz)
    assert sorted(bank.chars) == ["一", "永"]
    full = load_strokes(str(package))
    assert len(full) > 9000
    for c in "永一":
        mine, theirs = bank.strokes(c), full.strokes(c)
        assert len(mine) == len(theirs) == len(json.loads(files[f"{c}.json"])["medians"])
        for a, b in zip(mine, theirs):
            np.testing.assert_allclose(a, b, atol=0.5)
    # y points down: 永's first stroke (the dot) is at the top of the box
    assert full.strokes("永")[0][1].mean() < 300


def test_a_damaged_character_file_is_named(tmp_path: Path):
    (tmp_path / "永.json").write_text('{"strokes": [], "medians": [[[1, 2], [3')
    with pytest.raises(DataFormatError, match="永.json"):
        read_package(tmp_path)
    tgz = tmp_path / "cut.tgz"
    tgz.write_bytes(pack_tarball_bytes({"永.json": b"{}"})[:40])
    with pytest.raises(DataFormatError, match="cut.tgz"):
        read_package(tgz)
    with pytest.raises(ConfigError, match="does not exist"):
        find_package(tmp_path / "nowhere")


def test_samples_are_reproducible_by_seed_and_differ_between_seeds(synth: HanziSynth):
    labels = np.array([0, 0, 1, 2, 3, 4])
    seeds = np.array([7, 8, 7, 7, 7, 7])
    a = synth.bitmaps(labels, seeds, 64)
    b = synth.bitmaps(labels[::-1], seeds[::-1], 64)[::-1]  # a sample does not depend on its batch
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a[0], a[1])
    assert (a.reshape(len(a), -1).max(axis=1) == 255).all()  # every sample has ink


def test_joined_up_writing_merges_strokes(package: Path):
    printed = len(load_strokes(str(package)).strokes("國"))
    neat = HanziSynth.open("國一", style=dict(join=0.0, drop_dots=0.0))
    fast = HanziSynth.open("國一", style=dict(join=1.0, cursive_min=1.0, cursive_max=1.0))
    seeds = np.arange(20)
    neat_strokes = [len(d) for d in neat.drawings(np.zeros(20, int), seeds)]
    fast_strokes = [len(d) for d in fast.drawings(np.zeros(20, int), seeds)]
    assert neat_strokes == [printed] * 20
    assert fast_strokes == [1] * 20  # every stroke joined to the next by a pen-down ligature


def test_characters_without_medians_come_from_fonts(synth: HanziSynth):
    label = synth.classes.index("龘")
    assert synth.bank_index[label] == -1
    if synth.fonts[label]:
        pixels = synth.bitmaps(np.array([label, label]), np.array([1, 2]), 64)
        assert pixels.max() == 255 and not np.array_equal(pixels[0], pixels[1])
    bare = HanziSynth(synth.classes, synth.bank, GlyphSet(()))
    assert bare.unwritable == ["龘"]


def test_spec_options_and_their_errors():
    spec = SynthSpec.parse("synth:hanzi?chars=永國&per_class=3&boost=2,1&join=0.5")
    assert spec.vocabulary == "永國" and spec.per_class == 3 and dict(spec.style) == {"join": 0.5}
    assert spec.class_repeats().tolist() == [6, 3]  # 永 is GB2312 level 1; 國 only in Big5
    for bad, message in [
        ("synth:paint", "unknown synthesizer"),
        ("synth:hanzi?charset=klingon", "klingon"),
        ("synth:hanzi?per_class=many", "cannot read"),
        ("synth:hanzi?colour=red", "unknown option"),
        ("synth:hanzi?per_class=0", "at least 1"),
        ("synth:hanzi?chars=永", "two or more"),
    ]:
        with pytest.raises(ConfigError, match=message):
            SynthSpec.parse(bad)
    with pytest.raises(ConfigError, match="unknown handwriting style"):
        HanziSynth.open("永國", style={"wiggle": 1})


def test_written_files_are_data_sets_and_a_rerun_keeps_them(synth: HanziSynth, tmp_path: Path):
    report = write_synth(synth, tmp_path / "ink", per_class=4, classes=[0, 1, 5])
    assert report.written == 2 and report.skipped == ["龘"]
    ds = open_dataset(tmp_path / "ink", split="all", progress=False)
    assert sorted(ds.classes) == ["國", "永"] and len(ds) == 8
    first = (tmp_path / "ink" / "永.ndjson").read_bytes()
    (tmp_path / "ink" / "國.ndjson").unlink()
    again = write_synth(synth, tmp_path / "ink", per_class=4, classes=[0, 1])
    assert (again.written, again.kept) == (1, 1)
    assert (tmp_path / "ink" / "永.ndjson").read_bytes() == first
    bitmaps = write_synth(synth, tmp_path / "npy", per_class=3, fmt="npy", size=32, classes=[0, 2])
    assert bitmaps.written == 2
    ds = open_dataset(tmp_path / "npy", split="all", progress=False)
    assert ds.bitmaps([0]).shape == (1, 32, 32)
    with pytest.raises(ConfigError, match="format"):
        write_synth(synth, tmp_path / "x", per_class=1, fmt="gif")


def test_framed_glyphs_are_kept_between_runs_and_a_damaged_cache_is_framed_again(tmp_path, monkeypatch):
    monkeypatch.setenv("INKREC_CACHE", str(tmp_path))
    labels, seeds = np.arange(3).repeat(4), np.arange(12)
    first = HanziSynth.open("龘靁齉", font_share=1.0)  # no medians: every sample is a font sample
    path = first.prepare_glyphs(32, workers=2, progress=False)
    assert path.is_file() and path.parent == tmp_path
    pixels = first.bitmaps(labels, seeds, 32)
    again = HanziSynth.open("龘靁齉", font_share=1.0)
    assert again.prepare_glyphs(32, progress=False) == path
    assert len(again._glyphs) == sum(len(f) for f in again.fonts)  # all loaded, none framed
    assert np.array_equal(again.bitmaps(labels, seeds, 32), pixels)
    path.write_bytes(path.read_bytes()[:100])  # a cut-off file
    third = HanziSynth.open("龘靁齉", font_share=1.0)
    assert third.prepare_glyphs(32, progress=False) == path
    assert np.array_equal(third.bitmaps(labels, seeds, 32), pixels)
    assert HanziSynth.open("龘靁", font_share=1.0).glyph_cache_path(32, 1.0, 1.0) != path  # another vocabulary


def test_a_font_that_maps_a_character_to_an_empty_glyph_does_not_draw_it(tmp_path: Path):
    square = TTGlyphPen(None)
    for point in [(100, 100), (100, 700), (700, 700), (700, 100)]:
        (square.lineTo if square.points else square.moveTo)(point)
    square.closePath()
    fb = FontBuilder(1000, isTTF=True)
    fb.setupGlyphOrder([".notdef", "yong", "guo"])
    fb.setupCharacterMap({ord("永"): "yong", ord("國"): "guo"})  # 國 mapped, but to a glyph with no outline
    fb.setupGlyf({".notdef": TTGlyphPen(None).glyph(), "yong": square.glyph(), "guo": TTGlyphPen(None).glyph()})
    fb.setupHorizontalMetrics({g: (800, 0) for g in (".notdef", "yong", "guo")})
    fb.setupHorizontalHeader(ascent=900, descent=-100)
    fb.setupNameTable({"familyName": "Blanks", "styleName": "Regular"})
    fb.setupOS2()
    fb.setupPost()
    path = tmp_path / "blanks.ttf"
    fb.save(str(path))
    glyphs = GlyphSet(((str(path), 0),))
    assert glyphs.fonts_for("永") == [0]
    assert glyphs.fonts_for("國") == []  # in the character map, but it would draw a blank picture
    assert glyphs.render("永", 0).max() == 255
