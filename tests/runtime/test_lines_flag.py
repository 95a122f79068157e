"""The `lines` flag of model metadata: what export writes, how a file without it is judged, what the bundled
models say."""

from __future__ import annotations

import dataclasses
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


def test_line_priors_name_the_readers_fields_and_are_checked():
    from inkrec.read.reader import LineReader
    from inkrec.read.search import PICTURE_PRIORS, Priors
    from inkrec.runtime.onnx_model import OnnxModel

    assert md.LINE_PRIOR_FIELDS == tuple(f.name for f in dataclasses.fields(Priors))
    base = read_metadata(REPO / "models" / "digits.onnx")
    good = dict(base, line_priors={"ink": {"char_bonus": -0.4, "max_span": 4}, "pictures": {}})
    assert md.validate(good, "x.onnx") is good
    assert md.line_priors(good, "ink") == {"char_bonus": -0.4, "max_span": 4} and md.line_priors(base, "ink") == {}
    for bad in ({"paper": {}}, {"ink": {"bogus": 1}}, {"ink": {"wide": "1"}}, {"ink": {"wide": True}},
                {"ink": {"wide": float("nan")}}, {"pictures": {"max_span": 0}}, {"ink": {"max_span": 2.5}}, ["ink"]):
        with pytest.raises(DataFormatError, match="line_priors"):
            md.validate(dict(base, line_priors=bad), "x.onnx")
    # the reader takes them over its defaults, per kind of input
    assert Priors().updated({"max_span": 4.0, "wide": 1.2}) == dataclasses.replace(Priors(), max_span=4, wide=1.2)
    hanzi = LineReader(OnnxModel(REPO / "models" / "hanzi.onnx"))
    own = read_metadata(REPO / "models" / "hanzi.onnx")["line_priors"]
    assert hanzi.priors == Priors().updated(own["ink"]) != Priors()
    assert hanzi.picture_priors == PICTURE_PRIORS.updated(own["pictures"]) != PICTURE_PRIORS
    assert LineReader(OnnxModel(REPO / "models" / "digits.onnx")).priors == Priors()


def test_the_model_list_and_a_static_sites_manifest_carry_the_line_priors():
    from inkrec.export.web import model_entry
    from inkrec.runtime.onnx_model import OnnxModel

    for name in ("hanzi", "digits"):
        model = OnnxModel(REPO / "models" / f"{name}.onnx")
        entry, info = model_entry(model.meta, "m.onnx"), model.info()
        assert entry["line_priors"] == info["line_priors"] == model.meta.get("line_priors")
    assert info["line_priors"] is None and entry["lines"] is True
