"""The HTTP API on the real server (uvicorn on loopback, a child process), with real drawings and pictures."""

from __future__ import annotations

import inspect
import io
import json
import os
import struct
import zlib
from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np
import onnxruntime as ort
import pytest
from PIL import Image

from datakit import png_header_only
from inkrec.page import page_files
from inkrec.preprocess.pictures import decode_image, normalize_ink, to_model_input
from inkrec.preprocess.raster import rasterize
from inkrec.preprocess.simplify import simplify
from inkrec.runtime.onnx_model import read_metadata

ISOLATION = {"cross-origin-opener-policy": "same-origin", "cross-origin-embedder-policy": "require-corp"}


def reference_probs(model_path, strokes) -> np.ndarray:
    """The Python pipeline without the server: simplify if raw, rasterize, onnxruntime, softmax."""
    meta = read_metadata(model_path)
    arrays = [np.asarray(s, dtype=np.float64) for s in strokes]
    if any(a.shape[0] == 3 for a in arrays):
        arrays = simplify(arrays)
    takes = inspect.signature(rasterize).parameters
    params = {k: v for k, v in meta["preprocessing"].items() if k in takes and k not in ("strokes", "size")}
    # uint8 pixels x the model's float32 scale, as its metadata defines the input (an int8 model can turn
    # the last bit of a float into a different quantized activation)
    x = rasterize(arrays, size=meta["input"]["size"], **params).astype(np.float32)[None, None] * np.float32(
        meta["input"]["scale"])
    sess = ort.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    z = sess.run(["logits"], {"input": x})[0][0].astype(np.float64)
    p = np.exp(z - z.max())
    return p / p.sum()


