"""What a model says of itself, checked: how the page presents it (`page_layout`), the optional keys behind
it, and the open-set and teaching entries, refused when malformed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from inkrec.data.charsets import charset
from inkrec.errors import DataFormatError
from inkrec.runtime import metadata as md
from inkrec.runtime.onnx_model import read_metadata

REPO = Path(__file__).resolve().parents[2]


def meta(labels, kind="bitmap", **extra) -> dict:
    inp = {"kind": kind, "size": 64} if kind == "bitmap" else {"kind": kind}
    return md.validate({"format": md.FORMAT, "id": "m", "labels": list(labels), "input": inp, **extra}, "<test>")


def test_many_characters_make_a_writing_pad():
    assert md.page_layout(meta(charset("zh"))) == "writing"
    assert md.page_layout(meta(charset("gb2312-1"))) == "writing"
    assert md.page_layout(meta(charset("gb2312-1")[: md.WRITING_MIN_CLASSES])) == "writing"


def test_few_classes_words_or_strokes_keep_the_drawing_page():
    assert md.page_layout(meta(charset("gb2312-1")[: md.WRITING_MIN_CLASSES - 1])) == "drawing"
    assert md.page_layout(meta([f"word {i}" for i in range(500)])) == "drawing"  # doodles: words
    assert md.page_layout(meta(charset("zh")[:3000], kind="strokes")) == "drawing"
    for name in ("digits", "doodles", "hanzi-numerals"):  # the bundled models stay as they are
        assert md.page_layout(read_metadata(REPO / "models" / f"{name}.onnx")) == "drawing"


def test_vocabulary_or_an_explicit_page_entry_decide():
    numerals = read_metadata(REPO / "models" / "hanzi-numerals.onnx")
    assert md.page_layout(dict(numerals, vocabulary="chinese-numerals")) == "writing"
    assert md.page_layout(dict(numerals, page="writing")) == "writing"
    assert md.page_layout(meta(charset("zh"), page="drawing")) == "drawing"


@pytest.mark.parametrize("extra, message", [({"page": "keyboard"}, "'page' must be one of"),
                                            ({"vocabulary": 15433}, "'vocabulary' must be a name")])
def test_malformed_layout_keys_are_refused(extra, message):
    with pytest.raises(DataFormatError, match=message):
        meta(["a", "b"], **extra)


def test_auxiliary_categories_are_names_or_refused():
    assert meta(["a", "b"], auxiliary={"classes": ["ant", "bee"], "data": "simplified"})["auxiliary"]["classes"] == [
        "ant", "bee"]
    for bad in ({"classes": "ant,bee"}, {"classes": [1, 2]}, ["ant"]):
        with pytest.raises(DataFormatError, match="'auxiliary' needs 'classes'"):
            meta(["a", "b"], auxiliary=bad)


def test_taught_rules_with_prototypes_and_read_back_from_logits_agree():
    """A taught model keeps its classes' prototypes; one taught before that (cosine classes only) has its
    cosine read back from the logits: the two give the same score."""
    rng = np.random.default_rng(0)
    emb = rng.normal(size=(20, 8))
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    protos = rng.normal(size=(3, 8))
    protos /= np.linalg.norm(protos, axis=1, keepdims=True)
    logits = np.c_[rng.normal(size=(20, 2)), 16 * emb @ protos.T + 0.5]
    common = {"score": "taught", "base": None, "new_from": 2, "cos_threshold": 0.3, "threshold": 0.0}
    new = dict(common, prototypes=protos.tolist())
    old = dict(common, scale=16.0, bias=0.5)
    for rule in (new, old):
        assert meta(["a", "b", "c", "d", "e"], open_set=rule)["open_set"] is rule
    assert np.allclose(md.open_set_score(new, logits, emb), md.open_set_score(old, logits, emb))
    with pytest.raises(DataFormatError, match="prototypes"):
        meta(["a", "b", "c", "d", "e"], open_set=common)


@pytest.mark.parametrize("teach, message", [
    ({"kind": "gaussian", "bias": 1.0}, "square matrix"),
    ({"kind": "gaussian", "bias": 1.0, "precision": [[1, 0]]}, "square matrix"),
    ({"kind": "bayes", "bias": 1.0}, "cosine or gaussian"),
    ({"scale": 16}, "numeric 'bias'"),
    ({"kind": "gaussian", "bias": 1.0, "precision": [[1]], "bias_by_shots": {"three": 2.0}}, "bias_by_shots"),
    ({"kind": "gaussian", "bias": 1.0, "precision": [[1]], "bias_by_shots": {"0": 2.0}}, "bias_by_shots"),
])
def test_malformed_teach_entries_are_refused(teach, message):
    assert meta(["a", "b"], teach={"kind": "gaussian", "bias": 1.0, "precision": [[1, 0], [0, 1]]})
    with pytest.raises(DataFormatError, match=message):
        meta(["a", "b"], teach=teach)

