"""One registry for every model, so that a name on the command line, in a run directory or in an ONNX
file's metadata always builds the same network.

Models register themselves with `@register_model`; `create_model(name, num_classes, **kwargs)` builds
one. Each entry records which input it takes (bitmaps or stroke sequences), so training can pick the
right data pipeline and refuse a mismatch with a clear message.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field

from torch import nn

from inkrec.errors import ConfigError


@dataclass(frozen=True)
class Architecture:
    """A registered network: how to build it, what input it reads and its options' defaults (which are also
    the options it accepts: `create_model` refuses any other)."""

    name: str
    factory: Callable[..., nn.Module]
    input_kind: str  # "bitmap" | "strokes"
    description: str
    defaults: dict = field(default_factory=dict)


_REGISTRY: dict[str, Architecture] = {}


def register_model(name: str, *, input_kind: str = "bitmap", description: str = ""):
    """Decorator: make a model factory available under `name`."""
    if input_kind not in ("bitmap", "strokes"):
        raise ValueError(f"input_kind must be 'bitmap' or 'strokes', not {input_kind!r}")

    def wrap(factory: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        if name in _REGISTRY:
            raise ValueError(f"model {name!r} is already registered")
        sig = inspect.signature(factory)
        defaults = {
            k: p.default
            for k, p in sig.parameters.items()
            if k != "num_classes" and p.default is not inspect.Parameter.empty
        }
        doc = description or (inspect.getdoc(factory) or "").split("\n")[0]
        _REGISTRY[name] = Architecture(name, factory, input_kind, doc, defaults)
        return factory

    return wrap


def list_models() -> list[str]:
    """Names of all registered models, sorted."""
    return sorted(_REGISTRY)


def architecture(name: str) -> Architecture:
    """The registered architecture `name`; a ConfigError listing the known ones for any other name."""
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(list_models())
        raise ConfigError(f"unknown model {name!r}; known models: {known}") from None


def create_model(name: str, num_classes: int, **kwargs) -> nn.Module:
    """Build the model registered as `name` for `num_classes` classes.

    Unknown names and unknown keyword arguments raise `ConfigError` naming what is allowed.
    """
    info = architecture(name)
    if not isinstance(num_classes, int) or num_classes < 2:
        raise ConfigError(f"num_classes must be an integer >= 2, not {num_classes!r}")
    unknown = sorted(set(kwargs) - set(info.defaults))
    if unknown:
        allowed = ", ".join(sorted(info.defaults)) or "none"
        raise ConfigError(f"model {name!r} does not take {', '.join(unknown)}; its options: {allowed}")
    return info.factory(num_classes=num_classes, **kwargs)
