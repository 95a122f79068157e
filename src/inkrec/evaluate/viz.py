"""Seeing inside a trained bitmap model: what each convolution layer responds to, and which ink decided.

Both kinds of model are shown: a run directory (torch) and an exported `.onnx` file such as the bundled
int8 models, so what is looked at is the very file that is served.

- Feature maps: every convolution's output for one drawing. Torch models are hooked (each `Conv2d`'s own
  output, before batch norm and activation); ONNX models get each `Conv` node's output added as an extra
  graph output (with the `onnx` package) and run by onnxruntime with graph optimisations off, so no fusion
  hides an intermediate (there batch norm is already folded into the convolution).
- Saliency: integrated gradients or the plain gradient need the torch model's gradients; occlusion
  sensitivity needs only predictions and so works on any model (ONNX, quantized): each patch of the picture
  is blanked in turn and the drop of the predicted class's probability is credited to the patch's pixels.

The input picture goes through the same path as an upload to the server (decode, normalise to white ink on
black, crop and centre like the training drawings), so what is shown is what the model sees in use.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
from torch import nn

from inkrec.errors import ConfigError
from inkrec.evaluate.predict import LoadedModel, load_model, softmax
from inkrec.figures import pyplot, save_figure, save_png
from inkrec.preprocess.batch import bitmap_batch, picture_bitmap
from inkrec.preprocess.pictures import decode_image
from inkrec.preprocess.spec import BITMAP, InputSpec

SALIENCY_METHODS = ("integrated-gradients", "gradient", "occlusion")
GRADIENT_METHODS = ("integrated-gradients", "gradient")
METHOD_TITLES = {
    "integrated-gradients": "integrated gradients",
    "gradient": "gradient",
    "occlusion": "occlusion sensitivity",
}


def load_model_input(image_file: str | Path, spec: InputSpec) -> np.ndarray:
    """An image file as the model's input picture: uint8 (size, size), white ink on black, framed with the
    parameters the model was trained with (as the server does for uploads)."""
    path = Path(image_file)
    if not path.is_file():
        raise ConfigError(f"image {str(path)!r} does not exist")
    grey = decode_image(path, max_side=max(1024, 8 * spec.size))
    return np.asarray(picture_bitmap(grey, spec), dtype=np.uint8)


def bitmap_model(model_path: str | Path) -> LoadedModel:
    """A run directory or `.onnx` file of a bitmap model (these views show pictures)."""
    path = Path(model_path)
    if not path.exists():
        raise ConfigError(f"model {str(path)!r} does not exist (give a run directory or an inkrec .onnx file)")
    model = load_model(path)
    if model.spec.kind != BITMAP:
        raise ConfigError(f"model {str(path)!r} reads {model.spec.kind}; these views need a bitmap model")
    return model


# ------------------------------------------------------------------------------------------ feature maps


def conv_layers(module: nn.Module) -> list[tuple[str, nn.Module]]:
    """Every 2-D convolution in the model, in the order they were registered (normally forward order)."""
    return [(name, m) for name, m in module.named_modules() if isinstance(m, nn.Conv2d)]


def feature_maps(module: nn.Module, x: torch.Tensor) -> list[tuple[str, np.ndarray]]:
    """Outputs of every Conv2d for one input, captured with forward hooks: [(layer name, (C, H, W))]."""
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


def _conv_name(node: onnx.NodeProto) -> str:
    """A readable name for an ONNX Conv node: the torch module its weights came from, where recorded."""
    weight = node.input[1] if len(node.input) > 1 else ""
    module = re.sub(r"(_DequantizeLinear_Output|_quantized)$", "", weight).removesuffix(".weight")
    return module if re.fullmatch(r"[A-Za-z_][\w.]*", module or "") and "." in module else node.name


def onnx_feature_maps(onnx_path: str | Path, x: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """Outputs of every Conv node of an ONNX model for one input (1, C, H, W): [(layer name, (C, H, W))]."""
    graph_model = onnx.load(str(onnx_path))
    convs = [n for n in graph_model.graph.node if n.op_type == "Conv"]
    if not convs:
        raise ConfigError(f"{onnx_path} has no convolution to show")
    existing = {o.name for o in graph_model.graph.output}
    for node in convs:
        if node.output[0] not in existing:
            graph_model.graph.output.append(onnx.helper.make_tensor_value_info(node.output[0], onnx.TensorProto.FLOAT, None))
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL  # keep every Conv's output
    session = ort.InferenceSession(graph_model.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    names = [n.output[0] for n in convs]
    outputs = session.run(names, {"input": np.ascontiguousarray(x, dtype=np.float32)})
    return [(_conv_name(node), np.asarray(out[0], dtype=np.float32)) for node, out in zip(convs, outputs)]


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


def write_feature_maps(model_path: str | Path, image_file: str | Path, out_dir: str | Path) -> list[Path]:
    """One PNG per convolution layer (plus the input picture) into out_dir; returns the layer PNGs."""
    model = bitmap_model(model_path)
    picture = load_model_input(image_file, model.spec)
    x = bitmap_batch(picture[None], model.spec)
    if model.module is not None:
        maps = feature_maps(model.module, torch.from_numpy(x))
    else:
        maps = onnx_feature_maps(model.path, x)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    save_png(picture, out / "input.png", scale=4)
    written = []
    for i, (name, layer_maps) in enumerate(maps):
        path = out / f"{i:02d}_{_safe(name)}.png"
        plot_feature_map(name, layer_maps, path)
        written.append(path)
    return written


# ---------------------------------------------------------------------------------------------- saliency


def saliency(module: nn.Module, x: torch.Tensor, target: int | None = None, *,
             method: str = "integrated-gradients", steps: int = 32):
    """Attribution of the class score to each input pixel, (H, W) >= 0, the class explained, probabilities.

    `gradient` is the plain gradient of the class logit (fast, noisy); `integrated-gradients` averages the
    gradient along the path from a blank canvas (no ink) to the drawing and multiplies by the ink, which
    attributes the score to strokes that are there rather than to where ink could be.
    """
    if method not in GRADIENT_METHODS:
        raise ConfigError(f"unknown gradient method {method!r}; use one of {', '.join(GRADIENT_METHODS)}")
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


def occlusion(predict, x: np.ndarray, target: int | None = None, *, patch: int | None = None,
              stride: int | None = None):
    """Occlusion sensitivity of one input (1, C, H, W): how much the class probability drops when a patch
    of the picture is blanked (set to the background, no ink), credited to the patch's pixels and averaged
    over the patches covering each pixel. `predict(batch) -> probabilities`; no gradients needed, so any
    model (ONNX, int8) can be explained. Returns (attribution (H, W) >= 0, class explained, probabilities).
    """
    probs = np.asarray(predict(x))[0]
    if target is None:
        target = int(np.argmax(probs))
    h, w = x.shape[-2:]
    patch = patch or max(2, round(min(h, w) / 7))
    stride = stride or max(1, patch // 2)
    tops = list(range(0, max(1, h - patch) + 1, stride))
    lefts = list(range(0, max(1, w - patch) + 1, stride))
    if tops[-1] + patch < h:
        tops.append(h - patch)
    if lefts[-1] + patch < w:
        lefts.append(w - patch)
    boxes = [(t, left) for t in tops for left in lefts]
    batch = np.repeat(x, len(boxes), axis=0)
    for i, (t, left) in enumerate(boxes):
        batch[i, :, t : t + patch, left : left + patch] = 0.0
    occluded = np.concatenate([np.asarray(predict(batch[i : i + 256])) for i in range(0, len(batch), 256)])
    drops = probs[target] - occluded[:, target]
    total = np.zeros((h, w), dtype=np.float64)
    count = np.zeros((h, w), dtype=np.float64)
    for (t, left), drop in zip(boxes, drops):
        total[t : t + patch, left : left + patch] += drop
        count[t : t + patch, left : left + patch] += 1
    attr = np.clip(total / np.maximum(count, 1), 0.0, None).astype(np.float32)
    return attr, target, probs


def write_saliency(
    model_path: str | Path,
    image_file: str | Path,
    out_png: str | Path,
    *,
    method: str | None = None,
) -> dict:
    """Input, saliency heat map and overlay for the predicted class, as one PNG; returns the prediction.

    `method`: integrated-gradients or gradient (torch models), occlusion (any model); by default integrated
    gradients for a run directory and occlusion sensitivity for an `.onnx` file. The figure's title names it.
    """
    model = bitmap_model(model_path)
    if method is None:
        method = "integrated-gradients" if model.module is not None else "occlusion"
    if method not in SALIENCY_METHODS:
        raise ConfigError(f"unknown saliency method {method!r}; use one of {', '.join(SALIENCY_METHODS)}")
    if method in GRADIENT_METHODS and model.module is None:
        raise ConfigError(
            f"--method {method} needs the gradients of a torch model (a run directory); for an .onnx file use "
            "--method occlusion"
        )
    picture = load_model_input(image_file, model.spec)
    x = bitmap_batch(picture[None], model.spec)
    if method in GRADIENT_METHODS:
        attr, target, probs = saliency(model.module, torch.from_numpy(x), method=method)
    else:
        attr, target, probs = occlusion(lambda b: softmax(model.logits_fn(b)), x)
    heat = attr / attr.max() if attr.max() > 0 else attr
    label = model.classes[target]
    title = METHOD_TITLES[method]

    plt = pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(10, 3.6))
    axes[0].imshow(picture, cmap="gray", vmin=0, vmax=255, interpolation="nearest")
    axes[0].set_title("model input")
    axes[1].imshow(heat, cmap="inferno", vmin=0, vmax=1, interpolation="nearest")
    axes[1].set_title(title)
    axes[2].imshow(picture, cmap="gray", vmin=0, vmax=255, interpolation="nearest")
    axes[2].imshow(heat, cmap="jet", alpha=0.5, vmin=0, vmax=1, interpolation="bilinear")
    axes[2].set_title("overlay")
    for ax in axes:
        ax.axis("off")
    fig.suptitle(f"prediction: {label} ({100 * probs[target]:.1f}%); saliency by {title} ({model.source} model)")
    out = Path(out_png)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_figure(fig, out)
    return {"label": label, "confidence": float(probs[target]), "method": method, "path": str(out)}
