"""ONNX export: metadata inside the file, parity with torch on real drawings, int8 quantization."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, helper

from inkrec.errors import DataFormatError
from inkrec.export.onnx import export_run, onnx_logits, torch_logits
from inkrec.export.quantize import quantize_int8
from inkrec.preprocess.raster import RASTER_PARAMS
from inkrec.runtime.onnx_model import OnnxModel, read_metadata
from inkrec.train.loop import train


def test_metadata_travels_inside_the_file(tiny_doodles):
    meta = read_metadata(tiny_doodles.onnx_path)
    assert meta["format"] == "inkrec-onnx/1" and meta["id"] == "doodles"
    assert meta["labels"] == tiny_doodles.meta["labels"] and len(meta["labels"]) == 18
    assert meta["input"] == {"kind": "bitmap", "size": 28, "channels": 1, "scale": 1 / 255}
    assert meta["preprocessing"] == dict(RASTER_PARAMS)
    assert meta["dataset"]["name"] == "Quick, Draw!"
    assert meta["license"] == "CC BY 4.0" and "Google" in meta["attribution"]
    assert meta["metrics"] == {"test": {"top1": 0.5}}
    model = onnx.load(str(tiny_doodles.onnx_path))
    assert [i.name for i in model.graph.input] == ["input"]
    assert [o.name for o in model.graph.output] == ["logits", "embedding"]  # embedding: for teaching
    batch_dim = model.graph.input[0].type.tensor_type.shape.dim[0]
    assert batch_dim.dim_param and not batch_dim.dim_value  # dynamic batch


def test_onnxruntime_agrees_with_torch_on_real_drawings(tiny_doodles):
    x = tiny_doodles.x_test  # 900 real test drawings, 50 per category
    ref = torch_logits(tiny_doodles.torch_model, x)
    for batch in (1, 7, len(x)):  # the batch dimension is dynamic
        got = np.concatenate(
            [onnx_logits(tiny_doodles.onnx_path, x[i : i + batch]) for i in range(0, 64, batch)]
        )
        assert got.shape == ref[: len(got)].shape
    got = onnx_logits(tiny_doodles.onnx_path, x)
    diff = float(np.abs(ref - got).max())
    print(f"parity: max |logit difference| onnxruntime vs torch on {len(x)} real drawings = {diff:.2e}")
    assert diff < 1e-4
    assert (got.argmax(1) == ref.argmax(1)).all()
    # the model learned something: a broken export of a random model would pass parity too
    assert (ref.argmax(1) == tiny_doodles.y_test).mean() > 0.3


def test_int8_is_smaller_and_keeps_top1(tiny_doodles, tmp_path):
    out = tmp_path / "doodles-int8.onnx"
    report = quantize_int8(tiny_doodles.onnx_path, out, calibration=tiny_doodles.x_train[::8])
    meta = read_metadata(out)
    assert meta["quantized"] == "int8" and meta["labels"] == tiny_doodles.meta["labels"]
    assert report["int8_bytes"] == out.stat().st_size < 0.5 * tiny_doodles.onnx_path.stat().st_size
    x, y = tiny_doodles.x_test, tiny_doodles.y_test
    fp32 = (onnx_logits(tiny_doodles.onnx_path, x).argmax(1) == y).mean()
    int8 = (onnx_logits(out, x).argmax(1) == y).mean()
    print(f"int8: {report['fp32_bytes']} -> {report['int8_bytes']} bytes; top-1 {fp32:.4f} -> {int8:.4f}")
    assert int8 >= fp32 - 0.02
    ops = {n.op_type for n in onnx.load(str(out)).graph.node}
    assert "QuantizeLinear" in ops and "DequantizeLinear" in ops


def test_int8_without_calibration_drawings_falls_back_to_dynamic(tiny_doodles, tmp_path):
    out = tmp_path / "doodles-dynamic.onnx"
    report = quantize_int8(tiny_doodles.onnx_path, out, calibration=None)
    assert read_metadata(out)["quantization"].startswith("dynamic")
    assert report["int8_bytes"] < 0.5 * tiny_doodles.onnx_path.stat().st_size
    x, y = tiny_doodles.x_test, tiny_doodles.y_test
    fp32 = (onnx_logits(tiny_doodles.onnx_path, x).argmax(1) == y).mean()
    assert (onnx_logits(out, x).argmax(1) == y).mean() >= fp32 - 0.02


def test_exported_graph_carries_no_debug_notes(tiny_doodles):
    model = onnx.load(str(tiny_doodles.onnx_path))
    assert not any(len(n.metadata_props) for n in model.graph.node)


def test_read_metadata_refuses_files_that_are_not_ours(tmp_path):
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    with pytest.raises(DataFormatError, match="junk.onnx"):
        read_metadata(junk)
    with pytest.raises(DataFormatError, match="no such file"):
        read_metadata(tmp_path / "missing.onnx")
    # a valid ONNX model without our metadata
    graph = helper.make_graph(
        [helper.make_node("Relu", ["input"], ["logits"])],
        "g",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 3])],
    )
    plain = tmp_path / "plain.onnx"
    onnx.save(helper.make_model(graph), str(plain))
    with pytest.raises(DataFormatError, match="not an inkrec model"):
        read_metadata(plain)
    # ours in name only: broken metadata JSON
    m = helper.make_model(graph)
    m.metadata_props.add(key="inkrec", value="{not json")
    bad = tmp_path / "bad.onnx"
    onnx.save(m, str(bad))
    with pytest.raises(DataFormatError, match="not valid JSON"):
        read_metadata(bad)


FEW = ["apple", "banana", "clock", "fish"]


@pytest.fixture(scope="module")
def run_dir(quickdraw, tmp_path_factory):
    """A real (short) training run of the course CNN, written by `inkrec train`'s own loop."""
    threads = torch.get_num_threads()
    out = tmp_path_factory.mktemp("run") / "seed"
    try:
        train(
            dict(
                data=str(quickdraw / "numpy_bitmap"),
                out=str(out),
                model="seed-cnn",
                classes=FEW,
                max_per_class=80,
                epochs=2,
                batch_size=32,
                lr=3e-3,
                threads=1,
                track=False,
                progress=False,
                seed=0,
            )
        )
    finally:
        torch.set_num_threads(threads)
    return out


