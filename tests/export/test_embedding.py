"""The embedding output and the open-set rule: on every export, and added to files that predate them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from typer.testing import CliRunner

from inkrec.cli import app
from inkrec.errors import ConfigError, DataFormatError
from inkrec.export.calibrate import (
    fit_gaussian_head,
    fit_gaussian_teach,
    fit_linear_scorer,
    fit_teach,
    gaussian_class,
    taught_bias,
    threshold_for,
)
from inkrec.export.graph import EMBEDDING, add_embedding, embedding_size
from inkrec.export.model_file import read_model_metadata, write_model
from inkrec.export.onnx import build_metadata, export_model
from inkrec.preprocess.batch import bitmap_batch
from inkrec.runtime.onnx_model import OnnxModel
from inkrec.train.runs import load_run

REPO = Path(__file__).resolve().parents[2]
runner = CliRunner()


def strip_to_old(src: Path, out: Path) -> None:
    """`src` as inkrec wrote it before the embedding output and the open-set rule existed."""
    graph, meta = read_model_metadata(src)
    keep_out = [o for o in graph.graph.output if o.name != EMBEDDING]
    del graph.graph.output[:]
    graph.graph.output.extend(keep_out)
    drop = {EMBEDDING, f"{EMBEDDING}_l2", f"{EMBEDDING}_l2_floor"}
    nodes = [n for n in graph.graph.node if not set(n.output) & drop]
    del graph.graph.node[:]
    graph.graph.node.extend(nodes)
    used = {t for n in nodes for t in n.input}  # an optimiser may have shared a constant with the model's own nodes
    inits = [i for i in graph.graph.initializer if not i.name.startswith(f"{EMBEDDING}_") or i.name in used]
    del graph.graph.initializer[:]
    graph.graph.initializer.extend(inits)
    meta = {k: v for k, v in meta.items() if k not in ("open_set", "teach")}
    write_model(graph, out, meta)


@pytest.mark.parametrize("name", ["doodles", "digits", "hanzi-numerals"])
def test_bundled_models_have_a_unit_embedding_and_an_open_set_rule(name, tmp_path):
    path = REPO / "models" / f"{name}.onnx"
    model = OnnxModel(path)
    teach = model.meta["teach"]
    assert model.has_embedding and model.open_set is not None
    assert teach.get("kind") == "gaussian" or teach["scale"] > 0
    x = np.random.default_rng(0).random((4, 1, model.size, model.size), dtype=np.float32)
    logits, emb = model.outputs(x)
    assert np.allclose(np.linalg.norm(emb, axis=1), 1, atol=1e-4)
    assert emb.shape[1] == embedding_size(onnx.load(str(path)))
    if (model.meta.get("classifier") or {}).get("head") == "gaussian":
        return  # its classifier reads the embedding: there is no file without it to go back to
    old = tmp_path / "old.onnx"
    strip_to_old(path, old)
    before = OnnxModel(old)
    assert not before.has_embedding and before.open_set is None
    assert np.allclose(before.logits(x), logits, atol=1e-5)  # the edit adds an output, changes nothing else
    probs, score = before.predict_open(x)
    assert score is None and before.not_sure(None) is None and np.allclose(probs.sum(1), 1, atol=1e-5)


@pytest.fixture(scope="module")
def cosine_doodles(tmp_path_factory) -> Path:
    """The bundled doodles weights (`models/doodles.pt`) exported with their own trained cosine classifier,
    as inkrec exported every model before Gaussian heads."""
    model, meta = load_run(REPO / "models" / "doodles.pt")
    out = tmp_path_factory.mktemp("cosine") / "doodles.onnx"
    export_model(model, build_metadata(meta, model_id="doodles"), out)
    return out


def test_export_of_an_old_file_adds_the_output_and_with_data_the_rule(quickdraw, tmp_path, cosine_doodles):
    old = tmp_path / "old.onnx"
    strip_to_old(cosine_doodles, old)
    plain = tmp_path / "plain.onnx"
    res = runner.invoke(app, ["export", str(old), "-o", str(plain)])
    assert res.exit_code == 0, res.output
    assert OnnxModel(plain).has_embedding and OnnxModel(plain).open_set is None
    full = tmp_path / "full.onnx"
    res = runner.invoke(app, ["export", str(old), "-o", str(full), "--data", str(quickdraw / "numpy_bitmap"),
                              "--outliers", str(quickdraw / "simplified")])
    assert res.exit_code == 0, res.output
    rule = OnnxModel(full).open_set
    assert rule["score"] == "linear" and rule["known_accept"] == 0.95 and len(rule["outlier_classes"]) == 163
    assert "held-out" in rule["threshold_on"]
    # its cosine classifier: a taught class scores as the model's own, one scale and no bias
    teach = OnnxModel(full).meta["teach"]
    assert (teach["scale"], teach["bias"]) == (OnnxModel(full).meta["classifier"]["scale"], 0.0)


def test_torch_exports_get_the_embedding(tiny_doodles):
    tiny = tiny_doodles
    out = tiny.onnx_path.with_name("again.onnx")
    export_model(tiny.torch_model, tiny.meta, out)
    model = OnnxModel(out)
    logits, emb = model.outputs(tiny.x_test[:8])
    assert model.has_embedding and np.allclose(np.linalg.norm(emb, axis=1), 1, atol=1e-4)


def test_a_graph_without_a_final_linear_layer_is_refused():
    graph = onnx.helper.make_model(onnx.helper.make_graph(
        [onnx.helper.make_node("Relu", ["input"], ["logits"])], "g",
        [onnx.helper.make_tensor_value_info("input", onnx.TensorProto.FLOAT, [1, 4])],
        [onnx.helper.make_tensor_value_info("logits", onnx.TensorProto.FLOAT, [1, 4])]))
    with pytest.raises(DataFormatError, match="final linear layer"):
        add_embedding(graph)


def test_linear_scorer_separates_and_threshold_keeps_the_share():
    rng = np.random.default_rng(0)
    pos, neg = rng.normal(1, 1, (500, 3)), rng.normal(-1, 1, (500, 3))
    w = fit_linear_scorer(pos, neg)
    s_pos, s_neg = pos @ w[:-1] + w[-1], neg @ w[:-1] + w[-1]
    assert (s_pos > 0).mean() > 0.9 and (s_neg < 0).mean() > 0.9
    t = threshold_for(s_pos, 0.95)
    assert abs((s_pos >= t).mean() - 0.95) < 0.01


def test_teaching_is_calibrated_on_categories_the_model_lacks():
    """Own classes cluster tightly (the model was trained on them), other categories less: taught back, the own
    classes ask for a shy bias; the categories the model lacks get one that lets their prototypes win."""
    rng = np.random.default_rng(0)
    dim, own, other = 32, 6, 12
    centres = np.linalg.qr(rng.normal(size=(dim, dim)))[0][: own + other]

    def drawings(centre, n, spread):
        e = centre + rng.normal(0, spread, (n, dim))
        return e / np.linalg.norm(e, axis=1, keepdims=True)

    emb = np.concatenate([drawings(centres[c], 60, 0.05) for c in range(own)])
    labels = np.repeat(np.arange(own), 60)
    logits = 16 * emb @ centres[:own].T
    o_emb = np.concatenate([drawings(centres[own + c], 20, 0.25) for c in range(other)])
    o_lab = np.repeat(np.arange(other), 20)
    o_logits = 16 * o_emb @ centres[:own].T
    back = fit_teach(logits, emb, labels)
    lacks = fit_teach(logits, emb, labels, others=(o_logits, o_emb, o_lab))
    assert "taught back" in back["fit_on"] and "categories the model lacks" in lacks["fit_on"]
    assert lacks["bias"] > back["bias"]
    # a prototype of a category the model lacks, from 10 of its drawings, wins its other drawings and
    # leaves the model's own drawings alone
    proto = o_emb[:10].mean(0) / np.linalg.norm(o_emb[:10].mean(0))
    assert (lacks["scale"] * o_emb[10:20] @ proto + lacks["bias"] > o_logits[10:20].max(1)).mean() >= 0.9
    assert (lacks["scale"] * emb @ proto + lacks["bias"] < logits.max(1)).mean() >= 0.99


def test_gaussian_head_classifies_like_its_means_and_fits_a_bias_for_looser_categories():
    """Own classes tight (trained on), other categories looser: the Gaussian head separates the own classes
    with a positive temperature, and the taught bias, fit on the looser categories, lets their means win
    their drawings while the own drawings stay with their classes."""
    rng = np.random.default_rng(1)
    dim, own, other = 16, 5, 10
    centres = rng.normal(0, 1, (own + other, dim))
    emb = np.concatenate([centres[c] + rng.normal(0, 0.3, (80, dim)) for c in range(own)])
    labels = np.repeat(np.arange(own), 80)
    head = fit_gaussian_head(emb[::2], labels[::2], own, (emb[1::2], labels[1::2]))
    z = emb @ head["weight"].T + head["bias"]
    assert head["temperature"] > 0 and (z[1::2].argmax(1) == labels[1::2]).mean() > 0.98
    # the class formula is the head's: a class taught from the own drawings gets the head's row back
    row, b = gaussian_class(emb[::2][labels[::2] == 2], head["precision"], 0.0)
    assert np.allclose(row, head["weight"][2], rtol=1e-6, atol=1e-6) and np.isclose(b, head["bias"][2])
    o_emb = np.concatenate([centres[own + c] + rng.normal(0, 0.6, (20, dim)) for c in range(other)])
    o_lab = np.repeat(np.arange(other), 20)
    teach = fit_gaussian_teach((z, emb, labels), head["precision"], (o_emb @ head["weight"].T + head["bias"], o_emb,
                                                                     o_lab))
    assert teach["kind"] == "gaussian" and "categories the model lacks" in teach["fit_on"]
    assert np.array(teach["precision"]).shape == (dim, dim)
    none = fit_gaussian_teach((z, emb, labels), head["precision"], None)
    assert none["bias"] == 0.0
    row, b = gaussian_class(o_emb[:10], head["precision"], teach["bias"])
    zo = o_emb[10:20] @ head["weight"].T + head["bias"]
    assert (o_emb[10:20] @ row + b > zo.max(1)).mean() >= 0.9
    assert (emb @ row + b < z.max(1)).mean() >= 0.99
    with pytest.raises(ConfigError, match="every class"):
        fit_gaussian_head(emb, np.minimum(labels, own - 2), own, (emb, labels))


def test_gaussian_head_on_real_doodles(quickdraw, tmp_path, cosine_doodles):
    """`inkrec export MODEL.onnx --head gaussian`: the trained classifier replaced by class means and one
    covariance fit on the real training drawings; the model's own test drawings are read as well as before."""
    src = cosine_doodles
    out = tmp_path / "gaussian.onnx"
    res = runner.invoke(app, ["export", str(src), "-o", str(out), "--data", str(quickdraw / "numpy_bitmap"),
                              "--outliers", str(quickdraw / "simplified"), "--head", "gaussian"])
    assert res.exit_code == 0, res.output
    before, after = OnnxModel(src), OnnxModel(out)
    assert after.meta["classifier"]["head"] == "gaussian" and after.meta["teach"]["kind"] == "gaussian"
    assert after.open_set["score"] == "linear"
    x, y = [], []
    for k, c in enumerate(before.labels):
        arr = np.load(quickdraw / "numpy_bitmap" / f"{c}.npy", mmap_mode="r")[-100:]
        x.append(bitmap_batch(arr.reshape(-1, 28, 28), before.spec))
        y += [k] * len(arr)
    x, y = np.concatenate(x), np.asarray(y)
    acc_before, acc_after = (float((m.predict(x).argmax(1) == y).mean()) for m in (before, after))
    assert acc_after > acc_before - 0.02, (acc_before, acc_after)
    graph = onnx.load(out)
    assert not any(n.op_type == "Concat" for n in graph.graph.node if "logits" in n.output)  # one head, not two
    # the embedding is untouched: still unit length
    _, emb = after.outputs(x[:8])
    assert np.allclose(np.linalg.norm(emb, axis=1), 1, atol=1e-4)
    # without data there is nothing to fit a Gaussian head on
    res = runner.invoke(app, ["export", str(src), "-o", str(tmp_path / "x.onnx"), "--head", "gaussian"])
    assert res.exit_code == 2 and "give --data" in res.output


