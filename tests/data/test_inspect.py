"""`inkrec data info | show | import-images` on the real data sets and on a folder of drawn pictures."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont
from typer.testing import CliRunner

from datakit import draw_on_paper
from inkrec import fonts
from inkrec.cli import app
from inkrec.data.dataset import open_dataset
from inkrec.data.formats.binary import write_binary
from inkrec.data.formats.gnt import write_gnt
from inkrec.data.formats.image_folder import ImageFolder
from inkrec.data.formats.ndjson import iter_ndjson
from inkrec.data.formats.numpy_bitmap import load_bitmaps
from inkrec.data.formats.sketchrnn import strokes_to_stroke3, write_sketchrnn
from inkrec.data.inspect import GRID_PAD, LABEL_HEIGHT, label_text, pick_samples

runner = CliRunner()


def _run(*args: str):
    result = runner.invoke(app, ["data", *args])
    return result


def test_info_numpy_bitmap(quickdraw: Path):
    r = _run("info", str(quickdraw / "numpy_bitmap"))
    assert r.exit_code == 0, r.output
    assert "numpy_bitmap" in r.output and "65,960" in r.output and "house plant" in r.output
    assert "7,970" in r.output and "28x28" in r.output


def test_info_chinese_mnist_sizes_and_writers(datasets: Path):
    r = _run("info", str(datasets / "chinese-mnist"), "--sample-limit", "300", "--splits")
    assert r.exit_code == 0, r.output
    assert "image_folder" in r.output and "12,000" in r.output and "64x64" in r.output
    assert "writers" in r.output and "80" in r.output and "300 of 12,000" in r.output
    assert "train 9,600 / test 2,400" in r.output


def test_info_strokes_and_idx(quickdraw: Path, datasets: Path):
    r = _run("info", str(quickdraw / "raw"), "--sample-limit", "200")
    assert r.exit_code == 0, r.output
    assert "ndjson" in r.output and "points per drawing" in r.output and "344" in r.output
    r = _run("info", str(datasets / "mnist"))
    assert r.exit_code == 0, r.output
    assert "idx" in r.output and "15,000" in r.output


def test_info_bad_paths_are_clear_errors(tmp_path: Path):
    r = _run("info", str(tmp_path / "missing"))
    assert r.exit_code == 2 and "no such file" in r.output and "Traceback" not in r.output
    bad = tmp_path / "broken.npy"
    bad.write_bytes(b"\x93NUMPY garbage")
    r = _run("info", str(bad))
    assert r.exit_code == 2 and "broken.npy" in r.output and "Traceback" not in r.output


def _grid_size(n: int, cols: int, cell: int) -> tuple[int, int]:
    rows = math.ceil(n / cols)
    return cols * (cell + GRID_PAD) + GRID_PAD, rows * (cell + LABEL_HEIGHT + GRID_PAD) + GRID_PAD


@pytest.mark.parametrize(
    ("sub", "n", "cols", "cell"),
    [("quickdraw/numpy_bitmap", 64, None, 64), ("chinese-mnist", 30, 6, 48), ("mnist", 10, None, 32)],
)
def test_show_writes_a_labelled_grid(tmp_path: Path, datasets: Path, sub: str, n: int, cols, cell: int):
    out = tmp_path / "grid.png"
    args = ["show", str(datasets / sub), "-o", str(out), "--n", str(n), "--cell", str(cell)]
    if cols:
        args += ["--cols", str(cols)]
    r = _run(*args)
    assert r.exit_code == 0, r.output
    img = Image.open(out)
    assert img.format == "PNG" and img.size == _grid_size(n, cols or math.ceil(math.sqrt(n)), cell)
    a = np.asarray(img.convert("L"))
    # the first tile holds a drawing (bright ink on black), its label band holds text
    tile = a[GRID_PAD : GRID_PAD + cell, GRID_PAD : GRID_PAD + cell]
    band = a[GRID_PAD + cell : GRID_PAD + cell + LABEL_HEIGHT, GRID_PAD : GRID_PAD + cell]
    assert tile.max() > 200 and np.median(tile) < 30 and band.max() > 150
    assert [p.name for p in tmp_path.iterdir()] == ["grid.png"]


def test_show_spreads_over_classes():
    labels = np.repeat(np.arange(5), [100, 1, 50, 0, 7])
    picks = pick_samples(labels, 5, 12, seed=3)
    assert len(picks) == 12 and len(set(picks.tolist())) == 12
    got = np.bincount(labels[picks], minlength=5)
    assert got[1] == 1 and got[3] == 0 and max(got) - min(got[[0, 2, 4]]) <= 1
    many = pick_samples(np.arange(345), 345, 64, seed=0)
    assert len(set(many.tolist())) == 64  # more classes than places: one each of 64 classes


def test_show_rejects_bad_output(tmp_path: Path, quickdraw: Path):
    r = _run("show", str(quickdraw / "numpy_bitmap"), "-o", str(tmp_path / "grid.jpg"))
    assert r.exit_code == 2 and ".png" in r.output


def test_labels_in_any_script(no_system_fonts):
    assert label_text("house plant") == ("house plant", fonts.SHIPPED_FONT)
    assert label_text("万") == ("万", fonts.SHIPPED_FONT)
    assert label_text("中") == ("U+4E2D", None)  # no font at all has it: the code point is shown


def _label_band(img: Image.Image, k: int, cols: int, cell: int) -> np.ndarray:
    r, c = divmod(k, cols)
    x = GRID_PAD + c * (cell + GRID_PAD)
    y = GRID_PAD + r * (cell + LABEL_HEIGHT + GRID_PAD) + cell
    return np.asarray(img.convert("L"))[y : y + LABEL_HEIGHT, x : x + cell]


def _drawn(text: str, font, cell: int) -> np.ndarray:
    """`text` drawn as the grid draws a label, on a band of its own."""
    band = Image.new("RGB", (cell, LABEL_HEIGHT), (40, 40, 40))
    ImageDraw.Draw(band).text((1, 1), text, fill=(230, 230, 230), font=font)
    return np.asarray(band.convert("L"))


def test_chinese_labels_are_drawn_as_characters_without_a_system_font(no_system_fonts, tmp_path, chinese_mnist):
    out = tmp_path / "grid.png"
    r = _run("show", str(chinese_mnist), "-o", str(out), "--n", "15", "--cols", "5", "--cell", "48")
    assert r.exit_code == 0, r.output
    img = Image.open(out)
    shipped = ImageFont.truetype(str(fonts.SHIPPED_FONT), LABEL_HEIGHT - 4)
    fallback = ImageFont.load_default(size=LABEL_HEIGHT - 4)
    names = sorted("零一二三四五六七八九十百千万亿")  # one sample of each class, in class order
    for k, name in enumerate(names):
        band = _label_band(img, k, 5, 48)
        assert np.array_equal(band, _drawn(name, shipped, 48)), name
        assert not np.array_equal(band, _drawn(f"U+{ord(name):04X}", fallback, 48))
        assert (band > 100).sum() >= 3  # ink of the character (一 is one thin stroke)


def test_import_images_of_my_drawings(tmp_path: Path, quickdraw: Path):
    src = tmp_path / "my drawings"
    cats = ["apple", "fish", "rainbow"]
    for cat in cats:
        (src / cat).mkdir(parents=True)
        for i, d in enumerate(list(iter_ndjson(quickdraw / "simplified" / f"{cat}.ndjson"))[:6]):
            img = Image.fromarray(draw_on_paper(d.strokes, pen=3 + i))
            if i % 2:
                img.convert("RGB").save(src / cat / f"{i}.jpg", quality=90)
            else:
                img.save(src / cat / f"{i}.png")
    (src / "fish" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    out = tmp_path / "npy"
    r = _run("import-images", str(src), "--out", str(out))
    assert r.exit_code == 0, r.output
    assert "wrote 18 drawings of 3 classes" in r.output and "broken.png" in r.output
    assert sorted(p.name for p in out.iterdir()) == [f"{c}.npy" for c in cats]
    for cat in cats:
        mine = np.asarray(load_bitmaps(out / f"{cat}.npy", side=28)).reshape(-1, 28, 28).astype(int)
        google = np.asarray(load_bitmaps(quickdraw / "numpy_bitmap" / f"{cat}.npy")[:6]).reshape(-1, 28, 28)
        errors = [
            min(np.abs(np.roll(m, dx, 1) - g).mean() for dx in (-1, 0, 1)) for m, g in zip(mine, google)
        ]
        assert np.median(errors) < 9, (cat, errors)
    ds = open_dataset(out)
    assert ds.classes == cats and len(ds) == 18 and ds.image_size == 28

    r = _run("import-images", str(src), "--out", str(tmp_path / "strict"), "--strict")
    assert r.exit_code == 2 and "broken.png" in r.output and not (tmp_path / "strict").exists()

    r = _run("import-images", str(src), "--out", str(tmp_path / "big"), "--size", "64")
    assert r.exit_code == 0, r.output
    assert load_bitmaps(tmp_path / "big" / "apple.npy").shape == (6, 64 * 64)


def test_info_and_show_hand_made_files(tmp_path: Path, quickdraw: Path, datasets: Path):
    """The formats not in ../shared, written by our own writers from real drawings and handwriting."""
    drawings = list(iter_ndjson(quickdraw / "simplified" / "fish.ndjson"))
    write_binary(tmp_path / "fish.bin", drawings)
    s3 = [strokes_to_stroke3(d.strokes) for d in drawings]
    write_sketchrnn(tmp_path / "fish.npz", {"train": s3[:15], "valid": s3[15:20], "test": s3[20:]})
    hanzi = ImageFolder(datasets / "chinese-mnist")
    write_gnt(
        tmp_path / "1001-c.gnt",
        [
            (hanzi.classes[hanzi.samples[i][1]], hanzi.load_ink(i)[2:60, 5:64])
            for i in range(0, len(hanzi), 400)
        ],
    )
    expect = {"fish.bin": ("binary", "25"), "fish.npz": ("sketchrnn", "25"), "1001-c.gnt": ("gnt", "59x58")}
    for name, (fmt, needle) in expect.items():
        r = _run("info", str(tmp_path / name))
        assert r.exit_code == 0, r.output
        assert fmt in r.output and needle in r.output, r.output
        out = tmp_path / f"{name}.png"
        r = _run("show", str(tmp_path / name), "-o", str(out), "--n", "9", "--cell", "40")
        assert r.exit_code == 0, r.output
        assert Image.open(out).size == _grid_size(9, 3, 40)
        assert np.asarray(Image.open(out).convert("L")).max() > 200