def png_bytes(bitmap: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(bitmap).save(buf, format="PNG")
    return buf.getvalue()


def assert_error(r: httpx.Response, status: int, code: str | None = None) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    assert body["error"]["message"]
    if code is not None:
        assert body["error"]["code"] == code, body
    return body


def doodles_path(served_models):
    return next(p for p in served_models if read_metadata(p)["id"] == "doodles")


# ---------------------------------------------------------------- the happy paths


def test_health_models_and_docs(client, served_models):
    r = client.get("/healthz")
    assert r.status_code == 200 and r.json()["status"] == "ok"
    ids = {read_metadata(p)["id"] for p in served_models}
    assert set(r.json()["models"]) == ids
    models = client.get("/v1/models").json()["models"]
    assert {m["id"] for m in models} == ids
    for m in models:
        meta = read_metadata(next(p for p in served_models if read_metadata(p)["id"] == m["id"]))
        assert m["labels"] == meta["labels"] and m["input"] == meta["input"]
        assert m["preprocessing"] == meta["preprocessing"] and m["architecture"] == meta["model"]
        assert m["attribution"] and "metrics" in m
        onnx_file = client.get(m["url"])
        assert onnx_file.status_code == 200 and len(onnx_file.content) > 1000
        assert onnx_file.headers["cross-origin-embedder-policy"] == "require-corp"
    assert client.get("/docs").status_code == 200
    schema = client.get("/openapi.json").json()
    body = schema["paths"]["/v1/predict"]["post"]["requestBody"]["content"]
    assert {"application/json", "multipart/form-data"} <= set(body)


def test_every_response_is_cross_origin_isolated(client):
    for path in ("/", "/healthz", "/v1/models", "/docs", "/openapi.json", "/no/such/path"):
        r = client.get(path)
        for k, v in ISOLATION.items():
            assert r.headers.get(k) == v, (path, dict(r.headers))
    r = client.post("/v1/predict", content=b"x", headers={"content-type": "text/plain"})
    assert r.headers["cross-origin-embedder-policy"] == "require-corp"


def test_predict_simplified_strokes_matches_python_pipeline(client, served_models, drawings):
    path = doodles_path(served_models)
    hits = 0
    for label, rec, _raw in drawings:
        r = client.post("/v1/predict", json={"model": "doodles", "strokes": rec["drawing"], "top_k": 5})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["model"] == "doodles" and body["ms"] > 0
        preds = body["predictions"]
        assert len(preds) == 5
        probs = [p["probability"] for p in preds]
        assert probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1 + 1e-6
        ref = reference_probs(path, rec["drawing"])
        labels = read_metadata(path)["labels"]
        assert preds[0]["label"] == labels[int(ref.argmax())]
        assert abs(preds[0]["probability"] - ref.max()) < 1e-5, (label, rec["key_id"])
        hits += preds[0]["label"] == label
    # the served model recognises real drawings far above chance (1/18)
    assert hits / len(drawings) > 0.3, hits


def test_predict_raw_strokes_are_simplified_first(client, served_models, drawings):
    path = doodles_path(served_models)
    labels = read_metadata(path)["labels"]
    same_as_google = 0
    n = 0
    for _label, rec, raw in drawings:
        if raw is None:
            continue
        n += 1
        r = client.post("/v1/predict", json={"model": "doodles", "strokes": raw["drawing"]})
        assert r.status_code == 200, r.text
        top = r.json()["predictions"][0]
        ref = reference_probs(path, raw["drawing"])
        assert top["label"] == labels[int(ref.argmax())]
        assert abs(top["probability"] - ref.max()) < 1e-5
        google = client.post("/v1/predict", json={"model": "doodles", "strokes": rec["drawing"]}).json()
        same_as_google += google["predictions"][0]["label"] == top["label"]
    assert n >= 10
    # our simplification of the raw drawing and Google's simplified drawing mostly get the same answer
    assert same_as_google / n >= 0.7, (same_as_google, n)


def test_predict_png_uploads_dark_on_light(client, served_models, drawings):
    """Drawings rasterized at 256x256, inverted to dark ink on white, uploaded as PNG files."""
    path = doodles_path(served_models)
    meta = read_metadata(path)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    agree = 0
    for _label, rec, _raw in drawings:
        strokes = [np.asarray(s, dtype=np.float64) for s in rec["drawing"]]
        png = png_bytes(255 - rasterize(strokes, size=256))
        r = client.post(
            "/v1/predict",
            files={"file": ("drawing.png", png, "image/png")},
            data={"model": "doodles", "top_k": "3"},
        )
        assert r.status_code == 200, r.text
        preds = r.json()["predictions"]
        assert len(preds) == 3
        x = to_model_input(normalize_ink(decode_image(png)), meta["input"]["size"])
        z = sess.run(["logits"], {"input": x.astype(np.float32)[None, None] / 255.0})[0][0]
        assert preds[0]["label"] == meta["labels"][int(z.argmax())]
        strokes_top = client.post("/v1/predict", json={"model": "doodles", "strokes": rec["drawing"]})
        agree += strokes_top.json()["predictions"][0]["label"] == preds[0]["label"]
    # an upload of a drawing is framed like the drawing itself: mostly the same guess
    assert agree / len(drawings) >= 0.7, agree


def test_upload_light_on_dark_and_jpeg(client, drawings):
    _label, rec, _raw = drawings[0]
    strokes = [np.asarray(s, dtype=np.float64) for s in rec["drawing"]]
    light = rasterize(strokes, size=300)
    dark = 255 - light
    answers = []
    for img, fmt, mime in ((light, "PNG", "image/png"), (dark, "JPEG", "image/jpeg")):
        buf = io.BytesIO()
        Image.fromarray(img).convert("RGB").save(buf, format=fmt)
        r = client.post("/v1/predict", files={"file": ("x", buf.getvalue(), mime)})
        assert r.status_code == 200, r.text
        answers.append(r.json()["predictions"][0]["label"])
    assert answers[0] == answers[1]


def test_model_defaults_to_first_and_top_k_is_clipped(client, served_models):
    strokes = [[[0, 255], [0, 255]], [[0, 255], [255, 0]]]
    r = client.post("/v1/predict", json={"strokes": strokes, "top_k": 20})
    assert r.status_code == 200
    first = read_metadata(served_models[0])
    assert r.json()["model"] == first["id"]
    assert len(r.json()["predictions"]) == min(20, len(first["labels"]))


def test_top_k_goes_up_to_20_and_above_is_a_clear_422(client, served_models):
    """A handwriting keyboard's candidate list: up to 20 guesses, in order, both for strokes and pictures."""
    strokes = [[[0, 255], [0, 255]], [[0, 255], [255, 0]]]
    for model in served_models:
        meta = read_metadata(model)
        r = client.post("/v1/predict", json={"model": meta["id"], "strokes": strokes, "top_k": 20})
        assert r.status_code == 200, r.text
        probs = [p["probability"] for p in r.json()["predictions"]]
        assert len(probs) == min(20, len(meta["labels"])) and probs == sorted(probs, reverse=True)
    for k in (21, 100):
        body = assert_error(
            client.post("/v1/predict", json={"strokes": strokes, "top_k": k}), 422, "invalid_request"
        )
        assert "top_k" in body["error"]["message"] and "20" in body["error"]["message"], body
    picture = png_bytes(np.pad(np.full((40, 8), 0, np.uint8), 12, constant_values=255))
    body = assert_error(
        client.post("/v1/predict", files={"file": ("a.png", picture, "image/png")}, data={"top_k": "21"}),
        422,
        "invalid_request",
    )
    assert "1..20" in body["error"]["message"], body
    r = client.post("/v1/predict", files={"file": ("a.png", picture, "image/png")}, data={"top_k": "20"})
    assert r.status_code == 200, r.text


# ---------------------------------------------------------------- bad input: clear 4xx, server keeps serving


def real_huge_png(side: int = 20000) -> bytes:
    """A genuine, valid side x side greyscale PNG (all white) that is small on disk: deflate of blank rows."""
    row = b"\0" + b"\xff" * side
    comp = zlib.compressobj(9)
    data = b"".join(comp.compress(row) for _ in range(side)) + comp.flush()

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return (
            struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))
        )

    ihdr = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", data) + chunk(b"IEND", b"")


