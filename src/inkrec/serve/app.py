"""The HTTP API and the drawing page: `create_app(models=[...])` builds the FastAPI app.

Speed matters here (a drawing page asks for a guess on every stroke), so the predict route reads its body
itself and validates it with pydantic-core in one pass, instead of going through FastAPI's per-field
dependency machinery; the OpenAPI schema still documents both request bodies exactly. Preprocessing and
inference run on a small pool of threads, one per core (onnxruntime, Pillow and the rasterizer release
the GIL), so several requests are worked on at once while the event loop keeps reading sockets.
"""

from __future__ import annotations

import asyncio
import functools
import html
import json
import logging
import mimetypes
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import ValidationError
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException

from inkrec import __version__
from inkrec.page import page_files
from inkrec.serve import preprocess
from inkrec.serve.batching import Batcher
from inkrec.serve.errors import ApiError, error_body
from inkrec.serve.guard import ServeGuard
from inkrec.serve.runtime import ModelRegistry, cpu_count
from inkrec.serve.schemas import (
    MAX_TOP_K,
    ErrorResponse,
    Health,
    ModelInfo,
    ModelList,
    PredictRequest,
    PredictResponse,
    UploadForm,
)

log = logging.getLogger("inkrec.serve")

# Browsers compile WebAssembly while it downloads only when it is served as application/wasm.
mimetypes.add_type("application/wasm", ".wasm")
mimetypes.add_type("text/javascript", ".mjs")
mimetypes.add_type("application/octet-stream", ".onnx")

NO_MODELS = (
    "no models loaded: start the server with `inkrec serve --model MODEL.onnx`, or put exported models "
    "in ./models (or set INKREC_MODELS to a folder of .onnx files)"
)


@dataclass
class ServeConfig:
    """Everything a server instance needs; JSON-able so that worker processes can rebuild it."""

    models: list[str] = field(default_factory=list)
    threads: int = 0  # inference threads; 0 = one per core
    intra_op_threads: int = 1
    max_json_bytes: int = 1 << 20  # a drawing is a few kB; 1 MiB leaves room for long raw drawings
    max_upload_bytes: int = 8 << 20  # a phone photo of a sheet of paper
    max_pixels: int = 25_000_000  # checked from the image header, before decoding
    timeout_s: float = 10.0
    max_batch: int = 32  # drawings run together when requests queue up (1: no batching)
    # Run stroke batches on the event loop's own thread. A sub-millisecond batch costs less than handing it
    # to a pool thread and back: with a pool, the loop and the pool thread take turns at the GIL, and
    # under load requests wait for its 5 ms switch interval (measured here: 725 vs 2,550 stroke
    # requests/s on one process, p99 147 vs 7 ms). Pictures (decoding takes milliseconds) still go to
    # the pool.
    inline_batches: bool = True
    static_dir: str | None = None  # default: the packaged page, if built


_JSON = "application/json"
_ERRORS = {
    status: {"model": ErrorResponse, "description": text}
    for status, text in [
        (400, "Malformed JSON or multipart body."),
        (404, "Unknown model."),
        (413, "Body or picture too large."),
        (415, "Neither application/json nor multipart/form-data."),
        (422, "Invalid drawing, picture or parameters."),
        (503, "The request took too long."),
    ]
}


def _json(data, status: int = 200) -> Response:
    return Response(json.dumps(data, ensure_ascii=False).encode(), status_code=status, media_type=_JSON)


def _err(status: int, code: str, message: str) -> Response:
    return Response(error_body(code, message), status_code=status, media_type=_JSON)


def _validation_message(exc: ValidationError | RequestValidationError) -> tuple[str, str]:
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        first = next(e for e in errors if e.get("type") == "json_invalid")
        return (
            "invalid_json",
            f"body is not valid JSON: {first.get('ctx', {}).get('error', first.get('msg'))}",
        )
    parts = []
    for e in errors[:5]:
        loc = ".".join(str(p) for p in e.get("loc", ()) if p != "body")
        if loc == "strokes" and e.get("type") == "too_short":
            return "empty_drawing", "the drawing has no strokes"
        parts.append(f"{loc or 'body'}: {e.get('msg')}")
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    return "invalid_request", "; ".join(parts) + more


