"""The model registry and the architectures in it (torch): `create_model(name, num_classes, **kwargs)`.

Importing the package registers every architecture, as timm does, so a name on the command line, in a run
directory or in an ONNX file's metadata always finds its network.
"""

from __future__ import annotations

from inkrec.models import inknet, logreg, seed_cnn, stroke_rnn  # noqa: F401  (each registers its models)
from inkrec.models.examples import dummy_input
from inkrec.models.registry import architecture, create_model, list_models, register_model

__all__ = ["create_model", "dummy_input", "list_models", "architecture", "register_model"]
