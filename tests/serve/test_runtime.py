"""The model registry: model specs, ids, and files that are not inkrec models."""

from __future__ import annotations

import pytest

from inkrec.errors import ConfigError, DataFormatError
from inkrec.serve.runtime import ModelRegistry, default_model_paths, models_in, split_spec


def test_registry_refuses_foreign_models(tmp_path):
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not a model at all")
    with pytest.raises(DataFormatError):
        ModelRegistry([junk])


def test_specs_rename_and_ids_must_be_unique(served_models):
    doodles = next(p for p in served_models if p.stem == "doodles")
    assert split_spec(f"pic={doodles}") == ("pic", doodles)
    assert split_spec(str(doodles)) == (None, doodles)
    reg = ModelRegistry([f"pic={doodles}", str(doodles)])
    assert reg.ids() == ["pic", "doodles"] and reg.get(None).id == "pic"
    with pytest.raises(ConfigError, match="two models with the id 'doodles'"):
        ModelRegistry([doodles, doodles])


def test_bundled_models_come_from_INKREC_MODELS_when_set(served_models, tmp_path, monkeypatch):
    monkeypatch.setenv("INKREC_MODELS", str(served_models[0].parent))
    assert default_model_paths() == models_in(served_models[0].parent) == sorted(served_models)
    monkeypatch.setenv("INKREC_MODELS", str(tmp_path / "missing"))
    assert default_model_paths() == []
