"""Run directories: what a training run leaves behind, and how the rest of inkrec reads it back.

    runs/NAME/config.json          the TrainConfig, to repeat the run
    runs/NAME/metrics.json         per-epoch history, the best epoch, test scores
    runs/NAME/learning_curve.png   losses and validation top-1 per epoch
    runs/NAME/best.pt              the best weights plus everything needed to use them (below)
    runs/NAME/last.pt              the latest full training state, for --resume

`best.pt` holds plain types and tensors only (loadable with `weights_only=True`): the model name and
its keyword arguments, the class list, what input the model takes, the ink preprocessing parameters,
where the data came from (and which auxiliary categories it learnt from), the metrics and the state dict. `load_run` rebuilds the model from it.
"""

from __future__ import annotations

from pathlib import Path

import torch

from inkrec.errors import ConfigError, DataFormatError
from inkrec.figures import pyplot, save_figure
from inkrec.jsonio import read_json, to_plain
from inkrec.models import create_model
from inkrec.preprocess.spec import recorded_preprocessing
from inkrec.train.checkpoint import load_checkpoint, save_atomic

RUN_FORMAT = "inkrec-run/1"
RUN_FILES = ("config.json", "metrics.json", "learning_curve.png", "best.pt", "last.pt")


def remove_stale_temporaries(run_dir: str | Path) -> list[Path]:
    """Delete the temporary files that a killed run left half-written beside its files (atomic writes go to
    `.NAME.XXXX.tmp` first); a run directory's own files are never touched. Returns what was removed."""
    removed = []
    for name in RUN_FILES:
        for tmp in Path(run_dir).glob(f".{name}.*.tmp"):
            tmp.unlink(missing_ok=True)
            removed.append(tmp)
    return removed


def run_payload(*, model: str, model_kwargs: dict, classes: list[str], input: dict, data: dict,
                metrics: dict, state_dict: dict, auxiliary: dict | None = None) -> dict:
    """best.pt's content. `auxiliary`: the other categories the model learnt as extra classes (`--aux-data`),
    which its features know although its classifier does not have them."""
    out = {
        "format": RUN_FORMAT,
        "model": model,
        "model_kwargs": to_plain(model_kwargs),
        "classes": [str(c) for c in classes],
        "input": dict(input),
        "preprocessing": recorded_preprocessing(input["kind"]),
        "data": {k: v for k, v in data.items() if isinstance(v, (str, int, float, bool)) or v is None},
        "metrics": to_plain(metrics),
        "state_dict": {k: v.detach().cpu().clone() for k, v in state_dict.items()},
    }
    if auxiliary:
        out["auxiliary"] = to_plain(auxiliary)
    return out


def save_run_checkpoint(path: str | Path, payload: dict) -> None:
    save_atomic(payload, path)


def load_run(run_dir: str | Path) -> tuple[torch.nn.Module, dict]:
    """A trained model (eval mode, on the CPU) and its metadata from a run directory (or its best.pt).

    The metadata is best.pt without the weights, plus `run_dir` and, when present, `metrics.json`'s
    history as `history`.
    """
    path = Path(run_dir)
    ckpt = path / "best.pt" if path.is_dir() else path
    if not path.exists():
        raise ConfigError(f"run directory {str(path)!r} does not exist")
    if path.is_dir() and not ckpt.is_file():
        raise ConfigError(f"{str(path)!r} is not a finished run directory: it has no best.pt")
    payload = load_checkpoint(ckpt, expect_format=RUN_FORMAT)
    for key in ("model", "classes", "input", "state_dict"):
        if key not in payload:
            raise DataFormatError(ckpt, f"run checkpoint lacks {key!r}")
    model = create_model(payload["model"], len(payload["classes"]), **dict(payload.get("model_kwargs") or {}))
    try:
        model.load_state_dict(payload["state_dict"])
    except RuntimeError as exc:
        raise DataFormatError(ckpt, f"weights do not fit model {payload['model']!r}: {exc}") from None
    model.eval()
    meta = {k: v for k, v in payload.items() if k != "state_dict"}
    meta["run_dir"] = str(ckpt.parent)
    metrics_file = ckpt.parent / "metrics.json"
    if metrics_file.is_file():
        try:
            meta["history"] = read_json(metrics_file).get("history", [])
        except (OSError, ValueError):
            pass
    return model, meta


def plot_learning_curve(history: list[dict], path: str | Path, title: str = "") -> None:
    """Train/validation loss and validation top-1 per epoch, as a PNG."""
    plt = pyplot()
    epochs = [h["epoch"] for h in history]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.8), dpi=110)
    ax1.plot(epochs, [h["train_loss"] for h in history], "o-", label="train")
    if any(h.get("val_loss") is not None for h in history):
        ax1.plot(epochs, [h.get("val_loss") for h in history], "o-", label="validation")
    ax1.set_xlabel("epoch")
    ax1.set_ylabel("loss (with label smoothing)")
    ax1.legend()
    ax1.grid(alpha=0.3)
    if any(h.get("val_top1") is not None for h in history):
        ax2.plot(epochs, [100 * h["val_top1"] if h.get("val_top1") is not None else None for h in history],
                 "o-", color="tab:green")
        best = max((h for h in history if h.get("val_top1") is not None), key=lambda h: h["val_top1"])
        ax2.axvline(best["epoch"], color="grey", ls="--", lw=1)
        ax2.annotate(f"best {100 * best['val_top1']:.2f}%", (best["epoch"], 100 * best["val_top1"]),
                     textcoords="offset points", xytext=(-60, -14))
    ax2.set_xlabel("epoch")
    ax2.set_ylabel("validation top-1 (%)")
    ax2.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    save_figure(fig, path, dpi=110)