@pytest.fixture(scope="module")
def huge_png() -> bytes:
    return real_huge_png()


def test_bad_requests_get_clear_4xx_and_the_server_keeps_serving(client, server, drawings, huge_png):
    strokes = drawings[0][1]["drawing"]
    ok_png = png_bytes(np.full((64, 64), 255, np.uint8))
    cases = [
        # corrupt / hostile pictures
        (dict(files={"file": ("a.png", ok_png[:40], "image/png")}), 422, "bad_image"),
        (dict(files={"file": ("a.png", b"\x89PNG not really", "image/png")}), 422, "bad_image"),
        (dict(files={"file": ("a.png", b"", "image/png")}), 422, "bad_image"),
        (dict(files={"file": ("a.png", png_header_only(20000, 20000), "image/png")}), 413, "image_too_large"),
        (dict(files={"file": ("a.png", huge_png, "image/png")}), 413, "image_too_large"),
        (dict(files={"file": ("a.png", ok_png, "image/png")}), 422, "empty_drawing"),  # blank paper
        (dict(data={"model": "doodles"}, files={"other": ("a", b"x")}), 422, "invalid_request"),
        (
            dict(files={"file": ("a.png", ok_png, "image/png")}, data={"top_k": "many"}),
            422,
            "invalid_request",
        ),
        # drawings
        (dict(json={"strokes": []}), 422, "empty_drawing"),
        (dict(json={"strokes": [[[], []]]}), 422, None),
        (dict(json={"model": "doodles"}), 422, "invalid_request"),
        (dict(json={"strokes": [[[1, 2, 3], [1, 2]]]}), 422, "invalid_request"),
        (dict(json={"strokes": [[[1, 2, 3]]]}), 422, "invalid_request"),
        (dict(json={"strokes": [[[1, 2], [1, 2], [0, 1], [5, 5]]]}), 422, "invalid_request"),
        (dict(json={"strokes": [[["a", "b"], [1, 2]]]}), 422, "invalid_request"),
        (dict(json={"strokes": strokes, "top_k": 0}), 422, "invalid_request"),
        (dict(json={"strokes": strokes, "extra": 1}), 422, "invalid_request"),
        (
            dict(
                content=b'{"strokes": [[[0, 1e999], [0, 1]]]}', headers={"content-type": "application/json"}
            ),
            422,
            None,
        ),
        (dict(json={"strokes": [[[0, 1e300], [0, 1]]]}), 422, "invalid_request"),
        (dict(json={"strokes": [[[0.0] * 9000, [0.0] * 9000]]}), 422, "invalid_request"),
        (dict(json={"strokes": [[[1, 2], [3, 4]]] * 600}), 422, "invalid_request"),
        (dict(json={"model": "no-such-model", "strokes": strokes}), 404, "unknown_model"),
        (dict(json={"model": "../../etc/passwd", "strokes": strokes}), 422, "invalid_request"),
        (dict(json=[1, 2, 3]), 422, "invalid_request"),
        # NaN / Infinity are not JSON, but Python and JavaScript writers emit them
        (
            dict(content=b'{"strokes": [[[NaN, 1], [2, 3]]]}', headers={"content-type": "application/json"}),
            None,
            None,
        ),
        (
            dict(
                content=b'{"strokes": [[[Infinity, 1], [2, 3]]]}',
                headers={"content-type": "application/json"},
            ),
            None,
            None,
        ),
        (
            dict(
                content=b'{"strokes": [[[1, 2], [2, -Infinity]]]}',
                headers={"content-type": "application/json"},
            ),
            None,
            None,
        ),
        # malformed bodies and wrong content types
        (
            dict(content=b'{"strokes": [[[1,2],[3,4]]', headers={"content-type": "application/json"}),
            400,
            "invalid_json",
        ),
        (
            dict(content=b"\xff\xfe\x00garbage", headers={"content-type": "application/json"}),
            400,
            "invalid_json",
        ),
        (
            dict(content=json.dumps({"strokes": strokes}).encode(), headers={"content-type": "text/plain"}),
            415,
            None,
        ),
        (dict(content=ok_png, headers={"content-type": "image/png"}), 415, "unsupported_media_type"),
        (dict(content=b"a=1", headers={"content-type": "application/x-www-form-urlencoded"}), 415, None),
        (
            dict(content=b"--xx\r\nbroken", headers={"content-type": "multipart/form-data; boundary=xx"}),
            None,
            None,
        ),
        (dict(content=b"{}"), 415, "unsupported_media_type"),
    ]
    for kwargs, status, code in cases:
        r = client.post("/v1/predict", **kwargs)
        if status is None:
            assert 400 <= r.status_code < 500, (kwargs.get("content"), r.status_code, r.text)
            assert_error(r, r.status_code)
        else:
            assert_error(r, status, code)
        assert r.headers["cross-origin-opener-policy"] == "same-origin"
    assert_error(client.get("/v1/predict"), 405, "method_not_allowed")
    assert_error(client.get("/v1/models/nope"), 404, "unknown_model")
    assert_error(client.get("/v1/models/nope/model.onnx"), 404, "unknown_model")
    assert_error(client.get("/no/such/thing"), 404)
    assert client.get("/healthz").status_code == 200
    assert server.proc.poll() is None


