"""Everything a training run depends on, in one validated object.

`TrainConfig` is what `inkrec train` builds from its options (the command's options are generated from the
fields below: each default and each help text is written here, once), what `inkrec.train.loop.train()`
takes from Python callers (benchmarks, tuning), what `inkrec train --config FILE` reads, and what lands in
the run directory's `config.json`, so a run can be repeated from its own record.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from inkrec.errors import ConfigError
from inkrec.jsonio import read_json
from inkrec.models import architecture

AUGMENT_LEVELS = ("none", "light", "strong")


class TrainConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    # what to train on, what to train, where to put it
    data: str = Field(description="Data set: a folder or file in any supported format.")
    model: str = Field("inknet", description="Model name (see `inkrec models`).")
    out: str | None = Field(None, description="Run directory (default: runs/MODEL).")
    model_kwargs: dict = Field(
        default_factory=dict,
        description="Model option KEY=VALUE (repeatable), e.g. width=32; VALUE is read as JSON when it parses.",
    )
    max_per_class: int | None = Field(None, description="Cap training samples per class (default: all).")
    classes: list[str] | None = Field(
        None, description="Comma-separated class names to train on (default: all)."
    )
    split_mode: Literal["standard", "random", "writer"] = Field(
        "standard", description="How train and test are cut: the data set's standard split, random, or by writer."
    )
    size: int | None = Field(
        None, description="Bitmap side in pixels (default: the data's own, 28 for strokes)."
    )

    # optimisation
    epochs: int = Field(15, description="Maximum epochs.")
    batch_size: int = Field(256, description="Batch size (over all processes).")
    lr: float = Field(3e-3, description="Peak learning rate (AdamW).")
    weight_decay: float = Field(0.05, description="AdamW weight decay (not on biases and norms).")
    label_smoothing: float = Field(0.1, description="Label smoothing of the cross-entropy loss.")
    warmup_epochs: float = Field(1.0, description="Epochs of linear learning-rate warm-up.")
    schedule: Literal["cosine", "onecycle", "constant"] = Field("cosine", description="Learning-rate schedule.")
    augment: Literal["none", "light", "strong"] | float = Field(
        "light", description="Augmentation: none, light, strong, or a strength in [0, 2] (light = 0.5)."
    )
    pen: float = Field(
        0.0,
        description="Share of training bitmaps whose strokes are made thicker or thinner (real pens differ; "
        "Quick, Draw! bitmaps all have one line width).",
    )
    aux_data: str | None = Field(
        None,
        description="A data set of other categories to learn as well (e.g. Quick, Draw! simplified): the "
        "training split of every other one of the categories the model lacks, in sorted order (the half "
        "`inkrec export --outliers` shows), as extra classes. They shape the features, which then tell more "
        "kinds of drawing apart (teaching, \"not sure\"); the saved model keeps --data's classes alone.",
    )
    aux_repeat: int = Field(1, description="Times each --aux-data drawing is seen per epoch (they are few).")
    line_context: float = Field(
        0.0,
        description="Share of training bitmaps shown as a line reader's candidate: other characters touching or "
        "overlapping their edges, cut out and framed again (the label stays the character's; teachers judge "
        "the character alone).",
    )
    line_pairs: float = Field(
        0.0,
        description="Share of training bitmaps (besides --line-context's) shown as two whole touching characters "
        "framed as one, taught as no character in particular (uniform target): a line reader then doubts a "
        "candidate that merges two characters.",
    )
    teacher: list[str] | None = Field(
        None,
        description="Run directory of a trained model to learn from as well (knowledge distillation; "
        "repeatable: the teachers' answers are averaged).",
    )
    init: str | None = Field(
        None,
        description="Start from a trained model's weights: a run directory, or an exported MODEL.onnx whose "
        "weights ship beside it as MODEL.pt (loaded weights-only). Its architecture and options are used; the "
        "classifier is new unless the classes are the same.",
    )
    freeze: bool = Field(False, description="With --init: train the classifier alone (the backbone stays fixed).")
    distill_weight: float = Field(0.7, description="Weight of the teachers' answers in the loss (the labels: the rest).")
    distill_temperature: float = Field(2.0, description="Softmax temperature of distillation.")
    val_fraction: float = Field(0.1, description="Share of the training split held out for validation.")
    patience: int | None = Field(
        5, description="Early stopping after this many epochs without a better validation top-1 (0: never)."
    )
    seed: int = Field(0, description="Seed of everything random (order, augmentation, initial weights).")
    evaluate_test: bool = Field(True, description="Score the best weights on the test split at the end.")

    # machinery
    resume: bool = Field(False, description="Continue from OUT/last.pt.")
    device: Literal["auto", "cpu", "cuda"] = Field("auto", description="Where to train (auto: CUDA if present).")
    amp: Literal["auto"] | bool = Field(
        "auto",
        description="Mixed precision (bfloat16/float16 on CUDA, bfloat16 on CPUs). Default: on where the "
        "hardware makes it fast (CUDA; CPUs with AMX or AVX-512 BF16).",
    )
    threads: int | None = Field(None, description="torch threads (default: this process's cores).")
    channels_last: bool = Field(True, description="Channels-last memory format for bitmap models.")
    compile: Literal["auto", "on", "off"] = Field("off", description="torch.compile: auto = on CUDA only.")
    workers: int = Field(0, description="Threads preparing batches ahead (stroke data); 0: the main thread.")
    track: bool = Field(True, description="Log the run to MLflow.")
    tracking_uri: str | None = Field(
        None,
        description="MLflow tracking URI (default: $MLFLOW_TRACKING_URI, else sqlite:///mlflow.db in the "
        "current folder, the store `mlflow ui` opens there).",
    )
    experiment: str = Field("inkrec", description="MLflow experiment name.")
    progress: bool = Field(True, description="Progress bars (the epoch lines and the summary print anyway).")
    verbose: bool = Field(True, description="Print one line per epoch and a summary at the end.")

    @field_validator("classes", mode="before")
    @classmethod
    def _classes(cls, v: Any) -> Any:
        if isinstance(v, str):
            names = [c.strip() for c in v.split(",") if c.strip()]
            return names or None
        return v

    @field_validator("model_kwargs", mode="before")
    @classmethod
    def _model_kwargs(cls, v: Any) -> Any:
        if isinstance(v, (list, tuple)):
            return parse_model_args(v)
        return v

    @field_validator("augment", mode="before")
    @classmethod
    def _augment_text(cls, v: Any) -> Any:
        if isinstance(v, str) and v not in AUGMENT_LEVELS:
            try:
                return float(v)
            except ValueError:
                raise ValueError(f"augment must be one of {', '.join(AUGMENT_LEVELS)} or a number, not {v!r}") from None
        return v

    @field_validator("epochs", "batch_size")
    @classmethod
    def _positive(cls, v: int, info) -> int:
        if v < 1:
            raise ValueError(f"{info.field_name} must be at least 1")
        return v

    @field_validator("lr")
    @classmethod
    def _lr(cls, v: float) -> float:
        if not v > 0:
            raise ValueError("lr must be positive")
        return v

    @field_validator("weight_decay", "warmup_epochs")
    @classmethod
    def _non_negative(cls, v: float, info) -> float:
        if v < 0:
            raise ValueError(f"{info.field_name} must not be negative")
        return v

    @field_validator("label_smoothing")
    @classmethod
    def _smoothing(cls, v: float) -> float:
        if not 0 <= v < 1:
            raise ValueError("label_smoothing must be in [0, 1)")
        return v

    @field_validator("pen", "line_context", "line_pairs", "distill_weight")
    @classmethod
    def _share(cls, v: float, info) -> float:
        if not 0 <= v <= 1:
            raise ValueError(f"{info.field_name} must be in [0, 1]")
        return v

    @field_validator("distill_temperature")
    @classmethod
    def _temperature(cls, v: float) -> float:
        if not v > 0:
            raise ValueError("distill_temperature must be positive")
        return v

    @field_validator("val_fraction")
    @classmethod
    def _val_fraction(cls, v: float) -> float:
        if not 0 <= v < 1:
            raise ValueError("val_fraction must be in [0, 1)")
        return v

    @field_validator("patience")
    @classmethod
    def _patience(cls, v: int | None) -> int | None:
        if v is not None and v < 0:
            raise ValueError("patience must not be negative (0: never stop early)")
        return v or None

    @field_validator("aux_repeat")
    @classmethod
    def _aux_repeat(cls, v: int) -> int:
        if v < 1:
            raise ValueError("aux_repeat must be at least 1")
        return v

    @field_validator("max_per_class", "threads", "size")
    @classmethod
    def _optional_positive(cls, v: int | None, info) -> int | None:
        if v is not None and v < 1:
            raise ValueError(f"{info.field_name} must be at least 1")
        return v

    @field_validator("augment")
    @classmethod
    def _augment(cls, v):
        if isinstance(v, (int, float)) and not isinstance(v, bool) and not 0.0 <= float(v) <= 2.0:
            raise ValueError("augment strength must be in [0, 2]")
        return v

    @field_validator("workers")
    @classmethod
    def _workers(cls, v: int) -> int:
        if v < 0:
            raise ValueError("workers must not be negative")
        return v

    @model_validator(mode="after")
    def _known_model_and_out(self) -> TrainConfig:
        architecture(self.model)  # ConfigError listing the known models
        if self.out is None:
            self.out = f"runs/{self.model}"
        if (self.line_context or self.line_pairs) and self.augment in ("none", 0, 0.0):
            raise ValueError("line_context and line_pairs are augmentation: they need augment other than none")
        return self


def parse_model_args(items: list[str] | tuple[str, ...]) -> dict:
    """KEY=VALUE pairs; VALUE is read as JSON when it parses (numbers, lists), else kept as text."""
    out = {}
    for item in items:
        if not isinstance(item, str) or "=" not in item:
            raise ConfigError(f"--model-arg expects KEY=VALUE, got {item!r}")
        key, value = item.split("=", 1)
        try:
            out[key.strip().replace("-", "_")] = json.loads(value)
        except ValueError:
            out[key.strip().replace("-", "_")] = value
    return out


def make_config(**kwargs) -> TrainConfig:
    """`TrainConfig(**kwargs)`, with validation failures turned into one readable `ConfigError`."""
    try:
        return TrainConfig(**kwargs)
    except ValidationError as exc:
        inner = [e.get("ctx", {}).get("error") for e in exc.errors()]
        config_errors = [e for e in inner if isinstance(e, ConfigError)]
        if config_errors:
            raise config_errors[0] from None
        parts = []
        for e in exc.errors():
            loc = ".".join(str(x) for x in e["loc"]) or "config"
            if e["type"] == "missing" and loc == "data":
                parts.append("data: no data set given (--data, or `data` in the --config file)")
                continue
            parts.append(f"{loc}: {e['msg'].removeprefix('Value error, ')}")
        raise ConfigError("invalid training options: " + "; ".join(dict.fromkeys(parts))) from None


def read_config_file(path: str | Path) -> dict:
    """The training options in a JSON file: a run's `config.json`, or the `best.json` that `inkrec tune`
    writes (its `config` entry). Options the file does not set keep their defaults."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {str(path)!r} does not exist")
    try:
        doc = read_json(path)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"config file {str(path)!r} is not valid JSON: {exc}") from None
    if isinstance(doc, dict) and isinstance(doc.get("config"), dict) and "study" in doc:
        doc = doc["config"]  # inkrec tune's best.json
    if not isinstance(doc, dict):
        raise ConfigError(f"config file {str(path)!r} must hold a JSON object of training options")
    unknown = sorted(set(doc) - set(TrainConfig.model_fields))
    if unknown:
        raise ConfigError(
            f"config file {str(path)!r} has options `inkrec train` does not know: {', '.join(unknown)}"
        )
    return doc
