"""`POST /v1/predict`: top-k guesses for a drawing, sent as JSON strokes or as a picture upload.

JSON strokes are answered by `StrokesFastPath` before this router is reached (see inkrec.serve.predictor);
the route still handles them when the app runs without it, and it is what documents both bodies.
"""

from __future__ import annotations

import time

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response
from starlette.datastructures import UploadFile

from inkrec.serve.dependencies import PredictorDep
from inkrec.serve.errors import ApiError
from inkrec.serve.predictor import Predictor
from inkrec.serve.schemas import MAX_TOP_K, PredictRequest, PredictResponse, UploadForm, error_responses

router = APIRouter(tags=["predict"])

_JSON = "application/json"
_REQUEST_BODY = {
    "required": True,
    "content": {
        "application/json": {"schema": {"$ref": "#/components/schemas/PredictRequest"}},
        "multipart/form-data": {"schema": {"$ref": "#/components/schemas/UploadForm"}},
    },
}


@router.post(
    "/v1/predict",
    response_model=PredictResponse,
    responses=error_responses(400, 404, 413, 415, 422, 503),
    openapi_extra={"requestBody": _REQUEST_BODY},
    summary="Guess what a drawing shows",
)
async def predict(request: Request, predictor: PredictorDep) -> Response:
    """Top-k guesses for a drawing: JSON strokes (simplified or raw Quick, Draw! layout) or a picture
    upload (multipart `file`, PNG/JPEG of any size, dark-on-light or light-on-dark, photos too)."""
    t0 = time.perf_counter()
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media == "application/json" or media.endswith("+json"):
        status, payload = await predictor.strokes(await request.body(), t0)
        return Response(payload, status_code=status, media_type=_JSON)
    if media == "multipart/form-data":
        return await _predict_upload(request, predictor, t0)
    raise ApiError(
        415,
        "unsupported_media_type",
        f"Content-Type {media or '(none)'!r}: send application/json strokes or a multipart/form-data "
        "upload with a 'file' part",
    )


async def _predict_upload(request: Request, predictor: Predictor, t0: float) -> Response:
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
    return Response(await predictor.picture(data, model, int(top_k), t0), media_type=_JSON)


def document_request_bodies(app: FastAPI) -> None:
    """Put the two request bodies of /v1/predict into the schema's components (they are read by hand, so
    FastAPI does not see them)."""
    base = app.openapi

    def openapi() -> dict:
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
