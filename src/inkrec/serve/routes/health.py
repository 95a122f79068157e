"""`GET /healthz`: the server is up, and which models it holds (for load balancers and container checks)."""

from __future__ import annotations

from fastapi import APIRouter

from inkrec.serve.dependencies import RegistryDep
from inkrec.serve.schemas import Health

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The server is up")
async def healthz(registry: RegistryDep) -> Health:
    return Health(status="ok", models=registry.ids())
