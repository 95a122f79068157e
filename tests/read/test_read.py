"""Reading lines: real MNIST t10k digits composed into pictures, ink lines, the search, and bad lines."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from inkrec.cli import app
from inkrec.data.formats.idx import load_idx
from inkrec.read.errors import LineError
from inkrec.read.lines import picture_line
from inkrec.read.reader import LineReader
from inkrec.read.score import LineScore, edit_distance
from inkrec.read.search import Priors, best_path
from inkrec.read.segment import MAX_PIECES, Pieces, ink_pieces, picture_pieces
from inkrec.runtime.onnx_model import OnnxModel

sys.path.insert(0, str(Path(__file__).resolve().parent))
from digit_ink import ink_digits  # noqa: E402

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def digits() -> LineReader:
    return LineReader(OnnxModel(REPO / "models" / "digits.onnx"))


@pytest.fixture(scope="module")
def t10k(mnist: Path):
    return load_idx(mnist / "t10k-images-idx3-ubyte.gz"), load_idx(mnist / "t10k-labels-idx1-ubyte.gz")


def _png(grey: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(grey).save(buf, format="PNG")
    return buf.getvalue()


def test_reads_lines_of_real_digits_as_pictures(digits, t10k):
    images, labels = t10k
    rng = np.random.default_rng(3)
    score = LineScore()
    for _ in range(25):
        idx = rng.choice(len(images), int(rng.integers(4, 9)), replace=False)
        pic, boxes = picture_line([images[i] for i in idx], rng)
        reading = digits.read_picture(pic)
        score.add(reading.text, "".join(str(int(labels[i])) for i in idx))
        if len(reading.characters) == len(boxes):  # each box where its character is
            for got, truth in zip(reading.characters, boxes, strict=True):
                cx = (got.box[0] + got.box[2]) / 2
                assert truth[0] - 3 <= cx <= truth[2] + 3
        for c in reading.characters:
            probs = [p["probability"] for p in c.candidates]
            assert len(probs) == 5 and probs == sorted(probs, reverse=True)
    # the benchmark (benchmarks/read_lines.py) measures it on hundreds of lines; this guards against breakage
    assert score.char_accuracy >= 0.85, score.summary()
    assert score.line_accuracy >= 0.5, score.summary()


def test_either_polarity_and_a_separated_line_reads_exactly(digits, t10k):
    images, labels = t10k
    picks = [3, 2, 1, 18, 4]  # 0, 1, 2, 3, 4 in t10k order
    line = np.concatenate([np.pad(images[i], ((4, 4), (6, 6))) for i in picks], axis=1)
    truth = "".join(str(int(labels[i])) for i in picks)
    assert digits.read_picture(line).text == truth  # light ink on dark
    assert digits.read_picture(255 - line).text == truth  # dark ink on paper
    assert digits.read_image(_png(255 - line)).text == truth


def _touching(images, picks, overlap: int) -> np.ndarray:
    """Digits side by side, each one's ink box `overlap` pixels into the one before: dark on light."""
    x = 4
    canvas = np.zeros((36, 28 * len(picks) + 8), np.uint8)
    for i in picks:
        cols = np.flatnonzero(images[i].max(axis=0) > 0)
        crop = images[i][:, cols[0] : cols[-1] + 1]
        region = canvas[4:32, x : x + crop.shape[1]]
        np.maximum(region, crop, out=region)
        x += crop.shape[1] - overlap
    return 255 - canvas[:, : x + overlap + 4]


def test_touching_digits_are_cut_apart(digits, t10k):
    images, labels = t10k
    # 0 to 9, three times over (each digit's first, second and third writer in t10k), each digit's ink 1, 2
    # and 3 pixels into the one before: one odd digit must not decide the test, the whole lot must read well
    firsts = [np.flatnonzero(labels == d)[:3] for d in range(10)]
    score = LineScore()
    for k in range(3):
        for overlap in (1, 2, 3):
            line = _touching(images, [int(f[k]) for f in firsts], overlap)
            assert (picture_pieces(line).pieces.joins > 0).any()  # pairs do touch: cut through ink
            score.add(digits.read_picture(line).text, "0123456789")
    assert score.char_accuracy >= 0.9, score.summary()
    assert score.line_accuracy >= 0.5, score.summary()
    assert digits.read_picture(_touching(images, [int(f[0]) for f in firsts], 1)).text == "0123456789"


def test_a_window_holds_the_ink_its_pieces_lost_to_a_neighbour(t10k):
    images, _ = t10k
    line = picture_pieces(_touching(images, [3, 2, 1, 18, 4, 8, 11, 0, 61, 7], 3))
    n = len(line.pieces)
    spans = [(i, j) for i in range(n) for j in range(i, min(n, i + 3))]
    intruded = [s for s in spans if line.intruded(*s)]
    assert intruded and len(intruded) < len(spans)
    for i, j in spans:
        crop, window = line.crop(i, j), line.window(i, j)
        assert crop.shape == window.shape
        if (i, j) in intruded:  # the window adds the other pieces' ink inside the box, and blanks nothing
            assert (window.astype(int) >= crop.astype(int) - 1).all() and window.sum() > crop.sum()
        else:
            assert np.array_equal(window, crop)


def test_a_line_shaded_from_end_to_end_reads_as_evenly_lit(digits, t10k):
    images, labels = t10k
    picks = [3, 2, 1, 18, 4, 8, 11, 0, 61, 7]
    ink = np.concatenate([np.pad(images[i], ((4, 4), (6, 6))) for i in picks], axis=1).astype(np.float32)
    paper = 240.0 - np.linspace(0.0, 160.0, ink.shape[1])[None, :]  # light falling off across the page
    grey = np.clip(paper - ink * (paper - 20.0) / 255.0, 0, 255).astype(np.uint8)
    assert digits.read_picture(grey).text == "".join(str(int(labels[i])) for i in picks)


