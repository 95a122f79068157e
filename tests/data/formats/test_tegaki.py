"""Tegaki character XML: the real tegaki-lab and Traditional Chinese samples, and broken or hostile files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from inkrec.data.dataset import open_dataset
from inkrec.data.formats import detect_format
from inkrec.data.formats.tegaki import iter_tegaki
from inkrec.errors import DataFormatError


@pytest.fixture(scope="module")
def tegaki(datasets: Path) -> Path:
    return datasets / "tegaki"


def test_a_single_character_file_with_times(tegaki: Path):
    path = tegaki / "tegaki-lab" / "train" / "latin-writer1" / "s2" / "97.xml"
    (d,) = list(iter_tegaki(path))
    assert d.word == "a" and d.has_time  # timestamps become the third row, as in raw Quick, Draw! drawings
    assert all(np.all(np.diff(s[2]) >= 0) for s in d.strokes)


def test_a_collection_file(tegaki: Path):
    chars = list(iter_tegaki(tegaki / "traditional-chinese" / "train" / "handwriting-zh_TW.xml"))
    assert len(chars) == 39 and chars[0].word == "冘"
    assert all(len(c.word) == 1 and c.strokes for c in chars)


def test_folder_trees_are_data_sets_with_their_train_and_test_folders(tegaki: Path):
    lab = tegaki / "tegaki-lab"
    assert detect_format(lab) == "tegaki"
    whole = open_dataset(lab, progress=False)
    # 50 kanji x 5 sessions x 2 corpora + 26 letters x 8 sessions
    assert len(whole) == 708 and len(whole.classes) == 76 and whole.kind == "strokes"
    test = open_dataset(lab, split="test", progress=False)
    assert len(test) == 152  # the eval sessions
    pts = np.concatenate(whole[0][0], axis=1)
    assert pts.min() >= 0 and pts.max() <= 255 + 1e-6  # in the simplified space the rasterizer reads
    assert whole.bitmaps(np.arange(4), size=28).shape == (4, 28, 28)
    zh = open_dataset(tegaki / "traditional-chinese", progress=False)
    assert len(zh) == 92 and zh.has_standard_split


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("<character><utf8>a</utf8><strokes><stroke>", "not well-formed"),
        ("<drawing/>", "neither"),
        ("<character><strokes><stroke><point x='1' y='2'/></stroke></strokes></character>", "without <utf8>"),
        ("<character><utf8>a</utf8><strokes><stroke><point x='one' y='2'/></stroke></strokes></character>",
         "not a number"),
        ("<character><utf8>a</utf8><strokes><stroke><point y='2'/></stroke></strokes></character>", "without 'x'"),
        ("<character><utf8>a</utf8><strokes></strokes></character>", "no points"),
        ('<?xml version="1.0" encoding="UTF-9"?><character/>', "cannot decode"),
    ],
)
def test_broken_files_are_named(tmp_path: Path, text: str, message: str):
    path = tmp_path / "bad.xml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataFormatError, match=message) as err:
        list(iter_tegaki(path))
    assert "bad.xml" in str(err.value)


def test_an_entity_bomb_is_refused_not_expanded(tmp_path: Path):
    lol = "".join(f'<!ENTITY l{i} "{"&l%d;" % (i - 1) * 10}">' for i in range(1, 10))
    path = tmp_path / "bomb.xml"
    path.write_text(f'<?xml version="1.0"?><!DOCTYPE c [<!ENTITY l0 "lol">{lol}]>'
                    "<character><utf8>&l9;</utf8><strokes/></character>", encoding="utf-8")
    with pytest.raises(DataFormatError, match="amplification"):
        list(iter_tegaki(path))


def test_a_folder_without_tegaki_files_is_refused(tmp_path: Path):
    (tmp_path / "notes.xml").write_text("<notes/>", encoding="utf-8")
    with pytest.raises(DataFormatError):
        open_dataset(tmp_path, progress=False)
