"""The prediction logic, body in and JSON bytes out, and its fast front door for stroke requests.

Speed matters here (a drawing page asks for a guess on every stroke), so a JSON strokes request is read by
`StrokesFastPath`, a plain ASGI layer in front of the FastAPI app, and validated with pydantic-core in one
pass, instead of going through the framework's request objects, routing and per-field dependency machinery.
The OpenAPI schema still documents both request bodies exactly (routes/predict.py). Pictures take the
ordinary route, and their decoding runs on a small pool of threads, one per core (Pillow, onnxruntime and
the rasterizer release the GIL), while the event loop keeps reading sockets.
"""

from __future__ import annotations

import asyncio
import functools
import io
import json
import logging
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from PIL import Image
from pydantic import ValidationError

from inkrec.read.reader import LineReader
from inkrec.runtime.metadata import reads_lines
from inkrec.runtime.onnx_model import OnnxModel
from inkrec.serve import preprocess
from inkrec.serve.batching import Batcher
from inkrec.serve.errors import ApiError, error_body, invalid_body
from inkrec.serve.runtime import NO_MODELS, ModelRegistry
from inkrec.serve.schemas import PredictRequest
from inkrec.serve.settings import ServeSettings

log = logging.getLogger("inkrec.serve")

# Drawings up to this many points are worked on right in the event loop (a fraction of a millisecond):
# handing them to a thread would cost more than the work. Bigger ones go to the inference threads.
INLINE_POINTS = 2000


class Predictor:
    """Model lookup and prediction for strokes (batched per model) and pictures."""

    def __init__(self, registry: ModelRegistry, pool: ThreadPoolExecutor, settings: ServeSettings):
        self.registry = registry
        self.pool = pool
        self.settings = settings
        self.batchers = {
            m.id: Batcher(
                functools.partial(self.run_batch, m),
                None if settings.inline_batches else pool,
                max_batch=settings.max_batch,
            )
            for m in registry.models.values()
            if m.kind == "bitmap" and settings.max_batch > 1
        }

    def model(self, model_id: str | None) -> OnnxModel:
        model = self.registry.get(model_id)
        if model is None:
            if not len(self.registry):
                raise ApiError(404, "no_models", NO_MODELS)
            raise ApiError(404, "unknown_model", f"unknown model {model_id!r}; models: {self.registry.ids()}")
        return model

    @staticmethod
    def answer(model: OnnxModel, preds: list[dict], t0: float, score: float | None = None) -> bytes:
        ms = round((time.perf_counter() - t0) * 1e3, 3)
        body = {"model": model.id, "predictions": preds, "ms": ms}
        if score is not None:  # a model without an open-set rule answers as before
            body["not_sure"] = model.not_sure(score)
            body["open_set_score"] = round(float(score), 4)
        # plain json (not jsonio): this is the hot path, and the answer is plain data already
        return json.dumps(body, ensure_ascii=False).encode()

    @staticmethod
    def guess(model: OnnxModel, inputs: tuple, top_k: int) -> tuple[list[dict], float | None]:
        """The top-k guesses for one drawing's model input and its open-set score (None without a rule)."""
        probs, scores = model.predict_open(*inputs)
        return model.top_k(probs[0], top_k), None if scores is None else float(scores[0])

    @staticmethod
    def run_strokes(req: PredictRequest, model: OnnxModel) -> tuple[list[dict], float | None]:
        inputs, _raw = preprocess.strokes_input(preprocess.to_arrays(req.strokes), model)
        return Predictor.guess(model, inputs, req.top_k)

    @staticmethod
    def run_batch(model: OnnxModel, items: list[list]) -> list:
        """Several requests' strokes -> one (probabilities, open-set score) per request (or its ApiError),
        with one rasterizer call and one model call for the whole batch."""
        results: list = [None] * len(items)
        drawings, where = [], []
        for i, strokes in enumerate(items):
            try:
                drawings.append(preprocess.simplified(strokes)[0])
                where.append(i)
            except ApiError as exc:
                results[i] = exc
        if drawings:
            probs, scores = model.predict_open(preprocess.drawings_input(drawings, model))
            for k, (i, row) in enumerate(zip(where, probs, strict=True)):
                results[i] = (row, None if scores is None else float(scores[k]))
        return results

    def run_image(self, data: bytes, model: OnnxModel, top_k: int) -> tuple[list[dict], float | None]:
        inputs = preprocess.image_input(data, model, max_pixels=self.settings.max_pixels)
        return self.guess(model, inputs, top_k)

    async def strokes(self, body: bytes, t0: float) -> tuple[int, bytes]:
        """(HTTP status, JSON body) for a JSON strokes request."""
        try:
            try:
                req = PredictRequest.model_validate_json(body)
            except ValidationError as exc:
                raise invalid_body(exc) from None
            model = self.model(req.model)
            batcher = self.batchers.get(model.id)
            if batcher is not None:
                result = await batcher.submit(preprocess.to_arrays(req.strokes))
                if isinstance(result, ApiError):
                    raise result
                preds, score = model.top_k(result[0], req.top_k), result[1]
            elif sum(len(s[0]) for s in req.strokes) <= INLINE_POINTS:
                preds, score = self.run_strokes(req, model)
            else:
                preds, score = await asyncio.get_running_loop().run_in_executor(
                    self.pool, self.run_strokes, req, model
                )
        except ApiError as exc:
            return exc.status, error_body(exc.code, exc.message)
        return 200, self.answer(model, preds, t0, score)

    async def picture(self, data: bytes, model: OnnxModel, top_k: int, t0: float) -> bytes:
        """JSON body for a picture upload, decoded and run on the inference threads."""
        loop = asyncio.get_running_loop()
        preds, score = await loop.run_in_executor(self.pool, self.run_image, data, model, top_k)
        return self.answer(model, preds, t0, score)


