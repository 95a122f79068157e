"""Model cards and the terms inside model files: real licences and citations, the weights' own licence."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import onnx
import pytest

from inkrec.data.terms import dataset_terms
from inkrec.export.onnx import build_metadata
from inkrec.runtime.onnx_model import read_metadata

REPO = Path(__file__).resolve().parents[2]
MODELS = REPO / "models"


def _model_card_script():
    spec = importlib.util.spec_from_file_location("model_card", REPO / "scripts" / "model_card.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("source, path, licence, cited", [
    ("idx", "../shared/datasets/mnist", "CC BY-SA 3.0", "Gradient-based learning applied to document recognition"),
    ("quickdraw-bitmap", "numpy_bitmap", "CC BY 4.0", "Quick, Draw!"),
    ("image-folder", "chinese-mnist", "no licence stated", "Gabriel Preda"),
])
def test_data_sets_have_real_terms(source, path, licence, cited):
    terms = dataset_terms(source, path)
    assert terms["license"].startswith(licence)
    assert cited in terms["citation"]
    assert terms["weights_license"] and terms["attribution"]
    assert not any("see the" in v for v in terms.values())  # no "see the data set page"


def test_mnist_is_credited_to_its_makers():
    terms = dataset_terms("idx", "mnist")
    assert "Yann LeCun and Corinna Cortes" in terms["attribution"]
    assert "LeCun, L. Bottou, Y. Bengio, P. Haffner" in terms["citation"] and "1998" in terms["citation"]
    assert "CC BY-SA 3.0" in terms["weights_license"]  # share-alike reaches the weights


def test_exported_metadata_carries_the_terms():
    meta = build_metadata({"classes": ["0", "1"], "input": {"kind": "bitmap", "size": 28},
                           "data": {"source": "idx", "path": "/data/mnist"}}, model_id="m")
    assert meta["license"] == "CC BY-SA 3.0" and "1998" in meta["citation"]
    assert meta["weights_license"].startswith("CC BY-SA 3.0")


@pytest.mark.parametrize("model_id", ["digits", "doodles", "hanzi-numerals"])
def test_bundled_cards_and_files_state_the_licences(model_id):
    meta = read_metadata(MODELS / f"{model_id}.onnx")
    terms = dataset_terms(meta["dataset"]["source"], meta["dataset"]["path"])
    for key in ("license", "attribution", "citation", "weights_license"):
        assert meta[key] == terms[key], key
    card = (MODELS / f"{model_id}.md").read_text(encoding="utf-8")
    assert f"- Weights: {terms['weights_license']}." in card
    assert terms["license"] in card and terms["citation"] in card
    assert "see the" not in card
    index = (MODELS / "README.md").read_text(encoding="utf-8")
    assert terms["citation"] in index and "see the" not in index


def test_refresh_rewrites_terms_and_card_but_not_the_weights(tmp_path):
    script = _model_card_script()
    path = tmp_path / "digits.onnx"
    shutil.copyfile(MODELS / "digits.onnx", path)
    model = onnx.load(str(path))
    for p in model.metadata_props:  # an old file: the terms before they were known
        if p.key == "inkrec":
            p.value = p.value.replace("CC BY-SA 3.0", "see the MNIST data set page")
    onnx.save(model, str(path))
    assert read_metadata(path)["license"] == "see the MNIST data set page"
    assert script.main(["--refresh", str(path)]) == 0
    meta = read_metadata(path)
    assert meta["license"] == "CC BY-SA 3.0" and meta["metrics"]["test"]["n"] == 10_000  # figures kept
    assert onnx.load(str(path)).graph == onnx.load(str(MODELS / "digits.onnx")).graph
    assert "CC BY-SA 3.0" in (tmp_path / "digits.md").read_text(encoding="utf-8")
    assert (tmp_path / "README.md").is_file()


def test_the_recipe_names_line_context_training_only_when_used():
    card = _model_card_script()
    plain = card._pen({"pen": 0.3})
    assert "pen-width variation on 30%" in plain and "line" not in plain
    lines = card._pen({"pen": 0.3, "line_context": 0.15, "line_pairs": 0.3})
    assert "15% of the drawings shown as a line's candidates" in lines
    assert "30% as two whole touching characters" in lines
