"""Experiment tracking in MLflow, kept out of the training hot loop (one call per epoch).

Default store: `./mlruns` (an SQLite database `mlruns/mlflow.db` with artifacts beside it, MLflow's
recommended local backend; `mlflow ui --backend-store-uri sqlite:///mlruns/mlflow.db` shows it). A
`--tracking-uri` (an MLflow server, a database URL, a folder) is used as given. A tracking failure never
costs the training run: it is reported once and tracking stops.
"""

from __future__ import annotations

import math
import os
import warnings
from pathlib import Path


def _flatten(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flatten(v, key + "."))
        else:
            out[key] = v
    return out


class Tracker:
    """A no-op unless `enabled`; every method swallows MLflow failures after warning once."""

    def __init__(self, enabled: bool, uri: str | None, experiment: str, run_name: str):
        self.enabled = enabled
        self._mlflow = None
        self.run_id: str | None = None
        self.uri = None
        if not enabled:
            return
        self._guard(self._start, uri, experiment, run_name)

    def _start(self, uri: str | None, experiment: str, run_name: str) -> None:
        import mlflow

        artifacts = None
        if uri is None:
            root = Path("mlruns").resolve()
            root.mkdir(parents=True, exist_ok=True)
            uri = f"sqlite:///{root / 'mlflow.db'}"
            artifacts = (root / "artifacts").as_uri()
        elif "://" not in uri or uri.startswith("file:"):
            os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")  # a plain folder: the file store
        mlflow.set_tracking_uri(uri)
        exp = mlflow.get_experiment_by_name(experiment)
        exp_id = exp.experiment_id if exp else mlflow.create_experiment(experiment, artifact_location=artifacts)
        run = mlflow.start_run(experiment_id=exp_id, run_name=run_name)
        self._mlflow = mlflow
        self.run_id = run.info.run_id
        self.uri = uri

    def _guard(self, fn, *args) -> None:
        if not self.enabled:
            return
        try:
            fn(*args)
        except Exception as exc:  # noqa: BLE001 - tracking must never stop training
            warnings.warn(f"MLflow tracking failed and is switched off for this run: {type(exc).__name__}: {exc}",
                          stacklevel=3)
            self.enabled = False
            self.close("FAILED")

    def log_params(self, params: dict) -> None:
        def do(p):
            flat = {k: ("" if v is None else str(v))[:500] for k, v in _flatten(p).items()}
            self._mlflow.log_params(flat)

        self._guard(do, params)

    def log_metrics(self, metrics: dict, step: int) -> None:
        def do(m, s):
            clean = {k: float(v) for k, v in _flatten(m).items() if isinstance(v, (int, float)) and math.isfinite(v)}
            self._mlflow.log_metrics(clean, step=s)

        self._guard(do, metrics, step)

    def log_artifacts(self, paths: list[Path]) -> None:
        def do(ps):
            for p in ps:
                if Path(p).is_file():
                    self._mlflow.log_artifact(str(p))

        self._guard(do, paths)

    def close(self, status: str = "FINISHED") -> None:
        if self._mlflow is not None:
            try:
                self._mlflow.end_run(status=status)
            except Exception as exc:  # noqa: BLE001
                warnings.warn(f"MLflow: could not close the run: {exc}", stacklevel=2)
            self._mlflow = None
