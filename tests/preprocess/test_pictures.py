"""Image decoding, ink normalisation and Quick, Draw! framing, checked against the real data."""

from __future__ import annotations

import io
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFilter

from datakit import draw_on_paper, png_header_only
from inkrec.data.formats.ndjson import iter_ndjson
from inkrec.data.formats.numpy_bitmap import load_bitmaps
from inkrec.errors import DataFormatError
from inkrec.preprocess.pictures import (
    decode_image,
    image_to_model_input,
    ink_bbox,
    measure_framing,
    normalize_ink,
    to_model_input,
)
from inkrec.read.segment import _components

# numpy_bitmap rows 0-24 of these categories are the 25 drawings of simplified/<category>.ndjson
# (checked in test_reference_categories_pair_up), so Google's own bitmaps are the reference.
PAIRED = ("apple", "banana", "cat", "fish", "rainbow", "airplane")


def _encode(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def _shift_mae(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference, allowing a 1-pixel horizontal shift: Google's bitmaps of some
    categories sit one pixel right of the centred framing."""
    a, b = a.astype(int), b.astype(int)
    return min(float(np.abs(np.roll(a, dx, axis=1) - b).mean()) for dx in (-1, 0, 1))


@pytest.fixture(scope="module")
def paired(quickdraw: Path):
    out = {}
    for cat in PAIRED:
        drawings = list(iter_ndjson(quickdraw / "simplified" / f"{cat}.ndjson"))
        bitmaps = np.asarray(load_bitmaps(quickdraw / "numpy_bitmap" / f"{cat}.npy")[:25]).reshape(-1, 28, 28)
        out[cat] = (drawings, bitmaps)
    return out


# ------------------------------------------------------------------------------------------ decoding


def test_decodes_every_format_colour_or_grey(chinese_mnist: Path):
    jpg = chinese_mnist / "五" / "writer021_01.jpg"
    grey = decode_image(jpg)
    assert grey.shape == (64, 64) and grey.dtype == np.uint8
    img = Image.fromarray(grey)
    assert np.array_equal(decode_image(_encode(img, "PNG")), grey)
    assert np.array_equal(decode_image(_encode(img, "BMP")), grey)
    assert np.array_equal(decode_image(_encode(img, "GIF")), grey)
    colour = Image.merge("RGB", [img, img, img])
    assert np.abs(decode_image(_encode(colour, "PNG")).astype(int) - grey).max() <= 1
    assert np.abs(decode_image(_encode(colour, "JPEG", quality=95)).astype(int) - grey).mean() < 3
    assert decode_image(_encode(img.convert("P"), "PNG")).shape == (64, 64)
    sixteen = Image.fromarray(grey.astype(np.uint16) * 257)
    assert np.array_equal(decode_image(_encode(sixteen, "PNG")), grey)


def test_transparent_canvas_export_gets_a_contrasting_ground(quickdraw: Path):
    d = next(iter_ndjson(quickdraw / "simplified" / "fish.ndjson"))
    ink = draw_on_paper(d.strokes) < 128
    rgba = np.zeros((*ink.shape, 4), np.uint8)  # black strokes on a fully transparent canvas
    rgba[..., 3] = np.where(ink, 255, 0)
    grey = decode_image(_encode(Image.fromarray(rgba, "RGBA"), "PNG"))
    assert grey[~ink].min() == 255 and grey[ink].max() == 0
    white = rgba.copy()
    white[..., :3] = 255  # white strokes on transparency
    grey = decode_image(_encode(Image.fromarray(white, "RGBA"), "PNG"))
    assert grey[~ink].max() == 0 and grey[ink].min() == 255


def test_exif_rotation_of_phone_photos():
    img = Image.new("L", (40, 20), 255)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise on display
    data = _encode(img, "JPEG", exif=exif)
    assert decode_image(data).shape == (40, 20)


def test_decompression_bomb_refused_before_decoding():
    bomb = png_header_only(7072, 7072)  # 50 megapixels claimed by a ~100-byte file
    t = time.perf_counter()
    with pytest.raises(
        DataFormatError, match=r"upload\.png: image is 7072x7072 = 50\.0 megapixels.*before decoding"
    ):
        decode_image(bomb, name="upload.png")
    assert time.perf_counter() - t < 1.0
    with pytest.raises(DataFormatError, match="too large, refused before decoding"):
        decode_image(png_header_only(20000, 20000))
    with pytest.raises(DataFormatError, match="limit of 0.0"):
        decode_image(_encode(Image.new("L", (100, 100)), "PNG"), max_pixels=5000)


def test_corrupt_images_are_clear_errors(tmp_path: Path, chinese_mnist: Path):
    png = _encode(Image.fromarray(decode_image(chinese_mnist / "七" / "writer002_03.jpg")), "PNG")
    cut = tmp_path / "cut.png"
    cut.write_bytes(png[: len(png) // 2])
    with pytest.raises(DataFormatError, match=r"cut\.png: corrupt or truncated"):
        decode_image(cut)
    jpg = (chinese_mnist / "七" / "writer002_03.jpg").read_bytes()
    with pytest.raises(DataFormatError, match=r"<image bytes>"):
        decode_image(jpg[:300])
    for junk in (b"", b"hello, world", b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, b"GIF89a\x10\x00"):
        with pytest.raises(DataFormatError, match="x.bin"):
            decode_image(junk, name="x.bin")
    with pytest.raises(DataFormatError, match="no such image file"):
        decode_image(tmp_path / "missing.png")
    tiff = _encode(Image.new("L", (8, 8)), "TIFF")
    with pytest.raises(DataFormatError, match="not a supported image"):
        decode_image(tiff)


def test_max_side_shrinks_big_photos_while_decoding():
    big = Image.fromarray(np.tile(np.linspace(0, 255, 3000, dtype=np.uint8), (2000, 1)))
    out = decode_image(_encode(big, "JPEG"), max_side=512)
    assert max(out.shape) <= 512 and abs(out.shape[1] / out.shape[0] - 1.5) < 0.05


# ------------------------------------------------------------------------------------------ normalising


def test_normalize_chinese_mnist_faint_ink(chinese_mnist: Path):
    files = sorted(chinese_mnist.glob("*/*.jpg"))[::40]
    raw = np.stack([decode_image(f) for f in files])
    # the files: faint light strokes on a black ground
    assert np.median(raw.max(axis=(1, 2))) < 230 and np.median(raw) == 0
    outs = np.stack([normalize_ink(g) for g in raw])
    assert np.median(outs.max(axis=(1, 2))) == 255  # stretched to full contrast
    for g, o in zip(raw, outs, strict=True):
        # polarity kept (the brightest strokes clip at white, so the relation is monotone, not linear)
        assert np.corrcoef(g.ravel(), o.ravel())[0, 1] > 0.8
        assert o[g == 0].max() == 0  # the black ground stays black
        flipped = normalize_ink(255 - g)  # the same character dark on light
        assert np.abs(flipped.astype(int) - o).mean() < 2.0


def test_faint_thin_pen_lines_frame_whole(chinese_mnist: Path):
    """Every scan of 一 is one pen line, faint, a pixel wide and uneven along its length (JPEG): framed, it is
    one piece of solid ink, not a string of beads (stretching only the brightest percent to white left a fifth
    of them broken)."""
    files = sorted((chinese_mnist / "一").glob("*.jpg"))
    assert len(files) == 800
    # 8-connected pieces of solid ink, counted as the line reader counts a picture's marks
    pieces = np.array([len(_components(to_model_input(normalize_ink(decode_image(f)), 64) > 128)[2]) for f in files])
    assert np.mean(pieces == 1) >= 0.95, np.bincount(pieces)


def test_normalize_blank_and_shapes():
    assert not normalize_ink(np.full((30, 40), 200, np.uint8)).any()
    assert not normalize_ink(np.zeros((1, 1), np.uint8)).any()
    with pytest.raises(ValueError, match="grey"):
        normalize_ink(np.zeros((4, 4, 3), np.uint8))


# ------------------------------------------------------------------------------------------ framing


def test_reference_categories_pair_up(paired):
    for cat, (drawings, bitmaps) in paired.items():
        assert len(drawings) == 25 and len(bitmaps) == 25, cat


def test_drawings_on_paper_frame_like_googles_bitmaps(paired):
    """A person's drawing on paper (thin dark pen, big white canvas) comes out like Google's bitmap of the
    same strokes."""
    errors = []
    for drawings, bitmaps in paired.values():
        for d, want in zip(drawings, bitmaps, strict=True):
            png = _encode(Image.fromarray(draw_on_paper(d.strokes, pen=5)), "PNG")
            got = image_to_model_input(png, 28)
            assert got.shape == (28, 28) and got.dtype == np.uint8
            errors.append(_shift_mae(got, want))
            assert abs(float(got.mean()) - float(want.mean())) < 12
    # a perfect vector rasterizer reaches ~1.5 here; an upload has lost its vectors
    assert np.median(errors) < 7 and max(errors) < 14, (np.median(errors), max(errors))


@pytest.mark.parametrize("pen", [2, 12, 27])
def test_pen_width_does_not_matter(paired, pen):
    drawings, bitmaps = paired["cat"]
    errors = [
        _shift_mae(to_model_input(normalize_ink(draw_on_paper(d.strokes, pen=pen)), 28), want)
        for d, want in zip(drawings, bitmaps, strict=True)
    ]
    assert np.median(errors) < 8, errors


def test_photo_of_paper_with_shading_and_noise(paired):
    rng = np.random.default_rng(7)
    drawings, bitmaps = paired["apple"]
    errors = []
    for d, want in zip(drawings[:12], bitmaps[:12], strict=True):
        paper = draw_on_paper(d.strokes, pen=7, canvas=900, scale=3.0).astype(np.float32)
        yy, xx = np.mgrid[0:900, 0:900] / 900.0
        light = 0.5 + 0.5 * xx * yy  # a shadow over one corner
        photo = np.where(paper < 128, 50.0, 210.0) * light + rng.normal(0, 5, paper.shape)
        img = Image.fromarray(np.clip(photo, 0, 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(1.5))
        jpeg = _encode(img.convert("RGB"), "JPEG", quality=70)
        got = image_to_model_input(jpeg, 28)
        errors.append(_shift_mae(got, want))
    assert np.median(errors) < 10, errors


def test_light_on_dark_equals_dark_on_light(paired):
    drawings, _ = paired["rainbow"]
    for d in drawings[:5]:
        paper = draw_on_paper(d.strokes)
        a = to_model_input(normalize_ink(paper), 28)
        b = to_model_input(normalize_ink(255 - paper), 28)
        assert np.abs(a.astype(int) - b).mean() < 1.0


def test_framing_geometry():
    # a plain square outline: centred, its ink spanning (255 + 16) / 304 of the side
    img = np.zeros((400, 400), np.uint8)
    img[50:350:, 50:54] = img[50:350, 346:350] = img[50:54, 50:350] = img[346:350, 50:350] = 255
    for size in (28, 64):
        out = to_model_input(img, size)
        top, bottom, left, right = ink_bbox(out, threshold=0.5, trim=0)
        expected = size * (255 + 16) / 304
        assert abs((bottom - top) - expected) <= 1.5 and abs((right - left) - expected) <= 1.5
        assert abs((top + bottom) / 2 - size / 2) <= 0.5 and abs((left + right) / 2 - size / 2) <= 0.5
    # a long thin line, a single dot, a blank picture
    line = np.zeros((20, 1000), np.uint8)
    line[9:11, 10:990] = 255
    out = to_model_input(line, 28)
    assert out[14].max() > 100 and out[:10].max() == 0
    dot = np.zeros((50, 50), np.uint8)
    dot[25, 25] = 255
    assert to_model_input(dot, 28)[13:15, 13:15].max() > 100
    assert not to_model_input(np.zeros((30, 30), np.uint8), 28).any()


def test_measure_framing_recovers_googles_recipe(quickdraw: Path):
    for cat in ("apple", "rainbow", "fish"):
        bitmaps = np.asarray(load_bitmaps(quickdraw / "numpy_bitmap" / f"{cat}.npy")[:1500]).reshape(
            -1, 28, 28
        )
        frame = measure_framing(bitmaps)
        assert (
            frame["canvas"] == 256
            and abs(frame["padding"] - 16) < 2.5
            and abs(frame["line_diameter"] - 16) < 4
        )


def test_measured_framing_makes_uploads_look_like_chinese_mnist(chinese_mnist: Path):
    files = sorted(chinese_mnist.glob("*/*.jpg"))
    frame = measure_framing(normalize_ink(decode_image(f)) for f in files[::25])
    assert frame["padding"] > 100  # the characters fill about a third of their image
    measured, default = [], []
    for f in files[7::700]:
        want = normalize_ink(decode_image(f))
        # the same character as a photo of paper: bigger, thicker pen, dark on light
        big = (
            Image.fromarray(want)
            .resize((400, 400), Image.Resampling.BILINEAR)
            .filter(ImageFilter.MaxFilter(9))
        )
        upload = _encode(Image.fromarray(255 - np.asarray(big)), "JPEG", quality=90)
        grey = normalize_ink(decode_image(upload))
        measured.append(np.abs(to_model_input(grey, 64, **frame).astype(int) - want).mean())
        default.append(np.abs(to_model_input(grey, 64).astype(int) - want).mean())
    assert np.median(measured) < 7 and np.median(default) > 2 * np.median(measured), (measured, default)


def test_disk_morphology_row_by_row_gives_the_same_pixels():
    """`_morph` runs row by row (a disk is a stack of runs); the maxima and minima are those of taking every
    offset of the disk in turn, the definition, to the last bit."""
    from inkrec.preprocess import pictures as P

    rng = np.random.default_rng(0)
    for trial in range(12):
        a = ((rng.random((50, 70)) > 0.8) * rng.random((50, 70)) * 255 - (trial % 3 == 0) * 20)
        a = a.astype(np.float32 if trial % 2 else np.float64)
        for r in (1, 2, 4, 7):
            for op in (np.maximum, np.minimum):
                h, w = a.shape
                pad = np.pad(a, r)
                ref = a.copy()
                for dy, dx in P._disk_offsets(r):
                    op(ref, pad[r + dy : r + dy + h, r + dx : r + dx + w], out=ref)
                got = P._morph(a, r, op)
                assert got.dtype == ref.dtype and np.array_equal(got, ref), (trial, r, op)
