"""The two bodies /v1/predict and /v1/read take, read one way: JSON strokes or a multipart picture upload.

Both routes read their bodies by hand (the JSON fast path skips FastAPI's parsing), so the media-type check,
the 415 answer and the upload form's checks live here once.
"""

from __future__ import annotations

from fastapi import Request
from starlette.datastructures import UploadFile

from inkrec.runtime.onnx_model import OnnxModel
from inkrec.serve.errors import ApiError
from inkrec.serve.predictor import Predictor
from inkrec.serve.schemas import MAX_TOP_K

JSON = "application/json"
MULTIPART = "multipart/form-data"


def media_type(request: Request) -> str:
    """The request's media type, lower case, without parameters; any `+json` type counts as JSON."""
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    return JSON if media.endswith("+json") else media


def unsupported_media(media: str) -> ApiError:
    return ApiError(
        415,
        "unsupported_media_type",
        f"Content-Type {media or '(none)'!r}: send application/json strokes or a multipart/form-data "
        "upload with a 'file' part",
    )


async def read_upload(request: Request, predictor: Predictor) -> tuple[bytes, OnnxModel, int]:
    """(picture bytes, model, top_k) of a multipart upload, checked: a 'file' part, top_k in range, a known
    model."""
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
        model = predictor.model(model_id)
        data = await upload.read()
    finally:
        await form.close()
    return data, model, int(top_k)
