"""benchmarks/quality.py: the parts that do not train (scoring, combining, the bars, the written table), and
one smoke run of the whole script on tiny subsets."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def quality():
    spec = importlib.util.spec_from_file_location("quality", REPO / "benchmarks" / "quality.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["quality"] = module  # dataclasses look their module up while the file runs
    spec.loader.exec_module(module)
    return module


def test_scores_top1_top3(quality) -> None:
    probs = np.array([[0.6, 0.3, 0.1, 0.0], [0.1, 0.2, 0.3, 0.4], [0.4, 0.3, 0.2, 0.1]])
    s = quality.scores(np.array([0, 1, 3]), probs)
    assert s == {"top1": pytest.approx(1 / 3), "top3": pytest.approx(2 / 3), "n": 3}


def test_combine_averages_and_refuses_mismatch(quality) -> None:
    a = np.array([[0.9, 0.1], [0.2, 0.8]])
    b = np.array([[0.3, 0.7], [0.4, 0.6]])
    assert np.allclose(quality.combine([a, b]), [[0.6, 0.4], [0.3, 0.7]])
    with pytest.raises(ValueError, match="differ in shape"):
        quality.combine([a, b[:1]])
    with pytest.raises(ValueError):
        quality.combine([])


def _row(quality, key, top1, **kw):
    return quality.Row(key=key, model=key, dataset="d", top1=top1, top3=min(1.0, top1 + 0.05), **kw)


def test_bars_judge_the_measured_figures(quality) -> None:
    r = quality.Report()
    r.rows = [
        _row(quality, "quickdraw-inknet", 0.90, epochs=10, train_seconds=600.0, samples_per_s=800.0),
        _row(quality, "quickdraw-seed-cnn", 0.87, epochs=10, train_seconds=100.0, samples_per_s=3000.0),
        _row(quality, "quickdraw-keras", 0.83, epochs=9, train_seconds=120.0, samples_per_s=2000.0),
        _row(quality, "mnist-inknet", 0.9912),
        _row(quality, "chinese-mnist-inknet", 0.981),
        _row(quality, "cross-format", 0.88),
    ]
    quality.add_checks(r)
    verdict = {c.name: c.passed for c in r.checks}
    assert verdict["Quick, Draw!: inknet top-1 >= seed-cnn + 4 points (same epochs)"] is False  # 3 points
    assert verdict["Quick, Draw!: inknet trains in < 15 min"] is True
    assert verdict["seed-cnn train samples/s >= Keras'"] is True
    assert verdict["MNIST: inknet top-1 >= 99.0%"] is True
    assert verdict["Chinese MNIST: inknet top-1 >= 98.5%"] is False
    assert verdict["cross-format top-1 within 3 points of numpy_bitmap test"] is True
    ratio = next(c.detail for c in r.checks if c.name.startswith("seed-cnn train samples/s"))
    assert "1.50x" in ratio


def test_rows_not_run_are_not_judged(quality) -> None:
    r = quality.Report()
    r.rows = [_row(quality, "mnist-inknet", 0.95)]
    quality.add_checks(r)
    assert [(c.name, c.passed) for c in r.checks] == [("MNIST: inknet top-1 >= 99.0%", False)]


def test_results_written_as_json_and_markdown(quality, tmp_path: Path) -> None:
    r = quality.Report(meta={"machine": "test"})
    r.rows = [
        _row(
            quality,
            "mnist-inknet",
            0.99123,
            epochs=3,
            train_seconds=12.5,
            samples_per_s=1234.0,
            peak_rss_mb=512.0,
        )
    ]
    quality.add_checks(r)
    json_path, md_path = quality.write_results(r, tmp_path / "out")
    data = json.loads(json_path.read_text())
    assert data["rows"][0]["top1"] == 0.99123 and data["checks"][0]["passed"] is True
    md = md_path.read_text()
    assert "99.12%" in md and "1,234" in md and "512" in md and "| yes |" in md
    assert not list((tmp_path / "out").glob("*.tmp"))


def test_group_parsing(quality) -> None:
    assert quality.parse_groups(None) == list(quality.GROUPS)
    assert quality.parse_groups("mnist, strokes") == ["mnist", "strokes"]
    with pytest.raises(SystemExit, match="unknown row group"):
        quality.parse_groups("mnist,imagenet")


def test_child_process_and_peak_rss(quality) -> None:
    assert quality.in_child(os.getpid) != os.getpid()
    assert 10 < quality.peak_rss_mb() < 64 * 1024


@pytest.mark.slow
def test_quick_smoke_run(datasets: Path, tmp_path: Path) -> None:
    """The whole script end to end on tiny subsets (one epoch): a table with real figures comes out."""
    env = {**os.environ, "INKREC_DATASETS": str(datasets)}
    proc = subprocess.run(
        [
            sys.executable,
            str(REPO / "benchmarks" / "quality.py"),
            "--quick",
            "--only",
            "mnist",
            "--out",
            str(tmp_path),
        ],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads((tmp_path / "quick" / "quality.json").read_text())
    (row,) = data["rows"]
    assert row["key"] == "mnist-inknet" and row["n_test"] == 10_000 and row["epochs"] == 1
    assert 0.0 <= row["top1"] <= row["top3"] <= 1.0 and row["samples_per_s"] > 0 and row["peak_rss_mb"] > 50
    assert "MNIST" in (tmp_path / "quick" / "quality.md").read_text()
