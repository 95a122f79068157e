"""`inkrec viz`: feature maps (one PNG per convolution layer) and saliency, on models trained for real."""

from __future__ import annotations

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
    from inkrec.train.runs import load_run

    model, meta = load_run(tiny_run)
    pic = load_model_input(drawing_png, 28, meta.get("preprocessing"))
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
    from inkrec.train.runs import load_run

    model, meta = load_run(tiny_run)
    pic = load_model_input(drawing_png, 28, meta.get("preprocessing"))
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
