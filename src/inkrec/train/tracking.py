"""Experiment tracking in MLflow, kept out of the training hot loop (one call per epoch).

Default store: the one a plain `mlflow ui` (or `mlflow server`) opens when started in the same folder, so
that tracked runs are where people look for them. MLflow 3 resolves that as `$MLFLOW_TRACKING_URI` if set,
else `./mlruns` if it holds an old file store, else the SQLite database `sqlite:///mlflow.db` in the current
folder, with artifacts under `./mlruns`; we resolve it the same way, to absolute paths, and print the exact
`mlflow ui --backend-store-uri ...` command after every tracked run. A `--tracking-uri` (an MLflow server, a
database URL, a folder) is used as given. A tracking failure never costs the training run: it is reported
once and tracking stops.

mlflow is imported only when a run is tracked: it takes seconds to import, and `inkrec train --no-track`,
tuning trials and the other ranks under torchrun never need it (nor need it installed).
"""

from __future__ import annotations

import math
import os
import warnings
from pathlib import Path


def default_tracking_uri(folder: str | Path = ".") -> str:
    """The store `mlflow ui` started in `folder` opens, as an absolute URI (see the module docstring)."""
    env = os.environ.get("MLFLOW_TRACKING_URI")
    if env:
        return env
    root = Path(folder).resolve()
    if _has_file_store(root / "mlruns"):
        return (root / "mlruns").as_uri()
    return f"sqlite:///{root / 'mlflow.db'}"


def _has_file_store(path: Path) -> bool:
    """True when `path` holds MLflow's old file store (numbered experiment folders with meta.yaml)."""
    try:
        return any(p.is_dir() and p.name.isdigit() and (p / "meta.yaml").exists() for p in path.iterdir())
    except OSError:
        return False


def ui_command(uri: str) -> str:
    """The command that shows the runs in `uri` (a server URI is opened in a browser instead)."""
    if uri.startswith(("http://", "https://")):
        return f"open {uri} in a browser"
    return f"mlflow ui --backend-store-uri {uri}"


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
        import mlflow  # an optional extra's package, seconds to import: only tracked runs pay (see above)

        artifacts = None
        if uri is None:
            uri = default_tracking_uri()
            if uri.startswith("sqlite:///"):
                # where `mlflow ui` puts the artifacts of a new experiment in this store: ./mlruns
                artifacts = (Path(uri.removeprefix("sqlite:///")).parent / "mlruns").as_uri()
        if "://" not in uri or uri.startswith("file:"):
            os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")  # a plain folder: the file store
        mlflow.set_tracking_uri(uri)
        exp = mlflow.get_experiment_by_name(experiment)
        exp_id = exp.experiment_id if exp else mlflow.create_experiment(experiment, artifact_location=artifacts)
        run = mlflow.start_run(experiment_id=exp_id, run_name=run_name)
        self._mlflow = mlflow
        self.run_id = run.info.run_id
        self.uri = uri

    def ui_command(self) -> str:
        """How to look at this run: the exact `mlflow ui` command for its store."""
        return ui_command(self.uri or default_tracking_uri())

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
