"""int8 quantization of an exported model with onnxruntime's quantization tools.

Static quantization (QDQ, per-channel weights) calibrated on real drawings is the default: it quantizes
the convolutions too (all but the first, which reads the raw picture) and runs on onnxruntime-web, where
the dynamic ConvInteger kernels do not exist.
Without calibration drawings we fall back to dynamic quantization, which needs none but only shrinks the
weights of MatMul/Gemm layers.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import onnx

from inkrec.errors import ConfigError
from inkrec.export.model_file import write_with_metadata
from inkrec.runtime import metadata as md
from inkrec.runtime.onnx_model import read_metadata

__all__ = ["quantize_int8"]


class _Calibration:
    """Feeds onnxruntime's calibrator one small batch of real drawings at a time."""

    def __init__(self, x: np.ndarray, batch: int = 32):
        self._batches = [
            {"input": np.ascontiguousarray(x[i : i + batch], dtype=np.float32)}
            for i in range(0, len(x), batch)
        ]
        self._it = iter(self._batches)

    def get_next(self):
        return next(self._it, None)

    def rewind(self):
        self._it = iter(self._batches)


def quantize_int8(fp32_path: str | Path, out_path: str | Path, calibration: np.ndarray | None = None, *,
                  calibration_source: str = "real drawings") -> dict:
    """Quantize `fp32_path` to int8 at `out_path` (metadata kept, marked quantized); return a size report."""
    # onnxruntime's quantization tools take seconds to import; only an --int8 export pays for them
    from onnxruntime.quantization import (
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_dynamic,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    src, out = Path(fp32_path), Path(out_path)
    meta = read_metadata(src)
    with tempfile.TemporaryDirectory() as tmp:
        pre = Path(tmp) / "pre.onnx"
        q = Path(tmp) / "q.onnx"
        try:
            quant_pre_process(str(src), str(pre), skip_symbolic_shape=True)
        except Exception:  # noqa: BLE001 - pre-processing only helps; quantize the plain graph instead
            pre = src
        if calibration is not None and len(calibration) and meta["input"]["kind"] == "bitmap":
            # The convolutions that read the picture itself stay float: they see raw, sparse, faint ink, where
            # 8-bit activations cost whole points of accuracy (seen on Chinese MNIST), for almost no time saved
            # (one input channel).
            graph = onnx.load(str(pre)).graph
            inputs = {i.name for i in graph.input}
            first = [n.name for n in graph.node if n.op_type == "Conv" and n.input and n.input[0] in inputs]
            quantize_static(
                str(pre),
                str(q),
                _Calibration(np.asarray(calibration)),
                quant_format=QuantFormat.QDQ,
                per_channel=True,
                activation_type=QuantType.QUInt8,
                weight_type=QuantType.QInt8,
                calibrate_method=CalibrationMethod.MinMax,
                nodes_to_exclude=first,
            )
            method = (
                f"static QDQ int8, per-channel weights, calibrated on {len(calibration)} {calibration_source}"
                f"{'; first convolution in float' if first else ''}"
            )
        else:
            # The dynamic quantizer re-runs shape inference after rewriting Gemm weights; the shapes the
            # exporter recorded would then contradict it, so it starts from a graph without them.
            plain = onnx.load(str(pre))
            del plain.graph.value_info[:]
            pre = Path(tmp) / "plain.onnx"
            onnx.save(plain, str(pre))
            quantize_dynamic(str(pre), str(q), weight_type=QuantType.QInt8)
            method = "dynamic int8 (weights of MatMul/Gemm; no calibration drawings available)"
        if not q.is_file():
            raise ConfigError(f"int8 quantization of {src} produced no model")
        meta = dict(meta, quantized="int8", quantization=method)
        onnx.load(str(q))  # fail here, not in the server, if the tool wrote something unreadable
        write_with_metadata(q, out, md.validate(meta, out))
    return {
        "int8_bytes": out.stat().st_size,
        "fp32_bytes": src.stat().st_size,
        "size_ratio": out.stat().st_size / max(1, src.stat().st_size),
        "quantization": method,
    }
