"""Every option of the server in one class: `ServeSettings`, filled from `inkrec serve`'s options, from
INKREC_* environment variables (INKREC_PORT=9000, INKREC_MAX_BATCH=8, ...) or from Python.

Worker processes (`--workers N`) are started by uvicorn from an import string and cannot be handed Python
objects: the parent writes its settings into the environment (`as_env`) and each worker reads them back with
`ServeSettings()`. One class and one set of names, both ways.

INKREC_MODELS keeps its older meaning, a folder of exported .onnx files (the bundled models, as in the Docker
image); it may also hold a JSON list of model specs, which is how workers get the parent's exact list.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from inkrec.jsonio import dumps
from inkrec.serve.runtime import default_model_paths, models_in, split_spec

ENV_PREFIX = "INKREC_"


class ServeSettings(BaseSettings):
    """What one server (and each of its worker processes) runs with."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid")

    models: Annotated[list[str] | None, NoDecode] = Field(
        None,
        description="Model specs, PATH.onnx or ID=PATH.onnx. None: the bundled models ($INKREC_MODELS, else "
        "./models, else the repository's models/).",
    )
    host: str = Field("127.0.0.1", description="Address to listen on (0.0.0.0 for every interface).")
    port: int = Field(8000, ge=0, le=65535, description="TCP port.")
    workers: int = Field(
        1, ge=1, description="Server processes sharing the port (one per core for heavy load)."
    )
    threads: int = Field(0, ge=0, description="Inference threads per process (0: one per core).")
    intra_op_threads: int = Field(1, ge=1, description="onnxruntime threads per model call.")
    max_batch: int = Field(
        32, description="Most drawings run together when requests queue up (1: no batching)."
    )
    timeout: float = Field(10.0, gt=0, description="Seconds an API request may take before a 503.")
    graceful_timeout: float = Field(
        10.0, ge=0, description="Seconds a stopping server (SIGTERM) waits for requests in flight."
    )
    max_upload_mb: float = Field(8.0, gt=0, description="Largest accepted upload body, MiB.")
    max_json_bytes: int = Field(
        1 << 20, gt=0, description="Largest JSON body (a drawing is a few kB; raw drawings can be long)."
    )
    max_pixels: int = Field(
        25_000_000, gt=0, description="Largest picture, in pixels, checked from its header before decoding."
    )
    page_dir: Path | None = Field(None, description="Serve the drawing page from this folder (development).")
    access_log: bool = Field(False, description="Log every request (slower).")
    # Run stroke batches on the event loop's own thread. A sub-millisecond batch costs less than handing it
    # to a pool thread and back: with a pool, the loop and the pool thread take turns at the GIL, and
    # under load requests wait for its 5 ms switch interval (measured here: 725 vs 2,550 stroke
    # requests/s on one process, p99 147 vs 7 ms). Pictures (decoding takes milliseconds) still go to
    # the pool.
    inline_batches: bool = True

    @field_validator("models", mode="before")
    @classmethod
    def _models_from_text(cls, value: object) -> object:
        """INKREC_MODELS as text: a JSON list of specs, or a folder of .onnx files (empty: not set)."""
        if isinstance(value, str):
            if not value.strip():
                return None
            if value.lstrip().startswith("["):
                return json.loads(value)
            return [str(p) for p in models_in(Path(value))]
        if isinstance(value, (list, tuple)):
            return [str(v) for v in value]  # paths too
        return value

    @field_validator("max_batch")
    @classmethod
    def _at_least_one(cls, value: int) -> int:
        return max(1, value)  # 0 or less reads as "no batching", as it always has

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * (1 << 20))

    def model_specs(self) -> list[str]:
        """The models to load: the ones named, else the bundled ones."""
        if self.models is not None:
            return list(self.models)
        return [str(p) for p in default_model_paths()]

    def as_env(self) -> dict[str, str]:
        """These settings as INKREC_* variables (model paths made absolute), which `ServeSettings()` reads
        back: how worker processes, whatever their directory, get exactly the parent's settings."""
        data = self.model_dump(mode="json")
        data["models"] = [_absolute(spec) for spec in self.model_specs()]
        env = {}
        for name, value in data.items():
            if value is not None:
                env[ENV_PREFIX + name.upper()] = value if isinstance(value, str) else dumps(value, indent=None)
        return env


def _absolute(spec: str) -> str:
    model_id, path = split_spec(spec)
    return f"{model_id}={path.resolve()}" if model_id else str(path.resolve())
