"""Export a trained run to a self-describing ONNX file.

The ONNX file is what leaves the training machine: the server, the page and the static site run it with
onnxruntime and nothing else. So the file carries its labels, input size and ink preprocessing in its own
metadata (see `inkrec.runtime.metadata`), and every export is checked against torch on the spot.

"""

from __future__ import annotations

import contextlib
import io
import logging
import tempfile
import warnings
from pathlib import Path

import numpy as np
import onnx
import torch

from inkrec import __version__
from inkrec.data.dataset import open_dataset
from inkrec.data.synth import SynthSpec, is_synth
from inkrec.data.terms import dataset_terms
from inkrec.errors import ConfigError, DataFormatError
from inkrec.export.equip import equip
from inkrec.export.graph import add_embedding
from inkrec.export.model_file import write_model
from inkrec.export.quantize import quantize_int8
from inkrec.jsonio import read_json, to_plain
from inkrec.runtime import metadata as md
from inkrec.runtime.onnx_model import OnnxModel
from inkrec.train.runs import load_run

__all__ = ["ExportReport", "build_metadata", "export_model", "export_run", "onnx_logits"]


def build_metadata(
    run_meta: dict, *, model_id: str, metrics: dict | None = None, lines: bool | None = None
) -> dict:
    """The `inkrec` metadata for a run's model (the run's own meta dict as `load_run` returns it).

    `lines`: whether the model reads lines of characters; None decides by its labels
    (`metadata.line_reader_default`), so a rebuilt digits or Chinese model carries `"lines": true`."""
    if not md.valid_id(model_id):
        raise ConfigError(f"model id {model_id!r}: use letters, digits, '.', '_' or '-' (at most 64)")
    data = run_meta.get("data") or {}
    terms = dataset_terms(data.get("source"), str(data.get("path") or ""))
    inp = dict(run_meta.get("input") or {})
    if inp.get("kind") not in ("bitmap", "strokes"):
        raise ConfigError(f"run input kind {inp.get('kind')!r} is neither 'bitmap' nor 'strokes'")
    inp.setdefault("channels", 1)
    inp.setdefault("scale", 1 / 255)
    labels = [str(c) for c in run_meta["classes"]]
    meta = {
        "format": md.FORMAT,
        "id": model_id,
        "labels": labels,
        "input": inp,
        "preprocessing": dict(run_meta.get("preprocessing") or {}),
        "dataset": {
            "name": terms["name"],
            "source": data.get("source"),
            "path": Path(str(data["path"])).name if data.get("path") else None,
        },
        "metrics": to_plain(metrics if metrics is not None else run_meta.get("metrics") or {}),
        "license": terms["license"],
        "attribution": terms["attribution"],
        "citation": terms["citation"],
        "weights_license": terms["weights_license"],
        "model": run_meta.get("model"),
        "quantized": None,
        "inkrec_version": __version__,
        md.LINES_KEY: md.line_reader_default(labels) if lines is None else bool(lines),
    }
    kwargs = run_meta.get("model_kwargs") or {}
    if kwargs.get("head") == "cosine":  # its logits are scale x cosine: what a taught class is scored by too
        meta["classifier"] = {"head": "cosine", "scale": float(kwargs.get("scale", 16.0))}
    aux = run_meta.get("auxiliary")
    if aux:  # categories the features learnt from, which benchmarks of unseen categories must leave out
        meta["auxiliary"] = dict(to_plain(aux), data=Path(str(aux.get("data") or "")).name or None)
    if data.get("vocabulary"):
        meta["vocabulary"] = str(data["vocabulary"])  # a named character set (`inkrec.data.charsets`)
    return md.validate(meta, "<export>")


def _example_inputs(meta: dict, batch: int = 2):
    inp = meta["input"]
    if inp["kind"] == "bitmap":
        size, ch = int(inp["size"]), int(inp.get("channels", 1))
        return (torch.rand(batch, ch, size, size),), ["input"]
    steps = 16
    x = torch.zeros(batch, steps, 3)
    lengths = torch.full((batch,), steps, dtype=torch.int64)
    return (x, lengths), ["input", "lengths"]