def test_ten_megabytes_of_json_is_refused_declared_or_streamed(client):
    big = b'{"strokes": [' + b"[[1,2],[3,4]]," * 800_000 + b"[[1],[2]]]}"
    assert len(big) > 10_000_000
    r = client.post("/v1/predict", content=big, headers={"content-type": "application/json"})
    assert_error(r, 413, "payload_too_large")

    def chunks():  # no Content-Length: the cap must hold while the body streams in
        for i in range(0, len(big), 65536):
            yield big[i : i + 65536]

    r = client.post("/v1/predict", content=chunks(), headers={"content-type": "application/json"})
    assert_error(r, 413, "payload_too_large")
    assert client.get("/healthz").status_code == 200


def test_big_upload_body_is_refused(client):
    blob = b"\x89PNG\r\n\x1a\n" + b"\0" * (9 << 20)
    r = client.post("/v1/predict", files={"file": ("big.png", blob, "image/png")})
    assert_error(r, 413, "payload_too_large")
    assert client.get("/healthz").status_code == 200


def test_slow_requests_hit_the_deadline(start_server, served_models, drawings):
    """A server with a tiny deadline answers 503 JSON instead of working on; health is not affected."""
    srv = start_server([*[a for p in served_models for a in ("--model", str(p))], "--timeout", "0.0005"])

    small = 255 - rasterize([np.asarray(s, float) for s in drawings[0][1]["drawing"]], size=512)
    png = png_bytes(np.asarray(Image.fromarray(small).resize((2000, 2000))))
    with httpx.Client(base_url=srv.url, timeout=30) as c:
        statuses = set()
        for _ in range(5):
            r = c.post("/v1/predict", files={"file": ("a.png", png, "image/png")})
            statuses.add(r.status_code)
            if r.status_code == 503:
                assert_error(r, 503, "timeout")
        assert 503 in statuses
        assert c.get("/healthz").status_code == 200


