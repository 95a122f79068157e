"""Seeing inside a trained bitmap model: what each convolution layer responds to, and which ink decided.

The input picture goes through the same path as an upload to the server (decode, normalise to white ink on
black, crop and centre like the Quick, Draw! rasterizer), so what is shown is what the model sees in use.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np

from inkrec.errors import ConfigError
from inkrec.figures import pyplot, save_figure, save_png


def load_model_input(image_file: str | Path, size: int, preprocessing: dict | None = None) -> np.ndarray:
    """An image file as the model input picture: uint8 (size, size), white ink on black.

    Framing parameters the model was trained with (its `preprocessing`, e.g. line diameter and padding)
    are passed on, as the server does for uploads.
    """
    import inspect

    from inkrec.preprocess.pictures import decode_image, normalize_ink, to_model_input

    path = Path(image_file)
    if not path.is_file():
        raise ConfigError(f"image {str(path)!r} does not exist")
    accepted = set(inspect.signature(to_model_input).parameters) - {"grey_white_on_black", "size"}
    params = {k: v for k, v in (preprocessing or {}).items() if k in accepted}
    grey = decode_image(path, max_side=max(1024, 8 * size))
    return np.asarray(to_model_input(normalize_ink(grey), size, **params), dtype=np.uint8)


def _bitmap_run(model_dir: str | Path):
    from inkrec.evaluate.predict import load_predictor

    path = Path(model_dir)
    if not path.is_dir():
        raise ConfigError(
            f"{str(path)!r} is not a run directory (feature maps and saliency need the torch model)"
        )
    pred = load_predictor(path)
    if pred.kind != "bitmap":
        raise ConfigError(f"model in {str(path)!r} reads {pred.kind}, these views need a bitmap model")
    return pred


def conv_layers(module) -> list[tuple[str, object]]:
    """Every 2-D convolution in the model, in the order they were registered (normally forward order)."""
    from torch import nn

    return [(name, m) for name, m in module.named_modules() if isinstance(m, nn.Conv2d)]


def feature_maps(module, x) -> list[tuple[str, np.ndarray]]:
    """Outputs of every Conv2d for one input, captured with forward hooks: [(layer name, (C, H, W))]."""
    import torch

    layers = conv_layers(module)
    if not layers:
        raise ConfigError("the model has no 2-D convolution layer to show")
    captured: dict[str, np.ndarray] = {}

    def hook(name):
        # Copy at once: an in-place activation (ReLU(inplace=True)) would overwrite the output afterwards.
        return lambda _m, _i, out: captured.__setitem__(name, out.detach()[0].float().clone().numpy())

    handles = [m.register_forward_hook(hook(name)) for name, m in layers]
    try:
        with torch.inference_mode():
            module(x)
    finally:
        for h in handles:
            h.remove()
    # A layer the forward pass skipped (an unused branch) has nothing to show.
    return [(name, captured[name]) for name, _ in layers if name in captured]


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name) or "conv"


def channel_montage(maps: np.ndarray, cols: int) -> np.ndarray:
    """(C, H, W) activations -> one (rows*(H+1)-1, cols*(W+1)-1) image, each channel scaled to [0, 1] on its
    own so that weak channels stay visible; NaN in the 1-pixel gaps and empty cells."""
    c, h, w = maps.shape
    rows = math.ceil(c / cols)
    out = np.full((rows * (h + 1) - 1, cols * (w + 1) - 1), np.nan, dtype=np.float32)
    for k in range(c):
        m = maps[k].astype(np.float32)
        lo, hi = float(m.min()), float(m.max())
        r, q = divmod(k, cols)
        out[r * (h + 1) : r * (h + 1) + h, q * (w + 1) : q * (w + 1) + w] = (
            (m - lo) / (hi - lo) if hi > lo else 0.0
        )
    return out


def plot_feature_map(name: str, maps: np.ndarray, path: Path, max_channels: int = 64) -> None:
    """A grid of channel activations (one image, channel numbers in row-major order)."""
    plt = pyplot()
    c = min(maps.shape[0], max_channels)
    cols = math.ceil(math.sqrt(c))
    rows = math.ceil(c / cols)
    montage = channel_montage(maps[:c], cols)
    fig, ax = plt.subplots(figsize=(max(4.0, 1.1 * cols), max(3.0, 1.1 * rows) + 0.4))
    cmap = plt.get_cmap("viridis").with_extremes(bad="white")
    ax.imshow(np.ma.masked_invalid(montage), cmap=cmap, vmin=0, vmax=1, interpolation="nearest")
    h, w = maps.shape[1:]
    for k in range(c):
        r, q = divmod(k, cols)
        ax.text(q * (w + 1), r * (h + 1), str(k), fontsize=6, color="white", va="top", ha="left")
    ax.axis("off")
    shown = f"first {c} of {maps.shape[0]}" if c < maps.shape[0] else f"{c}"
    ax.set_title(f"{name}: {shown} channels, {h}x{w} (each scaled on its own)", fontsize=10)
    save_figure(fig, path)


def write_feature_maps(model_dir: str | Path, image_file: str | Path, out_dir: str | Path) -> list[Path]:
    """One PNG per convolution layer (plus the input picture) into out_dir; returns the layer PNGs."""
    import torch

    pred = _bitmap_run(model_dir)
    picture = load_model_input(image_file, pred.size, pred.meta.get("preprocessing"))
    x = torch.from_numpy(picture.astype(np.float32) / 255.0)[None, None]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    save_png(picture, out / "input.png", scale=4)
    written = []
    for i, (name, maps) in enumerate(feature_maps(pred.module, x)):
        path = out / f"{i:02d}_{_safe(name)}.png"
        plot_feature_map(name, maps, path)
        written.append(path)
    return written


def saliency(module, x, target: int | None = None, *, method: str = "integrated-gradients", steps: int = 32):
    """Attribution of the class score to each input pixel, (H, W) >= 0, and the class explained.

    `gradient` is the plain gradient of the class logit (fast, noisy); `integrated-gradients` averages the
    gradient along the path from a blank canvas (no ink) to the drawing and multiplies by the ink, which
    attributes the score to strokes that are there rather than to where ink could be.
    """
    import torch

    if method not in ("gradient", "integrated-gradients"):
        raise ConfigError(f"unknown saliency method {method!r}; use 'gradient' or 'integrated-gradients'")
    with torch.inference_mode():
        logits = module(x)
    if target is None:
        target = int(logits[0].argmax())
    with torch.enable_grad():
        if method == "gradient":
            inp = x.clone().requires_grad_(True)
            module(inp)[0, target].backward()
            attr = inp.grad[0, 0].abs()
        else:
            alphas = torch.linspace(1.0 / steps, 1.0, steps).view(-1, 1, 1, 1)
            path = (alphas * x).detach().requires_grad_(True)  # baseline: an empty (black) canvas
            module(path)[:, target].sum().backward()
            attr = (x[0, 0] * path.grad.mean(dim=0)[0]).abs()
    return attr.detach().numpy(), target, torch.softmax(logits[0].float(), 0).numpy()


def write_saliency(
    model_dir: str | Path,
    image_file: str | Path,
    out_png: str | Path,
    *,
    method: str = "integrated-gradients",
) -> dict:
    """Input, saliency heat map and overlay for the predicted class, as one PNG; returns the prediction."""
    import torch

    pred = _bitmap_run(model_dir)
    picture = load_model_input(image_file, pred.size, pred.meta.get("preprocessing"))
    x = torch.from_numpy(picture.astype(np.float32) / 255.0)[None, None]
    attr, target, probs = saliency(pred.module, x, method=method)
    heat = attr / attr.max() if attr.max() > 0 else attr
    label = pred.classes[target]

    plt = pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(10, 3.6))
    axes[0].imshow(picture, cmap="gray", vmin=0, vmax=255, interpolation="nearest")
    axes[0].set_title("model input")
    axes[1].imshow(heat, cmap="inferno", vmin=0, vmax=1, interpolation="nearest")
    axes[1].set_title(method)
    axes[2].imshow(picture, cmap="gray", vmin=0, vmax=255, interpolation="nearest")
    axes[2].imshow(heat, cmap="jet", alpha=0.5, vmin=0, vmax=1, interpolation="bilinear")
    axes[2].set_title("overlay")
    for ax in axes:
        ax.axis("off")
    fig.suptitle(f"prediction: {label} ({100 * probs[target]:.1f}%)")
    out = Path(out_png)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_figure(fig, out)
    return {"label": label, "confidence": float(probs[target]), "method": method, "path": str(out)}