# Drawings up to this many points are worked on right in the event loop (a fraction of a millisecond):
# handing them to a thread would cost more than the work. Bigger ones go to the inference threads.
INLINE_POINTS = 2000


class Predictor:
    """The prediction logic shared by the FastAPI route and the fast path: body in, JSON bytes out."""

    def __init__(self, registry: ModelRegistry, pool: ThreadPoolExecutor, config: ServeConfig):
        self.registry = registry
        self.pool = pool
        self.config = config
        self.batchers = {
            m.id: Batcher(
                functools.partial(self.run_batch, m),
                None if config.inline_batches else pool,
                max_batch=config.max_batch,
            )
            for m in registry.models.values()
            if m.kind == "bitmap" and config.max_batch > 1
        }

    def model(self, model_id: str | None):
        model = self.registry.get(model_id)
        if model is None:
            if not len(self.registry):
                raise ApiError(404, "no_models", NO_MODELS)
            raise ApiError(404, "unknown_model", f"unknown model {model_id!r}; models: {self.registry.ids()}")
        return model

    @staticmethod
    def answer(model, preds: list[dict], t0: float) -> bytes:
        ms = round((time.perf_counter() - t0) * 1e3, 3)
        return json.dumps({"model": model.id, "predictions": preds, "ms": ms}, ensure_ascii=False).encode()

    @staticmethod
    def run_strokes(req: PredictRequest, model) -> list[dict]:
        inputs, _raw = preprocess.strokes_input(preprocess.to_arrays(req.strokes), model)
        return model.top_k(model.predict(*inputs)[0], req.top_k)

    @staticmethod
    def run_batch(model, items: list[list]) -> list:
        """Several requests' strokes -> one row of probabilities (or the ApiError) per request, with one
        rasterizer call and one model call for the whole batch."""
        results: list = [None] * len(items)
        drawings, where = [], []
        for i, strokes in enumerate(items):
            try:
                drawings.append(preprocess.simplified(strokes)[0])
                where.append(i)
            except ApiError as exc:
                results[i] = exc
        if drawings:
            probs = model.predict(preprocess.drawings_input(drawings, model))
            for i, row in zip(where, probs, strict=True):
                results[i] = row
        return results

    def run_image(self, data: bytes, model, top_k: int) -> list[dict]:
        inputs = preprocess.image_input(data, model, max_pixels=self.config.max_pixels)
        return model.top_k(model.predict(*inputs)[0], top_k)

    async def strokes(self, body: bytes, t0: float) -> tuple[int, bytes]:
        """(HTTP status, JSON body) for a JSON strokes request."""
        try:
            req = PredictRequest.model_validate_json(body)
        except ValidationError as exc:
            code, message = _validation_message(exc)
            return (400 if code == "invalid_json" else 422), error_body(code, message)
        try:
            model = self.model(req.model)
            batcher = self.batchers.get(model.id)
            if batcher is not None:
                probs = await batcher.submit(preprocess.to_arrays(req.strokes))
                if isinstance(probs, ApiError):
                    raise probs
                preds = model.top_k(probs, req.top_k)
            elif sum(len(s[0]) for s in req.strokes) <= INLINE_POINTS:
                preds = self.run_strokes(req, model)
            else:
                preds = await asyncio.get_running_loop().run_in_executor(
                    self.pool, self.run_strokes, req, model
                )
        except ApiError as exc:
            return exc.status, error_body(exc.code, exc.message)
        return 200, self.answer(model, preds, t0)


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


