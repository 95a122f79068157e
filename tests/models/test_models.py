"""The model registry and every registered model: sizes, shapes, clear errors, ONNX export parity."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from inkrec.errors import ConfigError
from inkrec.models import architecture, create_model, dummy_input, list_models
from inkrec.preprocess.strokes import pad_sequences, strokes_to_sequence


def n_params(m: torch.nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


def test_registry_lists_the_models():
    assert {"logreg", "seed-cnn", "inknet", "stroke-rnn"} <= set(list_models())
    assert architecture("stroke-rnn").input_kind == "strokes"
    assert architecture("inknet").input_kind == "bitmap"


def test_seed_cnn_is_the_course_cnn():
    m = create_model("seed-cnn", 100)
    assert n_params(m) == 110_052
    convs = [l for l in m.modules() if isinstance(l, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [16, 32, 64]
    assert all(c.kernel_size == (3, 3) and c.padding == (1, 1) for c in convs)
    assert sum(isinstance(l, torch.nn.MaxPool2d) for l in m.modules()) == 3
    dense = [l for l in m.modules() if isinstance(l, torch.nn.Linear)]
    assert [(d.in_features, d.out_features) for d in dense] == [(576, 128), (128, 100)]


@pytest.mark.parametrize("size", [28, 64])
def test_inknet_is_small_and_takes_both_sizes(size):
    m = create_model("inknet", 345, image_size=size).eval()
    assert n_params(m) <= 1_500_000
    assert any(isinstance(l, torch.nn.BatchNorm2d) for l in m.modules())
    assert any(isinstance(l, torch.nn.Dropout) for l in m.modules())
    assert m(torch.rand(3, 1, size, size)).shape == (3, 345)


def test_unknown_model_lists_the_known_ones():
    with pytest.raises(ConfigError) as err:
        create_model("resnet-9000", 10)
    msg = str(err.value)
    assert "resnet-9000" in msg
    for name in ("inknet", "seed-cnn", "logreg", "stroke-rnn"):
        assert name in msg


def test_unknown_model_option_is_refused():
    with pytest.raises(ConfigError, match="does not take"):
        create_model("seed-cnn", 10, width=3)
    with pytest.raises(ConfigError, match="num_classes"):
        create_model("inknet", 1)


def test_stroke_sequences_from_real_drawings(quickdraw):
    from inkrec.data.formats.ndjson import iter_ndjson

    drawings = [d for _, d in zip(range(20), iter_ndjson(quickdraw / "simplified" / "cat.ndjson"))]
    seqs = [strokes_to_sequence(d.strokes) for d in drawings]
    for d, s in zip(drawings, seqs):
        n_points = sum(len(st[0]) for st in d.strokes)
        assert s.dtype == np.float32 and s.shape == (min(n_points, 257) - 1, 3)
        # every stroke but possibly a dropped first point ends with a pen lift; the last row is the last lift
        assert s[-1, 2] == 1 and int(s[:, 2].sum()) == len(d.strokes)
        xy = np.cumsum(np.vstack([np.zeros((1, 2)), s[:, :2]]), axis=0)  # points relative to the first
        extent = xy.max(axis=0) - xy.min(axis=0)
        assert np.isclose(extent.max(), 1.0, atol=1e-5)  # the longer side of the bounding box scaled to 1
    x, lengths = pad_sequences(seqs)
    assert x.shape == (20, max(len(s) for s in seqs), 3) and lengths.tolist() == [len(s) for s in seqs]


def test_long_drawings_are_thinned_keeping_pen_lifts():
    rng = np.random.default_rng(0)
    strokes = [rng.uniform(0, 255, size=(2, 300)) for _ in range(4)]
    s = strokes_to_sequence(strokes, max_points=100)
    assert len(s) == 100
    assert int(s[:, 2].sum()) == 4


@pytest.mark.parametrize("name", ["logreg", "seed-cnn", "inknet", "stroke-rnn"])
def test_onnx_export_matches_torch(name, tmp_path):
    import onnxruntime as ort

    torch.manual_seed(0)
    m = create_model(name, 18).eval()
    # non-trivial batch-norm statistics, so folding them into the export is really checked
    for mod in m.modules():
        if isinstance(mod, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
            mod.running_mean.uniform_(-0.5, 0.5)
            mod.running_var.uniform_(0.5, 2.0)
            mod.weight.data.uniform_(0.5, 1.5)
    args = dummy_input(m, batch=2)
    names = ["input", "lengths"][: len(args)]
    axes = {"input": {0: "batch"}, "logits": {0: "batch"}}
    if len(args) == 2:
        axes["input"] = {0: "batch", 1: "time"}
        axes["lengths"] = {0: "batch"}
    path = tmp_path / f"{name}.onnx"
    torch.onnx.export(m, args, str(path), input_names=names, output_names=["logits"], dynamic_axes=axes,
                      dynamo=False)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    gen = torch.Generator().manual_seed(1)
    if len(args) == 2:  # a different batch size and ragged lengths than the export example
        x = torch.randn(5, 40, 3, generator=gen) * 0.1
        lengths = torch.tensor([40, 7, 23, 1, 12])
        for i, n in enumerate(lengths):
            x[i, n:] = 0
        feeds = (x, lengths)
    else:
        feeds = (torch.rand(5, 1, 28, 28, generator=gen),)
    with torch.no_grad():
        ref = m(*feeds).numpy()
    got = sess.run(["logits"], {n: t.numpy() for n, t in zip(names, feeds)})[0]
    assert got.shape == ref.shape == (5, 18)
    assert np.abs(got - ref).max() < 1e-4


def test_stroke_rnn_ignores_padding():
    torch.manual_seed(0)
    m = create_model("stroke-rnn", 5).eval()
    x = torch.randn(1, 12, 3)
    padded = torch.cat([x, torch.randn(1, 20, 3)], dim=1)  # garbage after the valid steps
    with torch.no_grad():
        a = m(x, torch.tensor([12]))
        b = m(padded, torch.tensor([12]))
    assert torch.allclose(a, b, atol=1e-5)


def test_raw_and_simplified_drawings_encode_alike(quickdraw):
    """The same drawing from the raw and the simplified files gives the stroke model the same input."""
    from inkrec.data.formats.ndjson import iter_ndjson
    from inkrec.preprocess.strokes import encode

    raw = {d.key_id: d for d in iter_ndjson(quickdraw / "raw" / "cat.ndjson")}
    pairs = [(raw[s.key_id], s) for s in iter_ndjson(quickdraw / "simplified" / "cat.ndjson") if s.key_id in raw]
    assert len(pairs) >= 20
    for r, s in pairs:
        a, b = encode(r.strokes), encode(s.strokes)
        assert a.shape == b.shape
        assert np.abs(a - b).max() < 0.02  # at most a few units of the 0-255 grid


def test_inknet_cosine_head_scores_scaled_cosines():
    torch.manual_seed(0)
    m = create_model("inknet", 7, width=8, head="cosine", scale=12).eval()
    assert isinstance(m.fc, torch.nn.Linear) and m.fc.bias is None  # found as the classifier by --init/--freeze
    x = torch.rand(4, 1, 28, 28)
    with torch.no_grad():
        feats = m.neck(m.pool(m.features(x)).flatten(1))
        cos = torch.nn.functional.normalize(feats, dim=1) @ torch.nn.functional.normalize(m.fc.weight, dim=1).T
        logits = m(x)
    assert torch.allclose(logits, 12 * cos, atol=1e-5)
    assert logits.abs().max() <= 12 + 1e-4
    with pytest.raises(ConfigError, match="head must be one of linear, cosine"):
        create_model("inknet", 7, head="arcface")
