"""`inkrec export` on the command line: bad input is one line and exit status 2 (the root CLI's handler)."""

from __future__ import annotations

import importlib

from typer.testing import CliRunner

from inkrec.cli import app

runner = CliRunner()


def test_nothing_to_write_is_a_clear_error(tmp_path):
    res = runner.invoke(app, ["export", str(tmp_path)])
    assert res.exit_code == 2 and "give -o MODEL.onnx, --web DIR, or both" in res.output
    assert res.exception is None or isinstance(res.exception, SystemExit)


def test_missing_run_is_a_clear_error(tmp_path):
    res = runner.invoke(app, ["export", str(tmp_path / "no-run"), "-o", str(tmp_path / "m.onnx")])
    assert res.exit_code == 2 and "does not exist" in res.output
    assert not (tmp_path / "m.onnx").exists()


def test_quantize_and_onnx_import_each_other_no_more():
    """The metadata writer lives in one module both use: importing either alone works, in any order."""
    quantize = importlib.import_module("inkrec.export.quantize")
    model_file = importlib.import_module("inkrec.export.model_file")
    assert quantize.write_with_metadata is model_file.write_with_metadata
    assert not hasattr(importlib.import_module("inkrec.export.onnx"), "_write_with_metadata")