class StrokesFastPath:
    """Plain-ASGI handling of `POST /v1/predict` with JSON strokes, the request a drawing page sends on
    every stroke: it skips the framework's request objects and routing (a good part of a sub-millisecond
    request). Everything else, uploads included, goes on to the FastAPI app."""

    def __init__(self, app, *, predictor: Predictor):
        self.app = app
        self.predictor = predictor

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"] == "/v1/predict":
            ctype = next((v for k, v in scope["headers"] if k == b"content-type"), b"")
            media = ctype.split(b";", 1)[0].strip().lower()
            if media == b"application/json" or media.endswith(b"+json"):
                t0 = time.perf_counter()
                chunks = []
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        return
                    chunks.append(message.get("body", b""))
                    if not message.get("more_body", False):
                        break
                status, payload = await self.predictor.strokes(b"".join(chunks), t0)
                await send(
                    {
                        "type": "http.response.start",
                        "status": status,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"content-length", b"%d" % len(payload)),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": payload})
                return
        await self.app(scope, receive, send)


def warm_up(registry: ModelRegistry, *, max_pixels: int) -> None:
    """Run every path once before the port opens: the first request should not pay for JIT compiling
    the rasterizer, loading decoders or onnxruntime's first-run allocations (nor hit its deadline)."""
    strokes = [np.array([[0.0, 128.0, 255.0], [0.0, 200.0, 40.0]]), np.array([[30.0, 220.0], [128.0, 128.0]])]
    buf = io.BytesIO()
    picture = np.full((96, 96), 255, np.uint8)
    picture[20:76, 44:52] = 0
    Image.fromarray(picture).save(buf, format="PNG")

    png = buf.getvalue()
    raw = [np.vstack([s * 3.0 + 0.5, np.arange(s.shape[1], dtype=float) * 16.0]) for s in strokes]
    for model in registry.models.values():
        jobs = {
            "strokes": lambda m=model: preprocess.strokes_input(strokes, m)[0],
            "raw strokes": lambda m=model: preprocess.strokes_input(raw, m)[0],
        }
        if model.kind == "bitmap":
            jobs["picture"] = lambda m=model: preprocess.image_input(png, m, max_pixels=max_pixels)
        for name, make_input in jobs.items():
            try:
                model.predict(*make_input())
            except Exception as exc:  # noqa: BLE001 - warming up is an optimisation; requests will say why
                log.warning(
                    "warm-up (%s) of model %s failed: %s: %s", name, model.id, type(exc).__name__, exc
                )
        if model.kind == "bitmap" and reads_lines(model.meta):
            try:  # the line reader's kernels (labelling, morphology) compile here, not on a first request
                LineReader(model).read_image(png)
            except Exception as exc:  # noqa: BLE001 - as above
                log.warning("warm-up (line) of model %s failed: %s: %s", model.id, type(exc).__name__, exc)