def _torch_export(model, args: tuple, input_names: list[str], out: Path) -> None:
    """torch.onnx.export with a dynamic batch (and sequence length for strokes).

    The dynamo exporter is the maintained one; the TorchScript exporter is kept as a fallback for models
    it cannot trace (it is deprecated, but still turns out a correct graph for plain CNNs and RNNs).
    """
    batch = torch.export.Dim("batch", min=1, max=4096)
    if len(args) == 1:
        shapes: tuple = ({0: batch},)
        axes = {"input": {0: "batch"}, "logits": {0: "batch"}}
    else:
        steps = torch.export.Dim("steps", min=2, max=65536)
        shapes = ({0: batch, 1: steps}, {0: batch})
        axes = {"input": {0: "batch", 1: "steps"}, "lengths": {0: "batch"}, "logits": {0: "batch"}}
    sink = io.StringIO()
    # the exporter narrates every step and warns about optional torchvision ops: keep the CLI quiet
    quiet = [
        logging.getLogger(name) for name in ("torch.onnx", "torch.onnx._internal.exporter._registration")
    ]
    levels = [lg.level for lg in quiet]
    for lg in quiet:
        lg.setLevel(logging.ERROR)
    with warnings.catch_warnings(), contextlib.redirect_stdout(sink), contextlib.ExitStack() as restore:
        restore.callback(lambda: [lg.setLevel(lv) for lg, lv in zip(quiet, levels, strict=True)])
        warnings.simplefilter("ignore")
        try:
            torch.onnx.export(
                model,
                args,
                str(out),
                input_names=input_names,
                output_names=["logits"],
                dynamic_shapes=shapes,
                dynamo=True,
                external_data=False,
                verbose=False,
            )
            return
        except Exception as dynamo_exc:  # noqa: BLE001 - fall back, and say why if that fails too
            try:
                torch.onnx.export(
                    model,
                    args,
                    str(out),
                    input_names=input_names,
                    output_names=["logits"],
                    dynamic_axes=axes,
                    dynamo=False,
                    opset_version=17,
                )
            except Exception as exc:
                raise ConfigError(f"ONNX export failed: {dynamo_exc}; legacy exporter: {exc}") from exc


def export_model(model, meta: dict, out_path: str | Path) -> Path:
    """Export a torch module (eval mode) with the given inkrec metadata to `out_path`, with its `logits` and
    its `embedding` output."""
    out = Path(out_path)
    md.validate(meta, out)
    model = model.eval()
    args, names = _example_inputs(meta)
    with tempfile.TemporaryDirectory(dir=out.parent if out.parent.exists() else None) as tmp:
        raw = Path(tmp) / "raw.onnx"
        _torch_export(model, args, names, raw)
        write_model(add_embedding(onnx.load(str(raw)), str(out)), out, meta)
    return out


def onnx_logits(onnx_path: str | Path, x: np.ndarray, lengths: np.ndarray | None = None) -> np.ndarray:
    """Run an exported model with onnxruntime, as the server does (used for parity checks and reports)."""
    return OnnxModel(onnx_path).logits(x, lengths)


def torch_logits(model, x: np.ndarray, lengths: np.ndarray | None = None) -> np.ndarray:
    with torch.inference_mode():
        args = [torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))]
        if lengths is not None:
            args.append(torch.from_numpy(np.asarray(lengths, dtype=np.int64)))
        return model(*args).float().numpy()


class ExportReport(dict):
    """What an export did, for the CLI to print: path, size, parity and (for --int8) the top-1 change."""


def _run_metrics(run_dir: Path, run_meta: dict) -> dict:
    metrics = dict(run_meta.get("metrics") or {})
    mfile = run_dir / "metrics.json"
    if mfile.is_file():
        try:
            data = read_json(mfile)
        except ValueError as exc:
            raise DataFormatError(mfile, f"not valid JSON: {exc}") from None
        if isinstance(data, dict) and data.get("test"):
            metrics["test"] = data["test"]
        if isinstance(data, dict) and data.get("best") and "best" not in metrics:
            metrics["best"] = data["best"]
    return metrics


