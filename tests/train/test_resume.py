"""Resume after a kill: a run killed mid-training and resumed ends with the very same weights."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from inkrec.train.loop import train

from .conftest import tiny_config

EPOCHS = 4


def cli_args(cfg: dict) -> list[str]:
    """The `inkrec train` command line for a tiny_config (the options it sets)."""
    return [
        "train", "--data", cfg["data"], "--out", cfg["out"], "--model", cfg["model"],
        "--classes", ",".join(cfg["classes"]), "--max-per-class", str(cfg["max_per_class"]),
        "--epochs", str(cfg["epochs"]), "--batch-size", str(cfg["batch_size"]), "--lr", str(cfg["lr"]),
        "--threads", "1", "--augment", cfg["augment"], "--seed", str(cfg["seed"]), "--no-track", "--quiet",
        "--patience", str(cfg["patience"] or 0), *([] if cfg["evaluate_test"] else ["--no-test"]),
    ]


def kill_after_first_epoch(cmd: list[str], last: Path, timeout: float = 600) -> int:
    """Start `cmd`, SIGKILL it as soon as its last.pt holds a finished epoch; return that epoch."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if last.is_file():  # written atomically: present means complete
                proc.send_signal(signal.SIGKILL)
                proc.wait(30)
                return int(torch.load(last, weights_only=True)["epoch"])
            if proc.poll() is not None:
                raise AssertionError(f"training ended before it could be killed: {proc.stderr.read().decode()}")
            time.sleep(0.02)
        raise AssertionError("no checkpoint appeared in time")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.slow
def test_resume_after_kill_gives_the_same_weights(bitmaps, tmp_path):
    base = tiny_config(bitmaps, tmp_path / "whole", model="inknet", epochs=EPOCHS, max_per_class=150,
                       batch_size=32, augment="light", evaluate_test=False, patience=None)

    whole = train(base)

    killed = {**base, "out": str(tmp_path / "killed")}
    last = Path(killed["out"]) / "last.pt"
    inkrec = str(Path(sys.executable).parent / "inkrec")
    done = kill_after_first_epoch([inkrec, *cli_args(killed)], last)
    assert 1 <= done < EPOCHS, "the kill must land before the run finished"
    assert not (Path(killed["out"]) / "metrics.json").exists()

    resumed = train({**killed, "resume": True})

    # the interrupted run was configured exactly like the uninterrupted one
    a = json.loads((tmp_path / "whole" / "config.json").read_text())
    b = json.loads((tmp_path / "killed" / "config.json").read_text())
    assert {k: v for k, v in a.items() if k not in ("out", "resume")} == {
        k: v for k, v in b.items() if k not in ("out", "resume")}
    assert [h["epoch"] for h in resumed.history] == list(range(1, EPOCHS + 1))
    assert [h["val_top1"] for h in resumed.history] == [h["val_top1"] for h in whole.history]
    assert [h["train_loss"] for h in resumed.history] == [h["train_loss"] for h in whole.history]
    sa, sb = whole.model.state_dict(), resumed.model.state_dict()
    assert sa.keys() == sb.keys()
    assert all(torch.equal(sa[k], sb[k]) for k in sa), "resumed weights differ from the uninterrupted run"
    la = torch.load(tmp_path / "whole" / "last.pt", weights_only=True)
    lb = torch.load(tmp_path / "killed" / "last.pt", weights_only=True)
    assert all(torch.equal(la["state_dict"][k], lb["state_dict"][k]) for k in la["state_dict"])
    assert la["scheduler"] == lb["scheduler"]


def test_resume_of_a_finished_run_trains_no_further(bitmaps, tmp_path):
    cfg = tiny_config(bitmaps, tmp_path / "run", epochs=1, evaluate_test=False)
    first = train(cfg)
    again = train({**cfg, "resume": True})
    assert len(again.history) == 1
    assert all(torch.equal(first.model.state_dict()[k], v) for k, v in again.model.state_dict().items())


def test_a_resume_removes_what_a_killed_write_left(bitmaps, tmp_path):
    """SIGKILL in the middle of an atomic write leaves its temporary file; the next start clears it away."""
    cfg = tiny_config(bitmaps, tmp_path / "run", epochs=1, evaluate_test=False)
    train(cfg)
    litter = [tmp_path / "run" / ".last.pt.k1ll3d.tmp", tmp_path / "run" / ".metrics.json.x.tmp"]
    for path in litter:
        path.write_bytes(b"half a checkp")
    keep = tmp_path / "run" / ".notes.tmp"  # not one of the run's files: left alone
    keep.write_text("mine")
    train({**cfg, "resume": True})
    assert not any(p.exists() for p in litter) and keep.exists()