def create_app(config: ServeConfig | None = None, **overrides) -> FastAPI:
    """Build the app. `create_app(models=["doodles.onnx"])` or `create_app(ServeConfig(...))`."""
    config = config or ServeConfig()
    for key, value in overrides.items():
        setattr(config, key, value)
    registry = ModelRegistry(config.models, intra_op_threads=config.intra_op_threads)
    _warm_up(registry, config)
    threads = config.threads or cpu_count()
    pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="inkrec-infer")
    predictor = Predictor(registry, pool, config)

    app = FastAPI(
        title="inkrec",
        version=__version__,
        description="Recognize hand-drawn doodles and handwriting. Send strokes (JSON) or a picture "
        "(multipart upload) to `/v1/predict`; list the models with `/v1/models`.",
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.registry = registry
    app.state.config = config
    app.state.pool = pool
    app.router.on_shutdown.append(lambda: pool.shutdown(wait=False, cancel_futures=True))
    app.add_middleware(StrokesFastPath, predictor=predictor)
    app.add_middleware(
        ServeGuard,
        max_json_bytes=config.max_json_bytes,
        max_upload_bytes=config.max_upload_bytes,
        timeout_s=config.timeout_s,
    )

    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError):
        return _err(exc.status, exc.code, exc.message)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, exc: StarletteHTTPException):
        codes = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}
        response = _err(exc.status_code, codes.get(exc.status_code, "http_error"), str(exc.detail))
        if exc.headers:
            response.headers.update(exc.headers)
        return response

    @app.exception_handler(RequestValidationError)
    async def _request_invalid(_request: Request, exc: RequestValidationError):
        return _err(422, *_validation_message(exc))

    model_or_404 = predictor.model

    async def predict_json(request: Request, t0: float) -> Response:
        status, payload = await predictor.strokes(await request.body(), t0)
        return Response(payload, status_code=status, media_type=_JSON)

    async def predict_upload(request: Request, t0: float) -> Response:
        form = await request.form(max_files=1, max_fields=8, max_part_size=64 * 1024)
        try:
            upload = form.get("file")
            if not isinstance(upload, UploadFile):
                raise ApiError(422, "invalid_request", "multipart body needs a 'file' part with the picture")
            model_field = form.get("model")
            model_id = model_field if isinstance(model_field, str) and model_field else None
            top_k = form.get("top_k", "5")
            if not isinstance(top_k, str) or not top_k.strip().isdigit() or not 1 <= int(top_k) <= MAX_TOP_K:
                raise ApiError(422, "invalid_request", f"top_k must be an integer in 1..{MAX_TOP_K}")
            model = model_or_404(model_id)
            data = await upload.read()
        finally:
            await form.close()
        loop = asyncio.get_running_loop()
        preds = await loop.run_in_executor(pool, predictor.run_image, data, model, int(top_k))
        return Response(predictor.answer(model, preds, t0), media_type=_JSON)

    request_body = {
        "required": True,
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/PredictRequest"}},
            "multipart/form-data": {"schema": {"$ref": "#/components/schemas/UploadForm"}},
        },
    }

    @app.post(
        "/v1/predict",
        response_model=PredictResponse,
        responses=_ERRORS,
        openapi_extra={"requestBody": request_body},
        summary="Guess what a drawing shows",
        tags=["predict"],
    )
    async def predict(request: Request) -> Response:
        """Top-k guesses for a drawing: JSON strokes (simplified or raw Quick, Draw! layout) or a picture
        upload (multipart `file`, PNG/JPEG of any size, dark-on-light or light-on-dark, photos too)."""
        t0 = time.perf_counter()
        media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if media == "application/json" or media.endswith("+json"):
            return await predict_json(request, t0)
        if media == "multipart/form-data":
            return await predict_upload(request, t0)
        raise ApiError(
            415,
            "unsupported_media_type",
            f"Content-Type {media or '(none)'!r}: send application/json strokes or a multipart/form-data "
            "upload with a 'file' part",
        )

    @app.get("/v1/models", response_model=ModelList, tags=["models"], summary="The models this server holds")
    async def models() -> Response:
        data = {"models": [m.info() for m in registry.models.values()]}
        if not len(registry):
            data["message"] = NO_MODELS
        return _json(data)

    @app.get(
        "/v1/models/{model_id}", response_model=ModelInfo, responses={404: _ERRORS[404]}, tags=["models"]
    )
    async def model_info(model_id: str) -> Response:
        return _json(model_or_404(model_id).info())

    @app.get(
        "/v1/models/{model_id}/model.onnx",
        responses={200: {"content": {"application/octet-stream": {}}}, 404: _ERRORS[404]},
        response_class=Response,
        tags=["models"],
        summary="The ONNX file, with its metadata inside (for onnxruntime-web)",
    )
    async def model_file(model_id: str):
        model = model_or_404(model_id)
        return FileResponse(model.path, media_type="application/octet-stream", filename=f"{model.id}.onnx")

    @app.get("/healthz", response_model=Health, tags=["health"])
    async def healthz() -> Response:
        return _json({"status": "ok", "models": registry.ids()})

    _add_openapi_bodies(app)

    files = page_files(config.static_dir)
    if "index.html" in files:
        # the page answers whatever no API route matched (a mount at "/" would also swallow the API's
        # 405s, e.g. GET /v1/predict)
        app.router.default = PageFiles(files)
    else:

        @app.get("/", response_class=HTMLResponse, include_in_schema=False)
        async def index() -> HTMLResponse:
            return HTMLResponse(_fallback_page(registry))

    return app