def test_export_run_writes_metadata_and_checks_parity_on_real_drawings(run_dir, tmp_path):
    report = export_run(run_dir, tmp_path / "fish.onnx")
    assert report["parity_on"] == "real test drawings" and report["parity_samples"] >= 40
    assert report["parity_max_abs_diff"] < 1e-4
    meta = read_metadata(tmp_path / "fish.onnx")
    assert meta["id"] == "fish" and meta["labels"] == FEW and meta["model"] == "seed-cnn"
    test = json.loads((run_dir / "metrics.json").read_text())["test"]
    assert meta["metrics"]["test"] == test
    assert meta["preprocessing"]["line_diameter"] == 16
    assert meta["license"] == "CC BY 4.0"


def test_cli_export_int8_reports_size_and_top1_change(run_dir, tmp_path):
    out = tmp_path / "few.onnx"
    cmd = [
        sys.executable,
        "-c",
        "from inkrec.cli import app; app()",
        "export",
        str(run_dir),
        "-o",
        str(out),
        "--int8",
        "--id",
        "few-doodles",
    ]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
    assert res.returncode == 0, res.stderr[-3000:]
    for key in ("parity_max_abs_diff", "int8_bytes", "fp32_bytes", "top1_change", "int8_top1"):
        assert key in res.stderr, res.stderr
    meta = read_metadata(out)
    assert meta["id"] == "few-doodles" and meta["quantized"] == "int8"
    x = np.zeros((3, 1, 28, 28), np.float32)
    assert onnx_logits(out, x).shape == (3, len(FEW))


def test_cli_export_bad_input_is_a_clear_error(tmp_path):
    base = [sys.executable, "-c", "from inkrec.cli import app; app()", "export"]
    for args in ([str(tmp_path / "nope"), "-o", str(tmp_path / "x.onnx")], [str(tmp_path)]):
        res = subprocess.run([*base, *args], capture_output=True, text=True, timeout=300, check=False)
        assert res.returncode == 2, (args, res.stdout, res.stderr)
        assert "Traceback" not in res.stderr and "error" in res.stderr.lower()


def test_a_cosine_head_with_auxiliary_categories_exports_as_any_model(quickdraw, tmp_path):
    """inknet's cosine classifier ends in the Gemm that the embedding hangs on; the categories it learnt as
    auxiliary classes are named in the file, and its open-set outliers are the shown half they came from."""
    threads = torch.get_num_threads()
    out = tmp_path / "run"
    try:
        train(dict(data=str(quickdraw / "numpy_bitmap"), out=str(out), model="inknet",
                   model_kwargs={"width": 8, "head": "cosine"}, classes=FEW, max_per_class=60, epochs=1,
                   batch_size=32, threads=1, track=False, progress=False, verbose=False, seed=0,
                   aux_data=str(quickdraw / "simplified")))
    finally:
        torch.set_num_threads(threads)
    report = export_run(out, tmp_path / "aux.onnx", outliers=quickdraw / "simplified")
    assert report["parity_max_abs_diff"] < 1e-4
    meta = read_metadata(tmp_path / "aux.onnx")
    assert meta["labels"] == FEW
    aux = meta["auxiliary"]
    assert aux["data"] == "simplified" and aux["split"] == "train" and len(aux["classes"]) > 100
    # its open-set outliers: the whole shown half, the auxiliary classes and the quarter kept from them
    outliers = meta["open_set"]["outlier_classes"]
    assert set(aux["classes"]) < set(outliers) and len(outliers) - len(aux["classes"]) == len(outliers) // 4
    x = np.random.default_rng(0).random((3, 1, 28, 28), dtype=np.float32)
    logits, emb = OnnxModel(tmp_path / "aux.onnx").outputs(x)
    assert logits.shape == (3, len(FEW)) and np.allclose(np.linalg.norm(emb, axis=1), 1, atol=1e-5)
    assert np.abs(logits).max() <= 16 + 1e-3  # scale x cosine
