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
from starlette.datastructures import UploadFile

from inkrec.errors import DataFormatError
from inkrec.read.errors import LineError
from inkrec.read.reader import LineReader, Reading
from inkrec.runtime.onnx_model import OnnxModel
from inkrec.serve import preprocess
from inkrec.serve.dependencies import PredictorDep
from inkrec.serve.errors import ApiError, invalid_body
from inkrec.serve.predictor import Predictor
from inkrec.serve.schemas import MAX_TOP_K, PredictRequest, ReadResponse, error_responses

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
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    loop = asyncio.get_running_loop()
    if media == "application/json" or media.endswith("+json"):
        try:
            req = PredictRequest.model_validate_json(await request.body())
        except ValidationError as exc:
            raise invalid_body(exc) from None
        model = predictor.model(req.model)
        reader = _reader(model, req.top_k)
        strokes = preprocess.to_arrays(req.strokes)
        reading = await loop.run_in_executor(predictor.pool, _run, reader.read_strokes, strokes)
        return _answer(model, reading, t0)
    if media == "multipart/form-data":
        return await _read_upload(request, predictor, t0)
    raise ApiError(
        415,
        "unsupported_media_type",
        f"Content-Type {media or '(none)'!r}: send application/json strokes or a multipart/form-data "
        "upload with a 'file' part",
    )


async def _read_upload(request: Request, predictor: Predictor, t0: float) -> Response:
    form = await request.form(max_files=1, max_fields=8, max_part_size=64 * 1024)
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise ApiError(422, "invalid_request", "multipart body needs a 'file' part with the picture")
        model_field = form.get("model")
        model = predictor.model(model_field if isinstance(model_field, str) and model_field else None)
        top_k = form.get("top_k", "5")
        if not isinstance(top_k, str) or not top_k.strip().isdigit() or not 1 <= int(top_k) <= MAX_TOP_K:
            raise ApiError(422, "invalid_request", f"top_k must be an integer in 1..{MAX_TOP_K}")
        data = await upload.read()
    finally:
        await form.close()
    if not data:
        raise ApiError(422, "bad_image", "the uploaded file is empty")
    size = preprocess.image_size(data)
    max_pixels = predictor.settings.max_pixels
    if size is not None and size[0] * size[1] > max_pixels:
        raise ApiError(
            413, "image_too_large", f"picture is {size[0]}x{size[1]} pixels; at most {max_pixels:,} pixels"
        )
    reader = _reader(model, int(top_k))
    loop = asyncio.get_running_loop()
    reading = await loop.run_in_executor(
        predictor.pool, _run, lambda: reader.read_image(data, max_pixels=max_pixels)
    )
    return _answer(model, reading, t0)
