"""Hyper-parameter search with Optuna: learning rate, width, dropout and augmentation strength.

Each trial is a short real training run through the same code path as `inkrec train`, reporting its
validation top-1 after every epoch so that a median pruner can stop trials that fall behind the others.
The study lives in SQLite: a search that is interrupted (or extended with a larger `--trials`) continues where
it stopped, and several processes may work on one study file at once.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from inkrec.data.dataset import open_dataset
from inkrec.errors import ConfigError
from inkrec.figures import pyplot, save_figure
from inkrec.jsonio import write_json
from inkrec.models import architecture
from inkrec.train.config import make_config
from inkrec.train.loop import train

# Search ranges. Width and dropout are tuned only for models that take them.
LR_RANGE = (1e-4, 3e-2)
# Width is a multiplier on the model's own default channel counts (every option named here that it has).
WIDTH_CHOICES = (0.5, 0.75, 1.0, 1.25, 1.5)
WIDTH_OPTIONS = ("width", "stem", "widths", "channels", "conv_channels", "hidden")
DROPOUT_RANGE = (0.0, 0.5)
AUGMENT_CHOICES = ("none", "light", "strong")  # the training config's augmentation strengths

# A trial trains and reports per epoch: train_trial(params, out_dir, on_epoch) -> best validation top-1.
# `on_epoch(epoch, val_top1)` may raise optuna.TrialPruned to stop the run.
TrainTrial = Callable[[dict, Path, Callable[[int, float], None]], float]


@dataclass
class TuneResult:
    best_params: dict
    best_value: float
    best_trial: int
    n_complete: int
    n_pruned: int
    n_failed: int
    best_path: Path


def _defaults(model: str) -> dict:
    return dict(architecture(model).defaults)


def model_knobs(model: str) -> set[str]:
    """Which knobs (`width`, `dropout`) the registered model has."""
    defaults = _defaults(model)
    knobs = {"dropout"} & set(defaults)
    if any(isinstance(defaults.get(k), int | tuple | list) for k in WIDTH_OPTIONS if k in defaults):
        knobs.add("width")
    return knobs


def model_kwargs(model: str, params: dict) -> dict:
    """Trial parameters -> keyword arguments for `create_model` (channel counts scaled by `width`)."""
    defaults = _defaults(model)
    kwargs: dict[str, Any] = {}
    if "dropout" in params and "dropout" in defaults:
        kwargs["dropout"] = float(params["dropout"])
    mult = float(params.get("width", 1.0))
    if mult != 1.0:
        for key in WIDTH_OPTIONS:
            value = defaults.get(key)
            if isinstance(value, bool):
                continue
            if isinstance(value, int):
                kwargs[key] = max(4, round(value * mult))
            elif isinstance(value, tuple | list) and all(isinstance(v, int) for v in value):
                kwargs[key] = [max(4, round(v * mult)) for v in value]
    return kwargs


def suggest(trial, knobs: set[str]) -> dict:
    """The search space; `knobs` are the model options this model has."""
    params: dict[str, Any] = {"lr": trial.suggest_float("lr", *LR_RANGE, log=True)}
    if "width" in knobs:
        params["width"] = trial.suggest_categorical("width", list(WIDTH_CHOICES))
    if "dropout" in knobs:
        params["dropout"] = trial.suggest_float("dropout", *DROPOUT_RANGE)
    params["augment"] = trial.suggest_categorical("augment", list(AUGMENT_CHOICES))
    return params


def _storage_url(study_db: str | Path) -> str:
    text = str(study_db)
    if "://" in text:  # already a database URL (e.g. a shared PostgreSQL)
        return text
    path = Path(text).resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def finished_counts(study) -> tuple[int, int, int]:
    from optuna.trial import TrialState  # optional extra, seconds to import: only `inkrec tune` pays

    states = [t.state for t in study.get_trials(deepcopy=False)]
    return (
        sum(s == TrialState.COMPLETE for s in states),
        sum(s == TrialState.PRUNED for s in states),
        sum(s == TrialState.FAIL for s in states),
    )


def run_study(
    train_trial: TrainTrial,
    *,
    knobs: set[str],
    trials: int,
    study_db: str | Path,
    out: str | Path,
    study_name: str,
    seed: int = 0,
    config: dict | None = None,
    progress: bool = True,
    pruner=None,
) -> TuneResult:
    """Run the study until it holds `trials` finished (complete or pruned) trials, then write the best config.

    Counting finished trials, not trials started in this call, is what makes the search resumable: run the
    same command again after an interruption and only the missing trials run.
    """
    import optuna  # optional extra, seconds to import: only `inkrec tune` pays

    if trials < 1:
        raise ConfigError(f"--trials must be at least 1, got {trials}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    # Errors a trial raises end the study and reach the user once, as one clear line (InkrecError) or as a
    # traceback (a bug): Optuna's own "trial failed" report would print the same error a second time first.
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    storage = _storage_url(study_db)
    # Offset the sampler's seed by the trials already stored: a resumed study must not replay the random
    # start-up suggestions of its first session.
    try:
        n_before = len(optuna.load_study(study_name=study_name, storage=storage).trials)
    except KeyError:
        n_before = 0
    study = optuna.create_study(
        study_name=study_name,
        storage=storage,
        load_if_exists=True,
        direction="maximize",
        sampler=optuna.samplers.TPESampler(seed=seed + n_before),
        # Prune only against a few finished trials and after the first epoch: epoch-1 accuracy is noisy.
        pruner=pruner or optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=1),
    )
    if config is not None:
        study.set_user_attr("config", config)
    done, pruned, _ = finished_counts(study)
    remaining = max(0, trials - done - pruned)

    def objective(trial) -> float:
        params = suggest(trial, knobs)
        trial_dir = out / "trials" / f"trial-{trial.number:04d}"

        def on_epoch(epoch: int, val_top1: float) -> None:
            trial.report(float(val_top1), int(epoch))
            if trial.should_prune():
                raise optuna.TrialPruned(f"epoch {epoch}: val top-1 {val_top1:.4f} below the median")

        value = float(train_trial(params, trial_dir, on_epoch))
        if not math.isfinite(value):
            raise ConfigError(f"trial {trial.number} produced no finite validation accuracy")
        return value

    if remaining:
        study.optimize(
            objective,
            n_trials=remaining,
            catch=(),
            show_progress_bar=progress,
            gc_after_trial=True,
        )
    done, pruned, failed = finished_counts(study)
    if done == 0:
        raise ConfigError("no trial completed; nothing to report (all were pruned or failed)")
    best = study.best_trial
    best_path = out / "best.json"
    write_best(study, best_path, config or study.user_attrs.get("config") or {})
    plot_study(study, out / "study.png")
    return TuneResult(dict(best.params), float(best.value), best.number, done, pruned, failed, best_path)


def write_best(study, path: Path, config: dict) -> None:
    """The best trial's parameters plus everything needed to train it again with `inkrec train`.

    Its `config` entry is a complete set of `inkrec train` options: `inkrec train --config best.json` reads it.
    """
    from optuna.trial import TrialState  # optional extra (see finished_counts)

    best = study.best_trial
    done, pruned, failed = finished_counts(study)
    doc = {
        "study": study.study_name,
        "metric": "val_top1",
        "best_value": best.value,
        "best_trial": best.number,
        "params": dict(best.params),
        # Ready for `inkrec train` or `inkrec.train.loop.train`: the fixed options plus the best parameters.
        "config": _final_config(config, dict(best.params)) if config.get("model") else dict(best.params),
        "trials": {"complete": done, "pruned": pruned, "failed": failed},
        "all": [
            {
                "number": t.number,
                "state": t.state.name,
                "value": t.value,
                "params": t.params,
                "epochs": len(t.intermediate_values),
            }
            for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED))
        ],
    }
    write_json(path, doc)


def _final_config(base: dict, params: dict) -> dict:
    """The winning trial's configuration as a normal training run: tracked, scored on the test split."""
    cfg = trial_config(base, params, Path("runs") / f"{base['model']}-tuned")
    cfg.update(track=True, evaluate_test=True)
    for key in ("progress", "verbose"):  # how the trials ran, not part of the recipe
        cfg.pop(key, None)
    return cfg


