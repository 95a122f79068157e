"""`inkrec models`: the table of registered models, and clear refusals of impossible sizes."""

from __future__ import annotations

from typer.testing import CliRunner

from inkrec.cli import app

runner = CliRunner()


def test_lists_every_model_with_its_size():
    res = runner.invoke(app, ["models"])
    assert res.exit_code == 0, res.output
    assert "110,052" in res.output and "stroke-rnn" in res.output and "inknet" in res.output


def test_too_few_classes_is_a_clear_error_not_a_traceback():
    for bad in ("0", "1"):
        res = runner.invoke(app, ["models", "--classes", bad])
        assert res.exit_code == 2, res.output
        assert "--classes" in res.output and "Traceback" not in res.output
        assert res.exception is None or isinstance(res.exception, SystemExit)
