"""Writing an inkrec ONNX file: the one writer of model files, for export, quantization and model cards.

Whatever produced the graph (the torch exporter, onnxruntime's quantizer, a card that restamps test scores),
the file that leaves here has the same shape: the `inkrec` metadata (`inkrec.runtime.metadata`) as its only
metadata entry, no debug notes with this machine's paths, inkrec as its producer, checked by `onnx.checker`,
and written atomically so that a server reading the file never sees half of it.
"""

from __future__ import annotations

from pathlib import Path

import onnx

from inkrec import __version__
from inkrec.atomic import write_bytes_atomic
from inkrec.runtime import metadata as md

__all__ = ["read_model_metadata", "write_model", "write_with_metadata"]


def write_model(model: onnx.ModelProto, out: str | Path, meta: dict) -> None:
    """Put `meta` (validated) into `model` as its inkrec metadata and write it to `out` atomically."""
    out = Path(out)
    md.validate(meta, out)
    del model.metadata_props[:]
    for node in model.graph.node:  # the exporter's debug notes: stack traces with this machine's paths
        del node.metadata_props[:]
    entry = model.metadata_props.add()
    entry.key, entry.value = md.METADATA_KEY, md.dumps(meta)
    model.doc_string = (
        f"inkrec model '{meta['id']}': {len(meta['labels'])} classes. {meta.get('attribution', '')}".strip()
    )
    model.producer_name, model.producer_version = "inkrec", __version__
    onnx.checker.check_model(model)
    write_bytes_atomic(out, model.SerializeToString())


def write_with_metadata(src: str | Path, out: str | Path, meta: dict) -> None:
    """The graph in `src` with `meta` as its metadata, written to `out` (which may be `src`)."""
    write_model(onnx.load(str(src)), out, meta)


def read_model_metadata(path: str | Path) -> tuple[onnx.ModelProto, dict]:
    """The ONNX graph in `path` and its inkrec metadata (DataFormatError when it has none)."""
    model = onnx.load(str(path))
    props = {p.key: p.value for p in model.metadata_props}
    return model, md.parse(props.get(md.METADATA_KEY), path)
