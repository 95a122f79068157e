"""`inkrec data simplify | rasterize` on real files, and their refusals."""

from __future__ import annotations

import json

import numpy as np
from typer.testing import CliRunner

from inkrec.cli import app
from inkrec.data import convert
from inkrec.data.drawing import Drawing
from inkrec.data.formats.binary import write_binary
from inkrec.data.formats.ndjson import iter_ndjson, write_ndjson
from inkrec.data.formats.numpy_bitmap import load_bitmaps
from inkrec.preprocess.raster import rasterize_many
from inkrec.preprocess.simplify import simplify

runner = CliRunner()


def _run(*args: str):
    return runner.invoke(app, ["data", *args])


def test_simplify_keeps_metadata_and_matches_the_function(quickdraw, tmp_path):
    src = quickdraw / "raw" / "cat.ndjson"
    out = tmp_path / "cat.simplified.ndjson"
    result = _run("simplify", str(src), "-o", str(out))
    assert result.exit_code == 0, result.output
    raw = list(iter_ndjson(src))
    written = list(iter_ndjson(out))
    assert len(written) == len(raw) > 0
    for r, w in zip(raw, written):
        assert (w.key_id, w.word, w.countrycode, w.recognized, w.timestamp) == (
            r.key_id,
            r.word,
            r.countrycode,
            r.recognized,
            r.timestamp,
        )
        assert [s.tolist() for s in w.strokes] == [s.tolist() for s in simplify(r.strokes)]
    # integers in the file, as Google writes them
    first = json.loads(out.read_text().splitlines()[0])
    assert all(isinstance(v, int) for s in first["drawing"] for row in s for v in row)


def test_rasterize_ndjson_reproduces_numpy_bitmap_rows(quickdraw, tmp_path):
    out = tmp_path / "cat.npy"
    result = _run("rasterize", str(quickdraw / "simplified" / "cat.ndjson"), "-o", str(out))
    assert result.exit_code == 0, result.output
    ours = np.load(out, allow_pickle=False)
    assert ours.dtype == np.uint8 and ours.shape == (25, 784)
    rows = {r.tobytes() for r in load_bitmaps(quickdraw / "numpy_bitmap" / "cat.npy")}
    assert all(r.tobytes() in rows for r in ours)  # cat.npy holds these very drawings


def test_rasterize_binary_raw_and_sizes(quickdraw, tmp_path, monkeypatch):
    simplified = list(iter_ndjson(quickdraw / "simplified" / "train.ndjson"))
    expected = rasterize_many([d.strokes for d in simplified], 28).reshape(len(simplified), -1)
    binary = tmp_path / "train.bin"
    write_binary(binary, simplified)
    monkeypatch.setattr(convert, "CHUNK", 7)  # several chunks and a partial one
    n, raw_seen = convert.rasterize_file(binary, tmp_path / "bin.npy")
    assert (n, raw_seen) == (len(simplified), False)
    assert np.array_equal(np.load(tmp_path / "bin.npy", allow_pickle=False), expected)

    raw_src = quickdraw / "raw" / "train.ndjson"
    result = _run("rasterize", str(raw_src), "-o", str(tmp_path / "raw.npy"), "--size", "64")
    assert result.exit_code == 0, result.output
    assert "simplified first" in result.output
    raw = [simplify(d.strokes) for d in iter_ndjson(raw_src)]
    got = np.load(tmp_path / "raw.npy", allow_pickle=False)
    assert got.shape == (len(raw), 64 * 64)
    assert np.array_equal(got, rasterize_many(raw, 64).reshape(len(raw), -1))


def test_refusals_name_the_file_and_record_and_leave_no_output(quickdraw, tmp_path):
    good = list(iter_ndjson(quickdraw / "simplified" / "apple.ndjson"))[:3]
    bad = tmp_path / "bad.ndjson"
    write_ndjson(bad, [*good, Drawing(strokes=[[[], []]], word="apple", key_id="1")])
    out = tmp_path / "out.npy"
    out.write_bytes(b"keep me")
    result = _run("rasterize", str(bad), "-o", str(out))
    assert result.exit_code == 2
    assert "bad.ndjson" in result.output and "record 4" in result.output and "no points" in result.output
    assert out.read_bytes() == b"keep me"  # atomic: the old file is untouched
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]

    result = _run("simplify", str(bad), "-o", str(tmp_path / "s.ndjson"))
    assert result.exit_code == 2 and "record 4" in result.output
    assert not (tmp_path / "s.ndjson").exists()

    corrupt = tmp_path / "corrupt.ndjson"
    corrupt.write_text('{"word": "cat", "drawing": [[[1, 2], [3, 4]]]}\n{"word": "cat", "drawing": [[[1, 2\n')
    result = _run("rasterize", str(corrupt), "-o", str(tmp_path / "c.npy"))
    assert result.exit_code == 2 and "corrupt.ndjson" in result.output
    assert "Traceback" not in result.output

    for args in (
        ["rasterize", str(tmp_path / "missing.ndjson"), "-o", str(out)],
        ["rasterize", str(quickdraw / "numpy_bitmap" / "cat.npy"), "-o", str(out)],
        ["rasterize", str(bad), "-o", str(out), "--size", "0"],
    ):
        result = _run(*args)
        assert result.exit_code == 2, (args, result.output)