def test_teaching_is_calibrated_on_shown_categories_the_model_did_not_learn():
    from types import SimpleNamespace

    from inkrec.export.equip import _not_learnt

    model = SimpleNamespace(meta={"auxiliary": {"classes": ["ant", "bee"]}})
    used = ["ant", "bee", "cat", "dog"]
    cats = np.array([0, 1, 2, 3, 2, 3, 0])
    logits, emb = np.arange(7.0)[:, None], np.arange(7.0)[:, None] * 10
    z, e, c = _not_learnt(model, logits, emb, cats, used)
    assert [used[i] for i in c] == ["cat", "dog", "cat", "dog"] and z[:, 0].tolist() == [2, 3, 4, 5]
    assert np.array_equal(e, z * 10)
    # a model that learnt every shown category but one: all of them, rather than a fit on one category
    model.meta["auxiliary"]["classes"] = ["ant", "bee", "cat"]
    assert len(_not_learnt(model, logits, emb, cats, used)[2]) == 7


def test_a_taught_class_gets_the_bias_for_its_number_of_drawings():
    teach = {"kind": "gaussian", "bias": 1.0, "bias_by_shots": {"1": 4.0, "3": 2.5, "10": 1.0}}
    assert [taught_bias(teach, n) for n in (1, 2, 3, 9, 10, 40)] == [4.0, 4.0, 2.5, 2.5, 1.0, 1.0]
    assert taught_bias({"bias": 0.5}, 3) == 0.5