class PageFiles(StaticFiles):
    """The page's tree (`inkrec.page.page_files`) and nothing else: no directory listing, no Python source."""

    def __init__(self, files: dict[str, Path]):
        super().__init__(html=True, check_dir=False)
        self.files = files

    def lookup_path(self, path: str) -> tuple[str, os.stat_result | None]:
        name = "index.html" if path in ("", ".") else Path(path).as_posix()
        file = self.files.get(name)
        if file is None:
            return "", None
        try:
            return str(file), os.stat(file)
        except OSError:
            return "", None


def _warm_up(registry: ModelRegistry, config: ServeConfig) -> None:
    """Run every path once before the port opens: the first request should not pay for JIT compiling
    the rasterizer, loading decoders or onnxruntime's first-run allocations (nor hit its deadline)."""
    import io

    import numpy as np
    from PIL import Image

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
            jobs["picture"] = lambda m=model: preprocess.image_input(png, m, max_pixels=config.max_pixels)
        for name, make_input in jobs.items():
            try:
                model.predict(*make_input())
            except Exception as exc:  # noqa: BLE001 - warming up is an optimisation; requests will say why
                log.warning(
                    "warm-up (%s) of model %s failed: %s: %s", name, model.id, type(exc).__name__, exc
                )


def _add_openapi_bodies(app: FastAPI) -> None:
    """Put the two request bodies of /v1/predict into the schema's components (they are read by hand)."""
    base = app.openapi

    def openapi():
        if app.openapi_schema:
            return app.openapi_schema
        schema = base()
        comps = schema.setdefault("components", {}).setdefault("schemas", {})
        for model in (PredictRequest, UploadForm):
            js = model.model_json_schema(ref_template="#/components/schemas/{model}")
            comps.update(js.pop("$defs", {}))
            comps[model.__name__] = js
        # multipart: the picture is a binary string part
        comps["UploadForm"]["properties"]["file"] = {"type": "string", "format": "binary"}
        app.openapi_schema = schema
        return schema

    app.openapi = openapi


def _fallback_page(registry: ModelRegistry) -> str:
    """A plain page for when the drawing page has not been built: what is loaded, and where the API is."""
    if len(registry):
        items = "".join(
            f"<li><b>{html.escape(m.id)}</b>: {len(m.labels)} classes "
            f"({html.escape(', '.join(m.labels[:8]))}{', ...' if len(m.labels) > 8 else ''})</li>"
            for m in registry.models.values()
        )
        body = f"<p>Models:</p><ul>{items}</ul>"
    else:
        body = f"<p>{html.escape(NO_MODELS)}</p>"
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>inkrec</title></head><body>"
        f"<h1>inkrec</h1>{body}<p>The drawing page is not built in this install. API: "
        "<a href='/docs'>/docs</a>, <a href='/v1/models'>/v1/models</a>.</p></body></html>"
    )


def create_app_from_env() -> FastAPI:
    """App factory for worker processes: the config comes as JSON in INKREC_SERVE_CONFIG."""
    raw = os.environ.get("INKREC_SERVE_CONFIG", "{}")
    return create_app(ServeConfig(**json.loads(raw)))
