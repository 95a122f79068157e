"""`POST /v1/predict`: top-k guesses for a drawing, sent as JSON strokes or as a picture upload.

JSON strokes are answered by `StrokesFastPath` before this router is reached (see inkrec.serve.predictor);
the route still handles them when the app runs without it, and it is what documents both bodies.
"""

from __future__ import annotations

import time

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response

from inkrec.serve.dependencies import PredictorDep
from inkrec.serve.routes.bodies import JSON, MULTIPART, media_type, read_upload, unsupported_media
from inkrec.serve.schemas import PredictRequest, PredictResponse, UploadForm, error_responses

router = APIRouter(tags=["predict"])

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
    media = media_type(request)
    if media == JSON:
        status, payload = await predictor.strokes(await request.body(), t0)
        return Response(payload, status_code=status, media_type=JSON)
    if media == MULTIPART:
        data, model, top_k = await read_upload(request, predictor)
        return Response(await predictor.picture(data, model, top_k, t0), media_type=JSON)
    raise unsupported_media(media)


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