def plot_study(study, path: Path) -> None:
    """Every trial's validation curve (pruned ones dashed) and the best value found so far."""
    from optuna.trial import TrialState  # optional extra (see finished_counts)

    plt = pyplot()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    finished = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED))
    for t in finished:
        steps = sorted(t.intermediate_values)
        ax1.plot(
            steps,
            [t.intermediate_values[s] for s in steps],
            "--" if t.state == TrialState.PRUNED else "-",
            marker="o",
            markersize=3,
            alpha=0.8,
        )
    ax1.set_xlabel("epoch")
    ax1.set_ylabel("validation top-1")
    ax1.set_title("Trials (dashed: pruned)")
    complete = [t for t in finished if t.state == TrialState.COMPLETE]
    xs = [t.number for t in complete]
    ys = [t.value for t in complete]
    ax2.scatter(xs, ys, s=18, label="complete trial")
    best, run = [], -math.inf
    for y in ys:
        run = max(run, y)
        best.append(run)
    ax2.step(xs, best, where="post", color="tab:red", label="best so far")
    ax2.set_xlabel("trial")
    ax2.set_ylabel("validation top-1")
    ax2.set_title(f"Study {study.study_name}")
    ax2.legend()
    save_figure(fig, path)


# ------------------------------------------------------------------------------- through the training loop


