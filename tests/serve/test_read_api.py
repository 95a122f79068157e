"""`POST /v1/read` on the real server: lines of real MNIST digits as uploads, lines of ink as JSON, and the
bad lines (empty, no ink, 100,000 pixels wide, 500 characters, a model of doodles) answered with clear 4xx
while the server keeps serving."""

from __future__ import annotations

import io
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from inkrec.data.formats.idx import load_idx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "read"))
from digit_ink import ink_digits  # noqa: E402


def _png(grey: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(grey).save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture(scope="module")
def digit_line(mnist: Path) -> tuple[bytes, str]:
    images = load_idx(mnist / "t10k-images-idx3-ubyte.gz")
    labels = load_idx(mnist / "t10k-labels-idx1-ubyte.gz")
    picks = [3, 2, 1, 18, 4, 8, 11]
    line = 255 - np.concatenate([np.pad(images[i], ((4, 4), (6, 6))) for i in picks], axis=1)
    return _png(line), "".join(str(int(labels[i])) for i in picks)


def test_models_say_whether_they_read_lines(client):
    models = {m["id"]: m for m in client.get("/v1/models").json()["models"]}
    assert models["digits"]["lines"] is True and models["hanzi-numerals"]["lines"] is True
    assert models["doodles"]["lines"] is False


def test_read_a_picture_of_digits(client, digit_line):
    png, truth = digit_line
    r = client.post("/v1/read", files={"file": ("line.png", png, "image/png")},
                    data={"model": "digits", "top_k": "3"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["model"] == "digits" and body["text"] == truth and body["ms"] > 0
    assert len(body["characters"]) == len(truth)
    for c, ch in zip(body["characters"], truth, strict=True):
        assert len(c["box"]) == 4 and len(c["candidates"]) == 3 and c["candidates"][0]["label"] == ch
    lefts = [c["box"][0] for c in body["characters"]]
    assert lefts == sorted(lefts)


def test_read_ink_as_json(client):
    r = client.post("/v1/read", json={"model": "digits", "strokes": ink_digits("2730")})
    assert r.status_code == 200, r.text
    assert r.json()["text"] == "2730"
    assert len(r.json()["characters"][0]["candidates"]) == 5


def test_bad_lines_get_clear_4xx_and_nothing_hangs(client, digit_line):
    cases = [
        ({"json": {"model": "digits", "strokes": []}}, 422, "empty_drawing"),
        ({"files": {"file": ("blank.png", _png(np.full((60, 400), 240, np.uint8)), "image/png")},
          "data": {"model": "digits"}}, 422, "empty_line"),
        ({"files": {"file": ("wide.png", _png(np.full((10, 100_000), 255, np.uint8)), "image/png")},
          "data": {"model": "digits"}}, 413, "image_too_large"),
        ({"json": {"model": "doodles", "strokes": ink_digits("17")}}, 422, "model_reads_no_lines"),
        ({"files": {"file": ("x.png", b"not a picture", "image/png")}, "data": {"model": "digits"}}, 422,
         "bad_image"),
        ({"content": b"x", "headers": {"content-type": "text/plain"}}, 415, "unsupported_media_type"),
        ({"json": {"model": "nope", "strokes": ink_digits("1")}}, 404, "unknown_model"),
    ]
    many = np.full((40, 8 * 500 + 40), 255, np.uint8)
    many[8:32, 20:-20:8] = 0  # a line of 500 strokes
    cases.append(({"files": {"file": ("long.png", _png(many), "image/png")}, "data": {"model": "digits"}}, 422,
                  "line_too_long"))
    # 500 characters of ink: more strokes than one request may carry
    cases.append(({"json": {"model": "digits", "strokes": ink_digits("1" * 600, height=40)}}, 422,
                  "invalid_request"))
    for kwargs, status, code in cases:
        t0 = time.monotonic()
        r = client.post("/v1/read", **kwargs)
        assert (r.status_code, r.json()["error"]["code"]) == (status, code), (code, r.text[:300])
        assert r.json()["error"]["message"]
        assert time.monotonic() - t0 < 10
    png, truth = digit_line
    r = client.post("/v1/read", files={"file": ("line.png", png, "image/png")}, data={"model": "digits"})
    assert r.status_code == 200 and r.json()["text"] == truth
