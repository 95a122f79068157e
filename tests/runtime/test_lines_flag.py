"""The `lines` flag of model metadata: what export writes, how a file without it is judged, what the bundled
models say."""

from __future__ import annotations

from pathlib import Path

import pytest

from inkrec.errors import DataFormatError
from inkrec.runtime import metadata as md
from inkrec.runtime.onnx_model import read_metadata

REPO = Path(__file__).resolve().parents[2]


def test_default_follows_the_labels():
    assert md.line_reader_default([str(d) for d in range(10)])
    assert md.line_reader_default(["一", "二", "零"])
    assert not md.line_reader_default(["cat", "dog"])
    assert not md.line_reader_default([" ", "a"])
    assert md.reads_lines({"labels": ["a", "b"]}) and not md.reads_lines({"labels": ["a", "b"], "lines": False})
    assert md.reads_lines({"labels": ["cat"], "lines": True})


def test_bundled_models_say_whether_they_read_lines():
    assert read_metadata(REPO / "models" / "digits.onnx")["lines"] is True
    assert read_metadata(REPO / "models" / "hanzi-numerals.onnx")["lines"] is True
    assert md.reads_lines(read_metadata(REPO / "models" / "doodles.onnx")) is False


def test_a_flag_that_is_not_a_boolean_is_refused():
    meta = dict(read_metadata(REPO / "models" / "digits.onnx"), lines="yes")
    with pytest.raises(DataFormatError, match="'lines' must be true or false"):
        md.validate(meta, "x.onnx")


def test_export_writes_the_flag():
    from inkrec.export.onnx import build_metadata

    run = {"classes": list("0123456789"), "input": {"kind": "bitmap", "size": 28}, "data": {}, "model": "inknet"}
    assert build_metadata(run, model_id="d")["lines"] is True
    assert build_metadata(run, model_id="d", lines=False)["lines"] is False
    assert build_metadata(dict(run, classes=["cat", "dog"]), model_id="q")["lines"] is False
