"""Everything a training run depends on, in one validated object.

`TrainConfig` is what `inkrec train` builds from its options, what `inkrec.train.loop.train()` takes from
Python callers (benchmarks, tuning), and what lands in the run directory's `config.json`, so a run can be
repeated from its own record.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from inkrec.errors import ConfigError


class TrainConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    # what to train on, what to train, where to put it
    data: str
    model: str = "inknet"
    out: str = "runs/inknet"
    model_kwargs: dict = Field(default_factory=dict)
    max_per_class: int | None = None
    classes: list[str] | None = None
    split_mode: Literal["standard", "random", "writer"] = "standard"
    size: int | None = None  # bitmap side; default: the data set's own (28 for strokes)

    # optimisation
    epochs: int = 15
    batch_size: int = 256
    lr: float = 3e-3
    weight_decay: float = 0.05
    label_smoothing: float = 0.1
    warmup_epochs: float = 1.0
    schedule: Literal["cosine", "onecycle", "constant"] = "cosine"
    augment: Literal["none", "light", "strong"] | float = "light"  # or a strength in [0, 2] (light = 0.5)
    val_fraction: float = 0.1
    patience: int | None = 5  # epochs without a better validation top-1 before stopping; None: never
    seed: int = 0
    evaluate_test: bool = True  # score the best weights on the data set's test split at the end

    # machinery
    resume: bool = False
    device: Literal["auto", "cpu", "cuda"] = "auto"
    # mixed precision: bfloat16 (or float16) on CUDA, bfloat16 on CPUs with native bfloat16 units (AMX,
    # AVX-512 BF16); "auto" uses it where the hardware makes it fast
    amp: Literal["auto"] | bool = "auto"
    threads: int | None = None  # torch intra-op threads; None: tuned for this machine
    channels_last: bool = True
    compile: Literal["auto", "on", "off"] = "off"
    workers: int = 0  # background threads preparing batches (rasterizing strokes); 0: in the main thread
    track: bool = True
    tracking_uri: str | None = None  # MLflow; default ./mlruns
    experiment: str = "inkrec"
    progress: bool = True

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

    @field_validator("val_fraction")
    @classmethod
    def _val_fraction(cls, v: float) -> float:
        if not 0 <= v < 1:
            raise ValueError("val_fraction must be in [0, 1)")
        return v

    @field_validator("patience", "max_per_class", "threads", "size")
    @classmethod
    def _optional_positive(cls, v: int | None, info) -> int | None:
        if v is not None and v < 1:
            raise ValueError(f"{info.field_name} must be at least 1")
        return v

    @field_validator("augment")
    @classmethod
    def _augment(cls, v):
        if isinstance(v, (int, float)) and not 0.0 <= float(v) <= 2.0:
            raise ValueError("augment strength must be in [0, 2]")
        return v

    @field_validator("workers")
    @classmethod
    def _workers(cls, v: int) -> int:
        if v < 0:
            raise ValueError("workers must not be negative")
        return v

    @model_validator(mode="after")
    def _known_model(self) -> TrainConfig:
        from inkrec.models import model_info

        model_info(self.model)  # ConfigError listing the known models
        return self


def make_config(**kwargs) -> TrainConfig:
    """`TrainConfig(**kwargs)`, with validation failures turned into one readable `ConfigError`."""
    from pydantic import ValidationError

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
            parts.append(f"{loc}: {e['msg'].removeprefix('Value error, ')}")
        raise ConfigError("invalid training options: " + "; ".join(parts)) from None
