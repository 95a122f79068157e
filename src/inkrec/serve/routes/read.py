"""`POST /v1/read`: a line of several characters, as JSON strokes or a picture upload, read as text with each
character's box and ranked alternatives. The same bodies and limits as /v1/predict; a line's own limits
(length, width, no ink) answer 4xx with their own codes."""

from __future__ import annotations

import asyncio
import json
import time

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError

from inkrec.errors import DataFormatError
from inkrec.read.errors import LineError
from inkrec.read.reader import LineReader, Reading
from inkrec.runtime.onnx_model import OnnxModel
from inkrec.serve import preprocess
from inkrec.serve.dependencies import PredictorDep
from inkrec.serve.errors import ApiError, invalid_body
from inkrec.serve.predictor import Predictor
from inkrec.serve.routes.bodies import JSON, MULTIPART, media_type, read_upload, unsupported_media
from inkrec.serve.schemas import PredictRequest, ReadResponse, error_responses

router = APIRouter(tags=["read"])

_REQUEST_BODY = {
    "required": True,
    "content": {
        "application/json": {"schema": {"$ref": "#/components/schemas/PredictRequest"}},
        "multipart/form-data": {"schema": {"$ref": "#/components/schemas/UploadForm"}},
    },
}


def _reader(model: OnnxModel, top_k: int) -> LineReader:
    try:
        return LineReader(model, top_k=top_k)
    except LineError as exc:
        raise ApiError(exc.status, exc.code, exc.message) from None


def _run(work, *args) -> Reading:
    """A reading, with what is wrong with the line as the API's error."""
    try:
        return work(*args)
    except LineError as exc:
        raise ApiError(exc.status, exc.code, exc.message) from None
    except DataFormatError as exc:
        raise ApiError(422, "bad_image", f"cannot read the picture: {exc}") from None


def _answer(model: OnnxModel, reading: Reading, t0: float) -> Response:
    body = {"model": model.id, **reading.to_json(), "ms": round((time.perf_counter() - t0) * 1e3, 3)}
    return Response(json.dumps(body, ensure_ascii=False).encode(), media_type="application/json")


@router.post(
    "/v1/read",
    response_model=ReadResponse,
    responses=error_responses(400, 404, 413, 415, 422, 503),
    openapi_extra={"requestBody": _REQUEST_BODY},
    summary="Read a line of handwriting",
)
async def read(request: Request, predictor: PredictorDep) -> Response:
    """A line of characters written in one go: JSON strokes (the /v1/predict body; `top_k` is the number of
    alternatives per character) or a picture upload (multipart `file`, either polarity, photos too)."""
    t0 = time.perf_counter()
    media = media_type(request)
    loop = asyncio.get_running_loop()
    if media == JSON:
        try:
            req = PredictRequest.model_validate_json(await request.body())
        except ValidationError as exc:
            raise invalid_body(exc) from None
        model = predictor.model(req.model)
        reader = _reader(model, req.top_k)
        strokes = preprocess.to_arrays(req.strokes)
        reading = await loop.run_in_executor(predictor.pool, _run, reader.read_strokes, strokes)
        return _answer(model, reading, t0)
    if media == MULTIPART:
        return await _read_upload(request, predictor, t0)
    raise unsupported_media(media)


async def _read_upload(request: Request, predictor: Predictor, t0: float) -> Response:
    data, model, top_k = await read_upload(request, predictor)
    if not data:
        raise ApiError(422, "bad_image", "the uploaded file is empty")
    size = preprocess.image_size(data)
    max_pixels = predictor.settings.max_pixels
    if size is not None and size[0] * size[1] > max_pixels:
        raise ApiError(
            413, "image_too_large", f"picture is {size[0]}x{size[1]} pixels; at most {max_pixels:,} pixels"
        )
    reader = _reader(model, top_k)
    loop = asyncio.get_running_loop()
    reading = await loop.run_in_executor(
        predictor.pool, _run, lambda: reader.read_image(data, max_pixels=max_pixels)
    )
    return _answer(model, reading, t0)
