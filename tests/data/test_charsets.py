"""The Chinese vocabularies by name: their sizes as the standards define them, their order, their overlap."""

from __future__ import annotations

from pathlib import Path

import pytest

from inkrec.data.charsets import CHARSETS, charset
from inkrec.data.formats.pot import iter_pot
from inkrec.errors import ConfigError


def test_sizes_are_the_standards():
    sizes = {name: len(charset(name)) for name in CHARSETS}
    assert sizes == {"gb2312-1": 3755, "gb2312": 6763, "big5-common": 5401, "big5": 13053, "zh": 15433}
    for name in CHARSETS:
        assert len(set(charset(name))) == len(charset(name))  # no character twice


def test_order_and_nesting():
    level1, gb, common, big5, zh = (charset(n) for n in CHARSETS)
    assert level1[:3] == ["啊", "阿", "埃"] and level1[-1] == "座"  # GB2312 code order
    assert gb[: len(level1)] == level1
    assert big5[: len(common)] == common and common[0] == "一"
    assert zh[: len(gb)] == gb and set(zh) == set(gb) | set(big5)
    assert "国" in gb and "國" in big5 and "国" not in big5 and "國" not in gb


def test_casia_characters_are_all_level_1(datasets: Path):
    level1 = set(charset("gb2312-1"))
    written = {d.word for d in iter_pot(datasets / "casia-olhwdb" / "1043-c.pot")}
    assert len(written) == 1000 and written <= level1


def test_unknown_names_are_refused():
    with pytest.raises(ConfigError, match="gb2312-1"):
        charset("gbk")
