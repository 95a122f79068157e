"""What a route may ask for, as typed dependencies: `registry: RegistryDep`, `model: ModelDep`, ...

`create_app` builds these objects once and keeps them on `app.state`; the functions here hand them to a
route, so a route names what it needs in its signature and a test can swap any of them
(`app.dependency_overrides`). They are coroutines: FastAPI would run plain functions on a worker thread.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from inkrec.runtime.onnx_model import OnnxModel
from inkrec.serve.predictor import Predictor
from inkrec.serve.runtime import ModelRegistry
from inkrec.serve.settings import ServeSettings


async def get_settings(request: Request) -> ServeSettings:
    return request.app.state.settings


async def get_registry(request: Request) -> ModelRegistry:
    return request.app.state.registry


async def get_predictor(request: Request) -> Predictor:
    return request.app.state.predictor


SettingsDep = Annotated[ServeSettings, Depends(get_settings)]
RegistryDep = Annotated[ModelRegistry, Depends(get_registry)]
PredictorDep = Annotated[Predictor, Depends(get_predictor)]


async def get_model(model_id: str, predictor: PredictorDep) -> OnnxModel:
    """The model named in the path; a 404 JSON error for an unknown one."""
    return predictor.model(model_id)


ModelDep = Annotated[OnnxModel, Depends(get_model)]
