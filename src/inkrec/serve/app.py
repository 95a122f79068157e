"""The HTTP API and the drawing page: `create_app(settings)` builds the FastAPI app.

It loads the models and warms them up before it returns, so that a bad model fails before a port opens and
the first request is as fast as the next. Around the routers sit two plain-ASGI layers (microseconds each):
`ServeGuard` (limits, deadlines, isolation headers, last-resort errors) and `StrokesFastPath` (the stroke
request a drawing page sends on every stroke, answered without the framework's routing).
`uvicorn --factory inkrec.serve.app:create_app` builds it from INKREC_* environment variables alone.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from inkrec import __version__
from inkrec.serve.errors import ApiError, error_body, validation_message
from inkrec.serve.guard import ServeGuard
from inkrec.serve.predictor import Predictor, StrokesFastPath, warm_up
from inkrec.serve.routes import docs, health, models, page, predict, read
from inkrec.serve.runtime import ModelRegistry, cpu_count
from inkrec.serve.settings import ServeSettings

_HTTP_CODES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}


def create_app(settings: ServeSettings | None = None) -> FastAPI:
    """The app for these settings (default: `ServeSettings()`, from the environment)."""
    settings = settings or ServeSettings()
    registry = ModelRegistry(settings.model_specs(), intra_op_threads=settings.intra_op_threads)
    warm_up(registry, max_pixels=settings.max_pixels)
    pool = ThreadPoolExecutor(max_workers=settings.threads or cpu_count(), thread_name_prefix="inkrec-infer")
    predictor = Predictor(registry, pool, settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        pool.shutdown(wait=False, cancel_futures=True)

    app = FastAPI(
        title="inkrec",
        version=__version__,
        description="Recognize hand-drawn doodles and handwriting. Send strokes (JSON) or a picture "
        "(multipart upload) to `/v1/predict`; list the models with `/v1/models`.",
        docs_url=None,  # routes/docs.py: Swagger UI from our own files
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.registry = registry
    app.state.predictor = predictor

    app.add_middleware(StrokesFastPath, predictor=predictor)
    app.add_middleware(
        ServeGuard,
        max_json_bytes=settings.max_json_bytes,
        max_upload_bytes=settings.max_upload_bytes,
        timeout_s=settings.timeout,
    )
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _request_invalid)

    app.include_router(predict.router)
    app.include_router(read.router)
    app.include_router(models.router)
    app.include_router(health.router)
    app.include_router(docs.router)
    predict.document_request_bodies(app)
    page.add_page(app, settings.page_dir)
    return app


def _error(status: int, code: str, message: str) -> Response:
    return Response(error_body(code, message), status_code=status, media_type="application/json")


async def _api_error(_request: Request, exc: ApiError) -> Response:
    return _error(exc.status, exc.code, exc.message)


async def _http_error(_request: Request, exc: StarletteHTTPException) -> Response:
    response = _error(exc.status_code, _HTTP_CODES.get(exc.status_code, "http_error"), str(exc.detail))
    if exc.headers:
        response.headers.update(exc.headers)
    return response


async def _request_invalid(_request: Request, exc: RequestValidationError) -> Response:
    return _error(422, *validation_message(exc.errors()))
