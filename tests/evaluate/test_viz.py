"""`inkrec viz`: feature maps (one PNG per convolution layer) and saliency, on models trained for real."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from inkrec.cli import app
from inkrec.train.tune import model_kwargs as scaled_kwargs

from .conftest import train_tiny

runner = CliRunner()


@pytest.fixture(scope="module")
def inknet_run(bitmaps, tmp_path_factory):
    """A small inknet (batch norm, residual blocks): more convolutions than the course CNN."""
    return train_tiny(
        bitmaps,
        tmp_path_factory.mktemp("runs") / "inknet",
        model="inknet",
        model_kwargs=scaled_kwargs("inknet", {"width": 0.25}),
    )


@pytest.mark.parametrize("which", ["tiny_run", "inknet_run"])
def test_feature_maps_one_png_per_conv_layer(which, request, drawing_png, tmp_path):
    from torch import nn

    from inkrec.train.runs import load_run

    run = request.getfixturevalue(which)
    res = runner.invoke(
        app,
        [
            "viz",
            "feature-maps",
            "--model",
            str(run),
            "--image",
            str(drawing_png),
            "-o",
            str(tmp_path / "maps"),
        ],
    )
    assert res.exit_code == 0, res.output
    model, _ = load_run(run)
    n_conv = sum(isinstance(m, nn.Conv2d) for m in model.modules())
    layer_pngs = sorted(p for p in (tmp_path / "maps").glob("*.png") if p.name != "input.png")
    assert n_conv >= 3 and len(layer_pngs) == n_conv
    assert f"{n_conv} convolution layer" in res.output
    for p in layer_pngs:
        assert Image.open(p).size[0] > 100
    # The input picture is the uploaded drawing framed like training data: ink present, white on black.
    pic = np.asarray(Image.open(tmp_path / "maps" / "input.png"))
    assert pic.max() > 150 and pic[0].max() < 60


def test_feature_maps_are_real_activations(tiny_run, drawing_png):
    """Hooks capture each layer's own output (before any in-place activation overwrites it)."""
    import torch

    from inkrec.evaluate.viz import feature_maps, load_model_input
    from inkrec.preprocess.spec import InputSpec
    from inkrec.train.runs import load_run

    model, meta = load_run(tiny_run)
    pic = load_model_input(drawing_png, InputSpec.from_meta(meta))
    x = torch.from_numpy(pic.astype(np.float32) / 255)[None, None]
    maps = feature_maps(model, x)
    first_conv = model.features[0]
    with torch.inference_mode():
        expected = first_conv(x)[0].numpy()
    np.testing.assert_allclose(maps[0][1], expected, atol=1e-5)
    assert (maps[0][1] < 0).any()  # pre-activation: the in-place ReLU did not clip the capture


@pytest.mark.parametrize("method", ["gradient", "integrated-gradients"])
def test_saliency_png(method, tiny_run, drawing_png, tmp_path):
    out = tmp_path / "sal.png"
    res = runner.invoke(
        app,
        [
            "viz",
            "saliency",
            "--model",
            str(tiny_run),
            "--image",
            str(drawing_png),
            "-o",
            str(out),
            "--method",
            method,
        ],
    )
    assert res.exit_code == 0, res.output
    assert Image.open(out).size[0] > 300
    assert any(c in res.output for c in ("apple", "banana", "fish"))


def test_saliency_sits_on_the_ink(tiny_run, drawing_png):
    """Integrated gradients from a blank canvas attribute nothing to pixels without ink."""
    import torch

    from inkrec.evaluate.viz import load_model_input, saliency
    from inkrec.preprocess.spec import InputSpec
    from inkrec.train.runs import load_run

    model, meta = load_run(tiny_run)
    pic = load_model_input(drawing_png, InputSpec.from_meta(meta))
    attr, target, probs = saliency(model, torch.from_numpy(pic.astype(np.float32) / 255)[None, None])
    assert attr.shape == (28, 28) and attr.max() > 0
    assert np.all(attr[pic == 0] == 0)
    assert 0 <= target < 3 and probs.sum() == pytest.approx(1.0, abs=1e-5)


