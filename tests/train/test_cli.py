"""`inkrec train` on the command line: options made from TrainConfig, --config files, --quiet."""

from __future__ import annotations

import json

import click
import pytest
from typer.testing import CliRunner

from inkrec.cli import app, stage_command
from inkrec.train.config import TrainConfig

from .conftest import FEW_CLASSES

runner = CliRunner()

# Every option name users type today (README, scripts/build-models.sh, the tests), kept working.
OLD_NAMES = {
    "--data", "--model", "--out", "--epochs", "--batch-size", "--lr", "--weight-decay", "--label-smoothing",
    "--augment", "--val-fraction", "--patience", "--seed", "--max-per-class", "--size", "--workers", "--resume",
    "--no-track", "--tracking-uri", "--device", "--amp", "--no-amp", "--threads", "--compile", "--schedule",
    "--warmup-epochs", "--split-mode", "--classes", "--model-arg", "--no-test", "--quiet",
}


def _options() -> dict[str, click.Parameter]:
    cmd = stage_command("train")
    names = {}
    for p in cmd.params:
        for n in [*p.opts, *p.secondary_opts]:
            names[n] = p
    return names


def test_every_training_option_comes_from_the_config():
    options = _options()
    assert OLD_NAMES <= set(options)
    params = {p.name for p in options.values()}
    assert set(TrainConfig.model_fields) | {"config"} == params
    by_name = {p.name: p for p in options.values()}
    for name, field in TrainConfig.model_fields.items():
        assert by_name[name].help.startswith(field.description), name  # written once, in the config
        assert by_name[name].default is None  # "not given": the --config file or the field's default applies
    assert "sqlite:///mlflow.db" in by_name["tracking_uri"].help  # --tracking-uri says its default
    assert runner.invoke(app, ["train", "--help"]).exit_code == 0
    # choices come from the config's Literals
    res = runner.invoke(app, ["train", "--data", "x", "--schedule", "linear"])
    assert res.exit_code == 2 and all(c in res.output for c in ("cosine", "onecycle", "constant"))


def _tiny_args(bitmaps, out, *extra):
    return ["train", "--data", str(bitmaps), "--out", str(out), "--model", "seed-cnn", "--classes",
            ",".join(FEW_CLASSES), "--max-per-class", "40", "--epochs", "2", "--batch-size", "32", "--threads", "1",
            "--no-track", "--no-test", *extra]


def test_quiet_hides_progress_bars_only(bitmaps, tmp_path):
    loud = runner.invoke(app, _tiny_args(bitmaps, tmp_path / "loud"))
    assert loud.exit_code == 0, loud.output
    assert "epoch 1/2" in loud.stderr  # the bars

    quiet = runner.invoke(app, _tiny_args(bitmaps, tmp_path / "quiet", "--quiet"))
    assert quiet.exit_code == 0, quiet.output
    assert "epoch 1/2" not in quiet.stderr and "sample/s" not in quiet.stderr
    lines = quiet.stdout.splitlines()
    assert [ln.split(":")[0] for ln in lines if ln.startswith("epoch ")] == ["epoch 1", "epoch 2"]
    assert lines[-1].startswith("done: best epoch") and str(tmp_path / "quiet") in lines[-1]

    silent = runner.invoke(app, _tiny_args(bitmaps, tmp_path / "silent", "--quiet", "--silent"))
    assert silent.exit_code == 0 and silent.stdout == ""


def test_config_file_and_command_line_overrides(bitmaps, tmp_path):
    first = runner.invoke(app, _tiny_args(bitmaps, tmp_path / "first", "--lr", "0.01", "--model-arg", "image-size=28",
                                          "--quiet"))
    assert first.exit_code == 0, first.output
    recorded = json.loads((tmp_path / "first" / "config.json").read_text())
    assert recorded["classes"] == FEW_CLASSES and recorded["model_kwargs"] == {"image_size": 28}

    # a run's own config.json repeats it; the command line wins over the file
    again = runner.invoke(app, ["train", "--config", str(tmp_path / "first" / "config.json"), "--out",
                                str(tmp_path / "again"), "--epochs", "1", "--quiet"])
    assert again.exit_code == 0, again.output
    cfg = json.loads((tmp_path / "again" / "config.json").read_text())
    assert cfg["epochs"] == 1 and cfg["out"] == str(tmp_path / "again")
    assert {k: v for k, v in cfg.items() if k not in ("epochs", "out")} == {
        k: v for k, v in recorded.items() if k not in ("epochs", "out")}


@pytest.mark.parametrize("content, message", [
    ("{not json", "not valid JSON"),
    ('{"data": "x", "epochz": 3}', "epochz"),
    ('{"model": "seed-cnn"}', "no data set given"),
])
def test_bad_config_files_are_clear_errors(tmp_path, content, message):
    path = tmp_path / "c.json"
    path.write_text(content)
    res = runner.invoke(app, ["train", "--config", str(path)])
    assert res.exit_code == 2 and message in res.output
    assert res.exception is None or isinstance(res.exception, SystemExit)


def test_missing_data_and_bad_values_are_clear_errors(tmp_path):
    res = runner.invoke(app, ["train", "--out", str(tmp_path / "r")])
    assert res.exit_code == 2 and "no data set given" in res.output
    res = runner.invoke(app, ["train", "--data", str(tmp_path), "--augment", "wild"])
    assert res.exit_code == 2 and "augment" in res.output
    res = runner.invoke(app, ["train", "--data", str(tmp_path), "--schedule", "linear"])
    assert res.exit_code == 2 and "linear" in res.output