def real_samples(run_meta: dict, split: str, n: int, seed: int = 0):
    """Up to `n` real drawings (float32 model input, int labels) from the run's own data set, or None.

    Parity and quantization are judged on real drawings, not noise: a model can agree on noise and
    disagree on ink. None when the data set is not reachable from here (a run copied to another machine).
    """
    data = run_meta.get("data") or {}
    path = data.get("path")
    if path and is_synth(str(path)) and run_meta["input"]["kind"] == "bitmap":
        return synth_samples(str(path), list(run_meta["classes"]), split, n, seed, int(run_meta["input"]["size"]))
    if not path or not Path(str(path)).exists() or run_meta["input"]["kind"] != "bitmap":
        return None
    ds = open_dataset(str(path), split=split, classes=list(run_meta["classes"]))
    if len(ds) == 0:
        return None
    per_class = max(1, n // max(1, len(ds.classes)))
    idx = np.asarray(ds.balanced_indices(per_class, seed))[:n]
    size = int(run_meta["input"]["size"])
    x = ds.bitmaps(idx, size=size).astype(np.float32)[:, None] / 255.0
    # labels in the run's class order (open_dataset was asked for the same classes)
    y = np.asarray(ds.labels)[idx]
    return x, y


def synth_samples(data: str, classes: list[str], split: str, n: int, seed: int, size: int):
    """`n` samples of a synthetic run's own data (the synthesizer is that run's data set): one each of `n`
    classes drawn at random, seeded by split and `seed`."""
    synth = SynthSpec.parse(data).synthesizer
    if list(synth.classes) != classes:
        return None
    rng = np.random.default_rng([seed, 0 if split == "train" else 1, 0xCA1])
    labels = np.sort(rng.choice(len(classes), size=min(n, len(classes)), replace=False))
    seeds = rng.integers(0, 2**62, len(labels), dtype=np.int64)
    x = synth.bitmaps(labels, seeds, size).astype(np.float32)[:, None] / 255.0
    return x, labels


def export_run(
    run_dir: str | Path,
    out_path: str | Path,
    int8: bool = False,
    *,
    model_id: str | None = None,
    parity_samples: int = 256,
    outliers: str | Path | None = None,
    lines: bool | None = None,
    head: str = "trained",
) -> ExportReport:
    """Export `runs/NAME/best.pt` to ONNX with metadata, check parity with torch, optionally quantize.

    With `int8`, `out_path` holds the quantized model (static int8 calibrated on real training drawings
    when the run's data set is reachable, dynamic otherwise) and the report has the size and the change
    in top-1 accuracy on real test drawings. Every export gains the `embedding` output; with the run's data
    set at hand also the open-set rule (outlier exposure with `outliers`' other categories when given) and
    the teaching calibration (`inkrec.export.equip`).
    """
    run_dir, out = Path(run_dir), Path(out_path)
    model, run_meta = load_run(run_dir)
    meta = build_metadata(
        run_meta, model_id=model_id or out.stem, metrics=_run_metrics(run_dir, run_meta), lines=lines
    )
    report = ExportReport(path=str(out), id=meta["id"], labels=len(meta["labels"]))
    with tempfile.TemporaryDirectory(dir=out.parent if out.parent.exists() else None) as tmp:
        fp32 = Path(tmp) / "model.onnx" if int8 else out
        export_model(model, meta, fp32)
        samples = real_samples(run_meta, "test", parity_samples)
        lengths = y = None
        if samples is None:  # no data here: synthetic input still catches a broken graph
            args, _ = _example_inputs(meta, batch=8)
            x = args[0].numpy()
            lengths = args[1].numpy() if len(args) > 1 else None
        else:
            x, y = samples
        ref = torch_logits(model, x, lengths)
        got = onnx_logits(fp32, x, lengths)
        report["parity_max_abs_diff"] = float(np.abs(ref - got).max())
        report["parity_samples"] = len(x)
        synthetic = is_synth(str((run_meta.get("data") or {}).get("path") or ""))
        report["parity_on"] = ("random input" if y is None else "synthetic test samples" if synthetic
                               else "real test drawings")
        report["fp32_bytes"] = fp32.stat().st_size
        if int8:
            calib = real_samples(run_meta, "train", 512, seed=1)
            qreport = quantize_int8(fp32, out, calibration=None if calib is None else calib[0],
                                    calibration_source="synthetic samples" if synthetic else "real drawings")
            report.update(qreport)
            q = onnx_logits(out, x, lengths)
            report["int8_top1_agreement"] = float((q.argmax(1) == ref.argmax(1)).mean())
            if y is not None:
                report["fp32_top1"] = float((ref.argmax(1) == y).mean())
                report["int8_top1"] = float((q.argmax(1) == y).mean())
                report["top1_change"] = report["int8_top1"] - report["fp32_top1"]
        data = (run_meta.get("data") or {}).get("path")
        reachable = bool(data) and Path(str(data)).exists() and meta["input"]["kind"] == "bitmap"
        if head != "trained" and not reachable:
            raise ConfigError(f"a {head} head is fit on the run's data set of pictures, and {data!r} is not one here")
        added = equip(out, out, data=data if reachable else None, outliers=outliers, head=head)
        if "classifier" in added:
            report["classifier"] = f"{head} head, temperature {added['classifier']['temperature']:.3g}"
        report["embedding"] = True
        if "open_set" in added:
            rule = added["open_set"]
            report["open_set"] = f"{rule['score']} score, threshold {rule['threshold']:.3f}"
        report["bytes"] = out.stat().st_size
    return report
