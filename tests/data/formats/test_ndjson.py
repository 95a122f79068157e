"""The ndjson reader and writer on the real simplified and raw files and on broken lines."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest

from inkrec.data.drawing import Drawing
from inkrec.data.formats.ndjson import iter_ndjson, ndjson_offsets, read_ndjson_at, write_ndjson
from inkrec.errors import DataFormatError

# ------------------------------------------------------------------------------------------ ndjson


def test_simplified_and_raw_real_files(quickdraw: Path):
    simplified = sorted((quickdraw / "simplified").glob("*.ndjson"))
    assert len(simplified) == 344
    n_simpl = 0
    for f in simplified[::7]:
        drawings = list(iter_ndjson(f))
        assert len(drawings) == 25
        for d in drawings:
            assert d.word == f.stem and d.key_id.isdigit() and isinstance(d.recognized, bool)
            assert all(s.dtype == np.float64 and s.shape[0] == 2 for s in d.strokes)
            pts = np.hstack(d.strokes)
            assert pts.min() >= 0 and pts.max() <= 255 and np.all(pts == np.round(pts))
        n_simpl += len(drawings)
    cat_raw = list(iter_ndjson(quickdraw / "raw" / "cat.ndjson"))
    cat_simpl = list(iter_ndjson(quickdraw / "simplified" / "cat.ndjson"))
    assert {d.key_id for d in cat_raw} <= {d.key_id for d in cat_simpl}
    for d in cat_raw:
        assert d.has_time and all(s.shape[0] == 3 for s in d.strokes)
        t = np.hstack([s[2] for s in d.strokes])
        assert np.all(np.diff(t) >= 0)  # time runs forward through a drawing


def test_ndjson_offsets_match_streaming(quickdraw: Path):
    f = quickdraw / "raw" / "dog.ndjson"
    drawings = list(iter_ndjson(f))
    offsets = ndjson_offsets(f)
    assert len(offsets) == len(drawings) and offsets[0] == 0
    picked = read_ndjson_at(f, offsets[[4, 0, 7]])
    assert picked == [drawings[4], drawings[0], drawings[7]]


def test_write_ndjson_roundtrip_is_atomic(tmp_path: Path, quickdraw: Path):
    drawings = list(iter_ndjson(quickdraw / "raw" / "cat.ndjson"))
    out = tmp_path / "sub" / "cat.ndjson"
    assert write_ndjson(out, drawings) == len(drawings)
    assert list(iter_ndjson(out)) == drawings
    assert [p.name for p in out.parent.iterdir()] == ["cat.ndjson"]  # no temp file left
    # a failing write leaves the existing file as it was
    before = out.read_bytes()
    with pytest.raises(DataFormatError, match="record 2"):
        write_ndjson(out, [drawings[0], drawings[1], {"word": "x"}])
    assert out.read_bytes() == before and [p.name for p in out.parent.iterdir()] == ["cat.ndjson"]
    # simplified drawings are written with integer coordinates, like Google's files
    simpl = next(iter_ndjson(quickdraw / "simplified" / "cat.ndjson"))
    write_ndjson(tmp_path / "s.ndjson", [simpl])
    assert json.loads((tmp_path / "s.ndjson").read_text())["drawing"] == [
        s.astype(int).tolist() for s in simpl.strokes
    ]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"word": "cat", "drawing": [[[1, 2], [3, 4]]]', "malformed JSON"),
        ('{"word": "cat"}', "missing the 'drawing' field"),
        ('{"word": "cat", "drawing": [[[1, 2], [3]]]}', "stroke 0 is not a rectangular"),
        ('{"word": "cat", "drawing": [[[1, 2]]]}', r"stroke 0 has shape \(1, 2\)"),
        ('{"word": "cat", "drawing": [[[1, 2], [3, 4]], [[1], [2], [3], [4]]]}', "stroke 1 has shape"),
        ('{"word": "cat", "drawing": [[["a", 2], [3, 4]]]}', "stroke 0 is not a rectangular"),
        ('{"word": "cat", "drawing": [[[NaN, 2], [3, 4]]]}', "NaN"),
        ('{"word": "cat", "drawing": "no"}', "must be a list"),
        ("[1, 2, 3]", "expected a JSON object"),
        ('{"drawing": [[[1, 2], [3, 4]]]}\xff', "malformed JSON|UTF-8"),
        ('{"drawing": [[[1, 1' + "0" * 400 + "], [3, 4]]]}", "stroke 0 is not a rectangular"),  # over float
        ('{"drawing": ' + "[" * 100_000 + "]" * 100_000 + "}", "nested too deeply"),
    ],
)
def test_malformed_ndjson_names_file_and_line(tmp_path: Path, quickdraw: Path, line: str, message: str):
    good = (quickdraw / "simplified" / "cat.ndjson").read_bytes().splitlines()[:3]
    f = tmp_path / "bad.ndjson"
    f.write_bytes(b"\n".join([*good, line.encode("utf-8", "surrogateescape"), *good]) + b"\n")
    it = iter_ndjson(f)
    assert len([next(it) for _ in range(3)]) == 3  # streaming: the good lines come out first
    with pytest.raises(DataFormatError, match=rf"bad\.ndjson \(record line 4\): .*({message})"):
        next(it)


def test_ndjson_blank_lines_and_gzip(tmp_path: Path, quickdraw: Path):
    src = (quickdraw / "simplified" / "cat.ndjson").read_bytes()
    f = tmp_path / "blank.ndjson"
    f.write_bytes(b"\n" + src.replace(b"\n", b"\n\n", 3))
    assert len(list(iter_ndjson(f))) == 25 and len(ndjson_offsets(f)) == 25
    gz = tmp_path / "cat.ndjson.gz"
    gz.write_bytes(gzip.compress(src))
    assert list(iter_ndjson(gz)) == list(iter_ndjson(quickdraw / "simplified" / "cat.ndjson"))
    gz.write_bytes(gzip.compress(src)[:-300])
    with pytest.raises(DataFormatError, match=r"cat\.ndjson\.gz"):
        list(iter_ndjson(gz))


def test_drawing_accepts_array_likes():
    d = Drawing([[[0, 1], [2, 3]], np.array([[1.5], [2.5], [10.0]])], word="x")
    assert [s.shape for s in d.strokes] == [(2, 2), (3, 1)] and d.n_points == 3
    with pytest.raises(ValueError, match="stroke 0"):
        Drawing([[[0, 1]]])
