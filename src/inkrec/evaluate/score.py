"""Scoring a model on a data set: `score_model(model, data)` -> the JSON of `inkrec eval` (and its report).

Which split is scored matters more than any other choice here: a model scored on drawings it was trained on
looks better than it is (the bundled doodles model: 91.96% on the whole folder, 89.95% on its test split).
So the default is the data set's standard test split whenever its format defines one (and the whole set,
said so, when it does not), the split scored is always printed and recorded, and a score that includes the
model's own training data comes with a warning.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from inkrec.data.dataset import open_dataset
from inkrec.evaluate.metrics import summarize
from inkrec.evaluate.openset import open_set_report
from inkrec.evaluate.predict import LoadedModel, load_model, predict_dataset
from inkrec.evaluate.report import write_report
from inkrec.jsonio import read_json, write_json

HEADLINE = ("top1", "top3", "top5", "top10", "map3", "n")


@dataclass(frozen=True)
class SplitChoice:
    """The split to score and why: `reason` is said to the user and kept in the JSON."""

    split: str
    reason: str


def choose_split(data: str | Path, split: str | None, *, max_per_class: int | None = None) -> SplitChoice:
    """`split` as asked; by default the standard test split, or everything where there is no standard cut."""
    if split is not None:
        return SplitChoice(split, "as asked with --split")
    whole = open_dataset(data, split="all", max_per_class=max_per_class, progress=False)
    if whole.has_standard_split:
        return SplitChoice("test", "by default, the data set's standard test split")
    return SplitChoice("all", "by default the whole data set, as its format defines no standard train/test split")


def training_overlap(model: LoadedModel, data: str | Path, split: str) -> str | None:
    """Why the scored samples may include the model's training data, or None when they cannot.

    A run directory records its data path and split mode; an exported model records its data set's folder
    name. Scoring that data on anything but its standard test split (with a model trained on the standard
    split) counts drawings the model learned from.
    """
    recorded = model.meta.get("data") if model.source == "run" else model.meta.get("dataset")
    if not isinstance(recorded, dict) or not recorded.get("path"):
        return None
    trained_on = Path(str(recorded["path"]))
    scored = Path(data).expanduser().resolve()
    if model.source == "run":
        trained = trained_on.expanduser().resolve()
        same = scored == trained or trained in scored.parents or scored in trained.parents
        split_mode = recorded.get("split_mode") or "standard"
    else:  # the ONNX metadata keeps only the folder's name
        same = trained_on.name in {scored.name, *(p.name for p in scored.parents)}
        split_mode = "standard"
    if not same:
        return None
    if split == "test" and split_mode == "standard":
        return None
    what = "all of" if split == "all" else f"the {split} split of"
    extra = f" (the model was trained on a {split_mode!r} split)" if split == "test" else ""
    return (
        f"scoring {what} {data}, which the model was trained on{extra}: the score includes training "
        f"drawings and overstates accuracy; score --split test for a fair figure"
    )


def run_history(model: Path) -> list[dict] | None:
    """The per-epoch history from a run directory's metrics.json, if there is one."""
    path = Path(model) / "metrics.json"
    if not path.is_file():
        return None
    try:
        hist = read_json(path).get("history")
    except (OSError, ValueError, AttributeError):
        return None
    return hist if isinstance(hist, list) and hist else None


def score_model(
    model: str | Path,
    data: str | Path,
    *,
    split: str | None = None,
    json_out: str | Path | None = None,
    report_dir: str | Path | None = None,
    batch_size: int = 512,
    max_per_class: int | None = None,
    restrict: bool = False,
    as_pictures: bool = False,
    known_only: bool = False,
    progress: bool = True,
    unknown: str | Path | None = None,
) -> dict:
    """Score `model` on `data` (split: see `choose_split`) and write the JSON and the report; returns the JSON.
    With `unknown` (drawings of other categories) the JSON also has `open_set` (`inkrec.evaluate.openset`)."""
    loaded = load_model(model)
    choice = choose_split(data, split, max_per_class=max_per_class)
    dataset = open_dataset(data, split=choice.split, max_per_class=max_per_class)
    preds = predict_dataset(loaded, dataset, batch_size=batch_size, progress=progress, as_pictures=as_pictures,
                            known_only=known_only)
    known = set(loaded.classes)
    foreign = [c for c in dataset.classes if c not in known]
    if restrict:
        preds = preds.restricted()
    scores = summarize(preds.y_true, preds.probs, preds.classes)
    overlap = training_overlap(loaded, data, choice.split)
    result = {
        **{k: scores[k] for k in HEADLINE},
        "model": str(model),
        "model_format": loaded.source,
        "data": str(data),
        "split": choice.split,
        "split_reason": choice.reason,
        "warnings": [overlap] if overlap else [],
        "dataset_classes": len(dataset.classes),
        "scored_over": "the data set's labels" if restrict else "the model's whole vocabulary",
        "inputs": "pictures, framed as uploads are" if as_pictures else "the data set's samples",
        "left_out": {"classes": len(foreign), "samples": int(len(dataset) - len(preds.y_true)),
                     "labels": foreign[:100]},
        **{k: v for k, v in scores.items() if k not in HEADLINE},
    }
    if unknown is not None:
        result["open_set"] = open_set_report(loaded, dataset, unknown, max_per_class=max_per_class)
    if json_out:
        out = Path(json_out)
        out.parent.mkdir(parents=True, exist_ok=True)
        write_json(out, result)
    if report_dir:
        write_report(
            report_dir,
            preds.y_true,
            preds.probs,
            preds.classes,
            summary=result,
            images=lambda rows: preds.images(rows),
            sample_ids=preds.indices,
            history=run_history(Path(model)) if loaded.source == "run" else None,
            title=f"{Path(model).name} on {Path(data).name} ({choice.split})",
            subtitle=f"model {model} ({loaded.source}); data {data}, split {choice.split}",
        )
    return result