def test_viz_bad_input(tiny_run, tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not a picture")
    res = runner.invoke(
        app, ["viz", "saliency", "--model", str(tiny_run), "--image", str(bad), "-o", str(tmp_path / "s.png")]
    )
    assert res.exit_code == 2 and "Traceback" not in res.output
    res = runner.invoke(
        app,
        [
            "viz",
            "feature-maps",
            "--model",
            str(tmp_path / "none"),
            "--image",
            str(bad),
            "-o",
            str(tmp_path / "m"),
        ],
    )
    assert res.exit_code == 2 and "run directory" in res.output


# ------------------------------------------------------------------------------ exported (ONNX) models

MODELS = Path(__file__).resolve().parents[2] / "models"


@pytest.fixture(scope="module")
def digit_png(mnist, tmp_path_factory) -> Path:
    """A real t10k seven, written as a person's picture: dark ink on white, enlarged."""
    from inkrec.data.formats.idx import load_idx

    images = load_idx(mnist / "t10k-images-idx3-ubyte.gz")
    labels = load_idx(mnist / "t10k-labels-idx1-ubyte.gz")
    seven = np.asarray(images[int(np.flatnonzero(np.asarray(labels) == 7)[0])])
    path = tmp_path_factory.mktemp("img") / "seven.png"
    Image.fromarray(255 - seven).resize((200, 200), Image.Resampling.BILINEAR).save(path)
    return path


def _onnx_convs(path: Path) -> int:
    import onnx

    return sum(n.op_type == "Conv" for n in onnx.load(str(path)).graph.node)


@pytest.mark.parametrize("model_id, picture", [("digits", "digit_png"), ("doodles", "drawing_png")])
def test_feature_maps_of_a_bundled_int8_model(model_id, picture, request, tmp_path):
    model = MODELS / f"{model_id}.onnx"
    res = runner.invoke(app, ["viz", "feature-maps", "--model", str(model), "--image",
                              str(request.getfixturevalue(picture)), "-o", str(tmp_path / "maps")])
    assert res.exit_code == 0, res.output
    layer_pngs = sorted(p for p in (tmp_path / "maps").glob("*.png") if p.name != "input.png")
    n_conv = _onnx_convs(model)
    assert n_conv >= 5 and len(layer_pngs) == n_conv
    assert f"{n_conv} convolution layer" in res.output
    assert any("features" in p.name for p in layer_pngs)  # named after the torch modules they came from
    for p in layer_pngs:
        assert Image.open(p).size[0] > 100


def test_onnx_feature_maps_equal_the_torch_convolutions(tiny_run, drawing_png, tmp_path):
    """An fp32 export of the course CNN (no batch norm to fold): each ONNX Conv output is the Conv2d's."""
    import torch

    from inkrec.evaluate.viz import feature_maps, load_model_input, onnx_feature_maps
    from inkrec.export.onnx import export_run
    from inkrec.preprocess.spec import InputSpec
    from inkrec.train.runs import load_run

    export_run(tiny_run, tmp_path / "tiny.onnx", parity_samples=8)
    model, meta = load_run(tiny_run)
    pic = load_model_input(drawing_png, InputSpec.from_meta(meta))
    x = pic.astype(np.float32)[None, None] / 255
    theirs = onnx_feature_maps(tmp_path / "tiny.onnx", x)
    ours = feature_maps(model, torch.from_numpy(x))
    assert len(theirs) == len(ours) == 3
    for (_, a), (_, b) in zip(theirs, ours):
        np.testing.assert_allclose(a, b, atol=1e-4)


@pytest.mark.parametrize("model_id, picture, expected", [("digits", "digit_png", "7"),
                                                          ("doodles", "drawing_png", "fish")])
def test_saliency_of_a_bundled_int8_model_by_occlusion(model_id, picture, expected, request, tmp_path):
    out = tmp_path / "sal.png"
    res = runner.invoke(app, ["viz", "saliency", "--model", str(MODELS / f"{model_id}.onnx"), "--image",
                              str(request.getfixturevalue(picture)), "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert res.output.startswith(f"{expected} (") and "occlusion" in res.output
    assert Image.open(out).size[0] > 300


def test_occlusion_sits_on_the_ink(digit_png):
    """Blanking background changes nothing: pixels farther than a patch from any ink get no credit."""
    from inkrec.evaluate.predict import load_model, softmax
    from inkrec.evaluate.viz import load_model_input, occlusion
    from inkrec.preprocess.batch import bitmap_batch

    model = load_model(MODELS / "digits.onnx")
    pic = load_model_input(digit_png, model.spec)
    attr, target, probs = occlusion(lambda b: softmax(model.logits_fn(b)), bitmap_batch(pic[None], model.spec),
                                    patch=4, stride=2)
    assert model.classes[target] == "7" and probs[target] > 0.5
    assert attr.shape == (28, 28) and attr.max() > 0
    padded = np.pad(pic > 0, 3)
    near_ink = np.lib.stride_tricks.sliding_window_view(padded, (7, 7)).any(axis=(2, 3))  # a 4x4 patch from ink
    assert np.all(attr[~near_ink] == 0)


def test_gradient_saliency_of_an_onnx_model_is_refused(digit_png, tmp_path):
    res = runner.invoke(app, ["viz", "saliency", "--model", str(MODELS / "digits.onnx"), "--image", str(digit_png),
                              "-o", str(tmp_path / "s.png"), "--method", "gradient"])
    assert res.exit_code == 2 and "occlusion" in res.output and "Traceback" not in res.output
