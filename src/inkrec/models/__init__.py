"""The model registry: `create_model(name, num_classes, **kwargs)`, `list_models()`, `@register_model`.

Attributes are imported lazily so that torch-free parts of this package (`inkrec.models.stroke_input`)
stay usable in the slim serving install.
"""

from __future__ import annotations

__all__ = ["create_model", "dummy_input", "list_models", "model_info", "register_model"]


def _load():
    from inkrec.models import inknet, logreg, registry, seed_cnn, stroke_rnn  # noqa: F401  (registers the models)

    return registry


def __getattr__(name: str):
    if name in ("create_model", "list_models", "register_model", "model_info"):
        return getattr(_load(), name)
    if name == "dummy_input":
        _load()
        from inkrec.models.examples import dummy_input

        return dummy_input
    raise AttributeError(name)
