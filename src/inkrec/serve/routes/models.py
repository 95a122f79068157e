"""`GET /v1/models...`: what the server holds, each model's description, and its ONNX file for the browser."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse, Response

from inkrec.serve.dependencies import ModelDep, RegistryDep
from inkrec.serve.runtime import NO_MODELS
from inkrec.serve.schemas import ModelDescription, ModelList, error_responses

router = APIRouter(prefix="/v1/models", tags=["models"])


@router.get("", summary="The models this server holds", response_model_exclude_unset=True)
async def list_models(registry: RegistryDep) -> ModelList:
    models = [ModelDescription(**m.info()) for m in registry.models.values()]
    return ModelList(models=models) if models else ModelList(models=[], message=NO_MODELS)


@router.get("/{model_id}", responses=error_responses(404), summary="One model: labels, input, preprocessing")
async def describe_model(model: ModelDep) -> ModelDescription:
    return ModelDescription(**model.info())


@router.get(
    "/{model_id}/model.onnx",
    responses={200: {"content": {"application/octet-stream": {}}}, **error_responses(404)},
    response_class=Response,
    summary="The ONNX file, with its metadata inside (for onnxruntime-web)",
)
async def model_file(model: ModelDep) -> FileResponse:
    return FileResponse(model.path, media_type="application/octet-stream", filename=f"{model.id}.onnx")