def test_keep_alive_connection_survives_errors(server, drawings):
    """One persistent connection: errors in between do not break the good requests after them."""
    with httpx.Client(base_url=server.url, timeout=30) as c:
        good = {"strokes": drawings[0][1]["drawing"]}
        first = c.post("/v1/predict", json=good).json()["predictions"]
        c.post("/v1/predict", content=b"{broken", headers={"content-type": "application/json"})
        c.post("/v1/predict", json={"strokes": []})
        again = c.post("/v1/predict", json=good).json()["predictions"]
        assert first == again


def test_concurrent_requests_get_their_own_answers(server, drawings):
    """Requests that arrive together are run as one batch: each must still get its own drawing's answer
    (same as asked alone), including a bad one in the middle of a batch."""

    bodies = [{"model": "doodles", "strokes": rec["drawing"], "top_k": 3} for _l, rec, _r in drawings]
    bodies += [{"model": "doodles", "strokes": raw["drawing"], "top_k": 3} for _l, _s, raw in drawings if raw]
    with httpx.Client(base_url=server.url, timeout=30) as c:
        alone = [c.post("/v1/predict", json=b).json()["predictions"] for b in bodies]

    bad = {"model": "doodles", "strokes": [[[5.5], [7.25], [0]]]}  # one raw point: simplifies to a point

    def ask(i):
        with httpx.Client(base_url=server.url, timeout=30) as c:
            out = []
            for k in range(i, len(bodies), 12):
                out.append((k, c.post("/v1/predict", json=bodies[k]).json()["predictions"]))
                c.post("/v1/predict", json=bad)
            return out

    with ThreadPoolExecutor(12) as pool:
        together = dict(kv for part in pool.map(ask, range(12)) for kv in part)
    assert len(together) == len(bodies)
    for k, preds in together.items():
        assert [p["label"] for p in preds] == [p["label"] for p in alone[k]], k
        for p, q in zip(preds, alone[k], strict=True):
            assert abs(p["probability"] - q["probability"]) < 1e-4


def test_page_and_its_files_are_served_isolated(client):
    """The drawing page at / and every file it loads carry the isolation headers; wasm is application/wasm."""
    files = page_files()
    if "index.html" not in files:
        r = client.get("/")
        assert r.status_code == 200 and "inkrec" in r.text and "/docs" in r.text  # the plain fallback page
        return
    r = client.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "preprocess/ink.js" in files and "vendor/ort.wasm.min.js" in files
    for rel, path in files.items():
        got = client.get("/" + rel)
        assert got.status_code == 200, rel
        assert got.content == path.read_bytes(), rel
        for k, v in ISOLATION.items():
            assert got.headers.get(k) == v, rel
        if rel.endswith(".wasm"):
            assert got.headers["content-type"] == "application/wasm"
    for source in ("__init__.py", "preprocess/raster.py", "../serve/app.py", "preprocess/"):
        assert client.get("/" + source).status_code == 404, source


def test_without_models_the_server_starts_and_says_so(start_server, tmp_path):
    empty = tmp_path / "no-models"
    empty.mkdir()

    srv = start_server([], env={**os.environ, "INKREC_MODELS": str(empty)})
    with httpx.Client(base_url=srv.url, timeout=30) as c:
        assert c.get("/healthz").json() == {"status": "ok", "models": []}
        body = c.get("/v1/models").json()
        assert body["models"] == [] and "inkrec serve --model" in body["message"]
        r = c.post("/v1/predict", json={"strokes": [[[0, 10], [0, 10]]]})
        assert_error(r, 404, "no_models")
        assert c.get("/").status_code == 200
