"""Data-parallel training: `inkrec train` under torchrun with two CPU processes (gloo)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from inkrec.train.distributed import state_digest

from .conftest import FEW_CLASSES


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_processes_end_with_identical_weights(bitmaps, tmp_path):
    out = tmp_path / "ddp"
    inkrec = str(Path(sys.executable).parent / "inkrec")
    cmd = [
        sys.executable, "-m", "torch.distributed.run", "--nnodes", "1", "--nproc_per_node", "2",
        "--master_addr", "127.0.0.1", "--master_port", str(free_port()),
        inkrec, "train", "--data", str(bitmaps), "--model", "inknet", "--out", str(out),
        "--classes", ",".join(FEW_CLASSES), "--max-per-class", "80", "--epochs", "1", "--batch-size", "32",
        "--no-track", "--quiet", "--no-test", "--device", "cpu",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "GLOO_SOCKET_IFNAME": "lo"}
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]

    metrics = json.loads((out / "metrics.json").read_text())
    env_info = metrics["environment"]
    assert env_info["world_size"] == 2 and env_info["per_process_batch"] == 16
    digests = env_info["weights_sha256_per_rank"]
    assert len(digests) == 2 and digests[0] == digests[1], "the two processes ended with different weights"
    assert env_info["replicas_identical"] is True
    # what rank 0 saved is that common state
    best = torch.load(out / "best.pt", weights_only=True)
    assert state_digest(best["state_dict"]) == digests[0]
    # each process trained on its own half: together they saw the whole training split once
    n_train = metrics["data"]["n_train"]
    seen = metrics["history"][0]["samples"]
    assert n_train - 32 < seen <= n_train + 1
    # only rank 0 wrote files: one run directory, no stray ones
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ddp"]
