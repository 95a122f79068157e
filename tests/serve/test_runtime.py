"""The model registry: model specs, ids, and files that are not inkrec models."""

from __future__ import annotations

import pytest

from inkrec.errors import DataFormatError
from inkrec.serve.runtime import ModelRegistry


def test_registry_refuses_foreign_models(tmp_path):
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not a model at all")
    with pytest.raises(DataFormatError):
        ModelRegistry([junk])