def test_ink_line_is_read_with_boxes_in_pen_units(digits):
    strokes = [np.asarray(s) for s in ink_digits("40712")]
    reading = digits.read_strokes(strokes)
    assert reading.text == "40712"
    xs = [c.box[0] for c in reading.characters]
    assert xs == sorted(xs) and reading.characters[0].box[0] < 60 < reading.characters[0].box[2]
    # pen coordinates of any scale, and strokes without times, read the same
    scaled = [np.asarray(s)[:2] * 7.5 + 1000 for s in strokes]
    assert digits.read_strokes(scaled).text == "40712"
    assert reading.to_json()["text"] == "40712"


def test_pieces_of_a_picture_and_of_ink():
    grey = np.full((60, 200), 255, np.uint8)
    grey[10:50, 20:26] = 0  # a bar
    grey[10:14, 60:90] = 0  # three bars stacked: one character
    grey[28:32, 60:90] = 0
    grey[46:50, 60:90] = 0
    grey[10:50, 120:126] = 0  # two bars joined by a thin stroke: cut where it is thin
    grey[10:50, 150:156] = 0
    grey[29:31, 126:150] = 0
    line = picture_pieces(grey)
    assert len(line.pieces) == 4
    assert line.to_picture(line.pieces.boxes[1]) == [60, 10, 90, 50]
    # apart across paper: nothing cut; the thin joint: a fraction of one of the bars' strokes
    assert line.pieces.joins[0] == 0 and line.pieces.joins[1] == 0
    assert 0.2 < line.pieces.joins[2] < 1.0
    ink = ink_pieces([np.array([[0, 0], [0, 100]]), np.array([[40, 80], [50, 50]]), np.array([[60, 60], [0, 100]])])
    assert ink.members == [[0], [1, 2]]


def test_search_prefers_confident_characters_and_obeys_priors():
    pieces = Pieces(np.array([[0, 0, 10, 100], [12, 0, 22, 100], [60, 0, 100, 100], [300, 0, 340, 100]],
                             float), 100.0)
    spans = Priors().spans(pieces)
    assert (0, 1) in spans and (0, 2) in spans  # 100 wide: a character may be 1.6 line heights wide
    assert (2, 3) not in spans and (3, 3) in spans  # 280 wide: no character
    scores = np.zeros(len(spans))
    scores[spans.index((0, 1))] = 5.0  # pieces 0 and 1 read confidently as one character
    path = best_path(4, spans, scores + Priors().shape_scores(pieces, spans))
    assert [spans[k] for k in path] == [(0, 1), (2, 2), (3, 3)]


def test_bad_lines_are_refused_clearly(digits):
    with pytest.raises(LineError, match="no ink") as exc:
        digits.read_picture(np.full((40, 300), 230, np.uint8))
    assert exc.value.code == "empty_line"
    with pytest.raises(LineError, match="no strokes"):
        digits.read_strokes([])
    with pytest.raises(LineError, match="100,000 pixels wide") as exc:
        digits.read_image(_png(np.full((8, 100_000), 255, np.uint8)))
    assert exc.value.status == 413
    many = np.zeros((30, 8 * (MAX_PIECES + 200)), np.uint8)
    many[5:25, 2::8] = 255  # 500 separate strokes
    with pytest.raises(LineError, match="at most") as exc:
        digits.read_picture(many)
    assert exc.value.code == "line_too_long"
    with pytest.raises(LineError, match="does not read lines"):
        LineReader(OnnxModel(REPO / "models" / "doodles.onnx"))


def test_edit_distance():
    assert edit_distance("12345", "12345") == 0
    assert edit_distance("1245", "12345") == 1
    assert edit_distance("", "abc") == 3


def test_cli_reads_pictures_and_ndjson_with_truth(tmp_path: Path, t10k):
    images, labels = t10k
    line = 255 - np.concatenate([np.pad(images[i], ((4, 4), (6, 6))) for i in (3, 2, 1)], axis=1)
    png = tmp_path / "line.png"
    png.write_bytes(_png(line))
    nd = tmp_path / "lines.ndjson"
    nd.write_text("\n".join(json.dumps({"word": w, "drawing": ink_digits(w)}) for w in ("1047", "2730")) + "\n")
    out = tmp_path / "read.json"
    runner = CliRunner()
    res = runner.invoke(app, ["read", "--model", "digits", "--json", str(out), str(png), str(nd)])
    assert res.exit_code == 0, res.output
    assert res.stdout.splitlines()[:3] == ["012", "1047", "2730"]
    assert "line accuracy 1.0000" in res.output
    got = json.loads(out.read_text())
    assert [(r["file"], r["line"], r["text"]) for r in got] == [(str(png), 0, "012"), (str(nd), 0, "1047"),
                                                                 (str(nd), 1, "2730")]
    assert set(got[0]["characters"][0]) == {"box", "candidates"}
    blank = tmp_path / "blank.png"
    blank.write_bytes(_png(np.full((40, 200), 255, np.uint8)))
    res = runner.invoke(app, ["read", "--model", "digits", str(blank)])
    assert res.exit_code == 2 and "no ink" in res.output
    res = runner.invoke(app, ["read", "--model", "nope", str(png)])
    assert res.exit_code == 2 and "no bundled model 'nope'" in res.output
    res = runner.invoke(app, ["read", "--model", "doodles", str(png)])
    assert res.exit_code == 2 and "does not read lines" in res.output