def trial_config(base: dict, params: dict, trial_dir: Path) -> dict:
    """The full training configuration of one trial: the fixed options plus the trial's parameters."""
    model = base["model"]
    return {
        **base,
        "out": str(trial_dir),
        "lr": float(params["lr"]),
        "augment": params["augment"],
        "model_kwargs": {**dict(base.get("model_kwargs") or {}), **model_kwargs(model, params)},
    }


def training_trial(base: dict) -> TrainTrial:
    """A trial that trains with `inkrec.train.loop.train` and reports each epoch's validation top-1."""

    def run(params: dict, trial_dir: Path, on_epoch: Callable[[int, float], None]) -> float:
        cfg = make_config(**trial_config(base, params, trial_dir))

        def report(record: dict) -> None:
            if record.get("val_top1") is not None:
                on_epoch(int(record["epoch"]), float(record["val_top1"]))

        result = train(cfg, on_epoch=report)
        if result.best_val_top1 is None:
            raise ConfigError("tuning needs a validation split (val_fraction > 0)")
        return float(result.best_val_top1)

    return run


def _check_data(cfg) -> None:
    """Open the training split once before the study starts, so that a data set that cannot train (missing,
    unreadable, empty, one class) is one clear error rather than a failed first trial."""
    ds = open_dataset(cfg.data, split="train", split_mode=cfg.split_mode, seed=cfg.seed,
                      max_per_class=cfg.max_per_class, classes=cfg.classes, progress=False)
    if len(ds) == 0:
        raise ConfigError(f"the data set {cfg.data} has no training samples to tune on")
    if len(np.unique(np.asarray(ds.labels))) < 2:
        raise ConfigError(f"the data set {cfg.data} has training samples of fewer than 2 classes; a classifier "
                          "needs at least 2")


def tune(
    *,
    data: str | Path,
    model: str,
    trials: int,
    study_db: str | Path,
    out: str | Path,
    epochs: int = 5,
    study_name: str | None = None,
    seed: int = 0,
    progress: bool = True,
    pruner=None,
    **train_options: Any,
) -> TuneResult:
    """Tune `model` on `data`: each trial trains `epochs` epochs on the training split (validation held out).

    `train_options` are further fixed `TrainConfig` fields (batch_size, max_per_class, size, threads, ...).
    `pruner` replaces the default median pruner (any `optuna.pruners` object).
    The test split is never looked at: choosing on it would make its score an overestimate.
    """
    base = {
        "data": str(data),
        "model": model,
        "epochs": int(epochs),
        "seed": seed,
        "track": False,
        "evaluate_test": False,
        "progress": progress,
        "verbose": False,  # Optuna's bar reports the trials; epoch lines of every trial would drown it
        **train_options,
    }
    if base.get("val_fraction", 0.1) <= 0:
        raise ConfigError("tuning needs a validation split: --val-fraction must be above 0")
    cfg = make_config(**{**base, "out": str(out)})  # validate the fixed options once, before any trial runs
    base["classes"] = cfg.classes  # as a list in best.json, however it was given
    _check_data(cfg)
    name = study_name or f"{model}-{Path(str(data)).name}"
    return run_study(
        training_trial(base),
        knobs=model_knobs(model),
        trials=trials,
        study_db=study_db,
        out=out,
        study_name=name,
        seed=seed,
        config=base,
        progress=progress,
        pruner=pruner,
    )
